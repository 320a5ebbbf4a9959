package normalize

import (
	"reflect"
	"strconv"
	"testing"
)

// TestRestoreMatchesProcess: restoring stored items into their stored clusters gives
// the state that deciding them again and then assigning the stored cluster gave
// (what start-up did before Restore): the same decisions for new items, the same
// clusters and members.
func TestRestoreMatchesProcess(t *testing.T) {
	g := newDocGen(7, 3000)
	var stored []Doc
	for range 2000 {
		d := g.next()
		if d.ID%5 == 0 {
			// Copies of earlier items, so identity by text has work to do.
			src := stored[int(d.ID)%len(stored)]
			d.Fields, d.Hash = src.Fields, src.Hash
		}
		if d.Hash == 0 {
			d.Hash = uint64(d.ID%97) + 1 // some items share a text hash
		}
		d.Keys = []string{"K-" + strconv.FormatInt(d.ID%1500, 10)}
		stored = append(stored, d)
	}
	cluster := func(d Doc) int64 { return 1 + (d.ID*7)%300 } // stored clusters, unrelated to the text
	old := NewClusterer(NewIndex(DefaultIndexOptions()), DefaultClusterOptions())
	restored := NewClusterer(NewIndex(DefaultIndexOptions()), DefaultClusterOptions())
	for _, d := range stored {
		old.Process(d)
		old.Assign(d.ID, cluster(d))
		restored.Restore(d, cluster(d))
	}
	if a, b := old.Clusters(), restored.Clusters(); !reflect.DeepEqual(a, b) {
		t.Fatalf("clusters differ: %d vs %d", len(a), len(b))
	}
	for _, c := range old.Clusters() {
		if a, b := old.Members(c), restored.Members(c); !reflect.DeepEqual(a, b) {
			t.Fatalf("cluster %d: members %v vs %v", c, a, b)
		}
	}
	linked := 0
	for range 300 {
		q := g.next()
		if q.ID%3 == 0 {
			src := stored[int(q.ID)%len(stored)]
			q.Fields, q.Hash = src.Fields, src.Hash
		}
		a, b := old.Decide(q), restored.Decide(q)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("item %d: decisions differ:\n%+v\n%+v", q.ID, a, b)
		}
		if a.Action == ActionLink {
			linked++
		}
	}
	if linked == 0 {
		t.Fatal("no query linked: the comparison covered no link decisions")
	}
}
