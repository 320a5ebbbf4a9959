package normalize

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// TestIndexReferencesMatchModel checks the index's reference evidence (which items
// own a value as their key, which mention it) against a plain model, over random
// orders of owners and mentions: a value's first owner is stored inline until a
// second owner or a mention arrives, and every path must give the same answers.
func TestIndexReferencesMatchModel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := range 200 {
		ix := NewIndex(DefaultIndexOptions())
		pool := 3 + r.IntN(8)
		val := func() string { return fmt.Sprintf("V-%d", r.IntN(pool)) }
		owners := map[string][]int64{}   // value -> items owning it, in order
		mentions := map[string][]int64{} // value -> items mentioning it (not owning)
		n := 1 + r.IntN(60)
		for id := int64(1); id <= int64(n); id++ {
			d := Doc{ID: id, Time: t0.Add(time.Duration(id) * time.Hour)}
			d.Fields[FieldTitle] = []string{"word"}
			own := map[string]bool{}
			for range r.IntN(3) {
				k := val()
				d.Keys = append(d.Keys, k)
				if !own[k] {
					own[k] = true
					owners[k] = append(owners[k], id)
				}
			}
			seen := map[string]bool{}
			for range r.IntN(3) {
				v := val()
				d.Refs = append(d.Refs, feedback.Ref{Kind: feedback.RefJiraKey, Value: v})
				if !own[v] && !seen[v] {
					seen[v] = true
					mentions[v] = append(mentions[v], id)
				}
			}
			ix.Add(d)
		}
		for i := range pool {
			v := fmt.Sprintf("V-%d", i)
			got, ok := ix.KeyOwner(v)
			if want := owners[v]; (len(want) > 0) != ok || (ok && got != want[0]) {
				t.Fatalf("round %d: KeyOwner(%s) = %d %v, owners %v", round, v, got, ok, want)
			}
			q := Doc{ID: 1000, Time: t0.Add(time.Duration(n+1) * time.Hour), Refs: []feedback.Ref{{Kind: feedback.RefJiraKey, Value: v}}}
			q.Fields[FieldTitle] = []string{"other"}
			var mentioned, shared []int64
			for _, c := range ix.Query(q, 100) {
				if c.Mentioned {
					mentioned = append(mentioned, c.ID)
				}
				if slices.Contains(c.SharedRefs, v) {
					shared = append(shared, c.ID)
				}
			}
			slices.Sort(mentioned)
			slices.Sort(shared)
			wantShared := slices.Concat(owners[v], mentions[v])
			if len(wantShared) > 50 {
				wantShared = owners[v] // a value carried by many items only counts for its owners
			}
			slices.Sort(wantShared)
			if !slices.Equal(mentioned, owners[v]) || !slices.Equal(shared, wantShared) {
				t.Fatalf("round %d, %s: mentioned %v (owners %v), shared %v (want %v)", round, v, mentioned, owners[v], shared, wantShared)
			}
		}
	}
}
