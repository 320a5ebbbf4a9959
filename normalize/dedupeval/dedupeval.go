// Package dedupeval measures duplicate retrieval and auto-linking of package normalize
// on a labelled corpus (issues.jsonl + queries.csv, the format of
// shared/data/dedup/apache-hadoop-jira), following the online protocol of
// docs/DEDUP-EVAL.md: issues are streamed in time order, each one is first decided by
// the Clusterer (query) and then added; for every duplicate query the ranked items are
// collapsed by ground-truth bucket, buckets whose newest earlier member is outside
// the window are dropped, and the rank of the query's bucket gives RR@k and MRR.
//
// The window is the protocol's: an earlier report is kept while its bucket's newest
// earlier report is inside it (SunRanking in the SABD code the published numbers come
// from), not only when the report itself is. After each issue is decided, the
// harness puts it in its ground-truth bucket's activity group in the index
// (Index.Group, what the clusterer does for a cluster; ClusterOptions.CallerGroups),
// so the index's window and recency follow the buckets of earlier reports. The
// clusters themselves stay as the clusterer made them: labels do not merge or split
// anything, though through the window they can change which candidates a link
// decision compares (on apache-hadoop-jira the links are the same with and without
// NoBucketWindow). It also reports auto-link precision and recall, latency per item,
// build rate and peak memory.
package dedupeval

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/internal/procstat"
	"github.com/feedbackhub/feedbackhub/normalize"
)

// Split names the query subset to evaluate.
type Split string

// Splits of queries.csv; SplitAll evaluates tune, test and their union.
const (
	SplitTune Split = "tune"
	SplitTest Split = "test"
	SplitAll  Split = "all"
)

// Options configures Run.
type Options struct {
	// DataDir holds issues.jsonl and queries.csv.
	DataDir string
	// Split selects the queries reported (default all). Auto-link numbers are counted
	// over the items of that split's period.
	Split Split
	// WindowDays is the candidate window (default 365; negative: no window).
	WindowDays int
	// K is the deepest rank counted (default 20).
	K int
	// Analyzer, Index and Cluster override the normalize defaults when non-nil.
	// Index.WindowDays is replaced by WindowDays.
	Analyzer *normalize.AnalyzerOptions
	Index    *normalize.IndexOptions
	Cluster  *normalize.ClusterOptions
	// NoFacets leaves out project, component, version and priority facets.
	NoFacets bool
	// NoBucketWindow leaves the index's activity groups to the clusterer, as in the
	// service: the window then keeps an old report only when auto-links put it in a
	// cluster with a recent one, not by its labelled bucket.
	NoBucketWindow bool
	// Limit stops after this many issues (0: all); for quick runs.
	Limit int
	// Replicate streams every issue this many times (default 1), the copies under
	// renamed keys and buckets ("KEY~1", …) at the same time, to measure speed and
	// memory at a multiple of the corpus size (DEDUP-EVAL.md §5.6). Ranking is still
	// scored on the original queries, but every earlier report now has identical
	// copies in other buckets ahead of or beside it, and copies link to each other
	// as identical text, so RR, MRR and the auto-link figures are not comparable
	// with an unreplicated run.
	Replicate int
	// Trace, when set, receives one JSON line per query and per auto-link.
	Trace io.Writer
	// Features, when set, receives the second-stage features of every query's
	// candidates: a first line {"names": [...]}, then one line per query with its
	// split and, per candidate in first-stage order, the features "f", whether it is
	// in the query's bucket "y", whether its bucket is inside the window "e" and a
	// per-query bucket number "b" (for fitting the re-ranker; see internal/fitrank).
	Features io.Writer
}

// SplitReport holds ranking quality for one split.
type SplitReport struct {
	RR1     float64 `json:"rr1"`
	RR5     float64 `json:"rr5"`
	RR10    float64 `json:"rr10"`
	RR20    float64 `json:"rr20"`
	MRR     float64 `json:"mrr"`
	Queries int     `json:"queries"`
}

// AutoMerge holds online auto-link quality over all incoming items of the split.
type AutoMerge struct {
	// Precision is correct links / all links (a lower bound: labels are incomplete).
	Precision float64 `json:"precision"`
	// Recall is correct links made for duplicate queries / duplicate queries.
	Recall float64 `json:"recall"`
	// Per1000 is links per 1,000 incoming items.
	Per1000 float64 `json:"per_1000"`
}

// Latency holds per-item decide+add latency percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// Report is the result of Run.
type Report struct {
	Splits    map[string]SplitReport `json:"splits"`
	AutoMerge AutoMerge              `json:"automerge"`
	LatencyMS Latency                `json:"latency_ms"`
	// CPUMS is the same per-item work in CPU time of the evaluating thread, where the
	// OS reports it (Linux): the service time on a free core, which wall-clock latency
	// on a busy machine hides. Nil elsewhere.
	CPUMS           *Latency `json:"cpu_ms,omitempty"`
	BuildItemsPerS  float64  `json:"build_items_per_s"`
	PeakRSSMB       float64  `json:"peak_rss_mb"`
	links, correct  int
	byEvidence      map[normalize.Evidence][2]int
	items           int
	split           Split
	window, k       int
	inWindowQueries map[string]int
	ranks           map[string][]int // per split, each query's rank (0: miss)
	replicate       int
}

// issue is one line of issues.jsonl.
type issue struct {
	Key             string   `json:"key"`
	Project         string   `json:"project"`
	Priority        string   `json:"priority"`
	Components      []string `json:"components"`
	AffectsVersions []string `json:"affects_versions"`
	Created         string   `json:"created"`
	Summary         string   `json:"summary"`
	Description     *string  `json:"description"`
	Bucket          string   `json:"bucket"`
}

type query struct {
	key, bucket, split string
}

const timeLayout = "2006-01-02T15:04:05.000-0700"

// Run evaluates the normalize pipeline on opts.DataDir.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Split == "" {
		opts.Split = SplitAll
	}
	switch opts.Split {
	case SplitTune, SplitTest, SplitAll:
	default:
		return nil, fmt.Errorf("dedupeval: unknown split %q (want tune, test or all)", opts.Split)
	}
	if opts.WindowDays == 0 {
		opts.WindowDays = 365
	}
	if opts.K <= 0 {
		opts.K = 20
	}
	if opts.Replicate < 0 {
		return nil, fmt.Errorf("dedupeval: Replicate %d is negative (0 or 1: one copy)", opts.Replicate)
	}
	issues, err := readIssues(filepath.Join(opts.DataDir, "issues.jsonl"), opts.Limit)
	if err != nil {
		return nil, err
	}
	if opts.Replicate > 1 {
		issues = replicate(issues, opts.Replicate)
	}
	queries, err := readQueries(filepath.Join(opts.DataDir, "queries.csv"))
	if err != nil {
		return nil, err
	}

	// The split boundary for items: the first test query's time.
	var testStart time.Time
	projects := map[string]bool{}
	for i := range issues {
		projects[issues[i].Project] = true
		if q, ok := queries[issues[i].Key]; ok && q.split == string(SplitTest) && testStart.IsZero() {
			testStart = issues[i].t
		}
	}
	var projectKeys []string
	for p := range projects {
		if p != "" {
			projectKeys = append(projectKeys, p)
		}
	}
	sort.Strings(projectKeys)

	ao := normalize.DefaultAnalyzerOptions()
	if opts.Analyzer != nil {
		ao = *opts.Analyzer
	}
	ao.Refs.JiraProjects = projectKeys
	io := normalize.DefaultIndexOptions()
	if opts.Index != nil {
		io = *opts.Index
	}
	io.WindowDays = opts.WindowDays
	co := normalize.DefaultClusterOptions()
	if opts.Cluster != nil {
		co = *opts.Cluster
	}
	an := normalize.NewAnalyzer(ao)
	idx := normalize.NewIndex(io)
	co.CallerGroups = !opts.NoBucketWindow
	cl := normalize.NewClusterer(idx, co)

	bucketOf := make(map[int64]string, len(issues))
	timeOf := make(map[int64]time.Time, len(issues))
	newest := map[string]time.Time{}  // bucket -> newest member so far
	bucketFirst := map[string]int64{} // bucket -> its first item, its group's name
	// inWindow reports whether bucket b has a member before t within the window (the
	// protocol's rule; newest holds earlier members only while t's item is decided).
	inWindow := func(t time.Time, b string) bool {
		nt, ok := newest[b]
		return ok && (opts.WindowDays <= 0 || t.Sub(nt) <= time.Duration(opts.WindowDays)*24*time.Hour)
	}
	type acc struct {
		hits   [21]int // hits at rank 1..20 (index = rank)
		inWin  int     // queries whose bucket has an earlier member in the window
		ranks  []int   // each query's rank (0: miss), for the bootstrap intervals
		rrSum  float64
		n      int
		links  int
		corr   int
		corrQ  int
		items  int
		byEvid map[normalize.Evidence][2]int
	}
	accs := map[string]*acc{"tune": {byEvid: map[normalize.Evidence][2]int{}}, "test": {byEvid: map[normalize.Evidence][2]int{}}}
	lat := make([]float64, 0, len(issues))
	cpu := make([]float64, 0, len(issues))
	// One OS thread for the loop, so its CPU clock measures this work only.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var trace *json.Encoder
	if opts.Trace != nil {
		trace = json.NewEncoder(opts.Trace)
	}
	var feats *json.Encoder
	if opts.Features != nil {
		feats = json.NewEncoder(opts.Features)
		_ = feats.Encode(map[string]any{"names": idx.FeatureNames()})
	}
	start := time.Now()
	for i := range issues {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		it := &issues[i]
		id := int64(i + 1)
		bucketOf[id] = it.Bucket
		timeOf[id] = it.t
		facets := []string(nil)
		if !opts.NoFacets {
			facets = append(facets, "project:"+it.Project, "priority:"+it.Priority)
			for _, c := range it.Components {
				facets = append(facets, "component:"+c)
			}
			for _, v := range it.AffectsVersions {
				facets = append(facets, "version:"+v)
			}
		}
		desc := ""
		if it.Description != nil {
			desc = *it.Description
		}
		c0 := procstat.ThreadCPU()
		t0 := time.Now()
		doc := an.Analyze(normalize.Input{ID: id, Time: it.t, Title: it.Summary, Body: desc, Keys: []string{it.Key}, Facets: facets})
		dec := cl.Process(doc)
		lat = append(lat, float64(time.Since(t0).Nanoseconds())/1e6)
		if c0 >= 0 {
			cpu = append(cpu, float64(procstat.ThreadCPU()-c0)/1e6)
		}
		if !opts.NoBucketWindow {
			// The issue joins its bucket's activity group, named after the bucket's
			// first issue; a bucket of one needs none.
			if first, ok := bucketFirst[it.Bucket]; ok {
				idx.Group(first, first)
				idx.Group(id, first)
			} else {
				bucketFirst[it.Bucket] = id
			}
		}

		period := "tune"
		if !testStart.IsZero() && !it.t.Before(testStart) {
			period = "test"
		}
		a := accs[period]
		a.items++
		q, isQuery := queries[it.Key]
		if dec.Action == normalize.ActionLink && dec.Detail != nil {
			a.links++
			ok := bucketOf[dec.Detail.ID] == it.Bucket
			e := a.byEvid[dec.Evidence]
			e[0]++
			if ok {
				a.corr++
				e[1]++
				if isQuery {
					a.corrQ++
				}
			}
			a.byEvid[dec.Evidence] = e
			if trace != nil {
				_ = trace.Encode(map[string]any{"link": it.Key, "to": issues[dec.Detail.ID-1].Key, "correct": ok, "evidence": dec.Evidence, "detail": dec.Detail})
			}
		}
		if trace != nil {
			type feat struct {
				Correct   bool     `json:"c"`
				TextNorm  float64  `json:"tn"`
				Norm      float64  `json:"n"`
				Mentioned bool     `json:"m,omitempty"`
				SigIDF    float64  `json:"sig,omitempty"`
				Days      float64  `json:"days"`
				Key       string   `json:"k"`
				Facets    []string `json:"sf,omitempty"`
			}
			var fs []feat
			for j, c := range dec.Candidates {
				if j >= 3 && !c.Mentioned {
					continue
				}
				fs = append(fs, feat{bucketOf[c.ID] == it.Bucket, round(c.TextNorm), round(c.Norm), c.Mentioned, round(c.SigIDF), round(it.t.Sub(timeOf[c.ID]).Hours() / 24), issues[c.ID-1].Key, c.SharedFacets})
			}
			_ = trace.Encode(map[string]any{"item": it.Key, "period": period, "query": isQuery, "cands": fs})
		}
		if isQuery {
			qa := accs[q.split]
			if qa == nil {
				qa = &acc{byEvid: map[normalize.Evidence][2]int{}}
				accs[q.split] = qa
			}
			rank := 0
			seen := map[string]bool{}
			for _, c := range dec.Candidates {
				b := bucketOf[c.ID]
				if seen[b] {
					continue
				}
				// Drop buckets whose newest earlier member is outside the window.
				if !inWindow(it.t, b) {
					continue
				}
				seen[b] = true
				if b == it.Bucket {
					rank = len(seen)
					break
				}
				if len(seen) >= opts.K {
					break
				}
			}
			qa.n++
			if inWindow(it.t, it.Bucket) {
				qa.inWin++
			}
			qa.ranks = append(qa.ranks, rank)
			if rank > 0 {
				qa.rrSum += 1 / float64(rank)
				for r := rank; r <= 20; r++ {
					qa.hits[r]++
				}
			}
			if trace != nil {
				_ = trace.Encode(map[string]any{"query": it.Key, "split": q.split, "rank": rank})
			}
			if feats != nil {
				writeFeatures(feats, it, q.split, dec.Candidates, bucketOf, func(b string) bool { return inWindow(it.t, b) }, func(id int64) string { return issues[id-1].Key })
			}
		}
		if t := newest[it.Bucket]; it.t.After(t) {
			newest[it.Bucket] = it.t
		}
	}
	elapsed := time.Since(start)
	rep := &Report{Splits: map[string]SplitReport{}, split: opts.Split, window: opts.WindowDays, k: opts.K, items: len(issues), inWindowQueries: map[string]int{}, ranks: map[string][]int{}, replicate: max(opts.Replicate, 1)}
	mk := func(name string, as ...*acc) SplitReport {
		var s SplitReport
		var hits [21]int
		rr := 0.0
		for _, a := range as {
			rep.inWindowQueries[name] += a.inWin
			rep.ranks[name] = append(rep.ranks[name], a.ranks...)
			s.Queries += a.n
			rr += a.rrSum
			for i := range hits {
				hits[i] += a.hits[i]
			}
		}
		if s.Queries == 0 {
			return s
		}
		n := float64(s.Queries)
		s.RR1, s.RR5, s.RR10, s.RR20 = round(float64(hits[1])/n), round(float64(hits[5])/n), round(float64(hits[10])/n), round(float64(hits[20])/n)
		s.MRR = round(rr / n)
		return s
	}
	var sel []*acc
	switch opts.Split {
	case SplitTune:
		rep.Splits["tune"] = mk("tune", accs["tune"])
		sel = []*acc{accs["tune"]}
	case SplitTest:
		rep.Splits["test"] = mk("test", accs["test"])
		sel = []*acc{accs["test"]}
	default:
		rep.Splits["tune"] = mk("tune", accs["tune"])
		rep.Splits["test"] = mk("test", accs["test"])
		rep.Splits["all"] = mk("all", accs["tune"], accs["test"])
		sel = []*acc{accs["tune"], accs["test"]}
	}
	links, corr, corrQ, items, nq := 0, 0, 0, 0, 0
	rep.byEvidence = map[normalize.Evidence][2]int{}
	for _, a := range sel {
		links += a.links
		corr += a.corr
		corrQ += a.corrQ
		items += a.items
		nq += a.n
		for k, v := range a.byEvid {
			e := rep.byEvidence[k]
			e[0] += v[0]
			e[1] += v[1]
			rep.byEvidence[k] = e
		}
	}
	rep.links, rep.correct = links, corr
	if links > 0 {
		rep.AutoMerge.Precision = round(float64(corr) / float64(links))
	}
	if nq > 0 {
		rep.AutoMerge.Recall = round(float64(corrQ) / float64(nq))
	}
	if items > 0 {
		rep.AutoMerge.Per1000 = round(1000 * float64(links) / float64(items))
	}
	sort.Float64s(lat)
	rep.LatencyMS = Latency{P50: round(pct(lat, 0.50)), P95: round(pct(lat, 0.95)), P99: round(pct(lat, 0.99))}
	if len(cpu) == len(lat) && len(cpu) > 0 {
		sort.Float64s(cpu)
		rep.CPUMS = &Latency{P50: round(pct(cpu, 0.50)), P95: round(pct(cpu, 0.95)), P99: round(pct(cpu, 0.99))}
	}
	if elapsed > 0 {
		rep.BuildItemsPerS = math.Round(float64(len(issues)) / elapsed.Seconds())
	}
	rep.PeakRSSMB = math.Round(PeakRSSMB()*10) / 10
	return rep, nil
}

// featCand is one candidate line of the Features dump.
type featCand struct {
	F []float64 `json:"f"`
	Y bool      `json:"y,omitempty"`
	E bool      `json:"e,omitempty"`
	B int       `json:"b"`
	K string    `json:"k,omitempty"` // the candidate's key, for features computed outside
}

// writeFeatures writes one query's candidates to the Features dump, in the
// first-stage order (Candidate.Score).
func writeFeatures(enc *json.Encoder, it *issueT, split string, cands []normalize.Candidate, bucketOf map[int64]string, inWindow func(bucket string) bool, keyOf func(int64) string) {
	cs := append([]normalize.Candidate(nil), cands...)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Score > cs[j].Score })
	num := map[string]int{}
	out := make([]featCand, 0, len(cs))
	for _, c := range cs {
		b := bucketOf[c.ID]
		n, ok := num[b]
		if !ok {
			n = len(num)
			num[b] = n
		}
		f := make([]float64, len(c.Features))
		for i, v := range c.Features {
			f[i] = math.Round(v*1e5) / 1e5
		}
		out = append(out, featCand{F: f, Y: b == it.Bucket, E: inWindow(b), B: n, K: keyOf(c.ID)})
	}
	_ = enc.Encode(map[string]any{"query": it.Key, "split": split, "c": out})
}

// bootstrap returns the 2.5th and 97.5th percentiles of RR@k and of MRR over n
// resamples (with replacement) of the queries' ranks, from a fixed seed so a report
// is reproducible.
func bootstrap(ranks []int, k, n int) (rr, mrr [2]float64) {
	r := rand.New(rand.NewPCG(1, 2))
	rrs := make([]float64, n)
	mrrs := make([]float64, n)
	for i := range n {
		hits, rec := 0, 0.0
		for range ranks {
			x := ranks[r.IntN(len(ranks))]
			if x > 0 {
				rec += 1 / float64(x)
				if x <= k {
					hits++
				}
			}
		}
		rrs[i] = float64(hits) / float64(len(ranks))
		mrrs[i] = rec / float64(len(ranks))
	}
	sort.Float64s(rrs)
	sort.Float64s(mrrs)
	lo, hi := n*25/1000, n*975/1000-1
	return [2]float64{rrs[lo], rrs[hi]}, [2]float64{mrrs[lo], mrrs[hi]}
}

func round(x float64) float64 { return math.Round(x*10000) / 10000 }

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// PeakRSSMB returns the process's peak resident set size in MiB.
func PeakRSSMB() float64 { return procstat.PeakRSSMB() }

type issueT struct {
	issue
	t time.Time
}

// replicate returns n copies of each issue in a row, copy k > 0 under key and bucket
// suffixed "~k": the same time, so the stream stays in time order.
func replicate(issues []issueT, n int) []issueT {
	out := make([]issueT, 0, len(issues)*n)
	for _, it := range issues {
		out = append(out, it)
		for k := 1; k < n; k++ {
			c := it
			c.Key = fmt.Sprintf("%s~%d", it.Key, k)
			c.Bucket = fmt.Sprintf("%s~%d", it.Bucket, k)
			out = append(out, c)
		}
	}
	return out
}

func readIssues(path string, limit int) ([]issueT, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dedupeval: %w", err)
	}
	defer f.Close()
	var out []issueT
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var it issueT
		if err := json.Unmarshal(sc.Bytes(), &it.issue); err != nil {
			return nil, fmt.Errorf("dedupeval: %s:%d: %w", path, line, err)
		}
		t, err := time.Parse(timeLayout, it.Created)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, it.Created); err != nil {
				return nil, fmt.Errorf("dedupeval: %s:%d: created: %w", path, line, err)
			}
		}
		it.t = t.UTC()
		if it.Bucket == "" {
			it.Bucket = it.Key
		}
		out = append(out, it)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dedupeval: %s: %w", path, err)
	}
	// The protocol streams in time order; keep file order for ties.
	sort.SliceStable(out, func(i, j int) bool { return out[i].t.Before(out[j].t) })
	return out, nil
}

func readQueries(path string) (map[string]query, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dedupeval: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("dedupeval: %s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"query_key", "bucket", "split"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("dedupeval: %s: missing column %q", path, need)
		}
	}
	out := map[string]query{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("dedupeval: %s: %w", path, err)
		}
		out[rec[col["query_key"]]] = query{key: rec[col["query_key"]], bucket: rec[col["bucket"]], split: rec[col["split"]]}
	}
	return out, nil
}

// WriteText writes a human summary of the report.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	win := fmt.Sprintf("%d days", r.window)
	if r.window < 0 {
		win = "none"
	}
	fmt.Fprintf(&b, "dedup evaluation: %d items, window %s, split %s\n", r.items, win, r.split)
	if r.replicate > 1 {
		fmt.Fprintf(&b, "corpus replicated %d× under renamed keys: speed and memory are at this size; RR, MRR and auto-link figures are not comparable with a single copy\n", r.replicate)
	}
	fmt.Fprintf(&b, "%-6s %7s %6s %6s %6s %6s %6s   %s\n", "split", "queries", "RR@1", "RR@5", "RR@10", "RR@20", "MRR", "in window (best RR possible)")
	for _, s := range []string{"tune", "test", "all"} {
		if sr, ok := r.Splits[s]; ok {
			best := 0.0
			if sr.Queries > 0 {
				best = float64(r.inWindowQueries[s]) / float64(sr.Queries)
			}
			fmt.Fprintf(&b, "%-6s %7d %6.3f %6.3f %6.3f %6.3f %6.3f   %d (%.3f)\n", s, sr.Queries, sr.RR1, sr.RR5, sr.RR10, sr.RR20, sr.MRR, r.inWindowQueries[s], best)
		}
	}
	for _, s := range []string{"tune", "test", "all"} {
		if rs := r.ranks[s]; len(rs) > 0 {
			r10, mrr := bootstrap(rs, 10, 2000)
			fmt.Fprintf(&b, "%-6s 95%% bootstrap interval: RR@10 %.3f–%.3f, MRR %.3f–%.3f\n", s, r10[0], r10[1], mrr[0], mrr[1])
		}
	}
	fmt.Fprintf(&b, "auto-link: precision %.3f (%d of %d links, lower bound), recall %.3f, %.2f links per 1,000 items\n",
		r.AutoMerge.Precision, r.correct, r.links, r.AutoMerge.Recall, r.AutoMerge.Per1000)
	var ev []string
	for k := range r.byEvidence {
		ev = append(ev, string(k))
	}
	sort.Strings(ev)
	for _, k := range ev {
		v := r.byEvidence[normalize.Evidence(k)]
		fmt.Fprintf(&b, "  %-10s %d links, %d correct\n", k, v[0], v[1])
	}
	fmt.Fprintf(&b, "latency per item (analyze+decide+add): p50 %.3f ms, p95 %.3f ms, p99 %.3f ms\n", r.LatencyMS.P50, r.LatencyMS.P95, r.LatencyMS.P99)
	if r.CPUMS != nil {
		fmt.Fprintf(&b, "CPU time per item (same work):          p50 %.3f ms, p95 %.3f ms, p99 %.3f ms\n", r.CPUMS.P50, r.CPUMS.P95, r.CPUMS.P99)
	}
	fmt.Fprintf(&b, "build rate %.0f items/s, peak RSS %.1f MB\n", r.BuildItemsPerS, r.PeakRSSMB)
	_, err := io.WriteString(w, b.String())
	return err
}
