package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/triage"
)

// Decide applies a triage decision and, for merges and unmerges, moves the items:
// merging cluster A into B moves every item of A into B (evidence "manual", linked by
// the actor); unmerging item:ID moves the item to a new cluster of its own and records
// a never-merge constraint against every item it leaves, which every later clustering
// run respects (also after a rebuild).
//
// Merges and unmerges wait for the running slice of a clustering pass (at most
// about defaultSliceTime, or ctx), and the pass's next slice for them: a chunk
// decided before a move and stored after it would put items back in the cluster the
// move emptied.
func (p *Pipeline) Decide(ctx context.Context, svc *triage.Service, r triage.Request) (triage.Change, error) {
	if r.Action == feedback.ActionMerge || r.Action == feedback.ActionUnmerge {
		unlock, err := p.lockClustering(ctx)
		if err != nil {
			return triage.Change{}, err
		}
		defer unlock()
	}
	if strings.HasPrefix(r.Target, "item:") {
		return p.unmergeItem(ctx, r)
	}
	var into int64
	if r.Action == feedback.ActionMerge {
		// Check the surviving cluster before anything is written: a merge into a
		// missing or merged-away cluster must change nothing.
		into, _ = triage.ParseClusterTarget(r.Value)
		from, _ := triage.ParseClusterTarget(r.Target)
		c, err := p.Store.Cluster(ctx, into)
		if err != nil {
			return triage.Change{}, fmt.Errorf("merge into cluster %d: %w", into, err)
		}
		if c.Status == feedback.StatusMerged {
			return triage.Change{}, fmt.Errorf("merge into cluster %d: it was itself merged away; merge into the cluster it went to", into)
		}
		if into == from {
			return triage.Change{}, fmt.Errorf("merge cluster %d into itself", into)
		}
	}
	ch, err := svc.Decide(ctx, r)
	if err != nil {
		return ch, err
	}
	if r.Action == feedback.ActionMerge {
		if err := p.moveItems(ctx, ch.After.ID, into, r.Actor, ch.Decision.ID); err != nil {
			return ch, err
		}
	}
	return ch, nil
}

func (p *Pipeline) moveItems(ctx context.Context, from, into int64, actor string, decisionID int64) error {
	d, err := p.dedupState(ctx)
	if err != nil {
		return err
	}
	items, err := p.Store.ClusterItems(ctx, from)
	if err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]any{"evidence": "manual", "merged_from": from, "decision": decisionID})
	for _, it := range items {
		if err := p.Store.LinkItem(ctx, feedback.ClusterLink{ClusterID: into, ItemID: it.ID, Evidence: "manual", Score: 1, Detail: string(detail), LinkedBy: actor}); err != nil {
			return err
		}
		d.cl.Assign(it.ID, into)
	}
	p.ownMove(ctx, d, decisionID)
	return nil
}

// ownMove records that this process applied the move of decision id to its own
// clustering state, so its next pass need not rebuild, unless another instance moved
// items since the state was loaded (then the rebuild must happen).
func (p *Pipeline) ownMove(ctx context.Context, d *dedup, id int64) {
	prev, err := p.Store.MembershipVersion(ctx, id)
	if err == nil && prev == d.version.Load() {
		d.version.CompareAndSwap(prev, id)
	}
}

func (p *Pipeline) unmergeItem(ctx context.Context, r triage.Request) (triage.Change, error) {
	itemID, err := strconv.ParseInt(strings.TrimPrefix(r.Target, "item:"), 10, 64)
	if err != nil || itemID <= 0 {
		return triage.Change{}, fmt.Errorf("bad item target %q (want item:ID)", r.Target)
	}
	it, err := p.Store.Item(ctx, itemID)
	if err != nil {
		return triage.Change{}, err
	}
	if it.ClusterID == nil {
		return triage.Change{}, fmt.Errorf("item %d is in no cluster", itemID)
	}
	from := *it.ClusterID
	dec, err := triage.DecideItem(itemID, from, r, p.Clock.Now())
	if err != nil {
		return triage.Change{}, err
	}
	if r.Action != feedback.ActionUnmerge {
		id, err := p.Store.AppendDecision(ctx, dec)
		dec.ID = id
		return triage.Change{Decision: dec}, err
	}
	d, err := p.dedupState(ctx)
	if err != nil {
		return triage.Change{}, err
	}
	members, err := p.Store.ClusterItems(ctx, from)
	if err != nil {
		return triage.Change{}, err
	}
	if len(members) < 2 {
		return triage.Change{}, fmt.Errorf("item %d is alone in cluster %d: nothing to unmerge from", itemID, from)
	}
	newID, err := p.Store.CreateCluster(ctx, feedback.Cluster{Title: it.Title, Category: it.Category, Severity: it.Severity, Owner: it.Owner,
		FirstSeen: it.CreatedAt, LastSeen: it.UpdatedAt})
	if err != nil {
		return triage.Change{}, err
	}
	dec.After = triage.ClusterTarget(newID)
	id, err := p.Store.AppendDecision(ctx, dec)
	if err != nil {
		return triage.Change{}, err
	}
	dec.ID = id
	for _, m := range members {
		if m.ID == itemID {
			continue
		}
		if err := p.Store.AddNeverMerge(ctx, itemID, m.ID, id); err != nil {
			return triage.Change{}, err
		}
		d.cl.NeverMerge(itemID, m.ID)
	}
	detail, _ := json.Marshal(map[string]any{"evidence": "manual", "unmerged_from": from, "decision": id})
	if err := p.Store.LinkItem(ctx, feedback.ClusterLink{ClusterID: newID, ItemID: itemID, Evidence: "manual", Score: 1, Detail: string(detail), LinkedBy: r.Actor}); err != nil {
		return triage.Change{}, err
	}
	d.cl.Assign(itemID, newID)
	p.ownMove(ctx, d, id)
	return triage.Change{Decision: dec}, nil
}

// ResetIndex drops the in-memory clustering state so the next pass rebuilds it from
// the database (what a restart does).
func (p *Pipeline) ResetIndex() {
	p.dedupOnce.Lock()
	p.dd = nil
	p.dedupOnce.Unlock()
}
