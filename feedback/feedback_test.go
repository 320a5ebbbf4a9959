package feedback

import "testing"

func TestSeverityRaise(t *testing.T) {
	tests := []struct {
		in   Severity
		n    int
		want Severity
	}{
		{SeverityLow, 1, SeverityMedium},
		{SeverityHigh, 5, SeverityCritical},
		{SeverityMedium, -3, SeverityLow},
		{SeverityNone, 1, SeverityLow},
		{SeverityNone, 2, SeverityMedium},
	}
	for _, tt := range tests {
		if got := tt.in.Raise(tt.n); got != tt.want {
			t.Errorf("%q.Raise(%d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestParseSeverity(t *testing.T) {
	if s, err := ParseSeverity(" High "); err != nil || s != SeverityHigh {
		t.Fatalf("ParseSeverity(High) = %q, %v", s, err)
	}
	if _, err := ParseSeverity("urgent"); err == nil {
		t.Fatal("ParseSeverity(urgent): want error")
	}
}

func TestRecordValidate(t *testing.T) {
	r := Record{Source: "gh", ExternalID: "1", Revision: "r1", Kind: KindIssue}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Record{Kind: "tweet"}
	if err := bad.Validate(); err == nil {
		t.Fatal("want error for missing fields")
	}
	bad = Record{Source: "gh", ExternalID: "1", Revision: "1", Kind: "tweet"}
	if err := bad.Validate(); err == nil {
		t.Fatal("want error for unknown kind")
	}
}
