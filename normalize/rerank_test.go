package normalize

import (
	"testing"
	"time"
)

// TestRerankFeatures checks that the second stage fills one feature per name and that
// a score-only model keeps the first-stage order.
func TestRerankFeatures(t *testing.T) {
	an := NewAnalyzer(DefaultAnalyzerOptions())
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	texts := []string{"datanode crashes on startup", "namenode crashes when disk full", "ui shows wrong date", "datanode startup crash after upgrade"}
	build := func(o IndexOptions) []Candidate {
		ix := NewIndex(o)
		for i, s := range texts {
			ix.Add(an.Analyze(Input{ID: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Hour), Title: s, Facets: []string{"project:a"}}))
		}
		q := an.Analyze(Input{ID: 99, Time: t0.Add(48 * time.Hour), Title: "datanode crashes at startup", Facets: []string{"project:a"}})
		return ix.Query(q, 10)
	}
	def := DefaultIndexOptions()
	got := build(def)
	if len(got) == 0 {
		t.Fatal("no candidates")
	}
	n := len(NewIndex(def).FeatureNames())
	for _, c := range got {
		if len(c.Features) != n {
			t.Fatalf("candidate %d: %d features, want %d", c.ID, len(c.Features), n)
		}
	}
	plain := DefaultIndexOptions()
	plain.RerankWeights = map[string]float64{"score": 1}
	off := DefaultIndexOptions()
	off.RerankDepth = -1
	a, b := build(plain), build(off)
	if len(a) != len(b) {
		t.Fatalf("lengths %d and %d", len(a), len(b))
	}
	for i := range a {
		if a[i].ID != b[i].ID {
			t.Fatalf("rank %d: score-only model gives %d, first stage %d", i, a[i].ID, b[i].ID)
		}
	}
}
