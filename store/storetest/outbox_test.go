package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

// TestOutboxConformance runs the outbox, ticket and notification tests on every
// configured backend.
func TestOutboxConformance(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"AcceptIsOneTransaction", testAcceptOneTx},
		{"AcceptIdempotentAndStale", testAcceptIdempotent},
		{"ClaimLeaseAndBackoff", testClaimLease},
		{"ConcurrentClaimsNeverShareARow", testConcurrentClaims},
		{"DeadLetterAndRetry", testDeadLetter},
		{"TicketsSaveWithOutbox", testTicketsSave},
		{"TicketPatchKeepsOtherFields", testTicketPatch},
		{"NotificationsOnce", testNotificationsOnce},
		{"MigrationsDownToOneAndUp", testMigrationDownOne},
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

func newCluster(t *testing.T, s *store.Store, status feedback.Status) feedback.Cluster {
	t.Helper()
	ctx := context.Background()
	id, err := s.CreateCluster(ctx, feedback.Cluster{Title: "deploys fail", Status: status, Severity: feedback.SeverityHigh})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Cluster(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func createRow(c feedback.Cluster, target string) store.OutboxRow {
	return store.OutboxRow{IdempotencyKey: fmt.Sprintf("ticket:create:%d:%s", c.ID, target), Kind: "ticket.create",
		Target: target, ClusterID: c.ID, Payload: []byte(`{"target":"` + target + `"}`)}
}

func acceptDecision(c feedback.Cluster) feedback.Decision {
	return feedback.Decision{Actor: "ana", Action: feedback.ActionAccept, Target: fmt.Sprintf("cluster:%d", c.ID),
		Before: string(c.Status), After: string(feedback.StatusAccepted), Reason: "customers blocked"}
}

// openFailing opens a store whose transactions named op fail at commit while *fail.
func openFailing(t *testing.T, b Backend, op string, fail *bool) *store.Store {
	t.Helper()
	return open(t, b, store.WithHooks(store.Hooks{BeforeCommit: func(name string) error {
		if name == op && *fail {
			return errors.New("injected crash")
		}
		return nil
	}}))
}

func testAcceptOneTx(t *testing.T, b Backend) {
	fail := true
	s := openFailing(t, b, "decision-apply", &fail)
	ctx := context.Background()
	c := newCluster(t, s, feedback.StatusTriaged)
	if _, err := s.AcceptCluster(ctx, c, feedback.StatusTriaged, acceptDecision(c), createRow(c, "jira-fb")); err == nil {
		t.Fatal("injected failure did not surface")
	}
	got, _ := s.Cluster(ctx, c.ID)
	ds, _ := s.Decisions(ctx, store.DecisionFilter{})
	rows, _ := s.ListOutbox(ctx, store.OutboxFilter{})
	if got.Status != feedback.StatusTriaged || len(ds) != 0 || len(rows) != 0 {
		t.Fatalf("after a failed commit: status %s, %d decisions, %d outbox rows; want triaged, 0, 0", got.Status, len(ds), len(rows))
	}
	fail = false
	res, err := s.AcceptCluster(ctx, c, feedback.StatusTriaged, acceptDecision(c), createRow(c, "jira-fb"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s.Cluster(ctx, c.ID)
	rows, _ = s.ListOutbox(ctx, store.OutboxFilter{Status: store.OutboxPending})
	if got.Status != feedback.StatusAccepted || len(rows) != 1 || rows[0].DecisionID != res.DecisionID || !res.Created[0] {
		t.Fatalf("accept: status %s, rows %+v, res %+v", got.Status, rows, res)
	}
	if string(rows[0].Payload) != `{"target": "jira-fb"}` && string(rows[0].Payload) != `{"target":"jira-fb"}` {
		t.Fatalf("payload = %s", rows[0].Payload)
	}
}

func testAcceptIdempotent(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	c := newCluster(t, s, feedback.StatusTriaged)
	if _, err := s.AcceptCluster(ctx, c, feedback.StatusTriaged, acceptDecision(c), createRow(c, "gh")); err != nil {
		t.Fatal(err)
	}
	// Stale: the cluster is no longer triaged.
	if _, err := s.AcceptCluster(ctx, c, feedback.StatusTriaged, acceptDecision(c), createRow(c, "gh")); !errors.Is(err, store.ErrStaleCluster) {
		t.Fatalf("stale accept err = %v, want ErrStaleCluster", err)
	}
	// Without the guard the same key keeps the first row.
	res, err := s.AcceptCluster(ctx, c, "", acceptDecision(c), createRow(c, "gh"))
	if err != nil || res.Created[0] {
		t.Fatalf("second enqueue = %+v, %v; want not created", res, err)
	}
	if _, created, err := s.Enqueue(ctx, createRow(c, "gh")); err != nil || created {
		t.Fatalf("enqueue again: created=%v err=%v", created, err)
	}
	if rows, _ := s.ListOutbox(ctx, store.OutboxFilter{}); len(rows) != 1 {
		t.Fatalf("rows = %d, want 1", len(rows))
	}
	missing := feedback.Cluster{ID: 9999}
	if _, err := s.AcceptCluster(ctx, missing, "", acceptDecision(missing)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing cluster err = %v", err)
	}
	if _, _, err := s.Enqueue(ctx, store.OutboxRow{IdempotencyKey: "x", Kind: "k", Payload: []byte("{not json")}); err == nil {
		t.Fatal("invalid payload accepted")
	}
}

func testClaimLease(t *testing.T, b Backend) {
	clk := clock.NewFake(base)
	s := open(t, b, store.WithClock(clk.Now))
	ctx := context.Background()
	c := newCluster(t, s, feedback.StatusAccepted)
	for i := range 3 {
		r := createRow(c, fmt.Sprintf("t%d", i))
		if i == 2 {
			r.NextAttemptAt = base.Add(time.Hour) // not due yet
		}
		if _, _, err := s.Enqueue(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ClaimOutbox(ctx, 10, 5*time.Minute)
	if err != nil || len(got) != 2 || got[0].Target != "t0" || got[1].Target != "t1" || got[0].Attempts != 1 {
		t.Fatalf("claim = %+v, %v; want t0, t1 with attempt 1", got, err)
	}
	if again, _ := s.ClaimOutbox(ctx, 10, 5*time.Minute); len(again) != 0 {
		t.Fatalf("leased rows claimed again: %+v", again)
	}
	// A failure pushes the row back with a backoff.
	st, err := s.MarkOutboxFailed(ctx, got[0].ID, store.Failure{Err: "HTTP 503", RetryAt: base.Add(2 * time.Minute), MaxAttempts: 5})
	if err != nil || st != store.OutboxPending {
		t.Fatalf("failed = %s, %v", st, err)
	}
	if err := s.MarkOutboxSent(ctx, got[1].ID); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	r, err := s.ClaimOutbox(ctx, 10, 5*time.Minute)
	if err != nil || len(r) != 1 || r[0].ID != got[0].ID || r[0].Attempts != 2 || r[0].LastError != "HTTP 503" {
		t.Fatalf("after backoff = %+v, %v", r, err)
	}
	// The lease ends: a crashed worker's row comes back.
	clk.Advance(6 * time.Minute)
	r, _ = s.ClaimOutbox(ctx, 10, 5*time.Minute)
	if len(r) != 1 || r[0].Attempts != 3 {
		t.Fatalf("after lease = %+v", r)
	}
	clk.Advance(time.Hour)
	r, _ = s.ClaimOutbox(ctx, 1, time.Minute)
	if len(r) != 1 {
		t.Fatalf("limit 1 = %+v", r)
	}
	counts, err := s.OutboxCounts(ctx)
	if err != nil || counts[store.OutboxSent] != 1 || counts[store.OutboxPending] != 2 || counts[store.OutboxDead] != 0 {
		t.Fatalf("counts = %v, %v", counts, err)
	}
	one, err := s.OutboxByID(ctx, got[1].ID)
	if err != nil || one.Status != store.OutboxSent {
		t.Fatalf("by id = %+v, %v", one, err)
	}
	if _, err := s.OutboxByID(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing = %v", err)
	}
}

func testConcurrentClaims(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	c := newCluster(t, s, feedback.StatusAccepted)
	const n = 40
	for i := range n {
		if _, _, err := s.Enqueue(ctx, createRow(c, fmt.Sprintf("t%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	// Two "instances": on PostgreSQL a second store on the same schema.
	other := s
	if s.Dialect() == store.Postgres {
		var err error
		if other, err = store.Open(ctx, pgURLOf(t, s), ""); err != nil {
			t.Fatal(err)
		}
		defer other.Close()
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		st := s
		if w%2 == 1 {
			st = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				rows, err := st.ClaimOutbox(ctx, 3, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if len(rows) == 0 {
					return
				}
				mu.Lock()
				for _, r := range rows {
					seen[r.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d distinct rows, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("row %d claimed %d times", id, k)
		}
	}
}

// pgURLOf is the DSN of s's schema (the suite opens one schema per test).
func pgURLOf(t *testing.T, s *store.Store) string {
	t.Helper()
	var schema string
	if err := s.DB().Get(&schema, "SELECT current_schema()"); err != nil {
		t.Fatal(err)
	}
	return withSearchPath(t, schema)
}

func testDeadLetter(t *testing.T, b Backend) {
	clk := clock.NewFake(base)
	s := open(t, b, store.WithClock(clk.Now))
	ctx := context.Background()
	c := newCluster(t, s, feedback.StatusAccepted)
	id, _, _ := s.Enqueue(ctx, createRow(c, "a"))
	id2, _, _ := s.Enqueue(ctx, createRow(c, "b"))
	for i := range 3 {
		rows, _ := s.ClaimOutbox(ctx, 1, time.Minute)
		if len(rows) != 1 || rows[0].ID != id {
			t.Fatalf("round %d claim = %+v", i, rows)
		}
		st, err := s.MarkOutboxFailed(ctx, id, store.Failure{Err: "HTTP 502", MaxAttempts: 3})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: store.OutboxDead, false: store.OutboxPending}[i == 2]; st != want {
			t.Fatalf("round %d status %s, want %s", i, st, want)
		}
	}
	rows, _ := s.ClaimOutbox(ctx, 1, time.Minute)
	if len(rows) != 1 || rows[0].ID != id2 {
		t.Fatalf("claim after dead = %+v", rows)
	}
	if st, _ := s.MarkOutboxFailed(ctx, id2, store.Failure{Err: "HTTP 400 labels contain spaces", Permanent: true, MaxAttempts: 9}); st != store.OutboxDead {
		t.Fatalf("permanent failure status = %s", st)
	}
	dead, _ := s.ListOutbox(ctx, store.OutboxFilter{Status: store.OutboxDead})
	if len(dead) != 2 || dead[1].LastError != "HTTP 400 labels contain spaces" {
		t.Fatalf("dead = %+v", dead)
	}
	r, err := s.RetryOutbox(ctx, id)
	if err != nil || r.Status != store.OutboxPending || r.Attempts != 0 {
		t.Fatalf("retry = %+v, %v", r, err)
	}
	if rows, _ := s.ClaimOutbox(ctx, 5, time.Minute); len(rows) != 1 || rows[0].ID != id {
		t.Fatalf("claim after retry = %+v", rows)
	}
	if err := s.MarkOutboxSent(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RetryOutbox(ctx, id); !errors.Is(err, store.ErrNotDead) {
		t.Fatalf("retry sent = %v, want ErrNotDead", err)
	}
	if _, err := s.RetryOutbox(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("retry missing = %v", err)
	}
	if byCluster, _ := s.ListOutbox(ctx, store.OutboxFilter{ClusterID: c.ID, Kind: "ticket.create", Limit: 1}); len(byCluster) != 1 {
		t.Fatalf("filter = %+v", byCluster)
	}
}

func testTicketsSave(t *testing.T, b Backend) {
	fail := true
	s := openFailing(t, b, "ticket-save", &fail)
	ctx := context.Background()
	c := newCluster(t, s, feedback.StatusAccepted)
	oid, _, _ := s.Enqueue(ctx, createRow(c, "jira-fb"))
	tk := store.TicketRecord{Ticket: feedback.Ticket{ClusterID: c.ID, Target: "jira-fb", Kind: "jira", RemoteKey: "FB-7",
		URL: "https://x/browse/FB-7", Status: "To Do"}, Severity: feedback.SeverityHigh, Items: []int64{3, 1, 3},
		Written: map[string]string{"priority": "High"}}
	d := feedback.Decision{Actor: "system:sync", Action: feedback.ActionNote, Target: fmt.Sprintf("cluster:%d", c.ID), After: "FB-7"}
	if _, err := s.SaveTicket(ctx, store.TicketWrite{Ticket: tk, OutboxID: oid, Decision: &d}); err == nil {
		t.Fatal("injected failure did not surface")
	}
	if ts, _ := s.Tickets(ctx, store.TicketFilter{}); len(ts) != 0 {
		t.Fatalf("tickets after failed commit = %+v", ts)
	}
	if r, _ := s.OutboxByID(ctx, oid); r.Status != store.OutboxPending {
		t.Fatalf("outbox after failed commit = %s", r.Status)
	}
	fail = false
	got, err := s.SaveTicket(ctx, store.TicketWrite{Ticket: tk, OutboxID: oid, Decision: &d})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == 0 || len(got.Items) != 2 || got.Items[0] != 1 || got.Written["priority"] != "High" || got.Severity != feedback.SeverityHigh {
		t.Fatalf("saved = %+v", got)
	}
	if r, _ := s.OutboxByID(ctx, oid); r.Status != store.OutboxSent {
		t.Fatalf("outbox = %s, want sent", r.Status)
	}
	got.Status, got.Items = "Done", append(got.Items, 9)
	if _, err := s.UpsertTicket(ctx, got); err != nil {
		t.Fatal(err)
	}
	byKey, err := s.TicketByRemoteKey(ctx, "", "FB-7")
	if err != nil || byKey.ID != got.ID || byKey.Status != "Done" || len(byKey.Items) != 3 {
		t.Fatalf("by key = %+v, %v", byKey, err)
	}
	if _, err := s.TicketByRemoteKey(ctx, "other", "FB-7"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other target = %v", err)
	}
	if tf, err := s.TicketFor(ctx, c.ID, "jira-fb"); err != nil || tf.RemoteKey != "FB-7" {
		t.Fatalf("ticket for = %+v, %v", tf, err)
	}
	if _, err := s.TicketFor(ctx, c.ID, "gh"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing ticket = %v", err)
	}
	// The same remote key cannot belong to two clusters of one target.
	c2 := newCluster(t, s, feedback.StatusAccepted)
	dup := tk
	dup.ClusterID = c2.ID
	if _, err := s.UpsertTicket(ctx, dup); err == nil {
		t.Fatal("duplicate remote key accepted")
	}
	open, _ := s.Tickets(ctx, store.TicketFilter{Statuses: []string{"To Do", "In Progress"}})
	done, _ := s.Tickets(ctx, store.TicketFilter{Target: "jira-fb", ClusterID: c.ID, Statuses: []string{"Done"}})
	if len(open) != 0 || len(done) != 1 {
		t.Fatalf("open %d done %d", len(open), len(done))
	}
	if ds, _ := s.Decisions(ctx, store.DecisionFilter{Target: d.Target}); len(ds) != 1 {
		t.Fatalf("decisions = %+v", ds)
	}
}

func testNotificationsOnce(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	c := newCluster(t, s, feedback.StatusResolved)
	item := addItem(t, s, "mail", "<a@b>", "acme", base)
	n := store.Notification{Key: fmt.Sprintf("notify:resolved:%d:%d", c.ID, item), ClusterID: c.ID, ItemID: item, Channel: "email", Recipient: "ana@acme.io"}
	got, created, err := s.InsertNotification(ctx, n)
	if err != nil || !created || got.Status != store.NotificationPending || got.ID == 0 {
		t.Fatalf("insert = %+v, %v, %v", got, created, err)
	}
	again, created, err := s.InsertNotification(ctx, n)
	if err != nil || created || again.ID != got.ID {
		t.Fatalf("insert again = %+v, %v, %v", again, created, err)
	}
	if err := s.MarkNotificationFailed(ctx, n.Key, "smtp 451", false); err != nil {
		t.Fatal(err)
	}
	d := feedback.Decision{Actor: "system:sync", Action: feedback.ActionNotify, Target: fmt.Sprintf("cluster:%d", c.ID), After: "email ana@acme.io"}
	if err := s.MarkNotificationSent(ctx, n.Key, &d); err != nil {
		t.Fatal(err)
	}
	list, _ := s.Notifications(ctx, store.NotificationFilter{ClusterID: c.ID, Status: store.NotificationSent})
	if len(list) != 1 || list[0].SentAt.IsZero() || list[0].Error != "" {
		t.Fatalf("sent = %+v", list)
	}
	skip := store.Notification{Key: "notify:x", ClusterID: c.ID, Channel: "none"}
	if _, _, err := s.InsertNotification(ctx, skip); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkNotificationFailed(ctx, "notify:x", "no channel", true); err != nil {
		t.Fatal(err)
	}
	all, _ := s.Notifications(ctx, store.NotificationFilter{})
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	if len(all) != 2 || all[1].Status != store.NotificationSkipped {
		t.Fatalf("all = %+v", all)
	}
	if err := s.MarkNotificationSent(ctx, "nope", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing = %v", err)
	}
	ds, _ := s.Decisions(ctx, store.DecisionFilter{Target: d.Target})
	if len(ds) != 1 || ds[0].Action != feedback.ActionNotify {
		t.Fatalf("decisions = %+v", ds)
	}
	it, _ := s.Item(ctx, item)
	rec, err := s.Record(ctx, it.RecordID)
	if err != nil || rec.ExternalID != "<a@b>" {
		t.Fatalf("record = %+v, %v", rec, err)
	}
	if _, err := s.Record(ctx, 99999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing record = %v", err)
	}
}

func testMigrationDownOne(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	c := newCluster(t, s, feedback.StatusAccepted)
	if _, err := s.UpsertTicket(ctx, store.TicketRecord{Ticket: feedback.Ticket{ClusterID: c.ID, Target: "gh", Kind: "github", RemoteKey: "a/b#1"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.MigrateDownTo(ctx, 1); err != nil {
		t.Fatalf("down to 1: %v", err)
	}
	if _, err := s.Tickets(ctx, store.TicketFilter{}); err == nil {
		t.Fatal("sync columns still readable after migrating down")
	}
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	ts, err := s.Tickets(ctx, store.TicketFilter{})
	if err != nil || len(ts) != 1 || len(ts[0].Items) != 0 {
		t.Fatalf("tickets after down-up = %+v, %v", ts, err)
	}
}

// withSearchPath is the PostgreSQL DSN from EnvPostgres pointed at schema.
func withSearchPath(t *testing.T, schema string) string {
	t.Helper()
	u, err := url.Parse(os.Getenv(EnvPostgres))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// testTicketPatch: a patch changes only its own fields, adds items, merges written
// values, completes its outbox row and logs its decision in one transaction.
func testTicketPatch(t *testing.T, b Backend) {
	fail := false
	s := openFailing(t, b, "ticket-save", &fail)
	ctx := context.Background()
	c := newCluster(t, s, feedback.StatusAccepted)
	tk, err := s.UpsertTicket(ctx, store.TicketRecord{Ticket: feedback.Ticket{ClusterID: c.ID, Target: "jira-fb", Kind: "jira", RemoteKey: "FB-8",
		Status: "To Do"}, Severity: feedback.SeverityHigh, Items: []int64{1, 2}, Written: map[string]string{"priority": "High", "labels": "a"},
		RemotePriority: "High"})
	if err != nil {
		t.Fatal(err)
	}
	// Another worker's status lands first.
	done := "Done"
	if _, err := s.PatchTicket(ctx, tk.ID, store.TicketPatch{Status: &done}); err != nil {
		t.Fatal(err)
	}
	oid, _, _ := s.Enqueue(ctx, createRow(c, "jira-fb"))
	low, crit := "Low", feedback.SeverityCritical
	d := feedback.Decision{Actor: "system:sync", Action: feedback.ActionNote, Target: fmt.Sprintf("cluster:%d", c.ID), After: "FB-8", Reason: "patched"}
	p := store.TicketPatch{RemotePriority: &low, Severity: &crit, Items: []int64{2, 5}, Written: map[string]string{"priority": "Highest"}, OutboxID: oid, Decision: &d}
	fail = true
	if _, err := s.PatchTicket(ctx, tk.ID, p); err == nil {
		t.Fatal("injected failure did not surface")
	}
	if r, _ := s.OutboxByID(ctx, oid); r.Status != store.OutboxPending {
		t.Fatalf("outbox after a failed patch = %s", r.Status)
	}
	fail = false
	got, err := s.PatchTicket(ctx, tk.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "Done" || got.RemotePriority != "Low" || got.Severity != feedback.SeverityCritical ||
		!slices.Equal(got.Items, []int64{1, 2, 5}) || got.Written["priority"] != "Highest" || got.Written["labels"] != "a" || got.RemoteKey != "FB-8" {
		t.Fatalf("patched = %+v", got)
	}
	if r, _ := s.OutboxByID(ctx, oid); r.Status != store.OutboxSent {
		t.Fatalf("outbox = %s, want sent", r.Status)
	}
	if ds, _ := s.Decisions(ctx, store.DecisionFilter{Target: d.Target}); len(ds) != 1 || ds[0].Reason != "patched" {
		t.Fatalf("decisions = %+v", ds)
	}
	if _, err := s.PatchTicket(ctx, tk.ID+1000, store.TicketPatch{Status: &done}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("patch of a missing ticket = %v, want ErrNotFound", err)
	}
}
