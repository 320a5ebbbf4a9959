package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

func addItem(t *testing.T, s *store.Store, source, id, partner string, at time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	r := rec(source, id, "1")
	res, err := s.Ingest(ctx, source, []feedback.Record{r}, nil)
	if err != nil {
		t.Fatal(err)
	}
	itemID, err := s.UpsertItem(ctx, feedback.Item{Source: source, Kind: feedback.KindIssue, ExternalID: id, Title: "t" + id,
		Partner: partner, RecordID: res.IDs[0], CreatedAt: at, UpdatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	return itemID
}

// threeItems adds the clusters tests' items: a GitHub issue from northwind, an
// email from acme two days later, and a Jira issue with no partner an hour after the
// first.
func threeItems(t *testing.T, s *store.Store) (gh, mail, jira int64) {
	t.Helper()
	return addItem(t, s, "gh", "1", "northwind", base),
		addItem(t, s, "mail", "<x@y>", "acme", base.Add(48*time.Hour)),
		addItem(t, s, "jira", "FB-1", "unknown", base.Add(time.Hour))
}

func testClusters(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	a, bb, c := threeItems(t, s)
	c1, err := s.CreateCluster(ctx, feedback.Cluster{Title: "deploys fail"})
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := s.CreateCluster(ctx, feedback.Cluster{Title: "other"})
	for _, it := range []int64{a, bb, c} {
		if err := s.LinkItem(ctx, feedback.ClusterLink{ClusterID: c1, ItemID: it, Evidence: "reference", Score: 1, Detail: `{"ref":"FB-1"}`}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Cluster(ctx, c1)
	if err != nil {
		t.Fatal(err)
	}
	if got.ItemsCount != 3 || got.PartnersCount != 2 || !got.FirstSeen.Equal(base) || !got.LastSeen.Equal(base.Add(48*time.Hour)) || got.Status != feedback.StatusNew {
		t.Fatalf("cluster = %+v", got)
	}
	// Moving an item refreshes both clusters.
	if err := s.LinkItem(ctx, feedback.ClusterLink{ClusterID: c2, ItemID: bb, Evidence: "manual", LinkedBy: "ana"}); err != nil {
		t.Fatal(err)
	}
	g1, _ := s.Cluster(ctx, c1)
	g2, _ := s.Cluster(ctx, c2)
	if g1.ItemsCount != 2 || g1.PartnersCount != 1 || g2.ItemsCount != 1 {
		t.Fatalf("after move: %+v / %+v", g1, g2)
	}
	links, err := s.ClusterLinks(ctx, c1)
	if err != nil || len(links) != 2 || links[0].Evidence != "reference" {
		t.Fatalf("links = %+v, %v", links, err)
	}
	items, _ := s.ClusterItems(ctx, c1)
	if len(items) != 2 || items[0].ID != a || *items[0].ClusterID != c1 {
		t.Fatalf("items = %+v", items)
	}
	g1.Status, g1.Severity, g1.Labels = feedback.StatusAccepted, feedback.SeverityHigh, []string{"recurring"}
	if err := s.UpdateCluster(ctx, g1); err != nil {
		t.Fatal(err)
	}
	acc, _ := s.Clusters(ctx, store.ClusterFilter{Status: feedback.StatusAccepted})
	if len(acc) != 1 || acc[0].Labels[0] != "recurring" {
		t.Fatalf("accepted = %+v", acc)
	}
	if err := s.UpdateCluster(ctx, feedback.Cluster{ID: 9999}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing cluster err = %v", err)
	}
	if err := s.LinkItem(ctx, feedback.ClusterLink{ClusterID: c1, ItemID: 9999, Evidence: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing item err = %v", err)
	}
}

func testNeverMergeAndRefs(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	a := addItem(t, s, "gh", "1", "", base)
	c := addItem(t, s, "gh", "2", "", base)
	if err := s.AddNeverMerge(ctx, c, a, 7); err != nil {
		t.Fatal(err)
	}
	if err := s.AddNeverMerge(ctx, a, c, 8); err != nil {
		t.Fatal(err)
	}
	pairs, err := s.NeverMerge(ctx)
	if err != nil || len(pairs) != 1 || pairs[0] != [2]int64{a, c} {
		t.Fatalf("pairs = %v, %v", pairs, err)
	}
	if err := s.AddNeverMerge(ctx, a, a, 1); err == nil {
		t.Fatal("self pair accepted")
	}
	refs := []feedback.Ref{{Kind: feedback.RefJiraKey, Value: "FB-12"}, {Kind: feedback.RefGitHub, Value: "acme/w#3"}}
	if err := s.ReplaceRefs(ctx, a, refs); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRefs(ctx, c, refs[:1]); err != nil {
		t.Fatal(err)
	}
	ids, err := s.ItemsByRef(ctx, feedback.RefJiraKey, "FB-12")
	if err != nil || len(ids) != 2 {
		t.Fatalf("items by ref = %v, %v", ids, err)
	}
	if err := s.ReplaceRefs(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Refs(ctx, a); len(got) != 0 {
		t.Fatalf("refs after replace = %v", got)
	}
	if err := s.ClassifyItem(ctx, a, store.ItemClassification{Category: feedback.CategoryBilling, Severity: feedback.SeverityLow, Owner: "team-billing", Labels: []string{"billing"}}); err != nil {
		t.Fatal(err)
	}
	it, _ := s.Item(ctx, a)
	if it.Category != feedback.CategoryBilling || it.Owner != "team-billing" || it.Labels[0] != "billing" {
		t.Fatalf("item = %+v", it)
	}
	page, err := s.ItemsAfter(ctx, a, 10)
	if err != nil || len(page) != 1 || page[0].ID != c {
		t.Fatalf("items after = %+v, %v", page, err)
	}
}

func testClusterBatch(t *testing.T, b Backend) {
	fail := false
	s := open(t, b, failCommits("cluster-batch", &fail))
	ctx := context.Background()
	a, bb, c := threeItems(t, s)
	old, err := s.CreateCluster(ctx, feedback.Cluster{Title: "old"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LinkItem(ctx, feedback.ClusterLink{ClusterID: old, ItemID: c, Evidence: "new"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRefs(ctx, bb, []feedback.Ref{{Kind: feedback.RefJiraKey, Value: "FB-9"}}); err != nil {
		t.Fatal(err)
	}

	// A link to a cluster that does not exist fails the whole batch: no refs
	// replaced, no cluster created, no item linked or moved.
	err = s.ClusterBatch(ctx, func(tx *store.ClusterTx) error {
		if err := tx.ReplaceRefs(bb, []feedback.Ref{{Kind: feedback.RefJiraKey, Value: "FB-1"}}); err != nil {
			return err
		}
		id, err := tx.CreateCluster(feedback.Cluster{Title: "deploys fail"})
		if err != nil {
			return err
		}
		if err := tx.LinkItem(feedback.ClusterLink{ClusterID: id, ItemID: a, Evidence: "new"}); err != nil {
			return err
		}
		return tx.LinkItem(feedback.ClusterLink{ClusterID: id + 1000, ItemID: bb, Evidence: "reference"})
	})
	if err == nil {
		t.Fatal("batch with a link to a missing cluster succeeded")
	}
	checkUnchanged := func(when string) {
		t.Helper()
		cs, err := s.Clusters(ctx, store.ClusterFilter{})
		if err != nil || len(cs) != 1 || cs[0].ID != old || cs[0].ItemsCount != 1 {
			t.Fatalf("%s: clusters = %+v, %v", when, cs, err)
		}
		if it, _ := s.Item(ctx, a); it.ClusterID != nil {
			t.Fatalf("%s: item linked: %+v", when, it)
		}
		if refs, _ := s.Refs(ctx, bb); len(refs) != 1 || refs[0].Value != "FB-9" {
			t.Fatalf("%s: refs = %+v", when, refs)
		}
	}
	checkUnchanged("after a failed link")
	if err := s.ClusterBatch(ctx, func(tx *store.ClusterTx) error {
		return tx.LinkItem(feedback.ClusterLink{ClusterID: old, ItemID: 9999, Evidence: "x"})
	}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing item err = %v", err)
	}
	fail = true
	err = s.ClusterBatch(ctx, func(tx *store.ClusterTx) error {
		id, err := tx.CreateCluster(feedback.Cluster{Title: "x"})
		if err != nil {
			return err
		}
		return tx.LinkItem(feedback.ClusterLink{ClusterID: id, ItemID: a, Evidence: "new"})
	})
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("err = %v, want injected failure", err)
	}
	checkUnchanged("after a failed commit")
	fail = false

	// A good batch: refs replaced, a new cluster, links into it and into an existing
	// cluster, one item moved out of another; every touched cluster refreshed.
	var created int64
	err = s.ClusterBatch(ctx, func(tx *store.ClusterTx) error {
		if err := tx.ReplaceRefs(a, nil); err != nil {
			return err
		}
		if err := tx.ReplaceRefs(bb, []feedback.Ref{{Kind: feedback.RefJiraKey, Value: "FB-1"}, {Kind: feedback.RefGitHub, Value: "acme/w#3"}}); err != nil {
			return err
		}
		var err error
		if created, err = tx.CreateCluster(feedback.Cluster{Title: "deploys fail", FirstSeen: base, LastSeen: base}); err != nil {
			return err
		}
		for _, l := range []feedback.ClusterLink{
			{ClusterID: created, ItemID: a, Evidence: "new", Detail: `{"evidence":"new"}`},
			{ClusterID: old, ItemID: bb, Evidence: "reference", Score: 1},
			{ClusterID: created, ItemID: c, Evidence: "similarity", Score: 0.97},
		} {
			if err := tx.LinkItem(l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gNew, _ := s.Cluster(ctx, created)
	gOld, _ := s.Cluster(ctx, old)
	if gNew.Title != "deploys fail" || gNew.ItemsCount != 2 || gNew.PartnersCount != 1 || !gNew.FirstSeen.Equal(base) || !gNew.LastSeen.Equal(base.Add(time.Hour)) {
		t.Fatalf("new cluster = %+v", gNew)
	}
	if gOld.ItemsCount != 1 || gOld.PartnersCount != 1 || !gOld.FirstSeen.Equal(base.Add(48*time.Hour)) {
		t.Fatalf("old cluster = %+v", gOld)
	}
	links, err := s.ClusterLinks(ctx, created)
	if err != nil || len(links) != 2 || links[0].ItemID != a || !strings.Contains(links[0].Detail, `"new"`) || links[0].LinkedBy != "system" ||
		links[1].ItemID != c || links[1].Evidence != "similarity" {
		t.Fatalf("links = %+v, %v", links, err)
	}
	if refs, _ := s.Refs(ctx, bb); len(refs) != 2 {
		t.Fatalf("refs = %+v", refs)
	}
	if ids, _ := s.ItemsByRef(ctx, feedback.RefJiraKey, "FB-9"); len(ids) != 0 {
		t.Fatalf("old ref kept: %v", ids)
	}
}

// testPreparedStatements: hot queries run through cached prepared statements. A
// statement that cannot be prepared yet (no schema) is not cached; statements are
// used from many goroutines while batches run (on SQLite's one connection too);
// Close closes them.
func testPreparedStatements(t *testing.T, b Backend) {
	s := b.Open(t)
	ctx := context.Background()
	if _, err := s.Item(ctx, 1); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("item before migrating: err = %v, want a missing-table error", err)
	}
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Item(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("item after migrating: err = %v, want ErrNotFound", err)
	}
	var ids []int64
	for i := range 20 {
		ids = append(ids, addItem(t, s, "gh", fmt.Sprint(i), "acme", base.Add(time.Duration(i)*time.Minute)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if _, err := s.Item(ctx, ids[(g+i)%len(ids)]); err != nil {
					errs <- err
					return
				}
				if _, err := s.ItemByExternalID(ctx, "gh", fmt.Sprint(i%20)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.ClusterBatch(ctx, func(tx *store.ClusterTx) error {
				id, err := tx.CreateCluster(feedback.Cluster{Title: "c"})
				if err != nil {
					return err
				}
				for _, it := range ids {
					if err := tx.ReplaceRefs(it, []feedback.Ref{{Kind: feedback.RefJiraKey, Value: "FB-1"}}); err != nil {
						return err
					}
					if err := tx.LinkItem(feedback.ClusterLink{ClusterID: id, ItemID: it, Evidence: "new"}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				errs <- err
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("deadlock: goroutines did not finish")
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	it, _ := s.Item(ctx, ids[0])
	c, err := s.Cluster(ctx, *it.ClusterID)
	if err != nil || c.ItemsCount != len(ids) {
		t.Fatalf("cluster = %+v, %v", c, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Item(ctx, ids[0]); err == nil {
		t.Fatal("item lookup after Close succeeded")
	}
}

// testSLABatch: the set-at-a-time reads and the batch append StartSLAs uses.
func testSLABatch(t *testing.T, b Backend) {
	fail := false
	s := open(t, b, failCommits("sla-events", &fail))
	ctx := context.Background()
	c1, _ := s.CreateCluster(ctx, feedback.Cluster{Title: "one"})
	c2, _ := s.CreateCluster(ctx, feedback.Cluster{Title: "two"})
	c3, _ := s.CreateCluster(ctx, feedback.Cluster{Title: "empty"})
	// Linked out of created_at order: partners come back oldest item first.
	for _, it := range []struct {
		id, partner string
		at          time.Time
		cluster     int64
	}{{"3", "wonka", base.Add(2 * time.Hour), c1}, {"1", "acme", base, c1}, {"2", "acme", base.Add(time.Hour), c1}, {"4", "globex", base, c2}} {
		id := addItem(t, s, "gh", it.id, it.partner, it.at)
		if err := s.LinkItem(ctx, feedback.ClusterLink{ClusterID: it.cluster, ItemID: id, Evidence: "new"}); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := s.ClusterPartners(ctx, []int64{c1, c2, c3})
	if err != nil || strings.Join(ps[c1], ",") != "acme,acme,wonka" || strings.Join(ps[c2], ",") != "globex" || ps[c3] != nil {
		t.Fatalf("partners = %v, %v", ps, err)
	}
	ev := func(c int64, kind string) store.SLAEvent {
		return store.SLAEvent{ClusterID: c, At: base, Kind: kind, Policy: "default", Metric: "first_response"}
	}
	// A bad event or a failed commit stores none of the batch.
	if err := s.AppendSLAEvents(ctx, []store.SLAEvent{ev(c1, "start"), ev(c2, "")}); err == nil {
		t.Fatal("event without kind accepted")
	}
	fail = true
	if err := s.AppendSLAEvents(ctx, []store.SLAEvent{ev(c1, "start"), ev(c2, "start")}); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("err = %v, want injected failure", err)
	}
	fail = false
	if has, err := s.ClustersWithSLAEvents(ctx, []int64{c1, c2, c3}); err != nil || len(has) != 0 {
		t.Fatalf("after failed batches: %v, %v", has, err)
	}
	if err := s.AppendSLAEvents(ctx, []store.SLAEvent{ev(c1, "policy"), ev(c1, "start"), ev(c3, "start")}); err != nil {
		t.Fatal(err)
	}
	has, err := s.ClustersWithSLAEvents(ctx, []int64{c1, c2, c3})
	if err != nil || !has[c1] || has[c2] || !has[c3] {
		t.Fatalf("with events = %v, %v", has, err)
	}
	log, _ := s.SLAEvents(ctx, c1)
	if len(log) != 2 || log[0].Kind != "policy" || log[1].Kind != "start" || log[0].Detail == "" {
		t.Fatalf("log = %+v", log)
	}
}

// testClusterBatchLarge: more rows than one multi-row statement carries; an item
// linked twice and references replaced twice in one batch end as the last call says,
// and the cluster it passed through is refreshed too.
func testClusterBatchLarge(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	recs := make([]feedback.Record, 250)
	for i := range recs {
		recs[i] = rec("gh", fmt.Sprint(i), "1")
	}
	res := mustIngest(t, s, "gh", recs, nil)
	ids := make([]int64, len(recs))
	for i, r := range recs {
		id, err := s.UpsertItem(ctx, feedback.Item{Source: "gh", Kind: feedback.KindIssue, ExternalID: r.ExternalID, Title: "t",
			Partner: fmt.Sprint("p", i%3), RecordID: res.IDs[i], CreatedAt: base.Add(time.Duration(i) * time.Minute), UpdatedAt: base.Add(time.Duration(i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	var big, mid, small int64
	err := s.ClusterBatch(ctx, func(tx *store.ClusterTx) error {
		var err error
		if big, err = tx.CreateCluster(feedback.Cluster{Title: "big"}); err != nil {
			return err
		}
		if mid, err = tx.CreateCluster(feedback.Cluster{Title: "mid"}); err != nil {
			return err
		}
		if small, err = tx.CreateCluster(feedback.Cluster{Title: "small"}); err != nil {
			return err
		}
		for i, id := range ids {
			if err := tx.ReplaceRefs(id, []feedback.Ref{{Kind: feedback.RefJiraKey, Value: "FB-1"}, {Kind: feedback.RefJiraKey, Value: fmt.Sprint("FB-", 100+i)}}); err != nil {
				return err
			}
			if err := tx.LinkItem(feedback.ClusterLink{ClusterID: big, ItemID: id, Evidence: "new"}); err != nil {
				return err
			}
		}
		if err := tx.LinkItem(feedback.ClusterLink{ClusterID: mid, ItemID: ids[0], Evidence: "manual"}); err != nil {
			return err
		}
		if err := tx.ReplaceRefs(ids[0], []feedback.Ref{{Kind: feedback.RefGitHub, Value: "acme/w#1"}}); err != nil {
			return err
		}
		return tx.LinkItem(feedback.ClusterLink{ClusterID: small, ItemID: ids[0], Evidence: "similarity", Score: 0.9})
	})
	if err != nil {
		t.Fatal(err)
	}
	gb, _ := s.Cluster(ctx, big)
	gm, _ := s.Cluster(ctx, mid)
	gs, _ := s.Cluster(ctx, small)
	if gb.ItemsCount != 249 || gb.PartnersCount != 3 || !gb.FirstSeen.Equal(base.Add(time.Minute)) || !gb.LastSeen.Equal(base.Add(249*time.Minute)) {
		t.Fatalf("big = %+v", gb)
	}
	if gm.ItemsCount != 0 || gs.ItemsCount != 1 || !gs.FirstSeen.Equal(base) {
		t.Fatalf("mid = %+v, small = %+v", gm, gs)
	}
	if ls, _ := s.ClusterLinks(ctx, small); len(ls) != 1 || ls[0].Evidence != "similarity" || ls[0].Score != 0.9 {
		t.Fatalf("small links = %+v", ls)
	}
	if refs, _ := s.Refs(ctx, ids[0]); len(refs) != 1 || refs[0].Value != "acme/w#1" {
		t.Fatalf("refs of the first item = %+v", refs)
	}
	if got, _ := s.ItemsByRef(ctx, feedback.RefJiraKey, "FB-1"); len(got) != 249 {
		t.Fatalf("items with FB-1 = %d, want 249", len(got))
	}
	if got, _ := s.ItemsByRef(ctx, feedback.RefJiraKey, "FB-349"); len(got) != 1 || got[0] != ids[249] {
		t.Fatalf("items with FB-349 = %v", got)
	}
	keys := []store.ItemKey{{Source: "gh", ExternalID: "7"}, {Source: "jira", ExternalID: "7"}, {Source: "gh", ExternalID: "nope"}, {Source: "gh", ExternalID: "7"}}
	for i := range 600 { // more ids than one IN list carries
		keys = append(keys, store.ItemKey{Source: "gh", ExternalID: fmt.Sprint("x", i)})
	}
	keys = append(keys, store.ItemKey{Source: "gh", ExternalID: "249"})
	if ex, err := s.ExistingItems(ctx, keys); err != nil || len(ex) != 2 || !ex[store.ItemKey{Source: "gh", ExternalID: "7"}] || !ex[store.ItemKey{Source: "gh", ExternalID: "249"}] {
		t.Fatalf("existing items = %v, %v", ex, err)
	}
	values := []string{"acme/w#1", "FB-349", "nothing"}
	for i := range 600 { // more values than one IN list carries
		values = append(values, fmt.Sprint("x", i))
	}
	values = append(values, "FB-101")
	got, err := s.RefsWithValues(ctx, values)
	if err != nil || len(got) != 3 || got[0].ItemID != ids[0] || got[0].Value != "acme/w#1" || got[1].ItemID != ids[1] || got[1].Value != "FB-101" ||
		got[2].ItemID != ids[249] || got[2].Kind != feedback.RefJiraKey {
		t.Fatalf("refs with values = %+v, %v", got, err)
	}
}

// testUpsertItems: several upserts in one transaction, all or none.
func testUpsertItems(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	res := mustIngest(t, s, "gh", []feedback.Record{rec("gh", "1", "1"), rec("gh", "2", "1")}, nil)
	item := func(id string, recID int64, title string) feedback.Item {
		return feedback.Item{Source: "gh", Kind: feedback.KindIssue, ExternalID: id, Title: title, RecordID: recID, CreatedAt: base, UpdatedAt: base}
	}
	// A missing record (foreign key) fails the whole batch.
	if _, err := s.UpsertItems(ctx, []feedback.Item{item("1", res.IDs[0], "one"), item("2", res.IDs[1]+1000, "two")}); err == nil {
		t.Fatal("item with a missing record accepted")
	}
	if ex, _ := s.ExistingItems(ctx, []store.ItemKey{{Source: "gh", ExternalID: "1"}}); len(ex) != 0 {
		t.Fatalf("items after a failed batch: %v", ex)
	}
	ids, err := s.UpsertItems(ctx, []feedback.Item{item("1", res.IDs[0], "one"), item("2", res.IDs[1], "two"), item("1", res.IDs[0], "one, edited")})
	if err != nil || len(ids) != 3 || ids[0] != ids[2] || ids[0] == ids[1] {
		t.Fatalf("ids = %v, %v", ids, err)
	}
	it, _ := s.Item(ctx, ids[0])
	if it.Title != "one, edited" || it.Partner != feedback.UnknownPartner {
		t.Fatalf("item = %+v", it)
	}
}

// testUnclusteredExcept: UnclusteredItems lists live unclustered items oldest first
// and leaves out the ids it is told to (a chunk decided but not stored yet).
func testUnclusteredExcept(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	late := addItem(t, s, "gh", "1", "northwind", base.Add(2*time.Hour))
	early := addItem(t, s, "gh", "2", "northwind", base)
	mid := addItem(t, s, "gh", "3", "northwind", base.Add(time.Hour))
	linked := addItem(t, s, "gh", "4", "northwind", base.Add(-time.Hour))
	c, _ := s.CreateCluster(ctx, feedback.Cluster{Title: "c"})
	if err := s.LinkItem(ctx, feedback.ClusterLink{ClusterID: c, ItemID: linked, Evidence: "new"}); err != nil {
		t.Fatal(err)
	}
	ids := func(except ...int64) []int64 {
		t.Helper()
		items, err := s.UnclusteredItems(ctx, 10, except...)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	if got, want := ids(), []int64{early, mid, late}; !slices.Equal(got, want) {
		t.Fatalf("unclustered = %v, want %v", got, want)
	}
	if got, want := ids(early, linked), []int64{mid, late}; !slices.Equal(got, want) {
		t.Fatalf("unclustered except %d, %d = %v, want %v", early, linked, got, want)
	}
}
