// Command fitrank fits the weights of normalize's second-stage re-ranker on a
// features dump of the evaluation harness (evalrun -features), using the queries of
// one split only (tune by default). It runs coordinate ascent (Metzler and Croft,
// 2007) on MRR + RR@10 with the first-stage score's weight fixed at 1, reports a
// time-ordered k-fold cross-validation on the same split, and prints the weights as
// JSON for IndexOptions.RerankWeights.
//
//	evalrun -data DIR -split tune -features /tmp/feat.jsonl
//	go run ./normalize/dedupeval/internal/fitrank -in /tmp/feat.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
)

type cand struct {
	F []float64 `json:"f"`
	Y bool      `json:"y"`
	E bool      `json:"e"`
	B int       `json:"b"`
}

type query struct {
	Split string `json:"split"`
	C     []cand `json:"c"`
}

// grid holds the weight values tried for each coordinate.
var grid = []float64{-2, -1, -0.5, -0.3, -0.2, -0.1, -0.05, -0.02, 0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2}

func main() {
	in := flag.String("in", "", "features dump (evalrun -features)")
	split := flag.String("split", "tune", "split whose queries are used")
	folds := flag.Int("folds", 5, "cross-validation folds (time-ordered); 0 skips")
	minGain := flag.Float64("mingain", 0.002, "smallest objective gain that moves a weight")
	only := flag.String("features", "", "comma-separated feature names to fit (default all)")
	method := flag.String("method", "ca", "ca (coordinate ascent) or lr (pairwise logistic regression)")
	lambda := flag.Float64("lambda", 0.01, "L2 penalty of lr")
	negs := flag.Int("negs", 30, "lr: negatives per query, the first-stage top ones")
	flag.Parse()
	names, qs, err := read(*in, *split)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	use := make([]bool, len(names))
	for i, n := range names {
		use[i] = *only == "" || n == "score" || strings.Contains(","+*only+",", ","+n+",")
	}
	fmt.Fprintf(os.Stderr, "%d %s queries, %d features\n", len(qs), *split, len(names))
	base := make([]float64, len(names))
	base[0] = 1
	fit := func(qs []query, start []float64, use []bool, minGain float64) []float64 {
		if *method == "lr" {
			return fitLR(qs, use, *lambda, *negs)
		}
		return fitCA(qs, start, use, minGain)
	}
	if *folds > 1 {
		var bTot, fTot [2]float64
		n := 0
		for k := 0; k < *folds; k++ {
			lo, hi := k*len(qs)/(*folds), (k+1)*len(qs)/(*folds)
			train := append(append([]query(nil), qs[:lo]...), qs[hi:]...)
			test := qs[lo:hi]
			w := fit(train, base, use, *minGain)
			b, f := eval(test, base), eval(test, w)
			for i := range bTot {
				bTot[i] += b[i] * float64(len(test))
				fTot[i] += f[i] * float64(len(test))
			}
			n += len(test)
			fmt.Fprintf(os.Stderr, "fold %d: held-out MRR %.4f -> %.4f, RR@10 %.4f -> %.4f\n", k, b[0], f[0], b[1], f[1])
		}
		fmt.Fprintf(os.Stderr, "cross-validated: MRR %.4f -> %.4f, RR@10 %.4f -> %.4f\n", bTot[0]/float64(n), fTot[0]/float64(n), bTot[1]/float64(n), fTot[1]/float64(n))
	}
	w := fit(qs, base, use, *minGain)
	b, f := eval(qs, base), eval(qs, w)
	fmt.Fprintf(os.Stderr, "all %s: MRR %.4f -> %.4f, RR@10 %.4f -> %.4f\n", *split, b[0], f[0], b[1], f[1])
	out := map[string]float64{}
	for i, n := range names {
		if w[i] != 0 {
			out[n] = w[i]
		}
	}
	j, _ := json.Marshal(out)
	fmt.Println(string(j))
}

func read(path, split string) ([]string, []query, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	var names []string
	var qs []query
	for sc.Scan() {
		if names == nil {
			var h struct {
				Names []string `json:"names"`
			}
			if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
				return nil, nil, err
			}
			names = h.Names
			continue
		}
		var q query
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			return nil, nil, err
		}
		if q.Split == split {
			// Only the first RerankDepth candidates carry features; the rest keep
			// their first-stage order after them and cannot move.
			for i, c := range q.C {
				if len(c.F) == 0 {
					q.C = q.C[:i]
					break
				}
			}
			qs = append(qs, q)
		}
	}
	return names, qs, sc.Err()
}

// fitCA runs coordinate ascent from start over the features marked in use (feature 0,
// the first-stage score, stays fixed as the scale).
func fitCA(qs []query, start []float64, use []bool, minGain float64) []float64 {
	w := append([]float64(nil), start...)
	best := objective(eval(qs, w))
	for pass := 0; pass < 8; pass++ {
		moved := false
		for j := 1; j < len(w); j++ {
			if !use[j] {
				continue
			}
			cur := w[j]
			bv, bo := cur, best
			for _, g := range grid {
				if g == cur {
					continue
				}
				w[j] = g
				if o := objective(eval(qs, w)); o > bo+minGain {
					bv, bo = g, o
				}
			}
			w[j] = bv
			if bv != cur {
				best, moved = bo, true
			}
		}
		if !moved {
			break
		}
	}
	return w
}

func objective(m [2]float64) float64 { return m[0] + m[1] }

// eval returns MRR (ranks beyond 20 count 0) and RR@10 of qs under weights w,
// following the harness: candidates sorted by score, collapsed by bucket, buckets
// outside the window skipped.
func eval(qs []query, w []float64) [2]float64 {
	var mrr, r10 float64
	type sc struct {
		s float64
		i int
	}
	var buf []sc
	for _, q := range qs {
		buf = buf[:0]
		for i, c := range q.C {
			s := 0.0
			for j, v := range c.F {
				s += w[j] * v
			}
			buf = append(buf, sc{s, i})
		}
		sort.SliceStable(buf, func(a, b int) bool { return buf[a].s > buf[b].s })
		seen := map[int]bool{}
		rank := 0
		for _, x := range buf {
			c := q.C[x.i]
			if seen[c.B] || !c.E {
				continue
			}
			seen[c.B] = true
			if c.Y {
				rank = len(seen)
				break
			}
			if len(seen) >= 20 {
				break
			}
		}
		if rank > 0 {
			mrr += 1 / float64(rank)
			if rank <= 10 {
				r10++
			}
		}
	}
	n := math.Max(1, float64(len(qs)))
	return [2]float64{mrr / n, r10 / n}
}

// fitLR fits a pairwise logistic regression (RankNet with a linear scorer): for each
// query, every in-window candidate of the query's bucket against each of the
// first-stage top negs in-window candidates of other buckets, with an L2 penalty
// lambda on every weight but the first-stage score's, by full-batch gradient descent on standardized feature differences.
func fitLR(qs []query, use []bool, lambda float64, negs int) []float64 {
	dim := len(use)
	var diffs [][]float64
	for _, q := range qs {
		var pos, neg []int
		for i, c := range q.C {
			if !c.E {
				continue
			}
			if c.Y {
				pos = append(pos, i)
			} else if len(neg) < negs {
				neg = append(neg, i)
			}
		}
		for _, p := range pos {
			for _, n := range neg {
				d := make([]float64, dim)
				for j := range d {
					if use[j] {
						d[j] = q.C[p].F[j] - q.C[n].F[j]
					}
				}
				diffs = append(diffs, d)
			}
		}
	}
	if len(diffs) == 0 {
		w := make([]float64, dim)
		w[0] = 1
		return w
	}
	// Scale each coordinate by the spread of its differences.
	sd := make([]float64, dim)
	for _, d := range diffs {
		for j, v := range d {
			sd[j] += v * v
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j] / float64(len(diffs)))
		if sd[j] == 0 {
			sd[j] = 1
		}
	}
	w := make([]float64, dim)
	w[0] = 1
	g := make([]float64, dim)
	lr := math.Min(0.5, 1/(1+lambda))
	for it := 0; it < 400; it++ {
		g[0] = 0
		for j := 1; j < dim; j++ {
			g[j] = lambda * w[j] // shrink towards the first-stage order
		}
		for _, d := range diffs {
			m := 0.0
			for j, v := range d {
				m += w[j] * v / sd[j]
			}
			p := 1 / (1 + math.Exp(m)) // d loss / d m = -p
			for j, v := range d {
				g[j] -= p * v / sd[j] / float64(len(diffs))
			}
		}
		for j := range w {
			w[j] -= lr * g[j]
		}
	}
	out := make([]float64, dim)
	for j := range w {
		out[j] = w[j] / sd[j]
	}
	// Scale so the first-stage score weighs 1 when it is positive (readability).
	if out[0] > 0 {
		s := out[0]
		for j := range out {
			out[j] = math.Round(out[j]/s*1e4) / 1e4
		}
	}
	return out
}
