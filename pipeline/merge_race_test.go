package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
	"github.com/feedbackhub/feedbackhub/triage"
)

// TestMergeDuringClusteringPass merges a cluster while a clustering pass is linking
// new copies of its item into it. The merge waits for the pass (or the pass for the
// merge), so no item may stay behind in the merged cluster: before, a chunk decided
// before the merge and written after it left its links in the merged-away cluster.
func TestMergeDuringClusteringPass(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		bill, from, into := outageClusters(t, p, s)
		copies := billCopies(bill, 0, 1500)
		ingestAll(t, s, copies...)
		if _, err := p.Process(ctx); err != nil {
			t.Fatal(err)
		}
		svc := &triage.Service{Clusters: s, Decisions: s, Clock: p.Clock}
		var wg sync.WaitGroup
		var clusterErr, mergeErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, clusterErr = p.Cluster(ctx)
		}()
		go func() {
			defer wg.Done()
			time.Sleep(30 * time.Millisecond) // inside the pass, usually
			_, mergeErr = p.Decide(ctx, svc, mergeInto(from, into))
		}()
		wg.Wait()
		settled(t, p, s, from, clusterErr, mergeErr)
		c, _ := s.Cluster(ctx, into)
		if c.ItemsCount != 4+len(copies) {
			t.Fatalf("cluster %d holds %d items, want %d", into, c.ItemsCount, 4+len(copies))
		}
	})
}

// TestMergeWithPassStartedDuringTheMove starts a clustering pass from inside a
// merge, after its decision is stored and while it moves items: the pass sees a newer
// membership version and builds a fresh in-memory state, so a lock on the state the
// merge holds would not stop it (it did not: 1500 of 1500 items stayed behind).
func TestMergeWithPassStartedDuringTheMove(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(t *testing.T, opts ...store.Option) *store.Store) {
		ctx := context.Background()
		var p *Pipeline
		var wg sync.WaitGroup
		var clusterErr error
		var armed atomic.Bool
		s := open(t, store.WithHooks(store.Hooks{BeforeCommit: func(op string) error {
			if op == "link-item" && armed.CompareAndSwap(true, false) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, clusterErr = p.Cluster(ctx)
				}()
				time.Sleep(50 * time.Millisecond)
			}
			return nil
		}}))
		p = newPipeline(t, s, nil)
		bill, from, into := outageClusters(t, p, s)
		copies := func(lo, hi int) []feedback.Record { return billCopies(bill, lo, hi) }
		// A big cluster to merge away (the move takes one transaction per item).
		ingestAll(t, s, copies(0, 300)...)
		if _, err := p.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		// New copies waiting for the next pass.
		ingestAll(t, s, copies(300, 1800)...)
		if _, err := p.Process(ctx); err != nil {
			t.Fatal(err)
		}
		svc := &triage.Service{Clusters: s, Decisions: s, Clock: p.Clock}
		armed.Store(true)
		_, mergeErr := p.Decide(ctx, svc, mergeInto(from, into))
		wg.Wait()
		settled(t, p, s, from, clusterErr, mergeErr)
	})
}

// TestMergeWaitHonoursContext: a merge waits for a clustering pass of any instance,
// and gives up with its context (an API request must not hang for a whole backfill).
func TestMergeWaitHonoursContext(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		_, from, into := outageClusters(t, p, s)
		// A pass in progress on another instance (its own pipeline; on PostgreSQL the
		// lock is an advisory lock, held on its own connection).
		unlock, err := newPipeline(t, s, nil).lockClustering(ctx)
		if err != nil {
			t.Fatal(err)
		}
		svc := &triage.Service{Clusters: s, Decisions: s, Clock: p.Clock}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err = p.Decide(short, svc, mergeInto(from, into))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("merge while a pass runs: %v, want a deadline error", err)
		}
		if c, _ := s.Cluster(ctx, from); c.Status == feedback.StatusMerged || c.ItemsCount != 1 {
			t.Fatalf("the abandoned merge changed cluster %d: %s, %d items", c.ID, c.Status, c.ItemsCount)
		}
		unlock()
		if _, err := p.Decide(ctx, svc, mergeInto(from, into)); err != nil {
			t.Fatalf("merge after the pass: %v", err)
		}
	})
}

// outageClusters ingests and clusters outage(): it returns the billing email and the
// clusters of the billing email (to merge away) and of the GitHub issue (to merge into).
func outageClusters(t *testing.T, p *Pipeline, s *store.Store) (bill feedback.Item, from, into int64) {
	t.Helper()
	ctx := context.Background()
	ingestAll(t, s, outage()...)
	if _, err := p.Step(ctx, nil); err != nil {
		t.Fatal(err)
	}
	gh, _ := s.ItemByExternalID(ctx, "github", "acme/platform#48")
	bill, _ = s.ItemByExternalID(ctx, "mail", "<m2@contoso.example>")
	return bill, *bill.ClusterID, *gh.ClusterID
}

// billCopies are copies lo..hi-1 of the billing email, word for word, from other
// senders: each links to the billing cluster by identical text.
func billCopies(bill feedback.Item, lo, hi int) []feedback.Record {
	var out []feedback.Record
	for i := lo; i < hi; i++ {
		at := t0.Add(4*time.Hour + time.Duration(i)*time.Second)
		out = append(out, feedback.Record{Source: "mail", ExternalID: fmt.Sprintf("<copy%d@contoso.example>", i), Revision: "1",
			Kind: feedback.KindEmail, Title: bill.Title, AuthorEmail: fmt.Sprintf("ap%d@contoso.example", i), Body: bill.Body,
			CreatedAt: at, UpdatedAt: at})
	}
	return out
}

func mergeInto(from, into int64) triage.Request {
	return triage.Request{Action: feedback.ActionMerge, Target: triage.ClusterTarget(from), Value: triage.ClusterTarget(into), Actor: "ana", Reason: "same incident"}
}

// settled checks a pass and a merge that ran together: both succeeded, and once a
// further pass has done whatever was left, the merged cluster holds no items.
func settled(t *testing.T, p *Pipeline, s *store.Store, cluster int64, clusterErr, mergeErr error) {
	t.Helper()
	if clusterErr != nil || mergeErr != nil {
		t.Fatalf("cluster: %v, merge: %v", clusterErr, mergeErr)
	}
	if _, err := p.Cluster(context.Background()); err != nil {
		t.Fatal(err)
	}
	left, err := s.ClusterItems(context.Background(), cluster)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("%d items left in merged cluster %d", len(left), cluster)
	}
}

// TestRebuildAnalysisPanic: a stored item whose analysis panics while the state is
// rebuilt fails the pass with an error naming it, instead of crashing the process
// (which would repeat on every start); the next pass rebuilds cleanly.
func TestRebuildAnalysisPanic(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		bill, _, _ := outageClusters(t, p, s)
		p.ResetIndex()
		p.analyzeHook = func(it feedback.Item) {
			if it.ID == bill.ID {
				panic("analyzer broke")
			}
		}
		_, err := p.Cluster(ctx)
		if err == nil || !strings.Contains(err.Error(), "analyzer broke") || !strings.Contains(err.Error(), bill.ExternalID) {
			t.Fatalf("rebuild error = %v, want the panic naming %s", err, bill.ExternalID)
		}
		p.analyzeHook = nil
		if _, err := p.Cluster(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestMergeIntoMissingOrMergedCluster: a merge whose surviving cluster does not exist,
// or was itself merged away, fails before anything is written: the source keeps its
// status and items, and no decision is logged.
func TestMergeIntoMissingOrMergedCluster(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		_, from, into := outageClusters(t, p, s)
		svc := &triage.Service{Clusters: s, Decisions: s, Clock: p.Clock}
		before, err := s.Decisions(ctx, store.DecisionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Decide(ctx, svc, mergeInto(from, 99999)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("merge into a missing cluster: %v, want not found", err)
		}
		// Merge into away, then try to merge the source into the merged-away one.
		if _, err := p.Decide(ctx, svc, mergeInto(into, from)); err != nil {
			t.Fatal(err)
		}
		third, err := s.CreateCluster(ctx, feedback.Cluster{Title: "third"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Decide(ctx, svc, mergeInto(third, into)); err == nil || !strings.Contains(err.Error(), "merged away") {
			t.Fatalf("merge into a merged cluster: %v", err)
		}
		after, err := s.Decisions(ctx, store.DecisionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before)+1 {
			t.Fatalf("decisions %d -> %d, want only the one good merge", len(before), len(after))
		}
		if c, _ := s.Cluster(ctx, third); c.Status == feedback.StatusMerged {
			t.Fatalf("cluster %d marked merged by a failed merge", third)
		}
	})
}

// TestMergeWaitsForASliceNotTheWholePass: a long pass holds the clustering lock one
// slice at a time, so a merge asked for while the pass runs goes through at the end
// of the slice, with most of the backlog still unclustered, instead of waiting for
// the whole pass (a backfill of minutes). The pass then carries on from the merged
// state: no item lands in the merged-away cluster.
func TestMergeWaitsForASliceNotTheWholePass(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(t *testing.T, opts ...store.Option) *store.Store) {
		ctx := context.Background()
		var p *Pipeline
		var svc *triage.Service
		var from, into int64
		var wg sync.WaitGroup
		var mergeErr error
		var leftAtMerge int
		var armed atomic.Bool
		s := open(t, store.WithHooks(store.Hooks{BeforeCommit: func(op string) error {
			if op == "cluster-batch" && armed.CompareAndSwap(true, false) {
				// The pass's first chunk is being stored: a triager merges meanwhile.
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, mergeErr = p.Decide(ctx, svc, mergeInto(from, into)); mergeErr == nil {
						left, err := p.Store.UnclusteredItems(ctx, 100000)
						mergeErr = err
						leftAtMerge = len(left)
					}
				}()
				time.Sleep(100 * time.Millisecond) // the merge is waiting for the lock
			}
			return nil
		}}))
		p = newPipeline(t, s, nil)
		var bill feedback.Item
		bill, from, into = outageClusters(t, p, s)
		svc = &triage.Service{Clusters: s, Decisions: s, Clock: p.Clock}
		copies := billCopies(bill, 0, 3000)
		ingestAll(t, s, copies...)
		if _, err := p.Process(ctx); err != nil {
			t.Fatal(err)
		}
		p.sliceTime = time.Nanosecond // every chunk ends a slice
		armed.Store(true)
		_, clusterErr := p.Cluster(ctx)
		wg.Wait()
		if mergeErr != nil {
			t.Fatal(mergeErr)
		}
		if leftAtMerge < chunkSize {
			t.Fatalf("the merge went through with %d of %d copies unclustered: it waited for the pass, not a slice", leftAtMerge, len(copies))
		}
		settled(t, p, s, from, clusterErr, mergeErr)
		if c, _ := s.Cluster(ctx, into); c.ItemsCount != 4+len(copies) {
			t.Fatalf("cluster %d holds %d items, want %d", into, c.ItemsCount, 4+len(copies))
		}
	})
}

// distinctReports are n reports with texts that share no words with each other
// (ids from lo), and copies returns the same texts again later under new ids.
func distinctReports(lo, n int, at time.Time) []feedback.Record {
	var out []feedback.Record
	for i := lo; i < lo+n; i++ {
		var w []string
		for j := range 12 {
			w = append(w, fmt.Sprintf("zq%dx%d", i, j))
		}
		out = append(out, feedback.Record{Source: "mail", ExternalID: fmt.Sprintf("<r%d@x.example>", i), Revision: "1",
			Kind: feedback.KindEmail, Title: "Report " + strings.Join(w[:3], " "), AuthorEmail: fmt.Sprintf("u%d@x.example", i),
			Body: strings.Join(w, " "), CreatedAt: at.Add(time.Duration(i) * time.Second), UpdatedAt: at.Add(time.Duration(i) * time.Second)})
	}
	return out
}

func copiesOf(recs []feedback.Record, after time.Duration) []feedback.Record {
	out := make([]feedback.Record, len(recs))
	for i, r := range recs {
		r.ExternalID = "<copy-" + strings.Trim(r.ExternalID, "<>") + ">"
		r.AuthorEmail = "other-" + r.AuthorEmail
		r.CreatedAt, r.UpdatedAt = r.CreatedAt.Add(after), r.UpdatedAt.Add(after)
		out[i] = r
	}
	return out
}

func nonEmptyClusters(t *testing.T, s *store.Store) int {
	t.Helper()
	cs, err := s.Clusters(context.Background(), store.ClusterFilter{NonEmpty: true, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// TestOverlappingPassesAndStaleStates: two processes (two pipelines on one database,
// each with its own in-memory state) cluster the same backlog. A pass started while
// the other runs waits for the whole of it, not a slice (interleaved slices decided
// against a state without the other's clusters: copies started clusters of their
// own); and a state loaded before the other process clustered is rebuilt, not used.
// Either way each copy joins its original: 600 reports, 300 clusters.
func TestOverlappingPassesAndStaleStates(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p1, p2 := newPipeline(t, s, nil), newPipeline(t, s, nil)
		p1.sliceTime, p2.sliceTime = time.Nanosecond, time.Nanosecond
		if _, err := p2.Cluster(ctx); err != nil { // p2 loads its state: empty
			t.Fatal(err)
		}
		orig := distinctReports(0, 300, t0)
		ingestAll(t, s, orig[:150]...)
		if _, err := p1.Step(ctx, nil); err != nil { // p1 clusters; p2's state is stale
			t.Fatal(err)
		}
		ingestAll(t, s, orig[150:]...)
		ingestAll(t, s, copiesOf(orig, time.Hour)...)
		if _, err := p1.Process(ctx); err != nil {
			t.Fatal(err)
		}
		var armed atomic.Bool
		var wg sync.WaitGroup
		var err2 error
		p1.analyzeHook = func(feedback.Item) {
			if armed.CompareAndSwap(true, false) {
				wg.Add(1)
				go func() { defer wg.Done(); _, err2 = p2.Cluster(ctx) }() // the other's step starts
				time.Sleep(100 * time.Millisecond)
			}
		}
		armed.Store(true)
		if _, err := p1.Cluster(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if err2 != nil {
			t.Fatal(err2)
		}
		if n := nonEmptyClusters(t, s); n != len(orig) {
			t.Fatalf("%d clusters for %d reports and their copies, want %d", n, 2*len(orig), len(orig))
		}
		// A stale state again: p1 clusters more copies, then p2 (loaded before) does.
		more := copiesOf(orig[:50], 2*time.Hour)
		for i := range more {
			more[i].ExternalID = strings.Replace(more[i].ExternalID, "copy-", "again-", 1)
		}
		ingestAll(t, s, more[:25]...)
		if _, err := p1.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		ingestAll(t, s, more[25:]...)
		if _, err := p2.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if n := nonEmptyClusters(t, s); n != len(orig) {
			t.Fatalf("%d clusters after a stale process clustered more copies, want %d", n, len(orig))
		}
	})
}

// TestMergeFromAnotherProcessGetsASlice: on SQLite another process (here a second
// store on the same file under another name: its own in-process locks, only the file
// lock shared) polls for the clustering lock; the pass pauses between slices so that
// its merge goes through within a slice, not after the whole backlog.
func TestMergeFromAnotherProcessGetsASlice(t *testing.T) {
	ctx := context.Background()
	loc, err := store.ParseURL("sqlite:"+filepath.Join(t.TempDir(), "fh.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	var leftAtMerge int
	var mergeErr error
	var wg sync.WaitGroup
	var armed atomic.Bool
	var p, other *Pipeline
	var from, into int64
	s, err := store.OpenLocation(ctx, loc, store.WithHooks(store.Hooks{BeforeCommit: func(op string) error {
		if op == "cluster-batch" && armed.CompareAndSwap(true, false) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				svc := &triage.Service{Clusters: other.Store, Decisions: other.Store, Clock: other.Clock}
				wait, cancel := context.WithTimeout(ctx, 20*time.Second)
				defer cancel()
				if _, mergeErr = other.Decide(wait, svc, mergeInto(from, into)); mergeErr == nil {
					left, err := other.Store.UnclusteredItems(ctx, 100000)
					mergeErr, leftAtMerge = err, len(left)
				}
			}()
			time.Sleep(100 * time.Millisecond) // the other process is polling for the lock
		}
		return nil
	}}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	otherLoc := loc
	otherLoc.Display += "#other-process"
	s2, err := store.OpenLocation(ctx, otherLoc)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	p, other = newPipeline(t, s, nil), newPipeline(t, s2, nil)
	var bill feedback.Item
	bill, from, into = outageClusters(t, p, s)
	copies := billCopies(bill, 0, 3000)
	ingestAll(t, s, copies...)
	if _, err := p.Process(ctx); err != nil {
		t.Fatal(err)
	}
	p.sliceTime = time.Nanosecond
	armed.Store(true)
	_, clusterErr := p.Cluster(ctx)
	wg.Wait()
	if mergeErr != nil {
		t.Fatalf("the other process's merge: %v", mergeErr)
	}
	if leftAtMerge < chunkSize {
		t.Fatalf("the other process's merge went through with %d of %d copies unclustered: it waited for the whole pass", leftAtMerge, len(copies))
	}
	settled(t, p, s, from, clusterErr, mergeErr)
}
