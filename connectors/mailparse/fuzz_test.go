package mailparse

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		"From: a@example.com\nSubject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\n\nhi\n",
		"From: a@b\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/html\n\n<p>a<br>b</p>\n--x\nContent-Type: application/pdf\nContent-Disposition: attachment; filename*=UTF-8''a%20b\nContent-Transfer-Encoding: base64\n\nQUJD\n--x--\n",
		"Content-Type: multipart/alternative; boundary=\"q\"\n\n--q\n\n--q--",
		"Subject: x\nContent-Transfer-Encoding: quoted-printable\nContent-Type: text/plain; charset=windows-1252\n\n=93x=94=\n=ZZ",
		"Auto-Submitted: auto-replied\nReturn-Path: <>\n\n> quoted\nOn a wrote:\n-- \nsig",
		"From x\n\n",
		"\x00\xff",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if files, err := filepath.Glob(filepath.Join("testdata", "reply-parser", "email_1_*.txt")); err == nil {
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(append([]byte("From: a@example.com\nSubject: r\n\n"), b...))
			}
		}
	}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw, Options{MaxBytes: 1 << 20})
		var r = QuarantineRecord("fuzz", raw, "x", at)
		if err == nil {
			if m == nil {
				t.Fatal("nil message without error")
			}
			r = ToRecord("fuzz", m, raw, at)
			_ = ThreadIDs(m)
			_ = SubjectThreadKey(m)
		} else if m != nil {
			t.Fatal("message with error")
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("invalid record: %v", err)
		}
		if !json.Valid(r.Raw) {
			t.Fatalf("raw is not JSON: %q", r.Raw)
		}
		back, err := DecodeRaw(r.Raw)
		if err != nil || string(back) != string(raw) {
			t.Fatalf("raw round trip lost bytes: %v", err)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("record does not marshal: %v", err)
		}
	})
}
