package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

const statusConfig = `database:
  url: sqlite:hub.db
sources:
  - name: partners
    kind: webhook
  - name: backfill
    kind: file
    file:
      paths: [missing.jsonl]
      format: jsonl
partners:
  - id: acme
    domains: [acme.io]
`

func TestStatusTextAndJSON(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "feedbackhub.yaml"), statusConfig)
	code, out, errOut := runCLI(t, dir, "migrate")
	if code != 0 {
		t.Fatalf("migrate exit %d: %s %s", code, out, errOut)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:hub.db", dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := st.RecordPoll(ctx, store.Poll{Source: "backfill", StartedAt: now.Add(-time.Minute), FinishedAt: now.Add(-time.Minute), Err: "open missing.jsonl: no such file", Requests: 1}); err != nil {
		t.Fatal(err)
	}
	r := feedback.Record{Source: "partners", ExternalID: "e1", Revision: "1", Kind: feedback.KindEvent, Title: "t", Body: "b", CreatedAt: now, UpdatedAt: now}
	res, err := st.Ingest(ctx, "partners", []feedback.Record{r}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpsertItem(ctx, feedback.Item{Source: "partners", Kind: feedback.KindEvent, ExternalID: "e1", Author: "who@stranger.io",
		Partner: feedback.UnknownPartner, RecordID: res.IDs[0], CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, out, errOut = runCLI(t, "", "status")
	if code != 0 {
		t.Fatalf("status exit %d: %s %s", code, out, errOut)
	}
	for _, want := range []string{"SOURCES", "partners", "backfill", "FAILING", "open missing.jsonl", "0 pending, 0 sent, 0 dead letters", "who@stranger.io: 1 items"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runCLI(t, "", "status", "--json")
	if code != 0 {
		t.Fatalf("status --json exit %d: %s", code, errOut)
	}
	var got struct {
		Sources []struct {
			Source    string `json:"source"`
			Healthy   bool   `json:"healthy"`
			LastError string `json:"last_error"`
			Requests  int    `json:"requests"`
			Records   int    `json:"records"`
		} `json:"sources"`
		Outbox          struct{ Pending, Dead int } `json:"outbox"`
		UnknownPartners []struct{ Author string }   `json:"unknown_partners"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if len(got.Sources) != 2 || got.Sources[0].Records != 1 || got.Sources[1].Healthy || got.Sources[1].Requests != 1 ||
		len(got.UnknownPartners) != 1 || got.UnknownPartners[0].Author != "who@stranger.io" {
		t.Fatalf("status --json = %+v", got)
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "feedbackhub.yaml"), "database:\n  url: sqlite:hub.db\nserver:\n  tokens:\n    - name: x\n      role: root\n      sha256: abc\n")
	code, _, errOut := runCLI(t, dir, "serve")
	if code != 1 || !strings.Contains(errOut, "server.tokens[0].role") {
		t.Fatalf("serve on a bad config: exit %d, %s", code, errOut)
	}
}

// signalWriter is a log sink that closes ready when a line contains want.
type signalWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	want  string
	ready chan struct{}
	once  sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestServeStartsAndStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "feedbackhub.yaml"), "database:\n  url: sqlite:hub.db\nserver:\n  addr: 127.0.0.1:0\n")
	t.Chdir(dir)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &signalWriter{want: "msg=serving", ready: make(chan struct{})}
	done := make(chan int, 1)
	var out strings.Builder
	go func() { done <- run(ctx, []string{"serve"}, &out, logs) }()
	select {
	case <-logs.ready:
	case code := <-done:
		t.Fatalf("serve exited %d before serving:\n%s", code, logs.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exit %d after cancel:\n%s", code, logs.String())
	}
	for _, want := range []string{"SQLite is single-instance", "stopping: no new requests", "msg=stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}
