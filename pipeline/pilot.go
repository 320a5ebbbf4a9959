package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// ReviewReport counts what a simulated review did.
type ReviewReport struct {
	Merged int `json:"merged"`
}

// ReviewSuggestions plays a triager who confirms the clusterer's top suggestion
// whenever it is at least minNorm similar: the new cluster is merged into the
// suggested one (following earlier merges), as a decision by actor with the
// suggestion's evidence as the reason. It sees only what the product shows a person
// (the suggestions), never any ground truth. Clusters already decided are skipped,
// so a second run does nothing.
func (p *Pipeline) ReviewSuggestions(ctx context.Context, svc *triage.Service, actor string, minNorm float64) (ReviewReport, error) {
	var rep ReviewReport
	clusters, err := p.Store.Clusters(ctx, store.ClusterFilter{Status: feedback.StatusNew, NonEmpty: true, Limit: 100000})
	if err != nil {
		return rep, err
	}
	sort.Slice(clusters, func(i, j int) bool { return clusters[i].ID < clusters[j].ID })
	for _, c := range clusters {
		links, err := p.Store.ClusterLinks(ctx, c.ID)
		if err != nil {
			return rep, err
		}
		var top *suggestion
		for _, l := range links {
			if l.Evidence != "new" {
				continue
			}
			var d struct {
				Suggestions []suggestion `json:"suggestions"`
			}
			if json.Unmarshal([]byte(l.Detail), &d) == nil && len(d.Suggestions) > 0 {
				top = &d.Suggestions[0]
			}
		}
		if top == nil || top.Candidate.Norm < minNorm {
			continue
		}
		into, err := p.survivor(ctx, top.ClusterID)
		if err != nil || into == 0 || into == c.ID {
			continue
		}
		reason := fmt.Sprintf("confirmed the suggested cluster %d (similarity %.2f; shared: %s)", into, top.Candidate.Norm,
			strings.Join(first(top.Candidate.SharedTerms, 5), ", "))
		if _, err := p.Decide(ctx, svc, triage.Request{Action: feedback.ActionMerge, Target: triage.ClusterTarget(c.ID),
			Value: triage.ClusterTarget(into), Actor: actor, Reason: reason}); err != nil {
			return rep, err
		}
		rep.Merged++
	}
	return rep, nil
}

type suggestion struct {
	ClusterID int64 `json:"cluster_id"`
	Candidate struct {
		Norm        float64  `json:"norm"`
		SharedTerms []string `json:"shared_terms"`
	} `json:"candidate"`
}

// survivor follows merges from cluster id to the cluster that holds its items now.
func (p *Pipeline) survivor(ctx context.Context, id int64) (int64, error) {
	for range 100 {
		c, err := p.Store.Cluster(ctx, id)
		if err != nil {
			return 0, err
		}
		if c.Status != feedback.StatusMerged {
			return c.ID, nil
		}
		ds, err := p.Store.Decisions(ctx, store.DecisionFilter{Target: triage.ClusterTarget(id)})
		if err != nil {
			return 0, err
		}
		next := int64(0)
		for _, d := range ds {
			if d.Action == feedback.ActionMerge {
				if _, v, ok := strings.Cut(d.After, " into "); ok {
					next, _ = triage.ParseClusterTarget(v)
				}
			}
		}
		if next == 0 {
			return 0, nil
		}
		id = next
	}
	return 0, nil
}

// TruthItem is one entry of a ground-truth file: an item (or a reply, auto-reply,
// bounce or pull request, which scoring skips) and its intended cluster and category.
type TruthItem struct {
	Source     string `json:"source"`
	ExternalID string `json:"external_id"`
	Cluster    string `json:"cluster"`
	Category   string `json:"category"`
	Partner    string `json:"partner"`
	Kind       string `json:"kind"`
}

// Score compares clustering, categories and partner attribution with a ground truth.
type Score struct {
	Items, Missing         int
	TrueClusters, Clusters int
	PairP, PairR, PairF1   float64
	BCubedP, BCubedR, BF1  float64
	ItemCategory           float64 // item's own rule category equals the truth
	ClusterCategory        float64 // the item's cluster category equals the truth
	Partner                float64 // attribution equals the truth
}

// ScoreTruth scores the stored items named by truth (kind "item" only). key maps a
// truth entry to the (source, external id) the item is stored under.
func (p *Pipeline) ScoreTruth(ctx context.Context, truth []TruthItem, key func(TruthItem) (string, string)) (Score, error) {
	var s Score
	type obs struct {
		gold, cat, partner     string
		cluster                int64
		itemCat, clusterCat, p string
	}
	var got []obs
	catOf := map[int64]string{}
	for _, t := range truth {
		if t.Kind != "item" {
			continue
		}
		src, ext := key(t)
		it, err := p.Store.ItemByExternalID(ctx, src, ext)
		if err != nil || it.ClusterID == nil {
			s.Missing++
			continue
		}
		cc, ok := catOf[*it.ClusterID]
		if !ok {
			c, err := p.Store.Cluster(ctx, *it.ClusterID)
			if err != nil {
				return s, err
			}
			cc = string(c.Category)
			catOf[*it.ClusterID] = cc
		}
		got = append(got, obs{gold: t.Cluster, cat: t.Category, partner: t.Partner, cluster: *it.ClusterID,
			itemCat: string(it.Category), clusterCat: cc, p: it.Partner})
	}
	s.Items = len(got)
	if s.Items == 0 {
		return s, nil
	}
	goldSize, predSize, both := map[string]int{}, map[int64]int{}, map[string]int{}
	for _, o := range got {
		goldSize[o.gold]++
		predSize[o.cluster]++
		both[fmt.Sprintf("%s|%d", o.gold, o.cluster)]++
	}
	s.TrueClusters, s.Clusters = len(goldSize), len(predSize)
	pairs := func(n int) float64 { return float64(n*(n-1)) / 2 }
	var tp, predPairs, goldPairs float64
	for _, n := range both {
		tp += pairs(n)
	}
	for _, n := range predSize {
		predPairs += pairs(n)
	}
	for _, n := range goldSize {
		goldPairs += pairs(n)
	}
	s.PairP, s.PairR = ratio(tp, predPairs), ratio(tp, goldPairs)
	s.PairF1 = f1(s.PairP, s.PairR)
	var bp, br, catOK, clCatOK, partOK float64
	for _, o := range got {
		n := float64(both[fmt.Sprintf("%s|%d", o.gold, o.cluster)])
		bp += n / float64(predSize[o.cluster])
		br += n / float64(goldSize[o.gold])
		if o.itemCat == o.cat {
			catOK++
		}
		if o.clusterCat == o.cat {
			clCatOK++
		}
		if o.p == o.partner {
			partOK++
		}
	}
	n := float64(len(got))
	s.BCubedP, s.BCubedR = bp/n, br/n
	s.BF1 = f1(s.BCubedP, s.BCubedR)
	s.ItemCategory, s.ClusterCategory, s.Partner = catOK/n, clCatOK/n, partOK/n
	return s, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 1
	}
	return a / b
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}
