package server

import (
	"context"
	"fmt"
	"testing"

	"github.com/feedbackhub/feedbackhub/feedback"
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
