package mailparse

import (
	"errors"
	"io"
	"strings"
	"testing"
)

type mboxMsg struct {
	raw  string
	line int
}

func readAllMbox(t *testing.T, in string) ([]mboxMsg, error) {
	t.Helper()
	r := NewMboxReader(strings.NewReader(in))
	var out []mboxMsg
	for {
		raw, line, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, mboxMsg{string(raw), line})
	}
}

func TestMboxReader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []mboxMsg
	}{
		{
			name: "two messages with escaped From lines",
			in: "From alice@example.com Mon Jan  1 00:00:00 2024\n" +
				"Subject: one\n\nhello\n>From the start\n>>From deeper\nFrom here on, unescaped mboxo text\n\n" +
				"From bob@example.com Tue Jan  2 00:00:00 2024\n" +
				"Subject: two\n\nbye\n",
			want: []mboxMsg{
				{"Subject: one\n\nhello\nFrom the start\n>From deeper\nFrom here on, unescaped mboxo text\n", 1},
				{"Subject: two\n\nbye\n", 9},
			},
		},
		{
			name: "crlf and final message without newline",
			in: "\r\nFrom a@x Mon Jan  1 00:00:00 2024\r\nSubject: one\r\n\r\nbody\r\n\r\n" +
				"From b@x Mon Jan  1 00:00:01 2024\r\nSubject: two\r\n\r\nlast line",
			want: []mboxMsg{
				{"Subject: one\r\n\r\nbody\r\n", 2},
				{"Subject: two\r\n\r\nlast line", 7},
			},
		},
		{
			name: "separator after blank line without a date",
			in:   "From a\nS: 1\n\nx\n\nFrom b\nS: 2\n\ny\n",
			want: []mboxMsg{{"S: 1\n\nx\n", 1}, {"S: 2\n\ny\n", 6}},
		},
		{"empty file", "", nil},
		{"blank file", "\n\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readAllMbox(t, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d messages %+v, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("message %d = %q line %d, want %q line %d", i, got[i].raw, got[i].line, tc.want[i].raw, tc.want[i].line)
				}
			}
		})
	}
}

func TestMboxReaderNotMbox(t *testing.T) {
	t.Parallel()
	_, err := readAllMbox(t, "\nSubject: not an mbox\n\nbody\n")
	want := `mbox: line 2: expected a "From " separator line, got "Subject: not an mbox"`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestMboxMessagesParse(t *testing.T) {
	t.Parallel()
	in := "From a@x Mon Jan  1 00:00:00 2024\nFrom: a@example.com\nSubject: hi\nMessage-ID: <1@x>\n\n>From the docs: it fails\n"
	got, err := readAllMbox(t, in)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	m := mustParse(t, []byte(got[0].raw))
	if m.Text != "From the docs: it fails" || m.MessageID != "<1@x>" {
		t.Errorf("parsed %q %q", m.Text, m.MessageID)
	}
}
