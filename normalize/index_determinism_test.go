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
