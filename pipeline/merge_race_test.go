package pipeline

import (
	"context"
	"fmt"
	"sync"
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
		ingestAll(t, s, outage()...)
		if _, err := p.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		gh, _ := s.ItemByExternalID(ctx, "github", "acme/platform#48")
		bill, _ := s.ItemByExternalID(ctx, "mail", "<m2@contoso.example>")
		from, into := *bill.ClusterID, *gh.ClusterID
		// Copies of the billing email, word for word, from other senders: each links
		// to the billing cluster by identical text.
		var copies []feedback.Record
		for i := range 1500 {
			at := t0.Add(4*time.Hour + time.Duration(i)*time.Second)
			copies = append(copies, feedback.Record{Source: "mail", ExternalID: fmt.Sprintf("<copy%d@contoso.example>", i), Revision: "1",
				Kind: feedback.KindEmail, Title: bill.Title, AuthorEmail: fmt.Sprintf("ap%d@contoso.example", i), Body: "We were billed twice for November after the plan upgrade.",
				CreatedAt: at, UpdatedAt: at})
		}
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
			_, mergeErr = p.Decide(ctx, svc, triage.Request{Action: feedback.ActionMerge, Target: triage.ClusterTarget(from),
				Value: triage.ClusterTarget(into), Actor: "ana", Reason: "same incident"})
		}()
		wg.Wait()
		if clusterErr != nil || mergeErr != nil {
			t.Fatalf("cluster: %v, merge: %v", clusterErr, mergeErr)
		}
		// Whatever the pass still had to do happens now.
		if _, err := p.Cluster(ctx); err != nil {
			t.Fatal(err)
		}
		left, err := s.ClusterItems(ctx, from)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 0 {
			t.Fatalf("%d items left in merged cluster %d", len(left), from)
		}
		c, _ := s.Cluster(ctx, into)
		if c.ItemsCount != 4+len(copies) {
			t.Fatalf("cluster %d holds %d items, want %d", into, c.ItemsCount, 4+len(copies))
		}
	})
}
