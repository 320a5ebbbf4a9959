package normalize

import (
	"math"
	"slices"
	"sort"
	"strings"
)

// The second stage re-scores the first stage's top RerankDepth candidates with a
// linear model over similarity features, in the spirit of REP (Sun et al., ASE 2011):
// BM25F pools a term's fields, so it cannot tell a title word found in a candidate's
// title from the same word buried in a long body; the features keep those apart and
// add evidence BM25F does not see (title cosine, facet agreement, age).
//
// Text features are divided by the query's self-score, so weights mean the same for
// short and long reports. All features are generic: no field values or vocabulary of
// any corpus.

// maxTitleIDs and maxFacetIDs cap the per-document term ids kept for the second
// stage, which bounds its memory at a few dozen bytes per document.
const (
	maxTitleIDs = 32
	maxFacetIDs = 16
)

// RerankFeatures names the second stage's fixed features, in the order of
// Candidate.Features; "facet:<prefix>" features for IndexOptions.FacetPrefixes
// follow them.
//
//   - score: the first-stage score (BM25F × recency + reference bonuses) / self;
//   - text: the BM25F score / self;
//   - title, body, code, signature, facet, bigram: the BM25 contribution of the query's
//     terms found in that field of the candidate / self;
//   - title_title: BM25 of the query's title terms in the candidate's title / self;
//   - title_cos: idf-weighted cosine of the two titles' distinct terms;
//   - recency: exp(-days/RecencyDays); age: log(1+days)/log(366);
//   - mentioned: 1 when the query mentions the candidate's key;
//   - shared_refs: references both mention (at most 2);
//   - len_diff: |log((1+title+body tokens of candidate) / (1+those of the query))|.
var RerankFeatures = []string{
	"score", "text",
	"title", "body", "code", "signature", "facet", "bigram",
	"title_title", "title_cos", "recency", "age", "mentioned", "shared_refs", "len_diff",
}

// DefaultFacetPrefixes are the facet kinds whose agreement is a feature: generic
// tracker facets (see Input.Facets).
func DefaultFacetPrefixes() []string {
	return []string{"project:", "component:", "version:", "priority:"}
}

// DefaultRerankWeights returns the second-stage weights fitted on the 501 tune
// queries of the evaluation corpus by pairwise logistic regression with an L2 pull
// (λ 0.3) towards the first-stage order (fitrank -method lr -lambda 0.3; the
// time-ordered 5-fold cross-validation on tune gave MRR 0.598 → 0.605 and RR@10
// 0.753 → 0.759; coordinate ascent over-fitted and lost RR@10 held out). The
// largest gain is the facet-field BM25 (agreement on rare facets); the weights stay
// close to the first stage. A model with only "score": 1 reproduces the first-stage
// order.
//
// Tried on tune without gain, and therefore not kept: pseudo-relevance feedback
// (RM3-like re-query with the best 3–10 first-pass candidates' title terms that the
// query lacks, 5–20 terms, weight 0.05–0.3: RR@10 0.7645 unchanged or lower, MRR
// 0.603–0.609 against 0.607, still nothing in time-ordered CV after refitting the
// weights); the same feedback as a re-ranker feature, and cross-field features (query
// title terms in the candidate's body, the query's body terms in its title): CV MRR
// 0.601–0.604 against 0.605, RR@10 0.758–0.761 against 0.759 (λ 0.3); the 1–6 rarest
// body-only query terms treated as title terms: RR@10 0.759–0.763, MRR 0.601–0.608.
func DefaultRerankWeights() map[string]float64 {
	return map[string]float64{
		"score": 1, "text": 0.0127,
		"title": 0.0786, "body": 0.0088, "code": -0.0144, "signature": 0.0995, "facet": 3.3579, "bigram": 0.1859,
		"title_title": 0.124, "title_cos": 0.0189, "recency": 0.0217, "age": -0.0257,
		"mentioned": 0.0636, "shared_refs": 0.0316, "len_diff": -0.0083,
		"facet:project:": 0.0373, "facet:component:": 0.0209, "facet:version:": 0.0187, "facet:priority:": 0.0088,
	}
}

// FeatureNames returns the names of Candidate.Features for this index.
func (ix *Index) FeatureNames() []string {
	out := append([]string(nil), RerankFeatures...)
	for _, p := range ix.opts.FacetPrefixes {
		out = append(out, "facet:"+p)
	}
	return out
}

// rerank computes the features of out (parallel to docs), scores them with the
// weights and sorts out by that score, best first (first-stage order breaks ties).
func (ix *Index) rerank(q Doc, out []Candidate, docs []scored, self float64, qt0 int64, facets []queryTerm) {
	o := &ix.opts
	names := ix.FeatureNames()
	w := make([]float64, len(names))
	for i, n := range names {
		w[i] = o.RerankWeights[n]
	}
	qTitle, qNorm := ix.queryTitle(q)
	// The query's facets by prefix.
	facetPre := make([]int, len(facets))
	for i, f := range facets {
		facetPre[i] = -1
		for j, p := range o.FacetPrefixes {
			if strings.HasPrefix(f.term, p) {
				facetPre[i] = j
				break
			}
		}
	}
	qLen := float64(len(q.Fields[FieldTitle]) + len(q.Fields[FieldBody]))
	nf := len(RerankFeatures)
	all := make([]float64, len(out)*len(names)) // one allocation for every candidate's features
	for i := range out {
		s := &docs[i]
		c := &out[i]
		f := all[i*len(names) : (i+1)*len(names) : (i+1)*len(names)]
		f[0] = c.Norm
		f[1] = c.TextNorm
		for fi := Field(0); fi < NumFields; fi++ {
			f[2+int(fi)] = float64(s.fld[fi]) / self
		}
		f[8] = float64(s.tt) / self
		f[9] = ix.titleCos(qTitle, qNorm, s.doc)
		c.TitleSim = f[9]
		days := math.Abs(float64(qt0-ix.times[s.doc])) / 86400
		f[10] = math.Exp(-days / o.RecencyDays)
		f[11] = math.Log1p(days) / math.Log(366)
		if c.Mentioned {
			f[12] = 1
		}
		f[13] = float64(min(len(c.SharedRefs), 2))
		ln := ix.lens[s.doc]
		f[14] = math.Abs(math.Log((1 + float64(ln[FieldTitle]) + float64(ln[FieldBody])) / (1 + qLen)))
		cf := ix.facetIDs.of(s.doc)
		for qi, qf := range facets {
			if p := facetPre[qi]; p >= 0 {
				if _, ok := slices.BinarySearch(cf, qf.id); ok {
					f[nf+p] = 1
				}
			}
		}
		r := 0.0
		for j := range f {
			r += w[j] * f[j]
		}
		c.Features, c.Rerank = f, r
	}
	// Stable: first-stage order breaks ties. Both slices move together, in place.
	sort.Stable(byRerank{out, docs})
}

// byRerank sorts candidates and their scored entries together, best re-rank first.
type byRerank struct {
	c []Candidate
	d []scored
}

func (b byRerank) Len() int           { return len(b.c) }
func (b byRerank) Less(i, j int) bool { return b.c[i].Rerank > b.c[j].Rerank }
func (b byRerank) Swap(i, j int) {
	b.c[i], b.c[j] = b.c[j], b.c[i]
	b.d[i], b.d[j] = b.d[j], b.d[i]
}

// queryTitle returns the query's distinct indexed title term ids, sorted, and the
// squared idf norm of all its distinct title terms (unseen terms count in the norm
// with the idf of a term no document has).
func (ix *Index) queryTitle(q Doc) ([]uint32, float64) {
	var ids []uint32
	norm := 0.0
	seen := map[string]bool{}
	for _, t := range q.Fields[FieldTitle] {
		if seen[t] {
			continue
		}
		seen[t] = true
		if id, ok := ix.dict[t]; ok {
			ids = append(ids, id)
			v := ix.idf(ix.terms[id].n)
			norm += v * v
		} else {
			v := ix.idf(0)
			norm += v * v
		}
	}
	slices.Sort(ids)
	return ids, norm
}

// titleCos is the idf-weighted cosine between the query's title terms (sorted ids,
// squared norm qNorm) and document d's title terms.
func (ix *Index) titleCos(q []uint32, qNorm float64, d uint32) float64 {
	t := ix.titleIDs.of(d)
	if len(q) == 0 || len(t) == 0 || qNorm == 0 {
		return 0
	}
	dot, dNorm := 0.0, 0.0
	i := 0
	for _, id := range t {
		v := ix.idf(ix.terms[id].n)
		dNorm += v * v
		for i < len(q) && q[i] < id {
			i++
		}
		if i < len(q) && q[i] == id {
			dot += v * v
		}
	}
	if dNorm == 0 {
		return 0
	}
	return dot / math.Sqrt(qNorm*dNorm)
}
