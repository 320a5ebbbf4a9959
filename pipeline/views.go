package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/rules"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// ClusterView is a cluster with its items and why each is in it ("why grouped").
type ClusterView struct {
	Cluster   feedback.Cluster    `json:"cluster"`
	Items     []ClusterViewItem   `json:"items"`
	Decisions []feedback.Decision `json:"decisions"`
}

// ClusterViewItem is one member and its link.
type ClusterViewItem struct {
	Item feedback.Item        `json:"item"`
	Link feedback.ClusterLink `json:"link"`
	Why  string               `json:"why"`
}

// ClusterView loads a cluster, its items, links and decisions.
func (p *Pipeline) ClusterView(ctx context.Context, id int64) (ClusterView, error) {
	var v ClusterView
	c, err := p.Store.Cluster(ctx, id)
	if err != nil {
		return v, err
	}
	v.Cluster = c
	items, err := p.Store.ClusterItems(ctx, id)
	if err != nil {
		return v, err
	}
	links, err := p.Store.ClusterLinks(ctx, id)
	if err != nil {
		return v, err
	}
	byItem := map[int64]feedback.ClusterLink{}
	for _, l := range links {
		byItem[l.ItemID] = l
	}
	for _, it := range items {
		l := byItem[it.ID]
		v.Items = append(v.Items, ClusterViewItem{Item: it, Link: l, Why: Why(l)})
	}
	v.Decisions, err = p.Store.Decisions(ctx, store.DecisionFilter{Target: triage.ClusterTarget(id)})
	return v, err
}

// Why turns a link's evidence and stored detail into one readable sentence.
func Why(l feedback.ClusterLink) string {
	var d struct {
		Reference   string `json:"reference"`
		Suggestions []struct {
			ClusterID int64 `json:"cluster_id"`
			Candidate struct {
				Norm        float64  `json:"norm"`
				SharedTerms []string `json:"shared_terms"`
			} `json:"candidate"`
		} `json:"suggestions"`
		Detail       *linkDetail `json:"detail"`
		MergedFrom   int64       `json:"merged_from"`
		UnmergedFrom int64       `json:"unmerged_from"`
	}
	_ = json.Unmarshal([]byte(l.Detail), &d)
	switch l.Evidence {
	case "reference":
		return "reference: " + d.Reference
	case "identity", "signature", "similarity":
		s := fmt.Sprintf("%s with item %d (score %.2f)", l.Evidence, d.Detail.idOr(), l.Score)
		if d.Detail != nil {
			if len(d.Detail.SharedSigs) > 0 {
				s += "; shared signatures: " + strings.Join(d.Detail.SharedSigs, ", ")
			}
			if len(d.Detail.SharedTerms) > 0 {
				s += "; shared terms: " + strings.Join(first(d.Detail.SharedTerms, 8), ", ")
			}
			if len(d.Detail.Fields) > 0 {
				var fs []string
				for f, v := range d.Detail.Fields {
					fs = append(fs, fmt.Sprintf("%s %.2f", f, v))
				}
				sort.Strings(fs)
				s += "; by field: " + strings.Join(fs, ", ")
			}
		}
		return s
	case "manual":
		switch {
		case d.MergedFrom != 0:
			return fmt.Sprintf("merged by %s from cluster %d", l.LinkedBy, d.MergedFrom)
		case d.UnmergedFrom != 0:
			return fmt.Sprintf("split out by %s from cluster %d", l.LinkedBy, d.UnmergedFrom)
		}
		return "placed by " + l.LinkedBy
	case "new":
		if len(d.Suggestions) == 0 {
			return "first item: nothing similar was found"
		}
		var ss []string
		for _, s := range first(d.Suggestions, 3) {
			ss = append(ss, fmt.Sprintf("cluster %d (%.2f: %s)", s.ClusterID, s.Candidate.Norm, strings.Join(first(s.Candidate.SharedTerms, 5), ", ")))
		}
		return "first item; similar clusters suggested for review: " + strings.Join(ss, "; ")
	}
	return l.Evidence
}

// linkDetail is the part of a stored candidate breakdown `Why` reads.
type linkDetail struct {
	ID          int64              `json:"id"`
	TextNorm    float64            `json:"text_norm"`
	Fields      map[string]float64 `json:"fields"`
	SharedTerms []string           `json:"shared_terms"`
	SharedSigs  []string           `json:"shared_sigs"`
}

func (d *linkDetail) idOr() int64 {
	if d == nil {
		return 0
	}
	return d.ID
}

func first[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// String renders the view for `clusters show`.
func (v ClusterView) String() string {
	var b strings.Builder
	c := v.Cluster
	fmt.Fprintf(&b, "cluster %d: %s\n", c.ID, c.Title)
	fmt.Fprintf(&b, "  status %s · category %s · severity %s · owner %s · labels %s\n", c.Status, orDash(string(c.Category)), orDash(string(c.Severity)), orDash(c.Owner), orDash(strings.Join(c.Labels, ",")))
	fmt.Fprintf(&b, "  %d items from %d partners, first seen %s, last seen %s\n\n", c.ItemsCount, c.PartnersCount, c.FirstSeen.Format(time.DateOnly), c.LastSeen.Format(time.DateOnly))
	b.WriteString("items and why grouped:\n")
	for _, it := range v.Items {
		fmt.Fprintf(&b, "  item %d [%s %s] %s (partner %s)\n    why: %s\n", it.Item.ID, it.Item.Source, it.Item.ExternalID, it.Item.Title, it.Item.Partner, it.Why)
	}
	if len(v.Decisions) > 0 {
		b.WriteString("\ndecisions:\n")
		for _, d := range v.Decisions {
			fmt.Fprintf(&b, "  %s %s %s: %s → %s (%s)\n", d.At.Format(time.RFC3339), d.Actor, d.Action, orDash(d.Before), orDash(d.After), d.Reason)
		}
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Explain evaluates the rules on item:ID or cluster:ID and records why each rule did
// or did not match.
func (p *Pipeline) Explain(ctx context.Context, target string) (rules.Explanation, error) {
	set := p.Rules.Current()
	kind, v, ok := strings.Cut(target, ":")
	if !ok {
		return rules.Explanation{}, fmt.Errorf("explain %q: want item:ID or cluster:ID", target)
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return rules.Explanation{}, fmt.Errorf("explain %q: want item:ID or cluster:ID", target)
	}
	partners := p.partnerMap()
	switch kind {
	case "item":
		it, err := p.Store.Item(ctx, id)
		if err != nil {
			return rules.Explanation{}, err
		}
		refs, err := p.Store.Refs(ctx, id)
		if err != nil {
			return rules.Explanation{}, err
		}
		return set.ExplainItem(rules.NewItemEnv(rules.ItemInputFrom(&it, partnerPtr(partners, it.Partner), refs)), nil), nil
	case "cluster":
		c, err := p.Store.Cluster(ctx, id)
		if err != nil {
			return rules.Explanation{}, err
		}
		items, err := p.Store.ClusterItems(ctx, id)
		if err != nil {
			return rules.Explanation{}, err
		}
		decided, err := p.humanDecided(ctx, id)
		if err != nil {
			return rules.Explanation{}, err
		}
		if !decided[rules.FieldCategory] {
			c.Category = ""
		}
		return set.ExplainCluster(rules.NewClusterEnv(rules.ClusterInputFrom(&c, items, partners)), decided), nil
	}
	return rules.Explanation{}, fmt.Errorf("explain %q: want item:ID or cluster:ID", target)
}

// ReplayChange is one field the current rules would set differently.
type ReplayChange struct {
	Target, Field, Before, After, Actor string
}

// Replay re-evaluates items created since the given time with the current rules and
// returns what would change; with apply it writes the changes and records each as a
// decision under the current rules hash. Fields a person decided are left alone.
func (p *Pipeline) Replay(ctx context.Context, since time.Time, apply bool) ([]ReplayChange, error) {
	set := p.Rules.Current()
	partners := p.partnerMap()
	var out []ReplayChange
	var after int64
	for {
		items, err := p.Store.ItemsAfter(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return out, nil
		}
		after = items[len(items)-1].ID
		for i := range items {
			it := &items[i]
			if it.Deleted || it.CreatedAt.Before(since) {
				continue
			}
			res := set.EvalItem(rules.NewItemEnv(rules.ItemInputFrom(it, partnerPtr(partners, it.Partner), nil)), nil)
			cat := res.Category
			if cat == "" {
				cat = feedback.CategoryOther
			}
			actorFor := func(field string) string {
				for _, e := range res.Effects {
					if e.Field == field {
						return e.Actor
					}
				}
				return "rule:(none)@" + res.RulesVersion
			}
			var ch []ReplayChange
			target := "item:" + strconv.FormatInt(it.ID, 10)
			if cat != it.Category {
				ch = append(ch, ReplayChange{target, rules.FieldCategory, string(it.Category), string(cat), actorFor(rules.FieldCategory)})
			}
			if res.Severity != it.Severity {
				ch = append(ch, ReplayChange{target, rules.FieldSeverity, string(it.Severity), string(res.Severity), actorFor(rules.FieldSeverity)})
			}
			if res.Owner != it.Owner {
				ch = append(ch, ReplayChange{target, rules.FieldOwner, it.Owner, res.Owner, actorFor(rules.FieldOwner)})
			}
			if len(ch) == 0 {
				continue
			}
			out = append(out, ch...)
			if !apply {
				continue
			}
			if err := p.Store.ClassifyItem(ctx, it.ID, store.ItemClassification{Category: cat, Severity: res.Severity, Owner: res.Owner, Labels: mergeLabels(it.Labels, res.Labels)}); err != nil {
				return nil, err
			}
			for _, c := range ch {
				if _, err := p.Store.AppendDecision(ctx, feedback.Decision{At: p.Clock.Now(), Actor: c.Actor, Action: fieldAction[c.Field],
					Target: c.Target, Before: c.Before, After: c.After, RulesVersion: res.RulesVersion, Reason: "rules replay"}); err != nil {
					return nil, err
				}
			}
		}
	}
}
