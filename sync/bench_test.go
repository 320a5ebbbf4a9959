package sync

import (
	"context"
	"strconv"
	"testing"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
)

// BenchmarkTicketsPerMinute delivers b.N accepted clusters against the fakes with
// rate limits on (Jira: 100 writes a minute; GitHub: 80 content-creating requests a
// minute, its documented secondary limit). Waits run on the fake clock, so
// tickets/sim-min is the rate the limits allow, and tickets/wall-min is what this
// machine does besides. Run: go test -run '^$' -bench TicketsPerMinute -benchtime 300x ./sync
func BenchmarkTicketsPerMinute(b *testing.B) {
	for _, tc := range []struct {
		kind      string
		cat       feedback.Category
		perMinute int
	}{{"jira", feedback.CategoryDeployment, 100}, {"github", feedback.CategoryBilling, 80}} {
		b.Run(tc.kind, func(b *testing.B) {
			clk := clock.NewFake(t0)
			st := storetest.OpenSQLite(b, store.WithClock(clk.Now))
			ctx := context.Background()
			if _, err := st.MigrateUp(ctx); err != nil {
				b.Fatal(err)
			}
			bb := newBundle(b, st, clk, nil)
			bb.jira.lim.perMinute, bb.gh.lim.perMinute = tc.perMinute, tc.perMinute
			for i := 0; i < b.N; i++ {
				id, err := st.CreateCluster(ctx, feedback.Cluster{Title: "bench " + strconv.Itoa(i), Status: feedback.StatusTriaged, Category: tc.cat, Severity: feedback.SeverityHigh})
				if err != nil {
					b.Fatal(err)
				}
				addItem(b, st, id, feedback.Record{Source: "csv", ExternalID: "bench-" + strconv.Itoa(i), Title: "slow deploys"}, "acme")
				if _, err := bb.sy.Accept(ctx, id, "ana", "bench"); err != nil {
					b.Fatal(err)
				}
			}
			start := clk.Now()
			b.ResetTimer()
			rep, err := bb.sy.Drain(ctx, DrainOptions{})
			b.StopTimer()
			if err != nil || rep.Delivered != b.N {
				b.Fatalf("drain = %+v, %v", rep, err)
			}
			if got := bb.jira.creates + bb.gh.creates; got != b.N {
				b.Fatalf("created %d tickets, want %d", got, b.N)
			}
			if sim := clk.Now().Sub(start).Minutes(); sim > 0 {
				b.ReportMetric(float64(b.N)/sim, "tickets/sim-min")
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Minutes(), "tickets/wall-min")
			b.ReportMetric(float64(bb.jira.lim.limited+bb.gh.lim.limited), "429s")
		})
	}
}
