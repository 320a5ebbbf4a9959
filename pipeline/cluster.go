package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/normalize"
	"github.com/feedbackhub/feedbackhub/store"
)

// dedup is the in-memory clustering state: the analyzer, the index and the clusterer,
// rebuilt from the database at start so results never depend on process history.
// Cluster ids inside the clusterer are the store's cluster ids.
type dedup struct {
	analyzer *normalize.Analyzer
	cl       *normalize.Clusterer
	projects map[string]bool // Jira project keys seen in item keys or configured
	// known holds store ids of clusters known to exist (loaded at start, created or
	// linked into since): linking into one needs no existence query.
	known map[int64]bool
	// version is the store's membership version (newest merge or unmerge decision)
	// this state reflects; a pass that finds a newer one made elsewhere rebuilds.
	version atomic.Int64
	// clustered is the store's clustering version (count of clustering writes) this
	// state holds; a pass that finds another rebuilds: another process clustered
	// items this state does not hold.
	clustered atomic.Int64
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
	// Read before loading: a move made while loading leaves this state behind the
	// version, and the next pass rebuilds again.
	version, err := p.Store.MembershipVersion(ctx, 0)
	if err != nil {
		return nil, err
	}
	clustered, err := p.Store.ClusteringVersion(ctx)
	if err != nil {
		return nil, err
	}
	d := &dedup{
		analyzer: normalize.NewAnalyzer(normalize.DefaultAnalyzerOptions()),
		cl:       normalize.NewClusterer(normalize.NewIndex(normalize.DefaultIndexOptions()), normalize.DefaultClusterOptions()),
		projects: map[string]bool{},
		known:    map[int64]bool{},
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
		}
		// Stored items keep their stored clusters: they are indexed without the
		// query that deciding them took (a restart at a million items would
		// otherwise repeat a million queries), and analyzed on every core.
		docs, err := d.analyzeAll(items, p.analyzeHook)
		if err != nil {
			return nil, err
		}
		for i, it := range items {
			if it.ClusterID == nil || it.Deleted {
				continue
			}
			d.cl.Restore(docs[i], *it.ClusterID)
			d.known[*it.ClusterID] = true
		}
	}
	pairs, err := p.Store.NeverMerge(ctx)
	if err != nil {
		return nil, err
	}
	for _, pr := range pairs {
		d.cl.NeverMerge(pr[0], pr[1])
	}
	d.version.Store(version)
	d.clustered.Store(clustered)
	p.dd = d
	return d, nil
}

// analyzeAll analyzes the clustered, live items on GOMAXPROCS goroutines; the
// others' entries stay zero. A panic analyzing an item becomes an error naming it (a
// crash here would repeat on every start).
func (d *dedup) analyzeAll(items []feedback.Item, hook func(feedback.Item)) ([]normalize.Doc, error) {
	docs := make([]normalize.Doc, len(items))
	errs := make([]error, len(items))
	workers := min(runtime.GOMAXPROCS(0), len(items))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(items); i += workers {
				if it := items[i]; it.ClusterID != nil && !it.Deleted {
					docs[i], errs[i] = d.safeDoc(it, hook)
				}
			}
		}()
	}
	wg.Wait()
	return docs, errors.Join(errs...)
}

// safeDoc is doc with a panic turned into an error (hook, when set, runs first: tests
// inject failures with it).
func (d *dedup) safeDoc(it feedback.Item, hook func(feedback.Item)) (doc normalize.Doc, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("analyze item %d (%s %s): panic: %v", it.ID, it.Source, it.ExternalID, r)
		}
	}()
	if hook != nil {
		hook(it)
	}
	return d.doc(it), nil
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
//
// Items are taken in chunks of 500. Decisions are made item by item, in order, as if
// each item's writes were already stored; the writes of a whole chunk are then stored
// in one transaction (store.ClusterBatch). Clusters that a chunk starts carry a
// temporary negative id in the clusterer until that transaction assigns their store
// ids. If anything fails, the in-memory state is dropped and rebuilt from the
// database on the next pass.
//
// Two things run beside the decisions, which stay sequential and in order: worker
// goroutines analyze a chunk's items (text, signatures, references) ahead of the
// item being decided, and a chunk's transaction runs while the next chunk is
// decided. That next chunk sees the one in flight as the earlier items of a chunk
// are seen: its items' clusters (temporary ids included) and references come from
// the decisions, never from the database, whether the transaction has committed or
// not. Temporary ids become store ids between chunks only, for every member at once,
// so no decision ever sees one cluster under two ids. Chunks are written in order,
// one at a time; when one fails, the chunk decided after it is never written.
func (p *Pipeline) Cluster(ctx context.Context) (ClusterReport, error) {
	rep := ClusterReport{Linked: map[string]int{}}
	// Passes exclude each other for their whole run (a second pass interleaving its
	// slices would decide against a state that misses the first one's clusters);
	// merges only wait for a slice.
	unlock, err := p.Store.Lock(ctx, "clustering-pass")
	if err != nil {
		return rep, fmt.Errorf("waiting for the clustering pass: %w", err)
	}
	defer unlock()
	for {
		more, err := p.clusterSlice(ctx, &rep)
		if err != nil || !more {
			return rep, err
		}
		if p.Store.LocksAcrossProcesses() {
			// Another process waiting for the lock polls for it: give it the gap.
			select {
			case <-time.After(sliceGap):
			case <-ctx.Done():
				return rep, ctx.Err()
			}
		}
	}
}

// sliceGap is the pause between a pass's slices when the clustering lock is a file
// lock shared with other processes, which poll for it (see store.fileLock).
const sliceGap = 30 * time.Millisecond

// clusterSlice runs one slice of a clustering pass under the clustering lock: chunks
// until no unclustered item is left (false) or the slice's time is up (true: the
// chunks decided so far are stored, and the caller comes back for the rest). Between
// slices a waiting merge or unmerge takes the lock (waiters queue in order), so a
// long backfill keeps a triager's merge waiting a slice, not the whole pass.
func (p *Pipeline) clusterSlice(ctx context.Context, rep *ClusterReport) (bool, error) {
	unlock, err := p.lockClustering(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	// Another instance's merge or unmerge moved items this state does not know about,
	// or another process clustered items it does not hold (a CLI run beside serve,
	// another instance): start again from the database, as a restart would.
	version, err := p.Store.MembershipVersion(ctx, 0)
	if err != nil {
		return false, err
	}
	clustered, err := p.Store.ClusteringVersion(ctx)
	if err != nil {
		return false, err
	}
	p.dedupOnce.Lock()
	if p.dd != nil && (p.dd.version.Load() != version || p.dd.clustered.Load() != clustered) {
		p.dd = nil
	}
	p.dedupOnce.Unlock()
	d, err := p.dedupState(ctx)
	if err != nil {
		return false, err
	}
	items, err := p.Store.UnclusteredItems(ctx, chunkSize)
	if err != nil {
		return false, err
	}
	var deadline time.Time
	switch {
	case p.sliceTime == 0:
		deadline = time.Now().Add(defaultSliceTime)
	case p.sliceTime > 0:
		deadline = time.Now().Add(p.sliceTime)
	}
	more, err := p.clusterChunks(ctx, d, items, rep, deadline)
	if err == nil {
		// The slice's own writes are in the state, and under the lock nobody else's:
		// record where the state stands.
		clustered, err = p.Store.ClusteringVersion(ctx)
		d.clustered.Store(clustered)
	}
	if err != nil {
		p.ResetIndex()
		return false, err
	}
	return more, nil
}

// defaultSliceTime is how long a clustering pass holds the clustering lock before it
// lets a waiting merge in (see clusterSlice).
const defaultSliceTime = 2 * time.Second

// chunkSize is how many items one chunk of a clustering pass takes.
const chunkSize = 500

// clusterChunks clusters items and every unclustered item after them, chunk by
// chunk, until none is left, or until deadline (when not zero) has passed at the end
// of a chunk: then it stores what it decided and returns true. On error it returns
// only once no transaction of its own is running; the caller then drops the
// in-memory state.
func (p *Pipeline) clusterChunks(ctx context.Context, d *dedup, items []feedback.Item, rep *ClusterReport, deadline time.Time) (more bool, err error) {
	var ch *chunk       // the chunk to decide next
	var inFlight *write // the chunk decided before ch, being written
	var written map[int64]int64
	defer func() {
		if ch != nil {
			ch.stopAnalysis()
		}
		if inFlight != nil {
			<-inFlight.done
		}
	}()
	if len(items) > 0 {
		if ch, err = p.prepareChunk(ctx, d, items, nil); err != nil {
			return false, err
		}
	}
	for ch != nil {
		if err := p.decideChunk(ctx, d, ch, rep); err != nil {
			return false, err
		}
		// The chunk before must be stored before this one is; its clusters' store
		// ids replace their temporary ids in the state, this chunk's decisions
		// included.
		if written, err = d.land(inFlight, ch); err != nil {
			return false, err
		}
		inFlight = nil
		decided := ch
		ch = nil
		if p.serialClustering {
			if _, err = d.land(p.startWrite(ctx, decided, written), nil); err != nil {
				return false, err
			}
			decided = nil
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			// The slice is over: store what was decided, and let a waiting move in.
			if decided != nil {
				if _, err = d.land(p.startWrite(ctx, decided, written), nil); err != nil {
					return false, err
				}
			}
			return true, nil
		}
		// The next chunk is read, with the stored references naming its items,
		// before the decided one is written: on SQLite the transaction holds the one
		// connection.
		if items, err = p.Store.UnclusteredItems(ctx, chunkSize, decided.itemIDs()...); err != nil {
			return false, err
		}
		if len(items) > 0 {
			if ch, err = p.prepareChunk(ctx, d, items, decided); err != nil {
				return false, err
			}
		}
		if decided == nil {
			continue
		}
		inFlight = p.startWrite(ctx, decided, written)
		if ch == nil {
			// Nothing after it: store it, then look again for items that arrived
			// meanwhile with an earlier time than the chunk's.
			_, err = d.land(inFlight, nil)
			inFlight = nil
			if err != nil {
				return false, err
			}
			if items, err = p.Store.UnclusteredItems(ctx, chunkSize); err != nil {
				return false, err
			}
			if len(items) > 0 {
				if ch, err = p.prepareChunk(ctx, d, items, nil); err != nil {
					return false, err
				}
			}
		}
	}
	return false, nil
}

// pendingItem is what clustering decided for one item of a chunk, not yet stored.
type pendingItem struct {
	it   feedback.Item
	refs []feedback.Ref // the item's references, replacing the stored ones
	// cluster is the item's cluster: a store id, or the temporary (negative) id of a
	// cluster this chunk or the chunk before it creates.
	cluster int64
	// create is the cluster this item starts (nil: it joins one).
	create *feedback.Cluster
	// link builds the link once the chunk's new clusters have store ids.
	link func(remap func(int64) int64) feedback.ClusterLink
}

// chunk is the clustering state of one chunk of items that the database does not
// know yet: their clusters and their references.
type chunk struct {
	items  []*pendingItem
	byItem map[int64]*pendingItem
	byRef  map[string][]int64 // reference value → chunk items carrying it, in order
	// stored maps each of the chunk items' keys (and their forms without angle
	// brackets) to the items whose references carry it: stored references, read once
	// per chunk, and the pending ones of the chunk before (prev).
	stored map[string][]int64
	// prev is the chunk decided before this one while it may still be being
	// written (nil once it is stored): its items count with their pending clusters.
	prev *chunk

	// todo are the chunk's items, analyzed by worker goroutines into an; ready[i]
	// is closed when an[i] is set.
	todo  []feedback.Item
	an    []analysis
	ready []chan struct{}
	stop  atomic.Bool
	wg    sync.WaitGroup
}

// analysis is what clustering needs from an item's text alone.
type analysis struct {
	doc  normalize.Doc
	refs []feedback.Ref // references the item makes, its own keys left out
	err  error
}

func (ch *chunk) itemIDs() []int64 {
	if ch == nil {
		return nil
	}
	ids := make([]int64, len(ch.items))
	for i, pe := range ch.items {
		ids[i] = pe.it.ID
	}
	return ids
}

// pending returns the pending decision for an item of this chunk (decided so far)
// or of the chunk before it.
func (ch *chunk) pending(item int64) (*pendingItem, bool) {
	if pe, ok := ch.byItem[item]; ok {
		return pe, true
	}
	if ch.prev != nil {
		pe, ok := ch.prev.byItem[item]
		return pe, ok
	}
	return nil, false
}

// prepareChunk reads the stored references naming the items and starts analyzing
// them. prev is the chunk decided before, not stored yet (nil when it is): its
// items' stored references are replaced by their pending ones.
func (p *Pipeline) prepareChunk(ctx context.Context, d *dedup, items []feedback.Item, prev *chunk) (*chunk, error) {
	for _, it := range items {
		d.noteKey(it.ExternalID)
	}
	ch := &chunk{byItem: map[int64]*pendingItem{}, byRef: map[string][]int64{}, stored: map[string][]int64{}, prev: prev}
	var values []string
	seen := map[string]bool{}
	for _, it := range items {
		for _, v := range keyValues(it) {
			if !seen[v] {
				seen[v] = true
				values = append(values, v)
			}
		}
	}
	refs, err := p.Store.RefsWithValues(ctx, values)
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		if _, pending := prev.byItemOK(r.ItemID); !pending {
			ch.stored[r.Value] = append(ch.stored[r.Value], r.ItemID)
		}
	}
	if prev != nil {
		for _, pe := range prev.items {
			for _, r := range pe.refs {
				if seen[r.Value] {
					ch.stored[r.Value] = append(ch.stored[r.Value], pe.it.ID)
				}
			}
		}
	}
	p.startAnalysis(d, ch, items)
	return ch, nil
}

// byItemOK is byItem on a chunk that may be nil.
func (ch *chunk) byItemOK(item int64) (*pendingItem, bool) {
	if ch == nil {
		return nil, false
	}
	pe, ok := ch.byItem[item]
	return pe, ok
}

// startAnalysis analyzes items in worker goroutines, in order, ahead of decideChunk.
func (p *Pipeline) startAnalysis(d *dedup, ch *chunk, items []feedback.Item) {
	projects := d.jiraProjects()
	ch.todo = items
	ch.an = make([]analysis, len(items))
	ch.ready = make([]chan struct{}, len(items))
	for i := range ch.ready {
		ch.ready[i] = make(chan struct{})
	}
	var next atomic.Int64
	workers := min(max(runtime.GOMAXPROCS(0)-1, 1), len(items))
	ch.wg.Add(workers)
	for range workers {
		go func() {
			defer ch.wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(items) {
					return
				}
				if !ch.stop.Load() {
					ch.an[i] = p.analyzeItem(d, items[i], projects)
				}
				close(ch.ready[i])
			}
		}()
	}
}

// stopAnalysis stops the workers of a chunk that will not be decided to the end and
// waits for them.
func (ch *chunk) stopAnalysis() {
	ch.stop.Store(true)
	ch.wg.Wait()
}

// analyzeItem analyzes one item; a panic becomes the item's error, so the pass
// fails as it would have had the analysis run on its own goroutine.
func (p *Pipeline) analyzeItem(d *dedup, it feedback.Item, projects []string) (a analysis) {
	defer func() {
		if r := recover(); r != nil {
			a = analysis{err: fmt.Errorf("cluster item %d: analyze: panic: %v", it.ID, r)}
		}
	}()
	if p.analyzeHook != nil {
		p.analyzeHook(it)
	}
	refs := normalize.ExtractRefs(it.Title+"\n"+it.Body, normalize.RefOptions{JiraProjects: projects, NoURLs: true})
	for _, r := range refs {
		if !isOwnKey(it, r) {
			a.refs = append(a.refs, r)
		}
	}
	a.doc = d.doc(it)
	return a
}

// decideChunk decides the chunk's items in order.
func (p *Pipeline) decideChunk(ctx context.Context, d *dedup, ch *chunk, rep *ClusterReport) error {
	defer ch.stopAnalysis()
	for i, it := range ch.todo {
		select {
		case <-ch.ready[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if ch.an[i].err != nil {
			return ch.an[i].err
		}
		pe, err := p.clusterItem(ctx, d, ch, it, ch.an[i], rep)
		if err != nil {
			return err
		}
		ch.an[i] = analysis{} // the index keeps what it needs
		ch.items = append(ch.items, pe)
		ch.byItem[it.ID] = pe
		rep.Items++
	}
	ch.todo, ch.an, ch.ready = nil, nil, nil
	return nil
}

// write is a chunk's transaction, running on its own goroutine.
type write struct {
	ch   *chunk
	done chan struct{}
	// ids maps the temporary ids of the clusters the chunk created to their store
	// ids; set with err before done is closed.
	ids map[int64]int64
	err error
}

// startWrite stores a decided chunk in one transaction on a new goroutine. before
// holds the store ids of the clusters the chunk before it created (its decisions
// may name them by their temporary ids).
func (p *Pipeline) startWrite(ctx context.Context, ch *chunk, before map[int64]int64) *write {
	w := &write{ch: ch, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer func() {
			if r := recover(); r != nil {
				w.ids, w.err = nil, fmt.Errorf("cluster: write chunk: panic: %v", r)
			}
		}()
		w.ids, w.err = p.writeChunk(ctx, ch, before)
	}()
	return w
}

// writeChunk stores a chunk's references, new clusters and links in one
// transaction and returns the store ids of the clusters it created.
func (p *Pipeline) writeChunk(ctx context.Context, ch *chunk, before map[int64]int64) (map[int64]int64, error) {
	ids := map[int64]int64{} // temporary id → store id
	var unknown []int64      // temporary ids used before their cluster was stored (a bug)
	remap := func(id int64) int64 {
		if id >= 0 {
			return id
		}
		if sid, ok := ids[id]; ok {
			return sid
		}
		if sid, ok := before[id]; ok {
			return sid
		}
		unknown = append(unknown, id)
		return 0
	}
	err := p.Store.ClusterBatch(ctx, func(b *store.ClusterTx) error {
		for _, pe := range ch.items {
			if err := b.ReplaceRefs(pe.it.ID, pe.refs); err != nil {
				return err
			}
			if pe.create != nil {
				id, err := b.CreateCluster(*pe.create)
				if err != nil {
					return err
				}
				ids[pe.cluster] = id
			}
			l := pe.link(remap)
			if len(unknown) > 0 {
				return fmt.Errorf("cluster item %d: temporary cluster ids %v have no store id", pe.it.ID, unknown)
			}
			if err := b.LinkItem(l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// land waits for w (nil: nothing to wait for) and, once its chunk is stored, gives
// the clusters it created their store ids in the state: every member, including the
// items of next (the chunk decided after it) that joined them. It returns those ids.
func (d *dedup) land(w *write, next *chunk) (map[int64]int64, error) {
	if w == nil {
		return nil, nil
	}
	<-w.done
	if w.err != nil {
		return nil, w.err
	}
	for tmp, id := range w.ids {
		for _, m := range d.cl.Members(tmp) {
			d.cl.Assign(m, id)
		}
	}
	for _, pe := range w.ch.items {
		c := pe.cluster
		if id, ok := w.ids[c]; ok {
			c = id
		}
		d.known[c] = true
	}
	if next != nil {
		for _, pe := range next.items {
			if id, ok := w.ids[pe.cluster]; ok {
				pe.cluster = id
			}
		}
		next.prev = nil
	}
	return w.ids, nil
}

// remapSuggestions returns the suggestions with store cluster ids (nil stays nil).
func remapSuggestions(in []normalize.Suggestion, remap func(int64) int64) []normalize.Suggestion {
	if in == nil {
		return nil
	}
	out := make([]normalize.Suggestion, len(in))
	for i, s := range in {
		s.ClusterID = remap(s.ClusterID)
		out[i] = s
	}
	return out
}

// remapIDs returns the cluster ids as store ids (nil stays nil).
func remapIDs(in []int64, remap func(int64) int64) []int64 {
	if in == nil {
		return nil
	}
	out := make([]int64, len(in))
	for i, id := range in {
		out[i] = remap(id)
	}
	return out
}

func (p *Pipeline) clusterItem(ctx context.Context, d *dedup, ch *chunk, it feedback.Item, a analysis, rep *ClusterReport) (*pendingItem, error) {
	own := a.refs
	pe := &pendingItem{it: it, refs: own}
	for _, r := range own {
		if ids := ch.byRef[r.Value]; len(ids) == 0 || ids[len(ids)-1] != it.ID {
			ch.byRef[r.Value] = append(ids, it.ID)
		}
	}
	dec := d.cl.Process(a.doc)
	// References beat text: they are what people wrote to say "this is that".
	if target, via, ok, err := p.referencedCluster(ctx, d, ch, it, own); err != nil {
		return nil, err
	} else if ok {
		d.cl.Assign(it.ID, target)
		rep.Linked["reference"]++
		pe.cluster = target
		pe.link = func(remap func(int64) int64) feedback.ClusterLink {
			detail, _ := json.Marshal(map[string]any{"evidence": "reference", "reference": via, "text_candidates": remapSuggestions(dec.Suggestions, remap)})
			return feedback.ClusterLink{ClusterID: remap(target), ItemID: it.ID, Evidence: "reference", Score: 1, Detail: string(detail)}
		}
		return pe, nil
	}
	if dec.Action == normalize.ActionLink {
		exists := dec.ClusterID < 0 || d.known[dec.ClusterID]
		if !exists {
			if _, err := p.Store.Cluster(ctx, dec.ClusterID); err == nil {
				exists = true
				d.known[dec.ClusterID] = true
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		if exists {
			rep.Linked[string(dec.Evidence)]++
			pe.cluster = dec.ClusterID
			l := feedback.ClusterLink{ClusterID: dec.ClusterID, ItemID: it.ID, Evidence: string(dec.Evidence), Score: dec.Score, Detail: dec.DetailJSON()}
			pe.link = func(remap func(int64) int64) feedback.ClusterLink {
				l.ClusterID = remap(l.ClusterID)
				return l
			}
			return pe, nil
		}
	}
	pe.cluster = -it.ID
	pe.create = &feedback.Cluster{Title: it.Title, Category: it.Category, Severity: it.Severity,
		Owner: it.Owner, FirstSeen: it.CreatedAt, LastSeen: it.UpdatedAt}
	d.cl.Assign(it.ID, pe.cluster)
	rep.NewClusters++
	evidence := "new"
	if dec.Action == normalize.ActionSuggest {
		evidence = "new (suggestions)"
		rep.Suggested++
	}
	pe.link = func(remap func(int64) int64) feedback.ClusterLink {
		detail, _ := json.Marshal(map[string]any{"evidence": evidence, "suggestions": remapSuggestions(dec.Suggestions, remap),
			"blocked": remapIDs(dec.Blocked, remap)})
		return feedback.ClusterLink{ClusterID: remap(pe.cluster), ItemID: it.ID, Evidence: "new", Score: dec.Score, Detail: string(detail)}
	}
	return pe, nil
}

// keyValues are the reference values that name an item: its keys, and the keys
// without angle brackets (references store Message-IDs without them).
func keyValues(it feedback.Item) []string {
	var values []string
	for _, k := range itemKeys(it) {
		values = append(values, k, strings.Trim(k, "<>"))
	}
	return values
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
// that points at this one, respecting never-merge constraints. The items of ch that
// were decided before count with their pending clusters and references.
func (p *Pipeline) referencedCluster(ctx context.Context, d *dedup, ch *chunk, it feedback.Item, refs []feedback.Ref) (int64, string, bool, error) {
	try := func(other feedback.Item, via string) (int64, string, bool) {
		if pe, ok := ch.pending(other.ID); ok {
			c := pe.cluster
			other.ClusterID = &c
		}
		if other.ID == it.ID || other.ClusterID == nil || other.Deleted {
			return 0, "", false
		}
		// The clusterer holds every never-merge constraint and the membership the
		// pass has decided so far (loaded with the state, added to by this
		// instance's unmerges; another instance's make the pass rebuild; no move runs
		// during a pass).
		if !d.cl.Allowed(it.ID, *other.ClusterID) {
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
	values := keyValues(it)
	// The items whose stored references name this item (read for the whole chunk
	// before it was decided: nothing the chunk writes is stored yet), except the
	// items decided earlier in this chunk, whose pending references replace them.
	var ids []int64
	for _, v := range values {
		for _, id := range ch.stored[v] {
			if _, pending := ch.byItem[id]; !pending {
				ids = append(ids, id)
			}
		}
	}
	for _, v := range values {
		for _, id := range ch.byRef[v] {
			if _, pending := ch.byItem[id]; pending || id == it.ID {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
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
