package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/connectors/jira"
	"github.com/feedbackhub/feedbackhub/feedback"
)

type jiraUser struct {
	AccountID    string `json:"accountId"`
	Name         string `json:"name"`
	Key          string `json:"key"`
	DisplayName  string `json:"displayName"`
	EmailAddress string `json:"emailAddress"`
}

func (u *jiraUser) id() string {
	switch {
	case u == nil:
		return ""
	case u.AccountID != "":
		return u.AccountID
	case u.Name != "":
		return u.Name
	}
	return u.Key
}

type jiraComment struct {
	ID      string          `json:"id"`
	Author  *jiraUser       `json:"author"`
	Body    json.RawMessage `json:"body"`
	Created string          `json:"created"`
	Updated string          `json:"updated"`
}

type jiraIssue struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Self   string `json:"self"`
	Fields struct {
		Summary     string          `json:"summary"`
		Description json.RawMessage `json:"description"`
		Reporter    *jiraUser       `json:"reporter"`
		Created     string          `json:"created"`
		Updated     string          `json:"updated"`
		Labels      []string        `json:"labels"`
		Status      *struct {
			Name string `json:"name"`
		} `json:"status"`
		Priority *struct {
			Name string `json:"name"`
		} `json:"priority"`
		Project *struct {
			Key string `json:"key"`
		} `json:"project"`
		IssueType *struct {
			Name string `json:"name"`
		} `json:"issuetype"`
		Comment *struct {
			Comments []jiraComment `json:"comments"`
		} `json:"comment"`
	} `json:"fields"`
}

// jiraTimeLayouts are the forms Jira writes times in.
var jiraTimeLayouts = []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano}

func parseJiraTime(s string) (time.Time, bool) {
	for _, l := range jiraTimeLayouts {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// jiraRevision matches the jira connector: UTC with milliseconds.
func jiraRevision(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// readJira imports /search/jql results ({"issues": [...]}, pages concatenated as an
// array of such objects are not supported) or a bare array of issues, with their
// embedded comments. External ids and revisions are the ones the jira connector uses.
func (r *run) readJira(ctx context.Context, path string, rd io.Reader) error {
	data, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	lc := &lineCounter{data: data}
	each := func(raw json.RawMessage, line int) error {
		if err := ctx.Err(); err != nil {
			return fatalEntry{err}
		}
		return r.jiraIssue(ctx, path, line, raw)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var line int
	switch first := elementStart(data, 0); {
	case first < len(data) && data[first] == '{':
		line, err = jiraSearch(dec, data, lc, each)
	default:
		line, err = eachElement(dec, data, lc, each)
	}
	var fe fatalEntry
	if errors.As(err, &fe) {
		return fe.err
	}
	if err != nil {
		r.reject(path, line, "", "%v; rest of the file skipped", err)
	}
	return nil
}

// jiraSearch walks a search result object to its "issues" array.
func jiraSearch(dec *json.Decoder, data []byte, lc *lineCounter, fn func(json.RawMessage, int) error) (int, error) {
	if _, err := dec.Token(); err != nil { // '{'
		return 1, fmt.Errorf("invalid JSON: %v", err)
	}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return lc.at(int(dec.InputOffset())), fmt.Errorf("invalid JSON: %v", err)
		}
		if key, _ := tok.(string); key == "issues" {
			found = true
			if line, err := eachElement(dec, data, lc, fn); err != nil {
				return line, err
			}
			continue
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return lc.at(int(dec.InputOffset())), fmt.Errorf("invalid JSON: %v", err)
		}
	}
	if !found {
		return 1, errors.New(`want {"issues": [...]} (a /search/jql result) or an array of issues`)
	}
	return 0, nil
}

func (r *run) jiraIssue(ctx context.Context, path string, line int, raw json.RawMessage) error {
	var iss jiraIssue
	if err := json.Unmarshal(raw, &iss); err != nil {
		r.reject(path, line, "", "not a Jira issue: %v", err)
		return nil
	}
	f := iss.Fields
	var problems []string
	if iss.Key == "" {
		problems = append(problems, "key: missing")
	}
	updated, ok := parseJiraTime(f.Updated)
	if !ok {
		problems = append(problems, fmt.Sprintf("fields.updated: %q is not a Jira time (is \"updated\" in the requested fields?)", f.Updated))
	}
	if len(problems) > 0 {
		r.reject(path, line, "", "%s", strings.Join(problems, "; "))
		return nil
	}
	created, ok := parseJiraTime(f.Created)
	if !ok {
		created = updated
	}
	base := jiraBase(iss.Self)
	rec := feedback.Record{
		Source:     r.imp.source,
		ExternalID: iss.Key,
		Revision:   jiraRevision(updated),
		Kind:       feedback.KindIssue,
		Author:     f.Reporter.id(),
		Title:      f.Summary,
		Body:       jiraText(f.Description),
		Labels:     append([]string(nil), f.Labels...),
		Meta:       map[string]string{"issue_id": iss.ID, "import_file": path, "import_line": strconv.Itoa(line)},
		CreatedAt:  created,
		UpdatedAt:  updated,
		Raw:        append(json.RawMessage(nil), raw...),
	}
	if base != "" {
		rec.URL = base + "/browse/" + iss.Key
	}
	if f.Reporter != nil {
		rec.AuthorEmail = f.Reporter.EmailAddress
		setMeta(rec.Meta, "reporter_display_name", f.Reporter.DisplayName)
	}
	if f.Status != nil {
		rec.State = f.Status.Name
	}
	if f.Priority != nil {
		setMeta(rec.Meta, "priority", f.Priority.Name)
	}
	if f.Project != nil {
		setMeta(rec.Meta, "project", f.Project.Key)
	}
	if f.IssueType != nil {
		setMeta(rec.Meta, "issuetype", f.IssueType.Name)
	}
	if err := r.emit(ctx, rec); err != nil {
		return fatalEntry{err}
	}
	if f.Comment == nil {
		return nil
	}
	for _, cm := range f.Comment.Comments {
		cu, ok := parseJiraTime(cm.Updated)
		if cm.ID == "" || !ok {
			r.reject(path, line, "", "issue %s: comment %q without id or updated time", iss.Key, cm.ID)
			continue
		}
		cc, ok := parseJiraTime(cm.Created)
		if !ok {
			cc = cu
		}
		c := feedback.Record{
			Source:           r.imp.source,
			ExternalID:       "comment:" + cm.ID,
			Revision:         jiraRevision(cu),
			Kind:             feedback.KindComment,
			ParentExternalID: iss.Key,
			Author:           cm.Author.id(),
			Body:             jiraText(cm.Body),
			Meta:             map[string]string{"issue_id": iss.ID, "comment_id": cm.ID, "import_file": path, "import_line": strconv.Itoa(line)},
			CreatedAt:        cc,
			UpdatedAt:        cu,
		}
		if base != "" {
			c.URL = base + "/browse/" + iss.Key + "?focusedCommentId=" + url.QueryEscape(cm.ID)
		}
		if cm.Author != nil {
			c.AuthorEmail = cm.Author.EmailAddress
		}
		if err := r.emit(ctx, c); err != nil {
			return fatalEntry{err}
		}
	}
	return nil
}

// jiraText renders a description or comment body: a string is v2 wiki markup, an
// object v3 ADF; both go through the jira connector's converters.
func jiraText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return jira.WikiToText(s)
	case '{':
		if txt, err := jira.ADFToText(raw); err == nil {
			return txt
		}
	}
	return ""
}

// jiraBase is the site URL of an issue's self link (".../rest/api/2/issue/1").
func jiraBase(self string) string {
	if i := strings.Index(self, "/rest/api/"); i > 0 {
		return self[:i]
	}
	return ""
}

func setMeta(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}
