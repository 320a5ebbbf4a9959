package imap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// FuzzMessageToRecord feeds arbitrary bytes through the connector's conversion of a
// downloaded message (mailparse plus the IMAP meta) and checks that it never panics
// and always yields a valid email record with its UID meta, quarantined or not.
func FuzzMessageToRecord(f *testing.F) {
	f.Add(msg("a@p.example", "Ana <ana@p.example>", "Hello", "body\n"))
	f.Add(msg("b@p.example", "bob@p.example", "=?ISO-2022-JP?B?GyRCJUclVyVtJSQ8OkdUGyhC?=", "x\n", "Auto-Submitted: auto-replied"))
	f.Add([]byte("From: a@example.com\nSubject: x\nContent-Type: multipart/mixed; boundary=abc\n\n--abc\nContent-Type: text/plain\n\nhello\n--abc\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBER"))
	f.Add([]byte("\x00\x01 not a mail"))
	f.Add([]byte(""))
	if names, _ := filepath.Glob(filepath.Join("testdata", "*.txt")); len(names) > 0 {
		for _, n := range names {
			if b, err := os.ReadFile(n); err == nil {
				f.Add(msg("fx@p.example", "x@p.example", "Re: fixture", string(b)))
			}
		}
	}
	cn, _ := newTest(f, source(f, "127.0.0.1:143")) // never connects
	cn.s.parse.MaxBytes = 1 << 16
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := cn.messageRecord(raw, msgMeta{uid: 7, size: int64(len(raw)), received: t0})
		setUIDMeta(&r, "INBOX", 3, 7)
		if err := r.Validate(); err != nil {
			t.Fatalf("invalid record: %v", err)
		}
		if r.Kind != feedback.KindEmail || r.Source != "support" || r.Revision != "1" || r.Meta[MetaUID] != "7" {
			t.Fatalf("record %+v", r)
		}
		if len(raw) > 1<<16 && !strings.Contains(r.Quarantine, "over the") {
			t.Fatalf("oversize not quarantined: %q", r.Quarantine)
		}
		if !utf8.ValidString(r.Title) || !utf8.ValidString(r.Body) {
			t.Fatalf("invalid UTF-8 in title/body")
		}
		if r.ReceivedAt.IsZero() || r.CreatedAt.IsZero() {
			t.Fatalf("missing times: %+v", r)
		}
	})
}
