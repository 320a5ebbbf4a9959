package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

// Run runs the whole conformance suite against one backend.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"IdempotentIntake", testIdempotentIntake},
		{"RecordRoundTrip", testRecordRoundTrip},
		{"InvalidBatchStoresNothing", testInvalidBatch},
		{"CursorInSameTransaction", testCursorSameTx},
		{"CursorRollbackOnFailure", testCursorRollback},
		{"DeliveryIDs", testDeliveryIDs},
		{"DeliveryRollbackAllowsRedelivery", testDeliveryRollback},
		{"DeliveryGroupCommit", testDeliveryGroupCommit},
		{"ConcurrentIngestOnce", testConcurrentIngest},
		{"DecisionsAppendOnly", testDecisionsAppendOnly},
		{"SLAEventsAppendOnly", testSLAEventsAppendOnly},
		{"MigrationsUpDownUp", testMigrationsUpDownUp},
		{"SchemaNewerRefused", testSchemaNewer},
		{"SchemaBehind", testSchemaBehind},
		{"ItemsUpsertKeepsDecisions", testItemsUpsert},
		{"TimesCompareInSQL", testTimesCompare},
		{"Clusters", testClusters},
		{"NeverMergeAndRefs", testNeverMergeAndRefs},
		{"ClusterBatch", testClusterBatch},
		{"ClusterBatchLarge", testClusterBatchLarge},
		{"PreparedStatements", testPreparedStatements},
		{"SLABatch", testSLABatch},
		{"UpsertItems", testUpsertItems},
		{"UnclusteredExcept", testUnclusteredExcept},
		{"IngestManyRows", testIngestManyRows},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, b)
		})
	}
}

var base = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func open(t *testing.T, b Backend, opts ...store.Option) *store.Store {
	t.Helper()
	s := b.Open(t, opts...)
	if _, err := s.MigrateUp(context.Background()); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	return s
}

// failCommits is an option that fails the commits of operation op with "injected
// failure" while *fail is true.
func failCommits(op string, fail *bool) store.Option {
	return store.WithHooks(store.Hooks{BeforeCommit: func(o string) error {
		if *fail && o == op {
			return errors.New("injected failure")
		}
		return nil
	}})
}

func rec(source, id, rev string) feedback.Record {
	return feedback.Record{
		Source: source, ExternalID: id, Revision: rev, Kind: feedback.KindIssue,
		Title: "Deploy fails on " + id, Body: "body of " + id, Author: "octocat",
		Labels:    []string{"bug", "deploy"},
		CreatedAt: base, UpdatedAt: base.Add(time.Minute),
		Raw: []byte(`{"id":"` + id + `"}`),
	}
}

func mustIngest(t *testing.T, s *store.Store, source string, recs []feedback.Record, c *feedback.Cursor) store.IngestResult {
	t.Helper()
	res, err := s.Ingest(context.Background(), source, recs, c)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return res
}

func count(t *testing.T, s *store.Store, source string) int {
	t.Helper()
	n, err := s.CountRecords(context.Background(), source)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testIdempotentIntake(t *testing.T, b Backend) {
	s := open(t, b)
	batch := []feedback.Record{rec("gh", "1", "r1"), rec("gh", "2", "r1"), rec("gh", "3", "r1")}
	if res := mustIngest(t, s, "gh", batch, nil); res.New != 3 || res.Duplicate != 0 || len(res.IDs) != 3 {
		t.Fatalf("first ingest = %+v, want 3 new", res)
	}
	if res := mustIngest(t, s, "gh", batch, nil); res.New != 0 || res.Duplicate != 3 {
		t.Fatalf("second ingest = %+v, want 3 duplicates", res)
	}
	edited := []feedback.Record{rec("gh", "2", "r2"), rec("gh", "2", "r1")}
	if res := mustIngest(t, s, "gh", edited, nil); res.New != 1 || res.Duplicate != 1 {
		t.Fatalf("edit ingest = %+v, want 1 new 1 duplicate", res)
	}
	// The same external id in another source is another record.
	if res := mustIngest(t, s, "jira", []feedback.Record{rec("jira", "1", "r1")}, nil); res.New != 1 {
		t.Fatalf("other source = %+v, want 1 new", res)
	}
	if n := count(t, s, "gh"); n != 4 {
		t.Fatalf("gh records = %d, want 4", n)
	}
}

func testRecordRoundTrip(t *testing.T, b Backend) {
	s := open(t, b)
	r := rec("mail", "<a@b>", "1")
	r.Kind = feedback.KindEmail
	// NUL bytes in JSON fields (a mail's Message-ID kept in meta, a reference) are
	// dropped like the text fields': PostgreSQL's JSONB refuses them.
	r.Meta = map[string]string{"from_domain": "acme.io", "message_id": "<bad\x00id@b>"}
	r.ThreadRefs = []string{"<p@b>", "<q\x00@b>"}
	r.Labels = []string{"a\x00b"}
	r.Body = "nul\x00byte and ünïcødé"
	r.Raw = []byte("From: x\r\nnot json at all\x00")
	r.Deleted = true
	r.Quarantine = "auto-submitted: auto-replied"
	mustIngest(t, s, "mail", []feedback.Record{r}, nil)
	got, err := s.Records(context.Background(), store.RecordFilter{Source: "mail"})
	if err != nil || len(got) != 1 {
		t.Fatalf("records = %v, %v", got, err)
	}
	g := got[0]
	if g.Meta["from_domain"] != "acme.io" || g.Meta["message_id"] != "<badid@b>" || strings.Join(g.ThreadRefs, " ") != "<p@b> <q@b>" ||
		strings.Join(g.Labels, " ") != "ab" {
		t.Errorf("meta/thread refs/labels: %+v", g)
	}
	if g.Body != "nulbyte and ünïcødé" {
		t.Errorf("body = %q", g.Body)
	}
	if !g.Deleted || g.Quarantine != r.Quarantine || g.Kind != feedback.KindEmail {
		t.Errorf("flags lost: %+v", g)
	}
	if !g.CreatedAt.Equal(base) || !g.UpdatedAt.Equal(base.Add(time.Minute)) {
		t.Errorf("times = %v %v", g.CreatedAt, g.UpdatedAt)
	}
	if !strings.Contains(string(g.Raw), `not json at all\u0000`) {
		t.Errorf("raw not kept: %s", g.Raw)
	}
}

func testInvalidBatch(t *testing.T, b Backend) {
	s := open(t, b)
	bad := rec("gh", "", "r1")
	_, err := s.Ingest(context.Background(), "gh", []feedback.Record{rec("gh", "1", "r1"), bad}, &feedback.Cursor{Source: "gh", Value: "x"})
	if err == nil || !strings.Contains(err.Error(), "record 1") {
		t.Fatalf("err = %v, want an error naming record 1", err)
	}
	wrongSource := rec("jira", "1", "r1")
	if _, err := s.Ingest(context.Background(), "gh", []feedback.Record{wrongSource}, nil); err == nil {
		t.Fatal("record of another source accepted")
	}
	if n := count(t, s, ""); n != 0 {
		t.Fatalf("records = %d, want 0", n)
	}
	c, _ := s.Cursor(context.Background(), "gh")
	if c.Value != "" {
		t.Fatalf("cursor moved to %q", c.Value)
	}
}

func testCursorSameTx(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	c, err := s.Cursor(ctx, "gh")
	if err != nil || c.Value != "" || c.Source != "gh" {
		t.Fatalf("initial cursor = %+v, %v", c, err)
	}
	mustIngest(t, s, "gh", []feedback.Record{rec("gh", "1", "r1")}, &feedback.Cursor{Source: "gh", Value: `{"since":"a"}`})
	mustIngest(t, s, "gh", nil, &feedback.Cursor{Source: "gh", Value: `{"since":"b"}`})
	c, _ = s.Cursor(ctx, "gh")
	if c.Value != `{"since":"b"}` {
		t.Fatalf("cursor = %q", c.Value)
	}
	all, err := s.Cursors(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("cursors = %v, %v", all, err)
	}
}

func testCursorRollback(t *testing.T, b Backend) {
	fail := true
	s := open(t, b, failCommits("ingest", &fail))
	ctx := context.Background()
	_, err := s.Ingest(ctx, "gh", []feedback.Record{rec("gh", "1", "r1"), rec("gh", "2", "r1")}, &feedback.Cursor{Source: "gh", Value: "moved"})
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("err = %v, want injected failure", err)
	}
	if n := count(t, s, "gh"); n != 0 {
		t.Fatalf("records after failed tx = %d, want 0", n)
	}
	if c, _ := s.Cursor(ctx, "gh"); c.Value != "" {
		t.Fatalf("cursor after failed tx = %q, want unchanged", c.Value)
	}
	fail = false
	if res := mustIngest(t, s, "gh", []feedback.Record{rec("gh", "1", "r1"), rec("gh", "2", "r1")}, &feedback.Cursor{Source: "gh", Value: "moved"}); res.New != 2 {
		t.Fatalf("retry = %+v", res)
	}
	if c, _ := s.Cursor(ctx, "gh"); c.Value != "moved" {
		t.Fatalf("cursor = %q", c.Value)
	}
}

func testDeliveryIDs(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	recs := []feedback.Record{rec("hook", "1", "r1")}
	res, dup, err := s.IngestDelivery(ctx, "hook", "d-1", recs)
	if err != nil || dup || res.New != 1 {
		t.Fatalf("first delivery = %+v dup=%v err=%v", res, dup, err)
	}
	res, dup, err = s.IngestDelivery(ctx, "hook", "d-1", []feedback.Record{rec("hook", "9", "r1")})
	if err != nil || !dup || res.New != 0 {
		t.Fatalf("repeat delivery = %+v dup=%v err=%v", res, dup, err)
	}
	if n := count(t, s, "hook"); n != 1 {
		t.Fatalf("records = %d, want 1 (a repeated delivery stores nothing)", n)
	}
	if seen, _ := s.DeliverySeen(ctx, "hook", "d-1"); !seen {
		t.Fatal("delivery not marked seen")
	}
	if seen, _ := s.DeliverySeen(ctx, "other", "d-1"); seen {
		t.Fatal("delivery ids must be per source")
	}
	if _, _, err := s.IngestDelivery(ctx, "hook", "", recs); err == nil {
		t.Fatal("empty delivery id accepted")
	}
}

func testDeliveryRollback(t *testing.T, b Backend) {
	fail := true
	s := open(t, b, failCommits("ingest-delivery", &fail))
	ctx := context.Background()
	if _, _, err := s.IngestDelivery(ctx, "hook", "d-7", []feedback.Record{rec("hook", "1", "r1")}); err == nil {
		t.Fatal("want injected failure")
	}
	if seen, _ := s.DeliverySeen(ctx, "hook", "d-7"); seen {
		t.Fatal("a failed delivery must not be marked seen")
	}
	fail = false
	res, dup, err := s.IngestDelivery(ctx, "hook", "d-7", []feedback.Record{rec("hook", "1", "r1")})
	if err != nil || dup || res.New != 1 {
		t.Fatalf("redelivery = %+v dup=%v err=%v, want processed", res, dup, err)
	}
}

func testConcurrentIngest(t *testing.T, b Backend) {
	s := open(t, b)
	var batch []feedback.Record
	for i := range 20 {
		batch = append(batch, rec("gh", fmt.Sprint(i), "r1"))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Ingest(context.Background(), "gh", batch, nil)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			total += res.New
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 20 {
		t.Fatalf("new across concurrent ingests = %d, want 20", total)
	}
	if n := count(t, s, "gh"); n != 20 {
		t.Fatalf("records = %d, want 20", n)
	}
}

func testDecisionsAppendOnly(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	id, err := s.AppendDecision(ctx, feedback.Decision{Actor: "ana", Action: feedback.ActionAccept, Target: "cluster:1", Reason: "three partners", RulesVersion: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendDecision(ctx, feedback.Decision{Action: feedback.ActionAccept, Target: "cluster:1"}); err == nil {
		t.Fatal("decision without actor accepted")
	}
	for _, q := range []string{
		"UPDATE decisions SET reason = 'rewritten' WHERE id = ?",
		"DELETE FROM decisions WHERE id = ?",
	} {
		if err := s.ProbeAppendOnly(ctx, q, id); !errors.Is(err, store.ErrAppendOnly) {
			t.Errorf("%s: err = %v, want ErrAppendOnly", q, err)
		}
	}
	ds, err := s.Decisions(ctx, store.DecisionFilter{Target: "cluster:1"})
	if err != nil || len(ds) != 1 || ds[0].Reason != "three partners" || ds[0].RulesVersion != "abc123" {
		t.Fatalf("decisions = %+v, %v", ds, err)
	}
	future, err := s.Decisions(ctx, store.DecisionFilter{Since: time.Now().Add(time.Hour)})
	if err != nil || len(future) != 0 {
		t.Fatalf("since filter = %+v, %v", future, err)
	}
}

func testSLAEventsAppendOnly(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	id, err := s.AppendSLAEvent(ctx, store.SLAEvent{ClusterID: 1, At: base, Kind: "start", Policy: "default", Metric: "first_response"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE sla_events SET kind = 'stop' WHERE id = ?", "DELETE FROM sla_events WHERE id = ?"} {
		if err := s.ProbeAppendOnly(ctx, q, id); !errors.Is(err, store.ErrAppendOnly) {
			t.Errorf("%s: err = %v, want ErrAppendOnly", q, err)
		}
	}
	ev, err := s.SLAEvents(ctx, 1)
	if err != nil || len(ev) != 1 || !ev[0].At.Equal(base) {
		t.Fatalf("events = %+v, %v", ev, err)
	}
}

func testMigrationsUpDownUp(t *testing.T, b Backend) {
	s := b.Open(t)
	ctx := context.Background()
	cur, latest, err := s.SchemaVersion(ctx)
	if err != nil || cur != 0 || latest < 1 {
		t.Fatalf("fresh schema version = %d/%d, %v", cur, latest, err)
	}
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, s, "gh", []feedback.Record{rec("gh", "1", "r1")}, nil)
	if err := s.MigrateDownTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CountRecords(ctx, ""); err == nil {
		t.Fatal("records table still exists after migrating down to 0")
	}
	st, err := s.MigrationStatus(ctx)
	if err != nil || len(st) == 0 || st[0].Applied {
		t.Fatalf("status after down = %+v, %v", st, err)
	}
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if n := count(t, s, ""); n != 0 {
		t.Fatalf("records after up-down-up = %d, want 0", n)
	}
	mustIngest(t, s, "gh", []feedback.Record{rec("gh", "1", "r1")}, nil)
	cur, latest, _ = s.SchemaVersion(ctx)
	if cur != latest {
		t.Fatalf("version %d, want %d", cur, latest)
	}
	// Up again is a no-op.
	if applied, err := s.MigrateUp(ctx); err != nil || len(applied) != 0 {
		t.Fatalf("second up applied %v, %v", applied, err)
	}
}

func testSchemaNewer(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	if _, err := s.DB().ExecContext(ctx, s.DB().Rebind("INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)"), 9999, true); err != nil {
		t.Fatal(err)
	}
	err := s.EnsureSchema(ctx, true)
	if !errors.Is(err, store.ErrSchemaNewer) || !strings.Contains(err.Error(), "upgrade feedbackhub") {
		t.Fatalf("err = %v, want ErrSchemaNewer", err)
	}
}

func testSchemaBehind(t *testing.T, b Backend) {
	s := b.Open(t)
	ctx := context.Background()
	err := s.EnsureSchema(ctx, false)
	if s.Dialect() == store.SQLite {
		if err != nil {
			t.Fatalf("sqlite must migrate automatically: %v", err)
		}
		cur, latest, _ := s.SchemaVersion(ctx)
		if cur != latest {
			t.Fatalf("version %d, want %d", cur, latest)
		}
		return
	}
	if !errors.Is(err, store.ErrSchemaBehind) || !strings.Contains(err.Error(), "feedbackhub migrate") {
		t.Fatalf("err = %v, want ErrSchemaBehind naming `feedbackhub migrate`", err)
	}
	if err := s.EnsureSchema(ctx, true); err != nil {
		t.Fatalf("auto_migrate: %v", err)
	}
}

func testItemsUpsert(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	res := mustIngest(t, s, "gh", []feedback.Record{rec("gh", "1", "r1")}, nil)
	it := feedback.Item{Source: "gh", Kind: feedback.KindIssue, ExternalID: "1", Title: "v1", Category: feedback.CategoryBilling,
		Labels: []string{"billing"}, RecordID: res.IDs[0], CreatedAt: base, UpdatedAt: base}
	id1, err := s.UpsertItem(ctx, it)
	if err != nil {
		t.Fatal(err)
	}
	it.Title, it.Category = "v2", feedback.CategoryDeployment
	id2, err := s.UpsertItem(ctx, it)
	if err != nil || id1 != id2 {
		t.Fatalf("upsert ids %d %d, %v", id1, id2, err)
	}
	got, err := s.ItemByExternalID(ctx, "gh", "1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "v2" || got.Category != feedback.CategoryBilling || got.Partner != feedback.UnknownPartner {
		t.Fatalf("item = %+v: title should follow the source, category should stay", got)
	}
	if _, err := s.ItemByExternalID(ctx, "gh", "404"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing item err = %v", err)
	}
	if _, err := s.UpsertMessage(ctx, feedback.Message{ItemID: id1, Source: "gh", ExternalID: "c1", Body: "me too", RecordID: res.IDs[0], CreatedAt: base, UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
}

func testTimesCompare(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	for i, d := range []time.Duration{0, time.Hour, 48 * time.Hour} {
		at := base.Add(d).In(time.FixedZone("UTC-5", -5*3600)) // non-UTC input is stored as UTC
		if _, err := s.AppendDecision(ctx, feedback.Decision{At: at, Actor: "system", Action: feedback.ActionNote, Target: fmt.Sprint("cluster:", i)}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.Decisions(ctx, store.DecisionFilter{Since: base.Add(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("decisions since +30m = %d, want 2 (times must compare in SQL)", len(ds))
	}
	if ds[0].At.Location() != time.UTC || !ds[0].At.Equal(base.Add(time.Hour)) {
		t.Fatalf("at = %v, want %v in UTC", ds[0].At, base.Add(time.Hour))
	}
}

// testDeliveryGroupCommit: concurrent deliveries are committed in groups, each
// delivery under its own savepoint. 40 ids are each delivered twice at once; one id
// fails inside the transaction. Every caller must get its own answer: the failing id
// an error (and nothing stored), every other id exactly one "new" and one duplicate,
// and the failure must not undo the deliveries grouped with it.
func testDeliveryGroupCommit(t *testing.T, b Backend) {
	const ids, total = 40, 80
	var started, commits atomic.Int64
	var first sync.Once
	s := open(t, b, store.WithHooks(store.Hooks{
		BeforeCommit: func(op string) error {
			if op != "ingest-delivery" {
				return nil
			}
			commits.Add(1)
			// Hold the first commit until every caller has queued behind it, so the
			// rest are grouped (this is what makes the savepoint path run).
			first.Do(func() {
				for started.Load() < total {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(200 * time.Millisecond)
			})
			return nil
		},
		Delivery: func(id string) error {
			if id == "d-13" {
				return errors.New("injected failure")
			}
			return nil
		},
	}))
	ctx := context.Background()
	type answer struct {
		id  string
		new int
		dup bool
		err error
	}
	answers := make(chan answer, total)
	var wg sync.WaitGroup
	for i := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "d-" + strconv.Itoa(i%ids)
			started.Add(1)
			res, dup, err := s.IngestDelivery(ctx, "hook", id, []feedback.Record{rec("hook", id, "r1")})
			answers <- answer{id, res.New, dup, err}
		}()
	}
	wg.Wait()
	close(answers)
	byID := map[string][]answer{}
	for a := range answers {
		byID[a.id] = append(byID[a.id], a)
	}
	for i := range ids {
		id := "d-" + strconv.Itoa(i)
		as := byID[id]
		if len(as) != 2 {
			t.Fatalf("%s: %d answers", id, len(as))
		}
		if id == "d-13" {
			for _, a := range as {
				if a.err == nil || !strings.Contains(a.err.Error(), "injected failure") {
					t.Errorf("%s: err = %v, want the injected failure", id, a.err)
				}
			}
			continue
		}
		news, dups := 0, 0
		for _, a := range as {
			if a.err != nil {
				t.Errorf("%s: %v", id, a.err)
			}
			news += a.new
			if a.dup {
				dups++
			}
		}
		if news != 1 || dups != 1 {
			t.Errorf("%s: %d new records and %d duplicate answers, want 1 and 1", id, news, dups)
		}
	}
	if n := count(t, s, "hook"); n != ids-1 {
		t.Errorf("records = %d, want %d", n, ids-1)
	}
	if seen, _ := s.DeliverySeen(ctx, "hook", "d-13"); seen {
		t.Error("the failed delivery is marked seen")
	}
	if c := commits.Load(); c > 3 {
		t.Errorf("%d commits for %d queued deliveries: not grouped", c, total)
	}
}

// testIngestManyRows: a large batch goes in several multi-row statements; a record
// repeated inside the batch is stored once and counted as a duplicate, and ids come
// back in input order, as one statement per record gave them.
func testIngestManyRows(t *testing.T, b Backend) {
	s := open(t, b)
	var batch []feedback.Record
	for i := range 450 {
		batch = append(batch, rec("gh", strconv.Itoa(i), "r1"))
		if i == 10 || i == 300 {
			batch = append(batch, rec("gh", strconv.Itoa(i), "r1"))
		}
	}
	res := mustIngest(t, s, "gh", batch, nil)
	if res.New != 450 || res.Duplicate != 2 || len(res.IDs) != 450 {
		t.Fatalf("ingest = new %d, duplicate %d, %d ids; want 450, 2, 450", res.New, res.Duplicate, len(res.IDs))
	}
	ctx := context.Background()
	for i, id := range res.IDs {
		if i > 0 && id <= res.IDs[i-1] {
			t.Fatalf("ids not in input order at %d: %v", i, res.IDs[i-1:i+1])
		}
	}
	got, err := s.Records(ctx, store.RecordFilter{Source: "gh", ExternalID: "300", Limit: 5})
	if err != nil || len(got) != 1 || got[0].ID != res.IDs[300] || got[0].Title != "Deploy fails on 300" {
		t.Fatalf("record 300 = %+v, %v (id want %d)", got, err, res.IDs[300])
	}
	// Again, with one new revision among them: 450 duplicates, 1 new.
	batch = append(batch[:0], batch...)
	batch = append(batch, rec("gh", "7", "r2"))
	if res := mustIngest(t, s, "gh", batch, nil); res.New != 1 || res.Duplicate != 452 || len(res.IDs) != 1 {
		t.Fatalf("second ingest = new %d, duplicate %d; want 1, 452", res.New, res.Duplicate)
	}
	// Items: more than one statement's worth, a repeated key updated by the later row.
	items := make([]feedback.Item, 0, 260)
	for i := range 250 {
		items = append(items, feedback.Item{Source: "gh", Kind: feedback.KindIssue, ExternalID: strconv.Itoa(i), Title: "t" + strconv.Itoa(i),
			RecordID: res.IDs[0], CreatedAt: base, UpdatedAt: base})
	}
	items = append(items, feedback.Item{Source: "gh", Kind: feedback.KindIssue, ExternalID: "5", Title: "t5 edited", RecordID: res.IDs[0], CreatedAt: base, UpdatedAt: base})
	ids, err := s.UpsertItems(ctx, items)
	if err != nil || len(ids) != 251 || ids[250] != ids[5] {
		t.Fatalf("upsert items = %d ids, %v (ids[5] %d, ids[250] %d)", len(ids), err, ids[5], ids[len(ids)-1])
	}
	for i := 1; i < 250; i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("item ids not in input order at %d", i)
		}
	}
	if it, _ := s.Item(ctx, ids[5]); it.Title != "t5 edited" {
		t.Fatalf("item 5 = %+v", it)
	}
}
