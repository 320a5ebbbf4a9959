package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// addIssues creates issues from..to, one minute apart starting at start.
func (h *harness) addIssues(from, to int, start time.Time) {
	for n := from; n <= to; n++ {
		h.gh.setIssue(n, start.Add(time.Duration(n-from)*time.Minute), false)
	}
}

func TestPollThreePagesViaLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addIssues(1, 250, t0)
	res, n := h.mustPoll()
	reqs := h.gh.requests()
	if n != 250 || len(res.Records) != 250 {
		t.Fatalf("stored %d of %d records, want 250", n, len(res.Records))
	}
	var pages []string
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, "/issues") {
			pages = append(pages, r.Query)
		}
	}
	// Three pages, the second and third from Link (the fake checks its marker), then
	// the first page again from the advanced since, which carries the next ETag.
	if len(pages) != 4 {
		t.Fatalf("issues requests = %d, want 3 pages + 1: %q", len(pages), pages)
	}
	for i, want := range []string{"", "2", "3", ""} {
		q, _ := url.ParseQuery(pages[i])
		if q.Get("page") != want {
			t.Errorf("request %d query %q, want page %q", i, pages[i], want)
		}
	}
	if strings.Contains(pages[0], "since=") || !strings.Contains(pages[3], "since=") {
		t.Errorf("first poll: since sent %q then %q, want none then the advanced since", pages[0], pages[3])
	}
	if got := count(reqs, "/issues/comments"); got != 1 {
		t.Errorf("comments requests = %d, want 1", got)
	}
	// Records are in updated order and complete.
	r0 := res.Records[0]
	if r0.ExternalID != "codertocat/hello-world#1" || r0.Kind != feedback.KindIssue || r0.Revision != "2024-03-01T09:00:00Z" ||
		r0.URL != "https://github.com/Codertocat/Hello-World/issues/1" || r0.Author != "Codertocat" || r0.State != "open" ||
		len(r0.Labels) != 1 || r0.Labels[0] != "bug" || r0.Meta["repo"] != "Codertocat/Hello-World" || r0.Meta["number"] != "1" ||
		r0.Meta["author_association"] != "OWNER" || r0.Meta["org"] != "Codertocat" || r0.Meta["issue_id"] != "444500001" ||
		!r0.CreatedAt.Equal(t0) || r0.Body == "" || len(r0.Raw) == 0 {
		t.Errorf("first record = %+v", r0)
	}
	if res.Stats.Fetched != 250 || res.Stats.Requests != 5 || res.Stats.NotModified != 0 {
		t.Errorf("stats = %+v", res.Stats)
	}

	// Nothing changed: one request per endpoint, both 304, nothing re-ingested.
	res, n = h.mustPoll()
	reqs = h.gh.requests()
	if len(res.Records) != 0 || n != 0 {
		t.Errorf("second poll returned %d records, stored %d", len(res.Records), n)
	}
	if count(reqs, "/issues") != 1 || count(reqs, "/issues/comments") != 1 || res.Stats.NotModified != 2 || res.Stats.Requests != 2 {
		t.Errorf("second poll requests %+v, stats %+v; want one 304 per endpoint", reqs, res.Stats)
	}
	for _, r := range reqs {
		if r.IfNoneMatch == "" {
			t.Errorf("request %s?%s sent no If-None-Match", r.Path, r.Query)
		}
	}
}

func TestPollOnePageWithoutLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addIssues(1, 5, t0)
	h.gh.setComment(900, 1, t0.Add(time.Hour), false)
	res, _ := h.mustPoll()
	reqs := h.gh.requests()
	if count(reqs, "/issues") != 1 || count(reqs, "/issues/comments") != 1 {
		t.Fatalf("requests %+v, want one per endpoint", reqs)
	}
	if len(res.Records) != 6 {
		t.Fatalf("records = %d, want 5 issues + 1 comment", len(res.Records))
	}
	c := res.Records[5]
	if c.Kind != feedback.KindComment || c.ExternalID != "codertocat/hello-world#issuecomment-900" ||
		c.ParentExternalID != "codertocat/hello-world#1" || c.Revision != "2024-03-01T10:00:00Z" ||
		c.URL != "https://github.com/Codertocat/Hello-World/issues/1#issuecomment-900" || c.Author != "Codertocat" {
		t.Errorf("comment record = %+v", c)
	}
	// Unchanged: 304 on the very URL (since did not move: one page is one answer).
	res, _ = h.mustPoll()
	if res.Stats.Requests != 2 || res.Stats.NotModified != 2 || len(res.Records) != 0 {
		t.Errorf("unchanged poll: %+v, %d records", res.Stats, len(res.Records))
	}
	// An edit is a new revision; the other issues on the page are not returned again.
	h.gh.setIssue(3, t0.Add(2*time.Hour), false)
	h.gh.requests()
	res, n := h.mustPoll()
	if len(res.Records) != 1 || n != 1 || res.Records[0].ExternalID != "codertocat/hello-world#3" || res.Records[0].Revision != "2024-03-01T11:00:00Z" {
		t.Errorf("after edit: %d records (%d new): %+v", len(res.Records), n, res.Records)
	}
	if got := h.store.byExternalID()["codertocat/hello-world#3"]; got != 2 {
		t.Errorf("revisions of #3 stored = %d, want 2", got)
	}
	if res.Stats.Requests != 2 || res.Stats.NotModified != 1 {
		t.Errorf("after edit stats %+v, want 1 page + one 304", res.Stats)
	}
}

func TestItemUpdatedAtCursorStoredOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// 150 issues a minute apart: two pages, so since moves to newest − overlap.
	h.addIssues(1, 150, t0)
	newest := t0.Add(149 * time.Minute)
	since := newest.Add(-sinceOverlap)
	// Issue 500 is updated exactly at the new since: every later query returns it.
	h.gh.setIssue(500, since, false)
	res, n := h.mustPoll()
	if n != 151 || len(res.Records) != 151 {
		t.Fatalf("first poll: %d records, %d new; want 151", len(res.Records), n)
	}
	var cur Cursor
	if err := json.Unmarshal([]byte(h.store.cursor.Value), &cur); err != nil {
		t.Fatal(err)
	}
	ec := cur.Repos["Codertocat/Hello-World"].Issues
	if ec.Since != since.Format(time.RFC3339) || ec.Newest != newest.Format(time.RFC3339) || ec.ETag == "" {
		t.Fatalf("cursor = %+v, want since %s", ec, since.Format(time.RFC3339))
	}
	// Something else changes; the query from since returns issue 500 again.
	h.gh.setIssue(7, newest.Add(time.Minute), false)
	res, n = h.mustPoll()
	if len(res.Records) != 1 || n != 1 || res.Records[0].ExternalID != "codertocat/hello-world#7" {
		t.Errorf("second poll: %d records (%d new): %+v", len(res.Records), n, res.Records)
	}
	if got := h.store.byExternalID()["codertocat/hello-world#500"]; got != 1 {
		t.Errorf("issue at the cursor stored %d times, want 1", got)
	}
}

func TestPullRequests(t *testing.T) {
	t.Parallel()
	for _, include := range []bool{false, true} {
		t.Run(fmt.Sprintf("include=%v", include), func(t *testing.T) {
			t.Parallel()
			var opts []option
			if include {
				opts = append(opts, withPRs)
			}
			h := newHarness(t, opts...)
			h.gh.setIssue(1, t0, false)
			h.gh.setIssue(2, t0.Add(time.Minute), true)
			h.gh.setComment(901, 1, t0.Add(2*time.Minute), false)
			h.gh.setComment(902, 2, t0.Add(3*time.Minute), true)
			res, _ := h.mustPoll()
			ids := map[string]bool{}
			for _, r := range res.Records {
				ids[r.ExternalID] = true
			}
			want := map[string]bool{"codertocat/hello-world#1": true, "codertocat/hello-world#issuecomment-901": true}
			if include {
				want["codertocat/hello-world#2"] = true
				want["codertocat/hello-world#issuecomment-902"] = true
			}
			if fmt.Sprint(ids) != fmt.Sprint(want) {
				t.Errorf("records %v, want %v", ids, want)
			}
			// Skipped pull requests still count as seen: nothing comes back.
			res, _ = h.mustPoll()
			if len(res.Records) != 0 || res.Stats.NotModified != 2 {
				t.Errorf("second poll: %d records, stats %+v", len(res.Records), res.Stats)
			}
		})
	}
}

func TestRateLimitsAndRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault func(now time.Time) func(w http.ResponseWriter, r *http.Request)
		// wait checks the one wait the client took.
		wait func(d time.Duration) bool
	}{
		{"403 retry-after", func(time.Time) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "30")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `{"message":"You have exceeded a secondary rate limit."}`)
			}
		}, func(d time.Duration) bool { return d == 30*time.Second }},
		{"429 remaining 0 and reset", func(now time.Time) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-RateLimit-Remaining", "0")
				w.Header().Set("X-RateLimit-Reset", fmt.Sprint(now.Add(2*time.Minute).Unix()))
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, `{"message":"API rate limit exceeded"}`)
			}
		}, func(d time.Duration) bool { return d >= 2*time.Minute && d <= 2*time.Minute+time.Second }},
		{"secondary limit without headers", func(time.Time) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`)
			}
		}, func(d time.Duration) bool { return d >= 60*time.Second }},
		{"500 then success", func(time.Time) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprint(w, `{"message":"Server Error"}`)
			}
		}, func(d time.Duration) bool { return d > 0 && d <= 2*time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.addIssues(1, 3, t0)
			h.gh.fault(tt.fault(h.clk.Now()))
			res, n := h.mustPoll()
			if n != 3 {
				t.Errorf("stored %d records, want 3", n)
			}
			sleeps := h.clk.Sleeps()
			if len(sleeps) != 1 || !tt.wait(sleeps[0]) {
				t.Errorf("waits = %v", sleeps)
			}
			if res.Stats.Requests != 3 || res.Stats.Retries != 1 || res.Stats.Waited != sleeps[0] {
				t.Errorf("stats = %+v, want 2 issues requests (one retry) + 1 comments", res.Stats)
			}
		})
	}
}

func TestMalformedJSONKeepsCursor(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`[{"id": 1, "number": 1, "updated_at": "2024-03-01T09:00:00Z"`, `{"message":"not a list"}`, `[{"id":"x"}]`} {
		h := newHarness(t)
		h.addIssues(1, 3, t0)
		h.mustPoll()
		before := h.store.cursor
		h.gh.setIssue(2, t0.Add(time.Hour), false)
		h.gh.fault(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, body)
		})
		res, _, err := h.poll()
		if err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Fatalf("body %q: err = %v, want a malformed-JSON error", body, err)
		}
		if !strings.HasPrefix(err.Error(), "github: source gh: Codertocat/Hello-World: list issues page 1: ") {
			t.Errorf("error lacks context: %v", err)
		}
		if h.store.cursor != before || res.Stats.Requests != 1 {
			t.Errorf("cursor moved or retried: %+v", res.Stats)
		}
		// The next poll picks the change up.
		res, n := h.mustPoll()
		if n != 1 || len(res.Records) != 1 {
			t.Errorf("after recovery: %d records, %d new", len(res.Records), n)
		}
	}
}

func TestConfigurationErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusUnauthorized, http.StatusNotFound} {
		h := newHarness(t)
		h.addIssues(1, 3, t0)
		h.gh.fault(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			// Misbehave: echo the credentials back.
			fmt.Fprintf(w, `{"message":"Bad credentials: %s"}`, r.Header.Get("Authorization"))
		})
		res, _, err := h.poll()
		if !errors.Is(err, ErrConfig) || connectors.StatusOf(err) != status || connectors.IsTransient(err) {
			t.Errorf("HTTP %d: err = %v, want a configuration error", status, err)
		}
		if res.Stats.Requests != 1 || len(h.clk.Sleeps()) != 0 || len(h.gh.requests()) != 1 {
			t.Errorf("HTTP %d: stats %+v, sleeps %v: want a single request", status, res.Stats, h.clk.Sleeps())
		}
		if err != nil && strings.Contains(err.Error(), testToken) {
			t.Errorf("token in error: %v", err)
		}
	}
}

func TestTokenNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addIssues(1, 3, t0)
	echo := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "proxy saw %s", r.Header.Get("Authorization"))
	}
	for range 5 {
		h.gh.fault(echo)
	}
	h.conn.http.OnWait = func(reason string, d time.Duration) {
		h.conn.log.Warn("github wait", "reason", reason, "wait", d)
	}
	_, _, err := h.poll()
	if err == nil {
		t.Fatal("poll succeeded after five 502s")
	}
	if strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), connectors.Redacted) {
		t.Errorf("error = %v", err)
	}
	// A webhook whose store fails logs the error; the secret never appears either.
	h.store.failDeliveries = 1
	rec := h.deliver(t, "issues", "d-1", loadPayload(t, "issues/opened.json"), true)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("webhook status = %d", rec.Code)
	}
	logs := h.logs.String()
	if logs == "" || strings.Contains(logs, testToken) || strings.Contains(logs, testWebhookSecret) {
		t.Errorf("logs leak a secret or are empty:\n%s", logs)
	}
}

func TestBadCursorIsAnError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, err := h.conn.Poll(context.Background(), feedback.Cursor{Source: "gh", Value: "{not json"})
	if err == nil || !strings.Contains(err.Error(), "decode cursor") {
		t.Errorf("err = %v", err)
	}
}

func TestLinkOffHostRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addIssues(1, 2, t0)
	h.gh.fault(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Link", `<https://evil.example/api/v3/repos/x/y/issues?page=2>; rel="next"`)
		fmt.Fprint(w, `[]`)
	})
	_, _, err := h.poll()
	if err == nil || !strings.Contains(err.Error(), "off the API host") {
		t.Errorf("err = %v", err)
	}
}

// TestRequestsPerPoll measures the requests one poll makes for 0, 1 and 250 changed
// issues in a repository of 1000 (comments unchanged), and holds them to the aim:
// 0 changed = one 304 per endpoint, N changed ≤ ⌈N/100⌉ + 1 per endpoint.
func TestRequestsPerPoll(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addIssues(1, 1000, t0)
	h.gh.setComment(900, 1, t0, false)
	h.mustPoll()
	first := h.gh.requests()
	t.Logf("initial poll of 1000 issues: issues %d requests, comments %d", count(first, "/issues"), count(first, "/issues/comments"))

	last := t0.Add(2000 * time.Minute)
	change := func(n int) {
		for i := 1; i <= n; i++ {
			last = last.Add(time.Minute)
			h.gh.setIssue(i*3, last, false) // spread over the repository
		}
	}
	for _, tt := range []struct {
		changed, wantIssues int
	}{{0, 1}, {1, 1}, {250, 4}, {0, 1}, {100, 3}, {0, 1}} {
		change(tt.changed)
		res, n := h.mustPoll()
		reqs := h.gh.requests()
		issues, comments := count(reqs, "/issues"), count(reqs, "/issues/comments")
		t.Logf("%3d changed: issues %d requests (%d not modified overall), comments %d; %d records, %d new",
			tt.changed, issues, res.Stats.NotModified, comments, len(res.Records), n)
		if n != tt.changed || len(res.Records) != tt.changed {
			t.Errorf("%d changed: %d records, %d new", tt.changed, len(res.Records), n)
		}
		if issues != tt.wantIssues || comments != 1 {
			t.Errorf("%d changed: issues %d requests (want %d), comments %d (want 1)", tt.changed, issues, tt.wantIssues, comments)
		}
		if tt.changed == 0 && res.Stats.NotModified != 2 {
			t.Errorf("unchanged poll: %d not modified, want 2", res.Stats.NotModified)
		}
		if aim := (tt.changed+99)/100 + 1; tt.changed > 0 && tt.changed%100 != 0 && issues > aim {
			t.Errorf("%d changed: %d issues requests, aim %d", tt.changed, issues, aim)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for name, g := range map[string]*config.GitHubSource{
		"no repos":      {},
		"missing token": {Repos: []string{"a/b"}, TokenEnv: "FEEDBACKHUB_TEST_SURELY_UNSET"},
		"missing key":   {Repos: []string{"a/b"}, AppID: 1, InstallationID: 2, PrivateKeyFile: "/nonexistent/key.pem"},
		"duplicate":     {Repos: []string{"a/b", "A/B"}},
	} {
		_, err := New(config.Source{Name: "gh", Kind: config.KindGitHub, GitHub: g}, connectors.Env{})
		if err == nil || !strings.HasPrefix(err.Error(), "github: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestNextLink(t *testing.T) {
	t.Parallel()
	c, err := New(config.Source{Name: "gh", Kind: config.KindGitHub, GitHub: &config.GitHubSource{Repos: []string{"a/b"}}}, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	gc := c.(*Connector)
	for h, want := range map[string]string{
		"": "",
		`<https://api.github.com/repositories/1300192/issues?page=2>; rel="prev", <https://api.github.com/repositories/1300192/issues?page=4>; rel="next", <https://api.github.com/repositories/1300192/issues?page=515>; rel="last", <https://api.github.com/repositories/1300192/issues?page=1>; rel="first"`: "https://api.github.com/repositories/1300192/issues?page=4",
		`<https://api.github.com/repositories/1300192/issues?page=1>; rel="first", <https://api.github.com/repositories/1300192/issues?page=514>; rel="prev"`:                                                                                                                                                   "",
	} {
		got, err := gc.nextLink(h)
		if err != nil || got != want {
			t.Errorf("nextLink(%q) = %q, %v; want %q", h, got, err, want)
		}
	}
}
