package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

// TestServeConformance runs the tests of what `serve`, `status` and `bench` add to
// the store (poll history, unknown partners, named locks, API pages, plain inserts)
// on every configured backend.
func TestServeConformance(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"PollHistoryAndSourceStatus", testPollHistory},
		{"UnknownPartners", testUnknownPartners},
		{"TryLockExcludes", testTryLock},
		{"LockWaitsAndHonoursContext", testLock},
		{"ClusterPartnerActivity", testPartnerActivity},
		{"PagesAndFilters", testPages},
		{"PlainInsertAndDeleteSource", testPlainInsert},
	}
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tt.fn(t, b)
				})
			}
		})
	}
}

func testPollHistory(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	st, err := s.SourceStatusOf(ctx, "gh", t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !st.LastSuccess.IsZero() || st.LastError != "" || st.Polls != 0 {
		t.Fatalf("empty status = %+v", st)
	}
	polls := []store.Poll{
		{Source: "gh", StartedAt: t0.Add(-3 * time.Hour), FinishedAt: t0.Add(-3 * time.Hour), Requests: 100},
		{Source: "gh", StartedAt: t0.Add(-30 * time.Minute), FinishedAt: t0.Add(-29 * time.Minute), Requests: 3, NotModified: 2},
		{Source: "gh", StartedAt: t0.Add(-10 * time.Minute), FinishedAt: t0.Add(-10 * time.Minute), Err: "github: 502", Requests: 4},
		{Source: "other", StartedAt: t0, FinishedAt: t0, Requests: 7},
	}
	for _, p := range polls {
		if err := s.RecordPoll(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	mustIngest(t, s, "gh", []feedback.Record{rec("gh", "1", "a")}, &feedback.Cursor{Source: "gh", Value: "2026-03-02T09:00:00Z"})
	st, err = s.SourceStatusOf(ctx, "gh", t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !st.LastSuccess.Equal(t0.Add(-29*time.Minute)) || st.LastError != "github: 502" || !st.LastErrorAt.Equal(t0.Add(-10*time.Minute)) {
		t.Errorf("success/error = %+v", st)
	}
	if st.Polls != 2 || st.Requests != 7 || st.NotModified != 2 {
		t.Errorf("last hour = %d polls, %d requests, %d 304s; want 2, 7, 2", st.Polls, st.Requests, st.NotModified)
	}
	if st.Cursor != "2026-03-02T09:00:00Z" || st.CursorUpdatedAt.IsZero() || st.Records != 1 || st.LastReceived.IsZero() {
		t.Errorf("cursor/records = %+v", st)
	}
	// A later success hides the older error.
	if err := s.RecordPoll(ctx, store.Poll{Source: "gh", StartedAt: t0, FinishedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if st, _ = s.SourceStatusOf(ctx, "gh", t0.Add(-time.Hour)); st.LastError != "" || !st.LastSuccess.Equal(t0) {
		t.Errorf("after recovery = %+v", st)
	}
	// Rows older than the retention are pruned by the next write.
	if err := s.RecordPoll(ctx, store.Poll{Source: "gh", StartedAt: t0.Add(8 * 24 * time.Hour), FinishedAt: t0.Add(8 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if st, _ = s.SourceStatusOf(ctx, "gh", time.Time{}); st.Polls != 1 {
		t.Errorf("after pruning %d polls, want 1", st.Polls)
	}
}

func testUnknownPartners(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i, a := range []string{"x@stranger.io", "x@stranger.io", "bob"} {
		r := rec("mail", fmt.Sprint(i), "1")
		res := mustIngest(t, s, "mail", []feedback.Record{r}, nil)
		if _, err := s.UpsertItem(ctx, feedback.Item{Source: "mail", Kind: feedback.KindEmail, ExternalID: r.ExternalID, Author: a,
			Partner: feedback.UnknownPartner, RecordID: res.IDs[0], CreatedAt: t0.Add(time.Duration(i) * time.Hour), UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	addItem(t, s, "mail", "known", "acme", t0)
	us, err := s.UnknownPartners(ctx, feedback.UnknownPartner, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 2 || us[0].Author != "x@stranger.io" || us[0].Items != 2 || !us[0].LastSeen.Equal(t0.Add(time.Hour)) || us[1].Author != "bob" {
		t.Fatalf("unknown = %+v", us)
	}
}

func testTryLock(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	rel, ok, err := s.TryLock(ctx, "poll:gh")
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok2, err := s.TryLock(ctx, "poll:gh"); err != nil || ok2 {
		t.Fatalf("second lock of a held name: ok=%v err=%v", ok2, err)
	}
	rel2, ok3, err := s.TryLock(ctx, "poll:jira")
	if err != nil || !ok3 {
		t.Fatalf("other name: %v %v", ok3, err)
	}
	rel2()
	rel()
	rel, ok, err = s.TryLock(ctx, "poll:gh")
	if err != nil || !ok {
		t.Fatalf("lock after release: %v %v", ok, err)
	}
	rel()
}

func testLock(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	rel, err := s.Lock(ctx, "clustering-test")
	if err != nil {
		t.Fatal(err)
	}
	if s.Dialect() == store.Postgres {
		// Other instances see it: the advisory lock is taken on the database.
		var free bool
		if err := s.DB().QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtext('feedbackhub:clustering-test:' || current_schema()))`).Scan(&free); err != nil || free {
			t.Fatalf("another session could take the advisory lock: %v %v", free, err)
		}
	}
	// Held: a second taker waits, and gives up with its context.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(short, "clustering-test"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock of a held name: %v, want a deadline error", err)
	}
	// Another name is free.
	rel2, err := s.Lock(ctx, "clustering-other")
	if err != nil {
		t.Fatal(err)
	}
	rel2()
	// A waiter gets the lock once it is released.
	got := make(chan error, 1)
	go func() {
		r, err := s.Lock(ctx, "clustering-test")
		if err == nil {
			r()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("took a held lock: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	rel()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter never got the released lock")
	}
}

func testPartnerActivity(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c1, err := s.CreateCluster(ctx, feedback.Cluster{Title: "one"})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := s.CreateCluster(ctx, feedback.Cluster{Title: "two"})
	if err != nil {
		t.Fatal(err)
	}
	// Item id, partner, cluster, when its record arrived (created_at is an hour
	// before, or for the backdated one, a week before).
	for i, x := range []struct {
		partner  string
		cluster  int64
		received time.Time
	}{
		{"northwind", c1, t0},
		{"acme", c1, t0.Add(2 * time.Hour)},    // the newest partner arrival in c1
		{"unknown", c1, t0.Add(5 * time.Hour)}, // not a partner: ignored
		{"unknown", c2, t0.Add(time.Hour)},     // c2 has no partner item
	} {
		r := rec("gh", fmt.Sprint(i), "1")
		r.ReceivedAt = x.received
		res, err := s.Ingest(ctx, "gh", []feedback.Record{r}, nil)
		if err != nil {
			t.Fatal(err)
		}
		created := x.received.Add(-time.Hour)
		if i == 1 {
			created = x.received.Add(-7 * 24 * time.Hour)
		}
		id, err := s.UpsertItem(ctx, feedback.Item{Source: "gh", Kind: feedback.KindIssue, ExternalID: fmt.Sprint(i), Title: "t",
			Partner: x.partner, RecordID: res.IDs[0], CreatedAt: created, UpdatedAt: created})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.LinkItem(ctx, feedback.ClusterLink{ClusterID: x.cluster, ItemID: id, Evidence: "manual", Score: 1}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ClusterPartnerActivity(ctx, []int64{c1, c2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[c1].Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("partner activity = %v, want only cluster %d at %v", got, c1, t0.Add(2*time.Hour))
	}
	if ids, upTo, err := s.ClustersWithPartnerReplies(ctx, 0); err != nil || len(ids) != 0 || upTo != 0 {
		t.Fatalf("clusters with partner replies before any reply = %v up to %d, %v", ids, upTo, err)
	}

	// Replies on the clusters' items: a partner's counts, the team's and a deleted
	// one do not.
	items, err := s.Items(ctx, store.ItemFilter{Source: "gh"})
	if err != nil || len(items) != 4 {
		t.Fatalf("items = %d, %v", len(items), err)
	}
	for i, x := range []struct {
		item     int64
		partner  string
		received time.Time
		deleted  bool
	}{
		{items[3].ID, "acme", t0.Add(3 * time.Hour), false},      // c2's item: c2 now has partner activity
		{items[0].ID, "", t0.Add(9 * time.Hour), false},          // the team's reply in c1: ignored
		{items[0].ID, "northwind", t0.Add(4 * time.Hour), false}, // c1's newest partner word
		{items[0].ID, "northwind", t0.Add(8 * time.Hour), true},  // deleted: ignored
	} {
		r := rec("gh", fmt.Sprintf("c%d", i), "1")
		r.Kind, r.ParentExternalID, r.ReceivedAt = feedback.KindComment, "0", x.received
		res, err := s.Ingest(ctx, "gh", []feedback.Record{r}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpsertMessage(ctx, feedback.Message{ItemID: x.item, Source: "gh", ExternalID: r.ExternalID, Partner: x.partner,
			Body: "reply", RecordID: res.IDs[0], Deleted: x.deleted, CreatedAt: x.received, UpdatedAt: x.received}); err != nil {
			t.Fatal(err)
		}
	}
	got, err = s.ClusterPartnerActivity(ctx, []int64{c1, c2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[c1].Equal(t0.Add(4*time.Hour)) || !got[c2].Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("partner activity with replies = %v, want cluster %d at %v and %d at %v", got, c1, t0.Add(4*time.Hour), c2, t0.Add(3*time.Hour))
	}
	// By storage order, not by the records' times: the messages were stored c2's
	// first, then c1's three.
	ids, upTo, err := s.ClustersWithPartnerReplies(ctx, 0)
	if err != nil || !slices.Equal(ids, []int64{c1, c2}) {
		t.Fatalf("clusters with partner replies = %v, %v; want %v", ids, err, []int64{c1, c2})
	}
	first, _, _ := s.ClustersWithPartnerReplies(ctx, upTo-3) // after c2's message
	if !slices.Equal(first, []int64{c1}) {
		t.Errorf("clusters with partner replies after c2's message = %v, want [%d]", first, c1)
	}
	if again, next, err := s.ClustersWithPartnerReplies(ctx, upTo); err != nil || len(again) != 0 || next != upTo {
		t.Errorf("clusters with partner replies after the newest = %v up to %d, %v", again, next, err)
	}
}

func testPages(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range 5 {
		addItem(t, s, "gh", fmt.Sprint(i), map[bool]string{true: "acme", false: "globex"}[i%2 == 0], t0.Add(time.Duration(i)*time.Minute))
	}
	items, total, err := s.ItemsPage(ctx, store.ItemQuery{Partner: "acme", Page: store.Page{Limit: 2, Offset: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(items) != 2 || items[0].ExternalID != "2" || items[1].ExternalID != "4" {
		t.Fatalf("items page = %d %+v", total, items)
	}
	for i := range 3 {
		c := newCluster(t, s, feedback.StatusNew)
		if i == 2 {
			c.Status = feedback.StatusTriaged
			if err := s.UpdateCluster(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.AppendDecision(ctx, feedback.Decision{Actor: "alice", Action: feedback.ActionNote, Target: fmt.Sprintf("cluster:%d", c.ID), Reason: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	cs, total, err := s.ClustersPage(ctx, store.ClusterQuery{Status: feedback.StatusNew, Page: store.Page{Limit: 1}})
	if err != nil || total != 2 || len(cs) != 1 {
		t.Fatalf("clusters page = %d %d %v", total, len(cs), err)
	}
	ds, total, err := s.DecisionsPage(ctx, store.DecisionQuery{Actor: "alice", Page: store.Page{Offset: 2}})
	if err != nil || total != 3 || len(ds) != 1 {
		t.Fatalf("decisions page = %d %d %v", total, len(ds), err)
	}
	ts, total, err := s.TicketsPage(ctx, store.TicketQuery{Target: "jira"})
	if err != nil || total != 0 || len(ts) != 0 {
		t.Fatalf("tickets page = %d %d %v", total, len(ts), err)
	}
}

func testPlainInsert(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	recs := []feedback.Record{rec("raw", "1", "a"), rec("raw", "2", "a")}
	if err := s.InsertRecordsPlain(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "raw"); n != 2 {
		t.Fatalf("plain insert stored %d", n)
	}
	if err := s.InsertRecordsPlain(ctx, recs[:1]); err == nil {
		t.Fatal("a plain insert of a stored revision must fail (no duplicate check)")
	}
	if err := s.DeleteSource(ctx, "raw"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "raw"); n != 0 {
		t.Fatalf("after delete %d", n)
	}
}
