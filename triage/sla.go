package triage

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

// Kinds of SLA log events. Clock events (start … severity) change how time is
// counted; warn, breach and escalate record that something fired; ack stops
// escalation.
const (
	EventStart    = "start"    // a metric's cycle begins (policy, detail: severity, tier)
	EventStop     = "stop"     // a metric's cycle ends (metric "" stops all)
	EventPause    = "pause"    // clocks stop counting (detail: reason)
	EventResume   = "resume"   // a pause reason ends (reason "" clears all)
	EventPolicy   = "policy"   // the cluster now falls under another policy or tier
	EventSeverity = "severity" // the cluster's severity changed (detail: severity)
	EventWarn     = "warn"     // a warning fired (detail: cycle, threshold, key)
	EventBreach   = "breach"   // a breach fired (detail: cycle, key)
	EventEscalate = "escalate" // the alert moved one level up the chain (detail: level, recipient)
	EventAck      = "ack"      // someone acknowledged the cluster's alerts (detail: actor)
)

// EventDetail is the JSON detail of an SLA event; unused fields are omitted.
type EventDetail struct {
	Severity  feedback.Severity `json:"severity,omitempty"`
	Tier      string            `json:"tier,omitempty"`
	Reason    string            `json:"reason,omitempty"`
	Cycle     int               `json:"cycle,omitempty"`
	Threshold float64           `json:"threshold,omitempty"`
	Level     int               `json:"level,omitempty"`
	Recipient string            `json:"recipient,omitempty"`
	Actor     string            `json:"actor,omitempty"`
	// Due is when the threshold was crossed or the escalation became due; the event's
	// own At is when it fired.
	Due *time.Time `json:"due,omitempty"`
	// Key is the idempotency key the event was appended under.
	Key string `json:"key,omitempty"`
}

func newEvent(clusterID int64, at time.Time, kind, policy, metric string, d EventDetail) store.SLAEvent {
	b, _ := json.Marshal(d) // EventDetail always marshals
	return store.SLAEvent{ClusterID: clusterID, At: at.UTC(), Kind: kind, Policy: policy, Metric: metric, Detail: string(b)}
}

// Detail decodes an event's JSON detail; an empty detail decodes to the zero value.
func Detail(e store.SLAEvent) (EventDetail, error) {
	var d EventDetail
	if e.Detail == "" || e.Detail == "{}" {
		return d, nil
	}
	if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
		return d, fmt.Errorf("sla event %d: detail: %w", e.ID, err)
	}
	return d, nil
}

// State is a cluster's SLA state as of some instant, computed from its event log.
type State struct {
	ClusterID    int64
	Policy       string
	Severity     feedback.Severity
	Tier         string
	PauseReasons []string
	Metrics      []MetricState
}

// Paused reports whether the cluster's clocks are stopped by a pause reason.
func (s State) Paused() bool { return len(s.PauseReasons) > 0 }

// Metric returns the state of one metric.
func (s State) Metric(name string) (MetricState, bool) {
	for _, m := range s.Metrics {
		if m.Metric == name {
			return m, true
		}
	}
	return MetricState{}, false
}

// MetricState is one metric's clock in its current (or last) cycle.
type MetricState struct {
	Metric string
	// Cycle counts start→stop cycles; a reopen starts a new resolution cycle.
	Cycle     int
	Running   bool // started and not stopped
	Paused    bool // running, but a pause reason holds
	StartedAt time.Time
	StoppedAt time.Time
	// Target is the business time allowed; HasTarget is false when the policy sets none
	// for the current severity, and nothing fires.
	Target    time.Duration
	HasTarget bool
	// Elapsed is the business time counted so far, paused spans excluded.
	Elapsed time.Duration
	// BreachAt is when the target is (or was) reached if the clock keeps running;
	// zero while paused, stopped or without a target.
	BreachAt time.Time
	// Warned lists the warning thresholds fired in this cycle; Breached says whether
	// the breach fired.
	Warned   []float64
	Breached bool
	// Escalation: the chain level currently holding the alert (0 = owner), when the
	// last alert or step fired, and whether it has been acknowledged since.
	Level    int
	LastStep time.Time
	Alerted  bool
	Acked    bool

	// anchor is the time of the last clock event and anchorElapsed the business time
	// counted up to it; breach and warning times are projected from there so that
	// every instance computes the same instants from the same log.
	anchor        time.Time
	anchorElapsed time.Duration
}

// Fraction is Elapsed / Target, or 0 without a target.
func (m MetricState) Fraction() float64 {
	if !m.HasTarget || m.Target <= 0 {
		return 0
	}
	return float64(m.Elapsed) / float64(m.Target)
}

// counting reports whether business time accrues for the metric.
func (m *MetricState) counting() bool { return m.Running && !m.Paused }

type stateBuilder struct {
	e       *Engine
	st      State
	metrics map[string]*MetricState
	order   []string
}

func (b *stateBuilder) policy() *Policy { return b.e.byName[b.st.Policy] }

func (b *stateBuilder) metric(name string) *MetricState {
	m, ok := b.metrics[name]
	if !ok {
		m = &MetricState{Metric: name}
		b.metrics[name] = m
		b.order = append(b.order, name)
	}
	return m
}

// advance counts business time up to t for every running, unpaused metric.
func (b *stateBuilder) advance(t time.Time) {
	var cal *Calendar
	if p := b.policy(); p != nil {
		cal = p.Calendar
	}
	for _, name := range b.order {
		m := b.metrics[name]
		if !t.After(m.anchor) {
			continue
		}
		if m.counting() {
			m.anchorElapsed += cal.BusinessBetween(m.anchor, t)
		}
		m.anchor = t
	}
}

// State computes a cluster's SLA state at now from its event log (any order; events
// are applied by time, then id). Events after now are ignored.
func (e *Engine) State(clusterID int64, events []store.SLAEvent, now time.Time) (State, error) {
	evs := make([]store.SLAEvent, 0, len(events))
	for _, ev := range events {
		if !ev.At.After(now) {
			evs = append(evs, ev)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if !evs[i].At.Equal(evs[j].At) {
			return evs[i].At.Before(evs[j].At)
		}
		return evs[i].ID < evs[j].ID
	})
	b := &stateBuilder{e: e, st: State{ClusterID: clusterID}, metrics: map[string]*MetricState{}}
	for _, ev := range evs {
		d, err := Detail(ev)
		if err != nil {
			return State{}, err
		}
		switch ev.Kind {
		case EventStart:
			b.advance(ev.At)
			if ev.Policy != "" {
				b.st.Policy = ev.Policy
			}
			if d.Severity != "" {
				b.st.Severity = d.Severity
			}
			if d.Tier != "" {
				b.st.Tier = d.Tier
			}
			m := b.metric(ev.Metric)
			if m.Running {
				continue // a repeated start changes nothing
			}
			*m = MetricState{Metric: ev.Metric, Cycle: m.Cycle + 1, Running: true, StartedAt: ev.At,
				Paused: len(b.st.PauseReasons) > 0, anchor: ev.At, Level: 0}
		case EventStop:
			b.advance(ev.At)
			for _, name := range b.order {
				if m := b.metrics[name]; m.Running && (ev.Metric == "" || ev.Metric == name) {
					m.Running, m.Paused, m.StoppedAt = false, false, ev.At
				}
			}
		case EventPause:
			b.advance(ev.At)
			if !slices.Contains(b.st.PauseReasons, d.Reason) {
				b.st.PauseReasons = append(b.st.PauseReasons, d.Reason)
			}
			b.setPaused()
		case EventResume:
			b.advance(ev.At)
			if d.Reason == "" {
				b.st.PauseReasons = nil
			} else {
				b.st.PauseReasons = slices.DeleteFunc(b.st.PauseReasons, func(r string) bool { return r == d.Reason })
			}
			b.setPaused()
		case EventPolicy:
			b.advance(ev.At)
			if ev.Policy != "" {
				b.st.Policy = ev.Policy
			}
			if d.Tier != "" {
				b.st.Tier = d.Tier
			}
		case EventSeverity:
			b.advance(ev.At)
			b.st.Severity = d.Severity
		case EventWarn, EventBreach:
			m := b.metric(ev.Metric)
			if d.Cycle != m.Cycle {
				continue
			}
			if ev.Kind == EventBreach {
				m.Breached = true
			} else if !slices.Contains(m.Warned, d.Threshold) {
				m.Warned = append(m.Warned, d.Threshold)
			}
			m.Alerted, m.Acked, m.LastStep = true, false, ev.At
		case EventEscalate:
			m := b.metric(ev.Metric)
			if d.Cycle != m.Cycle {
				continue
			}
			if d.Level > m.Level {
				m.Level = d.Level
			}
			m.LastStep = ev.At
		case EventAck:
			for _, name := range b.order {
				if m := b.metrics[name]; ev.Metric == "" || ev.Metric == name {
					m.Acked = true
				}
			}
		}
	}
	pol := b.policy()
	var cal *Calendar
	if pol != nil {
		cal = pol.Calendar
	}
	for _, name := range b.order {
		m := b.metrics[name]
		m.Elapsed = m.anchorElapsed
		if m.counting() {
			m.Elapsed += cal.BusinessBetween(m.anchor, now)
		}
		if pol != nil {
			m.Target, m.HasTarget = pol.Target(b.st.Severity, name, b.st.Tier)
		}
		if m.counting() && m.HasTarget {
			m.BreachAt = pol.Calendar.AddBusiness(m.anchor, m.Target-m.anchorElapsed)
		}
		b.st.Metrics = append(b.st.Metrics, *m)
	}
	return b.st, nil
}

func (b *stateBuilder) setPaused() {
	for _, name := range b.order {
		m := b.metrics[name]
		m.Paused = m.Running && len(b.st.PauseReasons) > 0
	}
}

// Subject is a cluster to evaluate and who hears about it.
type Subject struct {
	ClusterID int64
	Title     string
	// Chain is who is told, in order: Chain[0] is the owner, then the escalate_to
	// levels of the routing rule. Entries are email addresses, "webhook:NAME", or
	// names the notifier routes to its default webhooks.
	Chain []string
}

// Due is an SLA event the evaluator decided to append. Key is unique per (cluster,
// metric, cycle, threshold or level): append it with the store's insert-if-absent so
// that several instances racing on the same cluster append it once, and send Notice
// only from the instance whose append won.
type Due struct {
	Key    string
	Event  store.SLAEvent
	Notice *Notice
}

// Notice is a message about a cluster's SLA for one recipient.
type Notice struct {
	Key       string    `json:"key"`
	Kind      string    `json:"kind"` // sla.warn, sla.breach, sla.escalate
	ClusterID int64     `json:"cluster_id"`
	Title     string    `json:"title"`
	Metric    string    `json:"metric"`
	Recipient string    `json:"recipient"`
	Level     int       `json:"level"`
	At        time.Time `json:"at"`
	BreachAt  time.Time `json:"breach_at"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
}

// Key returns the idempotency key of an SLA alert or escalation step:
// sla:CLUSTER:METRIC:CYCLE:warn75, …:breach or …:escalate2.
func Key(clusterID int64, metric string, cycle int, step string) string {
	return "sla:" + strconv.FormatInt(clusterID, 10) + ":" + metric + ":" + strconv.Itoa(cycle) + ":" + step
}

func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) }

// Evaluate computes the cluster's state at now and what must fire: at most one alert
// per metric (the highest threshold crossed and not yet fired: a breach makes lower
// warnings moot) and at most one escalation step per metric. The decision is made
// from the log alone, so an alert already in the log never fires again.
func (e *Engine) Evaluate(sub Subject, events []store.SLAEvent, now time.Time) (State, []Due, error) {
	st, err := e.State(sub.ClusterID, events, now)
	if err != nil {
		return st, nil, err
	}
	pol := e.byName[st.Policy]
	if pol == nil {
		return st, nil, nil
	}
	var due []Due
	for _, m := range st.Metrics {
		if !m.counting() || !m.HasTarget {
			continue
		}
		if d, ok := e.alertDue(sub, st, pol, m, now); ok {
			due = append(due, d)
			continue // escalation waits for the next evaluation
		}
		if d, ok := e.escalationDue(sub, st, pol, m, now); ok {
			due = append(due, d)
		}
	}
	return st, due, nil
}

func (e *Engine) alertDue(sub Subject, st State, pol *Policy, m MetricState, now time.Time) (Due, bool) {
	if m.Breached {
		return Due{}, false
	}
	kind, thr, at := "", 0.0, time.Time{}
	if !m.BreachAt.After(now) {
		kind, thr, at = EventBreach, 1, m.BreachAt
	} else {
		for i := len(pol.WarnAt) - 1; i >= 0; i-- {
			f := pol.WarnAt[i]
			t := pol.Calendar.AddBusiness(m.anchor, time.Duration(f*float64(m.Target))-m.anchorElapsed)
			if !t.After(now) {
				kind, thr, at = EventWarn, f, t
				break
			}
		}
	}
	if kind == "" {
		return Due{}, false
	}
	for _, w := range m.Warned {
		if kind == EventWarn && w >= thr {
			return Due{}, false
		}
	}
	step := "breach"
	if kind == EventWarn {
		step = "warn" + pct(thr)
	}
	key := Key(sub.ClusterID, m.Metric, m.Cycle, step)
	recipient := ""
	if m.Level < len(sub.Chain) {
		recipient = sub.Chain[m.Level]
	}
	d := EventDetail{Cycle: m.Cycle, Recipient: recipient, Due: &at, Key: key}
	if kind == EventWarn {
		d.Threshold = thr
	}
	ev := newEvent(sub.ClusterID, now, kind, st.Policy, m.Metric, d)
	n := &Notice{Key: key, Kind: "sla." + kind, ClusterID: sub.ClusterID, Title: sub.Title, Metric: m.Metric,
		Recipient: recipient, Level: m.Level, At: now.UTC(), BreachAt: m.BreachAt.UTC()}
	if kind == EventBreach {
		n.Subject = fmt.Sprintf("[feedbackhub] SLA breached: %s on cluster %d", m.Metric, sub.ClusterID)
		n.Text = fmt.Sprintf("Cluster %d %q breached its %s target of %s (policy %s, severity %s) at %s.",
			sub.ClusterID, sub.Title, m.Metric, m.Target, st.Policy, sevName(st.Severity), m.BreachAt.UTC().Format(time.RFC3339))
	} else {
		n.Subject = fmt.Sprintf("[feedbackhub] SLA %s%% used: %s on cluster %d", pct(thr), m.Metric, sub.ClusterID)
		n.Text = fmt.Sprintf("Cluster %d %q has used %s%% of its %s target of %s (policy %s, severity %s); it breaches at %s.",
			sub.ClusterID, sub.Title, pct(thr), m.Metric, m.Target, st.Policy, sevName(st.Severity), m.BreachAt.UTC().Format(time.RFC3339))
	}
	n.Text += " Acknowledge with: feedbackhub decide ack cluster:" + strconv.FormatInt(sub.ClusterID, 10) + ` --reason "…"`
	if recipient == "" {
		n = nil
	}
	return Due{Key: key, Event: ev, Notice: n}, true
}

func (e *Engine) escalationDue(sub Subject, st State, pol *Policy, m MetricState, now time.Time) (Due, bool) {
	if !m.Alerted || m.Acked || m.Level+1 >= len(sub.Chain) {
		return Due{}, false
	}
	at := m.LastStep.Add(pol.EscalateAfter)
	if at.After(now) {
		return Due{}, false
	}
	level := m.Level + 1
	key := Key(sub.ClusterID, m.Metric, m.Cycle, "escalate"+strconv.Itoa(level))
	recipient := sub.Chain[level]
	ev := newEvent(sub.ClusterID, now, EventEscalate, st.Policy, m.Metric,
		EventDetail{Cycle: m.Cycle, Level: level, Recipient: recipient, Due: &at, Key: key})
	what := "is at risk"
	if m.Breached {
		what = "breached"
	}
	n := &Notice{Key: key, Kind: "sla.escalate", ClusterID: sub.ClusterID, Title: sub.Title, Metric: m.Metric,
		Recipient: recipient, Level: level, At: now.UTC(), BreachAt: m.BreachAt.UTC(),
		Subject: fmt.Sprintf("[feedbackhub] Escalated (level %d): %s %s on cluster %d", level, m.Metric, what, sub.ClusterID),
		Text: fmt.Sprintf("Cluster %d %q: the %s SLA %s and nobody acknowledged it within %s; escalated from %s to you. "+
			"Acknowledge with: feedbackhub decide ack cluster:%d --reason \"…\"",
			sub.ClusterID, sub.Title, m.Metric, what, pol.EscalateAfter, sub.Chain[m.Level], sub.ClusterID)}
	return Due{Key: key, Event: ev, Notice: n}, true
}

func sevName(s feedback.Severity) string {
	if s == feedback.SeverityNone {
		return string(DefaultSeverity) + " (unassessed)"
	}
	return string(s)
}
