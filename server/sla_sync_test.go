package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/normalize"
	"github.com/feedbackhub/feedbackhub/store"
	fhsync "github.com/feedbackhub/feedbackhub/sync"
	"github.com/feedbackhub/feedbackhub/triage"
)

const planOnlySyncYAML = `sync:
  targets:
    - {name: jira, kind: jira, project: FB, issue_type: Bug, dry_run: true}
  defaults:
    "*": jira
`

func clusterIDs(t *testing.T, f *fixture) []int64 {
	_, b := f.do(t, "GET", "/api/v1/clusters", "viewer-token", nil)
	var out []int64
	for _, c := range decode[List[struct {
		ID int64 `json:"id"`
	}]](t, b).Data {
		out = append(out, c.ID)
	}
	return out
}

func running(t *testing.T, f *fixture, id int64, metric string) bool {
	evs, err := f.p.Store.SLAEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.srv.Engine.State(id, evs, f.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, ok := st.Metric(metric)
	return ok && m.Running
}

// TestAcceptWithTargetStopsResponseClock: with a sync target an API accept goes
// through Syncer.Accept; a person's accept answers the partner, so first_response
// stops there as it does for an assign (the control) and for accepts without targets.
func TestAcceptWithTargetStopsResponseClock(t *testing.T) {
	f := setupWith(t, planOnlySyncYAML)
	seed(t, f, 3)
	ids := clusterIDs(t, f)
	a, b := ids[0], ids[1]
	if !running(t, f, a, triage.MetricFirstResponse) {
		t.Fatal("first_response not running before any decision")
	}
	code, body := f.do(t, "POST", "/api/v1/decisions", "triager-token", DecideRequest{Action: "accept", Target: fmt.Sprintf("cluster:%d", a), Reason: "yes"})
	if code != 200 {
		t.Fatalf("accept = %d %s", code, body)
	}
	code, body = f.do(t, "POST", "/api/v1/decisions", "triager-token", DecideRequest{Action: "assign", Value: "ana", Target: fmt.Sprintf("cluster:%d", b), Reason: "yours"})
	if code != 200 {
		t.Fatalf("assign = %d %s", code, body)
	}
	if running(t, f, b, triage.MetricFirstResponse) {
		t.Fatal("assign did not stop first_response (control)")
	}
	if running(t, f, a, triage.MetricFirstResponse) {
		t.Errorf("accept by a person left first_response running on cluster %d", a)
	}
}

// TestStatusBackStopsResolutionClock: a ticket done at the tracker resolves its
// cluster, and the resolution clock stops with it (it ran on, so a later reopen
// counted the resolved time and breached at once).
func TestStatusBackStopsResolutionClock(t *testing.T) {
	f := setupWith(t, planOnlySyncYAML)
	seed(t, f, 2)
	ctx := context.Background()
	id := clusterIDs(t, f)[0]
	if code, body := f.do(t, "POST", "/api/v1/decisions", "triager-token", DecideRequest{Action: "accept", Target: fmt.Sprintf("cluster:%d", id), Reason: "yes"}); code != 200 {
		t.Fatalf("accept = %d %s", code, body)
	}
	if _, err := f.p.Store.UpsertTicket(ctx, store.TicketRecord{Ticket: feedback.Ticket{ClusterID: id, Target: "jira", Kind: "jira", RemoteKey: "FB-1", Status: "To Do"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Syncer.ApplyRemote(ctx, fhsync.RemoteEvent{Key: "FB-1", Status: "Done"}); err != nil {
		t.Fatal(err)
	}
	c, _ := f.p.Store.Cluster(ctx, id)
	if c.Status != feedback.StatusResolved {
		t.Fatalf("status = %s", c.Status)
	}
	if running(t, f, id, triage.MetricResolution) {
		t.Errorf("cluster %d is resolved but its resolution clock still runs", id)
	}
}

// setupNextResponse is setup with the same SLA policy plus a next_response target.
func setupNextResponse(t *testing.T) (*fixture, *triage.Engine) {
	t.Helper()
	f := setup(t)
	eng, err := triage.NewEngine(config.SLA{Policies: []config.SLAPolicy{{Name: "default",
		Targets: map[string]map[string]config.Duration{"medium": {"first_response": config.Duration(time.Hour), "next_response": config.Duration(2 * time.Hour), "resolution": config.Duration(120 * time.Hour)}}}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Engine = eng
	return f, eng
}

// answeredReport delivers a partner's report, clusters it and answers it (a person's
// assign): it returns the cluster and the report's external id.
func answeredReport(t *testing.T, f *fixture, eng *triage.Engine) (int64, string) {
	t.Helper()
	ctx := context.Background()
	if code := f.deliver(t, "fb-0", "Billing export 0 fails with timeout", "The nightly export number 0 times out after 30 seconds in region eu-0"); code != 200 {
		t.Fatal(code)
	}
	if _, err := f.p.Step(ctx, eng); err != nil {
		t.Fatal(err)
	}
	id := clusterIDs(t, f)[0]
	if code, body := f.do(t, "POST", "/api/v1/decisions", "triager-token", DecideRequest{Action: "assign", Value: "ana", Target: fmt.Sprintf("cluster:%d", id), Reason: "on it"}); code != 200 {
		t.Fatalf("assign = %d %s", code, body)
	}
	items, err := f.p.Store.Items(ctx, store.ItemFilter{})
	if err != nil || len(items) != 1 {
		t.Fatalf("items = %d, %v", len(items), err)
	}
	return id, items[0].ExternalID
}

// replyAndStep stores r as a comment on the partners source's item parent, runs a
// step and checks the comment was kept as a message.
func replyAndStep(t *testing.T, f *fixture, eng *triage.Engine, parent string, r feedback.Record) {
	t.Helper()
	ctx := context.Background()
	r.Source, r.Revision, r.Kind, r.ParentExternalID = "partners", "1", feedback.KindComment, parent
	if _, err := f.p.Store.Ingest(ctx, "partners", []feedback.Record{r}, nil); err != nil {
		t.Fatal(err)
	}
	stepOneMessage(t, f, eng, r.ExternalID)
}

// stepOneMessage runs a step and fails unless it stored exactly one message (the
// reply named what).
func stepOneMessage(t *testing.T, f *fixture, eng *triage.Engine, what string) {
	t.Helper()
	rep, err := f.p.Step(context.Background(), eng)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Process.Messages != 1 {
		t.Fatalf("reply %s was not kept as a message: %+v", what, rep.Process)
	}
}

// TestNextResponseStartsOnPartnerActivity: after a first response, new feedback
// from the partner joining the cluster starts next_response (nothing started it).
func TestNextResponseStartsOnPartnerActivity(t *testing.T) {
	f, eng := setupNextResponse(t)
	id, _ := answeredReport(t, f, eng)
	f.clk.Advance(time.Hour)
	if code := f.deliver(t, "fb-1", "Billing export 0 fails with timeout", "The nightly export number 0 times out after 30 seconds in region eu-0"); code != 200 {
		t.Fatal(code)
	}
	if _, err := f.p.Step(context.Background(), eng); err != nil {
		t.Fatal(err)
	}
	c, _ := f.p.Store.Cluster(context.Background(), id)
	if c.ItemsCount != 2 {
		t.Fatalf("the partner's follow-up did not join cluster %d (items %d)", id, c.ItemsCount)
	}
	if !running(t, f, id, triage.MetricNextResponse) {
		t.Errorf("partner activity on responded cluster %d did not start next_response", id)
	}
}

// TestNextResponseStartsOnPartnerReply: after a first response, a partner's reply
// on the cluster's thread (a comment, no new item, the cluster unchanged) starts
// next_response; a reply from the team itself does not.
func TestNextResponseStartsOnPartnerReply(t *testing.T) {
	f, eng := setupNextResponse(t)
	ctx := context.Background()
	id, parent := answeredReport(t, f, eng)

	// The team's own reply on the thread: no partner, no clock.
	f.clk.Advance(time.Hour)
	replyAndStep(t, f, eng, parent, feedback.Record{ExternalID: parent + "/team-1", Author: "ana", AuthorEmail: "ana@feedbackhub.example",
		Body: "We are looking at it.", CreatedAt: f.clk.Now(), UpdatedAt: f.clk.Now()})
	if running(t, f, id, triage.MetricNextResponse) {
		t.Fatal("the team's own reply started next_response")
	}

	// The partner answers on the thread.
	f.clk.Advance(time.Hour)
	ev := fmt.Sprintf(`{"type":"feedback.comment","id":"fb-0-c1","parent_id":"fb-0","body":"Still failing tonight.","reporter":{"email":"ops@acme.io"},"occurred_at":%q}`,
		f.clk.Now().Format(time.RFC3339))
	if code := f.deliverRaw(t, "fb-0-c1", ev); code != 200 {
		t.Fatal(code)
	}
	stepOneMessage(t, f, eng, "fb-0-c1")
	c, _ := f.p.Store.Cluster(ctx, id)
	if c.ItemsCount != 1 {
		t.Fatalf("the reply became an item (items %d)", c.ItemsCount)
	}
	if !running(t, f, id, triage.MetricNextResponse) {
		t.Errorf("a partner's reply on responded cluster %d did not start next_response", id)
	}
}

// TestPartnerReplyFromBeforeTheLastPass: a reply's record can carry a receive time
// older than the last pass (a mail server's INTERNALDATE, or a record ingested while
// the last step was busy clustering) and still reach the hub only now: it counts when
// it is stored, not by its time, so next_response starts.
func TestPartnerReplyFromBeforeTheLastPass(t *testing.T) {
	f, eng := setupNextResponse(t)
	ctx := context.Background()
	id, parent := answeredReport(t, f, eng)
	f.clk.Advance(time.Hour)
	if _, err := f.p.Step(ctx, eng); err != nil {
		t.Fatal(err)
	}
	replyAt := f.clk.Now().Add(5 * time.Minute) // after the response
	f.clk.Advance(10 * time.Minute)
	if _, err := f.p.Step(ctx, eng); err != nil { // a pass after the reply's time, without it
		t.Fatal(err)
	}
	f.clk.Advance(time.Minute)
	replyAndStep(t, f, eng, parent, feedback.Record{ExternalID: parent + "/c-1", AuthorEmail: "ops@acme.io", Body: "Still failing.",
		Meta: map[string]string{normalize.MetaPartner: "acme"}, CreatedAt: replyAt, UpdatedAt: replyAt, ReceivedAt: replyAt})
	if !running(t, f, id, triage.MetricNextResponse) {
		t.Errorf("a partner reply received at %v and stored after the pass of %v did not start next_response", replyAt, replyAt.Add(5*time.Minute))
	}
}
