package triage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
)

func TestTransitions(t *testing.T) {
	t.Parallel()
	ok := [][2]feedback.Status{
		{"new", "triaged"}, {"triaged", "accepted"}, {"triaged", "declined"}, {"triaged", "deferred"}, {"triaged", "merged"},
		{"accepted", "in_progress"}, {"in_progress", "resolved"}, {"resolved", "loop_closed"},
		{"declined", "triaged"}, {"deferred", "triaged"}, {"resolved", "triaged"}, {"loop_closed", "triaged"},
	}
	for _, tr := range ok {
		if err := Transition(tr[0], tr[1]); err != nil {
			t.Errorf("%s → %s: %v", tr[0], tr[1], err)
		}
	}
	err := Transition(feedback.StatusAccepted, feedback.StatusLoopClosed)
	var te *TransitionError
	if !errors.As(err, &te) || err.Error() != "invalid transition accepted → loop_closed (from accepted: in_progress)" {
		t.Errorf("err = %v", err)
	}
	if err := Transition(feedback.StatusTriaged, feedback.StatusTriaged); err == nil ||
		!strings.Contains(err.Error(), "from triaged: accepted, declined, deferred, merged") {
		t.Errorf("same-state err = %v", err)
	}
}

func TestRequestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    Request
		want string
	}{
		{Request{Action: "accept", Target: "cluster:1", Reason: "x"}, "actor required"},
		{Request{Action: "accept", Target: "cluster:1", Actor: "alice"}, "reason required: alice is a person"},
		{Request{Action: "accept", Target: "cluster:1", Actor: "rule:r@abc"}, ""},
		{Request{Action: "accept", Target: "cluster:1", Actor: "system"}, ""},
		{Request{Action: "bless", Target: "cluster:1", Actor: "system"}, `unknown action "bless" (want one of accept, decline`},
		{Request{Action: "severity", Target: "cluster:1", Actor: "system", Value: "urgent"}, "severity needs a value"},
		{Request{Action: "assign", Target: "cluster:1", Actor: "system"}, "assign needs a value"},
		{Request{Action: "merge", Target: "cluster:1", Actor: "system", Value: "x"}, "merge needs the surviving cluster"},
		{Request{Action: "note", Target: "cluster:1", Actor: "alice", Value: "called them"}, ""},
		// Accepting and merging have side effects only their own actions perform.
		{Request{Action: "status", Target: "cluster:1", Actor: "system", Value: "accepted"}, "use the accept action"},
		{Request{Action: "status", Target: "cluster:1", Actor: "system", Value: "merged"}, "use the merge action"},
		{Request{Action: "status", Target: "cluster:1", Actor: "system", Value: "in_progress"}, ""},
	}
	for _, tt := range tests {
		err := tt.r.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: err = %v, want %q", tt.r, err, tt.want)
		}
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	c := feedback.Cluster{ID: 12, Status: feedback.StatusNew, Severity: feedback.SeverityLow, Owner: "alice"}
	tests := []struct {
		name         string
		c            feedback.Cluster
		r            Request
		status       feedback.Status
		before, afte string
		err          string
	}{
		{"accept a new cluster triages it on the way", c, Request{Action: "accept", Target: "12", Actor: "bob", Reason: "roadmap fit"}, "accepted", "new", "accepted", ""},
		{"severity on new triages", c, Request{Action: "severity", Target: "cluster:12", Actor: "bob", Reason: "3 partners", Value: "HIGH"}, "triaged", "low", "high", ""},
		{"severity by a rule leaves it new", c, Request{Action: "severity", Target: "cluster:12", Actor: "rule:r@1", Value: "high"}, "new", "low", "high", ""},
		{"assign", c, Request{Action: "assign", Target: "cluster:12", Actor: "bob", Reason: "billing", Value: "carol"}, "triaged", "alice", "carol", ""},
		{"merge", c, Request{Action: "merge", Target: "cluster:12", Actor: "bob", Reason: "dup", Value: "cluster:7"}, "merged", "new", "merged into cluster:7", ""},
		{"merge into itself", c, Request{Action: "merge", Target: "cluster:12", Actor: "bob", Reason: "dup", Value: "12"}, "", "", "", "into itself"},
		{"reopen a new cluster", c, Request{Action: "reopen", Target: "cluster:12", Actor: "bob", Reason: "x"}, "", "", "", "cluster is new; reopen applies to declined, deferred, resolved or loop_closed (from new: triaged, accepted"},
		{"reopen declined", withStatus(c, "declined"), Request{Action: "reopen", Target: "cluster:12", Actor: "bob", Reason: "came back"}, "triaged", "declined", "triaged", ""},
		{"decline accepted", withStatus(c, "accepted"), Request{Action: "decline", Target: "cluster:12", Actor: "bob", Reason: "x"}, "", "", "", "(from accepted: in_progress)"},
		{"status by sync", withStatus(c, "accepted"), Request{Action: "status", Target: "cluster:12", Actor: "system:sync", Value: "in_progress"}, "in_progress", "accepted", "in_progress", ""},
		{"unmerge a merged cluster", withStatus(c, "merged"), Request{Action: "unmerge", Target: "cluster:12", Actor: "bob", Reason: "different bug"}, "triaged", "merged", "triaged", ""},
		{"unmerge an unmerged cluster", withStatus(c, "triaged"), Request{Action: "unmerge", Target: "cluster:12", Actor: "bob", Reason: "x"}, "", "", "", "not merged"},
		{"ack", withStatus(c, "triaged"), Request{Action: "ack", Target: "cluster:12", Actor: "bob", Reason: "on it"}, "triaged", "", "acknowledged", ""},
		{"wrong target", c, Request{Action: "ack", Target: "cluster:13", Actor: "bob", Reason: "x"}, "", "", "", "does not name cluster 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := Decide(tt.c, tt.r, now)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := ch.Decision
			if ch.After.Status != tt.status || d.Before != tt.before || d.After != tt.afte || d.Target != "cluster:12" ||
				d.Actor != tt.r.Actor || d.Action != tt.r.Action || !d.At.Equal(now) || ch.Before.Status != tt.c.Status {
				t.Errorf("change = %+v", ch)
			}
		})
	}
}

func withStatus(c feedback.Cluster, s feedback.Status) feedback.Cluster {
	c.Status = s
	return c
}

func TestDecideItem(t *testing.T) {
	t.Parallel()
	d, err := DecideItem(40, 12, Request{Action: "unmerge", Target: "item:40", Actor: "bob", Reason: "other bug"}, time.Unix(0, 0))
	if err != nil || d.Target != "item:40" || d.Before != "cluster:12" {
		t.Errorf("decision = %+v, %v", d, err)
	}
	if _, err := DecideItem(40, 12, Request{Action: "accept", Target: "item:40", Actor: "bob", Reason: "x"}, time.Unix(0, 0)); err == nil {
		t.Error("accept on an item must fail")
	}
}

// TestServiceOnStore runs decisions against the real store on every backend: the
// cluster moves, the decision is logged, the SLA clock events follow, and the
// database refuses to rewrite the decision log.
func TestServiceOnStore(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := testEngine(t)
		clk := clock.NewFake(bt(t, "2026-03-09 09:00"))
		id, err := s.CreateCluster(ctx, feedback.Cluster{Title: "Deploys fail", Status: feedback.StatusNew, Severity: feedback.SeverityHigh})
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Cluster(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		start, err := e.ClockEvents(nil, ClusterChange{After: c, At: clk.Now()})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range start {
			if _, err := s.AppendSLAEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		svc := &Service{Clusters: s, Decisions: s, SLA: s, Engine: e, Clock: clk}
		clk.Advance(90 * time.Minute)
		ch, err := svc.Decide(ctx, Request{Action: "accept", Target: ClusterTarget(id), Actor: "alice", Reason: "fits Q2"})
		if err != nil {
			t.Fatal(err)
		}
		if ch.Decision.ID == 0 || ch.After.Status != feedback.StatusAccepted {
			t.Fatalf("change = %+v", ch)
		}
		clk.Advance(time.Hour)
		if _, err := svc.Decide(ctx, Request{Action: "defer", Target: ClusterTarget(id), Actor: "alice", Reason: "x"}); err == nil ||
			!strings.Contains(err.Error(), "invalid transition accepted → deferred (from accepted: in_progress)") {
			t.Fatalf("defer err = %v", err)
		}
		if _, err := svc.Decide(ctx, Request{Action: "note", Target: ClusterTarget(id), Actor: "alice"}); err == nil ||
			!strings.Contains(err.Error(), "reason required") {
			t.Fatalf("note err = %v", err)
		}
		got, err := s.Cluster(ctx, id)
		if err != nil || got.Status != feedback.StatusAccepted {
			t.Fatalf("stored cluster = %+v, %v", got, err)
		}
		log, err := s.SLAEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.State(id, log, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if fr := metric(t, st, MetricFirstResponse); fr.Running || fr.Elapsed != 90*time.Minute {
			t.Errorf("first_response = %+v", fr)
		}
		if res := metric(t, st, MetricResolution); !res.Running || res.Elapsed != 150*time.Minute {
			t.Errorf("resolution = %+v", res)
		}
		ds, err := s.Decisions(ctx, store.DecisionFilter{Target: ClusterTarget(id)})
		if err != nil || len(ds) != 1 || ds[0].Reason != "fits Q2" || ds[0].Before != "new" || ds[0].After != "accepted" {
			t.Fatalf("decisions = %+v, %v", ds, err)
		}
		for _, q := range []string{"UPDATE decisions SET reason = 'rewritten' WHERE id = ?", "DELETE FROM decisions WHERE id = ?"} {
			if err := s.ProbeAppendOnly(ctx, q, ds[0].ID); !errors.Is(err, store.ErrAppendOnly) {
				t.Errorf("%s: err = %v, want ErrAppendOnly", q, err)
			}
		}
	})
}
