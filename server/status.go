package server

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/pipeline"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// Status is what `feedbackhub status` and GET /api/v1/status report.
type Status struct {
	GeneratedAt     time.Time               `json:"generated_at"`
	Database        string                  `json:"database"`
	Sources         []SourceLine            `json:"sources"`
	Outbox          OutboxStatus            `json:"outbox"`
	SLARisk         []triage.SLAEntry       `json:"sla_risk"`
	SLABreached     []triage.SLAEntry       `json:"sla_breached"`
	UnknownPartners []store.UnknownIdentity `json:"unknown_partners"`
}

// SourceLine is one configured source's health.
type SourceLine struct {
	store.SourceStatus
	Kind string `json:"kind"`
	// Lag is how long ago the source last delivered: the last successful poll for
	// polled sources, the last received record for webhook sources (0: never).
	Lag time.Duration `json:"lag_ns"`
	// Healthy is false when the last poll failed or a polled source is more than
	// three intervals behind.
	Healthy bool `json:"healthy"`
}

// OutboxStatus counts outbox rows and lists the dead letters.
type OutboxStatus struct {
	Pending int               `json:"pending"`
	Sent    int               `json:"sent"`
	Dead    int               `json:"dead"`
	Letters []store.OutboxRow `json:"dead_letters,omitempty"`
}

// BuildStatus gathers the status report at now.
func BuildStatus(ctx context.Context, p *pipeline.Pipeline, engine *triage.Engine, now time.Time) (Status, error) {
	st := Status{GeneratedAt: now.UTC(), Database: p.Store.Location().Display}
	hourAgo := now.Add(-time.Hour)
	for _, src := range p.Config.Sources {
		ss, err := p.Store.SourceStatusOf(ctx, src.Name, hourAgo)
		if err != nil {
			return st, err
		}
		line := SourceLine{SourceStatus: ss, Kind: src.Kind, Healthy: ss.LastError == ""}
		ref := ss.LastSuccess
		if !pipeline.Pollable(src.Kind) {
			ref = ss.LastReceived
		}
		if !ref.IsZero() {
			line.Lag = now.Sub(ref)
		}
		if iv := src.PollInterval(); iv > 0 && pipeline.Pollable(src.Kind) && (ref.IsZero() || line.Lag > 3*iv) {
			line.Healthy = false
		}
		st.Sources = append(st.Sources, line)
	}
	counts, err := p.Store.OutboxCounts(ctx)
	if err != nil {
		return st, err
	}
	st.Outbox = OutboxStatus{Pending: counts[store.OutboxPending], Sent: counts[store.OutboxSent], Dead: counts[store.OutboxDead]}
	if st.Outbox.Dead > 0 {
		if st.Outbox.Letters, err = p.Store.ListOutbox(ctx, store.OutboxFilter{Status: store.OutboxDead, Limit: 20}); err != nil {
			return st, err
		}
	}
	if engine != nil {
		clusters, err := p.Store.Clusters(ctx, store.ClusterFilter{NonEmpty: true, Limit: 100000})
		if err != nil {
			return st, err
		}
		for _, c := range clusters {
			if triage.IsTerminal(c.Status) {
				continue
			}
			evs, err := p.Store.SLAEvents(ctx, c.ID)
			if err != nil {
				return st, err
			}
			if len(evs) == 0 {
				continue
			}
			state, err := engine.State(c.ID, evs, now)
			if err != nil {
				return st, err
			}
			b, a := triage.SLAEntries(state, c.Title, c.Owner, now, 0.75)
			st.SLABreached = append(st.SLABreached, b...)
			st.SLARisk = append(st.SLARisk, a...)
		}
		sort.Slice(st.SLARisk, func(i, j int) bool { return st.SLARisk[i].BreachAt.Before(st.SLARisk[j].BreachAt) })
		sort.Slice(st.SLABreached, func(i, j int) bool { return st.SLABreached[i].BreachAt.Before(st.SLABreached[j].BreachAt) })
	}
	if st.UnknownPartners, err = p.Store.UnknownPartners(ctx, feedback.UnknownPartner, 20); err != nil {
		return st, err
	}
	return st, nil
}

// Write renders the status for a terminal.
func (st Status) Write(w io.Writer) error {
	fmt.Fprintf(w, "feedbackhub status at %s (%s)\n\nSOURCES\n", st.GeneratedAt.Format(time.RFC3339), st.Database)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tKIND\tHEALTH\tLAST SUCCESS\tLAG\tREQ/1H\tRECORDS\tCURSOR\tLAST ERROR")
	for _, s := range st.Sources {
		health := "ok"
		if !s.Healthy {
			health = "FAILING"
		}
		lag := "-"
		if s.Lag > 0 {
			lag = s.Lag.Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.Source, s.Kind, health, when(s.LastSuccess), lag, s.Requests,
			s.Records, short(s.Cursor, 28), short(s.LastError, 60))
	}
	if len(st.Sources) == 0 {
		fmt.Fprintln(tw, "(no sources configured)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nOUTBOX\n  %d pending, %d sent, %d dead letters\n", st.Outbox.Pending, st.Outbox.Sent, st.Outbox.Dead)
	for _, r := range st.Outbox.Letters {
		fmt.Fprintf(w, "  dead %d %s cluster %d after %d attempts: %s (feedbackhub outbox retry %d)\n", r.ID, r.Kind, r.ClusterID, r.Attempts, short(r.LastError, 80), r.ID)
	}
	fmt.Fprintf(w, "\nSLA\n  %d breached, %d at risk (≥ 75%% of target used)\n", len(st.SLABreached), len(st.SLARisk))
	for _, e := range append(append([]triage.SLAEntry(nil), st.SLABreached...), st.SLARisk...) {
		fmt.Fprintf(w, "  cluster %d %s: %s %.0f%% used, due %s, owner %s\n", e.ClusterID, short(e.Title, 50), e.Metric, e.Used*100,
			when(e.BreachAt), dash(e.Owner))
	}
	fmt.Fprintf(w, "\nUNKNOWN PARTNERS\n")
	if len(st.UnknownPartners) == 0 {
		fmt.Fprintln(w, "  none: every item is attributed to a configured partner")
	}
	for _, u := range st.UnknownPartners {
		fmt.Fprintf(w, "  %s %s: %d items, last %s\n", u.Source, dash(u.Author), u.Items, when(u.LastSeen))
	}
	return nil
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	r := []rune(s)
	if len(r) <= n {
		return dash(s)
	}
	return string(r[:n-1]) + "…"
}
