package triage

import (
	"context"
	"slices"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

// ClusterChange is something that happened to a cluster, as the SLA clocks see it.
type ClusterChange struct {
	// Before is the cluster before the change; nil when it was just created.
	Before *feedback.Cluster
	After  feedback.Cluster
	// Tier is the partner tier the cluster is timed for (the most demanding tier among
	// its partners; "" when unknown).
	Tier string
	// Actor and Action describe the decision that caused the change, if any. A
	// person's decision other than a note is a response and stops the response clocks.
	Actor  string
	Action feedback.Action
	// PartnerActivity marks new feedback from a partner on the cluster; it starts the
	// next_response clock once the first response happened.
	PartnerActivity bool
	At              time.Time
}

// terminal statuses stop every clock; leaving them (a reopen) starts a new
// resolution cycle.
var terminal = []feedback.Status{feedback.StatusResolved, feedback.StatusLoopClosed, feedback.StatusDeclined, feedback.StatusMerged}

// IsTerminal reports whether a cluster in status s needs no more work.
func IsTerminal(s feedback.Status) bool { return slices.Contains(terminal, s) }

// Apply appends to the cluster's SLA log the clock events ch implies (ClockEvents
// on the log as it is) and returns them.
func (e *Engine) Apply(ctx context.Context, log ClockLog, ch ClusterChange) ([]store.SLAEvent, error) {
	evs, err := log.SLAEvents(ctx, ch.After.ID)
	if err != nil {
		return nil, err
	}
	out, err := e.ClockEvents(evs, ch)
	if err != nil {
		return nil, err
	}
	for _, ev := range out {
		if _, err := log.AppendSLAEvent(ctx, ev); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ClockEvents returns the SLA events a change implies, given the cluster's event log
// so far: start on creation, policy and severity changes, pause and resume as pause
// statuses and labels come and go, stop on a response or resolution, a new
// resolution cycle on reopen, and ack. Append them in order; none is a duplicate of
// the log's current state.
func (e *Engine) ClockEvents(log []store.SLAEvent, ch ClusterChange) ([]store.SLAEvent, error) {
	id := ch.After.ID
	st, err := e.State(id, log, ch.At)
	if err != nil {
		return nil, err
	}
	pol := e.Match(ch.After.Severity, ch.Tier, ch.After.Category)
	var out []store.SLAEvent
	add := func(kind, policy, metric string, d EventDetail) {
		out = append(out, newEvent(id, ch.At, kind, policy, metric, d))
	}
	started := st.Policy != ""
	if !started {
		if pol == nil || IsTerminal(ch.After.Status) {
			return nil, nil
		}
		for _, m := range pol.Metrics() {
			if m != MetricNextResponse {
				add(EventStart, pol.Name, m, EventDetail{Severity: ch.After.Severity, Tier: ch.Tier})
			}
		}
		for _, r := range pol.PauseReasons(ch.After) {
			add(EventPause, pol.Name, "", EventDetail{Reason: r})
		}
		return out, nil
	}
	if pol == nil {
		pol = e.byName[st.Policy] // no policy matches any more: keep timing under the last one
	}
	if pol == nil {
		return nil, nil
	}
	if pol.Name != st.Policy || ch.Tier != st.Tier {
		add(EventPolicy, pol.Name, "", EventDetail{Tier: ch.Tier})
	}
	if ch.After.Severity != st.Severity {
		add(EventSeverity, pol.Name, "", EventDetail{Severity: ch.After.Severity})
	}
	running := func(metric string) bool {
		m, ok := st.Metric(metric)
		return ok && m.Running
	}
	stopped := map[string]bool{}
	stop := func(metric string) {
		if running(metric) && !stopped[metric] {
			add(EventStop, pol.Name, metric, EventDetail{Actor: ch.Actor})
			stopped[metric] = true
		}
	}
	if IsTerminal(ch.After.Status) {
		for _, m := range st.Metrics {
			stop(m.Metric)
		}
	} else if ch.Before != nil && IsTerminal(ch.Before.Status) && !running(MetricResolution) {
		if _, ok := pol.Target(ch.After.Severity, MetricResolution, ch.Tier); ok {
			add(EventStart, pol.Name, MetricResolution, EventDetail{Severity: ch.After.Severity, Tier: ch.Tier, Reason: "reopen"})
		}
	}
	if IsPerson(ch.Actor) && ch.Action != "" && ch.Action != feedback.ActionNote {
		stop(MetricFirstResponse)
		stop(MetricNextResponse)
	}
	if ch.PartnerActivity && !IsTerminal(ch.After.Status) && !running(MetricFirstResponse) && !running(MetricNextResponse) {
		if _, ok := st.Metric(MetricFirstResponse); ok {
			if _, has := pol.Target(ch.After.Severity, MetricNextResponse, ch.Tier); has {
				add(EventStart, pol.Name, MetricNextResponse, EventDetail{Severity: ch.After.Severity, Tier: ch.Tier})
			}
		}
	}
	want := pol.PauseReasons(ch.After)
	for _, r := range want {
		if !slices.Contains(st.PauseReasons, r) {
			add(EventPause, pol.Name, "", EventDetail{Reason: r})
		}
	}
	for _, r := range st.PauseReasons {
		if !slices.Contains(want, r) {
			add(EventResume, pol.Name, "", EventDetail{Reason: r})
		}
	}
	if ch.Action == feedback.ActionAck {
		add(EventAck, pol.Name, "", EventDetail{Actor: ch.Actor})
	}
	return out, nil
}
