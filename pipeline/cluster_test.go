package pipeline

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
	"github.com/feedbackhub/feedbackhub/triage"
)

func ingestAll(t *testing.T, s *store.Store, recs ...feedback.Record) {
	t.Helper()
	by := map[string][]feedback.Record{}
	for _, r := range recs {
		by[r.Source] = append(by[r.Source], r)
	}
	for src, rs := range by {
		if _, err := s.Ingest(context.Background(), src, rs, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// outage is one TLS outage reported three ways: a partner email that names the Jira
// ticket, a GitHub issue, and the Jira ticket that links the GitHub issue.
func outage() []feedback.Record {
	return []feedback.Record{
		{Source: "jira", ExternalID: "FB-112", Revision: "1", Kind: feedback.KindIssue, Title: "Ingest TLS handshake timeouts for EU tenants",
			Body: "Customers report TLS handshake timeout against ingest.eu. Upstream: https://github.com/acme/platform/issues/48", CreatedAt: t0, UpdatedAt: t0},
		{Source: "github", ExternalID: "acme/platform#48", Revision: "1", Kind: feedback.KindIssue, Title: "net/http: TLS handshake timeout on ingest",
			Body: "Since 2.14 our agents fail with `net/http: TLS handshake timeout` when posting to ingest.eu.example.", URL: "https://github.com/acme/platform/issues/48",
			CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0},
		{Source: "mail", ExternalID: "<m1@northwind.example>", Revision: "1", Kind: feedback.KindEmail, Title: "Uploads failing since this morning",
			AuthorEmail: "ops@northwind.example", Body: "Hi, our uploads time out during the TLS handshake. Is this FB-112?", CreatedAt: t0.Add(2 * time.Hour), UpdatedAt: t0.Add(2 * time.Hour)},
		{Source: "mail", ExternalID: "<m2@contoso.example>", Revision: "1", Kind: feedback.KindEmail, Title: "Invoice charged twice",
			AuthorEmail: "ap@contoso.example", Body: "We were billed twice for November after the plan upgrade.", CreatedAt: t0.Add(3 * time.Hour), UpdatedAt: t0.Add(3 * time.Hour)},
	}
}

func TestCrossSourceClusteringWithEvidence(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		ingestAll(t, s, outage()...)
		rep, err := p.Step(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Cluster.Items != 4 || rep.Cluster.NewClusters != 2 || rep.Cluster.Linked["reference"] != 2 {
			t.Fatalf("cluster report = %+v", rep.Cluster)
		}
		gh, _ := s.ItemByExternalID(ctx, "github", "acme/platform#48")
		jira, _ := s.ItemByExternalID(ctx, "jira", "FB-112")
		mail, _ := s.ItemByExternalID(ctx, "mail", "<m1@northwind.example>")
		bill, _ := s.ItemByExternalID(ctx, "mail", "<m2@contoso.example>")
		if *gh.ClusterID != *jira.ClusterID || *jira.ClusterID != *mail.ClusterID || *bill.ClusterID == *gh.ClusterID {
			t.Fatalf("clusters: gh=%d jira=%d mail=%d bill=%d", *gh.ClusterID, *jira.ClusterID, *mail.ClusterID, *bill.ClusterID)
		}
		joined := whyGrouped(s, *gh.ClusterID)
		if !strings.Contains(joined, "mentions acme/platform#48") || !strings.Contains(joined, "mentions FB-112") {
			t.Fatalf("why grouped:\n%s", joined)
		}
		c, _ := s.Cluster(ctx, *gh.ClusterID)
		if c.ItemsCount != 3 || c.PartnersCount != 1 {
			t.Fatalf("cluster = %+v", c)
		}
		// A second pass does nothing.
		if rep, _ := p.Step(ctx, nil); rep.Cluster.Items != 0 {
			t.Fatalf("second pass clustered %d items", rep.Cluster.Items)
		}
	})
}

func TestUnmergeSticksAcrossRebuild(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		ingestAll(t, s, outage()[:3]...)
		if _, err := p.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		mail, _ := s.ItemByExternalID(ctx, "mail", "<m1@northwind.example>")
		from := *mail.ClusterID
		svc := &triage.Service{Clusters: s, Decisions: s, Clock: p.Clock}
		if _, err := p.Decide(ctx, svc, triage.Request{Action: feedback.ActionUnmerge, Target: "item:" + itoa(mail.ID), Actor: "ana", Reason: "different root cause"}); err != nil {
			t.Fatal(err)
		}
		mail, _ = s.ItemByExternalID(ctx, "mail", "<m1@northwind.example>")
		if *mail.ClusterID == from {
			t.Fatal("item still in its old cluster")
		}
		// Restart: the index is rebuilt from the database; a follow-up mail that
		// references the mail's Message-ID and FB-112 must not pull them together again.
		p.ResetIndex()
		follow := feedback.Record{Source: "mail", ExternalID: "<m3@northwind.example>", Revision: "1", Kind: feedback.KindEmail,
			Title: "Uploads still failing", AuthorEmail: "ops@northwind.example", Body: "Still failing, see FB-112.",
			CreatedAt: t0.Add(5 * time.Hour), UpdatedAt: t0.Add(5 * time.Hour)}
		ingestAll(t, s, follow)
		if _, err := p.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		jira, _ := s.ItemByExternalID(ctx, "jira", "FB-112")
		mail, _ = s.ItemByExternalID(ctx, "mail", "<m1@northwind.example>")
		if *mail.ClusterID == *jira.ClusterID {
			t.Fatal("unmerged item was merged back after a rebuild")
		}
		pairs, _ := s.NeverMerge(ctx)
		if len(pairs) != 2 {
			t.Fatalf("never-merge pairs = %v, want 2", pairs)
		}
		ds, _ := s.Decisions(ctx, store.DecisionFilter{Target: "item:" + itoa(mail.ID)})
		if len(ds) != 1 || ds[0].Action != feedback.ActionUnmerge || ds[0].Reason != "different root cause" {
			t.Fatalf("decisions = %+v", ds)
		}
	})
}

func TestMergeMovesItems(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		_, from, into := outageClusters(t, p, s)
		svc := &triage.Service{Clusters: s, Decisions: s, Clock: p.Clock}
		ch, err := p.Decide(ctx, svc, mergeInto(from, into))
		if err != nil {
			t.Fatal(err)
		}
		if ch.After.Status != feedback.StatusMerged {
			t.Fatalf("status = %s", ch.After.Status)
		}
		c, _ := s.Cluster(ctx, into)
		old, _ := s.Cluster(ctx, from)
		if c.ItemsCount != 4 || old.ItemsCount != 0 {
			t.Fatalf("after merge: into=%d from=%d", c.ItemsCount, old.ItemsCount)
		}
	})
}

// whyGrouped is the evidence and detail of each link of a cluster, one per line.
func whyGrouped(s *store.Store, clusterID int64) string {
	links, _ := s.ClusterLinks(context.Background(), clusterID)
	var why []string
	for _, l := range links {
		why = append(why, l.Evidence+":"+l.Detail)
	}
	return strings.Join(why, "\n")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestClusterChunkSeesEarlierItems: the items of one chunk are stored together, so an
// item decided later in the chunk must see the clusters and references of the items
// decided before it; detail JSON must name store cluster ids, never temporary ones.
func TestClusterChunkSeesEarlierItems(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		recs := []feedback.Record{
			// Mentions a Jira ticket that arrives later: the ticket joins the mail's
			// cluster, found through the mail's (not yet stored) references.
			{Source: "mail", ExternalID: "<early@northwind.example>", Revision: "1", Kind: feedback.KindEmail, Title: "Exports stuck in pending",
				AuthorEmail: "ops@northwind.example", Body: "Our nightly exports are stuck in pending, tracked as FB-200.", CreatedAt: t0, UpdatedAt: t0},
			{Source: "jira", ExternalID: "FB-200", Revision: "1", Kind: feedback.KindIssue, Title: "Export jobs never leave pending state",
				Body: "Queue worker does not pick up export jobs.", CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)},
			// Mentions the ticket: joins the same cluster through the ticket's key.
			{Source: "github", ExternalID: "acme/platform#77", Revision: "1", Kind: feedback.KindIssue, Title: "export worker idle",
				Body: "Seen in FB-200 as well.", URL: "https://github.com/acme/platform/issues/77", CreatedAt: t0.Add(2 * time.Hour), UpdatedAt: t0.Add(2 * time.Hour)},
		}
		recs = append(recs, outage()...)
		ingestAll(t, s, recs...)
		rep, err := p.Step(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		mail, _ := s.ItemByExternalID(ctx, "mail", "<early@northwind.example>")
		jira, _ := s.ItemByExternalID(ctx, "jira", "FB-200")
		gh, _ := s.ItemByExternalID(ctx, "github", "acme/platform#77")
		if mail.ClusterID == nil || jira.ClusterID == nil || gh.ClusterID == nil || *jira.ClusterID != *mail.ClusterID || *gh.ClusterID != *mail.ClusterID {
			t.Fatalf("clusters: mail=%v jira=%v gh=%v (report %+v)", mail.ClusterID, jira.ClusterID, gh.ClusterID, rep.Cluster)
		}
		joined := whyGrouped(s, *mail.ClusterID)
		if !strings.Contains(joined, "mentioned by mail") || !strings.Contains(joined, "mentions FB-200") {
			t.Fatalf("why grouped:\n%s", joined)
		}
		c, _ := s.Cluster(ctx, *mail.ClusterID)
		if c.ItemsCount != 3 {
			t.Fatalf("cluster = %+v", c)
		}
		clusters, _ := s.Clusters(ctx, store.ClusterFilter{})
		for _, cl := range clusters {
			links, _ := s.ClusterLinks(ctx, cl.ID)
			for _, l := range links {
				if strings.Contains(l.Detail, `"cluster_id":-`) || strings.Contains(l.Detail, `"blocked":[-`) {
					t.Fatalf("temporary cluster id in detail: %s", l.Detail)
				}
			}
		}
	})
}

// TestMentionedByStoredRefs: an item clustered in an earlier pass that mentions a
// later item pulls it in through its stored references.
func TestMentionedByStoredRefs(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		ingestAll(t, s, feedback.Record{Source: "mail", ExternalID: "<early@northwind.example>", Revision: "1", Kind: feedback.KindEmail,
			Title: "Exports stuck in pending", AuthorEmail: "ops@northwind.example", Body: "Our nightly exports are stuck, tracked as FB-300.",
			CreatedAt: t0, UpdatedAt: t0},
			// Makes FB a known Jira project, so FB-300 is read as a reference.
			feedback.Record{Source: "jira", ExternalID: "FB-1", Revision: "1", Kind: feedback.KindIssue, Title: "Invoice totals wrong",
				Body: "VAT is applied twice.", CreatedAt: t0, UpdatedAt: t0})
		if _, err := p.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		ingestAll(t, s, feedback.Record{Source: "jira", ExternalID: "FB-300", Revision: "1", Kind: feedback.KindIssue,
			Title: "Queue worker idle", Body: "Nothing picks up jobs.", CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)})
		if _, err := p.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		mail, _ := s.ItemByExternalID(ctx, "mail", "<early@northwind.example>")
		jira, _ := s.ItemByExternalID(ctx, "jira", "FB-300")
		if mail.ClusterID == nil || jira.ClusterID == nil || *jira.ClusterID != *mail.ClusterID {
			t.Fatalf("clusters: mail=%v jira=%v", mail.ClusterID, jira.ClusterID)
		}
		links, _ := s.ClusterLinks(ctx, *mail.ClusterID)
		if len(links) != 2 || !strings.Contains(links[0].Detail+links[1].Detail, "mentioned by mail") {
			t.Fatalf("links = %+v", links)
		}
	})
}

// TestProcessCountsRevisions: a second revision of an item, in the same chunk or a
// later pass, updates it instead of counting as a new item.
func TestProcessCountsRevisions(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		r := func(id, rev string) feedback.Record {
			return feedback.Record{Source: "github", ExternalID: id, Revision: rev, Kind: feedback.KindIssue, Title: "t " + id + " " + rev,
				Body: "b", CreatedAt: t0, UpdatedAt: t0}
		}
		ingestAll(t, s, r("a#1", "1"), r("a#1", "2"), r("a#2", "1"))
		rep, err := p.Process(ctx)
		if err != nil || rep.Records != 3 || rep.Items != 2 || rep.Updated != 1 {
			t.Fatalf("first pass = %+v, %v", rep, err)
		}
		ingestAll(t, s, r("a#2", "2"), r("a#3", "1"))
		rep, err = p.Process(ctx)
		if err != nil || rep.Records != 2 || rep.Items != 1 || rep.Updated != 1 {
			t.Fatalf("second pass = %+v, %v", rep, err)
		}
		it, _ := s.ItemByExternalID(ctx, "github", "a#1")
		if it.Title != "t a#1 2" {
			t.Fatalf("item = %+v", it)
		}
	})
}

// TestOtherInstancesMergeIsSeen: two processes cluster from one database. When one
// merges clusters, the other's next pass must not link new items into the cluster
// that was merged away (its in-memory state would still say so).
func TestOtherInstancesMergeIsSeen(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p1, p2 := newPipeline(t, s, nil), newPipeline(t, s, nil)
		ingestAll(t, s, outage()...)
		if _, err := p1.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := p2.Step(ctx, nil); err != nil { // p2 loads its state now
			t.Fatal(err)
		}
		gh, _ := s.ItemByExternalID(ctx, "github", "acme/platform#48")
		bill, _ := s.ItemByExternalID(ctx, "mail", "<m2@contoso.example>")
		svc := &triage.Service{Clusters: s, Decisions: s, Clock: p1.Clock}
		if _, err := p1.Decide(ctx, svc, triage.Request{Action: feedback.ActionMerge, Target: triage.ClusterTarget(*bill.ClusterID),
			Value: triage.ClusterTarget(*gh.ClusterID), Actor: "ana", Reason: "same incident"}); err != nil {
			t.Fatal(err)
		}
		// p1 applied its own merge to its state: its next pass keeps that state.
		before := p1.dd
		if _, err := p1.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if p1.dd != before {
			t.Errorf("p1 rebuilt its state after its own merge")
		}
		// The same invoice complaint again, from a colleague: an identical text.
		again := outage()[3]
		again.ExternalID, again.AuthorEmail = "<m3@contoso.example>", "finance@contoso.example"
		again.CreatedAt, again.UpdatedAt = again.CreatedAt.Add(time.Hour), again.UpdatedAt.Add(time.Hour)
		ingestAll(t, s, again)
		if _, err := p2.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		got, _ := s.ItemByExternalID(ctx, "mail", "<m3@contoso.example>")
		if got.ClusterID == nil || *got.ClusterID != *gh.ClusterID {
			t.Fatalf("new item went to cluster %s, want %d (cluster %d was merged into it by the other instance)",
				clusterOf(got), *gh.ClusterID, *bill.ClusterID)
		}
		// p2 clustered an item p1's state does not hold: p1's next pass rebuilds.
		before = p1.dd
		if _, err := p1.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if p1.dd == before {
			t.Errorf("p1 kept a state without the item p2 clustered")
		}
	})
}

func clusterOf(it feedback.Item) string {
	if it.ClusterID == nil {
		return "none"
	}
	return itoa(*it.ClusterID)
}
