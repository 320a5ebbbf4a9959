package normalize

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// TestQueryDeterministic checks that one query on one index always returns the
// same candidates, to the last bit: the self-score sums the query's unseen terms
// and the reference-only candidates (tied when the reference boosts are on) were
// taken in map order.
func TestQueryDeterministic(t *testing.T) {
	o := DefaultIndexOptions()
	o.MentionBoost, o.SharedRefBoost = 0.3, 0.2
	ix := NewIndex(o)
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 300; i++ {
		d := Doc{ID: int64(i), Time: t0.Add(time.Duration(i) * time.Hour)}
		d.Fields[FieldTitle] = []string{fmt.Sprintf("w%d", i%7), fmt.Sprintf("w%d", i%11)}
		d.Fields[FieldBody] = []string{fmt.Sprintf("w%d", i%13), fmt.Sprintf("w%d", i%17), "common"}
		d.Keys = []string{fmt.Sprintf("K-%d", i)}
		if i%3 == 0 {
			// Many items share one reference and nothing else with the query.
			d.Fields = [NumFields][]string{FieldTitle: {fmt.Sprintf("x%d", i)}}
			d.Refs = []feedback.Ref{{Kind: feedback.RefMessageID, Value: fmt.Sprintf("ref%d", i%2)}}
		}
		ix.Add(d)
	}
	q := Doc{ID: 1000, Time: t0.Add(400 * time.Hour), Refs: []feedback.Ref{{Kind: feedback.RefMessageID, Value: "ref0"}}}
	q.Fields[FieldTitle] = []string{"w1", "w2", "unseen1", "unseen2", "unseen3"}
	for i := 0; i < 40; i++ {
		q.Fields[FieldBody] = append(q.Fields[FieldBody], fmt.Sprintf("unseen-body-%d", i))
	}
	q.Fields[FieldBody] = append(q.Fields[FieldBody], "w3", "common")
	want, wantSelf := ix.QueryWithSelf(q, 20)
	for i := 0; i < 50; i++ {
		got, self := ix.QueryWithSelf(q, 20)
		if self != wantSelf || !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d differs: self %v vs %v", i, self, wantSelf)
		}
	}
}

// TestIndexBuildDeterministic checks that two indexes built from the same documents
// answer to the last bit alike: term ids follow the documents' token order, not map
// iteration, so the second stage's id-ordered sums (title cosine) and its choice of
// the first title terms of a long title are the same on every build.
func TestIndexBuildDeterministic(t *testing.T) {
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	docs := make([]Doc, 400)
	for i := range docs {
		d := Doc{ID: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Hour)}
		n := 3 + i%40 // some titles are longer than maxTitleIDs distinct terms
		for j := 0; j < n; j++ {
			d.Fields[FieldTitle] = append(d.Fields[FieldTitle], fmt.Sprintf("t%d", (i*7+j*13)%97))
		}
		for j := 0; j < 30; j++ {
			d.Fields[FieldBody] = append(d.Fields[FieldBody], fmt.Sprintf("b%d", (i*3+j*29)%211))
		}
		d.Fields[FieldFacet] = []string{fmt.Sprintf("project:p%d", i%3), fmt.Sprintf("component:c%d", i%5)}
		docs[i] = d
	}
	build := func() *Index {
		ix := NewIndex(DefaultIndexOptions())
		for _, d := range docs {
			ix.Add(d)
		}
		return ix
	}
	a, b := build(), build()
	for i := 0; i < len(docs); i += 7 {
		q := docs[i]
		q.ID += 10000
		q.Time = q.Time.Add(time.Hour)
		ca, sa := a.QueryWithSelf(q, 30)
		cb, sb := b.QueryWithSelf(q, 30)
		if sa != sb || !reflect.DeepEqual(ca, cb) {
			t.Fatalf("query %d: two builds of one corpus answer differently (self %v vs %v)", i, sa, sb)
		}
	}
}
