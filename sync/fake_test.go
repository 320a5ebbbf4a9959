package sync

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
)

// limiter answers 429 once more than perMinute writes arrived in the current minute of
// the fake clock, and (once) for the next `burst` writes; zero values disable it.
type limiter struct {
	clk       *clock.Fake
	perMinute int
	window    time.Time
	used      int
	fail429   int // answer the next n writes with 429 Retry-After: retryAfter
	retry     int
	limited   int // 429s sent
}

func (l *limiter) allow(w http.ResponseWriter) bool {
	if l.fail429 > 0 {
		l.fail429--
		l.limited++
		w.Header().Set("Retry-After", strconv.Itoa(l.retry))
		http.Error(w, `{"errorMessages":["rate limited"]}`, http.StatusTooManyRequests)
		return false
	}
	if l.perMinute <= 0 {
		return true
	}
	now := l.clk.Now()
	if now.Sub(l.window) >= time.Minute {
		l.window, l.used = now.Truncate(time.Minute), 0
	}
	if l.used >= l.perMinute {
		l.limited++
		wait := l.window.Add(time.Minute).Sub(now)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		http.Error(w, `{"message":"rate limited"}`, http.StatusTooManyRequests)
		return false
	}
	l.used++
	return true
}

// fakeJira is a Jira Cloud stand-in that records what sync creates.
type fakeJira struct {
	mu       stdsync.Mutex
	srv      *httptest.Server
	lim      limiter
	issues   []*jiraFakeIssue
	creates  int // POST /issue calls that created an issue
	requests int
	paths    []string
	// onComment, when set, runs as a comment is posted (the fake's lock held);
	// onTransition after a workflow transition (its webhook, say).
	onComment    func(key string)
	onTransition func(key, status string)
	// dc makes the fake a Jira Data Center: API v2 only, /search (no /search/jql),
	// descriptions and comments as strings (Cloud takes only ADF documents).
	dc bool
}

// richOK reports whether a description or comment body is what this Jira takes,
// writing Jira's error if not.
func (f *fakeJira) richOK(w http.ResponseWriter, field string, v json.RawMessage) bool {
	isString := len(v) > 0 && v[0] == '"'
	switch {
	case f.dc && !isString:
		http.Error(w, `{"errors":{"`+field+`":"Operation value must be a string"}}`, 400)
		return false
	case !f.dc && isString:
		http.Error(w, `{"errors":{"`+field+`":"Operation value must be an Atlassian Document (see the Atlassian Document Format)"}}`, 400)
		return false
	}
	return true
}

type jiraFakeIssue struct {
	Key, Summary, Status, Priority string
	Labels, Components             []string
	Description                    json.RawMessage
	Links                          map[string]json.RawMessage // globalId → link
	Comments                       []string
}

var jqlLabelRE = regexp.MustCompile(`labels = (fh-cluster-[0-9]+)`)

func newFakeJira(t testing.TB, clk *clock.Fake) *fakeJira {
	f := &fakeJira{lim: limiter{clk: clk}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeJira) issue(key string) *jiraFakeIssue {
	for _, is := range f.issues {
		if is.Key == key {
			return is
		}
	}
	return nil
}

// withLabel counts issues carrying a label.
func (f *fakeJira) withLabel(l string) []*jiraFakeIssue {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*jiraFakeIssue
	for _, is := range f.issues {
		if contains(is.Labels, l) {
			out = append(out, is)
		}
	}
	return out
}

func (f *fakeJira) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	root, search := "/rest/api/3/", "search/jql"
	if f.dc {
		root, search = "/rest/api/2/", "search"
	}
	if !strings.HasPrefix(r.URL.Path, root) {
		http.Error(w, `{"errorMessages":["no such API here"]}`, 404)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, root)
	parts := strings.Split(p, "/")
	write := r.Method != http.MethodGet
	if write && !f.lim.allow(w) {
		return
	}
	switch {
	case r.Method == http.MethodPost && p == "issue":
		var in struct {
			Fields struct {
				Summary     string          `json:"summary"`
				Labels      []string        `json:"labels"`
				Description json.RawMessage `json:"description"`
				Priority    *struct{ Name string }
				Components  []struct{ Name string }
				Project     struct{ Key string }
			} `json:"fields"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, `{"errorMessages":["bad json"]}`, 400)
			return
		}
		if !f.richOK(w, "description", in.Fields.Description) {
			return
		}
		for _, l := range in.Fields.Labels {
			if strings.Contains(l, " ") {
				http.Error(w, `{"errors":{"labels":"The label '`+l+`' contains spaces which is invalid."}}`, 400)
				return
			}
		}
		is := &jiraFakeIssue{Key: fmt.Sprintf("%s-%d", in.Fields.Project.Key, len(f.issues)+1), Summary: in.Fields.Summary,
			Status: "To Do", Labels: in.Fields.Labels, Description: in.Fields.Description, Links: map[string]json.RawMessage{}}
		if in.Fields.Priority != nil {
			is.Priority = in.Fields.Priority.Name
		}
		for _, c := range in.Fields.Components {
			is.Components = append(is.Components, c.Name)
		}
		f.issues = append(f.issues, is)
		f.creates++
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"%d","key":%q,"self":"x"}`, 10000+len(f.issues), is.Key)
	case r.Method == http.MethodGet && p == search:
		m := jqlLabelRE.FindStringSubmatch(r.URL.Query().Get("jql"))
		var out []map[string]any
		for _, is := range f.issues {
			if m != nil && contains(is.Labels, m[1]) {
				out = append(out, f.issueJSON(is))
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"issues": out})
	case len(parts) == 3 && parts[0] == "issue" && parts[2] == "remotelink" && r.Method == http.MethodPost:
		is := f.issue(parts[1])
		if is == nil {
			http.Error(w, `{"errorMessages":["no issue"]}`, 404)
			return
		}
		var in struct {
			GlobalID string `json:"globalId"`
			Object   struct{ URL, Title string }
		}
		_ = json.Unmarshal(body, &in)
		if in.Object.URL == "" || in.Object.Title == "" {
			http.Error(w, `{"errors":{"object":"url and title required"}}`, 400)
			return
		}
		is.Links[in.GlobalID] = body
		fmt.Fprint(w, `{"id":1}`)
	case len(parts) == 3 && parts[0] == "issue" && parts[2] == "comment":
		is := f.issue(parts[1])
		if is == nil {
			http.Error(w, `{"errorMessages":["no issue"]}`, 404)
			return
		}
		if r.Method == http.MethodPost {
			if f.onComment != nil {
				f.onComment(parts[1])
			}
			var in struct {
				Body json.RawMessage `json:"body"`
			}
			_ = json.Unmarshal(body, &in)
			if !f.richOK(w, "comment", in.Body) {
				return
			}
			is.Comments = append(is.Comments, string(in.Body))
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id":"1"}`)
			return
		}
		var cs []map[string]any
		for _, c := range is.Comments {
			cs = append(cs, map[string]any{"body": json.RawMessage(c)})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"comments": cs, "total": len(cs), "maxResults": 100})
	case len(parts) == 3 && parts[0] == "issue" && parts[2] == "transitions":
		// A workflow like Jira's default: To Do ⇄ In Progress → Done, and Done → To Do
		// ("Reopen"). Transition ids are the workflow's own.
		is := f.issue(parts[1])
		if is == nil {
			http.Error(w, `{"errorMessages":["no issue"]}`, 404)
			return
		}
		type to struct {
			Name           string            `json:"name"`
			StatusCategory map[string]string `json:"statusCategory"`
		}
		type tr struct {
			ID string `json:"id"`
			To to     `json:"to"`
		}
		todo, prog, done := to{"To Do", map[string]string{"key": "new"}}, to{"In Progress", map[string]string{"key": "indeterminate"}}, to{"Done", map[string]string{"key": "done"}}
		var avail []tr
		switch is.Status {
		case "Done":
			avail = []tr{{"41", todo}}
		case "In Progress":
			avail = []tr{{"11", todo}, {"31", done}}
		default:
			avail = []tr{{"21", prog}, {"31", done}}
		}
		if r.Method == http.MethodPost {
			var in struct {
				Transition struct{ ID string } `json:"transition"`
			}
			_ = json.Unmarshal(body, &in)
			for _, t := range avail {
				if t.ID == in.Transition.ID {
					is.Status = t.To.Name
					if f.onTransition != nil {
						f.onTransition(is.Key, is.Status)
					}
					w.WriteHeader(http.StatusNoContent)
					return
				}
			}
			http.Error(w, `{"errorMessages":["It seems that you have tried to perform a workflow operation (`+in.Transition.ID+`) that is not valid for the current state of this issue."]}`, 400)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"transitions": avail})
	case len(parts) == 2 && parts[0] == "issue":
		is := f.issue(parts[1])
		if is == nil {
			http.Error(w, `{"errorMessages":["no issue"]}`, 404)
			return
		}
		if r.Method == http.MethodPut {
			var in struct {
				Fields struct{ Priority struct{ Name string } } `json:"fields"`
			}
			_ = json.Unmarshal(body, &in)
			is.Priority = in.Fields.Priority.Name
			w.WriteHeader(http.StatusNoContent)
			return
		}
		_ = json.NewEncoder(w).Encode(f.issueJSON(is))
	default:
		http.Error(w, `{"errorMessages":["not found"]}`, 404)
	}
}

func (f *fakeJira) issueJSON(is *jiraFakeIssue) map[string]any {
	return map[string]any{"id": "1", "key": is.Key, "fields": map[string]any{
		"status": map[string]string{"name": is.Status}, "priority": map[string]string{"name": is.Priority}, "labels": is.Labels}}
}

// fakeGitHub is a GitHub REST stand-in under /api/v3/ (as go-github's enterprise URLs).
type fakeGitHub struct {
	mu       stdsync.Mutex
	srv      *httptest.Server
	lim      limiter
	issues   map[string][]*ghFakeIssue // repo → issues
	creates  int
	requests int
	// searchLags makes the search API find nothing, like an index that has not caught up.
	searchLags bool
}

type ghFakeIssue struct {
	Number   int
	Title    string
	Body     string
	State    string
	Labels   []string
	Comments []string
}

func newFakeGitHub(t testing.TB, clk *clock.Fake) *fakeGitHub {
	f := &fakeGitHub{lim: limiter{clk: clk}, issues: map[string][]*ghFakeIssue{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) withMarker(repo, marker string) []*ghFakeIssue {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*ghFakeIssue
	for _, is := range f.issues[repo] {
		if strings.Contains(is.Body, marker) {
			out = append(out, is)
		}
	}
	return out
}

func (f *fakeGitHub) json(repo string, is *ghFakeIssue) map[string]any {
	var labels []map[string]string
	for _, l := range is.Labels {
		labels = append(labels, map[string]string{"name": l})
	}
	return map[string]any{"number": is.Number, "title": is.Title, "body": is.Body, "state": is.State, "labels": labels,
		"html_url": fmt.Sprintf("https://github.example/%s/issues/%d", repo, is.Number)}
}

var ghIssueRE = regexp.MustCompile(`^repos/([^/]+/[^/]+)/issues(?:/([0-9]+)(?:/(comments|labels)(?:/(.+))?)?)?$`)

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	p := strings.TrimPrefix(r.URL.Path, "/api/v3/")
	if r.Method != http.MethodGet && !f.lim.allow(w) {
		return
	}
	if p == "search/issues" {
		q := r.URL.Query().Get("q")
		var items []map[string]any
		if m := regexp.MustCompile(`repo:(\S+) in:body "([^"]+)"`).FindStringSubmatch(q); m != nil && !f.searchLags {
			for _, is := range f.issues[m[1]] {
				if strings.Contains(is.Body, m[2]) {
					items = append(items, f.json(m[1], is))
				}
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"total_count": len(items), "items": items})
		return
	}
	m := ghIssueRE.FindStringSubmatch(p)
	if m == nil {
		http.Error(w, `{"message":"Not Found"}`, 404)
		return
	}
	repo := m[1]
	var is *ghFakeIssue
	if m[2] != "" {
		n, _ := strconv.Atoi(m[2])
		if n < 1 || n > len(f.issues[repo]) {
			http.Error(w, `{"message":"Not Found"}`, 404)
			return
		}
		is = f.issues[repo][n-1]
	}
	switch {
	case is == nil && r.Method == http.MethodPost:
		var in struct {
			Title, Body string
			Labels      []string
		}
		_ = json.Unmarshal(body, &in)
		is = &ghFakeIssue{Number: len(f.issues[repo]) + 1, Title: in.Title, Body: in.Body, State: "open", Labels: in.Labels}
		f.issues[repo] = append(f.issues[repo], is)
		f.creates++
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(f.json(repo, is))
	case is == nil && r.Method == http.MethodGet:
		label := r.URL.Query().Get("labels")
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		var out []map[string]any
		all := f.issues[repo]
		for i := len(all) - 1; i >= 0; i-- { // newest first
			if label == "" || contains(all[i].Labels, label) {
				out = append(out, f.json(repo, all[i]))
			}
		}
		if page > 1 {
			out = nil
		}
		_ = json.NewEncoder(w).Encode(out)
	case m[3] == "" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(f.json(repo, is))
	case m[3] == "" && r.Method == http.MethodPatch:
		var in struct {
			State *string `json:"state"`
		}
		_ = json.Unmarshal(body, &in)
		if in.State != nil {
			is.State = *in.State
		}
		_ = json.NewEncoder(w).Encode(f.json(repo, is))
	case m[3] == "comments" && r.Method == http.MethodPost:
		var in struct{ Body string }
		_ = json.Unmarshal(body, &in)
		is.Comments = append(is.Comments, in.Body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":1}`)
	case m[3] == "comments" && r.Method == http.MethodGet:
		var out []map[string]any
		for _, c := range is.Comments {
			out = append(out, map[string]any{"body": c})
		}
		_ = json.NewEncoder(w).Encode(out)
	case m[3] == "labels" && r.Method == http.MethodPost:
		var in struct{ Labels []string }
		_ = json.Unmarshal(body, &in)
		for _, l := range in.Labels {
			if !contains(is.Labels, l) {
				is.Labels = append(is.Labels, l)
			}
		}
		fmt.Fprint(w, `[]`)
	case m[3] == "labels" && r.Method == http.MethodDelete:
		var keep []string
		for _, l := range is.Labels {
			if l != m[4] {
				keep = append(keep, l)
			}
		}
		is.Labels = keep
		fmt.Fprint(w, `[]`)
	default:
		http.Error(w, `{"message":"Not Found"}`, 404)
	}
}

// smtpServer is a minimal in-process SMTP server that keeps every message.
type smtpServer struct {
	ln   net.Listener
	mu   stdsync.Mutex
	msgs []smtpMsg
}

type smtpMsg struct {
	From string
	To   []string
	Data string
}

func newSMTPServer(t testing.TB) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.session(c)
		}
	}()
	return s
}

func (s *smtpServer) Addr() string { return s.ln.Addr().String() }

func (s *smtpServer) messages() []smtpMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMsg(nil), s.msgs...)
}

func (s *smtpServer) session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	say("220 fake ESMTP")
	var cur smtpMsg
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-fake\r\n250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			cur = smtpMsg{From: strings.Trim(strings.TrimSpace(line)[10:], "<> ")}
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			cur.To = append(cur.To, strings.Trim(strings.TrimSpace(line)[8:], "<> "))
			say("250 ok")
		case cmd == "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.Data = b.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}
