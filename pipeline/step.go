package pipeline

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// StepReport is what one pass of the loop after intake did.
type StepReport struct {
	Process  ProcessReport  `json:"process"`
	Items    ClassifyReport `json:"classify_items"`
	Cluster  ClusterReport  `json:"cluster"`
	Clusters ClassifyReport `json:"classify_clusters"`
	SLA      int            `json:"sla_started"`
	// AutoAccept lists the new clusters the rules want accepted, with the sync target
	// and the rule that asked.
	AutoAccept []AutoAccept `json:"auto_accept,omitempty"`
}

// AutoAccept is a cluster the rules want accepted into a sync target.
type AutoAccept struct {
	ClusterID int64  `json:"cluster_id"`
	Target    string `json:"target"`
	Rule      string `json:"rule"`
	Actor     string `json:"actor"` // rule:NAME@HASH
}

// Step runs everything after intake once: records → items, item rules, clustering,
// cluster rules, and SLA clocks for clusters that have none yet. It is idempotent:
// a second run with nothing new does nothing.
func (p *Pipeline) Step(ctx context.Context, engine *triage.Engine) (StepReport, error) {
	var rep StepReport
	var err error
	if rep.Process, err = p.Process(ctx); err != nil {
		return rep, err
	}
	if rep.Items, err = p.ClassifyItems(ctx); err != nil {
		return rep, err
	}
	if rep.Cluster, err = p.Cluster(ctx); err != nil {
		return rep, err
	}
	hash := ""
	if p.Rules != nil {
		hash = p.Rules.Current().Hash
	}
	since, started := p.passStart(hash), p.Store.Now()
	r, autos, err := p.ClassifyClusters(ctx, since)
	rep.Clusters = r
	if err != nil {
		return rep, err
	}
	for id, res := range autos {
		aa := AutoAccept{ClusterID: id, Target: res.AutoAccept, Actor: "rule:" + res.Route + "@" + res.RulesVersion}
		for _, e := range res.Effects {
			if e.Field == "auto_accept" {
				aa.Actor, aa.Rule = e.Actor, e.Rule
			}
		}
		rep.AutoAccept = append(rep.AutoAccept, aa)
	}
	sort.Slice(rep.AutoAccept, func(i, j int) bool { return rep.AutoAccept[i].ClusterID < rep.AutoAccept[j].ClusterID })
	if engine != nil {
		if err := p.ruleClockEvents(ctx, engine, r.Changed); err != nil {
			return rep, err
		}
		if rep.SLA, err = p.StartSLAs(ctx, engine, since); err != nil {
			return rep, err
		}
	}
	p.passDone(hash, started)
	return rep, nil
}

// replyLookback is how many message ids below its mark StartSLAs looks at again on
// PostgreSQL (see there).
const replyLookback = 200

// StartSLAs starts the SLA clocks of open clusters that have none, from the time their
// first feedback arrived, timed for the most demanding partner tier among their items.
// Only clusters updated at or after since are looked at (zero: all). Clusters are
// taken 500 at a time: one query finds which have SLA events, one reads the partners
// of the others' items, and their start events are appended in one transaction.
func (p *Pipeline) StartSLAs(ctx context.Context, engine *triage.Engine, since time.Time) (int, error) {
	clusters, err := p.Store.Clusters(ctx, store.ClusterFilter{NonEmpty: true, UpdatedSince: since, Limit: 100000})
	if err != nil {
		return 0, err
	}
	// A partner's reply on a thread changes no cluster, yet it is partner activity:
	// the clusters of replies stored since the last look are taken too.
	p.replyMu.Lock()
	defer p.replyMu.Unlock()
	after := p.replyMark
	if p.Store.Location().Dialect == store.Postgres {
		// PostgreSQL hands out ids at INSERT and transactions commit in any order:
		// a reply whose id is below the mark may commit after it was set. Looking
		// back again is harmless (a clock already running is not started twice).
		after = max(0, after-replyLookback)
	}
	replied, upTo, err := p.Store.ClustersWithPartnerReplies(ctx, after)
	if err != nil {
		return 0, err
	}
	if !since.IsZero() {
		have := make(map[int64]bool, len(clusters))
		for _, c := range clusters {
			have[c.ID] = true
		}
		replied = slices.DeleteFunc(replied, func(id int64) bool { return have[id] })
		for ids := range slices.Chunk(replied, 500) {
			more, err := p.Store.Clusters(ctx, store.ClusterFilter{IDs: ids, NonEmpty: true, Limit: len(ids)})
			if err != nil {
				return 0, err
			}
			clusters = append(clusters, more...)
		}
	}
	var open []feedback.Cluster
	for _, c := range clusters {
		if !triage.IsTerminal(c.Status) {
			open = append(open, c)
		}
	}
	partners := p.partnerMap()
	n := 0
	for chunk := range slices.Chunk(open, 500) {
		started, err := p.Store.ClustersWithSLAEvents(ctx, clusterIDs(chunk))
		if err != nil {
			return n, err
		}
		var todo, running []feedback.Cluster
		for _, c := range chunk {
			if !started[c.ID] {
				todo = append(todo, c)
			} else {
				running = append(running, c)
			}
		}
		if err := p.partnerActivity(ctx, engine, running); err != nil {
			return n, err
		}
		if len(todo) == 0 {
			continue
		}
		members, err := p.Store.ClusterPartners(ctx, clusterIDs(todo))
		if err != nil {
			return n, err
		}
		var evs []store.SLAEvent
		k := 0
		for _, c := range todo {
			tier := tierOf(members[c.ID], partners)
			ce, err := engine.ClockEvents(nil, triage.ClusterChange{After: c, Tier: tier, At: c.FirstSeen, Actor: "system"})
			if err != nil {
				return n, err
			}
			evs = append(evs, ce...)
			if len(ce) > 0 {
				k++
			}
		}
		if err := p.Store.AppendSLAEvents(ctx, evs); err != nil {
			return n, err
		}
		n += k
	}
	p.replyMark = max(p.replyMark, upTo) // every cluster a reply touched was looked at
	return n, nil
}

// ruleClockEvents applies to running SLA clocks what the cluster rules changed: a
// severity a rule raised or lowered retimes the targets, and a pause label a rule
// added or removed pauses or resumes the clocks. Clusters whose clocks have not
// started yet start with the rules' result (StartSLAs). Rules are not people, so
// nothing here counts as a response.
func (p *Pipeline) ruleClockEvents(ctx context.Context, engine *triage.Engine, changed []RuleChange) error {
	if len(changed) == 0 {
		return nil
	}
	byID := make(map[int64]RuleChange, len(changed))
	ids := make([]int64, 0, len(changed))
	for _, ch := range changed {
		byID[ch.After.ID] = ch
		ids = append(ids, ch.After.ID)
	}
	started, err := p.Store.ClustersWithSLAEvents(ctx, ids)
	if err != nil {
		return err
	}
	ids = slices.DeleteFunc(ids, func(id int64) bool { return !started[id] })
	return p.appendClockEvents(ctx, engine, ids, func(id int64, log []store.SLAEvent, tier string) (triage.ClusterChange, bool) {
		ch := byID[id]
		at := p.Clock.Now()
		if n := len(log); n > 0 && at.Before(log[n-1].At) {
			at = log[n-1].At // never before what the log already holds (backdated items)
		}
		return triage.ClusterChange{Before: &ch.Before, After: ch.After, Tier: tier, Actor: ch.Actor, At: at}, true
	})
}

// partnerActivity starts next_response on clusters (whose clocks run already, and
// that changed since the last pass) where a partner's item joined after the last
// response: new feedback from a partner, a new item or a reply on one of the
// cluster's threads, wants an answer again.
func (p *Pipeline) partnerActivity(ctx context.Context, engine *triage.Engine, cs []feedback.Cluster) error {
	if len(cs) == 0 {
		return nil
	}
	latest, err := p.Store.ClusterPartnerActivity(ctx, clusterIDs(cs))
	if err != nil {
		return err
	}
	byID := make(map[int64]feedback.Cluster, len(cs))
	var ids []int64
	for _, c := range cs {
		if _, ok := latest[c.ID]; ok {
			byID[c.ID] = c
			ids = append(ids, c.ID)
		}
	}
	return p.appendClockEvents(ctx, engine, ids, func(id int64, log []store.SLAEvent, tier string) (triage.ClusterChange, bool) {
		var answered time.Time // the last response: a response clock stopped
		for _, e := range log {
			if e.Kind == triage.EventStop && (e.Metric == triage.MetricFirstResponse || e.Metric == triage.MetricNextResponse) && e.At.After(answered) {
				answered = e.At
			}
		}
		at := latest[id]
		if answered.IsZero() || !at.After(answered) {
			return triage.ClusterChange{}, false
		}
		c := byID[id]
		return triage.ClusterChange{Before: &c, After: c, Tier: tier, PartnerActivity: true, At: at, Actor: "system"}, true
	})
}

// appendClockEvents appends, in one transaction, the clock events of a change to
// each of the clusters: change sees the cluster's SLA log and partner tier, and says
// what changed (false: nothing).
func (p *Pipeline) appendClockEvents(ctx context.Context, engine *triage.Engine, ids []int64,
	change func(id int64, log []store.SLAEvent, tier string) (triage.ClusterChange, bool)) error {
	if len(ids) == 0 {
		return nil
	}
	members, err := p.Store.ClusterPartners(ctx, ids)
	if err != nil {
		return err
	}
	partners := p.partnerMap()
	var evs []store.SLAEvent
	for _, id := range ids {
		log, err := p.Store.SLAEvents(ctx, id)
		if err != nil {
			return err
		}
		ch, ok := change(id, log, tierOf(members[id], partners))
		if !ok {
			continue
		}
		ce, err := engine.ClockEvents(log, ch)
		if err != nil {
			return err
		}
		evs = append(evs, ce...)
	}
	return p.Store.AppendSLAEvents(ctx, evs)
}

func clusterIDs(cs []feedback.Cluster) []int64 {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// tierOf is the tier for a cluster whose items' partners are ps, oldest item first:
// design-partner if any item has it, else the first configured tier found.
func tierOf(ps []string, partners map[string]feedback.Partner) string {
	tier := ""
	for _, id := range ps {
		pt, ok := partners[id]
		if !ok || pt.Tier == "" {
			continue
		}
		if pt.Tier == "design-partner" || tier == "" {
			tier = pt.Tier
		}
	}
	return tier
}
