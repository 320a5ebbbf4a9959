package jira

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
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

// Test credentials; the token must never show up in an error.
const (
	testEmail = "triage@example.com"
	testToken = "tok-secret-0123456789"
)

// fakeIssue is one issue the fake Jira serves, built from fixtures/api/issue.json.
type fakeIssue struct {
	Key      string
	ID       string
	Updated  time.Time
	Comments []fakeComment
}

type fakeComment struct {
	ID               string
	Created, Updated time.Time
}

// fakeJira is an httptest Jira: it evaluates the "updated >= <epoch ms>" (and
// "updated >= \"yyyy/MM/dd HH:mm\"", read in the account's time zone) clause of the
// JQL it receives, orders by updated, pages with nextPageToken (Cloud) or startAt
// (Data Center), returns only the fields asked for, and writes times in the
// account's zone like Jira does.
type fakeJira struct {
	t    *testing.T
	srv  *httptest.Server
	zone *time.Location
	// dataCenter serves /rest/api/2/search with startAt; otherwise /search is 410.
	dataCenter bool
	// embedComments caps the comments embedded in a search answer (0: all).
	embedComments int
	// auth is the Authorization header required (empty: none).
	auth string
	// inject, when set, may answer a request itself (return true) to misbehave.
	inject func(w http.ResponseWriter, r *http.Request, n int) bool

	mu       sync.Mutex
	issues   map[string]*fakeIssue
	requests []string
	tmpl     map[string]any
}

func newFakeJira(t *testing.T, zone *time.Location) *fakeJira {
	t.Helper()
	raw, err := os.ReadFile("testdata/fixtures/api/issue.json")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeJira{t: t, zone: zone, issues: map[string]*fakeIssue{},
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(testEmail+":"+testToken))}
	if err := json.Unmarshal(raw, &f.tmpl); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// add puts an issue updated at upd with n comments (the last one made at upd).
func (f *fakeJira) add(key string, upd time.Time, n int) *fakeIssue {
	f.mu.Lock()
	defer f.mu.Unlock()
	num := strings.TrimPrefix(key[strings.LastIndex(key, "-"):], "-")
	fi := &fakeIssue{Key: key, ID: "7" + num, Updated: upd}
	for i := 0; i < n; i++ {
		at := upd.Add(-time.Duration(n-1-i) * time.Hour)
		fi.Comments = append(fi.Comments, fakeComment{ID: fmt.Sprintf("%s%02d", fi.ID, i), Created: at, Updated: at})
	}
	f.issues[key] = fi
	return fi
}

// touch marks an issue updated at upd with one new comment.
func (f *fakeJira) touch(key string, upd time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi := f.issues[key]
	fi.Updated = upd
	fi.Comments = append(fi.Comments, fakeComment{ID: fmt.Sprintf("%s%02d", fi.ID, len(fi.Comments)), Created: upd, Updated: upd})
}

func (f *fakeJira) reqs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeJira) resetReqs() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

var (
	searchPathRE  = regexp.MustCompile(`^/rest/api/([23])/search(/jql)?$`)
	commentPathRE = regexp.MustCompile(`^/rest/api/([23])/issue/([^/]+)/comment$`)
	issuePathRE   = regexp.MustCompile(`^/rest/api/([23])/issue/([^/]+)$`)
	updMsRE       = regexp.MustCompile(`updated\s*>=\s*(\d+)`)
	updDateRE     = regexp.MustCompile(`updated\s*>=\s*"(\d{4}/\d{2}/\d{2} \d{2}:\d{2})"`)
)

func (f *fakeJira) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.Path+"?"+r.URL.RawQuery)
	n := len(f.requests)
	f.mu.Unlock()
	if f.inject != nil && f.inject(w, r, n) {
		return
	}
	if f.auth != "" && r.Header.Get("Authorization") != f.auth {
		jiraError(w, http.StatusUnauthorized, "Client must be authenticated to access this resource.")
		return
	}
	switch m := searchPathRE.FindStringSubmatch(r.URL.Path); {
	case m != nil && m[2] == "" && !f.dataCenter:
		jiraError(w, http.StatusGone, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
		return
	case m != nil && m[2] != "" && f.dataCenter:
		jiraError(w, http.StatusNotFound, "null for uri: "+r.URL.Path)
		return
	case m != nil:
		f.search(w, r, m[1])
		return
	}
	if m := commentPathRE.FindStringSubmatch(r.URL.Path); m != nil {
		f.commentPage(w, r, m[1], m[2])
		return
	}
	if m := issuePathRE.FindStringSubmatch(r.URL.Path); m != nil {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, fi := range f.issues {
			if fi.ID == m[2] || fi.Key == m[2] {
				writeJSON(w, map[string]any{"id": fi.ID, "key": fi.Key, "fields": map[string]any{}})
				return
			}
		}
		jiraError(w, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
		return
	}
	jiraError(w, http.StatusNotFound, "no route "+r.URL.Path)
}

func jiraError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errorMessages": []string{msg}, "errors": map[string]any{}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeJira) search(w http.ResponseWriter, r *http.Request, version string) {
	q := r.URL.Query()
	jql := q.Get("jql")
	if !strings.Contains(strings.ToLower(jql), "order by updated asc") {
		jiraError(w, http.StatusBadRequest, "test server wants ORDER BY updated ASC, got "+jql)
		return
	}
	lower := time.Time{}
	if m := updMsRE.FindStringSubmatch(jql); m != nil {
		ms, _ := strconv.ParseInt(m[1], 10, 64)
		lower = time.UnixMilli(ms)
	} else if m := updDateRE.FindStringSubmatch(jql); m != nil {
		t, err := time.ParseInLocation("2006/01/02 15:04", m[1], f.zone)
		if err != nil {
			jiraError(w, http.StatusBadRequest, err.Error())
			return
		}
		lower = t
	}
	f.mu.Lock()
	var hits []*fakeIssue
	for _, fi := range f.issues {
		if !fi.Updated.Before(lower) {
			hits = append(hits, fi)
		}
	}
	f.mu.Unlock()
	sort.Slice(hits, func(i, j int) bool {
		if !hits[i].Updated.Equal(hits[j].Updated) {
			return hits[i].Updated.Before(hits[j].Updated)
		}
		return hits[i].Key < hits[j].Key
	})
	size, _ := strconv.Atoi(q.Get("maxResults"))
	if size <= 0 || size > 100 {
		size = 50
	}
	start := 0
	if f.dataCenter {
		start, _ = strconv.Atoi(q.Get("startAt"))
	} else if tok := q.Get("nextPageToken"); tok != "" {
		start, _ = strconv.Atoi(strings.TrimPrefix(tok, "page-"))
	}
	end := min(start+size, len(hits))
	start = min(start, end)
	var fields []string
	if v := q.Get("fields"); v != "" {
		fields = strings.Split(v, ",")
	}
	issues := []any{}
	for _, fi := range hits[start:end] {
		issues = append(issues, f.render(fi, version, fields))
	}
	out := map[string]any{"issues": issues}
	if f.dataCenter {
		out["startAt"], out["maxResults"], out["total"] = start, size, len(hits)
	} else if end < len(hits) {
		out["nextPageToken"] = "page-" + strconv.Itoa(end)
	} else {
		out["isLast"] = true
	}
	writeJSON(w, out)
}

// render builds the issue JSON from the fixture, keeping only the fields asked for.
func (f *fakeJira) render(fi *fakeIssue, version string, fields []string) map[string]any {
	var iss map[string]any
	b, _ := json.Marshal(f.tmpl)
	_ = json.Unmarshal(b, &iss)
	iss["id"], iss["key"] = fi.ID, fi.Key
	iss["self"] = f.srv.URL + "/rest/api/" + version + "/issue/" + fi.ID
	all := iss["fields"].(map[string]any)
	all["updated"] = f.jiraTime(fi.Updated)
	all["summary"] = "Issue " + fi.Key
	all["labels"] = []string{"partner-acme", "arm64"}
	all["components"] = []map[string]any{{"id": "1", "name": "installer"}, {"id": "2", "name": "cli"}}
	all["customfield_10002"] = []map[string]any{{"id": "5", "name": "Acme Corp"}}
	if version == "3" {
		all["description"] = adfDoc(all["description"].(string))
	}
	f.mu.Lock()
	list := []any{}
	tmplComment := all["comment"].(map[string]any)["comments"].([]any)[0].(map[string]any)
	for i, c := range fi.Comments {
		if f.embedComments > 0 && i >= f.embedComments {
			break
		}
		list = append(list, f.renderComment(tmplComment, fi, c, version))
	}
	all["comment"] = map[string]any{"comments": list, "maxResults": len(list), "total": len(fi.Comments), "startAt": 0}
	f.mu.Unlock()
	kept := map[string]any{}
	for _, k := range fields {
		if v, ok := all[k]; ok {
			kept[k] = v
		}
	}
	iss["fields"] = kept
	return iss
}

func (f *fakeJira) renderComment(tmpl map[string]any, fi *fakeIssue, c fakeComment, version string) map[string]any {
	var cm map[string]any
	b, _ := json.Marshal(tmpl)
	_ = json.Unmarshal(b, &cm)
	cm["id"] = c.ID
	cm["self"] = f.srv.URL + "/rest/api/" + version + "/issue/" + fi.ID + "/comment/" + c.ID
	cm["created"], cm["updated"] = f.jiraTime(c.Created), f.jiraTime(c.Updated)
	body := "Comment " + c.ID + " on " + fi.Key
	cm["body"] = body
	if version == "3" {
		cm["body"] = adfDoc(body)
	}
	return cm
}

func (f *fakeJira) commentPage(w http.ResponseWriter, r *http.Request, version, key string) {
	f.mu.Lock()
	fi := f.issues[key]
	f.mu.Unlock()
	if fi == nil {
		jiraError(w, http.StatusNotFound, "Issue does not exist")
		return
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
	size, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
	if size <= 0 {
		size = 50
	}
	tmpl := f.tmpl["fields"].(map[string]any)["comment"].(map[string]any)["comments"].([]any)[0].(map[string]any)
	f.mu.Lock()
	end := min(start+size, len(fi.Comments))
	list := []any{}
	for _, c := range fi.Comments[min(start, end):end] {
		list = append(list, f.renderComment(tmpl, fi, c, version))
	}
	total := len(fi.Comments)
	f.mu.Unlock()
	writeJSON(w, map[string]any{"comments": list, "startAt": start, "maxResults": size, "total": total})
}

func (f *fakeJira) jiraTime(t time.Time) string {
	return t.In(f.zone).Format("2006-01-02T15:04:05.000-0700")
}

func adfDoc(text string) map[string]any {
	return map[string]any{"type": "doc", "version": 1, "content": []any{
		map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": text}}},
	}}
}

// memStore stands in for store.Ingest/IngestDelivery: unique on (external id,
// revision), cursor stored with the batch, deliveries remembered.
type memStore struct {
	mu         sync.Mutex
	recs       map[string]feedback.Record
	order      []string
	cursor     feedback.Cursor
	deliveries map[string]bool
	fail       error
}

func newMemStore() *memStore {
	return &memStore{recs: map[string]feedback.Record{}, deliveries: map[string]bool{}}
}

func (m *memStore) ingest(t *testing.T, res connectors.Result) (fresh, dup int) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range res.Records {
		if err := r.Validate(); err != nil {
			t.Fatalf("invalid record: %v", err)
		}
		k := r.ExternalID + "\x00" + r.Revision
		if _, ok := m.recs[k]; ok {
			dup++
			continue
		}
		m.recs[k] = r
		m.order = append(m.order, k)
		fresh++
	}
	m.cursor = res.Next
	return fresh, dup
}

func (m *memStore) Deliver(_ context.Context, source, id string, recs []feedback.Record) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return false, m.fail
	}
	if m.deliveries[id] {
		return true, nil
	}
	for _, r := range recs {
		if r.Source != source {
			return false, fmt.Errorf("record source %q, want %q", r.Source, source)
		}
		if err := r.Validate(); err != nil {
			return false, err
		}
		k := r.ExternalID + "\x00" + r.Revision
		if _, ok := m.recs[k]; !ok {
			m.recs[k] = r
			m.order = append(m.order, k)
		}
	}
	m.deliveries[id] = true
	return false, nil
}

func (m *memStore) count(kind feedback.Kind, externalID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.recs {
		if (kind == "" || r.Kind == kind) && (externalID == "" || r.ExternalID == externalID) {
			n++
		}
	}
	return n
}

// setup builds a connector against f with a fake clock at now.
func setup(t *testing.T, f *fakeJira, now time.Time, mod func(*config.JiraSource)) (*Connector, *clock.Fake) {
	t.Helper()
	t.Setenv("FH_TEST_JIRA_EMAIL", testEmail)
	t.Setenv("FH_TEST_JIRA_TOKEN", testToken)
	src := config.Source{Name: "jira", Kind: config.KindJira, Jira: &config.JiraSource{
		BaseURL:            f.srv.URL,
		JQL:                "project = BBCOM ORDER BY created DESC",
		EmailEnv:           "FH_TEST_JIRA_EMAIL",
		TokenEnv:           "FH_TEST_JIRA_TOKEN",
		APIVersion:         3,
		PollInterval:       config.Duration(5 * time.Minute),
		OrganizationFields: []string{"customfield_10002"},
	}}
	if mod != nil {
		mod(src.Jira)
	}
	clk := clock.NewFake(now)
	c, err := NewConnector(src, connectors.Env{
		Config: config.Default(t.TempDir()), Clock: clk, HTTPClient: f.srv.Client(), Redactor: connectors.NewRedactor(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}
