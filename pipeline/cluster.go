package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/normalize"
	"github.com/feedbackhub/feedbackhub/store"
)

// dedup is the in-memory clustering state: the analyzer, the index and the clusterer,
// rebuilt from the database at start so results never depend on process history.
// Cluster ids inside the clusterer are the store's cluster ids.
type dedup struct {
	mu       sync.Mutex
	analyzer *normalize.Analyzer
	cl       *normalize.Clusterer
	projects map[string]bool // Jira project keys seen in item keys or configured
	// neverCount is how many never-merge pairs exist (0 lets reference linking skip
	// the constraint queries).
	neverCount int
}

var jiraKeyRE = regexp.MustCompile(`^([A-Z][A-Z0-9_]+)-\d+$`)

// ClusterReport counts what a clustering pass did.
type ClusterReport struct {
	Items       int            `json:"items"`
	NewClusters int            `json:"new_clusters"`
	Linked      map[string]int `json:"linked"` // by evidence
	Suggested   int            `json:"suggested"`
}

func (p *Pipeline) dedupState(ctx context.Context) (*dedup, error) {
	p.dedupOnce.Lock()
	defer p.dedupOnce.Unlock()
	if p.dd != nil {
		return p.dd, nil
	}
	d := &dedup{
		analyzer: normalize.NewAnalyzer(normalize.DefaultAnalyzerOptions()),
		cl:       normalize.NewClusterer(normalize.NewIndex(normalize.DefaultIndexOptions()), normalize.DefaultClusterOptions()),
		projects: map[string]bool{},
	}
	for _, s := range p.Config.Sources {
		if s.Jira != nil {
			for _, pr := range s.Jira.Projects {
				d.projects[pr] = true
			}
		}
	}
	var after int64
	for {
		items, err := p.Store.ItemsAfter(ctx, after, 2000)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			break
		}
		after = items[len(items)-1].ID
		for _, it := range items {
			d.noteKey(it.ExternalID)
			if it.ClusterID == nil || it.Deleted {
				continue
			}
			d.cl.Process(d.doc(it))
			d.cl.Assign(it.ID, *it.ClusterID)
		}
	}
	pairs, err := p.Store.NeverMerge(ctx)
	if err != nil {
		return nil, err
	}
	for _, pr := range pairs {
		d.cl.NeverMerge(pr[0], pr[1])
	}
	d.neverCount = len(pairs)
	p.dd = d
	return d, nil
}

func (d *dedup) noteKey(externalID string) {
	if m := jiraKeyRE.FindStringSubmatch(externalID); m != nil {
		d.projects[m[1]] = true
	}
}

func (d *dedup) jiraProjects() []string {
	out := make([]string, 0, len(d.projects))
	for k := range d.projects {
		out = append(out, k)
	}
	return out
}

// keys are an item's own identities, as references to it are written.
func itemKeys(it feedback.Item) []string {
	keys := []string{it.ExternalID}
	if id := strings.Trim(it.ExternalID, "<>"); id != it.ExternalID {
		keys = append(keys, id)
	}
	if it.URL != "" {
		keys = append(keys, it.URL)
	}
	return keys
}

func (d *dedup) doc(it feedback.Item) normalize.Doc {
	return d.analyzer.Analyze(normalize.Input{ID: it.ID, Time: it.CreatedAt, Title: it.Title, Body: it.Body,
		Keys: itemKeys(it), Facets: []string{"source:" + it.Source}})
}

// Cluster assigns every unclustered item to a cluster, oldest first: an item that
// references another item (a Jira key, a GitHub issue, a Message-ID), or is referenced
// by one, joins that item's cluster; otherwise the clusterer links it on identity,
// signature or very high similarity, or starts a new cluster and records its
// suggestions for a triager. Every link stores its evidence and score.
func (p *Pipeline) Cluster(ctx context.Context) (ClusterReport, error) {
	rep := ClusterReport{Linked: map[string]int{}}
	d, err := p.dedupState(ctx)
	if err != nil {
		return rep, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		items, err := p.Store.UnclusteredItems(ctx, 500)
		if err != nil {
			return rep, err
		}
		if len(items) == 0 {
			return rep, nil
		}
		for _, it := range items {
			d.noteKey(it.ExternalID)
		}
		for _, it := range items {
			if err := p.clusterItem(ctx, d, it, &rep); err != nil {
				return rep, err
			}
			rep.Items++
		}
	}
}

func (p *Pipeline) clusterItem(ctx context.Context, d *dedup, it feedback.Item, rep *ClusterReport) error {
	refs := normalize.ExtractRefs(it.Title+"\n"+it.Body, normalize.RefOptions{JiraProjects: d.jiraProjects(), NoURLs: true})
	var own []feedback.Ref
	for _, r := range refs {
		if !isOwnKey(it, r) {
			own = append(own, r)
		}
	}
	if err := p.Store.ReplaceRefs(ctx, it.ID, own); err != nil {
		return err
	}
	doc := d.doc(it)
	dec := d.cl.Process(doc)
	// References beat text: they are what people wrote to say "this is that".
	if target, via, ok, err := p.referencedCluster(ctx, d, it, own); err != nil {
		return err
	} else if ok {
		d.cl.Assign(it.ID, target)
		detail, _ := json.Marshal(map[string]any{"evidence": "reference", "reference": via, "text_candidates": dec.Suggestions})
		rep.Linked["reference"]++
		return p.Store.LinkItem(ctx, feedback.ClusterLink{ClusterID: target, ItemID: it.ID, Evidence: "reference", Score: 1, Detail: string(detail)})
	}
	if dec.Action == normalize.ActionLink {
		if _, err := p.Store.Cluster(ctx, dec.ClusterID); err == nil {
			rep.Linked[string(dec.Evidence)]++
			return p.Store.LinkItem(ctx, feedback.ClusterLink{ClusterID: dec.ClusterID, ItemID: it.ID, Evidence: string(dec.Evidence), Score: dec.Score, Detail: dec.DetailJSON()})
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	id, err := p.Store.CreateCluster(ctx, feedback.Cluster{Title: it.Title, Category: it.Category, Severity: it.Severity,
		Owner: it.Owner, FirstSeen: it.CreatedAt, LastSeen: it.UpdatedAt})
	if err != nil {
		return err
	}
	d.cl.Assign(it.ID, id)
	rep.NewClusters++
	evidence := "new"
	if dec.Action == normalize.ActionSuggest {
		evidence = "new (suggestions)"
		rep.Suggested++
	}
	detail, _ := json.Marshal(map[string]any{"evidence": evidence, "suggestions": dec.Suggestions, "blocked": dec.Blocked})
	return p.Store.LinkItem(ctx, feedback.ClusterLink{ClusterID: id, ItemID: it.ID, Evidence: "new", Score: dec.Score, Detail: string(detail)})
}

func isOwnKey(it feedback.Item, r feedback.Ref) bool {
	for _, k := range itemKeys(it) {
		if strings.EqualFold(k, r.Value) {
			return true
		}
	}
	return false
}

// referencedCluster finds the cluster of an item this item points at, or of an item
// that points at this one, respecting never-merge constraints.
func (p *Pipeline) referencedCluster(ctx context.Context, d *dedup, it feedback.Item, refs []feedback.Ref) (int64, string, bool, error) {
	try := func(other feedback.Item, via string) (int64, string, bool) {
		if other.ID == it.ID || other.ClusterID == nil || other.Deleted {
			return 0, "", false
		}
		if p.neverMerged(ctx, it.ID, *other.ClusterID) {
			return 0, "", false
		}
		return *other.ClusterID, via, true
	}
	for _, r := range refs {
		key := r.Value
		if r.Kind == feedback.RefMessageID {
			key = "<" + r.Value + ">"
		}
		others, err := p.Store.ItemsByKey(ctx, key)
		if err != nil {
			return 0, "", false, err
		}
		for _, o := range others {
			if c, via, ok := try(o, fmt.Sprintf("mentions %s (%s %s)", r.Value, o.Source, o.ExternalID)); ok {
				return c, via, true, nil
			}
		}
	}
	// References store Message-IDs without angle brackets.
	var values []string
	for _, k := range itemKeys(it) {
		values = append(values, k, strings.Trim(k, "<>"))
	}
	ids, err := p.Store.ItemsReferencing(ctx, values)
	if err != nil {
		return 0, "", false, err
	}
	for _, id := range ids {
		o, err := p.Store.Item(ctx, id)
		if err != nil {
			return 0, "", false, err
		}
		if c, via, ok := try(o, fmt.Sprintf("mentioned by %s %s", o.Source, o.ExternalID)); ok {
			return c, via, true, nil
		}
	}
	return 0, "", false, nil
}

// neverMerged reports whether a never-merge constraint keeps item out of cluster.
func (p *Pipeline) neverMerged(ctx context.Context, item, cluster int64) bool {
	if p.dd != nil && p.dd.neverCount == 0 {
		return false // no constraint anywhere: skip the queries
	}
	pairs, err := p.Store.NeverMerge(ctx)
	if err != nil || len(pairs) == 0 {
		return false
	}
	members, err := p.Store.ClusterItems(ctx, cluster)
	if err != nil {
		return false
	}
	for _, m := range members {
		a, b := item, m.ID
		if a > b {
			a, b = b, a
		}
		for _, pr := range pairs {
			if pr == [2]int64{a, b} {
				return true
			}
		}
	}
	return false
}
