package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// The repository every fixture payload is about.
const (
	fixtureOwner = "Codertocat"
	fixtureRepo  = "Hello-World"
	testToken    = "ghp_TESTtoken0123456789abcdef"
)

// t0 is when the fake world starts.
var t0 = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)

// loadPayload reads a testdata webhook payload.
func loadPayload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureObject returns a fresh copy of one object (issue, comment) of a payload.
func fixtureObject(t testing.TB, file, key string) map[string]any {
	t.Helper()
	var p map[string]json.RawMessage
	if err := json.Unmarshal(loadPayload(t, file), &p); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(p[key], &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// seenRequest is what the fake server recorded of one request.
type seenRequest struct {
	Method, Path, Query, IfNoneMatch, Auth string
}

// fakeGitHub is an httptest GitHub Enterprise API (under /api/v3/) serving one
// repository's issues and comments built from the fixture payloads. faults answer
// the next requests instead of the normal handler, to misbehave on purpose.
type fakeGitHub struct {
	t   testing.TB
	srv *httptest.Server
	now func() time.Time

	issueTmpl, commentTmpl map[string]any

	mu       sync.Mutex
	issues   map[int]map[string]any   // by number
	comments map[int64]map[string]any // by id
	reqs     []seenRequest
	faults   []func(w http.ResponseWriter, r *http.Request)
	// tokens answers POST /app/installations/{id}/access_tokens; nil = 404.
	tokens func(w http.ResponseWriter, r *http.Request)
	// wantAuth, when set, is the only Authorization accepted on API calls.
	wantAuth string
}

func newFakeGitHub(t testing.TB, now func() time.Time) *fakeGitHub {
	f := &fakeGitHub{
		t:           t,
		now:         now,
		issueTmpl:   fixtureObject(t, "issues/opened.json", "issue"),
		commentTmpl: fixtureObject(t, "issue_comment/created.json", "comment"),
		issues:      map[int]map[string]any{},
		comments:    map[int64]map[string]any{},
		wantAuth:    "Bearer " + testToken,
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// setIssue adds or updates issue number n, last updated at upd.
func (f *fakeGitHub) setIssue(n int, upd time.Time, pr bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is := f.issues[n]
	if is == nil {
		is = clone(f.issueTmpl)
		base := fmt.Sprintf("https://api.github.com/repos/%s/%s/issues/%d", fixtureOwner, fixtureRepo, n)
		is["id"] = 444500000 + n
		is["number"] = n
		is["url"] = base
		is["html_url"] = fmt.Sprintf("https://github.com/%s/%s/issues/%d", fixtureOwner, fixtureRepo, n)
		is["created_at"] = upd.UTC().Format(time.RFC3339)
		is["title"] = fmt.Sprintf("Issue %d", n)
		f.issues[n] = is
	}
	if pr {
		is["pull_request"] = map[string]any{"url": fmt.Sprintf("https://api.github.com/repos/%s/%s/pulls/%d", fixtureOwner, fixtureRepo, n)}
		is["html_url"] = fmt.Sprintf("https://github.com/%s/%s/pull/%d", fixtureOwner, fixtureRepo, n)
	}
	is["updated_at"] = upd.UTC().Format(time.RFC3339)
}

// setComment adds or updates comment id on issue n.
func (f *fakeGitHub) setComment(id int64, n int, upd time.Time, onPR bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.comments[id]
	if c == nil {
		c = clone(f.commentTmpl)
		kind := "issues"
		if onPR {
			kind = "pull"
		}
		c["id"] = id
		c["issue_url"] = fmt.Sprintf("https://api.github.com/repos/%s/%s/issues/%d", fixtureOwner, fixtureRepo, n)
		c["html_url"] = fmt.Sprintf("https://github.com/%s/%s/%s/%d#issuecomment-%d", fixtureOwner, fixtureRepo, kind, n, id)
		c["created_at"] = upd.UTC().Format(time.RFC3339)
		f.comments[id] = c
	}
	c["updated_at"] = upd.UTC().Format(time.RFC3339)
}

// fault queues a misbehaving answer for the next request.
func (f *fakeGitHub) fault(h func(w http.ResponseWriter, r *http.Request)) {
	f.mu.Lock()
	f.faults = append(f.faults, h)
	f.mu.Unlock()
}

// requests returns the recorded requests and forgets them.
func (f *fakeGitHub) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

// count returns how many of reqs went to the path ending in suffix.
func count(reqs []seenRequest, suffix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

const apiPrefix = "/api/v3/"

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.reqs = append(f.reqs, seenRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("If-None-Match"), r.Header.Get("Authorization")})
	var fault func(http.ResponseWriter, *http.Request)
	if len(f.faults) > 0 {
		fault, f.faults = f.faults[0], f.faults[1:]
	}
	f.mu.Unlock()
	if fault != nil {
		fault(w, r)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok {
		f.t.Errorf("request outside the enterprise API prefix: %s", r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if strings.HasPrefix(path, "app/installations/") && r.Method == http.MethodPost {
		if f.tokens == nil {
			http.NotFound(w, r)
			return
		}
		f.tokens(w, r)
		return
	}
	f.mu.Lock()
	want := f.wantAuth
	f.mu.Unlock()
	if want != "" && r.Header.Get("Authorization") != want {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`)
		return
	}
	repoPath := "repos/" + fixtureOwner + "/" + fixtureRepo + "/"
	switch path {
	case repoPath + "issues":
		f.list(w, r, func() []map[string]any {
			out := make([]map[string]any, 0, len(f.issues))
			for _, v := range f.issues {
				out = append(out, v)
			}
			return out
		})
	case repoPath + "issues/comments":
		f.list(w, r, func() []map[string]any {
			out := make([]map[string]any, 0, len(f.comments))
			for _, v := range f.comments {
				out = append(out, v)
			}
			return out
		})
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message":"Not Found"}`)
	}
}

// list answers an updated-ascending listing the way GitHub does: since is
// inclusive, per_page items per page, a Link header with rel="next" while more
// remain (its URLs carry a marker a client could not invent), ETags and 304s.
func (f *fakeGitHub) list(w http.ResponseWriter, r *http.Request, all func() []map[string]any) {
	q := r.URL.Query()
	if q.Get("sort") != "updated" || q.Get("direction") != "asc" || q.Get("per_page") != "100" {
		f.t.Errorf("listing query %q: want sort=updated&direction=asc&per_page=100", r.URL.RawQuery)
	}
	if strings.HasSuffix(r.URL.Path, "/issues") && q.Get("state") != "all" {
		f.t.Errorf("issues query %q: want state=all", r.URL.RawQuery)
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page == 0 {
		page = 1
	}
	if page > 1 && q.Get("link") != "yes" {
		f.t.Errorf("page %d requested without following Link: %q", page, r.URL.RawQuery)
	}
	f.mu.Lock()
	items := all()
	var since time.Time
	if s := q.Get("since"); s != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, s); err != nil {
			f.mu.Unlock()
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
	}
	var sel []map[string]any
	for _, it := range items {
		u, _ := time.Parse(time.RFC3339, it["updated_at"].(string))
		if !u.Before(since) {
			sel = append(sel, it)
		}
	}
	sort.Slice(sel, func(i, j int) bool {
		a, b := sel[i]["updated_at"].(string), sel[j]["updated_at"].(string)
		if a != b {
			return a < b
		}
		return sel[i]["id"].(float64) < sel[j]["id"].(float64)
	})
	lo, hi := (page-1)*100, page*100
	more := hi < len(sel)
	if lo > len(sel) {
		lo = len(sel)
	}
	if hi > len(sel) {
		hi = len(sel)
	}
	body, _ := json.Marshal(sel[lo:hi])
	f.mu.Unlock()
	if body == nil || string(body) == "null" {
		body = []byte("[]")
	}
	sum := sha256.Sum256(body)
	etag := `W/"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(f.now().Add(time.Hour).Unix(), 10))
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if more {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("page", strconv.Itoa(page+1))
		nq.Set("link", "yes")
		last := url.Values{}
		for k, v := range nq {
			last[k] = v
		}
		last.Set("page", strconv.Itoa((len(sel)+99)/100))
		base := "http://" + r.Host + r.URL.Path + "?"
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next", <%s%s>; rel="last"`, base, nq.Encode(), base, last.Encode()))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(body)
}

// memStore is the caller's side in memory: records unique on (source, external id,
// revision), the cursor moved with them, webhook deliveries marked in the same step.
type memStore struct {
	mu         sync.Mutex
	recs       map[[3]string]feedback.Record
	order      [][3]string
	cursor     feedback.Cursor
	deliveries map[string]bool
	// failDeliveries makes the next n Deliver calls fail, storing nothing.
	failDeliveries int
	calls          int
}

func newMemStore() *memStore {
	return &memStore{recs: map[[3]string]feedback.Record{}, deliveries: map[string]bool{}}
}

// ingest stores recs and moves the cursor, all or nothing; it returns how many
// records were new.
func (m *memStore) ingest(recs []feedback.Record, next *feedback.Cursor) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range recs {
		if err := recs[i].Validate(); err != nil {
			return 0, err
		}
	}
	n := 0
	for _, r := range recs {
		k := [3]string{r.Source, r.ExternalID, r.Revision}
		if _, ok := m.recs[k]; ok {
			continue
		}
		m.recs[k] = r
		m.order = append(m.order, k)
		n++
	}
	if next != nil {
		m.cursor = *next
	}
	return n, nil
}

// Deliver implements connectors.Sink.
func (m *memStore) Deliver(_ context.Context, source, id string, recs []feedback.Record) (bool, error) {
	m.mu.Lock()
	m.calls++
	if m.failDeliveries > 0 {
		m.failDeliveries--
		m.mu.Unlock()
		return false, fmt.Errorf("store: database is locked")
	}
	if m.deliveries[source+"/"+id] {
		m.mu.Unlock()
		return true, nil
	}
	m.mu.Unlock()
	if _, err := m.ingest(recs, nil); err != nil {
		return false, err
	}
	m.mu.Lock()
	m.deliveries[source+"/"+id] = true
	m.mu.Unlock()
	return false, nil
}

// stored returns the records in the order they were first stored.
func (m *memStore) stored() []feedback.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]feedback.Record, 0, len(m.order))
	for _, k := range m.order {
		out = append(out, m.recs[k])
	}
	return out
}

// byExternalID counts stored records (all revisions) per external id.
func (m *memStore) byExternalID() map[string]int {
	out := map[string]int{}
	for _, r := range m.stored() {
		out[r.ExternalID]++
	}
	return out
}

// harness is one connector wired to a fake server, a fake clock and a store.
type harness struct {
	t     *testing.T
	gh    *fakeGitHub
	clk   *clock.Fake
	store *memStore
	conn  *Connector
	logs  *strings.Builder
	red   *connectors.Redactor
}

type option func(*config.GitHubSource)

func withPRs(g *config.GitHubSource) { g.IncludePullRequests = true }

// writeSecret puts a secret in a file under dir and returns its path.
func writeSecret(t *testing.T, dir, name, value string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const testWebhookSecret = "It's a Secret to Everybody"

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	clk := clock.NewFake(t0)
	h := &harness{t: t, clk: clk, store: newMemStore(), logs: &strings.Builder{}, red: connectors.NewRedactor()}
	h.gh = newFakeGitHub(t, clk.Now)
	dir := t.TempDir()
	g := &config.GitHubSource{
		BaseURL:           h.gh.srv.URL + "/",
		Repos:             []string{fixtureOwner + "/" + fixtureRepo},
		TokenFile:         writeSecret(t, dir, "token", testToken),
		WebhookSecretFile: writeSecret(t, dir, "hook", testWebhookSecret),
		PollInterval:      config.Duration(time.Minute),
	}
	for _, o := range opts {
		o(g)
	}
	logger := newTestLogger(h.logs)
	c, err := New(config.Source{Name: "gh", Kind: config.KindGitHub, GitHub: g},
		connectors.Env{Clock: clk, Logger: logger, HTTPClient: h.gh.srv.Client(), Redactor: h.red})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h.conn = c.(*Connector)
	return h
}

// poll runs one poll the way the pipeline does: on success the records and the next
// cursor are stored together; on error nothing moves.
func (h *harness) poll() (connectors.Result, int, error) {
	h.t.Helper()
	res, err := h.conn.Poll(context.Background(), h.store.cursor)
	if err != nil {
		return res, 0, err
	}
	n, err := h.store.ingest(res.Records, &res.Next)
	if err != nil {
		h.t.Fatalf("ingest: %v", err)
	}
	return res, n, nil
}

func (h *harness) mustPoll() (connectors.Result, int) {
	h.t.Helper()
	res, n, err := h.poll()
	if err != nil {
		h.t.Fatalf("poll: %v", err)
	}
	return res, n
}
