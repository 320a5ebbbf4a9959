package normalize

import (
	"encoding/json"
	"testing"
	"time"
)

func testDocs(an *Analyzer) []Doc {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	in := []Input{
		{ID: 1, Title: "NameNode crashes on startup with NullPointerException in FSImage loader", Body: "java.lang.NullPointerException\n\tat org.x.FSImage.load(FSImage.java:10)"},
		{ID: 2, Title: "Add dark mode to the dashboard", Body: "It would be nice to have a dark theme."},
		{ID: 3, Title: "Billing export CSV has wrong currency", Body: "Amounts are in USD instead of EUR."},
		{ID: 4, Title: "NameNode crashes on startup with NullPointerException in FSImage loader", Body: "java.lang.NullPointerException\n\tat org.x.FSImage.load(FSImage.java:10)"},
	}
	var out []Doc
	for i, x := range in {
		x.Time = t0.Add(time.Duration(i) * time.Hour)
		out = append(out, an.Analyze(x))
	}
	return out
}

func TestClustererLinksAndRespectsNeverMerge(t *testing.T) {
	t.Parallel()
	an := NewAnalyzer(DefaultAnalyzerOptions())
	docs := testDocs(an)

	c := NewClusterer(NewIndex(DefaultIndexOptions()), DefaultClusterOptions())
	for _, d := range docs[:3] {
		if dec := c.Process(d); dec.Action == ActionLink {
			t.Fatalf("item %d linked unexpectedly: %+v", d.ID, dec)
		}
	}
	dec := c.Process(docs[3])
	if dec.Action != ActionLink || dec.ClusterID != 1 {
		t.Fatalf("item 4: got %s to %d, want link to 1", dec.Action, dec.ClusterID)
	}
	var detail map[string]any
	if err := json.Unmarshal([]byte(dec.DetailJSON()), &detail); err != nil || detail["evidence"] == "" {
		t.Fatalf("detail not JSON with evidence: %v %s", err, dec.DetailJSON())
	}

	for _, tc := range []struct {
		name  string
		block func(c *Clusterer)
	}{
		{"item pair", func(c *Clusterer) { c.NeverMerge(4, 1) }},
		{"item and cluster", func(c *Clusterer) { c.NeverMergeCluster(4, 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClusterer(NewIndex(DefaultIndexOptions()), DefaultClusterOptions())
			tc.block(c)
			for _, d := range docs[:3] {
				c.Process(d)
			}
			dec := c.Process(docs[3])
			if dec.ClusterID == 1 {
				t.Fatalf("never-merge violated: %+v", dec)
			}
			if len(dec.Blocked) != 1 || dec.Blocked[0] != 1 {
				t.Errorf("Blocked = %v, want [1]", dec.Blocked)
			}
			for _, s := range dec.Suggestions {
				if s.ClusterID == 1 {
					t.Errorf("blocked cluster suggested: %+v", s)
				}
			}
		})
	}
}

func TestIndexWindowAndExplain(t *testing.T) {
	t.Parallel()
	an := NewAnalyzer(DefaultAnalyzerOptions())
	ix := NewIndex(IndexOptions{WindowDays: 30})
	old := an.Analyze(Input{ID: 1, Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Title: "disk quota exceeded on upload"})
	recent := an.Analyze(Input{ID: 2, Time: time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC), Title: "upload fails: disk quota exceeded"})
	ix.Add(old)
	ix.Add(recent)
	q := an.Analyze(Input{ID: 3, Time: time.Date(2020, 6, 10, 0, 0, 0, 0, time.UTC), Title: "disk quota exceeded when uploading"})
	got := ix.Query(q, 10)
	if len(got) != 1 || got[0].ID != 2 {
		t.Fatalf("Query = %+v, want only item 2 (item 1 is outside the window)", got)
	}
	if got[0].Fields["title"] <= 0 || len(got[0].SharedTerms) == 0 {
		t.Errorf("no explanation: %+v", got[0])
	}
	if !ix.Remove(2) || len(ix.Query(q, 10)) != 0 {
		t.Errorf("removed item still returned")
	}
}

func TestClustererSimilarityLinkNeedsProjectAgreement(t *testing.T) {
	t.Parallel()
	an := NewAnalyzer(DefaultAnalyzerOptions())
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id int64, project, extra string) Doc {
		return an.Analyze(Input{ID: id, Time: t0.Add(time.Duration(id) * time.Hour),
			Title:  "Balancer hangs forever when a datanode is decommissioned mid-run",
			Body:   "The balancer thread never exits after decommission of a datanode. " + extra,
			Facets: []string{"project:" + project}})
	}
	for _, tc := range []struct {
		project string
		link    bool
	}{{"a", true}, {"b", false}} {
		c := NewClusterer(NewIndex(DefaultIndexOptions()), DefaultClusterOptions())
		c.Process(an.Analyze(Input{ID: 10, Time: t0, Title: "Unrelated dashboard colour request", Body: "Please add a dark theme."}))
		c.Process(mk(1, "a", "Seen on trunk."))
		dec := c.Process(mk(2, tc.project, "Reproduced nightly."))
		if got := dec.Action == ActionLink; got != tc.link {
			t.Errorf("project %s: action %s (evidence %s, score %.2f), want link=%v", tc.project, dec.Action, dec.Evidence, dec.Score, tc.link)
		}
	}
}
