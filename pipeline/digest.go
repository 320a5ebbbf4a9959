package pipeline

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// digestWeeks is how many weeks of intake the digest chart shows.
const digestWeeks = 8

// BuildDigest gathers the review digest's data for the window [now-window, now) from
// the store: new clusters, recurring patterns versus one-offs, SLA breaches and risks,
// decisions, shipped and loop-closed clusters, unknown partners, per-source intake
// and health, and weekly intake by category.
func (p *Pipeline) BuildDigest(ctx context.Context, engine *triage.Engine, window time.Duration, now time.Time) (triage.DigestData, error) {
	now = now.UTC()
	from := now.Add(-window)
	prevFrom := from.Add(-window)
	d := triage.DigestData{Title: "feedbackhub weekly review", From: from, To: now, GeneratedAt: now}

	clusters, err := p.Store.Clusters(ctx, store.ClusterFilter{NonEmpty: true, Limit: 100000})
	if err != nil {
		return d, err
	}
	byID := map[int64]feedback.Cluster{}
	for _, c := range clusters {
		byID[c.ID] = c
	}
	// One pass over all items feeds activity, unknown partners, sources and weekly intake.
	type act struct {
		win, prev int
		partners  map[string]bool
	}
	acts := map[int64]*act{}
	type unk struct {
		n    int
		last time.Time
	}
	unknown := map[[2]string]*unk{}
	srcWin, srcPrev := map[string]int{}, map[string]int{}
	weekStart := startOfWeek(now).AddDate(0, 0, -7*(digestWeeks-1))
	weekly := map[[2]string]int{}
	var after int64
	for {
		items, err := p.Store.ItemsAfter(ctx, after, 2000)
		if err != nil {
			return d, err
		}
		if len(items) == 0 {
			break
		}
		after = items[len(items)-1].ID
		for _, it := range items {
			if it.Deleted {
				continue
			}
			at := it.CreatedAt
			inWin := !at.Before(from) && at.Before(now)
			inPrev := !at.Before(prevFrom) && at.Before(from)
			if inWin {
				srcWin[it.Source]++
			} else if inPrev {
				srcPrev[it.Source]++
			}
			if it.ClusterID != nil {
				a := acts[*it.ClusterID]
				if a == nil {
					a = &act{partners: map[string]bool{}}
					acts[*it.ClusterID] = a
				}
				if inWin {
					a.win++
					if it.Partner != feedback.UnknownPartner {
						a.partners[it.Partner] = true
					}
				} else if inPrev {
					a.prev++
				}
			}
			if it.Partner == feedback.UnknownPartner && inWin {
				k := [2]string{it.Source, identity(it)}
				u := unknown[k]
				if u == nil {
					u = &unk{}
					unknown[k] = u
				}
				u.n++
				if it.CreatedAt.After(u.last) {
					u.last = it.CreatedAt
				}
			}
			if !at.Before(weekStart) && at.Before(now) {
				cat := string(it.Category)
				if cat == "" {
					if it.ClusterID != nil && byID[*it.ClusterID].Category != "" {
						cat = string(byID[*it.ClusterID].Category)
					} else {
						cat = string(feedback.CategoryOther)
					}
				}
				weekly[[2]string{startOfWeek(at).Format(time.DateOnly), cat}]++
			}
		}
	}

	for _, c := range clusters {
		sum := summary(c)
		if !c.CreatedAt.Before(from) && c.CreatedAt.Before(now) {
			d.NewClusters = append(d.NewClusters, sum)
		}
		if a := acts[c.ID]; a != nil && a.win > 0 {
			d.Activity = append(d.Activity, triage.ClusterActivity{ClusterSummary: sum, WindowItems: a.win, WindowPartners: len(a.partners), PrevItems: a.prev})
		}
		inWin := !c.UpdatedAt.Before(from)
		switch c.Status {
		case feedback.StatusResolved:
			if inWin {
				d.Shipped = append(d.Shipped, sum)
			}
		case feedback.StatusLoopClosed:
			if inWin {
				d.LoopClosed = append(d.LoopClosed, sum)
			}
		}
		if engine != nil && !triage.IsTerminal(c.Status) {
			evs, err := p.Store.SLAEvents(ctx, c.ID)
			if err != nil {
				return d, err
			}
			if len(evs) > 0 {
				st, err := engine.State(c.ID, evs, now)
				if err == nil {
					br, risk := triage.SLAEntries(st, c.Title, c.Owner, now, 0.75)
					d.Breaches = append(d.Breaches, br...)
					d.AtRisk = append(d.AtRisk, risk...)
				}
			}
		}
	}
	if d.Decisions, err = p.Store.Decisions(ctx, store.DecisionFilter{Since: from}); err != nil {
		return d, err
	}
	for k, u := range unknown {
		d.UnknownPartners = append(d.UnknownPartners, triage.UnknownPartner{Source: k[0], Identity: k[1], Items: u.n, LastSeen: u.last})
	}
	sort.Slice(d.UnknownPartners, func(i, j int) bool {
		a, b := d.UnknownPartners[i], d.UnknownPartners[j]
		if a.Items != b.Items {
			return a.Items > b.Items
		}
		return a.Source+a.Identity < b.Source+b.Identity
	})
	cursors, err := p.Store.Cursors(ctx)
	if err != nil {
		return d, err
	}
	lastOK := map[string]time.Time{}
	for _, c := range cursors {
		lastOK[c.Source] = c.UpdatedAt
	}
	for _, s := range p.Config.Sources {
		d.Sources = append(d.Sources, triage.SourceHealth{Source: s.Name, Kind: s.Kind, Items: srcWin[s.Name], PrevItems: srcPrev[s.Name],
			Healthy: true, LastSuccess: lastOK[s.Name]})
	}
	for k, n := range weekly {
		w, _ := time.Parse(time.DateOnly, k[0])
		d.Weekly = append(d.Weekly, triage.WeekIntake{Week: w, Category: k[1], Items: n})
	}
	sort.Slice(d.Weekly, func(i, j int) bool {
		if !d.Weekly[i].Week.Equal(d.Weekly[j].Week) {
			return d.Weekly[i].Week.Before(d.Weekly[j].Week)
		}
		return d.Weekly[i].Category < d.Weekly[j].Category
	})
	return d, nil
}

func summary(c feedback.Cluster) triage.ClusterSummary {
	return triage.ClusterSummary{ID: c.ID, Title: c.Title, Category: c.Category, Severity: c.Severity, Status: c.Status,
		Owner: c.Owner, Items: c.ItemsCount, Partners: c.PartnersCount}
}

// identity is what the digest shows for an unattributed item: its author, reduced to
// a mail domain when it is an address.
func identity(it feedback.Item) string {
	if i := strings.LastIndex(it.Author, "@"); i >= 0 {
		return it.Author[i+1:]
	}
	if it.Author == "" {
		return "(no author)"
	}
	return it.Author
}

// startOfWeek returns Monday 00:00 UTC of t's week.
func startOfWeek(t time.Time) time.Time {
	t = t.UTC()
	wd := (int(t.Weekday()) + 6) % 7
	y, m, d := t.Date()
	return time.Date(y, m, d-wd, 0, 0, 0, 0, time.UTC)
}
