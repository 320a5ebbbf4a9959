package normalize

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Evidence names why an item was linked to a cluster (feedback.ClusterLink.Evidence).
type Evidence string

// Evidence kinds, strongest first.
const (
	EvidenceIdentity   Evidence = "identity"   // same key or same normalized text
	EvidenceReference  Evidence = "reference"  // the item mentions a cluster member
	EvidenceSignature  Evidence = "signature"  // a shared rare stack frame, exception or code
	EvidenceSimilarity Evidence = "similarity" // very high normalized text score
)

// Action is what the clusterer decided for an item.
type Action string

// Clusterer actions.
const (
	ActionLink    Action = "link"    // auto-linked to an existing cluster
	ActionSuggest Action = "suggest" // new cluster, with suggestions for a human
	ActionNew     Action = "new"     // new cluster, nothing similar
)

// ClusterOptions sets the clusterer's thresholds. Norm values are candidate scores
// relative to the item's score against itself (see Candidate.Norm).
type ClusterOptions struct {
	// Retrieve is how many items the index returns per query (default 100).
	Retrieve int
	// Suggest is how many clusters to suggest (default 5); SuggestNorm is the
	// minimum Norm of a suggestion (default 0.15).
	Suggest     int
	SuggestNorm float64
	// RefNorm: link when the item mentions a member's key and TextNorm reaches it;
	// 0 disables (the default: on Jira data 2 of 197 such links were labelled
	// duplicates, mentions mean "related"). Thread identity belongs in Input.Keys.
	RefNorm float64
	// SigNorm and SigMinIDF: link when the top cluster shares a signature term with
	// idf ≥ SigMinIDF and Norm reaches SigNorm.
	SigNorm   float64
	SigMinIDF float64
	// AutoNorm: link on text similarity alone when Norm reaches it.
	AutoNorm float64
	// LinkWithinDays: signature and similarity links are only made to a candidate at
	// most this many days older (default 2): a re-submission or a burst of the same
	// failure. Older look-alikes are suggested, since regressions and deliberate
	// per-component clones look identical too. Negative: no limit.
	LinkWithinDays float64
	// IdenticalWithinDays is the same limit for identical normalized text (default 2;
	// negative: no limit).
	IdenticalWithinDays float64
	// AutoMargin requires the top cluster's Norm to exceed the runner-up's by this much
	// for signature and similarity links (default 0.05).
	AutoMargin float64
	// AgreeFacets lists facet prefixes (e.g. "project:") on which signature and
	// similarity links require agreement: when the item has facets with one of these
	// prefixes, the linked candidate must share at least one of them. Identical
	// reports filed in two projects are usually deliberate per-project clones, not
	// duplicates. Facets without a listed prefix (such as "source:") never block a
	// link. Default ["project:"]; an empty non-nil slice disables.
	AgreeFacets []string
	// TitleAgree is the least idf-weighted cosine between the two titles
	// (Candidate.TitleSim) for signature and similarity links (default 0.85; negative
	// disables). A near-identical body under a title that names another test, command
	// or component ("TestKMS failure: …" and "TestWebDelegationToken failure: …") is
	// a sibling task filed from one template, not a duplicate; a re-submission keeps
	// its title. Chosen by reading the tune split's links: every signature or
	// similarity link with a title cosine between 0.55 and 0.8 there was such a sibling
	// or a different fix in the same code.
	TitleAgree float64
	// CallerGroups leaves the index's activity groups (Index.Group) to the caller
	// instead of grouping each cluster's items. The evaluation harness uses it to
	// group reports by their labelled duplicate bucket, which is the published
	// protocol's window, without changing the clusters it measures.
	CallerGroups bool
}

// DefaultClusterOptions are conservative thresholds chosen on the tune split. Measured
// auto-link precision against Jira labels is only a lower bound there (0.25–0.39 on
// tune for every threshold tried): most "false" links are unlabelled re-submissions
// (the same report filed again within minutes) and, before the project and title
// gates, per-project clones and sibling tasks. Signature links with a shared rare
// frame were right in 1 of 13 tune cases before the title gate. With the gates, test
// gives 24 of 39 links labelled correct and 38 of 39 correct after a hand audit
// (normalize/dedupeval/AUDIT.md), at recall 0.11 of the test queries.
func DefaultClusterOptions() ClusterOptions {
	return ClusterOptions{
		Retrieve:    100,
		Suggest:     5,
		SuggestNorm: 0.15,
		RefNorm:     0,
		SigNorm:     0.7,
		SigMinIDF:   6,
		AutoNorm:    0.7,
		AutoMargin:  0.05,

		LinkWithinDays:      2,
		IdenticalWithinDays: 2,
		AgreeFacets:         []string{"project:"},
		TitleAgree:          0.85,
	}
}

// Suggestion is one cluster offered to a human, with the best-scoring member.
type Suggestion struct {
	ClusterID int64     `json:"cluster_id"`
	Candidate Candidate `json:"candidate"`
}

// Decision is the clusterer's verdict on one item.
type Decision struct {
	ItemID    int64  `json:"item_id"`
	Action    Action `json:"action"`
	ClusterID int64  `json:"cluster_id"`
	// Evidence, Score and Detail describe the link (empty for new clusters).
	Evidence    Evidence     `json:"evidence,omitempty"`
	Score       float64      `json:"score"`
	Detail      *Candidate   `json:"detail,omitempty"`
	Suggestions []Suggestion `json:"suggestions,omitempty"`
	// Blocked lists clusters skipped because of never-merge constraints.
	Blocked []int64 `json:"blocked,omitempty"`
	// Candidates is the raw ranked item list (not serialized).
	Candidates []Candidate `json:"-"`
}

// DetailJSON renders the evidence breakdown for feedback.ClusterLink.Detail.
func (d Decision) DetailJSON() string {
	b, err := json.Marshal(struct {
		Evidence Evidence   `json:"evidence"`
		Score    float64    `json:"score"`
		Detail   *Candidate `json:"detail,omitempty"`
	}{d.Evidence, d.Score, d.Detail})
	if err != nil {
		return "{}"
	}
	return string(b)
}

// Clusterer assigns items to clusters: exact identity first, then references, then
// similarity, never linking across a never-merge constraint. A new cluster takes the
// id of its first item. It owns an Index and is safe for concurrent use.
type Clusterer struct {
	mu      sync.Mutex
	idx     *Index
	opts    ClusterOptions
	cluster map[int64]int64   // item -> cluster
	members map[int64][]int64 // cluster -> items
	hashes  map[uint64]int64  // content hash -> first item
	// facets maps an item to its facets with an AgreeFacets prefix, as an index
	// into facetSets: items share a few distinct sets (one project, say), which are
	// kept once instead of per item.
	facets    map[int64]uint32
	facetSets [][]string
	facetSet  map[string]uint32 // a set's facets joined by NUL -> its index
	never     map[[2]int64]bool // item pairs, smaller id first
	neverC    map[[2]int64]bool // (item, cluster)
}

// NewClusterer returns a clusterer over idx (which may already hold items; call
// Assign for them to restore their clusters).
func NewClusterer(idx *Index, opts ClusterOptions) *Clusterer {
	d := DefaultClusterOptions()
	if opts.Retrieve <= 0 {
		opts.Retrieve = d.Retrieve
	}
	if opts.Suggest <= 0 {
		opts.Suggest = d.Suggest
	}
	if opts.AgreeFacets == nil {
		opts.AgreeFacets = d.AgreeFacets
	}
	if opts.TitleAgree == 0 {
		opts.TitleAgree = d.TitleAgree
	}
	return &Clusterer{
		idx: idx, opts: opts,
		cluster: map[int64]int64{}, members: map[int64][]int64{},
		hashes: map[uint64]int64{}, facets: map[int64]uint32{}, facetSet: map[string]uint32{},
		never: map[[2]int64]bool{}, neverC: map[[2]int64]bool{},
	}
}

// Index returns the clusterer's index.
func (c *Clusterer) Index() *Index { return c.idx }

// NeverMerge records that items a and b must never share a cluster.
func (c *Clusterer) NeverMerge(a, b int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a > b {
		a, b = b, a
	}
	c.never[[2]int64{a, b}] = true
}

// NeverMergeCluster records that item must never join cluster.
func (c *Clusterer) NeverMergeCluster(item, cluster int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.neverC[[2]int64{item, cluster}] = true
}

// Assign puts an item in a cluster without any check (restoring state at start-up or
// applying a human decision).
func (c *Clusterer) Assign(item, cluster int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.assign(item, cluster)
}

func (c *Clusterer) assign(item, cluster int64) {
	old, had := c.cluster[item]
	moved := had && old != cluster
	if had {
		m := c.members[old]
		for i, x := range m {
			if x == item {
				c.members[old] = append(m[:i:i], m[i+1:]...)
				break
			}
		}
	}
	c.cluster[item] = cluster
	c.members[cluster] = append(c.members[cluster], item)
	// The index's window keeps every member while the cluster's newest item is
	// recent: the members of a cluster of two or more share an activity group.
	if c.opts.CallerGroups {
		return
	}
	m := c.members[cluster]
	switch {
	case len(m) >= 2:
		if len(m) == 2 {
			c.idx.Group(m[0], cluster)
		}
		c.idx.Group(item, cluster)
	case moved:
		c.idx.Group(item, 0)
	}
}

// ClusterOf returns the cluster of an item.
func (c *Clusterer) ClusterOf(item int64) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.cluster[item]
	return id, ok
}

// Allowed reports whether no never-merge constraint keeps item out of cluster (its
// current members).
func (c *Clusterer) Allowed(item, cluster int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.allowed(item, cluster)
}

func (c *Clusterer) allowed(item, cluster int64) bool {
	if c.neverC[[2]int64{item, cluster}] {
		return false
	}
	if len(c.never) == 0 {
		return true
	}
	for _, m := range c.members[cluster] {
		a, b := item, m
		if a > b {
			a, b = b, a
		}
		if c.never[[2]int64{a, b}] {
			return false
		}
	}
	return true
}

func (c *Clusterer) clusterOfLocked(item int64) int64 {
	if id, ok := c.cluster[item]; ok {
		return id
	}
	return item
}

// Process decides for doc, adds it to the index and records its cluster.
func (c *Clusterer) Process(doc Doc) Decision {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.decide(doc)
	c.add(doc, d.ClusterID)
	return d
}

// Restore adds doc to the index in a cluster already decided (restoring state at
// start-up from stored items, in the order they were first clustered): the same
// state as Process followed by Assign, without the query Process makes to decide.
func (c *Clusterer) Restore(doc Doc, cluster int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(doc, cluster)
}

// add indexes doc and records its cluster, text hash, facets and keys.
func (c *Clusterer) add(doc Doc, cluster int64) {
	c.idx.Add(doc)
	c.assign(doc.ID, cluster)
	if doc.Hash != 0 {
		// Keep the newest item per text, so the time limit compares with the latest.
		c.hashes[doc.Hash] = doc.ID
		if f := agreeFacets(doc.Fields[FieldFacet], c.opts.AgreeFacets); len(f) > 0 {
			k := strings.Join(f, "\x00")
			i, ok := c.facetSet[k]
			if !ok {
				i = uint32(len(c.facetSets))
				c.facetSet[k] = i
				c.facetSets = append(c.facetSets, f)
			}
			c.facets[doc.ID] = i
		}
	}
}

// Decide returns the decision for doc without changing any state.
func (c *Clusterer) Decide(doc Doc) Decision {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.decide(doc)
}

func (c *Clusterer) decide(doc Doc) Decision {
	o := c.opts
	dec := Decision{ItemID: doc.ID, Action: ActionNew, ClusterID: doc.ID}
	if cl, ok := c.cluster[doc.ID]; ok {
		// A new revision of a known item stays where it is.
		dec.ClusterID = cl
	}
	// 1. Exact identity: a known key of another item, or identical normalized text.
	for _, k := range doc.Keys {
		// The index keeps each key's first item (the clusterer's only writer).
		if it, ok := c.idx.KeyOwner(k); ok && it != doc.ID {
			if cl := c.clusterOfLocked(it); c.allowed(doc.ID, cl) {
				dec.Action, dec.ClusterID, dec.Evidence, dec.Score = ActionLink, cl, EvidenceIdentity, 1
				dec.Detail = &Candidate{ID: it, Norm: 1, SharedRefs: []string{k}}
				return dec
			}
		}
	}
	if it, ok := c.hashes[doc.Hash]; ok && doc.Hash != 0 && it != doc.ID && c.itemWithin(it, doc.Time, o.IdenticalWithinDays) &&
		facetsAgree(doc, c.facetsOf(it), o.AgreeFacets) {
		if cl := c.clusterOfLocked(it); c.allowed(doc.ID, cl) {
			dec.Action, dec.ClusterID, dec.Evidence, dec.Score = ActionLink, cl, EvidenceIdentity, 1
			dec.Detail = &Candidate{ID: it, Norm: 1}
		}
	}
	cands := c.idx.Query(doc, o.Retrieve)
	dec.Candidates = cands
	if dec.Action == ActionLink {
		return dec
	}
	// Collapse by cluster, best member first, skipping forbidden clusters.
	type clusterCand struct {
		id   int64
		best *Candidate // into cands (not copied: a Candidate is large)
	}
	ranked := make([]clusterCand, 0, len(cands))
	pos := make(map[int64]int, len(cands))
	var blocked map[int64]bool
	for i := range cands {
		cd := &cands[i]
		cl := c.clusterOfLocked(cd.ID)
		if blocked[cl] {
			continue
		}
		if !c.allowed(doc.ID, cl) {
			if blocked == nil {
				blocked = map[int64]bool{}
			}
			blocked[cl] = true
			dec.Blocked = append(dec.Blocked, cl)
			continue
		}
		if _, ok := pos[cl]; ok {
			continue
		}
		pos[cl] = len(ranked)
		ranked = append(ranked, clusterCand{cl, cd})
	}
	if len(ranked) == 0 {
		return dec
	}
	// 2. Reference: the item mentions a member of a candidate cluster.
	for _, rc := range ranked {
		if o.RefNorm > 0 && rc.best.Mentioned && rc.best.TextNorm >= o.RefNorm {
			cd := *rc.best
			dec.Action, dec.ClusterID, dec.Evidence, dec.Score = ActionLink, rc.id, EvidenceReference, cd.TextNorm
			dec.Detail = &cd
			return dec
		}
	}
	// 3. Signature or similarity on the top cluster, if it stands out.
	top := *ranked[0].best
	margin := top.TextNorm
	if len(ranked) > 1 {
		margin = top.TextNorm - ranked[1].best.TextNorm
	}
	if margin >= o.AutoMargin && within(doc.Time, top.Time, o.LinkWithinDays) && facetsAgree(doc, top.SharedFacets, o.AgreeFacets) &&
		(o.TitleAgree < 0 || top.TitleSim >= o.TitleAgree) {
		switch {
		case o.SigMinIDF > 0 && top.SigIDF >= o.SigMinIDF && top.TextNorm >= o.SigNorm:
			dec.Action, dec.Evidence = ActionLink, EvidenceSignature
		case o.AutoNorm > 0 && top.TextNorm >= o.AutoNorm:
			dec.Action, dec.Evidence = ActionLink, EvidenceSimilarity
		}
		if dec.Action == ActionLink {
			dec.ClusterID, dec.Score, dec.Detail = ranked[0].id, top.TextNorm, &top
			return dec
		}
	}
	// 4. Suggestions for a human.
	for _, rc := range ranked {
		if len(dec.Suggestions) >= o.Suggest {
			break
		}
		if rc.best.Norm >= o.SuggestNorm {
			dec.Suggestions = append(dec.Suggestions, Suggestion{ClusterID: rc.id, Candidate: *rc.best})
		}
	}
	if len(dec.Suggestions) > 0 {
		dec.Action = ActionSuggest
		dec.Score = dec.Suggestions[0].Candidate.Norm
	}
	return dec
}

// agreeFacets returns the facets that have one of prefixes.
func agreeFacets(facets, prefixes []string) []string {
	var out []string
	for _, f := range facets {
		for _, p := range prefixes {
			if strings.HasPrefix(f, p) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// facetsAgree reports whether the other item's facets share one with doc for every
// prefix of prefixes that doc has facets for. Identical reports filed in two
// projects are usually deliberate per-project clones, so identity by text, signature
// and similarity links all need it.
// facetsOf returns an item's facets with an AgreeFacets prefix (nil when none).
func (c *Clusterer) facetsOf(item int64) []string {
	if i, ok := c.facets[item]; ok {
		return c.facetSets[i]
	}
	return nil
}

func facetsAgree(doc Doc, other []string, prefixes []string) bool {
	for _, p := range prefixes {
		has, shared := false, false
		for _, f := range doc.Fields[FieldFacet] {
			if strings.HasPrefix(f, p) {
				has = true
				break
			}
		}
		if !has {
			continue
		}
		for _, f := range other {
			if strings.HasPrefix(f, p) && slices.Contains(doc.Fields[FieldFacet], f) {
				shared = true
				break
			}
		}
		if !shared {
			return false
		}
	}
	return true
}

// itemWithin reports whether indexed item it is at most days from t (the index
// keeps its time to the second).
func (c *Clusterer) itemWithin(it int64, t time.Time, days float64) bool {
	at, ok := c.idx.TimeOf(it)
	return ok && within(t, at, days)
}

func within(a, b time.Time, days float64) bool {
	if days < 0 {
		return true
	}
	d := a.Sub(b)
	if d < 0 {
		d = -d
	}
	return d.Hours() <= days*24
}

// Members returns the items of a cluster in the order they joined.
func (c *Clusterer) Members(cluster int64) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := append([]int64(nil), c.members[cluster]...)
	return m
}

// Clusters returns all cluster ids, sorted.
func (c *Clusterer) Clusters() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int64, 0, len(c.members))
	for id, m := range c.members {
		if len(m) > 0 {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
