package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

// BenchmarkRebuild measures what a start (or a rebuild after another instance's
// merge) costs: loading the clustering state of 5,000 stored, clustered items.
//
//	go test ./pipeline -run '^$' -bench Rebuild -benchtime 5x
func BenchmarkRebuild(b *testing.B) {
	ctx := context.Background()
	s, err := store.Open(ctx, "sqlite:"+b.TempDir()+"/rebuild.db", ".")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.EnsureSchema(ctx, true); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	words := make([]string, 3000)
	for i := range words {
		words[i] = fmt.Sprintf("w%x", i*2654435761%1000003)
	}
	z := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), 1.1, 1, uint64(len(words)-1))
	text := func(n int) string {
		var sb strings.Builder
		for i := range n {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(words[z.Uint64()])
		}
		return sb.String()
	}
	const n = 5000
	recs := make([]feedback.Record, n)
	for i := range recs {
		at := t0.Add(time.Duration(i) * time.Minute)
		recs[i] = feedback.Record{Source: "gh", ExternalID: fmt.Sprintf("acme/app#%d", i+1), Revision: "1", Kind: feedback.KindIssue,
			Title: text(6 + r.IntN(6)), Body: text(40 + r.IntN(120)), Author: "nw-ops", CreatedAt: at, UpdatedAt: at}
	}
	for i := 0; i < n; i += 1000 {
		if _, err := s.Ingest(ctx, "gh", recs[i:i+1000], nil); err != nil {
			b.Fatal(err)
		}
	}
	p := newPipeline(b, s, nil)
	if _, err := p.Process(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := p.Cluster(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		p.ResetIndex()
		if _, err := p.dedupState(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
}
