package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/feedbackhub/feedbackhub/connectors"
)

// JiraTracker creates and updates Jira issues: on Jira Cloud over REST API v3 (rich
// text as ADF; search on /rest/api/3/search/jql, the old /search being gone), on Jira
// Server/Data Center over REST API v2 (text as plain strings, which Jira reads as
// wiki markup; search on /rest/api/2/search, which it still has and /search/jql it
// does not).
type JiraTracker struct {
	// BaseURL is the site, e.g. https://acme.atlassian.net (no trailing slash).
	BaseURL string
	// Auth is the Authorization header value ("Basic …" or "Bearer …"); a secret.
	Auth   string
	Client *connectors.Client
	// DataCenter selects Jira Server/Data Center (a source authenticated by a personal
	// access token) instead of Jira Cloud.
	DataCenter bool
}

// api is the REST API root of this Jira.
func (j *JiraTracker) api() string {
	if j.DataCenter {
		return "/rest/api/2"
	}
	return "/rest/api/3"
}

// rich is text as this Jira takes it in descriptions and comments: ADF on Cloud (its
// text nodes are literal), and on Data Center a string that Jira renders as wiki
// markup, so the text goes inside a {noformat} block: partners' words must not
// mention users ([~name]), link or embed images. A "{noformat" inside the text is
// broken with a zero-width space so it cannot close the block.
func (j *JiraTracker) rich(text string) any {
	if j.DataCenter {
		return "{noformat}\n" + noformatRE.ReplaceAllStringFunc(text, func(m string) string { return m[:1] + "\u200b" + m[1:] }) + "\n{noformat}"
	}
	return adf(text)
}

var noformatRE = regexp.MustCompile(`(?i)\{noformat`)

// Kind is "jira".
func (j *JiraTracker) Kind() string { return "jira" }

// do sends a JSON request and decodes a JSON answer into out (when not nil).
func (j *JiraTracker) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	var raw []byte
	if in != nil {
		var err error
		if raw, err = json.Marshal(in); err != nil {
			return fmt.Errorf("jira: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(j.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("jira: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if j.Auth != "" {
		req.Header.Set("Authorization", j.Auth)
	}
	resp, err := j.Client.Do(req)
	if err != nil {
		return fmt.Errorf("jira: %w", err)
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(out); err != nil && err != io.EOF {
		return fmt.Errorf("jira: decode %s %s: %w", method, path, err)
	}
	return nil
}

type jiraIssue struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		Status   *struct{ Name string } `json:"status"`
		Priority *struct{ Name string } `json:"priority"`
		Labels   []string               `json:"labels"`
	} `json:"fields"`
}

func (j *JiraTracker) remote(is jiraIssue) Remote {
	r := Remote{Key: is.Key, URL: strings.TrimRight(j.BaseURL, "/") + "/browse/" + is.Key}
	if is.Fields.Status != nil {
		r.Status = is.Fields.Status.Name
	}
	if is.Fields.Priority != nil {
		r.Priority = is.Fields.Priority.Name
	}
	return r
}

// Find searches for the marker label with JQL.
func (j *JiraTracker) Find(ctx context.Context, p Place, clusterID int64) (*Remote, error) {
	jql := fmt.Sprintf("labels = %s ORDER BY created ASC", MarkerLabel(clusterID))
	if p.Project != "" {
		jql = fmt.Sprintf("project = %q AND %s", p.Project, jql)
	}
	q := url.Values{"jql": {jql}, "fields": {"status,priority,labels"}, "maxResults": {"5"}}
	var page struct {
		Issues []jiraIssue `json:"issues"`
	}
	search := "/search/jql?"
	if j.DataCenter {
		search = "/search?"
	}
	if err := j.do(ctx, http.MethodGet, j.api()+search+q.Encode(), nil, &page); err != nil {
		return nil, fmt.Errorf("find cluster %d: %w", clusterID, err)
	}
	if len(page.Issues) == 0 {
		return nil, nil
	}
	r := j.remote(page.Issues[0])
	return &r, nil
}

// adf renders plain text as an ADF document: one paragraph per blank-line block,
// hard breaks inside, so line structure survives.
func adf(text string) map[string]any {
	var blocks []any
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		para = strings.Trim(para, "\n")
		if para == "" {
			continue
		}
		var inline []any
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				inline = append(inline, map[string]any{"type": "hardBreak"})
			}
			if line != "" {
				inline = append(inline, map[string]any{"type": "text", "text": line})
			}
		}
		blocks = append(blocks, map[string]any{"type": "paragraph", "content": inline})
	}
	if blocks == nil {
		blocks = []any{}
	}
	return map[string]any{"type": "doc", "version": 1, "content": blocks}
}

// Create posts a new issue with the marker label and hub label.
func (j *JiraTracker) Create(ctx context.Context, p Place, is Issue) (Remote, error) {
	labels := []string{HubLabel, MarkerLabel(is.ClusterID)}
	for _, l := range is.Labels {
		if l = jiraLabel(l); l != "" && !contains(labels, l) {
			labels = append(labels, l)
		}
	}
	typ := p.IssueType
	if typ == "" {
		typ = "Task"
	}
	fields := map[string]any{
		"project":     map[string]string{"key": p.Project},
		"summary":     truncate(is.Summary, 250),
		"issuetype":   map[string]string{"name": typ},
		"description": j.rich(is.Description),
		"labels":      labels,
	}
	if is.Priority != "" {
		fields["priority"] = map[string]string{"name": is.Priority}
	}
	if len(is.Components) > 0 {
		var cs []map[string]string
		for _, c := range is.Components {
			cs = append(cs, map[string]string{"name": c})
		}
		fields["components"] = cs
	}
	var out jiraIssue
	if err := j.do(ctx, http.MethodPost, j.api()+"/issue", map[string]any{"fields": fields}, &out); err != nil {
		return Remote{}, fmt.Errorf("create ticket for cluster %d: %w", is.ClusterID, err)
	}
	if out.Key == "" {
		return Remote{}, fmt.Errorf("create ticket for cluster %d: jira answered without an issue key", is.ClusterID)
	}
	return j.remote(out), nil
}

// LinkBack adds (or, same globalId, updates) the remote link to the hub.
func (j *JiraTracker) LinkBack(ctx context.Context, key string, is Issue) error {
	u := is.HubURL
	if u == "" {
		u = "urn:" + Marker(is.ClusterID)
	}
	body := map[string]any{
		"globalId":     Marker(is.ClusterID),
		"application":  map[string]string{"type": "feedbackhub", "name": "feedbackhub"},
		"relationship": "feedback cluster",
		"object":       map[string]any{"url": u, "title": truncate(fmt.Sprintf("feedbackhub cluster %d: %s", is.ClusterID, is.Summary), 250)},
	}
	if err := j.do(ctx, http.MethodPost, j.api()+"/issue/"+url.PathEscape(key)+"/remotelink", body, nil); err != nil {
		return fmt.Errorf("link %s back to cluster %d: %w", key, is.ClusterID, err)
	}
	return nil
}

// Comment posts a comment; the marker goes on a last line of its own.
func (j *JiraTracker) Comment(ctx context.Context, key, text, marker string) error {
	if marker != "" {
		text += "\n\n[" + marker + "]"
	}
	if err := j.do(ctx, http.MethodPost, j.api()+"/issue/"+url.PathEscape(key)+"/comment", map[string]any{"body": j.rich(text)}, nil); err != nil {
		return fmt.Errorf("comment on %s: %w", key, err)
	}
	return nil
}

// HasComment scans the issue's comments for marker.
func (j *JiraTracker) HasComment(ctx context.Context, key, marker string) (bool, error) {
	for start := 0; ; {
		var page struct {
			Comments []struct {
				Body json.RawMessage `json:"body"`
			} `json:"comments"`
			Total      int `json:"total"`
			MaxResults int `json:"maxResults"`
		}
		path := fmt.Sprintf("%s/issue/%s/comment?startAt=%d&maxResults=100", j.api(), url.PathEscape(key), start)
		if err := j.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return false, fmt.Errorf("comments of %s: %w", key, err)
		}
		for _, c := range page.Comments {
			if bytes.Contains(c.Body, []byte(marker)) {
				return true, nil
			}
		}
		start += len(page.Comments)
		if len(page.Comments) == 0 || start >= page.Total {
			return false, nil
		}
	}
}

// SetPriority edits the priority field.
func (j *JiraTracker) SetPriority(ctx context.Context, key, _, priority string) error {
	body := map[string]any{"fields": map[string]any{"priority": map[string]string{"name": priority}}}
	if err := j.do(ctx, http.MethodPut, j.api()+"/issue/"+url.PathEscape(key), body, nil); err != nil {
		return fmt.Errorf("set priority of %s: %w", key, err)
	}
	return nil
}

// Get reads status and priority.
func (j *JiraTracker) Get(ctx context.Context, key string) (Remote, error) {
	var is jiraIssue
	if err := j.do(ctx, http.MethodGet, j.api()+"/issue/"+url.PathEscape(key)+"?fields=status,priority", nil, &is); err != nil {
		return Remote{}, fmt.Errorf("read %s: %w", key, err)
	}
	return j.remote(is), nil
}

// Reopen takes the workflow transition out of the done category that the issue's
// workflow offers from its status: one to a "new" (To Do) status first, else one to
// an "indeterminate" (in progress) status. Transition ids differ per workflow, so
// they are read from the issue each time.
func (j *JiraTracker) Reopen(ctx context.Context, key string, before func(to string) error) (string, error) {
	var page struct {
		Transitions []struct {
			ID string `json:"id"`
			To struct {
				Name           string `json:"name"`
				StatusCategory struct {
					Key string `json:"key"`
				} `json:"statusCategory"`
			} `json:"to"`
		} `json:"transitions"`
	}
	path := j.api() + "/issue/" + url.PathEscape(key) + "/transitions"
	if err := j.do(ctx, http.MethodGet, path, nil, &page); err != nil {
		return "", fmt.Errorf("transitions of %s: %w", key, err)
	}
	pick := -1
	for _, want := range []string{"new", "indeterminate"} {
		for i, t := range page.Transitions {
			if t.To.StatusCategory.Key == want {
				pick = i
				break
			}
		}
		if pick >= 0 {
			break
		}
	}
	if pick < 0 {
		var names []string
		for _, t := range page.Transitions {
			names = append(names, t.To.Name)
		}
		return "", permanent("reopen %s: its workflow offers no transition out of done (to: %s)", key, strings.Join(names, ", "))
	}
	t := page.Transitions[pick]
	if before != nil {
		if err := before(t.To.Name); err != nil {
			return "", err
		}
	}
	if err := j.do(ctx, http.MethodPost, path, map[string]any{"transition": map[string]string{"id": t.ID}}, nil); err != nil {
		return "", fmt.Errorf("reopen %s: %w", key, err)
	}
	return t.To.Name, nil
}

func truncate(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
