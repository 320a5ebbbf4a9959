package webhook

import (
	"encoding/json"
	"testing"
)

// FuzzParseEvent feeds arbitrary bodies to the schema check: it must never panic, and
// an accepted event must produce a valid record and a stable revision.
//
//	go test ./connectors/webhook -run '^$' -fuzz FuzzParseEvent -fuzztime 30s
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(validEvent))
	f.Add([]byte(`{"type":"feedback.comment","id":"c","parent_id":"p","body":"b","occurred_at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"reporter":{"email":1},"metadata":[]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseEvent(body)
		if err != nil {
			if _, ok := err.(*SchemaError); !ok {
				t.Fatalf("error %T is not a *SchemaError", err)
			}
			if _, jerr := json.Marshal(err); jerr != nil {
				t.Fatal(jerr)
			}
			return
		}
		r := ev.Record("src", "acme", body, t0)
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted event gives an invalid record: %v", err)
		}
		if ev.Revision() != r.Revision {
			t.Fatal("revision not stable")
		}
	})
}
