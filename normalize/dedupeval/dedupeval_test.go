package dedupeval

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestRunTiny(t *testing.T) {
	t.Parallel()
	// Expected ranks are worked out in testdata/tiny/README.md.
	tests := []struct {
		name     string
		window   int
		noBucket bool
		inWindow map[string]int // queries with an earlier bucket member in the window
		want     map[string]SplitReport
	}{
		{"window 365", 365, false, map[string]int{"tune": 1, "test": 2, "all": 3}, map[string]SplitReport{
			"tune": {RR1: 1, RR5: 1, RR10: 1, RR20: 1, MRR: 1, Queries: 1},
			"test": {RR1: 0.25, RR5: 0.5, RR10: 0.5, RR20: 0.5, MRR: 0.375, Queries: 4},
			"all":  {RR1: 0.4, RR5: 0.6, RR10: 0.6, RR20: 0.6, MRR: 0.5, Queries: 5},
		}},
		{"no window", -1, false, map[string]int{"tune": 1, "test": 4, "all": 5}, map[string]SplitReport{
			"tune": {RR1: 1, RR5: 1, RR10: 1, RR20: 1, MRR: 1, Queries: 1},
			"test": {RR1: 0.5, RR5: 1, RR10: 1, RR20: 1, MRR: 0.675, Queries: 4},
			"all":  {RR1: 0.6, RR5: 1, RR10: 1, RR20: 1, MRR: 0.74, Queries: 5},
		}},
		// Windowed by the clusterer's clusters, A-4 stays alone, so the window drops
		// it although its bucket got A-9 nine days before A-11: A-11 finds its
		// bucket only through A-9, behind A-10.
		{"window 365, by clusters", 365, true, map[string]int{"tune": 1, "test": 2, "all": 3}, map[string]SplitReport{
			"tune": {RR1: 1, RR5: 1, RR10: 1, RR20: 1, MRR: 1, Queries: 1},
			"test": {RR1: 0, RR5: 0.5, RR10: 0.5, RR20: 0.5, MRR: 0.25, Queries: 4},
			"all":  {RR1: 0.2, RR5: 0.6, RR10: 0.6, RR20: 0.6, MRR: 0.4, Queries: 5},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Run(context.Background(), Options{DataDir: "testdata/tiny", WindowDays: tt.window, NoBucketWindow: tt.noBucket})
			if err != nil {
				t.Fatal(err)
			}
			for split, want := range tt.want {
				if got := rep.Splits[split]; got != want {
					t.Errorf("%s: got %+v, want %+v", split, got, want)
				}
				if got := rep.inWindowQueries[split]; got != tt.inWindow[split] {
					t.Errorf("%s: %d queries in the window, want %d", split, got, tt.inWindow[split])
				}
			}
			if rep.BuildItemsPerS <= 0 || rep.PeakRSSMB <= 0 || rep.LatencyMS.P99 < rep.LatencyMS.P50 {
				t.Errorf("speed fields not filled: %+v", rep)
			}
		})
	}
}

func TestRunReplicate(t *testing.T) {
	t.Parallel()
	rep, err := Run(context.Background(), Options{DataDir: "testdata/tiny", Replicate: 3})
	if err != nil {
		t.Fatal(err)
	}
	// 11 issues three times; the copies are not queries.
	if rep.items != 33 || rep.Splits["all"].Queries != 5 {
		t.Errorf("items %d, queries %d; want 33 and 5", rep.items, rep.Splits["all"].Queries)
	}
	// Copies sit in buckets of their own: a link between copies is labelled false.
	if rep.links == 0 || rep.correct != 0 {
		t.Errorf("%d links, %d correct; want copies linked to copies, none correct", rep.links, rep.correct)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil || !strings.Contains(buf.String(), "replicated 3×") {
		t.Errorf("WriteText: %v %q", err, buf.String())
	}
	if _, err := Run(context.Background(), Options{DataDir: "testdata/tiny", Replicate: -2}); err == nil {
		t.Error("negative Replicate accepted")
	}
}

func TestRunSplitAndJSONShape(t *testing.T) {
	t.Parallel()
	rep, err := Run(context.Background(), Options{DataDir: "testdata/tiny", Split: SplitTune})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rep.Splits["test"]; ok || len(rep.Splits) != 1 {
		t.Errorf("split tune reported %v", rep.Splits)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"splits", "automerge", "latency_ms", "build_items_per_s", "peak_rss_mb"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	// The shape, plus one documented extension: cpu_ms where the OS reports
	// thread CPU time.
	extra := 0
	if c, ok := m["cpu_ms"]; ok {
		extra = 1
		var l Latency
		if err := json.Unmarshal(c, &l); err != nil || l.P50 <= 0 || l.P99 < l.P50 {
			t.Errorf("cpu_ms = %s, want positive ordered percentiles (%v)", c, err)
		}
	} else if runtime.GOOS == "linux" {
		t.Errorf("JSON lacks cpu_ms on Linux: %s", b)
	}
	if len(m) != 5+extra {
		t.Errorf("JSON has extra keys: %s", b)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil || !strings.Contains(buf.String(), "RR@10") {
		t.Errorf("WriteText: %v %q", err, buf.String())
	}
	if _, err := Run(context.Background(), Options{DataDir: "testdata/tiny", Split: "nope"}); err == nil {
		t.Error("unknown split accepted")
	}
}

// TestRealCorpus runs the harness on the real corpus when FEEDBACKHUB_DEDUP_DATA
// names its folder (it is never read otherwise).
func TestRealCorpus(t *testing.T) {
	dir := os.Getenv("FEEDBACKHUB_DEDUP_DATA")
	if dir == "" {
		t.Skip("FEEDBACKHUB_DEDUP_DATA not set")
	}
	rep, err := Run(context.Background(), Options{DataDir: dir, Split: SplitTune})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_ = rep.WriteText(&buf)
	t.Log("\n" + buf.String())
}

func TestBootstrap(t *testing.T) {
	t.Parallel()
	all := []int{1, 2, 3, 10}
	if rr, mrr := bootstrap(all, 10, 500); rr != [2]float64{1, 1} || mrr[0] <= 0 || mrr[1] > 1 {
		t.Errorf("all hits: RR@10 %v, MRR %v", rr, mrr)
	}
	if rr, mrr := bootstrap([]int{0, 0, 11}, 10, 500); rr != [2]float64{0, 0} || mrr[1] > 1.0/11+1e-9 {
		t.Errorf("no hits at 10: RR@10 %v, MRR %v", rr, mrr)
	}
	// Half of 200 queries hit: the binomial 95% interval is about 0.5 ± 0.07.
	half := make([]int, 200)
	for i := range 100 {
		half[i] = 1
	}
	rr, _ := bootstrap(half, 10, 2000)
	if rr[0] > 0.45 || rr[0] < 0.40 || rr[1] < 0.55 || rr[1] > 0.60 {
		t.Errorf("half: RR@10 interval %v, want about 0.43–0.57", rr)
	}
	if again, _ := bootstrap(half, 10, 2000); again != rr {
		t.Errorf("not reproducible: %v then %v", rr, again)
	}
}
