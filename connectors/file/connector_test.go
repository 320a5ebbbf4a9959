package file

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

func TestConnectorPollsDropFolderOnce(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	fc := clock.NewFake(now)
	data, err := os.ReadFile("testdata/csv/feedback.csv")
	if err != nil {
		t.Fatal(err)
	}
	put := func(name, content string, mtime time.Time) string {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	csvPath := put("feedback.csv", string(data), now.Add(-time.Hour))
	put("notes.txt", "not csv", now.Add(-time.Hour))
	put(".partial.csv", "Ticket\nT-9\n", now.Add(-time.Hour))

	cfg := config.Default(dir) // relative paths resolve against the config folder
	cfg.Partners = []config.Partner{{ID: "acme"}, {ID: "globex"}}
	src := source(FormatCSV, "in")
	c, err := New(src, connectors.Env{Config: cfg, Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	st := newMemStore()
	poll := func(cur feedback.Cursor) (connectors.Result, int) {
		t.Helper()
		res, err := c.Poll(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		n, _, err := st.ingest(context.Background(), res.Records)
		if err != nil {
			t.Fatal(err)
		}
		return res, n
	}

	res, n := poll(feedback.Cursor{Source: "imports"})
	quarantined := 0
	for _, r := range res.Records {
		if r.Quarantine != "" {
			quarantined++
			if !strings.HasPrefix(r.Quarantine, "import: ") || r.Meta["import_file"] != csvPath {
				t.Errorf("reject record = %+v", r)
			}
		}
	}
	if len(res.Records) != 6 || n != 6 || quarantined != 3 {
		t.Fatalf("first poll: %d records (%d new, %d quarantined), want 3 rows + 3 quarantined rejects", len(res.Records), n, quarantined)
	}
	var state CursorState
	if err := json.Unmarshal([]byte(res.Next.Value), &state); err != nil || len(state.Files) != 1 || state.Files[csvPath].SHA256 == "" {
		t.Fatalf("cursor %s (%v)", res.Next.Value, err)
	}

	res, _ = poll(res.Next)
	if len(res.Records) != 0 {
		t.Fatalf("second poll: %d records, want none", len(res.Records))
	}

	// Touched but unchanged: hashed, not read.
	if err := os.Chtimes(csvPath, now.Add(-time.Minute), now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	res, _ = poll(res.Next)
	if len(res.Records) != 0 {
		t.Fatalf("touched file: %d records, want none", len(res.Records))
	}

	// A new file still being written waits until it settles.
	put("more.csv", "Ticket,Subject,Description,Reporter,Email,Opened,Link,Tags,Customer,Priority\nT-7,New one,body,,,,,,,\n", now.Add(-2*time.Second))
	res2, _ := poll(res.Next)
	if len(res2.Records) != 0 || strings.Contains(res2.Next.Value, "more.csv") {
		t.Fatalf("unsettled file imported: %d records, cursor %s", len(res2.Records), res2.Next.Value)
	}
	fc.Advance(Settle)
	res3, n := poll(res2.Next)
	if len(res3.Records) != 1 || n != 1 || res3.Records[0].ExternalID != "T-7" {
		t.Fatalf("settled file: %+v", res3.Records)
	}

	// Changed content: the file is read again; unchanged rows are duplicates.
	if err := os.WriteFile(csvPath, append(data, []byte("T-8,Another,body,,,,,,,\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(csvPath, now.Add(-time.Minute), now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	res4, n := poll(res3.Next)
	if len(res4.Records) != 7 || n != 1 {
		t.Fatalf("changed file: %d records, %d new; want 7 read, only T-8 new", len(res4.Records), n)
	}
}

func TestConnectorBadCursorRescans(t *testing.T) {
	c, err := New(source(FormatJSONL, "testdata/partner/events.jsonl"), testEnv())
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Poll(context.Background(), feedback.Cursor{Source: "imports", Value: "{not json"})
	if err != nil || len(res.Records) != 6 { // 4 events + 2 quarantined rejects
		t.Fatalf("poll = %d records, %v", len(res.Records), err)
	}
	if c.Name() != "imports" || c.Kind() != "file" || c.Close() != nil {
		t.Fatal("name/kind/close")
	}
}
