package jira

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

var t0 = time.Date(2026, 11, 20, 15, 30, 0, 0, time.UTC)

func poll(t *testing.T, c *Connector, st *memStore) connectors.Result {
	t.Helper()
	res, err := c.Poll(context.Background(), st.cursor)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	st.ingest(t, res)
	return res
}

func searchCalls(reqs []string) int {
	n := 0
	for _, r := range reqs {
		if strings.Contains(r, "/search") {
			n++
		}
	}
	return n
}

func TestTwoPagesViaNextPageTokenExactlyTwoCalls(t *testing.T) {
	f := newFakeJira(t, time.UTC)
	for i := 1; i <= 3; i++ {
		f.add(fmt.Sprintf("BBCOM-%d", i), t0.Add(-time.Duration(i)*time.Hour), 1)
	}
	c, _ := setup(t, f, t0, nil)
	c.set.pageSize = 2
	st := newMemStore()
	res := poll(t, c, st)

	reqs := f.reqs()
	if len(reqs) != 2 || res.Stats.Requests != 2 {
		t.Fatalf("requests = %d (stats %d), want 2: %v", len(reqs), res.Stats.Requests, reqs)
	}
	if !strings.Contains(reqs[1], "nextPageToken=page-2") {
		t.Errorf("second call does not carry the token: %s", reqs[1])
	}
	for _, r := range reqs {
		if !strings.HasPrefix(r, "/rest/api/3/search/jql?") {
			t.Errorf("called %s, want /rest/api/3/search/jql", r)
		}
		for _, fld := range searchFields {
			if !strings.Contains(r, fld) {
				t.Errorf("request does not ask for field %s: %s", fld, r)
			}
		}
	}
	if got := st.count(feedback.KindIssue, ""); got != 3 {
		t.Errorf("issues stored = %d, want 3", got)
	}
	if got := st.count(feedback.KindComment, ""); got != 3 {
		t.Errorf("comments stored = %d, want 3", got)
	}
	if res.Stats.Fetched != 6 {
		t.Errorf("Fetched = %d, want 6", res.Stats.Fetched)
	}
}

func TestIssueRecordFields(t *testing.T) {
	f := newFakeJira(t, time.FixedZone("MSK", 3*3600))
	f.add("BBCOM-1398", t0.Add(-time.Hour), 2)
	c, _ := setup(t, f, t0, nil)
	st := newMemStore()
	res := poll(t, c, st)
	if len(res.Records) != 3 {
		t.Fatalf("records = %d, want 3", len(res.Records))
	}
	is := res.Records[0]
	want := feedback.Record{
		Source: "jira", ExternalID: "BBCOM-1398", Revision: "2026-11-20T14:30:00.000Z", Kind: feedback.KindIssue,
		Author: "5b912f5c8a96e82b9549361c", Title: "Issue BBCOM-1398",
		Body: "Prueba de creación de tareas en un proyecto público", URL: f.srv.URL + "/browse/BBCOM-1398",
		State: "К выполнению",
	}
	if is.Source != want.Source || is.ExternalID != want.ExternalID || is.Revision != want.Revision || is.Kind != want.Kind ||
		is.Author != want.Author || is.Title != want.Title || is.Body != want.Body || is.URL != want.URL || is.State != want.State {
		t.Errorf("issue record =\n%+v\nwant\n%+v", is, want)
	}
	if strings.Join(is.Labels, ",") != "partner-acme,arm64" {
		t.Errorf("labels = %v", is.Labels)
	}
	for k, v := range map[string]string{
		"priority": "Highest", "components": "installer,cli", "project": "BBCOM", "issuetype": "Tarea",
		"reporter_display_name": "Иванов Иван Иванович", "organizations": "Acme Corp", "issue_id": "71398",
	} {
		if is.Meta[k] != v {
			t.Errorf("Meta[%s] = %q, want %q", k, is.Meta[k], v)
		}
	}
	if !is.UpdatedAt.Equal(t0.Add(-time.Hour)) || is.CreatedAt.IsZero() || len(is.Raw) == 0 {
		t.Errorf("times/raw: updated %v created %v raw %d bytes", is.UpdatedAt, is.CreatedAt, len(is.Raw))
	}
	cm := res.Records[2]
	if cm.Kind != feedback.KindComment || cm.ParentExternalID != "BBCOM-1398" || cm.ExternalID != "comment:7139801" ||
		cm.Body != "Comment 7139801 on BBCOM-1398" || cm.Author != "5b912f5c8a96e82b9549361c" || cm.Revision != "2026-11-20T14:30:00.000Z" {
		t.Errorf("comment record = %+v", cm)
	}
}

func TestJQLHasCursorClauseAndNoUserOrderBy(t *testing.T) {
	s := settings{jql: stripOrderBy("project = FB AND labels = partner order by created DESC")}
	if got := s.searchJQL(-1); got != "(project = FB AND labels = partner) ORDER BY updated ASC, key ASC" {
		t.Errorf("first JQL = %q", got)
	}
	if got := s.searchJQL(1732877091000); got != "(project = FB AND labels = partner) AND updated >= 1732877091000 ORDER BY updated ASC, key ASC" {
		t.Errorf("incremental JQL = %q", got)
	}
	if got := (&settings{jql: stripOrderBy("ORDER BY rank")}).searchJQL(5); got != "updated >= 5 ORDER BY updated ASC, key ASC" {
		t.Errorf("order-only JQL = %q", got)
	}
}

// An account behind UTC and one ahead of it: an issue updated two minutes ago is
// found once, and later polls repeat nothing. The fake server formats times in the
// account's zone and would read a "yyyy/MM/dd HH:mm" bound in that zone too.
func TestTimeZonesIssueUpdatedTwoMinutesAgoFoundOnce(t *testing.T) {
	for _, tz := range []struct {
		name string
		loc  *time.Location
	}{
		{"UTC-5", time.FixedZone("EST", -5*3600)},
		{"UTC+3", time.FixedZone("MSK", 3*3600)},
	} {
		t.Run(tz.name, func(t *testing.T) {
			f := newFakeJira(t, tz.loc)
			f.add("BBCOM-1", t0.Add(-3*time.Hour), 0)
			c, clk := setup(t, f, t0, nil)
			st := newMemStore()
			poll(t, c, st) // first sync sets the cursor

			clk.Advance(5 * time.Minute)
			now := clk.Now()
			f.add("BBCOM-2", now.Add(-2*time.Minute), 1)
			res := poll(t, c, st)
			if len(res.Records) != 2 || res.Records[0].ExternalID != "BBCOM-2" {
				t.Fatalf("second poll records = %+v, want BBCOM-2 and its comment", res.Records)
			}
			if !strings.Contains(f.reqs()[len(f.reqs())-1], "updated+%3E%3D+") {
				t.Errorf("incremental search has no updated bound: %s", f.reqs()[len(f.reqs())-1])
			}
			for i := 0; i < 3; i++ {
				clk.Advance(time.Minute)
				if res := poll(t, c, st); len(res.Records) != 0 {
					t.Fatalf("poll %d repeated %d records: %+v", i+3, len(res.Records), res.Records[0])
				}
			}
			if got := st.count(feedback.KindIssue, "BBCOM-2"); got != 1 {
				t.Errorf("BBCOM-2 stored %d times, want 1", got)
			}
			if got := st.count(feedback.KindIssue, ""); got != 2 {
				t.Errorf("issues stored = %d, want 2", got)
			}
			// An edit of the same issue is a new revision, found again exactly once.
			f.touch("BBCOM-2", clk.Now().Add(-30*time.Second))
			if res := poll(t, c, st); len(res.Records) != 2 {
				t.Errorf("after an edit: %d records, want the issue and the new comment", len(res.Records))
			}
			if got := st.count(feedback.KindIssue, "BBCOM-2"); got != 2 {
				t.Errorf("BBCOM-2 revisions = %d, want 2", got)
			}
		})
	}
}

// Issues that land in the search index late but carry an updated time inside the
// overlap window are still found.
func TestOverlapCatchesLateIndexedIssue(t *testing.T) {
	f := newFakeJira(t, time.UTC)
	f.add("BBCOM-1", t0.Add(-time.Minute), 0)
	c, clk := setup(t, f, t0, nil)
	st := newMemStore()
	poll(t, c, st)
	// BBCOM-0 was updated before BBCOM-1 but shows up only now.
	f.add("BBCOM-0", t0.Add(-3*time.Minute), 0)
	clk.Advance(time.Minute)
	res := poll(t, c, st)
	if len(res.Records) != 1 || res.Records[0].ExternalID != "BBCOM-0" {
		t.Fatalf("records = %+v, want BBCOM-0 only", res.Records)
	}
}

func TestRetryAfter429WaitsOnFakeClockAndStoresNothingTwice(t *testing.T) {
	f := newFakeJira(t, time.UTC)
	for i := 1; i <= 3; i++ {
		f.add(fmt.Sprintf("BBCOM-%d", i), t0.Add(-time.Duration(i)*time.Minute), 1)
	}
	// The second page is rate limited once.
	f.inject = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 2 {
			w.Header().Set("Retry-After", "7")
			w.Header().Set("X-RateLimit-Reset", t0.Add(7*time.Second).Format(time.RFC3339))
			jiraError(w, http.StatusTooManyRequests, "Rate limit exceeded.")
			return true
		}
		return false
	}
	c, clk := setup(t, f, t0, nil)
	c.set.pageSize = 2
	st := newMemStore()
	res := poll(t, c, st)
	if clk.Slept() < 7*time.Second || res.Stats.Waited < 7*time.Second {
		t.Errorf("slept %v (stats %v), want >= 7s", clk.Slept(), res.Stats.Waited)
	}
	if res.Stats.Requests != 3 || res.Stats.Retries != 1 {
		t.Errorf("requests %d retries %d, want 3 and 1", res.Stats.Requests, res.Stats.Retries)
	}
	if len(res.Records) != 6 {
		t.Errorf("records = %d, want 6 (3 issues, 3 comments)", len(res.Records))
	}
	// Polling again stores nothing new.
	fresh, _ := st.ingest(t, mustPoll(t, c, st))
	if fresh != 0 || st.count(feedback.KindIssue, "") != 3 {
		t.Errorf("second poll stored %d new records; issues %d", fresh, st.count(feedback.KindIssue, ""))
	}
}

func mustPoll(t *testing.T, c *Connector, st *memStore) connectors.Result {
	t.Helper()
	res, err := c.Poll(context.Background(), st.cursor)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestServerErrorsBackOffThenSucceed(t *testing.T) {
	f := newFakeJira(t, time.UTC)
	f.add("BBCOM-1", t0.Add(-time.Minute), 0)
	f.inject = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n <= 2 {
			jiraError(w, http.StatusServiceUnavailable, "try later")
			return true
		}
		return false
	}
	c, clk := setup(t, f, t0, nil)
	res := poll(t, c, newMemStore())
	if len(res.Records) != 1 || res.Stats.Requests != 3 || len(clk.Sleeps()) != 2 {
		t.Errorf("records %d requests %d sleeps %v", len(res.Records), res.Stats.Requests, clk.Sleeps())
	}
}

func TestGoneIsAConfigurationError(t *testing.T) {
	f := newFakeJira(t, time.UTC)
	f.inject = func(w http.ResponseWriter, r *http.Request, n int) bool {
		jiraError(w, http.StatusGone, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.")
		return true
	}
	c, clk := setup(t, f, t0, nil)
	_, err := c.Poll(context.Background(), feedback.Cursor{})
	if !errors.Is(err, ErrConfig) || connectors.IsTransient(err) {
		t.Fatalf("err = %v, want ErrConfig, permanent", err)
	}
	for _, want := range []string{"410", "search/jql", "base_url", "pat_env"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
	if n := len(f.reqs()); n != 1 || len(clk.Sleeps()) != 0 {
		t.Errorf("requests %d sleeps %v, want 1 and none", n, clk.Sleeps())
	}
}

func TestOldSearchEndpointAnswers410(t *testing.T) {
	// The fake behaves like Cloud: /search is gone. The connector never calls it.
	f := newFakeJira(t, time.UTC)
	f.auth = ""
	resp, err := f.srv.Client().Get(f.srv.URL + "/rest/api/3/search?jql=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("fake /search = %d", resp.StatusCode)
	}
}

func TestAuthErrorsAfterOneRequest(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f := newFakeJira(t, time.UTC)
			f.inject = func(w http.ResponseWriter, r *http.Request, n int) bool {
				jiraError(w, status, "You do not have the permission to see the specified issue. "+r.Header.Get("Authorization"))
				return true
			}
			c, clk := setup(t, f, t0, nil)
			res, err := c.Poll(context.Background(), feedback.Cursor{})
			if !errors.Is(err, ErrAuth) || connectors.IsTransient(err) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			if n := len(f.reqs()); n != 1 || res.Stats.Requests != 1 || len(clk.Sleeps()) != 0 {
				t.Errorf("requests %d (stats %d), sleeps %v; want one request, no waiting", n, res.Stats.Requests, clk.Sleeps())
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), c.set.authHeader[len("Basic "):]) {
				t.Errorf("secret in error: %v", err)
			}
			if want := map[int]string{401: "token_env", 403: "Browse Projects"}[status]; !strings.Contains(err.Error(), want) {
				t.Errorf("error does not say what to check: %v", err)
			}
		})
	}
}

func TestWrongCredentialsAgainstFake(t *testing.T) {
	f := newFakeJira(t, time.UTC)
	f.auth = "Basic something-else"
	c, _ := setup(t, f, t0, nil)
	if _, err := c.Poll(context.Background(), feedback.Cursor{}); !errors.Is(err, ErrAuth) {
		t.Fatalf("err = %v", err)
	}
}

func TestCommentsBeyondTheEmbeddedOnesAreFetchedAndCounted(t *testing.T) {
	f := newFakeJira(t, time.UTC)
	f.embedComments = 2
	f.add("BBCOM-1", t0.Add(-time.Minute), 5)
	c, _ := setup(t, f, t0, nil)
	c.set.pageSize = 2 // comment pages of 2 too
	res := poll(t, c, newMemStore())
	comments := 0
	for _, r := range res.Records {
		if r.Kind == feedback.KindComment {
			comments++
		}
	}
	// search (2 embedded) + comment pages at startAt 2 and 4.
	if comments != 5 || res.Stats.Requests != 3 || len(f.reqs()) != 3 {
		t.Errorf("comments %d, requests %d (server %d: %v)", comments, res.Stats.Requests, len(f.reqs()), f.reqs())
	}
}

// TestRequestsPerPoll measures what a poll costs for 0, 1 and 250 changed issues
// (page size 100, comments embedded in the search answer).
func TestRequestsPerPoll(t *testing.T) {
	for _, tt := range []struct{ changed, want int }{{0, 1}, {1, 1}, {250, 3}} {
		t.Run(fmt.Sprintf("%d changed", tt.changed), func(t *testing.T) {
			f := newFakeJira(t, time.UTC)
			for i := 1; i <= 300; i++ {
				f.add(fmt.Sprintf("BBCOM-%d", i), t0.Add(-48*time.Hour+time.Duration(i)*time.Minute), 1)
			}
			c, clk := setup(t, f, t0, nil)
			st := newMemStore()
			poll(t, c, st)
			clk.Advance(10 * time.Minute)
			for i := 1; i <= tt.changed; i++ {
				f.touch(fmt.Sprintf("BBCOM-%d", i), clk.Now().Add(-time.Minute+time.Duration(i)*time.Millisecond))
			}
			f.resetReqs()
			res := poll(t, c, st)
			t.Logf("%d changed issues: %d requests, %d records", tt.changed, res.Stats.Requests, len(res.Records))
			if res.Stats.Requests != tt.want || len(f.reqs()) != tt.want || searchCalls(f.reqs()) != tt.want {
				t.Errorf("requests = %d (server saw %d), want %d", res.Stats.Requests, len(f.reqs()), tt.want)
			}
			if len(res.Records) != 2*tt.changed {
				t.Errorf("records = %d, want %d (issue + new comment each)", len(res.Records), 2*tt.changed)
			}
		})
	}
}

func TestMaxRecordsCutsAPollShortAndTheNextContinues(t *testing.T) {
	f := newFakeJira(t, time.UTC)
	for i := 1; i <= 5; i++ {
		f.add(fmt.Sprintf("BBCOM-%d", i), t0.Add(-time.Hour+time.Duration(i)*time.Second), 0)
	}
	c, _ := setup(t, f, t0, nil)
	c.set.pageSize, c.set.maxRecords = 2, 2
	st := newMemStore()
	total := 0
	for i := 0; i < 5; i++ {
		total += len(poll(t, c, st).Records)
	}
	if total != 5 || st.count(feedback.KindIssue, "") != 5 {
		t.Errorf("records over polls = %d, stored %d; want 5", total, st.count(feedback.KindIssue, ""))
	}
}

func TestAPIVersion2UsesWikiText(t *testing.T) {
	f := newFakeJira(t, time.UTC)
	f.add("BBCOM-1", t0.Add(-time.Minute), 1)
	c, _ := setup(t, f, t0, func(j *config.JiraSource) { j.APIVersion = 2 })
	res := poll(t, c, newMemStore())
	if !strings.HasPrefix(f.reqs()[0], "/rest/api/2/search/jql?") {
		t.Errorf("called %s", f.reqs()[0])
	}
	if res.Records[0].Body != "Prueba de creación de tareas en un proyecto público" || res.Records[1].Body != "Comment 7100 on BBCOM-1" {
		t.Errorf("bodies %q / %q", res.Records[0].Body, res.Records[1].Body)
	}
}

func TestDataCenterUsesSearchWithStartAtAndBearer(t *testing.T) {
	f := newFakeJira(t, time.UTC)
	f.dataCenter = true
	f.auth = "Bearer pat-secret-xyz"
	for i := 1; i <= 3; i++ {
		f.add(fmt.Sprintf("BBCOM-%d", i), t0.Add(-time.Duration(i)*time.Minute), 0)
	}
	t.Setenv("FH_TEST_JIRA_PAT", "pat-secret-xyz")
	c, _ := setup(t, f, t0, func(j *config.JiraSource) {
		j.EmailEnv, j.TokenEnv, j.PATEnv = "", "", "FH_TEST_JIRA_PAT"
	})
	c.set.pageSize = 2
	res := poll(t, c, newMemStore())
	reqs := f.reqs()
	if len(res.Records) != 3 || len(reqs) != 2 || !strings.HasPrefix(reqs[0], "/rest/api/2/search?") || !strings.Contains(reqs[1], "startAt=2") {
		t.Errorf("records %d, requests %v", len(res.Records), reqs)
	}
}

func TestCloudSearchMissingIsExplained(t *testing.T) {
	f := newFakeJira(t, time.UTC)
	f.dataCenter = true // a Data Center site configured with Cloud credentials
	c, _ := setup(t, f, t0, nil)
	_, err := c.Poll(context.Background(), feedback.Cursor{})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "pat_env") {
		t.Fatalf("err = %v", err)
	}
}

func TestBadCursorIsAnError(t *testing.T) {
	f := newFakeJira(t, time.UTC)
	c, _ := setup(t, f, t0, nil)
	if _, err := c.Poll(context.Background(), feedback.Cursor{Value: "2024-01-01"}); err == nil {
		t.Fatal("want an error")
	}
	if len(f.reqs()) != 0 {
		t.Errorf("requests made with a bad cursor")
	}
}

func TestNewRejectsMissingSecrets(t *testing.T) {
	src := config.Source{Name: "jira", Kind: config.KindJira, Jira: &config.JiraSource{
		BaseURL: "https://acme.atlassian.net", JQL: "project = FB", EmailEnv: "FH_TEST_NOPE_EMAIL", TokenEnv: "FH_TEST_NOPE_TOKEN",
		APIVersion: 3, PollInterval: config.Duration(time.Minute), WebhookSecretEnv: "FH_TEST_NOPE_SECRET",
	}}
	_, err := New(src, connectors.Env{Config: config.Default(t.TempDir())})
	if err == nil || !strings.Contains(err.Error(), "FH_TEST_NOPE_TOKEN") || !strings.Contains(err.Error(), "FH_TEST_NOPE_SECRET") {
		t.Fatalf("err = %v", err)
	}
	if _, err := New(config.Source{Name: "x", Kind: config.KindGitHub}, connectors.Env{}); err == nil {
		t.Fatal("want an error for a non-jira source")
	}
}

func TestRegistryBuild(t *testing.T) {
	r := connectors.NewRegistry()
	if err := r.Register(Kind, New); err != nil {
		t.Fatal(err)
	}
	f := newFakeJira(t, time.UTC)
	t.Setenv("FH_TEST_JIRA_EMAIL", testEmail)
	t.Setenv("FH_TEST_JIRA_TOKEN", testToken)
	c, err := r.Build(config.Source{Name: "jira", Kind: config.KindJira, Jira: &config.JiraSource{
		BaseURL: f.srv.URL, JQL: "project = FB", EmailEnv: "FH_TEST_JIRA_EMAIL", TokenEnv: "FH_TEST_JIRA_TOKEN",
		APIVersion: 3, PollInterval: config.Duration(time.Minute),
	}}, connectors.Env{Config: config.Default(t.TempDir()), HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(connectors.WebhookReceiver); !ok || c.Name() != "jira" || c.Kind() != "jira" {
		t.Errorf("built %T %s/%s", c, c.Name(), c.Kind())
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
}
