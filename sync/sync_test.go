package sync

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
	"github.com/feedbackhub/feedbackhub/triage"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// partnerSecret is a test Standard Webhooks secret (24 bytes).
var partnerSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("northwind-test-secret-24"))

// bundle is one test's world: a store, fakes, a syncer.
type bundle struct {
	ctx      context.Context
	st       *store.Store
	clk      *clock.Fake
	jira     *fakeJira
	gh       *fakeGitHub
	smtp     *smtpServer
	callback *callbackSink
	sy       *Syncer
}

// callbackSink is a partner endpoint that verifies Standard Webhooks signatures.
type callbackSink struct {
	mu       stdsync.Mutex
	srv      *httptest.Server
	received []http.Header
	bodies   []string
	bad      int
}

func newCallbackSink(t testing.TB) *callbackSink {
	c := &callbackSink{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(partnerSecret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "."))
		mac.Write(body)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		c.mu.Lock()
		defer c.mu.Unlock()
		if !hmac.Equal([]byte(want), []byte(r.Header.Get("webhook-signature"))) {
			c.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		c.received = append(c.received, r.Header.Clone())
		c.bodies = append(c.bodies, string(body))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func targets(t testing.TB, mod func(*config.SyncTarget)) []*Target {
	t.Helper()
	cfgs := []config.SyncTarget{
		{Name: "fb", Kind: "jira", Source: "jira-src", Project: "FB", IssueType: "Bug", Labels: []string{"needs triage"},
			Priorities: map[string]string{"low": "Low", "high": "High", "critical": "Highest"},
			Components: map[string][]string{"deployment": {"Deploy"}}},
		{Name: "gh", Kind: "github", Source: "gh-src", Repo: "acme/widgets", Labels: []string{"from-feedback"},
			Priorities: map[string]string{"high": "priority:high", "critical": "priority:critical"}},
	}
	var out []*Target
	for _, c := range cfgs {
		if mod != nil {
			mod(&c)
		}
		ct, err := CompileTarget(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ct)
	}
	return out
}

// newBundle builds a syncer against fakes on st.
func newBundle(t testing.TB, st *store.Store, clk *clock.Fake, mod func(*config.SyncTarget)) *bundle {
	t.Helper()
	b := &bundle{ctx: context.Background(), st: st, clk: clk, jira: newFakeJira(t, clk), gh: newFakeGitHub(t, clk),
		smtp: newSMTPServer(t), callback: newCallbackSink(t)}
	tpl, err := CompileTemplates(config.SyncTemplates{})
	if err != nil {
		t.Fatal(err)
	}
	b.sy = &Syncer{Store: st, Targets: targets(t, mod), Defaults: map[string]string{"deployment": "fb", "*": "gh"},
		SourceKinds: map[string]string{"jira-src": "jira", "gh-src": "github", "inbox": "imap", "partners": "webhook", "csv": "file"},
		Partners: map[string]Partner{"northwind": {ID: "northwind", Name: "Northwind", CallbackURL: b.callback.srv.URL, Secret: partnerSecret},
			"acme": {ID: "acme", Name: "Acme"}},
		Mailer:    &SMTPMailer{Addr: b.smtp.Addr(), From: "hub@feedbackhub.example", Clock: clk},
		Templates: tpl, PublicURL: "https://hub.example.com", Clock: clk}
	b.sy.Callbacks = connectors.NewClient(nil, clk, nil, connectors.Policy{MaxAttempts: 3})
	b.wire()
	return b
}

// wire (re)creates the trackers, as a restarted process would.
func (b *bundle) wire() {
	jc := connectors.NewClient(b.jira.srv.Client(), b.clk, nil, connectors.Policy{})
	gc := connectors.NewClient(b.gh.srv.Client(), b.clk, nil, connectors.Policy{})
	ghTr, _ := NewGitHubTracker(b.gh.srv.URL, "ghp_test", gc)
	b.sy.Trackers = map[string]Tracker{
		"jira-src": &JiraTracker{BaseURL: b.jira.srv.URL, Auth: "Basic dGVzdA==", Client: jc},
		"gh-src":   ghTr,
	}
}

var recSeq int

// addItem ingests a record and makes it an item of cluster c.
func addItem(t testing.TB, st *store.Store, c int64, r feedback.Record, partner string) feedback.Item {
	t.Helper()
	ctx := context.Background()
	recSeq++
	if r.Revision == "" {
		r.Revision = "1"
	}
	if r.Kind == "" {
		r.Kind = feedback.KindIssue
	}
	r.CreatedAt, r.UpdatedAt = t0, t0
	res, err := st.Ingest(ctx, r.Source, []feedback.Record{r}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.UpsertItem(ctx, feedback.Item{Source: r.Source, Kind: r.Kind, ExternalID: r.ExternalID, URL: r.URL, Title: r.Title,
		Author: r.Author, Partner: partner, RecordID: res.IDs[0], CreatedAt: t0, UpdatedAt: t0.Add(time.Duration(recSeq) * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.LinkItem(ctx, feedback.ClusterLink{ClusterID: c, ItemID: id, Evidence: "manual"}); err != nil {
		t.Fatal(err)
	}
	it, err := st.Item(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// cluster makes a triaged cluster with one item of every channel.
func (b *bundle) cluster(t testing.TB, cat feedback.Category, sev feedback.Severity) int64 {
	t.Helper()
	id, err := b.st.CreateCluster(b.ctx, feedback.Cluster{Title: "Deploys fail with 502", Status: feedback.StatusTriaged, Category: cat, Severity: sev})
	if err != nil {
		t.Fatal(err)
	}
	n := strconv.FormatInt(id, 10)
	addItem(t, b.st, id, feedback.Record{Source: "inbox", Kind: feedback.KindEmail, ExternalID: "<orig-" + n + "@northwind.example>",
		Title: "Deploy broken", Author: "Ana", AuthorEmail: "ana@northwind.example", ThreadRefs: []string{"<root-" + n + "@northwind.example>"}}, "northwind")
	b.seed(int(id))
	addItem(t, b.st, id, feedback.Record{Source: "gh-src", ExternalID: "acme/support#" + n, Title: "502 on deploy", Author: "octocat",
		URL: "https://github.example/acme/support/issues/" + n}, "acme")
	addItem(t, b.st, id, feedback.Record{Source: "jira-src", ExternalID: "SUP-" + n, Title: "Deployment error", Author: "bob"}, "unknown")
	addItem(t, b.st, id, feedback.Record{Source: "partners", Kind: feedback.KindEvent, ExternalID: "northwind:evt-" + n, Title: "deploy failed"}, "northwind")
	return id
}

// seed puts the source issues the reporters filed into the fakes: acme/support#1..n
// on GitHub and SUP-n on Jira.
func (b *bundle) seed(n int) {
	b.gh.mu.Lock()
	for len(b.gh.issues["acme/support"]) < n {
		k := len(b.gh.issues["acme/support"]) + 1
		b.gh.issues["acme/support"] = append(b.gh.issues["acme/support"], &ghFakeIssue{Number: k, Title: "report", State: "open"})
	}
	b.gh.mu.Unlock()
	b.jira.mu.Lock()
	b.jira.issues = append(b.jira.issues, &jiraFakeIssue{Key: "SUP-" + strconv.Itoa(n), Status: "Open", Links: map[string]json.RawMessage{}})
	b.jira.mu.Unlock()
}

func (b *bundle) drain(t testing.TB) DrainReport {
	t.Helper()
	rep, err := b.sy.Drain(b.ctx, DrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestDeliverCreatesOnceWithEverything(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewFake(t0)
		b := newBundle(t, st, clk, nil)
		c := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh)
		g := b.cluster(t, feedback.CategoryBilling, feedback.SeverityCritical)
		for _, id := range []int64{c, g} {
			res, err := b.sy.Accept(b.ctx, id, "ana", "partners blocked")
			if err != nil || !res.Queued {
				t.Fatalf("accept %d = %+v, %v", id, res, err)
			}
		}
		if _, err := b.sy.Accept(b.ctx, c, "ana", "again"); err == nil {
			t.Fatal("accepting an accepted cluster succeeded")
		}
		// Dry run: the plan, and no call to anything.
		rep, err := b.sy.Drain(b.ctx, DrainOptions{DryRun: true})
		if err != nil || len(rep.Planned) != 2 || b.jira.requests+b.gh.requests != 0 {
			t.Fatalf("dry run = %+v, %v; requests %d/%d", rep, err, b.jira.requests, b.gh.requests)
		}
		if p := rep.Planned[0]; p.Target != "fb" || p.Where != "FB" || !strings.Contains(p.Issue.Description, "https://github.example/acme/support/issues/") {
			t.Fatalf("plan = %+v", p)
		}
		rep = b.drain(t)
		if rep.Delivered != 2 || rep.Dead+rep.Retrying != 0 {
			t.Fatalf("drain = %+v", rep)
		}
		js := b.jira.withLabel(MarkerLabel(c))
		if len(js) != 1 {
			t.Fatalf("jira issues for cluster = %d", len(js))
		}
		is := js[0]
		desc := string(is.Description)
		for _, want := range []string{"4 reports from 2 partner(s): Acme, Northwind", "SUP-" + strconv.FormatInt(c, 10), "https://github.example/acme/support/issues/",
			"Severity: high", "SLA: none", "https://hub.example.com/clusters/"} {
			if !strings.Contains(desc, want) {
				t.Errorf("description lacks %q:\n%s", want, desc)
			}
		}
		if !contains(is.Labels, "needs-triage") || !contains(is.Labels, "feedbackhub") || is.Priority != "High" || is.Components[0] != "Deploy" {
			t.Errorf("jira issue = %+v", is)
		}
		if _, ok := is.Links[Marker(c)]; !ok || len(is.Links) != 1 {
			t.Errorf("remote links = %v", is.Links)
		}
		gi := b.gh.withMarker("acme/widgets", "<!-- "+Marker(g)+" -->")
		if len(gi) != 1 || !contains(gi[0].Labels, "priority:critical") || !contains(gi[0].Labels, "from-feedback") {
			t.Fatalf("github issues = %+v", gi)
		}
		ts, _ := st.Tickets(b.ctx, store.TicketFilter{})
		if len(ts) != 2 || ts[0].RemoteKey != is.Key || ts[1].RemoteKey != "acme/widgets#1" || len(ts[0].Items) != 4 {
			t.Fatalf("tickets = %+v", ts)
		}
		// Nothing left: a second drain creates nothing.
		before := b.jira.creates + b.gh.creates
		if rep := b.drain(t); rep.Delivered != 0 || b.jira.creates+b.gh.creates != before {
			t.Fatalf("second drain = %+v", rep)
		}
	})
}

func TestCrashAfterRemoteCreateBeforeCommit(t *testing.T) {
	for _, kind := range []string{"jira", "github"} {
		t.Run(kind, func(t *testing.T) {
			clk := clock.NewFake(t0)
			failed := 0
			st := storetest.OpenSQLite(t, store.WithClock(clk.Now), store.WithHooks(store.Hooks{BeforeCommit: func(op string) error {
				if op == "ticket-save" && failed == 0 {
					failed++
					return errors.New("injected: process died before commit")
				}
				return nil
			}}))
			if _, err := st.MigrateUp(context.Background()); err != nil {
				t.Fatal(err)
			}
			b := newBundle(t, st, clk, nil)
			cat := feedback.CategoryDeployment
			if kind == "github" {
				cat = feedback.CategoryBilling
				b.gh.searchLags = true // the search index has not seen the new issue
			}
			c := b.cluster(t, cat, feedback.SeverityHigh)
			if _, err := b.sy.Accept(b.ctx, c, "ana", "go"); err != nil {
				t.Fatal(err)
			}
			rep := b.drain(t)
			if rep.Retrying != 1 || failed != 1 {
				t.Fatalf("first drain = %+v (failed %d)", rep, failed)
			}
			b.wire()
			clk.Advance(time.Hour)
			if rep := b.drain(t); rep.Delivered != 1 {
				t.Fatalf("recovery drain = %+v", rep)
			}
			n := len(b.jira.withLabel(MarkerLabel(c))) + len(b.gh.withMarker("acme/widgets", Marker(c)))
			if n != 1 || b.jira.creates+b.gh.creates != 1 {
				t.Fatalf("remote tickets = %d, creates = %d; want 1", n, b.jira.creates+b.gh.creates)
			}
			ts, _ := st.Tickets(b.ctx, store.TicketFilter{ClusterID: c})
			ds, _ := st.Decisions(b.ctx, store.DecisionFilter{Target: "cluster:" + strconv.FormatInt(c, 10)})
			if len(ts) != 1 || !strings.Contains(ds[len(ds)-1].Reason, "adopted") {
				t.Fatalf("tickets = %+v, last decision = %+v", ts, ds[len(ds)-1])
			}
		})
	}
}

func TestRateLimitedCreateWaitsAndCreatesOnce(t *testing.T) {
	clk := clock.NewFake(t0)
	st := storetest.OpenSQLite(t, store.WithClock(clk.Now))
	if _, err := st.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := newBundle(t, st, clk, nil)
	b.jira.lim.fail429, b.jira.lim.retry = 1, 7
	c := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh)
	if _, err := b.sy.Accept(b.ctx, c, "ana", "go"); err != nil {
		t.Fatal(err)
	}
	if rep := b.drain(t); rep.Delivered != 1 {
		t.Fatalf("drain = %+v", rep)
	}
	if b.jira.creates != 1 || b.jira.lim.limited != 1 || len(b.jira.withLabel(MarkerLabel(c))) != 1 {
		t.Fatalf("creates %d, 429s %d", b.jira.creates, b.jira.lim.limited)
	}
	if s := clk.Sleeps(); len(s) != 1 || s[0] != 7*time.Second {
		t.Fatalf("sleeps = %v, want [7s]", s)
	}
}

func TestPermanentFailureDeadLettersAndRetry(t *testing.T) {
	clk := clock.NewFake(t0)
	st := storetest.OpenSQLite(t, store.WithClock(clk.Now))
	if _, err := st.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := newBundle(t, st, clk, nil)
	// A wrong base URL: every call answers 404, which no retry fixes.
	b.sy.Trackers["jira-src"].(*JiraTracker).BaseURL = b.jira.srv.URL + "/missing"
	c := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh)
	res, err := b.sy.Accept(b.ctx, c, "ana", "go")
	if err != nil {
		t.Fatal(err)
	}
	rep := b.drain(t)
	if rep.Dead != 1 {
		t.Fatalf("drain = %+v", rep)
	}
	dead, _ := st.ListOutbox(b.ctx, store.OutboxFilter{Status: store.OutboxDead})
	if len(dead) != 1 || !strings.Contains(dead[0].LastError, "HTTP 404") || strings.Contains(dead[0].LastError, "dGVzdA==") {
		t.Fatalf("dead = %+v", dead)
	}
	b.sy.Trackers["jira-src"].(*JiraTracker).BaseURL = b.jira.srv.URL
	if _, err := st.RetryOutbox(b.ctx, res.OutboxID); err != nil {
		t.Fatal(err)
	}
	if rep := b.drain(t); rep.Delivered != 1 || b.jira.creates != 1 {
		t.Fatalf("after retry = %+v, creates %d", rep, b.jira.creates)
	}
}

// resolve creates the cluster's ticket and marks the remote ticket done through a
// webhook body, as the Jira connector would hand it over.
func jiraWebhook(key, status, priority string) []byte {
	b, _ := json.Marshal(map[string]any{"webhookEvent": "jira:issue_updated", "issue": map[string]any{"key": key,
		"fields": map[string]any{"status": map[string]string{"name": status}, "priority": map[string]string{"name": priority}}}})
	return b
}

func TestStatusBackClosesTheLoopOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		b := newBundle(t, st, clock.NewFake(t0), nil)
		c, tk := b.acceptedTicket(t)
		// Our own priority coming back is not a change.
		ev, err := ParseJiraWebhook(jiraWebhook(tk.RemoteKey, "To Do", "High"))
		if err != nil {
			t.Fatal(err)
		}
		if a, err := b.sy.ApplyRemote(b.ctx, ev); err != nil || len(a.Moved) != 0 || a.Severity != "" {
			t.Fatalf("echo = %+v, %v", a, err)
		}
		ev, _ = ParseJiraWebhook(jiraWebhook(tk.RemoteKey, "Done", "High"))
		a, err := b.sy.ApplyRemote(b.ctx, ev)
		if err != nil || !a.Notify || len(a.Moved) != 2 || a.Moved[1] != feedback.StatusResolved {
			t.Fatalf("done = %+v, %v", a, err)
		}
		// A retried webhook delivery changes nothing.
		if a, err := b.sy.ApplyRemote(b.ctx, ev); err != nil || a.Notify || len(a.Moved) != 0 {
			t.Fatalf("redelivery = %+v, %v", a, err)
		}
		rep := b.drain(t)
		if rep.Delivered != 1 || len(rep.Errors) != 0 {
			t.Fatalf("notify drain = %+v", rep)
		}
		assertToldOnce(t, b, c)
		// A second run sends nothing.
		if _, err := b.sy.ApplyRemote(b.ctx, ev); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Enqueue(b.ctx, store.OutboxRow{IdempotencyKey: "notify:resolved:again", Kind: KindNotify, Target: "fb", ClusterID: c}); err != nil {
			t.Fatal(err)
		}
		b.drain(t)
		assertToldOnce(t, b, c)
		got, _ := st.Cluster(b.ctx, c)
		if got.Status != feedback.StatusLoopClosed {
			t.Fatalf("cluster status = %s, want loop_closed", got.Status)
		}
	})
}

func assertToldOnce(t *testing.T, b *bundle, c int64) {
	t.Helper()
	n := strconv.FormatInt(c, 10)
	msgs := b.smtp.messages()
	if len(msgs) != 1 {
		t.Fatalf("emails = %d, want 1", len(msgs))
	}
	m := msgs[0].Data
	for _, want := range []string{"In-Reply-To: <orig-" + n + "@northwind.example>",
		"References: <root-" + n + "@northwind.example> <orig-" + n + "@northwind.example>",
		"Message-ID: <fh-notify.resolved." + n + ".", "@feedbackhub>", "Subject: Re: Deploy broken", "To: ana@northwind.example"} {
		if !strings.Contains(m, want) {
			t.Errorf("email lacks %q:\n%s", want, m)
		}
	}
	b.gh.mu.Lock()
	ghComments := b.gh.issues["acme/support"][c-1].Comments
	b.gh.mu.Unlock()
	b.jira.mu.Lock()
	jiraComments := b.jira.issue("SUP-" + n).Comments
	b.jira.mu.Unlock()
	if len(ghComments) != 1 || !strings.Contains(ghComments[0], "has been resolved") || len(jiraComments) != 1 {
		t.Fatalf("source comments: github %q, jira %q; want one each", ghComments, jiraComments)
	}
	b.callback.mu.Lock()
	cb, bad := len(b.callback.received), b.callback.bad
	b.callback.mu.Unlock()
	if cb != 1 || bad != 0 {
		t.Fatalf("callbacks = %d (bad signatures %d), want 1", cb, bad)
	}
	ns, _ := b.st.Notifications(b.ctx, store.NotificationFilter{ClusterID: c})
	sent := 0
	for _, x := range ns {
		if x.Status == store.NotificationSent {
			sent++
		}
	}
	if len(ns) != 4 || sent != 4 {
		t.Fatalf("notifications = %+v", ns)
	}
	ds, _ := b.st.Decisions(b.ctx, store.DecisionFilter{Target: "cluster:" + n})
	notify := 0
	for _, d := range ds {
		if d.Action == feedback.ActionNotify {
			notify++
		}
	}
	if notify != 4 {
		t.Fatalf("notify decisions = %d, want 4", notify)
	}
}

func TestUpdatesAndAuthority(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewFake(t0)
		b := newBundle(t, st, clk, nil)
		c := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh)
		if _, err := b.sy.Accept(b.ctx, c, "ana", "go"); err != nil {
			t.Fatal(err)
		}
		b.drain(t)
		tk, _ := st.TicketFor(b.ctx, c, "fb")
		remote := b.jira.issue(tk.RemoteKey)

		// Two new items join: one batched comment.
		addItem(t, st, c, feedback.Record{Source: "csv", ExternalID: "row-1", Title: "also broken"}, "acme")
		addItem(t, st, c, feedback.Record{Source: "csv", ExternalID: "row-2", Title: "same here"}, "globex")
		rep := b.drain(t)
		if rep.Queued != 1 || rep.Delivered != 1 || len(remote.Comments) != 1 ||
			!strings.Contains(remote.Comments[0], "2 new report(s)") || !strings.Contains(remote.Comments[0], "row-2") {
			t.Fatalf("update drain = %+v, comments %q", rep, remote.Comments)
		}
		if rep := b.drain(t); rep.Queued != 0 || len(remote.Comments) != 1 {
			t.Fatalf("second update drain = %+v, comments %d", rep, len(remote.Comments))
		}

		// Severity raised in the hub while someone lowers the priority and starts work in Jira.
		cl, _ := st.Cluster(b.ctx, c)
		cl.Severity = feedback.SeverityCritical
		if _, err := st.ApplyDecision(b.ctx, store.DecisionWrite{Cluster: &cl, Decision: feedback.Decision{Actor: "ana", Action: feedback.ActionSeverity,
			Target: "cluster:" + strconv.FormatInt(c, 10), Before: "high", After: "critical", Reason: "three partners"}}); err != nil {
			t.Fatal(err)
		}
		b.jira.mu.Lock()
		remote.Priority, remote.Status = "Low", "In Progress"
		b.jira.mu.Unlock()
		applied, err := b.sy.Poll(b.ctx)
		if err != nil || len(applied) != 1 {
			t.Fatalf("poll = %+v, %v", applied, err)
		}
		a := applied[0]
		if len(a.Moved) != 1 || a.Moved[0] != feedback.StatusInProgress || a.Severity != "" || len(a.Ignored) != 1 || !strings.Contains(a.Ignored[0], "hub has authority") {
			t.Fatalf("applied = %+v", a)
		}
		cl, _ = st.Cluster(b.ctx, c)
		if cl.Status != feedback.StatusInProgress || cl.Severity != feedback.SeverityCritical {
			t.Fatalf("cluster = %s/%s, want in_progress (remote wins) and critical (hub wins)", cl.Status, cl.Severity)
		}
		// The hub's priority goes back out, and its echo changes nothing.
		if rep := b.drain(t); rep.Delivered != 1 || remote.Priority != "Highest" {
			t.Fatalf("priority drain = %+v, remote priority %s", rep, remote.Priority)
		}
		applied, _ = b.sy.Poll(b.ctx)
		if len(applied) != 1 || len(applied[0].Moved) != 0 || len(applied[0].Ignored) != 0 {
			t.Fatalf("echo poll = %+v", applied)
		}
		if rep := b.drain(t); rep.Queued != 0 || rep.Delivered != 0 {
			t.Fatalf("after echo = %+v", rep)
		}
	})
}

func TestRemoteAuthorityOverSeverity(t *testing.T) {
	clk := clock.NewFake(t0)
	st := storetest.OpenSQLite(t, store.WithClock(clk.Now))
	if _, err := st.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := newBundle(t, st, clk, func(c *config.SyncTarget) { c.Authority = map[string]string{"severity": "remote", "status": "hub"} })
	c := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh)
	if _, err := b.sy.Accept(b.ctx, c, "ana", "go"); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	tk, _ := st.TicketFor(b.ctx, c, "fb")
	a, err := b.sy.ApplyRemote(b.ctx, RemoteEvent{Key: tk.RemoteKey, Status: "Done", Priority: "Low", Via: "test"})
	if err != nil || a.Severity != feedback.SeverityLow || len(a.Moved) != 0 || !strings.Contains(strings.Join(a.Ignored, ";"), "hub has authority") {
		t.Fatalf("applied = %+v, %v", a, err)
	}
	cl, _ := st.Cluster(b.ctx, c)
	if cl.Severity != feedback.SeverityLow || cl.Status != feedback.StatusAccepted {
		t.Fatalf("cluster = %s/%s", cl.Status, cl.Severity)
	}
	if rep := b.drain(t); rep.Queued != 0 {
		t.Fatalf("a remote-owned priority was pushed back: %+v", rep)
	}
}

func TestWebhookAndRecordParsing(t *testing.T) {
	ev, err := ParseGitHubWebhook([]byte(`{"action":"closed","issue":{"number":7,"state":"closed","labels":[{"name":"priority:high"}]},"repository":{"full_name":"Acme/Widgets"}}`))
	if err != nil || ev.Key != "acme/widgets#7" || ev.Status != "closed" || ev.Priority != "priority:high" {
		t.Fatalf("github = %+v, %v", ev, err)
	}
	if _, err := ParseJiraWebhook([]byte(`{"webhookEvent":"comment_created"}`)); err == nil {
		t.Fatal("jira webhook without issue accepted")
	}
	ev, ok := EventFromRecord(feedback.Record{Kind: feedback.KindIssue, Source: "j", ExternalID: "FB-3", State: "Done", Meta: map[string]string{"priority": "High"}}, "jira")
	if !ok || ev.Key != "FB-3" || ev.Priority != "High" {
		t.Fatalf("record = %+v", ev)
	}
	if _, ok := EventFromRecord(feedback.Record{Kind: feedback.KindComment}, "jira"); ok {
		t.Fatal("comment record read as a status event")
	}
	if jiraLabel("needs  triage ") != "needs-triage" {
		t.Fatal(jiraLabel("needs  triage "))
	}
	if p := statusPath(feedback.StatusResolved, feedback.StatusInProgress); len(p) != 3 {
		t.Fatalf("path = %v", p)
	}
}

func TestSignWebhook(t *testing.T) {
	// Standard Webhooks' published test vector.
	sig, err := SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil || sig != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("sig = %s, %v", sig, err)
	}
	if _, err := SignWebhook("nope!", "a", 1, nil); err == nil {
		t.Fatal("bad secret accepted")
	}
}

// TestDryRunTargetIsNeverSent: a plan-only target's tickets are planned but never
// sent, and its outbox rows stay pending (no attempt counted, never dead), while the
// other target delivers as usual.
func TestDryRunTargetIsNeverSent(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewFake(t0)
		b := newBundle(t, st, clk, func(c *config.SyncTarget) {
			if c.Name == "gh" {
				c.DryRun = true
			}
		})
		c := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh)  // → fb (jira)
		g := b.cluster(t, feedback.CategoryBilling, feedback.SeverityCritical) // → gh (plan-only)
		for _, id := range []int64{c, g} {
			if _, err := b.sy.Accept(b.ctx, id, "ana", "partners blocked"); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			clk.Advance(time.Hour)
			if rep := b.drain(t); rep.Dead+rep.Retrying != 0 {
				t.Fatalf("drain = %+v", rep)
			}
		}
		if len(b.jira.withLabel(MarkerLabel(c))) != 1 {
			t.Fatal("the jira target's ticket was not created")
		}
		if b.gh.creates != 0 {
			t.Fatalf("%d GitHub issues created for a plan-only target", b.gh.creates)
		}
		rows, err := st.ListOutbox(b.ctx, store.OutboxFilter{Status: store.OutboxPending})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].ClusterID != g || rows[0].Target != "gh" || rows[0].Attempts != 0 {
			t.Fatalf("pending rows = %+v, want the plan-only ticket untouched", rows)
		}
		plan, err := b.sy.Plan(b.ctx)
		if err != nil || len(plan) != 1 || plan[0].ClusterID != g || plan[0].Where != "acme/widgets" {
			t.Fatalf("plan = %+v, %v", plan, err)
		}
	})
}

// TestStatusBackDuringUpdateStays: the tracker reports a new status while an update
// is being delivered (its comment in flight). The update's write must not put back
// the status it read before, and the status report must not drop the items the
// update listed: both patch the ticket.
func TestStatusBackDuringUpdateStays(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		b := newBundle(t, st, clock.NewFake(t0), nil)
		c, tk := b.acceptedTicket(t)
		var applied Applied
		var applyErr error
		b.jira.onComment = func(key string) {
			b.jira.onComment = nil
			applied, applyErr = b.sy.ApplyRemote(b.ctx, RemoteEvent{Key: key, Status: "In Progress", Priority: "Low", Via: "webhook"})
		}
		it := addItem(t, st, c, feedback.Record{Source: "csv", ExternalID: "row-1", Title: "also broken"}, "acme")
		if rep := b.drain(t); rep.Delivered != 1 {
			t.Fatalf("update drain = %+v", rep)
		}
		if applyErr != nil || len(applied.Moved) != 1 {
			t.Fatalf("status back during the update = %+v, %v", applied, applyErr)
		}
		got, err := st.TicketFor(b.ctx, c, "fb")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "In Progress" {
			t.Errorf("ticket status = %q after the update, want the tracker's %q (the update wrote back the %q it read)", got.Status, "In Progress", tk.Status)
		}
		if !slices.Contains(got.Items, it.ID) {
			t.Errorf("ticket items = %v, want the listed item %d", got.Items, it.ID)
		}
		if got.RemotePriority != "Low" {
			t.Errorf("ticket remote priority = %q, want the tracker's Low (the update wrote back what it read)", got.RemotePriority)
		}
		// The hub has authority over priority: the next drain sets it back.
		if rep := b.drain(t); rep.Delivered != 1 || b.jira.issue(tk.RemoteKey).Priority != got.Written["priority"] {
			t.Fatalf("priority drain = %+v, remote priority %q, want %q", rep, b.jira.issue(tk.RemoteKey).Priority, got.Written["priority"])
		}
		if got, _ := st.TicketFor(b.ctx, c, "fb"); got.Status != "In Progress" {
			t.Errorf("ticket status = %q after the priority update", got.Status)
		}
	})
}

// crashOnce makes delivery fail once at the fault point; *crashed says it did.
func (b *bundle) crashOnce(point string) *bool {
	crashed := new(bool)
	b.sy.Faults = func(p string) error {
		if p == point && !*crashed {
			*crashed = true
			return ErrInjected
		}
		return nil
	}
	return crashed
}

// mapStatuses gives the Jira target a status map with a status before accepted
// (To Do → triaged).
func mapStatuses(c *config.SyncTarget) {
	if c.Name == "fb" {
		c.StatusMap = map[string]string{"To Do": "triaged", "In Progress": "in_progress", "Done": "resolved"}
	}
}

// acceptedTicket makes a deployment cluster, accepts it and delivers its Jira ticket.
func (b *bundle) acceptedTicket(t *testing.T) (int64, store.TicketRecord) {
	t.Helper()
	c := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh)
	if _, err := b.sy.Accept(b.ctx, c, "ana", "go"); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	tk, err := b.st.TicketFor(b.ctx, c, "fb")
	if err != nil {
		t.Fatal(err)
	}
	return c, tk
}

// reopen moves a resolved cluster back to triaged as a person's reopen decision.
func reopen(t *testing.T, b *bundle, c int64) {
	t.Helper()
	cl, err := b.st.Cluster(b.ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := triage.Decide(cl, triage.Request{Action: feedback.ActionReopen, Target: triage.ClusterTarget(c), Actor: "ana", Reason: "Northwind sees it again"}, b.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.ApplyDecision(b.ctx, store.DecisionWrite{Cluster: &ch.After, ExpectStatus: ch.Before.Status, Decision: ch.Decision}); err != nil {
		t.Fatal(err)
	}
}

// TestReacceptAfterReopenReopensTheTicket: a cluster whose ticket was closed at the
// tracker is reopened and accepted again. Its ticket exists, so no second ticket is
// created; the closed ticket is reopened through the workflow (Jira) or the state
// (GitHub), told why, and the echo of that status changes nothing. A ticket the
// tracker never closed only gets the comment. A crash after the tracker calls
// repeats neither.
func TestReacceptAfterReopenReopensTheTicket(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewFake(t0)
		b := newBundle(t, st, clk, nil)
		jc := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh) // → fb (Jira)
		gc := b.cluster(t, feedback.CategoryBilling, feedback.SeverityHigh)    // → gh (GitHub)
		oc := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityLow)  // closed in the hub only
		for _, c := range []int64{jc, gc, oc} {
			if _, err := b.sy.Accept(b.ctx, c, "ana", "go"); err != nil {
				t.Fatal(err)
			}
		}
		b.drain(t)
		jt, _ := st.TicketFor(b.ctx, jc, "fb")
		gt, _ := st.TicketFor(b.ctx, gc, "gh")
		ot, _ := st.TicketFor(b.ctx, oc, "fb")
		for _, x := range []RemoteEvent{{Key: jt.RemoteKey, Status: "Done"}, {Key: gt.RemoteKey, Status: "closed"}} {
			if a, err := b.sy.ApplyRemote(b.ctx, x); err != nil || !a.Notify {
				t.Fatalf("close %s = %+v, %v", x.Key, a, err)
			}
		}
		b.jira.mu.Lock()
		b.jira.issue(jt.RemoteKey).Status = "Done"
		b.jira.mu.Unlock()
		b.gh.mu.Lock()
		b.gh.issues["acme/widgets"][0].State = "closed"
		b.gh.mu.Unlock()
		// oc is resolved in the hub while its ticket stays open at the tracker.
		ocl, _ := st.Cluster(b.ctx, oc)
		for _, to := range []feedback.Status{feedback.StatusInProgress, feedback.StatusResolved} {
			ch, err := triage.Decide(ocl, triage.Request{Action: feedback.ActionStatus, Value: string(to), Target: triage.ClusterTarget(oc), Actor: "ana", Reason: "fixed"}, clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.ApplyDecision(b.ctx, store.DecisionWrite{Cluster: &ch.After, ExpectStatus: ch.Before.Status, Decision: ch.Decision}); err != nil {
				t.Fatal(err)
			}
			ocl = ch.After
		}
		b.drain(t) // the resolved notices
		jiraCreates, ghCreates := b.jira.creates, b.gh.creates

		crashed := b.crashOnce("reopen:commit")
		for _, c := range []int64{jc, gc, oc} {
			reopen(t, b, c)
			res, err := b.sy.Accept(b.ctx, c, "ana", "it is back")
			if err != nil {
				t.Fatal(err)
			}
			if res.Queued || !res.Reopen {
				t.Fatalf("accept again %d = %+v, want a reopen queued and no create", c, res)
			}
		}
		// The crashed row is retried in the same drain, after its comment was posted.
		if rep := b.drain(t); rep.Delivered != 3 || rep.Retrying != 1 || !*crashed {
			t.Fatalf("reopen drain with a crash = %+v (crash injected: %v)", rep, *crashed)
		}
		if b.jira.creates != jiraCreates || b.gh.creates != ghCreates {
			t.Fatalf("creates jira %d→%d github %d→%d: accepting again made a second ticket", jiraCreates, b.jira.creates, ghCreates, b.gh.creates)
		}
		b.jira.mu.Lock()
		ji, oi := *b.jira.issue(jt.RemoteKey), *b.jira.issue(ot.RemoteKey)
		b.jira.mu.Unlock()
		b.gh.mu.Lock()
		gi := *b.gh.issues["acme/widgets"][0]
		b.gh.mu.Unlock()
		if ji.Status != "To Do" || gi.State != "open" || oi.Status != "To Do" {
			t.Fatalf("remote statuses jira %q github %q open-one %q, want To Do, open, To Do", ji.Status, gi.State, oi.Status)
		}
		for key, cs := range map[string][]string{jt.RemoteKey: ji.Comments, gt.RemoteKey: gi.Comments, ot.RemoteKey: oi.Comments} {
			n := 0
			for _, c := range cs {
				if strings.Contains(c, "Accepted again in feedbackhub by ana") && strings.Contains(c, "it is back") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s has %d reopen comments, want 1: %q", key, n, cs)
			}
		}
		for _, x := range []struct {
			c      int64
			target string
			status string
		}{{jc, "fb", "To Do"}, {gc, "gh", "open"}, {oc, "fb", "To Do"}} {
			tk, _ := st.TicketFor(b.ctx, x.c, x.target)
			if tk.Status != x.status {
				t.Errorf("ticket %s status = %q, want %q", tk.RemoteKey, tk.Status, x.status)
			}
			// The reopened status coming back is our own write.
			a, err := b.sy.ApplyRemote(b.ctx, RemoteEvent{Key: tk.RemoteKey, Status: x.status})
			if err != nil || len(a.Moved) != 0 || a.Notify {
				t.Errorf("echo of %s = %+v, %v", tk.RemoteKey, a, err)
			}
			if cl, _ := st.Cluster(b.ctx, x.c); cl.Status != feedback.StatusAccepted {
				t.Errorf("cluster %d = %s, want accepted", x.c, cl.Status)
			}
		}
		if rep := b.drain(t); rep.Queued != 0 || rep.Delivered != 0 {
			t.Fatalf("after the reopens = %+v", rep)
		}
	})
}

// TestJiraReopenPicksTheWayOutOfDone: the transition is chosen by the category of
// the status it leads to (ids and names differ per workflow): a "new" status first,
// else an in-progress one; a workflow with no way out of done is a permanent
// failure that names what it offers.
func TestJiraReopenPicksTheWayOutOfDone(t *testing.T) {
	for _, c := range []struct {
		name, transitions, wantID, wantStatus string
	}{
		{"to-do first", `[{"id":"5","to":{"name":"In Progress","statusCategory":{"key":"indeterminate"}}},{"id":"7","to":{"name":"Reopened","statusCategory":{"key":"new"}}}]`, "7", "Reopened"},
		{"in progress else", `[{"id":"2","to":{"name":"Closed","statusCategory":{"key":"done"}}},{"id":"5","to":{"name":"In Progress","statusCategory":{"key":"indeterminate"}}}]`, "5", "In Progress"},
		{"no way out", `[{"id":"2","to":{"name":"Closed","statusCategory":{"key":"done"}}}]`, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var posted string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/rest/api/3/issue/FB-1/transitions" {
					http.Error(w, "no", 404)
					return
				}
				if r.Method == http.MethodPost {
					b, _ := io.ReadAll(r.Body)
					posted = string(b)
					w.WriteHeader(http.StatusNoContent)
					return
				}
				fmt.Fprintf(w, `{"transitions":%s}`, c.transitions)
			}))
			defer srv.Close()
			j := &JiraTracker{BaseURL: srv.URL, Client: connectors.NewClient(srv.Client(), clock.NewFake(t0), nil, connectors.Policy{})}
			got, err := j.Reopen(context.Background(), "FB-1", nil)
			if c.wantID == "" {
				if err == nil || !isPermanent(err) || !strings.Contains(err.Error(), "Closed") || posted != "" {
					t.Fatalf("reopen = %q, %v (posted %q); want a permanent error naming Closed and no transition", got, err, posted)
				}
				return
			}
			if err != nil || got != c.wantStatus || !strings.Contains(posted, `"id":"`+c.wantID+`"`) {
				t.Fatalf("reopen = %q, %v, posted %s; want %s via transition %s", got, err, posted, c.wantStatus, c.wantID)
			}
		})
	}
}

// TestJiraDataCenterTarget: a target on a Jira Server/Data Center source (a personal
// access token) speaks REST API v2: descriptions and comments as strings, the marker
// found through /rest/api/2/search after a crash between create and commit, status
// back, and a reopen through the workflow. The fake refuses v3 calls and ADF bodies,
// as Data Center does.
func TestJiraDataCenterTarget(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewFake(t0)
		b := newBundle(t, st, clk, nil)
		b.jira.dc = true
		b.sy.Trackers["jira-src"] = &JiraTracker{BaseURL: b.jira.srv.URL, Auth: "Bearer pat", DataCenter: true,
			Client: connectors.NewClient(b.jira.srv.Client(), clk, nil, connectors.Policy{})}
		c1 := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh)
		c2 := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh)
		crashed := b.crashOnce("create:created")
		for _, c := range []int64{c1, c2} {
			if _, err := b.sy.Accept(b.ctx, c, "ana", "go"); err != nil {
				t.Fatal(err)
			}
		}
		if rep := b.drain(t); rep.Delivered != 2 || b.jira.creates != 2 || !*crashed {
			t.Fatalf("drain = %+v, %d creates; want 2 tickets, the crashed one adopted through /search", rep, b.jira.creates)
		}
		tk, err := st.TicketFor(b.ctx, c1, "fb")
		if err != nil {
			t.Fatal(err)
		}
		b.jira.mu.Lock()
		is := *b.jira.issue(tk.RemoteKey)
		b.jira.mu.Unlock()
		var desc string
		if err := json.Unmarshal(is.Description, &desc); err != nil || !strings.Contains(desc, "Deploy") {
			t.Fatalf("description = %s, %v; want a string naming the cluster", is.Description, err)
		}
		if !strings.HasPrefix(desc, "{noformat}\n") || !strings.HasSuffix(desc, "\n{noformat}") || strings.Count(desc, "{noformat}") != 2 {
			t.Fatalf("description %q is not one {noformat} block: partners' text would render as wiki markup", desc)
		}
		// Text that tries to close the block and mention someone stays inside it.
		if got := b.sy.Trackers["jira-src"].(*JiraTracker).rich("done {noformat} [~admin] {NOFORMAT}"); strings.Count(got.(string), "{noformat}") != 2 ||
			strings.Contains(strings.ToLower(got.(string)), "{noformat} [~admin]") {
			t.Fatalf("rich = %q", got)
		}
		addItem(t, st, c1, feedback.Record{Source: "csv", ExternalID: "row-dc", Title: "still broken"}, "acme")
		if rep := b.drain(t); rep.Delivered != 1 {
			t.Fatalf("update drain = %+v", rep)
		}
		b.jira.mu.Lock()
		comments := append([]string(nil), b.jira.issue(tk.RemoteKey).Comments...)
		b.jira.mu.Unlock()
		if len(comments) != 1 || !strings.HasPrefix(comments[0], `"`) || !strings.Contains(comments[0], "row-dc") {
			t.Fatalf("comments = %q, want one string comment listing row-dc", comments)
		}
		b.jira.mu.Lock()
		b.jira.issue(tk.RemoteKey).Status = "Done"
		b.jira.mu.Unlock()
		if a, err := b.sy.Poll(b.ctx); err != nil || len(a) == 0 {
			t.Fatalf("poll = %+v, %v", a, err)
		}
		if cl, _ := st.Cluster(b.ctx, c1); cl.Status != feedback.StatusResolved {
			t.Fatalf("cluster %d = %s after Done, want resolved", c1, cl.Status)
		}
		b.drain(t)
		reopen(t, b, c1)
		if res, err := b.sy.Accept(b.ctx, c1, "ana", "back again"); err != nil || !res.Reopen {
			t.Fatalf("accept again = %+v, %v", res, err)
		}
		if rep := b.drain(t); rep.Delivered != 1 || len(rep.Errors) != 0 {
			t.Fatalf("reopen drain = %+v", rep)
		}
		b.jira.mu.Lock()
		status := b.jira.issue(tk.RemoteKey).Status
		b.jira.mu.Unlock()
		if status != "To Do" {
			t.Fatalf("remote status = %q after the reopen, want To Do", status)
		}
	})
}

// TestNewTellsJiraDataCenterByItsToken: a Jira source with pat_env (the connector's
// Data Center setting) gets a Data Center tracker, one with email and API token a
// Cloud one.
func TestNewTellsJiraDataCenterByItsToken(t *testing.T) {
	t.Setenv("FH_T_PAT", "pat-secret")
	t.Setenv("FH_T_EMAIL", "ana@example.com")
	t.Setenv("FH_T_TOKEN", "api-token")
	y := `sources:
  - name: dc
    kind: jira
    jira: {base_url: "https://jira.example.com", jql: "project = FB", pat_env: FH_T_PAT}
  - name: cloud
    kind: jira
    jira: {base_url: "https://acme.atlassian.net", jql: "project = FB", email_env: FH_T_EMAIL, token_env: FH_T_TOKEN}
sync:
  targets:
    - {name: fb-dc, kind: jira, source: dc, project: FB}
    - {name: fb-cloud, kind: jira, source: cloud, project: FB}
`
	cfg, err := config.Parse("t.yaml", t.TempDir(), []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	sy, err := New(cfg, storetest.OpenSQLite(t), connectors.Env{Config: cfg, Clock: clock.NewFake(t0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dc, _ := sy.Trackers["dc"].(*JiraTracker)
	cloud, _ := sy.Trackers["cloud"].(*JiraTracker)
	if dc == nil || cloud == nil || !dc.DataCenter || cloud.DataCenter || dc.Auth != "Bearer pat-secret" || !strings.HasPrefix(cloud.Auth, "Basic ") {
		t.Fatalf("trackers: dc %+v, cloud %+v", dc, cloud)
	}
}

// TestReopenEchoAndMissedStatus: the webhook of the reopen's own transition can come
// back before the delivery commits, and is an echo all the same (its status was
// recorded as ours first); and a ticket that moved at the tracker while the hub
// missed it (a lost webhook) is not reopened but brought back through status back,
// so the cluster follows the tracker where it has authority.
func TestReopenEchoAndMissedStatus(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewFake(t0)
		b := newBundle(t, st, clk, nil)
		closed := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh)
		moved := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh)
		for _, c := range []int64{closed, moved} {
			if _, err := b.sy.Accept(b.ctx, c, "ana", "go"); err != nil {
				t.Fatal(err)
			}
		}
		b.drain(t)
		ct, _ := st.TicketFor(b.ctx, closed, "fb")
		mt, _ := st.TicketFor(b.ctx, moved, "fb")
		for _, tk := range []store.TicketRecord{ct, mt} {
			if a, err := b.sy.ApplyRemote(b.ctx, RemoteEvent{Key: tk.RemoteKey, Status: "Done"}); err != nil || !a.Notify {
				t.Fatalf("close %s = %+v, %v", tk.RemoteKey, a, err)
			}
		}
		b.jira.mu.Lock()
		b.jira.issue(ct.RemoteKey).Status = "Done"
		b.jira.issue(mt.RemoteKey).Status = "In Progress" // reopened and started there; the webhook was lost
		b.jira.mu.Unlock()
		b.drain(t)
		var echo Applied
		var echoErr error
		b.jira.onTransition = func(key, status string) {
			echo, echoErr = b.sy.ApplyRemote(b.ctx, RemoteEvent{Key: key, Status: status, Via: "webhook"})
		}
		for _, c := range []int64{closed, moved} {
			reopen(t, b, c)
			if _, err := b.sy.Accept(b.ctx, c, "ana", "again"); err != nil {
				t.Fatal(err)
			}
		}
		if rep := b.drain(t); rep.Delivered != 2 || len(rep.Errors) != 0 {
			t.Fatalf("reopen drain = %+v", rep)
		}
		if echoErr != nil || len(echo.Moved) != 0 || len(echo.Ignored) != 1 || !strings.Contains(echo.Ignored[0], "our own write") {
			t.Fatalf("the reopen's own webhook = %+v, %v; want an echo", echo, echoErr)
		}
		if cl, _ := st.Cluster(b.ctx, closed); cl.Status != feedback.StatusAccepted {
			t.Errorf("reopened cluster = %s, want accepted", cl.Status)
		}
		b.jira.mu.Lock()
		ms := b.jira.issue(mt.RemoteKey).Status
		b.jira.mu.Unlock()
		if ms != "In Progress" {
			t.Errorf("the ticket the tracker had reopened was moved again, to %q", ms)
		}
		cl, _ := st.Cluster(b.ctx, moved)
		tk, _ := st.TicketFor(b.ctx, moved, "fb")
		if cl.Status != feedback.StatusInProgress || tk.Status != "In Progress" {
			t.Errorf("cluster %s, ticket %q: want in_progress and In Progress (the missed status, through status back)", cl.Status, tk.Status)
		}
	})
}

// TestStatusBackNeverWalksThroughResolved: where the tracker's status maps to a status
// before the cluster's (a ticket reopened to "To Do" mapped to triaged), the shortest
// path under the state machine runs forward through resolved, which would close the
// loop with the reporters on the way. Status back leaves such a move to a person, both
// from a webhook and from the reopen delivery's check of a status the hub missed.
func TestStatusBackNeverWalksThroughResolved(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		b := newBundle(t, st, clock.NewFake(t0), mapStatuses)
		c, tk := b.acceptedTicket(t)
		notices := func() int {
			n, _ := st.ListOutbox(b.ctx, store.OutboxFilter{Kind: KindNotify, ClusterID: c})
			return len(n)
		}
		// In progress at the tracker, then moved back to To Do.
		if a, err := b.sy.ApplyRemote(b.ctx, RemoteEvent{Key: tk.RemoteKey, Status: "In Progress"}); err != nil || len(a.Moved) != 1 {
			t.Fatalf("in progress = %+v, %v", a, err)
		}
		a, err := b.sy.ApplyRemote(b.ctx, RemoteEvent{Key: tk.RemoteKey, Status: "To Do"})
		if err != nil || len(a.Moved) != 0 || a.Notify || len(a.Ignored) != 1 || !strings.Contains(a.Ignored[0], "through resolved") {
			t.Fatalf("back to To Do = %+v, %v; want it left to a person", a, err)
		}
		if cl, _ := st.Cluster(b.ctx, c); cl.Status != feedback.StatusInProgress || notices() != 0 {
			t.Fatalf("cluster %s with %d resolved notices after a move back", cl.Status, notices())
		}
		// Resolved, then reopened at the tracker (webhook lost) while a triager
		// reopens and accepts the cluster again.
		if a, err := b.sy.ApplyRemote(b.ctx, RemoteEvent{Key: tk.RemoteKey, Status: "Done"}); err != nil || !a.Notify {
			t.Fatalf("done = %+v, %v", a, err)
		}
		b.drain(t)
		sent := notices()
		b.jira.mu.Lock()
		b.jira.issue(tk.RemoteKey).Status = "To Do"
		b.jira.mu.Unlock()
		reopen(t, b, c)
		if _, err := b.sy.Accept(b.ctx, c, "ana", "again"); err != nil {
			t.Fatal(err)
		}
		if rep := b.drain(t); rep.Delivered != 1 || len(rep.Errors) != 0 {
			t.Fatalf("reopen drain = %+v", rep)
		}
		if cl, _ := st.Cluster(b.ctx, c); cl.Status != feedback.StatusAccepted || notices() != sent {
			t.Fatalf("the reopen delivery left the accepted cluster %s and queued %d more resolved notices", cl.Status, notices()-sent)
		}
	})
}

// TestOwnStatusIsAnEchoOnlyOnce: the status the hub moved a ticket to is its own write
// until the tracker reports it (or any other status: the echo was lost); the same
// status set later by a person is theirs, and moves the cluster.
func TestOwnStatusIsAnEchoOnlyOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		b := newBundle(t, st, clock.NewFake(t0), mapStatuses)
		c, tk := b.acceptedTicket(t)
		report := func(status string) Applied {
			t.Helper()
			b.jira.mu.Lock()
			b.jira.issue(tk.RemoteKey).Status = status
			b.jira.mu.Unlock()
			a, err := b.sy.ApplyRemote(b.ctx, RemoteEvent{Key: tk.RemoteKey, Status: status, Via: "webhook"})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		cycle := func(echo bool) {
			t.Helper()
			report("Done")
			b.drain(t)
			reopen(t, b, c)
			if _, err := b.sy.Accept(b.ctx, c, "ana", "again"); err != nil {
				t.Fatal(err)
			}
			b.drain(t) // the hub reopens the ticket to To Do
			if echo {
				if a := report("To Do"); len(a.Moved) != 0 || a.Notify {
					t.Fatalf("the reopen's webhook = %+v, want nothing moved", a)
				}
			}
			report("In Progress")
			report("Done")
			b.drain(t)
			// A person reopens the ticket: theirs, not an echo.
			a := report("To Do")
			cl, _ := st.Cluster(b.ctx, c)
			if cl.Status != feedback.StatusTriaged {
				t.Fatalf("a person's reopen at the tracker (echo seen: %v): %+v; cluster %s, want triaged", echo, a, cl.Status)
			}
		}
		cycle(true)
		if cl, _ := st.Cluster(b.ctx, c); cl.Status == feedback.StatusTriaged {
			// triaged → accepted again for the second cycle
			if _, err := b.sy.Accept(b.ctx, c, "ana", "again"); err != nil {
				t.Fatal(err)
			}
			b.drain(t)
		}
		cycle(false)
	})
}
