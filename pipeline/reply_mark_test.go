package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/rules"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
	"github.com/feedbackhub/feedbackhub/triage"
)

// TestPartnerReplyCommittedLateIsSeen: on PostgreSQL a reply's message id is handed
// out when it is inserted, and its transaction may commit after a later reply's. A
// pass that ran in between set its mark past the first reply; the next pass still
// finds it (the mark looks back), and next_response starts on its cluster.
func TestPartnerReplyCommittedLateIsSeen(t *testing.T) {
	clk := clock.NewFake(t0)
	s := storetest.OpenPostgres(t, store.WithClock(clk.Now)) // PostgreSQL only: SQLite commits in id order
	ctx := context.Background()
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, s, nil)
	p.Clock = clk
	set, err := rules.Parse("rules.yaml", []byte("rules:\n  - {name: default-medium, scope: item, when: 'severity == \"\"', set: {severity: medium}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p.Rules = rules.NewHolder(set)
	clk.Advance(24 * time.Hour)
	h := config.Duration(time.Hour)
	engine, err := triage.NewEngine(config.SLA{Policies: []config.SLAPolicy{{Name: "default", Targets: map[string]map[string]config.Duration{
		"medium": {"first_response": 8 * h, "next_response": 4 * h, "resolution": 240 * h}}}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	// Two reports from a partner, in two clusters, each answered by a person.
	var items []feedback.Item
	for i := range 2 {
		r := distinctReports(i, 1, t0)[0]
		r.AuthorEmail = fmt.Sprintf("ops%d@northwind.example", i)
		ingestAll(t, s, r)
		if _, err := p.Step(ctx, engine); err != nil {
			t.Fatal(err)
		}
		it, _ := s.ItemByExternalID(ctx, "mail", r.ExternalID)
		c, _ := s.Cluster(ctx, *it.ClusterID)
		if _, err := engine.Apply(ctx, s, triage.ClusterChange{Before: &c, After: c, Actor: "ana", Action: feedback.ActionAssign, At: clk.Now()}); err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	clk.Advance(time.Hour)
	reply := func(i int) int64 { // the reply's record id
		t.Helper()
		res, err := s.Ingest(ctx, "mail", []feedback.Record{{Source: "mail", ExternalID: fmt.Sprintf("<reply%d@northwind.example>", i), Revision: "1",
			Kind: feedback.KindComment, ParentExternalID: items[i].ExternalID, AuthorEmail: fmt.Sprintf("ops%d@northwind.example", i),
			Body: "still broken", CreatedAt: clk.Now(), UpdatedAt: clk.Now(), ReceivedAt: clk.Now()}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.IDs[0]
	}
	rec0, rec1 := reply(0), reply(1)
	// Reply 0's message is inserted first, in a transaction still open…
	tx, err := s.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	insert := `INSERT INTO messages (item_id, source, external_id, author, partner, body, record_id, deleted, created_at, updated_at)
		VALUES ($1, 'mail', $2, 'ops', 'northwind', 'still broken', $3, false, $4, $4)`
	if _, err := tx.ExecContext(ctx, insert, items[0].ID, "<reply0@northwind.example>", rec0, clk.Now()); err != nil {
		t.Fatal(err)
	}
	// …reply 1's commits, and a pass runs.
	if _, err := s.DB().ExecContext(ctx, insert, items[1].ID, "<reply1@northwind.example>", rec1, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.StartSLAs(ctx, engine, clk.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	running := func(i int) bool {
		t.Helper()
		log, err := s.SLAEvents(ctx, *items[i].ClusterID)
		if err != nil {
			t.Fatal(err)
		}
		st, err := engine.State(*items[i].ClusterID, log, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		m, ok := st.Metric(triage.MetricNextResponse)
		return ok && m.Running
	}
	if !running(1) || running(0) {
		t.Fatalf("after the first pass: next_response running %v/%v, want only the committed reply's", running(0), running(1))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.StartSLAs(ctx, engine, clk.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !running(0) {
		t.Errorf("a partner reply whose id was below the mark when it committed never started next_response")
	}
}
