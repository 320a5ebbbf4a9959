// Package jira brings Jira issues and comments into feedbackhub. It polls an
// incremental JQL search (Jira Cloud's /rest/api/{2,3}/search/jql with nextPageToken;
// Data Center's /rest/api/2/search), keeps a time-zone-safe cursor in epoch
// milliseconds, turns descriptions and comments (Atlassian Document Format in API v3,
// wiki markup in v2) into plain text, and receives signed Jira webhooks.
//
// Issues are keyed by their issue key (FB-123). Jira changes the key when an issue
// moves to another project; this package does not follow moves: the new key arrives
// as a new item, and the old one stays as it was last seen. Every record carries the
// stable numeric id in Meta["issue_id"] so that normalization can link the two.
//
// Requests are built with github.com/andygrunwald/go-jira (v1.17.0) and sent through
// the shared connectors.Client, which handles retries, Retry-After and rate limits.
// go-jira's SearchV2JQL is not used: it always calls API v2, decodes descriptions as
// strings (ADF objects fail) and drops the raw JSON this package keeps.
package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// Kind is the source kind this package serves.
const Kind = config.KindJira

// Errors a poll can wrap; test with errors.Is.
var (
	// ErrAuth means Jira refused the credentials (401) or the account lacks
	// permission (403). It is not retried.
	ErrAuth = errors.New("authentication failed")
	// ErrConfig means the configuration points at something that cannot work (a
	// removed endpoint, a wrong base_url, a rejected JQL). It is not retried.
	ErrConfig = errors.New("configuration error")
)

// searchFields are asked for explicitly: /search/jql returns issue ids only by default.
var searchFields = []string{
	"summary", "description", "reporter", "labels", "status", "priority", "components",
	"created", "updated", "comment", "issuetype", "project",
}

// Connector polls one Jira source and receives its webhooks. It implements
// connectors.Connector and connectors.WebhookReceiver.
type Connector struct {
	set   settings
	clock clock.Clock
	log   *slog.Logger
	// api builds requests; they go out through pollHTTP, whose counters become the
	// poll's Stats.
	api      *gojira.Client
	pollHTTP *connectors.Client
	// hookAPI serves the webhook handler's rare look-ups, counted apart from polls.
	hookAPI  *gojira.Client
	hookHTTP *connectors.Client
}

var (
	_ connectors.Connector       = (*Connector)(nil)
	_ connectors.WebhookReceiver = (*Connector)(nil)
)

// New builds the connector for a source of kind jira. It is a connectors.Factory.
func New(src config.Source, env connectors.Env) (connectors.Connector, error) {
	return NewConnector(src, env)
}

// NewConnector is New returning the concrete type.
func NewConnector(src config.Source, env connectors.Env) (*Connector, error) {
	if env.Clock == nil {
		env.Clock = clock.Real{}
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.Redactor == nil {
		env.Redactor = connectors.NewRedactor()
	}
	set, err := loadSettings(src, env.Config, env.Redactor)
	if err != nil {
		return nil, err
	}
	c := &Connector{set: set, clock: env.Clock, log: env.Logger}
	c.pollHTTP = connectors.NewClient(env.HTTPClient, env.Clock, env.Redactor, connectors.Policy{})
	c.hookHTTP = connectors.NewClient(env.HTTPClient, env.Clock, env.Redactor, connectors.Policy{MaxAttempts: 2, MaxWait: 10 * time.Second})
	if c.api, err = gojira.NewClient(&authDoer{c: c.pollHTTP, set: &c.set}, set.baseURL); err != nil {
		return nil, fmt.Errorf("jira: base_url: %w", err)
	}
	if c.hookAPI, err = gojira.NewClient(&authDoer{c: c.hookHTTP, set: &c.set}, set.baseURL); err != nil {
		return nil, fmt.Errorf("jira: base_url: %w", err)
	}
	if set.webhookSecret == nil {
		c.log.Warn("jira webhooks are accepted unsigned: no webhook_secret_env or webhook_secret_file configured", "source", set.name)
	}
	return c, nil
}

// authDoer is the HTTP client go-jira sends through: it adds credentials and hands
// the request to the shared retrying client.
type authDoer struct {
	c   *connectors.Client
	set *settings
}

func (d *authDoer) Do(req *http.Request) (*http.Response, error) {
	d.set.authorize(req)
	req.Header.Set("Accept", "application/json")
	return d.c.Do(req)
}

// Name is the configured source name.
func (c *Connector) Name() string { return c.set.name }

// Kind returns "jira".
func (c *Connector) Kind() string { return Kind }

// Close releases nothing; HTTP connections belong to the shared client.
func (c *Connector) Close() error { return nil }

// cursorVersion is the format version of the stored cursor.
const cursorVersion = 1

// cursorState is the connector's cursor, stored as JSON in feedback.Cursor.Value:
//
//	{"v":1,"since_ms":1732877091000,"seen":{"FB-7":1732877091000}}
//
// since_ms is the newest "updated" seen (epoch milliseconds, so no time zone is
// involved); the next search asks for updated >= since_ms - overlap. seen holds the
// (key, updated) pairs inside that overlap window, which are skipped when they come
// back. An empty cursor means a full sync of the base JQL.
type cursorState struct {
	V       int              `json:"v"`
	SinceMS int64            `json:"since_ms"`
	Seen    map[string]int64 `json:"seen,omitempty"`
}

func parseCursor(v string) (cursorState, error) {
	st := cursorState{V: cursorVersion}
	if strings.TrimSpace(v) == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(v), &st); err != nil {
		return st, fmt.Errorf("jira: cursor %q is not this connector's JSON: %w", v, err)
	}
	if st.V != cursorVersion {
		return st, fmt.Errorf("jira: cursor version %d, want %d", st.V, cursorVersion)
	}
	return st, nil
}

func (st cursorState) encode() string {
	b, _ := json.Marshal(st)
	return string(b)
}

// Poll searches for issues updated since the cursor (minus the overlap window) and
// returns one record per changed issue plus one per comment updated in the window.
func (c *Connector) Poll(ctx context.Context, cur feedback.Cursor) (connectors.Result, error) {
	st, err := parseCursor(cur.Value)
	if err != nil {
		return connectors.Result{}, err
	}
	c.pollHTTP.TakeStats() // drop counts left by an earlier failed poll
	lower := int64(-1)
	if st.SinceMS > 0 {
		lower = st.SinceMS - c.set.overlap.Milliseconds()
	}
	jql := c.set.searchJQL(lower)

	var (
		recs            []feedback.Record
		issues, skipped int
		maxMS           = st.SinceMS
		seen            = map[string]int64{}
	)
	for k, v := range st.Seen {
		seen[k] = v
	}
	now := c.clock.Now().UTC()
	err = c.search(ctx, jql, func(page []json.RawMessage) (bool, error) {
		for _, raw := range page {
			iss, err := decodeIssue(raw)
			if err != nil {
				return false, err
			}
			upd, err := parseTime(iss.Fields.Updated)
			if err != nil {
				c.log.Warn("jira issue without a usable updated time; skipped", "source", c.set.name, "item", iss.Key, "err", err)
				continue
			}
			ms := upd.UnixMilli()
			if ms > maxMS {
				maxMS = ms
			}
			prev, known := seen[iss.Key]
			if known && ms <= prev {
				// Already returned, or a stale copy from a lagging search index.
				skipped++
				continue
			}
			seen[iss.Key] = ms
			// Comments updated before this poll's window, or no later than the
			// revision of this issue already returned, were returned with it.
			threshold := lower
			if known && prev+1 > threshold {
				threshold = prev + 1
			}
			issues++
			recs = append(recs, c.issueRecord(iss, raw, now))
			comments, err := c.comments(ctx, iss)
			if err != nil {
				return false, err
			}
			for _, cm := range comments {
				if threshold >= 0 && !cm.updated.IsZero() && cm.updated.UnixMilli() < threshold {
					continue
				}
				recs = append(recs, c.commentRecord(cm, iss.Key, iss.ID, now))
			}
		}
		return len(recs) >= c.set.maxRecords, nil
	})
	stats := c.pollHTTP.TakeStats()
	if err != nil {
		return connectors.Result{Stats: stats}, err
	}
	next := cursorState{V: cursorVersion, SinceMS: maxMS, Seen: map[string]int64{}}
	floor := maxMS - c.set.overlap.Milliseconds()
	for k, v := range seen {
		if v >= floor {
			next.Seen[k] = v
		}
	}
	stats.Fetched = len(recs)
	c.log.Debug("jira poll", "source", c.set.name, "issues", issues, "skipped", skipped,
		"records", len(recs), "requests", stats.Requests, "waited", stats.Waited)
	return connectors.Result{
		Records: recs,
		Next:    feedback.Cursor{Source: c.set.name, Value: next.encode(), UpdatedAt: now},
		Stats:   stats,
	}, nil
}

var orderByRE = regexp.MustCompile(`(?is)(^|\s)order\s+by\s.*$`)

// stripOrderBy removes a trailing ORDER BY from the configured JQL: the connector
// orders by updated itself.
func stripOrderBy(jql string) string {
	return strings.TrimSpace(orderByRE.ReplaceAllString(strings.TrimSpace(jql), ""))
}

// searchJQL is the base filter plus the cursor clause, ordered oldest change first
// so that a poll cut short still leaves a correct cursor.
func (s *settings) searchJQL(lowerMS int64) string {
	var parts []string
	if s.jql != "" {
		parts = append(parts, "("+s.jql+")")
	}
	if lowerMS >= 0 {
		parts = append(parts, fmt.Sprintf("updated >= %d", lowerMS))
	}
	return strings.TrimSpace(strings.Join(parts, " AND ") + " ORDER BY updated ASC, key ASC")
}

func (s *settings) fields() string {
	return strings.Join(append(append([]string(nil), searchFields...), s.orgFields...), ",")
}

// cloudPage is a /search/jql answer.
type cloudPage struct {
	Issues        []json.RawMessage `json:"issues"`
	NextPageToken string            `json:"nextPageToken"`
	IsLast        bool              `json:"isLast"`
}

// dcPage is a Data Center /search answer.
type dcPage struct {
	Issues     []json.RawMessage `json:"issues"`
	StartAt    int               `json:"startAt"`
	MaxResults int               `json:"maxResults"`
	Total      int               `json:"total"`
}

// search runs jql page by page, handing each page to f until f says stop or the
// pages run out.
func (c *Connector) search(ctx context.Context, jql string, f func([]json.RawMessage) (stop bool, err error)) error {
	q := url.Values{}
	q.Set("jql", jql)
	q.Set("maxResults", strconv.Itoa(c.set.pageSize))
	q.Set("fields", c.set.fields())
	if c.set.deployment == dataCenter {
		startAt := 0
		for pageNo := 1; ; pageNo++ {
			q.Set("startAt", strconv.Itoa(startAt))
			var p dcPage
			if err := c.get(ctx, c.api, c.set.apiPath("search")+"?"+q.Encode(), &p); err != nil {
				return c.explain(fmt.Sprintf("search page %d", pageNo), err)
			}
			stop, err := f(p.Issues)
			if err != nil || stop {
				return err
			}
			startAt += len(p.Issues)
			if len(p.Issues) == 0 || startAt >= p.Total {
				return nil
			}
		}
	}
	token := ""
	for pageNo := 1; ; pageNo++ {
		if token != "" {
			q.Set("nextPageToken", token)
		}
		var p cloudPage
		if err := c.get(ctx, c.api, c.set.apiPath("search/jql")+"?"+q.Encode(), &p); err != nil {
			return c.explain(fmt.Sprintf("search page %d", pageNo), err)
		}
		stop, err := f(p.Issues)
		if err != nil || stop {
			return err
		}
		if p.NextPageToken == "" || p.IsLast {
			return nil
		}
		if p.NextPageToken == token {
			return fmt.Errorf("jira: search page %d: Jira returned the same nextPageToken again; stopping", pageNo)
		}
		token = p.NextPageToken
	}
}

// get sends a GET built by go-jira and decodes the JSON answer into v.
func (c *Connector) get(ctx context.Context, api *gojira.Client, path string, v any) error {
	req, err := api.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	resp, err := api.Do(req, v)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		var ce *connectors.Error
		if errors.As(err, &ce) {
			return err
		}
		return fmt.Errorf("decode %s: %w", req.URL.Path, err)
	}
	return nil
}

// explain turns an HTTP failure into an error that says what to change.
func (c *Connector) explain(op string, err error) error {
	base := c.set.baseURL
	switch connectors.StatusOf(err) {
	case http.StatusUnauthorized:
		return fmt.Errorf("jira: %s: %w: %s rejected the credentials; check jira.email_env + jira.token_env (a Jira Cloud API token with the account's email) or jira.pat_env (a Data Center personal access token): %w", op, ErrAuth, base, err)
	case http.StatusForbidden:
		return fmt.Errorf("jira: %s: %w: the account may not search %s; give it Browse Projects on the projects in jira.jql (or a token with read:jira-work): %w", op, ErrAuth, base, err)
	case http.StatusGone:
		return fmt.Errorf("jira: %s: %w: %s answered 410 Gone: this Jira removed the search API that was called (Jira Cloud removed /rest/api/%d/search in 2025, CHANGE-2046); feedbackhub polls /rest/api/%d/search/jql on Jira Cloud — check that jira.base_url is the site root (https://<site>.atlassian.net) and, for Jira Data Center, set jira.pat_env so the Data Center search is used: %w", op, ErrConfig, base, c.set.apiVersion, c.set.apiVersion, err)
	case http.StatusNotFound:
		hint := "check that jira.base_url is the site root (https://<site>.atlassian.net, no /rest or /browse suffix)"
		if c.set.deployment == cloud {
			hint += "; Jira Data Center has no /search/jql: for Data Center authenticate with jira.pat_env, which switches to /rest/api/2/search"
		}
		return fmt.Errorf("jira: %s: %w: %s has no %s: %s: %w", op, ErrConfig, base, "/"+c.set.apiPath("search/jql"), hint, err)
	case http.StatusBadRequest:
		return fmt.Errorf("jira: %s: %w: Jira rejected the query; check jira.jql (%q): %w", op, ErrConfig, c.set.jql, err)
	}
	return fmt.Errorf("jira: %s: %w", op, err)
}

// issueJSON is the part of an issue the connector reads; Raw keeps the rest.
type issueJSON struct {
	ID     string      `json:"id"`
	Key    string      `json:"key"`
	Self   string      `json:"self"`
	Fields issueFields `json:"fields"`
	// all is every field as sent, for the configured organization fields.
	all map[string]json.RawMessage
}

type named struct {
	ID    string `json:"id"`
	Key   string `json:"key"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

type issueFields struct {
	Summary     string          `json:"summary"`
	Description json.RawMessage `json:"description"`
	Reporter    *gojira.User    `json:"reporter"`
	Labels      []string        `json:"labels"`
	Status      *named          `json:"status"`
	Priority    *named          `json:"priority"`
	Components  []named         `json:"components"`
	IssueType   *named          `json:"issuetype"`
	Project     *named          `json:"project"`
	Created     string          `json:"created"`
	Updated     string          `json:"updated"`
	Comment     *commentList    `json:"comment"`
}

// commentList is the comment field of an issue and the answer of
// GET /issue/{key}/comment.
type commentList struct {
	Comments   []json.RawMessage `json:"comments"`
	StartAt    int               `json:"startAt"`
	MaxResults int               `json:"maxResults"`
	Total      int               `json:"total"`
}

type commentJSON struct {
	ID      string          `json:"id"`
	Self    string          `json:"self"`
	Author  *gojira.User    `json:"author"`
	Body    json.RawMessage `json:"body"`
	Created string          `json:"created"`
	Updated string          `json:"updated"`
	// parsed
	raw     json.RawMessage
	created time.Time
	updated time.Time
}

func decodeIssue(raw json.RawMessage) (issueJSON, error) {
	var iss issueJSON
	if err := json.Unmarshal(raw, &iss); err != nil {
		return iss, fmt.Errorf("jira: decode issue: %w", err)
	}
	var all struct {
		Fields map[string]json.RawMessage `json:"fields"`
	}
	_ = json.Unmarshal(raw, &all)
	iss.all = all.Fields
	if iss.Key == "" {
		return iss, errors.New("jira: decode issue: no key")
	}
	return iss, nil
}

func decodeComment(raw json.RawMessage) (commentJSON, error) {
	var cm commentJSON
	if err := json.Unmarshal(raw, &cm); err != nil {
		return cm, fmt.Errorf("jira: decode comment: %w", err)
	}
	if cm.ID == "" {
		return cm, errors.New("jira: decode comment: no id")
	}
	cm.raw = raw
	cm.created, _ = parseTime(cm.Created)
	cm.updated, _ = parseTime(cm.Updated)
	if cm.updated.IsZero() {
		cm.updated = cm.created
	}
	return cm, nil
}

// comments returns every comment of iss: those embedded in the search answer and,
// when Jira cut the list short, the rest from GET /issue/{key}/comment.
func (c *Connector) comments(ctx context.Context, iss issueJSON) ([]commentJSON, error) {
	list := iss.Fields.Comment
	if list == nil {
		return nil, nil
	}
	raws := append([]json.RawMessage(nil), list.Comments...)
	have := list.StartAt + len(list.Comments)
	for have < list.Total {
		var more commentList
		path := c.set.apiPath("issue/"+url.PathEscape(iss.Key)+"/comment") +
			fmt.Sprintf("?startAt=%d&maxResults=%d&orderBy=created", have, c.set.pageSize)
		if err := c.get(ctx, c.api, path, &more); err != nil {
			return nil, c.explain("comments of "+iss.Key, err)
		}
		if len(more.Comments) == 0 {
			break
		}
		raws = append(raws, more.Comments...)
		have = more.StartAt + len(more.Comments)
		list.Total = more.Total
	}
	out := make([]commentJSON, 0, len(raws))
	for _, r := range raws {
		cm, err := decodeComment(r)
		if err != nil {
			return nil, fmt.Errorf("%w (issue %s)", err, iss.Key)
		}
		out = append(out, cm)
	}
	return out, nil
}

// jiraTimeLayouts are the forms Jira writes timestamps in: REST and webhooks use
// 2006-01-02T15:04:05.000-0700 in the account's (or server's) time zone.
var jiraTimeLayouts = []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	for _, l := range jiraTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unknown time format %q", s)
}

// revision is a time in UTC with milliseconds: the same instant always gives the same
// revision, whatever zone Jira formatted it in.
func revision(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// userID is the account id on Cloud, the user name (or key) on Server/Data Center.
// Some payloads (older webhooks) name the user only in the self URL
// (…/user?username=ii_ivanov); the display name is the last resort.
func userID(u *gojira.User) string {
	switch {
	case u == nil:
		return ""
	case u.AccountID != "":
		return u.AccountID
	case u.Name != "":
		return u.Name
	case u.Key != "":
		return u.Key
	}
	if su, err := url.Parse(u.Self); err == nil {
		for _, p := range []string{"accountId", "username", "key"} {
			if v := su.Query().Get(p); v != "" {
				return v
			}
		}
	}
	return u.DisplayName
}

// issueRecord maps an issue to a record. raw is the issue JSON as received.
func (c *Connector) issueRecord(iss issueJSON, raw json.RawMessage, now time.Time) feedback.Record {
	f := iss.Fields
	created, _ := parseTime(f.Created)
	updated, _ := parseTime(f.Updated)
	r := feedback.Record{
		Source:     c.set.name,
		ExternalID: iss.Key,
		Revision:   revision(updated),
		Kind:       feedback.KindIssue,
		Author:     userID(f.Reporter),
		Title:      f.Summary,
		Body:       fieldText(f.Description),
		URL:        c.set.browseURL(iss.Key),
		Labels:     append([]string(nil), f.Labels...),
		Meta:       map[string]string{},
		CreatedAt:  created.UTC(),
		UpdatedAt:  updated.UTC(),
		Raw:        raw,
		ReceivedAt: now,
	}
	if f.Reporter != nil {
		r.AuthorEmail = f.Reporter.EmailAddress
		setMeta(r.Meta, "reporter_display_name", f.Reporter.DisplayName)
	}
	if f.Status != nil {
		r.State = f.Status.Name
	}
	if f.Priority != nil {
		setMeta(r.Meta, "priority", f.Priority.Name)
	}
	var comps []string
	for _, cp := range f.Components {
		if cp.Name != "" {
			comps = append(comps, cp.Name)
		}
	}
	setMeta(r.Meta, "components", strings.Join(comps, ","))
	if f.Project != nil {
		setMeta(r.Meta, "project", f.Project.Key)
	}
	if f.IssueType != nil {
		setMeta(r.Meta, "issuetype", f.IssueType.Name)
	}
	setMeta(r.Meta, "issue_id", iss.ID)
	var orgs []string
	for _, id := range c.set.orgFields {
		orgs = append(orgs, fieldNames(iss.all[id])...)
	}
	setMeta(r.Meta, "organizations", strings.Join(orgs, ","))
	return r
}

// commentRecord maps a comment on issue key (numeric id issueID) to a record.
func (c *Connector) commentRecord(cm commentJSON, key, issueID string, now time.Time) feedback.Record {
	r := feedback.Record{
		Source:           c.set.name,
		ExternalID:       commentExternalID(cm.ID),
		Revision:         revision(cm.updated),
		Kind:             feedback.KindComment,
		ParentExternalID: key,
		Author:           userID(cm.Author),
		Body:             fieldText(cm.Body),
		Meta:             map[string]string{},
		CreatedAt:        cm.created.UTC(),
		UpdatedAt:        cm.updated.UTC(),
		Raw:              cm.raw,
		ReceivedAt:       now,
	}
	if key != "" {
		r.URL = c.set.browseURL(key) + "?focusedCommentId=" + url.QueryEscape(cm.ID)
	}
	if cm.Author != nil {
		r.AuthorEmail = cm.Author.EmailAddress
		setMeta(r.Meta, "author_display_name", cm.Author.DisplayName)
	}
	setMeta(r.Meta, "issue_id", issueID)
	setMeta(r.Meta, "comment_id", cm.ID)
	return r
}

// commentExternalID names a comment independently of its issue's key (comment ids
// are unique in a Jira site, and a comment event may not carry the key).
func commentExternalID(id string) string { return "comment:" + id }

func setMeta(m map[string]string, k, v string) {
	if v = strings.TrimSpace(v); v != "" {
		m[k] = v
	}
}

// fieldNames reads the names out of a custom field value: a list of objects (JSM
// Organizations: [{"id":"1","name":"Acme"}]), one object ({"value":"Acme"}) or a string.
func fieldNames(raw json.RawMessage) []string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	pick := func(n named) string {
		if n.Name != "" {
			return n.Name
		}
		return n.Value
	}
	var list []named
	if json.Unmarshal(raw, &list) == nil {
		var out []string
		for _, n := range list {
			if v := pick(n); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	var one named
	if json.Unmarshal(raw, &one) == nil {
		if v := pick(one); v != "" {
			return []string{v}
		}
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && strings.TrimSpace(s) != "" {
		return []string{strings.TrimSpace(s)}
	}
	var strs []string
	if json.Unmarshal(raw, &strs) == nil {
		sort.Strings(strs)
		return strs
	}
	return nil
}

// fieldText renders a rich-text field: a JSON string is wiki markup (API v2 and
// webhooks), an object is Atlassian Document Format (API v3).
func fieldText(raw json.RawMessage) string {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return WikiToText(s)
	case '{':
		txt, err := ADFToText(raw)
		if err != nil {
			return ""
		}
		return txt
	}
	return ""
}
