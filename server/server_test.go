package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/pipeline"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
	fhsync "github.com/feedbackhub/feedbackhub/sync"
	"github.com/feedbackhub/feedbackhub/triage"
)

// testSecret is a Standard Webhooks secret for partner acme (24 zero bytes).
var testSecret = "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 24))

func sum(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

func testConfig(t *testing.T, extra string) *config.Config {
	t.Helper()
	t.Setenv("FH_TEST_ACME_WHSEC", testSecret)
	y := fmt.Sprintf(`server:
  tokens:
    - {name: vera, role: viewer, sha256: %s}
    - {name: tom, role: triager, sha256: %s}
    - {name: ada, role: admin, sha256: %s}
sources:
  - name: partners
    kind: webhook
partners:
  - id: acme
    name: Acme
    tier: design-partner
    webhook_secrets_env: [FH_TEST_ACME_WHSEC]
sla:
  policies:
    - name: default
      targets:
        medium: {first_response: 1h, resolution: 5d}
        high: {first_response: 1h, resolution: 5d}
%s`, sum("viewer-token"), sum("triager-token"), sum("admin-token"), extra)
	c, err := config.Parse("test.yaml", t.TempDir(), []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type fixture struct {
	srv *Server
	p   *pipeline.Pipeline
	h   http.Handler
	clk *clock.Fake
}

func setup(t *testing.T) *fixture {
	t.Helper()
	return setupWith(t, "")
}

// setupWith is setup with extra YAML in the configuration.
func setupWith(t *testing.T, extra string) *fixture {
	t.Helper()
	// One clock for the store's own timestamps and everything else.
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	st := storetest.OpenSQLite(t, store.WithClock(clk.Now))
	if _, err := st.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, extra)
	reg, err := pipeline.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Pipeline{Store: st, Config: cfg, Registry: reg, Clock: clk, Logger: slog.New(slog.DiscardHandler), Redactor: connectors.NewRedactor()}
	engine, err := triage.NewEngine(cfg.SLA, cfg.Dir())
	if err != nil {
		t.Fatal(err)
	}
	syncer, err := fhsync.New(cfg, st, connectors.Env{Config: cfg, Clock: clk}, engine)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := cfg.APITokens()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(p, syncer, engine, NewMetrics(), toks)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, p: p, h: srv.Handler(), clk: clk}
}

func (f *fixture) do(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// deliver posts a signed partner event and returns the status code.
func (f *fixture) deliver(t *testing.T, id, title, body string) int {
	t.Helper()
	ev := fmt.Sprintf(`{"type":"feedback.created","id":%q,"title":%q,"body":%q,"reporter":{"email":"ops@acme.io"},"occurred_at":%q}`,
		id, title, body, f.clk.Now().Add(-48*time.Hour).Format(time.RFC3339))
	return f.deliverRaw(t, id, ev)
}

// deliverRaw posts ev signed as acme's delivery msg_<id> and returns the status code.
func (f *fixture) deliverRaw(t *testing.T, id, ev string) int {
	t.Helper()
	ts := f.clk.Now().Unix()
	sig, err := fhsync.SignWebhook(testSecret, "msg_"+id, ts, []byte(ev))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/hooks/partners/acme", strings.NewReader(ev))
	req.Header.Set("webhook-id", "msg_"+id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec.Code
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func TestAuth(t *testing.T) {
	f := setup(t)
	tests := []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"no token", "GET", "/api/v1/items", "", nil, http.StatusUnauthorized},
		{"unknown token", "GET", "/api/v1/items", "nope", nil, http.StatusUnauthorized},
		{"viewer reads", "GET", "/api/v1/items", "viewer-token", nil, http.StatusOK},
		{"viewer may not decide", "POST", "/api/v1/decisions", "viewer-token", DecideRequest{Action: "decline", Target: "cluster:1", Reason: "x"}, http.StatusForbidden},
		{"triager may not reload rules", "POST", "/api/v1/rules/reload", "triager-token", nil, http.StatusForbidden},
		{"viewer may not retry outbox", "POST", "/api/v1/outbox/1/retry", "viewer-token", nil, http.StatusForbidden},
		{"admin retries a missing row", "POST", "/api/v1/outbox/999/retry", "admin-token", nil, http.StatusNotFound},
		{"unknown endpoint needs a token", "GET", "/api/v1/nothing", "", nil, http.StatusUnauthorized},
		{"unknown endpoint", "GET", "/api/v1/nothing", "viewer-token", nil, http.StatusNotFound},
		{"health needs no token", "GET", "/healthz", "", nil, http.StatusOK},
		{"metrics need no token", "GET", "/metrics", "", nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := f.do(t, tt.method, tt.path, tt.token, tt.body)
			if code != tt.want {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, code, body, tt.want)
			}
		})
	}
	// A token in the wrong scheme is no token.
	req := httptest.NewRequest("GET", "/api/v1/items", nil)
	req.Header.Set("Authorization", "Basic viewer-token")
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("basic scheme = %d", rec.Code)
	}
}

func TestWebhooksAuthenticateBySignatureOnly(t *testing.T) {
	f := setup(t)
	if code := f.deliver(t, "fb-1", "Deploy stuck", "Our deploy hangs at 90%"); code != http.StatusOK {
		t.Fatalf("signed delivery = %d", code)
	}
	if code := f.deliver(t, "fb-1", "Deploy stuck", "Our deploy hangs at 90%"); code != http.StatusOK {
		t.Fatalf("redelivery = %d", code)
	}
	req := httptest.NewRequest(http.MethodPost, "/hooks/partners/acme", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer admin-token") // a bearer token does not replace a signature
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("unsigned delivery = %d", rec.Code)
	}
	if n, _ := f.p.Store.CountRecords(context.Background(), "partners"); n != 1 {
		t.Fatalf("records = %d, want 1", n)
	}
	_, m := f.do(t, "GET", "/metrics", "", nil)
	for _, want := range []string{`feedbackhub_webhook_requests_total{result="stored",source="partners"} 1`,
		`feedbackhub_webhook_requests_total{result="duplicate",source="partners"} 1`,
		`feedbackhub_records_ingested_total{source="partners",via="webhook"} 1`,
		`feedbackhub_http_requests_total{code="401",route="hook_webhook"} 1`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// seed delivers n events (two of them near-duplicates) and runs the loop once.
func seed(t *testing.T, f *fixture, n int) pipeline.StepReport {
	t.Helper()
	for i := range n {
		title := fmt.Sprintf("Billing export %d fails with timeout", i)
		body := fmt.Sprintf("The nightly export number %d times out after 30 seconds in region eu-%d", i, i)
		if i == 1 {
			title, body = "Billing export 0 fails with timeout", "The nightly export number 0 times out after 30 seconds in region eu-0"
		}
		if code := f.deliver(t, fmt.Sprintf("fb-%d", i), title, body); code != http.StatusOK {
			t.Fatalf("deliver %d = %d", i, code)
		}
	}
	rep, err := f.p.Step(context.Background(), f.srv.Engine)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Metrics.ObserveStep(rep)
	return rep
}

func TestItemsPaginationAndFilters(t *testing.T) {
	f := setup(t)
	seed(t, f, 5)
	code, body := f.do(t, "GET", "/api/v1/items?limit=2", "viewer-token", nil)
	page := decode[List[struct{ ID int64 }]](t, body)
	if code != 200 || page.Total != 5 || len(page.Data) != 2 || page.NextOffset == nil || *page.NextOffset != 2 {
		t.Fatalf("page 1 = %d %s", code, body)
	}
	_, body = f.do(t, "GET", "/api/v1/items?limit=2&offset=4", "viewer-token", nil)
	last := decode[List[struct{ ID int64 }]](t, body)
	if len(last.Data) != 1 || last.NextOffset != nil || last.Data[0].ID <= page.Data[1].ID {
		t.Fatalf("last page = %s", body)
	}
	_, body = f.do(t, "GET", "/api/v1/items?partner=globex", "viewer-token", nil)
	if decode[List[struct{ ID int64 }]](t, body).Total != 0 {
		t.Fatalf("partner filter = %s", body)
	}
	_, body = f.do(t, "GET", "/api/v1/items?partner=acme&source=partners", "viewer-token", nil)
	if decode[List[struct{ ID int64 }]](t, body).Total != 5 {
		t.Fatalf("partner+source filter = %s", body)
	}
	code, body = f.do(t, "GET", fmt.Sprintf("/api/v1/items/%d", page.Data[0].ID), "viewer-token", nil)
	if code != 200 || !strings.Contains(string(body), `"partner": "acme"`) {
		t.Fatalf("item = %d %s", code, body)
	}
	for _, bad := range []string{"/api/v1/items?limit=abc", "/api/v1/items?limit=5000", "/api/v1/items?offset=-1", "/api/v1/decisions?since=yesterday"} {
		if code, body := f.do(t, "GET", bad, "viewer-token", nil); code != http.StatusBadRequest {
			t.Errorf("%s = %d %s, want 400", bad, code, body)
		}
	}
	if code, _ := f.do(t, "GET", "/api/v1/items/999", "viewer-token", nil); code != http.StatusNotFound {
		t.Errorf("missing item = %d", code)
	}
}

func TestClustersWhyGroupedAndDecide(t *testing.T) {
	f := setup(t)
	rep := seed(t, f, 3)
	if rep.Cluster.NewClusters != 2 {
		t.Fatalf("clusters = %+v (the near-duplicate should join the first)", rep.Cluster)
	}
	code, body := f.do(t, "GET", "/api/v1/clusters?limit=1", "viewer-token", nil)
	cl := decode[List[struct{ ID int64 }]](t, body)
	if code != 200 || cl.Total != 2 || len(cl.Data) != 1 || cl.NextOffset == nil {
		t.Fatalf("clusters = %d %s", code, body)
	}
	_, body = f.do(t, "GET", "/api/v1/clusters?status=declined", "viewer-token", nil)
	if decode[List[struct{ ID int64 }]](t, body).Total != 0 {
		t.Fatalf("status filter = %s", body)
	}
	var dup int64
	for _, c := range decode[List[struct {
		ID         int64 `json:"id"`
		ItemsCount int   `json:"items_count"`
	}]](t, func() []byte { _, b := f.do(t, "GET", "/api/v1/clusters", "viewer-token", nil); return b }()).Data {
		if c.ItemsCount == 2 {
			dup = c.ID
		}
	}
	if dup == 0 {
		t.Fatal("no cluster with two items")
	}
	code, body = f.do(t, "GET", fmt.Sprintf("/api/v1/clusters/%d", dup), "viewer-token", nil)
	view := decode[pipeline.ClusterView](t, body)
	if code != 200 || len(view.Items) != 2 || view.Items[1].Why == "" || !strings.Contains(view.Items[1].Why, "score") {
		t.Fatalf("why grouped = %d %s", code, body)
	}

	target := fmt.Sprintf("cluster:%d", dup)
	if code, body := f.do(t, "POST", "/api/v1/decisions", "triager-token", DecideRequest{Action: "decline", Target: target}); code != http.StatusBadRequest || !strings.Contains(string(body), "reason") {
		t.Fatalf("no reason = %d %s", code, body)
	}
	if code, body := f.do(t, "POST", "/api/v1/decisions", "triager-token", DecideRequest{Action: "explode", Target: target, Reason: "x"}); code != http.StatusBadRequest {
		t.Fatalf("unknown action = %d %s", code, body)
	}
	code, body = f.do(t, "POST", "/api/v1/decisions", "triager-token", DecideRequest{Action: "decline", Target: target, Reason: "works as designed"})
	if code != 200 || !strings.Contains(string(body), `"actor": "tom"`) {
		t.Fatalf("decline = %d %s", code, body)
	}
	if code, body := f.do(t, "POST", "/api/v1/decisions", "triager-token", DecideRequest{Action: "accept", Target: target, Reason: "again"}); code != http.StatusConflict {
		t.Fatalf("accept a declined cluster = %d %s", code, body)
	}
	if code, _ := f.do(t, "POST", "/api/v1/decisions", "triager-token", DecideRequest{Action: "decline", Target: "cluster:999", Reason: "x"}); code != http.StatusNotFound {
		t.Fatalf("missing cluster = %d", code)
	}
	_, body = f.do(t, "GET", "/api/v1/decisions?actor=tom&target="+target, "viewer-token", nil)
	ds := decode[List[struct{ Action, Reason string }]](t, body)
	if ds.Total != 1 || ds.Data[0].Reason != "works as designed" {
		t.Fatalf("decisions = %s", body)
	}
	_, body = f.do(t, "GET", "/api/v1/decisions?since=1h&limit=1", "viewer-token", nil)
	if page := decode[List[struct{ Action string }]](t, body); len(page.Data) != 1 || page.Total < 1 {
		t.Fatalf("decisions since = %s", body)
	}
}

func TestSLATicketsStatusAndHealth(t *testing.T) {
	f := setup(t)
	seed(t, f, 2)
	// The items arrived two days ago; a 1h first response is long breached.
	code, body := f.do(t, "GET", "/api/v1/sla?risk=true", "viewer-token", nil)
	sla := decode[List[SLAStatus]](t, body)
	if code != 200 || sla.Total != 1 || len(sla.Data[0].Breached) == 0 {
		t.Fatalf("sla = %d %s", code, body)
	}
	code, body = f.do(t, "GET", "/api/v1/tickets", "viewer-token", nil)
	if code != 200 || decode[List[struct{ ID int64 }]](t, body).Total != 0 {
		t.Fatalf("tickets = %d %s", code, body)
	}
	code, body = f.do(t, "GET", "/api/v1/status", "viewer-token", nil)
	st := decode[Status](t, body)
	if code != 200 || len(st.Sources) != 1 || st.Sources[0].Records != 2 || len(st.SLABreached) == 0 {
		t.Fatalf("status = %d %s", code, body)
	}
	if code, body := f.do(t, "GET", "/readyz", "", nil); code != 200 || !strings.Contains(string(body), "ready") {
		t.Fatalf("readyz = %d %s", code, body)
	}
	if err := f.p.Store.MigrateDownTo(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	if code, body := f.do(t, "GET", "/readyz", "", nil); code != http.StatusServiceUnavailable || !strings.Contains(string(body), "schema not current") {
		t.Fatalf("readyz behind = %d %s", code, body)
	}
	f.p.Store.Close()
	if code, _ := f.do(t, "GET", "/readyz", "", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz closed = %d", code)
	}
	if code, _ := f.do(t, "GET", "/healthz", "", nil); code != http.StatusOK {
		t.Fatalf("healthz = %d", code)
	}
}

func TestRulesReload(t *testing.T) {
	f := setup(t)
	if code, body := f.do(t, "POST", "/api/v1/rules/reload", "admin-token", nil); code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "no rules file") {
		t.Fatalf("reload without rules = %d %s", code, body)
	}
	_, m := f.do(t, "GET", "/metrics", "", nil)
	if !strings.Contains(string(m), `feedbackhub_rules_reloads_total{result="error"} 1`) {
		t.Errorf("reload failure not counted:\n%s", m)
	}
}

func TestWeeklySchedule(t *testing.T) {
	w := weekly{day: time.Monday, at: 8 * time.Hour}
	tests := []struct{ from, want string }{
		{"2026-03-02T07:59:00Z", "2026-03-02T08:00:00Z"}, // Monday before 08:00
		{"2026-03-02T08:00:00Z", "2026-03-09T08:00:00Z"}, // exactly then: next week
		{"2026-03-04T12:00:00Z", "2026-03-09T08:00:00Z"}, // Wednesday
	}
	for _, tt := range tests {
		from, _ := time.Parse(time.RFC3339, tt.from)
		if got := w.Next(from).Format(time.RFC3339); got != tt.want {
			t.Errorf("Next(%s) = %s, want %s", tt.from, got, tt.want)
		}
	}
}
