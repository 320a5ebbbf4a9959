package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/rules"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// ClassifyReport counts what a classification pass did.
type ClassifyReport struct {
	Items     int `json:"items"`
	Clusters  int `json:"clusters"`
	Decisions int `json:"decisions"`
	Ignored   int `json:"ignored"`
	Errors    int `json:"errors"`
	// Changed lists the clusters the cluster rules changed, for the SLA clocks.
	Changed []RuleChange `json:"-"`
}

// RuleChange is a cluster before and after the cluster rules, and the rule actor.
type RuleChange struct {
	Before, After feedback.Cluster
	Actor         string
}

// fieldAction maps a rules field to the decision action that records a change of it.
var fieldAction = map[string]feedback.Action{
	rules.FieldCategory: feedback.ActionCategory,
	rules.FieldSeverity: feedback.ActionSeverity,
	rules.FieldOwner:    feedback.ActionAssign,
	rules.FieldLabels:   feedback.ActionLabel,
}

// ClassifyItems runs the item rules on every item not classified yet (no category)
// and stores category, severity, owner and labels. Items whose rules set no category
// get "other", so each item is classified once; `rules replay` re-evaluates.
func (p *Pipeline) ClassifyItems(ctx context.Context) (ClassifyReport, error) {
	var rep ClassifyReport
	if p.Rules == nil {
		return rep, nil
	}
	set := p.Rules.Current()
	partners := p.partnerMap()
	var after int64
	for {
		items, err := p.Store.ItemsAfter(ctx, after, 1000)
		if err != nil {
			return rep, err
		}
		if len(items) == 0 {
			return rep, nil
		}
		after = items[len(items)-1].ID
		for i := range items {
			it := &items[i]
			if it.Category != "" || it.Deleted {
				continue
			}
			res := set.EvalItem(rules.NewItemEnv(rules.ItemInputFrom(it, partnerPtr(partners, it.Partner), nil)), nil)
			rep.Items++
			rep.Errors += len(res.Errors)
			for _, e := range res.Errors {
				p.Logger.Warn("rule failed on item; skipped", "item", it.ID, "rule", e.Rule, "err", e.Err)
			}
			cat := res.Category
			if cat == "" {
				cat = feedback.CategoryOther
			}
			labels := mergeLabels(it.Labels, res.Labels)
			if res.Ignored {
				rep.Ignored++
				labels = mergeLabels(labels, []string{"ignored"})
			}
			if err := p.Store.ClassifyItem(ctx, it.ID, store.ItemClassification{Category: cat, Severity: res.Severity, Owner: res.Owner, Labels: labels}); err != nil {
				return rep, err
			}
		}
	}
}

// ClassifyClusters runs the cluster rules on every open cluster and applies what
// changed: category, severity, owner and labels, each change logged as a decision by
// the rule (rule:NAME@HASH) that caused it. Fields a person decided are never
// overridden. It returns the clusters whose result asks for an auto-accept.
// Only clusters updated at or after since are evaluated (zero: all).
func (p *Pipeline) ClassifyClusters(ctx context.Context, since time.Time) (ClassifyReport, map[int64]rules.Result, error) {
	var rep ClassifyReport
	autos := map[int64]rules.Result{}
	if p.Rules == nil {
		return rep, autos, nil
	}
	set := p.Rules.Current()
	partners := p.partnerMap()
	clusters, err := p.Store.Clusters(ctx, store.ClusterFilter{NonEmpty: true, UpdatedSince: since, Limit: 100000})
	if err != nil {
		return rep, autos, err
	}
	for _, c := range clusters {
		if triage.IsTerminal(c.Status) || c.Status == feedback.StatusMerged {
			continue
		}
		items, err := p.Store.ClusterItems(ctx, c.ID)
		if err != nil {
			return rep, autos, err
		}
		decided, err := p.humanDecided(ctx, c.ID)
		if err != nil {
			return rep, autos, err
		}
		in := c
		if !decided[rules.FieldCategory] {
			in.Category = ""
		}
		res := set.EvalCluster(rules.NewClusterEnv(rules.ClusterInputFrom(&in, items, partners)), decided)
		rep.Clusters++
		rep.Errors += len(res.Errors)
		after := c
		if !decided[rules.FieldCategory] && res.Category != "" {
			after.Category = res.Category
		}
		if !decided[rules.FieldSeverity] && res.Severity != "" {
			after.Severity = res.Severity
		}
		if !decided[rules.FieldOwner] && res.Owner != "" {
			after.Owner = res.Owner
		}
		if !decided[rules.FieldLabels] {
			// Rules own a cluster's labels: recomputed each pass, so a cluster that
			// stops being a one-off loses that label.
			after.Labels = res.Labels
		}
		if res.AutoAccept != "" && c.Status == feedback.StatusNew {
			autos[c.ID] = res
		}
		changes := diffCluster(c, after)
		if len(changes) == 0 {
			continue
		}
		if err := p.Store.UpdateCluster(ctx, after); err != nil {
			return rep, autos, err
		}
		rc := RuleChange{Before: c, After: after, Actor: "rule:" + res.Route + "@" + res.RulesVersion}
		for _, ch := range changes {
			actor := "rule:" + res.Route + "@" + res.RulesVersion
			for _, e := range res.Effects {
				if e.Field == ch.field {
					actor = e.Actor
				}
			}
			rc.Actor = actor
			if _, err := p.Store.AppendDecision(ctx, feedback.Decision{At: p.Clock.Now(), Actor: actor, Action: fieldAction[ch.field],
				Target: triage.ClusterTarget(c.ID), Before: ch.before, After: ch.after, RulesVersion: res.RulesVersion,
				Reason: "rules " + strings.Join(res.Matched, ", ")}); err != nil {
				return rep, autos, err
			}
			rep.Decisions++
		}
		rep.Changed = append(rep.Changed, rc)
	}
	return rep, autos, nil
}

// passStart returns when the last complete pass under rules hash began, less a
// minute for clock skew between instances (zero when there was none, so everything
// is evaluated). Cluster rules read only the cluster and its items, never the clock,
// so a cluster nobody changed since then gives the same result.
func (p *Pipeline) passStart(hash string) time.Time {
	p.dedupOnce.Lock()
	defer p.dedupOnce.Unlock()
	if p.lastPassHash != hash || p.lastPass.IsZero() {
		return time.Time{}
	}
	return p.lastPass.Add(-time.Minute)
}

func (p *Pipeline) passDone(hash string, at time.Time) {
	p.dedupOnce.Lock()
	defer p.dedupOnce.Unlock()
	p.lastPassHash, p.lastPass = hash, at
}

type fieldChange struct{ field, before, after string }

func diffCluster(a, b feedback.Cluster) []fieldChange {
	var out []fieldChange
	if a.Category != b.Category {
		out = append(out, fieldChange{rules.FieldCategory, string(a.Category), string(b.Category)})
	}
	if a.Severity != b.Severity {
		out = append(out, fieldChange{rules.FieldSeverity, string(a.Severity), string(b.Severity)})
	}
	if a.Owner != b.Owner {
		out = append(out, fieldChange{rules.FieldOwner, a.Owner, b.Owner})
	}
	if strings.Join(a.Labels, ",") != strings.Join(b.Labels, ",") {
		out = append(out, fieldChange{rules.FieldLabels, strings.Join(a.Labels, ","), strings.Join(b.Labels, ",")})
	}
	return out
}

// humanDecided lists the cluster fields a person has decided; rules leave them alone.
func (p *Pipeline) humanDecided(ctx context.Context, clusterID int64) (map[string]bool, error) {
	ds, err := p.Store.Decisions(ctx, store.DecisionFilter{Target: triage.ClusterTarget(clusterID)})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, d := range ds {
		if !triage.IsPerson(d.Actor) {
			continue
		}
		switch d.Action {
		case feedback.ActionSeverity:
			out[rules.FieldSeverity] = true
		case feedback.ActionAssign:
			out[rules.FieldOwner] = true
		case feedback.ActionCategory:
			out[rules.FieldCategory] = true
		case feedback.ActionLabel:
			out[rules.FieldLabels] = true
		}
	}
	return out, nil
}

func mergeLabels(a, b []string) []string {
	out := slices.Clone(a)
	for _, l := range b {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

func (p *Pipeline) partnerMap() map[string]feedback.Partner {
	m := map[string]feedback.Partner{}
	for _, pt := range p.partners() {
		m[pt.ID] = pt
	}
	return m
}

func partnerPtr(m map[string]feedback.Partner, id string) *feedback.Partner {
	if pt, ok := m[id]; ok {
		return &pt
	}
	return nil
}

// LoadRules loads the rules file the config names into a holder; a missing file is
// not an error when the config did not name one explicitly (there are just no rules).
func LoadRules(path string, required bool) (*rules.Holder, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && !required {
		return nil, nil
	}
	set, err := rules.Load(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return rules.NewHolder(set), nil
}
