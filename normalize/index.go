package normalize

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// FieldParams weights one field in BM25F: Weight scales its term frequency and B is
// its length normalization (0 none, 1 full).
type FieldParams struct {
	Weight float64 `json:"weight"`
	B      float64 `json:"b"`
}

// IndexOptions configures an Index. The zero value of a field means its default
// (see DefaultIndexOptions); use a negative WindowDays for no window.
type IndexOptions struct {
	// WindowDays keeps only candidates whose activity reaches to at most this many
	// days before the query's time (default 365; negative: no window). A document's
	// activity spans from its own time to the newest time of its activity group
	// (Group; the clusterer groups the items of each cluster), so an old report stays
	// a candidate while its cluster keeps getting reports: the window of the
	// published evaluations, which keeps a duplicate group while its newest report is
	// inside the window.
	WindowDays int
	// K1 is BM25's term-frequency saturation.
	K1 float64
	// K3 saturates query-side term frequency (REP's BM25Fext); 0 means qtf is ignored.
	K3 float64
	// Fields holds per-field weight and length normalization.
	Fields [NumFields]FieldParams
	// MaxQueryTerms keeps the query's highest-weighted distinct terms (default 48).
	MaxQueryTerms int
	// MaxPostings bounds how many postings of one term a query reads: only the most
	// recent are scanned (default 3,000). It caps the latency of queries on large
	// indexes, where common terms have hundreds of thousands of postings: rare terms,
	// the informative ones, are always read in full, and a common term's older
	// matches are left out. On the 20k-item evaluation corpus 1,500, 3,000 and 10,000
	// give identical tune results; the effect at 1M items is unmeasured (no labelled
	// corpus of that size), while the 1M benchmark's p99 falls from about 40 ms at
	// 10,000 (see bench_test.go).
	MaxPostings int
	// MentionBoost is added, as a fraction of the query's self-score, to a candidate
	// whose own key the query mentions (default 0: on Jira data a mention is mostly
	// "related to", not "duplicate of"; see dedupeval).
	MentionBoost float64
	// SharedRefBoost is added, as a fraction of the self-score, per reference the
	// query and a candidate both mention (default 0, at most 2 counted).
	SharedRefBoost float64
	// RecencyBoost multiplies the text score by 1 + RecencyBoost*exp(-days/RecencyDays)
	// where days is the time between the query and the candidate's activity span
	// (see WindowDays; 0 inside it) (default 0.6, 60). On tune, the span rather than
	// the candidate's own time gave MRR +0.001 to +0.002 at each of nine settings of
	// the two (RR@10 unchanged). The second stage's recency and age features still
	// count from the candidate's own time, as its weights were fitted.
	RecencyBoost float64
	RecencyDays  float64
	// TitleBoost adds a title-versus-title BM25 score (query title terms found in the
	// candidate's title, title field parameters only), times this weight, to the
	// BM25F text score: REP's per-field similarity feature. BM25F alone pools a term's
	// fields, so a title word matched in a long body counts nearly as much as the same
	// word in the candidate's title. Default 0 (off): 0.5, 1 and 2 did not raise RR@10
	// or MRR on the tune split of the evaluation corpus.
	TitleBoost float64
	// ExplainTop is how many top candidates get a field breakdown and shared terms
	// (default 5); TopTerms is how many shared terms to list (default 8).
	ExplainTop int
	TopTerms   int
	// RerankDepth is how many of the best first-stage (BM25F) candidates the second
	// stage re-scores with RerankWeights; the rest keep their first-stage order after
	// them (default 50; negative disables the second stage). On tune, 30, 50 and 100
	// give the same RR@1, RR@5, RR@10 and MRR, and RR@20 0.790, 0.792 and 0.796; the
	// second stage's cost grows with the depth.
	RerankDepth int
	// RerankWeights weights the second-stage features by name (see RerankFeatures and
	// FacetPrefixes); a missing name weighs 0. Nil means DefaultRerankWeights.
	RerankWeights map[string]float64
	// FacetPrefixes lists the facet kinds (e.g. "component:") whose agreement between
	// query and candidate is a second-stage feature named "facet:" + prefix. Nil
	// means DefaultFacetPrefixes.
	FacetPrefixes []string
}

// DefaultIndexOptions returns the parameters tuned on the tune split of the
// evaluation corpus (see package dedupeval).
func DefaultIndexOptions() IndexOptions {
	o := IndexOptions{
		WindowDays:     365,
		K1:             1.2,
		K3:             1.5,
		MaxQueryTerms:  48,
		MaxPostings:    3000,
		MentionBoost:   0,
		SharedRefBoost: 0,
		RecencyBoost:   0.6,
		RecencyDays:    60,
		ExplainTop:     5,
		TopTerms:       8,
		RerankDepth:    50,
		RerankWeights:  DefaultRerankWeights(),
		FacetPrefixes:  DefaultFacetPrefixes(),
	}
	o.Fields[FieldTitle] = FieldParams{Weight: 3, B: 0.5}
	o.Fields[FieldBody] = FieldParams{Weight: 1, B: 0.75}
	o.Fields[FieldCode] = FieldParams{Weight: 0.3, B: 0.75}
	o.Fields[FieldSig] = FieldParams{Weight: 1, B: 0.3}
	o.Fields[FieldFacet] = FieldParams{Weight: 0.3, B: 0}
	o.Fields[FieldBigram] = FieldParams{Weight: 0.5, B: 0.75}
	return o
}

func (o *IndexOptions) fill() {
	d := DefaultIndexOptions()
	if o.WindowDays == 0 {
		o.WindowDays = d.WindowDays
	}
	if o.K1 == 0 {
		o.K1 = d.K1
	}
	if o.MaxQueryTerms == 0 {
		o.MaxQueryTerms = d.MaxQueryTerms
	}
	if o.MaxPostings == 0 {
		o.MaxPostings = d.MaxPostings
	}
	if o.RecencyDays == 0 {
		o.RecencyDays = d.RecencyDays
	}
	if o.ExplainTop == 0 {
		o.ExplainTop = d.ExplainTop
	}
	if o.TopTerms == 0 {
		o.TopTerms = d.TopTerms
	}
	if o.RerankDepth == 0 {
		o.RerankDepth = d.RerankDepth
	}
	if o.RerankWeights == nil {
		o.RerankWeights = d.RerankWeights
	}
	if o.FacetPrefixes == nil {
		o.FacetPrefixes = d.FacetPrefixes
	}
	zero := true
	for _, f := range o.Fields {
		if f != (FieldParams{}) {
			zero = false
		}
	}
	if zero {
		o.Fields = d.Fields
	}
}

// Candidate is one earlier item retrieved for a query, with the reasons.
type Candidate struct {
	ID   int64     `json:"id"`
	Time time.Time `json:"time"`
	// Score is the ranking score: Text times the recency factor plus reference
	// bonuses. Norm is Score divided by the query's score against itself, which makes
	// thresholds comparable across queries (1 ≈ identical text).
	Score float64 `json:"score"`
	Norm  float64 `json:"norm"`
	// TextNorm is Text divided by the self-score: text similarity alone, without
	// recency or reference bonuses. Auto-link thresholds use it.
	TextNorm float64 `json:"text_norm"`
	// Text is the BM25F part; Fields splits it by field (filled for the top
	// ExplainTop candidates).
	Text    float64            `json:"text"`
	Fields  map[string]float64 `json:"fields,omitempty"`
	Recency float64            `json:"recency"`
	Ref     float64            `json:"ref,omitempty"`
	// Mentioned is set when the query mentions one of this candidate's keys.
	Mentioned   bool     `json:"mentioned,omitempty"`
	SharedRefs  []string `json:"shared_refs,omitempty"`
	SharedSigs  []string `json:"shared_sigs,omitempty"`
	SharedTerms []string `json:"shared_terms,omitempty"`
	// SigIDF is the highest idf among the shared signature terms (0 if none): a
	// shared rare frame or error code is strong evidence, a shared IOException is not.
	SigIDF float64 `json:"sig_idf,omitempty"`
	// SharedFacets lists the query's facet terms (e.g. "project:x") this candidate
	// also has (filled for the top ExplainTop candidates).
	SharedFacets []string `json:"shared_facets,omitempty"`
	// TitleSim is the idf-weighted cosine between the query's and the candidate's
	// title terms (filled by the second stage, else for the top ExplainTop).
	TitleSim float64 `json:"title_sim,omitempty"`
	// Rerank is the second-stage score that orders the candidates (0 when the second
	// stage is disabled); Features are its inputs, named by Index.FeatureNames.
	Rerank   float64   `json:"rerank,omitempty"`
	Features []float64 `json:"-"`
}

// Index is an in-memory inverted index for duplicate retrieval. Add items in time
// order (out-of-order adds work but disable the window's posting skip). It is safe
// for concurrent use: one writer, many readers.
type Index struct {
	mu   sync.RWMutex
	opts IndexOptions

	dict  map[string]uint32
	terms []postingList
	skips map[uint32][]skipEntry

	ids   []int64
	times []int64 // unix seconds
	// Activity groups (see Group). grp is each document's group (0: none) and gpos
	// its position in the group's gDocs. Per group (index 0 unused): its documents,
	// and in flat arrays, which every query reads for every group, its newest
	// document time (unix seconds, which the window and recency compare) and at
	// most its lowest document (where a posting scan must start to reach it).
	grp     []uint32
	gpos    []uint32
	gDocs   [][]uint32
	gNewest []int64
	gFirst  []uint32
	gKey    []int64  // the group's key, to free it when it empties
	gFree   []uint32 // emptied slots, reused before the arrays grow
	gByKey  map[int64]uint32
	lens    [][NumFields]uint16
	byID    map[int64]uint32
	deleted []uint64
	nLive   int
	sumLen  [NumFields]float64
	ordered bool

	// refIdx maps the 128-bit hash of an own key or a mentioned reference to its
	// entry in refEnt (or, flagged refOne, to its lone owner): one small map entry
	// per value, whether documents carry it as their key, mention it, or both, and
	// no copy of the string (two maps of slices keyed by the strings, and the
	// clusterer's own third map of keys, cost about 200 bytes more per key at 1M
	// documents). Two values share an entry only if both 64-bit halves collide:
	// about 1 in 10^25 for ten million values.
	refIdx  map[refHash]uint32
	refEnt  []refEntry
	refSeed [2]maphash.Seed

	// titleIDs and facetIDs are each document's distinct title and facet term ids
	// (sorted, capped), for the second stage's title cosine and facet agreement.
	// They are kept flat, in one arena each with offsets (doc n's ids are
	// arena[off[n]:off[n+1]]): a slice per document cost about 100 MB more at 1M
	// documents and gave the garbage collector 2M more objects to scan.
	titleIDs, facetIDs idList

	scratch sync.Pool
	tfBuf   map[string]*docTerm
}

// refEntry lists the documents that carry one key or reference value, in the order
// they were added.
type refEntry struct {
	keys []uint32 // documents whose own key it is
	refs []uint32 // documents that mention it and do not have it as their key
}

// refHash is a key or reference value's 128-bit hash (see Index.refIdx).
type refHash [2]uint64

func (ix *Index) refHash(v string) refHash {
	return refHash{maphash.String(ix.refSeed[0], v), maphash.String(ix.refSeed[1], v)}
}

// refOne marks a refIdx value that is itself the one document owning the value as
// its key (no other owner, no mention): the common case, an item's own id or URL,
// which then costs no refEntry.
const refOne = 1 << 31

// refDocs returns the documents owning v as their key and those mentioning it; one
// is the caller's storage for a lone owner.
func (ix *Index) refDocs(v string, one *[1]uint32) (keys, refs []uint32, ok bool) {
	x, ok := ix.refIdx[ix.refHash(v)]
	if !ok {
		return nil, nil, false
	}
	if x&refOne != 0 {
		one[0] = x &^ refOne
		return one[:], nil, true
	}
	e := &ix.refEnt[x]
	return e.keys, e.refs, true
}

// addRef records document n as owning v (key) or mentioning it.
func (ix *Index) addRef(v string, n uint32, key bool) {
	h := ix.refHash(v)
	x, ok := ix.refIdx[h]
	if !ok && key && n < refOne {
		ix.refIdx[h] = n | refOne
		return
	}
	if !ok || x&refOne != 0 {
		e := refEntry{}
		if ok {
			e.keys = []uint32{x &^ refOne}
		}
		x = uint32(len(ix.refEnt))
		ix.refIdx[h] = x
		ix.refEnt = append(ix.refEnt, e)
	}
	e := &ix.refEnt[x]
	if key {
		e.keys = append(e.keys, n)
	} else {
		e.refs = append(e.refs, n)
	}
}

// KeyOwner returns the first document ever added with key k as its own key (a
// removed one included: an item's revisions share its id).
func (ix *Index) KeyOwner(k string) (int64, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var one [1]uint32
	if keys, _, _ := ix.refDocs(k, &one); len(keys) > 0 {
		return ix.ids[keys[0]], true
	}
	return 0, false
}

// TimeOf returns the time of a live document.
func (ix *Index) TimeOf(id int64) (time.Time, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n, ok := ix.byID[id]
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(ix.times[n], 0), true
}

// Group puts document id in the activity group named key (a cluster id), or in
// none when key is 0. The window keeps every document of a group while the group's
// newest document is inside it, and recency counts from the span between a
// document's own time and that newest one (see IndexOptions.WindowDays): an old
// report stays a candidate while its cluster keeps getting reports. The clusterer groups the items of each cluster of two or more.
// Unknown ids are ignored; regrouping in the same group does nothing.
func (ix *Index) Group(id, key int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n, ok := ix.byID[id]
	if !ok {
		return
	}
	var g uint32
	if key != 0 {
		if g, ok = ix.gByKey[key]; !ok {
			if k := len(ix.gFree); k > 0 {
				g = ix.gFree[k-1]
				ix.gFree = ix.gFree[:k-1]
				ix.gKey[g] = key
			} else {
				g = uint32(len(ix.gDocs))
				ix.gDocs = append(ix.gDocs, nil)
				ix.gNewest = append(ix.gNewest, math.MinInt64)
				ix.gFirst = append(ix.gFirst, math.MaxUint32)
				ix.gKey = append(ix.gKey, key)
			}
			ix.gByKey[key] = g
		}
	}
	ix.setGroup(n, g)
}

// setGroup moves document n from its group, if any, to group g (0: none).
func (ix *Index) setGroup(n, g uint32) {
	old := ix.grp[n]
	if old == g {
		return
	}
	if old != 0 {
		docs := ix.gDocs[old]
		i := ix.gpos[n]
		last := docs[len(docs)-1]
		docs[i] = last
		ix.gpos[last] = i
		ix.gDocs[old] = docs[:len(docs)-1]
		switch {
		case len(docs) == 1:
			// Emptied: free the key and the slot (a query skips it until reused).
			delete(ix.gByKey, ix.gKey[old])
			ix.gDocs[old] = nil
			ix.gNewest[old], ix.gFirst[old] = math.MinInt64, math.MaxUint32
			ix.gFree = append(ix.gFree, old)
		case ix.times[n] >= ix.gNewest[old]:
			// Only the newest time must be exact; the first document may stay low
			// (a query then starts its scan a little early), which keeps
			// member-by-member merges out of a group linear.
			ix.refreshGroup(old)
		}
	}
	ix.grp[n] = g
	if g == 0 {
		return
	}
	ix.gpos[n] = uint32(len(ix.gDocs[g]))
	ix.gDocs[g] = append(ix.gDocs[g], n)
	ix.gNewest[g] = max(ix.gNewest[g], ix.times[n])
	ix.gFirst[g] = min(ix.gFirst[g], n)
}

// refreshGroup recomputes group g's newest time and lowest document.
func (ix *Index) refreshGroup(g uint32) {
	ix.gNewest[g], ix.gFirst[g] = math.MinInt64, math.MaxUint32
	for _, d := range ix.gDocs[g] {
		ix.gNewest[g] = max(ix.gNewest[g], ix.times[d])
		ix.gFirst[g] = min(ix.gFirst[g], d)
	}
}

// activity returns the span of document d's activity: its own time and its group's
// newest time (the same when it has no group).
func (ix *Index) activity(d uint32) (int64, int64) {
	t := ix.times[d]
	if g := ix.grp[d]; g != 0 {
		return t, max(t, ix.gNewest[g])
	}
	return t, t
}

type postingList struct {
	data []byte
	last uint32
	n    uint32
}

type skipEntry struct {
	prev uint32 // doc before the block (delta base)
	off  uint32
}

const skipEvery = 64

// NewIndex returns an empty index.
func NewIndex(opts IndexOptions) *Index {
	opts.fill()
	return &Index{
		opts:    opts,
		dict:    make(map[string]uint32),
		skips:   make(map[uint32][]skipEntry),
		byID:    make(map[int64]uint32),
		refIdx:  make(map[refHash]uint32),
		gByKey:  make(map[int64]uint32),
		gDocs:   make([][]uint32, 1),
		gNewest: make([]int64, 1),
		gFirst:  make([]uint32, 1),
		gKey:    make([]int64, 1),
		refSeed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		ordered: true,
		tfBuf:   make(map[string]*docTerm),
	}
}

// Options returns the index's effective options.
func (ix *Index) Options() IndexOptions { return ix.opts }

// Len returns the number of live documents.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.nLive
}

// Add indexes doc. Adding an ID that is already present replaces the older version.
func (ix *Index) Add(doc Doc) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old, revised := ix.byID[doc.ID]
	if revised {
		ix.remove(old)
	}
	n := uint32(len(ix.ids))
	t := doc.Time.Unix()
	if len(ix.times) > 0 && t < ix.times[len(ix.times)-1] {
		ix.ordered = false
	}
	ix.ids = append(ix.ids, doc.ID)
	ix.times = append(ix.times, t)
	ix.grp = append(ix.grp, 0)
	ix.gpos = append(ix.gpos, 0)
	if revised {
		// A revision stays in its item's group: it joins before the old version
		// leaves, so the group never empties (which would free it).
		ix.setGroup(n, ix.grp[old])
		ix.setGroup(old, 0)
	}
	ix.byID[doc.ID] = n
	ix.nLive++
	if int(n/64) >= len(ix.deleted) {
		ix.deleted = append(ix.deleted, 0)
	}
	var lens [NumFields]uint16
	var tids, fids []uint32
	tf := ix.tfBuf
	clear(tf)
	for f := Field(0); f < NumFields; f++ {
		toks := doc.Fields[f]
		lens[f] = uint16(min(len(toks), math.MaxUint16))
		ix.sumLen[f] += float64(lens[f])
		for _, tok := range toks {
			p := tf[tok]
			if p == nil {
				// A new term gets its id at its first occurrence in field and token
				// order, so ids (and every sum taken in id order) are the same on
				// every run, not an artefact of map iteration.
				id, ok := ix.dict[tok]
				if !ok {
					id = uint32(len(ix.terms))
					ix.dict[tok] = id
					ix.terms = append(ix.terms, postingList{})
				}
				p = &docTerm{id: id}
				tf[tok] = p
			}
			if p.tf[f] < math.MaxUint8 {
				p.tf[f]++
			}
			// The second stage keeps the first distinct title and facet terms.
			if p.tf[f] == 1 {
				if f == FieldTitle && len(tids) < maxTitleIDs {
					tids = append(tids, p.id)
				} else if f == FieldFacet && len(fids) < maxFacetIDs {
					fids = append(fids, p.id)
				}
			}
		}
	}
	ix.lens = append(ix.lens, lens)
	for _, p := range tf {
		ix.appendPosting(p.id, n, &p.tf)
	}
	slices.Sort(tids)
	slices.Sort(fids)
	ix.titleIDs.add(tids)
	ix.facetIDs.add(fids)
	seen := map[string]bool{}
	for _, k := range doc.Keys {
		if !seen[k] {
			seen[k] = true
			ix.addRef(k, n, true)
		}
	}
	for _, r := range doc.Refs {
		if !seen[r.Value] {
			seen[r.Value] = true
			ix.addRef(r.Value, n, false)
		}
	}
}

// docTerm is one distinct term of a document being added: its id and field tfs.
type docTerm struct {
	id uint32
	tf [NumFields]uint8
}

func (ix *Index) appendPosting(id, doc uint32, tf *[NumFields]uint8) {
	pl := &ix.terms[id]
	if pl.n > 0 && pl.n%skipEvery == 0 {
		ix.skips[id] = append(ix.skips[id], skipEntry{prev: pl.last, off: uint32(len(pl.data))})
	}
	delta := doc
	if pl.n > 0 {
		delta = doc - pl.last
	}
	pl.data = binary.AppendUvarint(pl.data, uint64(delta))
	var mask byte
	for f := range tf {
		if tf[f] > 0 {
			mask |= 1 << f
		}
	}
	pl.data = append(pl.data, mask)
	for f := range tf {
		if tf[f] > 0 {
			pl.data = append(pl.data, tf[f])
		}
	}
	pl.last = doc
	pl.n++
}

// Remove deletes the item with the given id from results (its postings stay until
// the index is rebuilt). It reports whether the id was present.
func (ix *Index) Remove(id int64) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n, ok := ix.byID[id]
	if ok {
		ix.remove(n)
		// A removed item no longer keeps its cluster active.
		ix.setGroup(n, 0)
	}
	return ok
}

func (ix *Index) remove(n uint32) {
	if ix.isDeleted(n) {
		return
	}
	ix.deleted[n/64] |= 1 << (n % 64)
	ix.nLive--
	delete(ix.byID, ix.ids[n])
	for f := Field(0); f < NumFields; f++ {
		ix.sumLen[f] -= float64(ix.lens[n][f])
	}
}

func (ix *Index) isDeleted(n uint32) bool { return ix.deleted[n/64]&(1<<(n%64)) != 0 }

// queryTerm is one distinct query term with its weight.
type queryTerm struct {
	term string
	id   uint32
	tf   [NumFields]uint8
	idf  float64
	wq   float64
}

type scratch struct {
	acc     []accum
	touched []uint32
}

// accum is one document's accumulators during a query, kept together so a posting
// touches one cache line, not eight arrays' worth (at 1M documents the scattered
// arrays cost a cache miss each per touched document).
type accum struct {
	text  float32            // BM25F
	title float32            // title-only BM25 (TitleBoost, second stage)
	fld   [NumFields]float32 // per-field parts (second stage)
}

func (ix *Index) idf(df uint32) float64 {
	n := float64(ix.nLive)
	return math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
}

// avg returns the average length of each field over live documents.
func (ix *Index) avg() [NumFields]float64 {
	var a [NumFields]float64
	for f := range a {
		a[f] = 1
		if ix.nLive > 0 && ix.sumLen[f] > 0 {
			a[f] = ix.sumLen[f] / float64(ix.nLive)
		}
	}
	return a
}

// Query returns up to k earlier items most similar to doc, best first, excluding doc
// itself and items outside the time window. Candidates of one cluster are not
// collapsed: the caller knows the clusters.
func (ix *Index) Query(doc Doc, k int) []Candidate {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	res, _ := ix.query(doc, k)
	return res
}

// QueryWithSelf is Query that also returns the query's self-score (the BM25F score of
// doc against itself under the current statistics), the denominator of Norm.
func (ix *Index) QueryWithSelf(doc Doc, k int) ([]Candidate, float64) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.query(doc, k)
}

func (ix *Index) query(doc Doc, k int) ([]Candidate, float64) {
	o := &ix.opts
	if k <= 0 || ix.nLive == 0 {
		return nil, 0
	}
	avg := ix.avg()
	// Distinct query terms with field tfs.
	qtf := map[string]*[NumFields]uint8{}
	var qlen [NumFields]int
	for f := Field(0); f < NumFields; f++ {
		qlen[f] = len(doc.Fields[f])
		for _, t := range doc.Fields[f] {
			p := qtf[t]
			if p == nil {
				p = new([NumFields]uint8)
				qtf[t] = p
			}
			if p[f] < math.MaxUint8 {
				p[f]++
			}
		}
	}
	qts := make([]queryTerm, 0, len(qtf))
	self := 0.0
	// unseen holds the query's terms no indexed document has: they match nothing, but
	// they are part of what the query says, so they count in its self-score (the Norm
	// denominator) with the idf of a term of document frequency 0. Leaving them out
	// would let an item that shares one common term with a candidate look identical.
	var unseen []queryTerm
	// facets are the query's indexed facet terms, checked against the top candidates
	// even when MaxQueryTerms leaves them out of scoring.
	var facets []queryTerm
	for t, tf := range qtf {
		id, ok := ix.dict[t]
		qt := queryTerm{term: t, id: id, tf: *tf}
		if ok {
			qt.idf = ix.idf(ix.terms[id].n)
		} else {
			qt.idf = ix.idf(0)
		}
		q := 0.0
		for f := range tf {
			q += o.Fields[f].Weight * float64(tf[f])
		}
		if o.K3 > 0 {
			qt.wq = (o.K3 + 1) * q / (o.K3 + q)
		} else {
			qt.wq = 1
		}
		if !ok {
			unseen = append(unseen, qt)
			continue
		}
		if tf[FieldFacet] > 0 {
			facets = append(facets, qt)
		}
		qts = append(qts, qt)
	}
	sort.Slice(qts, func(i, j int) bool {
		wi, wj := qts[i].idf*qts[i].wq, qts[j].idf*qts[j].wq
		if wi != wj {
			return wi > wj
		}
		return qts[i].term < qts[j].term
	})
	if len(qts) > o.MaxQueryTerms {
		qts = qts[:o.MaxQueryTerms]
	}
	// In a fixed order: they come from a map, and the sum's last bit depends on it.
	slices.SortFunc(unseen, func(a, b queryTerm) int { return strings.Compare(a.term, b.term) })
	for _, qt := range append(qts[:len(qts):len(qts)], unseen...) {
		w := 0.0
		for f := range qt.tf {
			if qt.tf[f] > 0 {
				norm := 1 - o.Fields[f].B + o.Fields[f].B*float64(qlen[f])/avg[f]
				w += o.Fields[f].Weight * float64(qt.tf[f]) / norm
			}
		}
		self += qt.idf * qt.wq * w / (o.K1 + w)
		if o.TitleBoost > 0 && qt.tf[FieldTitle] > 0 {
			tp := o.Fields[FieldTitle]
			tw := tp.Weight * float64(qt.tf[FieldTitle]) / (1 - tp.B + tp.B*float64(qlen[FieldTitle])/avg[FieldTitle])
			self += o.TitleBoost * qt.idf * tw / (o.K1 + tw)
		}
	}
	if self <= 0 {
		self = 1
	}

	qt0 := doc.Time.Unix()
	minTime := int64(math.MinInt64)
	if o.WindowDays > 0 {
		minTime = qt0 - int64(o.WindowDays)*86400
	}
	minDoc := uint32(0)
	if ix.ordered && o.WindowDays > 0 {
		minDoc = uint32(sort.Search(len(ix.times), func(i int) bool { return ix.times[i] >= minTime }))
		// Older documents of a group active in the window are kept too.
		// (An empty group's newest time is MinInt64.)
		first, newest := ix.gFirst, ix.gNewest[:len(ix.gFirst)]
		for g := 1; g < len(first); g++ {
			if first[g] < minDoc && newest[g] >= minTime {
				minDoc = first[g]
			}
		}
	}
	selfDoc, hasSelf := ix.byID[doc.ID]

	sc, _ := ix.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if len(sc.acc) < len(ix.ids) {
		sc.acc = make([]accum, len(ix.ids)+len(ix.ids)/4+1024)
	}
	acc := sc.acc
	rerank := o.RerankDepth > 0
	titleOn := o.TitleBoost > 0 || rerank
	touched := sc.touched[:0]

	// Precompute per-field constants.
	var bw, b1 [NumFields]float64
	for f := range bw {
		bw[f] = o.Fields[f].B / avg[f]
		b1[f] = 1 - o.Fields[f].B
	}
	var fw [NumFields]float64
	for f := range fw {
		fw[f] = o.Fields[f].Weight
	}
	k1 := o.K1
	for _, qt := range qts {
		pl := &ix.terms[qt.id]
		wt := qt.idf * qt.wq
		inTitle := titleOn && qt.tf[FieldTitle] > 0
		p, d, first, ok := ix.scanStart(qt.id, pl, minDoc)
		if !ok {
			continue
		}
		// The posting decode is inlined here (scan's callback cost a call per
		// posting, the hottest loop of a query).
		data := pl.data
		for p < len(data) {
			var delta uint32
			if b := data[p]; b < 0x80 {
				delta = uint32(b)
				p++
			} else {
				v, k := binary.Uvarint(data[p:])
				delta = uint32(v)
				p += k
			}
			if first {
				d, first = delta, false
			} else {
				d += delta
			}
			mask := data[p]
			p++
			if d < minDoc || (ix.times[d] < minTime && (ix.grp[d] == 0 || ix.gNewest[ix.grp[d]] < minTime)) {
				p += bits.OnesCount8(mask)
				continue
			}
			ln := &ix.lens[d]
			a := &acc[d]
			w := 0.0
			for m := mask; m != 0; m &= m - 1 {
				f := bits.TrailingZeros8(m)
				tf := data[p]
				p++
				wf := fw[f] * float64(tf) / (b1[f] + bw[f]*float64(ln[f]))
				w += wf
				if rerank {
					a.fld[f] += float32(wt * wf / (k1 + wf))
				}
				if f == int(FieldTitle) && inTitle {
					a.title += float32(qt.idf * wf / (k1 + wf))
				}
			}
			if a.text == 0 {
				touched = append(touched, d)
			}
			a.text += float32(wt * w / (k1 + w))
		}
	}

	// Reference evidence.
	type refHit struct {
		mentioned bool
		shared    []string
	}
	refHits := map[uint32]*refHit{}
	for _, r := range doc.Refs {
		var one [1]uint32
		keys, refs, ok := ix.refDocs(r.Value, &one)
		if !ok {
			continue
		}
		for _, d := range keys {
			h := refHits[d]
			if h == nil {
				h = &refHit{}
				refHits[d] = h
			}
			h.mentioned = true
			h.shared = append(h.shared, r.Value)
		}
		if r.Kind == feedback.RefURL {
			// Plain URLs are shared by too many items (docs, wikis) to add evidence.
			continue
		}
		if len(keys)+len(refs) > 50 {
			continue
		}
		// The key holders were counted just above, this value last.
		for _, d := range refs {
			h := refHits[d]
			if h == nil {
				h = &refHit{}
				refHits[d] = h
			}
			if len(h.shared) == 0 || h.shared[len(h.shared)-1] != r.Value {
				h.shared = append(h.shared, r.Value)
			}
		}
	}
	// Documents with reference evidence only, in document order (the map's order
	// would break score ties differently from one run to the next).
	n0 := len(touched)
	for d := range refHits {
		if acc[d].text == 0 {
			touched = append(touched, d)
			acc[d].text = math.SmallestNonzeroFloat32
		}
	}
	slices.Sort(touched[n0:])

	// Final score and top-k (top depth when the second stage re-scores).
	depth := k
	if rerank && o.RerankDepth > depth {
		depth = o.RerankDepth
	}
	hp := make(candHeap, 0, depth+1)
	h := &hp
	hasRefs := len(refHits) > 0
	for _, d := range touched {
		a := acc[d]
		acc[d] = accum{}
		text := float64(a.text)
		tt := a.title
		if titleOn {
			text += o.TitleBoost * float64(tt)
		}
		var fs [NumFields]float32
		if rerank {
			fs = a.fld
		}
		own, newest := ix.activity(d)
		if ix.isDeleted(d) || (hasSelf && d == selfDoc) || newest < minTime {
			continue
		}
		// Cheap bound first: most touched docs cannot enter a full heap.
		if h.Len() >= depth && text*(1+o.RecencyBoost) <= (*h)[0].score && (!hasRefs || refHits[d] == nil) {
			continue
		}
		// Days from the query to the candidate's activity span (0 inside it).
		days := float64(max(own-qt0, qt0-newest, 0)) / 86400
		rec := 1 + o.RecencyBoost*math.Exp(-days/o.RecencyDays)
		score := text * rec
		var ref float64
		if rh := refHits[d]; rh != nil {
			if rh.mentioned {
				ref += o.MentionBoost * self
			}
			ref += o.SharedRefBoost * self * float64(min(len(rh.shared), 2))
		}
		score += ref
		sd := scored{doc: d, score: score, text: text, rec: rec, ref: ref, fld: fs, tt: tt}
		if h.Len() < depth {
			h.push(sd)
		} else if score > (*h)[0].score {
			(*h)[0] = sd
			h.fix0()
		}
	}
	sc.touched = touched
	ix.scratch.Put(sc)

	out := make([]Candidate, h.Len())
	docs := make([]scored, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		s := h.pop()
		docs[i] = s
		out[i] = Candidate{
			ID: ix.ids[s.doc], Time: time.Unix(ix.times[s.doc], 0).UTC(),
			Score: s.score, Norm: s.score / self, TextNorm: s.text / self, Text: s.text, Recency: s.rec, Ref: s.ref,
		}
		if rh := refHits[s.doc]; rh != nil {
			out[i].Mentioned = rh.mentioned
			out[i].SharedRefs = dedupStrings(rh.shared)
		}
	}
	if rerank {
		n := min(len(out), o.RerankDepth)
		ix.rerank(doc, out[:n], docs[:n], self, qt0, facets)
	}
	if len(out) > k {
		out = out[:k]
	}
	var qTitle []uint32
	qNorm := 0.0
	if !rerank {
		qTitle, qNorm = ix.queryTitle(doc)
	}
	for i := range out {
		if i >= o.ExplainTop {
			break
		}
		if !rerank {
			out[i].TitleSim = ix.titleCos(qTitle, qNorm, docs[i].doc)
		}
		ix.explain(&out[i], qts, avg)
		ix.shareFacets(&out[i], facets)
	}
	return out, self
}

// scanStart returns where to start reading term id's postings for docs >= minDoc,
// limited to the most recent MaxPostings: the byte offset, the delta base, whether
// the first posting read is absolute, and false when no posting can qualify.
func (ix *Index) scanStart(id uint32, pl *postingList, minDoc uint32) (int, uint32, bool, bool) {
	if pl.n == 0 || pl.last < minDoc {
		return 0, 0, false, false
	}
	// Recency cap: skip whole blocks before n-MaxPostings.
	off, base, first := ix.blockStart(id, minDoc, (int(pl.n)-ix.opts.MaxPostings)/skipEvery)
	return off, base, first, true
}

// blockStart returns where to start decoding term id's postings to reach doc d: the
// byte offset and delta base of the last skip block whose preceding doc is below d,
// but not before block minBlock, and whether the first posting read is absolute
// (no block to start from).
func (ix *Index) blockStart(id, d uint32, minBlock int) (int, uint32, bool) {
	sk := ix.skips[id]
	if len(sk) == 0 {
		return 0, 0, true
	}
	b := sort.Search(len(sk), func(i int) bool { return sk[i].prev >= d })
	b = max(b, minBlock)
	if b == 0 {
		return 0, 0, true
	}
	return int(sk[b-1].off), sk[b-1].prev, false
}

// lookup returns the field tfs of term id in doc d.
func (ix *Index) lookup(id uint32, d uint32) ([NumFields]uint8, bool) {
	var out [NumFields]uint8
	found := false
	pl := &ix.terms[id]
	if d > pl.last {
		return out, false
	}
	start, base, first := ix.blockStart(id, d, 0)
	data := pl.data
	cur := base
	for p := start; p < len(data); {
		delta, k := binary.Uvarint(data[p:])
		p += k
		if first {
			cur, first = uint32(delta), false
		} else {
			cur += uint32(delta)
		}
		mask := data[p]
		p++
		for f := 0; f < int(NumFields); f++ {
			if mask&(1<<f) != 0 {
				if cur == d {
					out[f] = data[p]
				}
				p++
			}
		}
		if cur == d {
			found = true
			break
		}
		if cur > d {
			break
		}
	}
	return out, found
}

// explain fills the field breakdown, shared signatures and top shared terms of c.
func (ix *Index) explain(c *Candidate, qts []queryTerm, avg [NumFields]float64) {
	o := &ix.opts
	d := ix.byID[c.ID]
	c.Fields = map[string]float64{}
	type contrib struct {
		term string
		s    float64
	}
	var cs []contrib
	ln := ix.lens[d]
	for _, qt := range qts {
		tf, ok := ix.lookup(qt.id, d)
		if !ok {
			continue
		}
		var per [NumFields]float64
		w := 0.0
		for f := range tf {
			if tf[f] > 0 {
				per[f] = o.Fields[f].Weight * float64(tf[f]) / (1 - o.Fields[f].B + o.Fields[f].B*float64(ln[f])/avg[f])
				w += per[f]
			}
		}
		s := qt.idf * qt.wq * w / (o.K1 + w)
		for f := range per {
			if per[f] > 0 {
				c.Fields[Field(f).String()] += s * per[f] / w * c.Recency
			}
		}
		if tf[FieldSig] > 0 {
			c.SharedSigs = append(c.SharedSigs, qt.term)
			c.SigIDF = math.Max(c.SigIDF, qt.idf)
		}
		cs = append(cs, contrib{qt.term, s})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].s > cs[j].s })
	for i := 0; i < len(cs) && i < o.TopTerms; i++ {
		c.SharedTerms = append(c.SharedTerms, cs[i].term)
	}
	for f, v := range c.Fields {
		c.Fields[f] = math.Round(v*1000) / 1000
	}
}

// shareFacets fills c.SharedFacets with the facet terms c shares with the query.
func (ix *Index) shareFacets(c *Candidate, facets []queryTerm) {
	d := ix.byID[c.ID]
	for _, qt := range facets {
		if tf, ok := ix.lookup(qt.id, d); ok && tf[FieldFacet] > 0 {
			c.SharedFacets = append(c.SharedFacets, qt.term)
		}
	}
	sort.Strings(c.SharedFacets)
}

// SignatureIDF returns the idf of a signature term, or 0 if it is not indexed.
func (ix *Index) SignatureIDF(s Signature) float64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	id, ok := ix.dict[s.Term()]
	if !ok {
		return 0
	}
	return ix.idf(ix.terms[id].n)
}

// Stats describes the index size.
type Stats struct {
	Docs          int   `json:"docs"`
	Terms         int   `json:"terms"`
	PostingBytes  int64 `json:"posting_bytes"`
	Postings      int64 `json:"postings"`
	OrderedByTime bool  `json:"ordered_by_time"`
}

// Stats returns the index size.
func (ix *Index) Stats() Stats {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s := Stats{Docs: ix.nLive, Terms: len(ix.terms), OrderedByTime: ix.ordered}
	for i := range ix.terms {
		s.PostingBytes += int64(len(ix.terms[i].data))
		s.Postings += int64(ix.terms[i].n)
	}
	return s
}

// String summarizes the index for logs.
func (s Stats) String() string {
	return fmt.Sprintf("%d docs, %d terms, %d postings in %d bytes", s.Docs, s.Terms, s.Postings, s.PostingBytes)
}

type scored struct {
	doc         uint32
	score, text float64
	rec, ref    float64
	// fld and tt are the second stage's per-field and title-title sums.
	fld [NumFields]float32
	tt  float32
}

// candHeap is a min-heap of scored documents (the worst on top). Its methods follow
// container/heap's algorithm exactly, without boxing each push in an interface.
type candHeap []scored

func (h candHeap) Len() int { return len(h) }

func (h candHeap) less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score < h[j].score
	}
	return h[i].doc < h[j].doc
}

func (h candHeap) up(j int) {
	for {
		i := (j - 1) / 2 // parent
		if i == j || !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

func (h candHeap) down(i0, n int) bool {
	i := i0
	for {
		j1 := 2*i + 1
		if j1 >= n || j1 < 0 {
			break
		}
		j := j1
		if j2 := j1 + 1; j2 < n && h.less(j2, j1) {
			j = j2
		}
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	return i > i0
}

func (h *candHeap) push(s scored) {
	*h = append(*h, s)
	h.up(len(*h) - 1)
}

// fix0 restores the heap after the top was replaced.
func (h candHeap) fix0() {
	if !h.down(0, len(h)) {
		h.up(0)
	}
}

func (h *candHeap) pop() scored {
	old := *h
	n := len(old) - 1
	old[0], old[n] = old[n], old[0]
	old.down(0, n)
	s := old[n]
	*h = old[:n]
	return s
}

func dedupStrings(in []string) []string {
	seen := map[string]bool{}
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// idList holds one short sorted id list per document, flat.
type idList struct {
	arena []uint32
	off   []uint32 // off[n] is where doc n's ids start; len(off) == docs+1 once used
}

func (l *idList) add(ids []uint32) {
	if len(l.off) == 0 {
		l.off = append(l.off, 0)
	}
	l.arena = append(l.arena, ids...)
	l.off = append(l.off, uint32(len(l.arena)))
}

func (l *idList) of(d uint32) []uint32 {
	return l.arena[l.off[d]:l.off[d+1]:l.off[d+1]]
}
