package pipeline

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
	"github.com/feedbackhub/feedbackhub/triage"
)

// manyRecords returns n records spanning several clustering chunks, with what
// crosses a chunk boundary: mails that mention a Jira ticket of an earlier chunk (found
// by key) or of a later one (found through the mail's references, pending or stored),
// and re-submissions of an earlier item's text (identity links into clusters the
// chunk before created, whose ids are still temporary).
func manyRecords(n int) []feedback.Record {
	topics := []string{"export jobs stuck in pending", "TLS handshake timeout on ingest", "invoice charged twice after upgrade",
		"SSO login loops back to the start page", "webhook retries never stop", "dashboard graphs empty after midnight"}
	var recs []feedback.Record
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	for i := range n {
		topic := topics[i%len(topics)]
		r := feedback.Record{Revision: "1", CreatedAt: at(i), UpdatedAt: at(i)}
		switch {
		case i%7 == 0:
			r.Source, r.Kind, r.ExternalID = "jira", feedback.KindIssue, fmt.Sprintf("FB-%d", i)
			r.Title, r.Body = fmt.Sprintf("%s (case %d)", topic, i), fmt.Sprintf("Reported by ops, ticket number %d. Steps: retry, wait, %s.", i, topic)
		case i%7 == 3 && i > 600:
			// Mentions a ticket about 550 items back: in an earlier chunk.
			k := (i - 550) / 7 * 7
			r.Source, r.Kind, r.ExternalID = "mail", feedback.KindEmail, fmt.Sprintf("<m%d@northwind.example>", i)
			r.AuthorEmail = "ops@northwind.example"
			r.Title, r.Body = fmt.Sprintf("Following up %d", i), fmt.Sprintf("Is this FB-%d again? We see it since this morning.", k)
		case i%7 == 5 && i+550 < n:
			// Mentions a ticket about 550 items ahead: in a later chunk.
			k := (i + 550) / 7 * 7
			r.Source, r.Kind, r.ExternalID = "mail", feedback.KindEmail, fmt.Sprintf("<m%d@northwind.example>", i)
			r.AuthorEmail = "ops@northwind.example"
			r.Title, r.Body = fmt.Sprintf("Heads up %d", i), fmt.Sprintf("Vendor says this will be tracked as FB-%d.", k)
		case i%11 == 4 && i > 520:
			// The same text as an item 510 back, filed again.
			o := recs[i-510]
			r.Source, r.Kind, r.ExternalID = "github", feedback.KindIssue, fmt.Sprintf("acme/platform#%d", i)
			r.Title, r.Body = o.Title, o.Body
		default:
			r.Source, r.Kind, r.ExternalID = "github", feedback.KindIssue, fmt.Sprintf("acme/platform#%d", i)
			r.Title = fmt.Sprintf("%s on node %d", topic, i%13)
			r.Body = fmt.Sprintf("We see %s in region %d, build %d, since the last upgrade.", topic, i%5, i%17)
		}
		recs = append(recs, r)
	}
	return recs
}

// linkRow is one item's clustering as stored, with clusters named by their oldest
// item (cluster ids may differ between databases after a rollback).
type linkRow struct {
	Item, Cluster    string
	Evidence, Detail string
	Score            float64
}

func clustering(t *testing.T, s *store.Store) []linkRow {
	t.Helper()
	ctx := context.Background()
	clusters, err := s.Clusters(ctx, store.ClusterFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var rows []linkRow
	for _, c := range clusters {
		items, err := s.ClusterItems(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 {
			continue
		}
		first := items[0]
		for _, it := range items {
			if it.CreatedAt.Before(first.CreatedAt) {
				first = it
			}
		}
		name := first.ExternalID
		links, err := s.ClusterLinks(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		byItem := map[int64]feedback.ClusterLink{}
		for _, l := range links {
			byItem[l.ItemID] = l
		}
		for _, it := range items {
			l := byItem[it.ID]
			rows = append(rows, linkRow{Item: it.ExternalID, Cluster: name, Evidence: l.Evidence, Score: l.Score, Detail: l.Detail})
		}
	}
	slices.SortFunc(rows, func(a, b linkRow) int { return strings.Compare(a.Item, b.Item) })
	return rows
}

// sameClustering compares two clusterings. Scores are compared to 9 significant
// digits: the index's float sums are not bit-for-bit reproducible from run to run
// (two plain serial runs differ in the last digit too).
func sameClustering(t *testing.T, got, want []linkRow, details bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d clustered items, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if details {
			g.Detail, w.Detail = roundFloats(g.Detail), roundFloats(w.Detail)
		} else {
			g.Detail, w.Detail = "", ""
		}
		g.Score, w.Score = round9(g.Score), round9(w.Score)
		if g != w {
			t.Fatalf("item %s:\n got %+v\nwant %+v", w.Item, g, w)
		}
	}
}

var floatRE = regexp.MustCompile(`-?\d+\.\d+(e-?\d+)?`)

func roundFloats(s string) string {
	return floatRE.ReplaceAllStringFunc(s, func(f string) string {
		v, _ := strconv.ParseFloat(f, 64)
		return strconv.FormatFloat(v, 'g', 9, 64)
	})
}

func round9(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 9, 64), 64)
	return r
}

// ingestInOrder stores recs in their order (ingestAll's order of sources varies), so
// two stores given the same records number their items alike.
func ingestInOrder(t *testing.T, s *store.Store, recs []feedback.Record) {
	t.Helper()
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].Source == recs[i].Source {
			j++
		}
		if _, err := s.Ingest(context.Background(), recs[i].Source, recs[i:j], nil); err != nil {
			t.Fatal(err)
		}
		i = j
	}
}

func unclustered(t *testing.T, s *store.Store) int {
	t.Helper()
	items, err := s.UnclusteredItems(context.Background(), 100000)
	if err != nil {
		t.Fatal(err)
	}
	return len(items)
}

// serialRun clusters recs the plain way, each chunk stored before the next is
// decided: the reference the overlapped pass must match.
func serialRun(t *testing.T, open func(t *testing.T) *store.Store, setup func(p *Pipeline, s *store.Store), recs []feedback.Record) ([]linkRow, StepReport) {
	t.Helper()
	s := open(t)
	p := newPipeline(t, s, nil)
	p.serialClustering = true
	if setup != nil {
		setup(p, s)
	}
	ingestInOrder(t, s, recs)
	rep, err := p.Step(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return clustering(t, s), rep
}

func forEachBackend(t *testing.T, fn func(t *testing.T, open func(t *testing.T, opts ...store.Option) *store.Store)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, func(t *testing.T, opts ...store.Option) *store.Store {
				s := b.Open(t, opts...)
				if _, err := s.MigrateUp(context.Background()); err != nil {
					t.Fatalf("migrate: %v", err)
				}
				return s
			})
		})
	}
}

// TestOverlappedChunksMatchSerial: deciding a chunk while the one before is written
// gives the same clusters, links and evidence as storing each chunk first, across
// chunk boundaries (references both ways, links into the chunk before's new
// clusters) and with never-merge constraints in force.
func TestOverlappedChunksMatchSerial(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(t *testing.T, opts ...store.Option) *store.Store) {
		ctx := context.Background()
		recs := manyRecords(1700)
		// An unmerge before the run: never-merge pairs make every reference check
		// read cluster members, the chunk in flight included.
		setup := func(p *Pipeline, s *store.Store) {
			ingestInOrder(t, s, outage()[:3])
			if _, err := p.Step(ctx, nil); err != nil {
				t.Fatal(err)
			}
			mail, _ := s.ItemByExternalID(ctx, "mail", "<m1@northwind.example>")
			svc := &triage.Service{Clusters: s, Decisions: s, Clock: p.Clock}
			if _, err := p.Decide(ctx, svc, triage.Request{Action: feedback.ActionUnmerge, Target: "item:" + itoa(mail.ID), Actor: "ana", Reason: "no"}); err != nil {
				t.Fatal(err)
			}
		}
		// Some later items mention the unmerged mail's Message-ID and its old ticket.
		recs[900].Body += " Same as <m1@northwind.example>."
		recs[1200].Body += " See FB-112."
		want, wantRep := serialRun(t, func(t *testing.T) *store.Store { return open(t) }, setup, recs)

		s := open(t)
		p := newPipeline(t, s, nil)
		setup(p, s)
		ingestInOrder(t, s, recs)
		rep, err := p.Step(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Two records update the setup's items (FB-112, acme/platform#48).
		if rep.Cluster.Items != 1698 || rep.Cluster.Linked["reference"] == 0 || rep.Cluster.Linked["identity"] == 0 {
			t.Fatalf("report = %+v", rep.Cluster)
		}
		if fmt.Sprint(rep.Cluster) != fmt.Sprint(wantRep.Cluster) {
			t.Fatalf("report = %+v, serial %+v", rep.Cluster, wantRep.Cluster)
		}
		sameClustering(t, clustering(t, s), want, true)
		if n := unclustered(t, s); n != 0 {
			t.Fatalf("%d items left unclustered", n)
		}
		// A second pass has nothing to do.
		if rep, err := p.Step(ctx, nil); err != nil || rep.Cluster.Items != 0 {
			t.Fatalf("second pass = %+v, %v", rep.Cluster, err)
		}
	})
}

// TestClusterWriteFailure: when a chunk's transaction fails while the next chunk is
// decided, that chunk and the one after are not stored, the chunks before stay, and
// the next pass (on rebuilt state) clusters the rest exactly as an unbroken run.
func TestClusterWriteFailure(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(t *testing.T, opts ...store.Option) *store.Store) {
		ctx := context.Background()
		recs := manyRecords(1700)
		want, _ := serialRun(t, func(t *testing.T) *store.Store { return open(t) }, nil, recs)

		var commits atomic.Int64
		var failing atomic.Bool
		failing.Store(true)
		s := open(t, store.WithHooks(store.Hooks{BeforeCommit: func(op string) error {
			if op == "cluster-batch" && commits.Add(1) == 2 && failing.Load() {
				return fmt.Errorf("injected failure")
			}
			return nil
		}}))
		p := newPipeline(t, s, nil)
		ingestInOrder(t, s, recs)
		if _, err := p.Step(ctx, nil); err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("step error = %v, want the injected failure", err)
		}
		if p.dd != nil {
			t.Fatal("clustering state kept after a failed write")
		}
		if n := unclustered(t, s); n != 1700-chunkSize {
			t.Fatalf("%d items unclustered after the failure, want %d (only the first chunk stored)", n, 1700-chunkSize)
		}
		if got := clustering(t, s); len(got) != chunkSize {
			t.Fatalf("%d items clustered after the failure, want %d", len(got), chunkSize)
		}
		failing.Store(false)
		if _, err := p.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		sameClustering(t, clustering(t, s), want, false)
	})
}

// TestClusterAnalysisFailure: an item whose analysis fails (a panic in a worker)
// fails the pass without storing its chunk; the chunk written meanwhile stays, and
// the next pass clusters the rest exactly as an unbroken run.
func TestClusterAnalysisFailure(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(t *testing.T, opts ...store.Option) *store.Store) {
		ctx := context.Background()
		recs := manyRecords(1700)
		want, _ := serialRun(t, func(t *testing.T) *store.Store { return open(t) }, nil, recs)

		s := open(t)
		p := newPipeline(t, s, nil)
		ingestInOrder(t, s, recs)
		p.analyzeHook = func(it feedback.Item) {
			if it.ExternalID == recs[chunkSize+20].ExternalID {
				panic("analyzer broke")
			}
		}
		if _, err := p.Step(ctx, nil); err == nil || !strings.Contains(err.Error(), "analyzer broke") {
			t.Fatalf("step error = %v, want the analysis panic", err)
		}
		if n := unclustered(t, s); n != 1700-chunkSize {
			t.Fatalf("%d items unclustered after the failure, want %d", n, 1700-chunkSize)
		}
		p.analyzeHook = nil
		if _, err := p.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		sameClustering(t, clustering(t, s), want, false)
	})
}
