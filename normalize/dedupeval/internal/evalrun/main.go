// Command evalrun runs the dedup evaluation harness on a data folder; it is the
// development stand-in for `feedbackhub eval dedup`.
//
//	go run ./normalize/dedupeval/internal/evalrun -data /path/to/apache-hadoop-jira -split tune
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/feedbackhub/feedbackhub/normalize"
	"github.com/feedbackhub/feedbackhub/normalize/dedupeval"
)

func main() {
	data := flag.String("data", "", "folder with issues.jsonl and queries.csv")
	split := flag.String("split", "all", "tune, test or all")
	window := flag.Int("window", 365, "candidate window in days (negative: none)")
	replicate := flag.Int("replicate", 1, "stream the corpus this many times under renamed keys")
	asJSON := flag.Bool("json", false, "print the JSON report")
	trace := flag.String("trace", "", "write per-query and per-link JSON lines to this file")
	featOut := flag.String("features", "", "write per-query second-stage features (JSON lines) to this file")
	indexJSON := flag.String("index", "", "JSON merged over normalize.DefaultIndexOptions (tuning)")
	analyzerJSON := flag.String("analyzer", "", "JSON merged over normalize.DefaultAnalyzerOptions (tuning)")
	clusterJSON := flag.String("cluster", "", "JSON merged over normalize.DefaultClusterOptions (tuning)")
	noFacets := flag.Bool("nofacets", false, "leave out project/component/version/priority facets")
	noBucketWindow := flag.Bool("nobucketwindow", false, "window by the clusterer's clusters, not by labelled buckets")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	opts := dedupeval.Options{DataDir: *data, Split: dedupeval.Split(*split), WindowDays: *window, NoFacets: *noFacets, NoBucketWindow: *noBucketWindow, Replicate: *replicate}
	io := normalize.DefaultIndexOptions()
	ao := normalize.DefaultAnalyzerOptions()
	co := normalize.DefaultClusterOptions()
	for _, m := range []struct {
		s string
		v any
	}{{*indexJSON, &io}, {*analyzerJSON, &ao}, {*clusterJSON, &co}} {
		if m.s != "" {
			if err := json.Unmarshal([]byte(m.s), m.v); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
	}
	opts.Index, opts.Analyzer, opts.Cluster = &io, &ao, &co
	if *trace != "" {
		f, err := os.Create(*trace)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		opts.Trace = f
	}
	if *featOut != "" {
		f, err := os.Create(*featOut)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		opts.Features = f
	}
	rep, err := dedupeval.Run(context.Background(), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	_ = rep.WriteText(os.Stdout)
}
