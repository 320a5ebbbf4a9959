// Package github is the GitHub and GitHub Enterprise Server connector: it polls the
// issues and issue comments of configured repositories incrementally (updated-since
// listings, Link pagination, ETags so an unchanged repository costs one 304 per
// endpoint) and receives signed issues and issue_comment webhooks.
//
// Identity: an issue's ExternalID is "owner/repo#number" in lower case (the form
// normalize uses for GitHub references, and the only form a comment's issue_url
// names); its numeric id is kept in Meta["issue_id"]. A comment's ExternalID is
// "owner/repo#issuecomment-ID" and its ParentExternalID is its issue's ExternalID.
// Revision is updated_at (RFC 3339, UTC), so the store drops a repeat on its own;
// webhook tombstones and transfers get "deleted@…" and "transferred@…" revisions.
//
// Pull requests are skipped unless include_pull_requests is set: in listings by the
// issue's pull_request key, for polled comments by an html_url under /pull/ (GitHub
// links every comment on a pull request there), and for webhooks by
// issue.pull_request.
//
// Requests go through go-github's request builder (base and enterprise URLs,
// headers) and the shared retrying connectors.Client (rate limits, backoff, counts).
// Cost per poll and endpoint: one 304 when nothing changed; one request when
// everything updated since the cursor fits on one page; otherwise the pages plus one
// request that asks the first page again from the advanced since (it brings the
// ETag the next poll sends and whatever changed while paging).
//
// Polling cannot see deletions or transfers (the issue just leaves the listing);
// the webhook's deleted and transferred actions record them.
package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// Kind is the source kind this package serves.
const Kind = config.KindGitHub

// Connector polls and receives one configured GitHub source. Poll calls are
// serialized; the webhook handler may run concurrently with them.
type Connector struct {
	name  string
	set   settings
	gh    *gh.Client
	http  *connectors.Client
	auth  authorizer
	clock clock.Clock
	log   *slog.Logger

	mu sync.Mutex // one Poll at a time, so the client's counters belong to it
}

var (
	_ connectors.Connector       = (*Connector)(nil)
	_ connectors.WebhookReceiver = (*Connector)(nil)
)

// New builds the connector for src; it is a connectors.Factory. Secrets are read
// here and registered with env.Redactor so they never reach logs or errors.
func New(src config.Source, env connectors.Env) (connectors.Connector, error) {
	set, err := loadSettings(src, env.Config)
	if err != nil {
		return nil, err
	}
	if env.Clock == nil {
		env.Clock = clock.Real{}
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.Redactor == nil {
		env.Redactor = connectors.NewRedactor()
	}
	env.Redactor.Add(set.token, string(set.secret))

	client := gh.NewClient(nil)
	client.UserAgent = "feedbackhub"
	if set.baseURL != "" {
		if client, err = client.WithEnterpriseURLs(set.baseURL, set.baseURL); err != nil {
			return nil, fmt.Errorf("github: base_url: %w", err)
		}
	}
	c := &Connector{
		name:  src.Name,
		set:   set,
		gh:    client,
		http:  connectors.NewClient(env.HTTPClient, env.Clock, env.Redactor, connectors.Policy{}),
		clock: env.Clock,
		log:   env.Logger.With("source", src.Name),
	}
	c.http.OnWait = func(reason string, d time.Duration) {
		c.log.Info("github request waits", "wait", d, "reason", reason)
	}
	switch {
	case set.token != "":
		c.auth = tokenAuth{token: set.token}
	case set.appKey != nil:
		c.auth = &appAuth{appID: set.appID, installation: set.installation, key: set.appKey,
			gh: client, http: c.http, clock: env.Clock, red: env.Redactor}
	default:
		c.auth = noAuth{}
	}
	return c, nil
}

// Name is the configured source name.
func (c *Connector) Name() string { return c.name }

// Kind is "github".
func (c *Connector) Kind() string { return Kind }

// Close releases idle connections.
func (c *Connector) Close() error {
	c.http.HTTP.CloseIdleConnections()
	return nil
}

// Cursor is the JSON in feedback.Cursor.Value: per repository ("owner/name" as
// configured), one EndpointCursor for issues and one for comments.
type Cursor struct {
	Version int                    `json:"version"`
	Repos   map[string]*RepoCursor `json:"repos"`
}

// RepoCursor is one repository's position.
type RepoCursor struct {
	Issues   EndpointCursor `json:"issues"`
	Comments EndpointCursor `json:"comments"`
}

// EndpointCursor is the position in one updated-ascending listing.
type EndpointCursor struct {
	// Newest is the latest updated_at seen. Since is sent as since= (RFC 3339); it
	// stays put while everything updated after it fits on one page and otherwise
	// moves to Newest minus the overlap margin; empty means "from the beginning".
	Newest string `json:"newest,omitempty"`
	Since  string `json:"since,omitempty"`
	// ETag answered for ETagURL, the first page's URL; sent back as If-None-Match
	// while the first page's URL stays the same.
	ETag    string `json:"etag,omitempty"`
	ETagURL string `json:"etag_url,omitempty"`
	// Seen maps the ids seen at or after Since to their updated_at, to drop what the
	// overlap returns again.
	Seen map[string]string `json:"seen,omitempty"`
}

const cursorVersion = 1

func decodeCursor(v string) (*Cursor, error) {
	c := &Cursor{Version: cursorVersion, Repos: map[string]*RepoCursor{}}
	if strings.TrimSpace(v) == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(v), c); err != nil {
		return nil, fmt.Errorf("decode cursor: %w", err)
	}
	if c.Version != cursorVersion {
		return nil, fmt.Errorf("decode cursor: version %d, want %d", c.Version, cursorVersion)
	}
	if c.Repos == nil {
		c.Repos = map[string]*RepoCursor{}
	}
	return c, nil
}

// Poll fetches the issues and comments of every configured repository updated since
// cursor. It changes nothing itself: the caller stores Records and Next together.
func (c *Connector) Poll(ctx context.Context, cursor feedback.Cursor) (connectors.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.http.TakeStats() // counters from outside a poll (e.g. a token refresh) are not this poll's
	fail := func(err error) (connectors.Result, error) {
		return connectors.Result{Stats: c.http.TakeStats()}, fmt.Errorf("github: source %s: %w", c.name, err)
	}
	cur, err := decodeCursor(cursor.Value)
	if err != nil {
		return fail(err)
	}
	var recs []feedback.Record
	for _, repo := range c.set.repos {
		rc := cur.Repos[repo.String()]
		if rc == nil {
			rc = &RepoCursor{}
			cur.Repos[repo.String()] = rc
		}
		got, err := c.pollEndpoint(ctx, repo, "issues", &rc.Issues, c.issueFromListing)
		if err != nil {
			return fail(err)
		}
		recs = append(recs, got...)
		got, err = c.pollEndpoint(ctx, repo, "issues/comments", &rc.Comments, c.commentFromListing)
		if err != nil {
			return fail(err)
		}
		recs = append(recs, got...)
	}
	val, err := json.Marshal(cur)
	if err != nil {
		return fail(fmt.Errorf("encode cursor: %w", err))
	}
	stats := c.http.TakeStats()
	stats.Fetched = len(recs)
	return connectors.Result{
		Records: recs,
		Next:    feedback.Cursor{Source: c.name, Value: string(val), UpdatedAt: c.clock.Now().UTC()},
		Stats:   stats,
	}, nil
}

// converter turns one listed object into its id, updated_at and record; keep is
// false for objects that advance the cursor but are not recorded (pull requests).
type converter func(repo repoRef, raw json.RawMessage) (id string, updated time.Time, rec feedback.Record, keep bool, err error)

// pollEndpoint reads one listing (issues or comments) of repo from ec.Since,
// following Link pages, and moves ec.
//
// Since moves lazily. While everything updated since it fits on one page, it stays
// put: the page is one consistent answer, its ETag is for the very URL the next poll
// sends, and an unchanged repository costs one 304. When the answer spans several
// pages, since moves to the newest updated_at minus the overlap and the first page
// is asked again from there ("+1"): that answer carries the ETag for the next poll
// and anything that changed while the pages were read (pages can drift).
func (c *Connector) pollEndpoint(ctx context.Context, repo repoRef, endpoint string, ec *EndpointCursor, conv converter) ([]feedback.Record, error) {
	var recs []feedback.Record
	for round := 0; round < maxRounds; round++ {
		first, err := c.listURL(repo, endpoint, ec.Since)
		if err != nil {
			return nil, err
		}
		newest := parseTime(ec.Newest)
		next, pages := first, 0
		for next != "" {
			pages++
			op := fmt.Sprintf("%s: list %s page %d", repo, endpoint, pages)
			etag := ""
			if pages == 1 && ec.ETagURL == first {
				etag = ec.ETag
			}
			items, hdr, notModified, err := c.getPage(ctx, next, etag)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			if notModified {
				return recs, nil
			}
			if pages == 1 {
				ec.ETag, ec.ETagURL = hdr.Get("ETag"), first
			}
			for _, raw := range items {
				id, updated, rec, keep, err := conv(repo, raw)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", op, err)
				}
				rev := formatTime(updated)
				if ec.Seen[id] == rev {
					continue
				}
				if ec.Seen == nil {
					ec.Seen = map[string]string{}
				}
				ec.Seen[id] = rev
				if updated.After(newest) {
					newest = updated
				}
				if keep {
					recs = append(recs, rec)
				}
			}
			if next, err = c.nextLink(hdr.Get("Link")); err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
		}
		ec.Newest = formatTime(newest)
		since := newest.Add(-sinceOverlap)
		if pages <= 1 || newest.IsZero() || (ec.Since != "" && !since.After(parseTime(ec.Since))) {
			return recs, nil
		}
		ec.Since = formatTime(since)
		for id, rev := range ec.Seen {
			if parseTime(rev).Before(since) {
				delete(ec.Seen, id)
			}
		}
	}
	c.log.Info("github listing still changing after several rounds; the next poll continues", "repo", repo.String(), "endpoint", endpoint)
	return recs, nil
}

// listURL is the first page of an updated-ascending listing, relative to the API base.
func (c *Connector) listURL(repo repoRef, endpoint, since string) (string, error) {
	q := url.Values{}
	q.Set("sort", "updated")
	q.Set("direction", "asc")
	q.Set("per_page", strconv.Itoa(perPage))
	if endpoint == "issues" {
		q.Set("state", "all")
	}
	if since != "" {
		q.Set("since", since)
	}
	rel := fmt.Sprintf("repos/%s/%s/%s?%s", url.PathEscape(repo.Owner), url.PathEscape(repo.Name), endpoint, q.Encode())
	u, err := c.gh.BaseURL.Parse(rel)
	if err != nil {
		return "", fmt.Errorf("%s: list %s: %w", repo, endpoint, err)
	}
	return u.String(), nil
}

// getPage fetches one listing page. notModified reports a 304 to If-None-Match.
func (c *Connector) getPage(ctx context.Context, u, etag string) (items []json.RawMessage, hdr http.Header, notModified bool, err error) {
	req, err := c.gh.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, false, err
	}
	req = req.WithContext(ctx)
	if err := c.auth.authorize(ctx, req); err != nil {
		return nil, nil, false, err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, false, c.explain(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return nil, resp.Header, true, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBytes+1))
	if err != nil {
		return nil, nil, false, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxPageBytes {
		return nil, nil, false, fmt.Errorf("response larger than %d bytes", maxPageBytes)
	}
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, nil, false, fmt.Errorf("malformed JSON listing: %w", err)
	}
	return items, resp.Header, false, nil
}

// ErrConfig marks failures that retrying will not fix: bad credentials, a
// repository that does not exist or is not visible to them.
var ErrConfig = errors.New("configuration error")

// explain adds what to check to permanent answers that point at the configuration.
func (c *Connector) explain(err error) error {
	switch connectors.StatusOf(err) {
	case http.StatusUnauthorized:
		c.auth.invalidate()
		return fmt.Errorf("%w: credentials rejected (check token_env/token_file or the app settings): %w", ErrConfig, err)
	case http.StatusNotFound:
		return fmt.Errorf("%w: repository not found or not visible to these credentials: %w", ErrConfig, err)
	case http.StatusForbidden:
		if !connectors.IsTransient(err) {
			return fmt.Errorf("%w: access forbidden (check the token's permissions): %w", ErrConfig, err)
		}
	}
	return err
}

var linkNextRE = regexp.MustCompile(`<([^>]*)>\s*;[^,]*\brel="?next"?`)

// nextLink returns the rel="next" URL of a Link header, or "" on the last page. It
// refuses URLs off the API host, so credentials never follow a link elsewhere.
func (c *Connector) nextLink(h string) (string, error) {
	m := linkNextRE.FindStringSubmatch(h)
	if m == nil {
		return "", nil
	}
	u, err := c.gh.BaseURL.Parse(m[1])
	if err != nil {
		return "", fmt.Errorf("bad Link next %q: %w", m[1], err)
	}
	if u.Scheme != c.gh.BaseURL.Scheme || u.Host != c.gh.BaseURL.Host {
		return "", fmt.Errorf("link next points off the API host (%s)", u.Host)
	}
	return u.String(), nil
}

// issueFromListing converts one object of the issues listing.
func (c *Connector) issueFromListing(repo repoRef, raw json.RawMessage) (string, time.Time, feedback.Record, bool, error) {
	var iss gh.Issue
	if err := json.Unmarshal(raw, &iss); err != nil {
		return "", time.Time{}, feedback.Record{}, false, fmt.Errorf("malformed issue: %w", err)
	}
	if iss.ID == nil || iss.GetUpdatedAt().IsZero() || iss.Number == nil {
		return "", time.Time{}, feedback.Record{}, false, errors.New("malformed issue: missing id, number or updated_at")
	}
	id := strconv.FormatInt(iss.GetID(), 10)
	updated := iss.GetUpdatedAt().UTC()
	if iss.IsPullRequest() && !c.set.includePRs {
		return id, updated, feedback.Record{}, false, nil
	}
	rec := c.issueRecord(&iss, raw, repoOfIssue(&iss, repo), repo.Owner)
	return id, updated, rec, true, nil
}

// commentFromListing converts one object of the repository comments listing.
func (c *Connector) commentFromListing(repo repoRef, raw json.RawMessage) (string, time.Time, feedback.Record, bool, error) {
	var cm gh.IssueComment
	if err := json.Unmarshal(raw, &cm); err != nil {
		return "", time.Time{}, feedback.Record{}, false, fmt.Errorf("malformed comment: %w", err)
	}
	if cm.ID == nil || cm.GetUpdatedAt().IsZero() {
		return "", time.Time{}, feedback.Record{}, false, errors.New("malformed comment: missing id or updated_at")
	}
	id := strconv.FormatInt(cm.GetID(), 10)
	updated := cm.GetUpdatedAt().UTC()
	if isPRComment(&cm) && !c.set.includePRs {
		return id, updated, feedback.Record{}, false, nil
	}
	parentRepo, number, ok := parseIssueURL(cm.GetIssueURL())
	if !ok {
		parentRepo, number = repo.String(), 0
		if n, ok := numberFromHTML(cm.GetHTMLURL()); ok {
			number = n
		}
	}
	rec := c.commentRecord(&cm, raw, parentRepo, number, repo.Owner)
	return id, updated, rec, true, nil
}

// isPRComment reports whether a polled comment belongs to a pull request: GitHub
// gives comments on pull requests an html_url under /pull/N.
func isPRComment(cm *gh.IssueComment) bool {
	return strings.Contains(cm.GetHTMLURL(), "/pull/")
}

// issueRecord builds the record of an issue; repoName is "owner/name" as GitHub
// spells it.
func (c *Connector) issueRecord(iss *gh.Issue, raw json.RawMessage, repoName, org string) feedback.Record {
	labels := make([]string, 0, len(iss.Labels))
	for _, l := range iss.Labels {
		if l.GetName() != "" {
			labels = append(labels, l.GetName())
		}
	}
	meta := map[string]string{
		"repo":               repoName,
		"number":             strconv.Itoa(iss.GetNumber()),
		"issue_id":           strconv.FormatInt(iss.GetID(), 10),
		"author_association": iss.GetAuthorAssociation(),
		"org":                org,
	}
	if iss.IsPullRequest() {
		meta["pull_request"] = "true"
	}
	return feedback.Record{
		Source:     c.name,
		ExternalID: issueExternalID(repoName, iss.GetNumber()),
		Revision:   formatTime(iss.GetUpdatedAt().Time),
		Kind:       feedback.KindIssue,
		Author:     iss.GetUser().GetLogin(),
		Title:      iss.GetTitle(),
		Body:       iss.GetBody(),
		URL:        iss.GetHTMLURL(),
		State:      iss.GetState(),
		Labels:     labels,
		Meta:       dropEmpty(meta),
		CreatedAt:  iss.GetCreatedAt().UTC(),
		UpdatedAt:  iss.GetUpdatedAt().UTC(),
		Raw:        append(json.RawMessage(nil), raw...),
		ReceivedAt: c.clock.Now().UTC(),
	}
}

// commentRecord builds the record of a comment on issue number of repoName.
func (c *Connector) commentRecord(cm *gh.IssueComment, raw json.RawMessage, repoName string, number int, org string) feedback.Record {
	meta := map[string]string{
		"repo":               repoName,
		"number":             strconv.Itoa(number),
		"comment_id":         strconv.FormatInt(cm.GetID(), 10),
		"author_association": cm.GetAuthorAssociation(),
		"org":                org,
	}
	return feedback.Record{
		Source:           c.name,
		ExternalID:       commentExternalID(repoName, cm.GetID()),
		ParentExternalID: issueExternalID(repoName, number),
		Revision:         formatTime(cm.GetUpdatedAt().Time),
		Kind:             feedback.KindComment,
		Author:           cm.GetUser().GetLogin(),
		Body:             cm.GetBody(),
		URL:              cm.GetHTMLURL(),
		Meta:             dropEmpty(meta),
		CreatedAt:        cm.GetCreatedAt().UTC(),
		UpdatedAt:        cm.GetUpdatedAt().UTC(),
		Raw:              append(json.RawMessage(nil), raw...),
		ReceivedAt:       c.clock.Now().UTC(),
	}
}

// issueExternalID is "owner/repo#N" in lower case.
func issueExternalID(repoName string, number int) string {
	return strings.ToLower(repoName) + "#" + strconv.Itoa(number)
}

// commentExternalID is "owner/repo#issuecomment-ID" in lower case.
func commentExternalID(repoName string, id int64) string {
	return strings.ToLower(repoName) + "#issuecomment-" + strconv.FormatInt(id, 10)
}

// repoOfIssue is the issue's "owner/name" from its repository_url, else fallback.
func repoOfIssue(iss *gh.Issue, fallback repoRef) string {
	if r := iss.GetRepository(); r.GetFullName() != "" {
		return r.GetFullName()
	}
	if _, rest, ok := strings.Cut(iss.GetRepositoryURL(), "/repos/"); ok {
		if owner, name, ok := strings.Cut(strings.Trim(rest, "/"), "/"); ok && owner != "" && name != "" && !strings.Contains(name, "/") {
			return owner + "/" + name
		}
	}
	return fallback.String()
}

var issueURLRE = regexp.MustCompile(`/repos/([^/]+)/([^/]+)/issues/([0-9]+)$`)

// parseIssueURL reads owner/name and number from an API issue_url.
func parseIssueURL(u string) (repoName string, number int, ok bool) {
	m := issueURLRE.FindStringSubmatch(u)
	if m == nil {
		return "", 0, false
	}
	n, err := strconv.Atoi(m[3])
	if err != nil {
		return "", 0, false
	}
	return m[1] + "/" + m[2], n, true
}

var htmlNumberRE = regexp.MustCompile(`/(?:issues|pull)/([0-9]+)`)

func numberFromHTML(u string) (int, bool) {
	m := htmlNumberRE.FindStringSubmatch(u)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

func dropEmpty(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" || v == "0" && k == "number" {
			delete(m, k)
		}
	}
	return m
}
