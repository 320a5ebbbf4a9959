package feedback

import (
	"strings"
	"testing"
)

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
	bad = Record{Source: "gh", ExternalID: "1\x002", Revision: "1", Kind: KindIssue}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "external_id contains a NUL byte") {
		t.Fatalf("NUL in external id: %v", err)
	}
	bad = Record{Source: "gh", ExternalID: "1", Revision: "1", Kind: KindComment, ParentExternalID: "\x00"}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "parent_external_id contains a NUL byte") {
		t.Fatalf("NUL in parent id: %v", err)
	}
}
