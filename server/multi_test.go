package server

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/pipeline"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
	"github.com/feedbackhub/feedbackhub/triage"
)

// fakeGitHub serves the two repositories the test needs: acme/feedback (polled as a
// source) and acme/tickets (the sync target), and counts what it is asked.
type fakeGitHub struct {
	mu      sync.Mutex
	polls   []time.Time // GET …/acme/feedback/issues
	created []string    // POST …/acme/tickets/issues titles
	tickets []map[string]any
	other   []string
	t0      time.Time
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/api/v3")
	w.Header().Set("Content-Type", "application/json")
	issue := func(n int, title, body string) map[string]any {
		at := f.t0.Add(time.Duration(n) * time.Minute).Format(time.RFC3339)
		return map[string]any{"id": 1000 + n, "number": n, "title": title, "body": body, "state": "open",
			"user": map[string]any{"login": "ops-bot"}, "created_at": at, "updated_at": at,
			"html_url":       fmt.Sprintf("https://github.example/acme/feedback/issues/%d", n),
			"repository_url": "https://github.example/api/v3/repos/acme/feedback"}
	}
	switch {
	case r.Method == http.MethodGet && path == "/repos/acme/feedback/issues":
		f.polls = append(f.polls, time.Now())
		_ = json.NewEncoder(w).Encode([]any{
			issue(1, "Deploys hang at 90% on the eu cluster", "Every deploy to eu-west stalls at 90 percent and times out after ten minutes."),
			issue(2, "Invoices show the wrong VAT rate", "Since the March release invoices for German customers use 16% VAT instead of 19%."),
		})
	case r.Method == http.MethodGet && path == "/repos/acme/feedback/issues/comments":
		_, _ = w.Write([]byte("[]"))
	case r.Method == http.MethodGet && path == "/search/issues":
		_, _ = w.Write([]byte(`{"total_count":0,"incomplete_results":false,"items":[]}`))
	case r.Method == http.MethodGet && path == "/repos/acme/tickets/issues":
		_ = json.NewEncoder(w).Encode(f.tickets)
	case r.Method == http.MethodPost && path == "/repos/acme/tickets/issues":
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		n := len(f.tickets) + 1
		title, _ := in["title"].(string)
		body, _ := in["body"].(string)
		f.created = append(f.created, title)
		t := map[string]any{"id": 5000 + n, "number": n, "title": title, "body": body, "state": "open", "labels": []any{},
			"html_url": fmt.Sprintf("https://github.example/acme/tickets/issues/%d", n)}
		f.tickets = append(f.tickets, t)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(t)
	default:
		f.other = append(f.other, r.Method+" "+r.URL.String())
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"Not Found"}`))
	}
}

// countingSender records every SLA notice it is asked to send.
type countingSender struct {
	mu   sync.Mutex
	keys map[string]int
}

func (c *countingSender) Send(_ context.Context, n triage.Notice) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys[n.Key]++
	return nil
}

// pgSchemaURL creates a fresh schema and returns a DSN whose search_path is it.
func pgSchemaURL(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(storetest.EnvPostgres)
	if dsn == "" {
		t.Skipf("%s not set", storetest.EnvPostgres)
	}
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "fh_multi_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestTwoInstancesOnPostgres runs two services on one PostgreSQL schema against a
// fake GitHub and checks that polls run once per interval, SLA notices fire once and
// the outbox creates each ticket once.
func TestTwoInstancesOnPostgres(t *testing.T) {
	dsn := pgSchemaURL(t)
	t.Setenv("FH_TEST_GH_TOKEN", "ghp_test")
	fake := &fakeGitHub{t0: time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)}
	gh := httptest.NewServer(fake)
	defer gh.Close()

	// The GitHub connector refuses poll intervals under 10 s.
	const interval = 10 * time.Second
	y := fmt.Sprintf(`database:
  url: %s
sources:
  - name: gh
    kind: github
    github:
      base_url: %s
      repos: [acme/feedback]
      token_env: FH_TEST_GH_TOKEN
sync:
  targets:
    - name: tickets
      kind: github
      source: gh
      repo: acme/tickets
  defaults:
    "*": tickets
sla:
  policies:
    - name: default
      targets:
        medium: {resolution: 1h}
        high: {resolution: 1h}
        low: {resolution: 1h}
`, dsn, gh.URL)
	dir := t.TempDir()
	rulesYAML := "categories: [other]\nrules: []\nrouting:\n  - name: default\n    when: 'true'\n    owner: ana@acme.example\n    escalate_to: [lead@acme.example]\n"
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(rulesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	rh, err := pipeline.LoadRules(filepath.Join(dir, "rules.yaml"), true)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("multi.yaml", dir, []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	// Fast intervals, injected past validation (which keeps real configs sane).
	cfg.Sources[0].GitHub.PollInterval = config.Duration(interval)
	cfg.Server.Jobs.Step = config.Duration(time.Second)
	cfg.Server.Jobs.SLA = config.Duration(time.Second)
	cfg.Server.Jobs.Outbox = config.Duration(time.Second)

	sender := &countingSender{keys: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var svcs []*Service
	var pollsByInstance [2]int
	var pmu sync.Mutex
	for i := range 2 {
		st, err := store.Open(ctx, dsn, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.EnsureSchema(ctx, true); err != nil {
			t.Fatal(err)
		}
		reg, err := pipeline.NewRegistry()
		if err != nil {
			t.Fatal(err)
		}
		logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})).With("instance", i)
		p := &pipeline.Pipeline{Store: st, Config: cfg, Registry: reg, Clock: clock.Real{}, Logger: logger, Redactor: connectors.NewRedactor(), Rules: rh}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		idx := i
		svc, err := NewService(p, Options{Listener: ln, Sender: sender, FetchPollInterval: 200 * time.Millisecond,
			ID: fmt.Sprintf("instance-%d", i), RulesCheck: -1, StopTimeout: 10 * time.Second,
			OnPoll: func(string) { pmu.Lock(); pollsByInstance[idx]++; pmu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, svc)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, s := range svcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx); err != nil {
				t.Errorf("run: %v", err)
			}
		}()
	}

	// Wait (bounded) for the loop to cluster the two issues, then accept both clusters
	// from instance 0; both instances' outbox jobs race to deliver them.
	st := svcs[0].P.Store
	var clusters []int64
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		cs, err := st.Clusters(ctx, store.ClusterFilter{NonEmpty: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 2 {
			for _, c := range cs {
				clusters = append(clusters, c.ID)
			}
			break
		}
	}
	if len(clusters) != 2 {
		t.Fatalf("the two issues were not clustered in time (fake saw %d polls, other requests %v)", len(fake.polls), fake.other)
	}
	for _, id := range clusters {
		if _, err := svcs[0].Syncer.Accept(ctx, id, "ana", "ship it"); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		counts, err := st.OutboxCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[store.OutboxPending] == 0 && counts[store.OutboxSent] >= 2 {
			break
		}
	}
	// Let two more intervals start so duplicate polls would show.
	time.Sleep(time.Until(start.Add(2*interval + interval/5)))
	cancel()
	wg.Wait()
	elapsed := time.Since(start)

	fake.mu.Lock()
	polls, created, other := len(fake.polls), len(fake.created), fake.other
	fake.mu.Unlock()
	maxPolls := int(elapsed/interval) + 1
	t.Logf("%.1fs: %d polls at the fake (at most %d allowed, one per %s; by instance %v), %d tickets created, %d SLA notice keys",
		elapsed.Seconds(), polls, maxPolls, interval, pollsByInstance, created, len(sender.keys))
	if polls < 2 || polls > maxPolls {
		t.Errorf("polls = %d over %.1fs, want 2…%d (once per %s across both instances)", polls, elapsed.Seconds(), maxPolls, interval)
	}
	if created != 2 {
		t.Errorf("tickets created at the fake = %d, want exactly 2 (one per accepted cluster); other requests: %v", created, other)
	}
	tks, err := st.Tickets(context.Background(), store.TicketFilter{})
	if err != nil || len(tks) != 2 {
		t.Errorf("tickets stored = %d (%v), want 2", len(tks), err)
	}
	if len(sender.keys) == 0 {
		t.Error("no SLA notice fired (the issues are 72 h old against a 1 h resolution target)")
	}
	for k, n := range sender.keys {
		if n != 1 {
			t.Errorf("SLA notice %s sent %d times, want once", k, n)
		}
	}
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
