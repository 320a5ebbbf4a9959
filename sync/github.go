package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/feedbackhub/feedbackhub/connectors"
)

// GitHubTracker creates and updates GitHub issues. go-github builds the requests and
// holds the types; connectors.Client sends them (rate limits, retries, redaction).
type GitHubTracker struct {
	// API is a go-github client pointing at the API base (github.com or GHES).
	API *gh.Client
	// Token is the bearer token; a secret.
	Token  string
	Client *connectors.Client
	// ScanPages bounds the fallback listing of hub issues by label when the search
	// index has not caught up (default 3 pages of 100, newest first).
	ScanPages int
}

// NewGitHubTracker returns a tracker for the API at baseURL ("" for api.github.com; a
// GitHub Enterprise Server URL gets /api/v3/ like in the GitHub connector).
func NewGitHubTracker(baseURL, token string, c *connectors.Client) (*GitHubTracker, error) {
	api := gh.NewClient(nil)
	api.UserAgent = "feedbackhub"
	if baseURL != "" {
		// The same reading of base_url as the GitHub connector: GHES gets /api/v3/.
		var err error
		if api, err = api.WithEnterpriseURLs(baseURL, baseURL); err != nil {
			return nil, fmt.Errorf("github: base_url: %w", err)
		}
	}
	return &GitHubTracker{API: api, Token: token, Client: c}, nil
}

// Kind is "github".
func (g *GitHubTracker) Kind() string { return "github" }

func (g *GitHubTracker) do(ctx context.Context, method, path string, in, out any) (*http.Response, error) {
	req, err := g.API.NewRequest(method, path, in)
	if err != nil {
		return nil, fmt.Errorf("github: %s %s: %w", method, path, err)
	}
	req = req.WithContext(ctx)
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	resp, err := g.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil && err != io.EOF {
			return resp, fmt.Errorf("github: decode %s %s: %w", method, path, err)
		}
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	}
	return resp, nil
}

func hiddenMarker(m string) string { return "<!-- " + m + " -->" }

func remoteOf(repo string, is *gh.Issue) Remote {
	r := Remote{Key: GitHubKey(repo, is.GetNumber()), URL: is.GetHTMLURL(), Status: is.GetState()}
	for _, l := range is.Labels {
		if strings.HasPrefix(l.GetName(), "priority:") {
			r.Priority = l.GetName()
		}
	}
	return r
}

// Find looks for the hidden marker: first through the search API, then, because the
// search index lags behind a fresh create, through the newest issues carrying the
// hub label.
func (g *GitHubTracker) Find(ctx context.Context, p Place, clusterID int64) (*Remote, error) {
	marker := hiddenMarker(Marker(clusterID))
	q := fmt.Sprintf(`repo:%s in:body "%s"`, p.Repo, Marker(clusterID))
	var res gh.IssuesSearchResult
	if _, err := g.do(ctx, http.MethodGet, "search/issues?"+url.Values{"q": {q}, "per_page": {"10"}}.Encode(), nil, &res); err != nil {
		return nil, fmt.Errorf("find cluster %d: %w", clusterID, err)
	}
	for _, is := range res.Issues {
		if strings.Contains(is.GetBody(), marker) && is.PullRequestLinks == nil {
			r := remoteOf(p.Repo, is)
			return &r, nil
		}
	}
	pages := g.ScanPages
	if pages <= 0 {
		pages = 3
	}
	for page := 1; page <= pages; page++ {
		v := url.Values{"labels": {HubLabel}, "state": {"all"}, "sort": {"created"}, "direction": {"desc"},
			"per_page": {"100"}, "page": {strconv.Itoa(page)}}
		var list []*gh.Issue
		if _, err := g.do(ctx, http.MethodGet, "repos/"+p.Repo+"/issues?"+v.Encode(), nil, &list); err != nil {
			return nil, fmt.Errorf("find cluster %d: %w", clusterID, err)
		}
		for _, is := range list {
			if strings.Contains(is.GetBody(), marker) && is.PullRequestLinks == nil {
				r := remoteOf(p.Repo, is)
				return &r, nil
			}
		}
		if len(list) < 100 {
			break
		}
	}
	return nil, nil
}

// Create opens an issue whose body ends with the hidden marker.
func (g *GitHubTracker) Create(ctx context.Context, p Place, is Issue) (Remote, error) {
	labels := []string{HubLabel}
	for _, l := range append(append([]string(nil), is.Labels...), is.Priority) {
		if l = strings.TrimSpace(l); l != "" && !contains(labels, l) {
			labels = append(labels, l)
		}
	}
	body := is.Description + "\n\n" + hiddenMarker(Marker(is.ClusterID)) + "\n"
	title := truncate(is.Summary, 250)
	req := &gh.IssueRequest{Title: &title, Body: &body, Labels: &labels}
	var out gh.Issue
	if _, err := g.do(ctx, http.MethodPost, "repos/"+p.Repo+"/issues", req, &out); err != nil {
		return Remote{}, fmt.Errorf("create ticket for cluster %d: %w", is.ClusterID, err)
	}
	if out.GetNumber() == 0 {
		return Remote{}, fmt.Errorf("create ticket for cluster %d: github answered without an issue number", is.ClusterID)
	}
	return remoteOf(p.Repo, &out), nil
}

// LinkBack does nothing: the marker in the body is the link.
func (g *GitHubTracker) LinkBack(context.Context, string, Issue) error { return nil }

// Comment posts a comment with the hidden marker.
func (g *GitHubTracker) Comment(ctx context.Context, key, text, marker string) error {
	owner, repo, n, err := parseGitHubKey(key)
	if err != nil {
		return permanent("%v", err)
	}
	if marker != "" {
		text += "\n\n" + hiddenMarker(marker)
	}
	if _, err := g.do(ctx, http.MethodPost, fmt.Sprintf("repos/%s/%s/issues/%d/comments", owner, repo, n), &gh.IssueComment{Body: &text}, nil); err != nil {
		return fmt.Errorf("comment on %s: %w", key, err)
	}
	return nil
}

// HasComment scans the issue's comments for the hidden marker.
func (g *GitHubTracker) HasComment(ctx context.Context, key, marker string) (bool, error) {
	owner, repo, n, err := parseGitHubKey(key)
	if err != nil {
		return false, permanent("%v", err)
	}
	for page := 1; page <= 20; page++ {
		var list []*gh.IssueComment
		if _, err := g.do(ctx, http.MethodGet, fmt.Sprintf("repos/%s/%s/issues/%d/comments?per_page=100&page=%d", owner, repo, n, page), nil, &list); err != nil {
			return false, fmt.Errorf("comments of %s: %w", key, err)
		}
		for _, c := range list {
			if strings.Contains(c.GetBody(), hiddenMarker(marker)) {
				return true, nil
			}
		}
		if len(list) < 100 {
			break
		}
	}
	return false, nil
}

// SetPriority swaps the priority label.
func (g *GitHubTracker) SetPriority(ctx context.Context, key, old, priority string) error {
	owner, repo, n, err := parseGitHubKey(key)
	if err != nil {
		return permanent("%v", err)
	}
	if old != "" && old != priority {
		_, err := g.do(ctx, http.MethodDelete, fmt.Sprintf("repos/%s/%s/issues/%d/labels/%s", owner, repo, n, url.PathEscape(old)), nil, nil)
		if err != nil && connectors.StatusOf(err) != http.StatusNotFound {
			return fmt.Errorf("set priority of %s: %w", key, err)
		}
	}
	if priority == "" {
		return nil
	}
	if _, err := g.do(ctx, http.MethodPost, fmt.Sprintf("repos/%s/%s/issues/%d/labels", owner, repo, n), map[string][]string{"labels": {priority}}, nil); err != nil {
		return fmt.Errorf("set priority of %s: %w", key, err)
	}
	return nil
}

// Get reads the issue's state and priority label.
func (g *GitHubTracker) Get(ctx context.Context, key string) (Remote, error) {
	owner, repo, n, err := parseGitHubKey(key)
	if err != nil {
		return Remote{}, permanent("%v", err)
	}
	var is gh.Issue
	if _, err := g.do(ctx, http.MethodGet, fmt.Sprintf("repos/%s/%s/issues/%d", owner, repo, n), nil, &is); err != nil {
		return Remote{}, fmt.Errorf("read %s: %w", key, err)
	}
	return remoteOf(owner+"/"+repo, &is), nil
}

// Reopen sets the issue's state to open.
func (g *GitHubTracker) Reopen(ctx context.Context, key string, before func(to string) error) (string, error) {
	owner, repo, n, err := parseGitHubKey(key)
	if err != nil {
		return "", permanent("%v", err)
	}
	if before != nil {
		if err := before("open"); err != nil {
			return "", err
		}
	}
	var is gh.Issue
	if _, err := g.do(ctx, http.MethodPatch, fmt.Sprintf("repos/%s/%s/issues/%d", owner, repo, n), map[string]string{"state": "open"}, &is); err != nil {
		return "", fmt.Errorf("reopen %s: %w", key, err)
	}
	return is.GetState(), nil
}
