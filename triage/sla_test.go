package triage

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

func dur(d time.Duration) config.Duration { return config.Duration(d) }

func targets(fr, res time.Duration) map[string]config.Duration {
	return map[string]config.Duration{MetricFirstResponse: dur(fr), MetricResolution: dur(res)}
}

// testSLA is the fixture config: a Berlin office calendar, a billing-critical policy
// first, then a default policy that halves targets for design partners.
func testSLA() config.SLA {
	return config.SLA{
		Calendars: []config.Calendar{{Name: "berlin", Timezone: "Europe/Berlin",
			Hours: map[string]string{"mon": "09:00-17:00", "tue": "09:00-17:00", "wed": "09:00-17:00",
				"thu": "09:00-17:00", "fri": "09:00-17:00"},
			Holidays: []string{"2026-12-25"}}},
		Policies: []config.SLAPolicy{
			{Name: "billing-critical", Calendar: "berlin",
				Match:   config.SLAMatch{Categories: []string{"billing"}, Severities: []string{"critical"}},
				Targets: map[string]map[string]config.Duration{"critical": targets(30*time.Minute, 4*time.Hour)}},
			{Name: "default", Calendar: "berlin",
				Targets: map[string]map[string]config.Duration{
					"critical": targets(time.Hour, 8*time.Hour),
					"high":     targets(4*time.Hour, 16*time.Hour),
					"medium":   {MetricFirstResponse: dur(8 * time.Hour), MetricNextResponse: dur(4 * time.Hour), MetricResolution: dur(40 * time.Hour)},
					"low":      targets(16*time.Hour, 80*time.Hour),
				},
				TierFactors:   map[string]float64{"design-partner": 0.5},
				EscalateAfter: dur(30 * time.Minute),
			},
		},
	}
}

func testEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := NewEngine(testSLA(), "")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// bt parses a Berlin wall-clock time.
func bt(t testing.TB, s string) time.Time {
	t.Helper()
	loc, _ := time.LoadLocation("Europe/Berlin")
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// history builds a cluster's log by replaying changes through ClockEvents, as the
// pipeline and Decide do.
type history struct {
	t   testing.TB
	e   *Engine
	log *MemLog
	c   feedback.Cluster
}

func newHistory(t testing.TB, e *Engine, c feedback.Cluster, tier string, at time.Time) *history {
	h := &history{t: t, e: e, log: NewMemLog(), c: c}
	h.apply(ClusterChange{After: c, Tier: tier, At: at})
	return h
}

func (h *history) apply(ch ClusterChange) {
	h.t.Helper()
	ctx := context.Background()
	log, _ := h.log.SLAEvents(ctx, h.c.ID)
	if ch.After.ID == 0 {
		ch.After.ID = h.c.ID
	}
	evs, err := h.e.ClockEvents(log, ch)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, ev := range evs {
		if _, err := h.log.AppendSLAEvent(ctx, ev); err != nil {
			h.t.Fatal(err)
		}
	}
	h.c = ch.After
}

// change moves the cluster to a new version via mutate, by actor.
func (h *history) change(at time.Time, actor string, action feedback.Action, tier string, mutate func(c *feedback.Cluster)) {
	h.t.Helper()
	before := h.c
	after := h.c
	after.Labels = append([]string(nil), h.c.Labels...)
	if mutate != nil {
		mutate(&after)
	}
	h.apply(ClusterChange{Before: &before, After: after, Tier: tier, Actor: actor, Action: action, At: at})
}

func (h *history) state(now time.Time) State {
	h.t.Helper()
	log, _ := h.log.SLAEvents(context.Background(), h.c.ID)
	st, err := h.e.State(h.c.ID, log, now)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

func metric(t testing.TB, st State, name string) MetricState {
	t.Helper()
	m, ok := st.Metric(name)
	if !ok {
		t.Fatalf("no %s metric in %+v", name, st)
	}
	return m
}

func TestPolicyMatchAndTierFactor(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	if p := e.Match(feedback.SeverityCritical, "", feedback.CategoryBilling); p == nil || p.Name != "billing-critical" {
		t.Errorf("billing critical → %v", p)
	}
	if p := e.Match(feedback.SeverityHigh, "", feedback.CategoryBilling); p == nil || p.Name != "default" {
		t.Errorf("billing high → %v", p)
	}
	p := e.Policy("default")
	if d, ok := p.Target(feedback.SeverityHigh, MetricFirstResponse, "design-partner"); !ok || d != 2*time.Hour {
		t.Errorf("design-partner high first_response = %s %v, want 2h", d, ok)
	}
	if d, ok := p.Target(feedback.SeverityNone, MetricFirstResponse, ""); !ok || d != 8*time.Hour {
		t.Errorf("unassessed first_response = %s %v, want medium's 8h", d, ok)
	}
	if _, ok := p.Target(feedback.SeverityHigh, MetricNextResponse, ""); ok {
		t.Error("high has no next_response target")
	}
}

func TestClockStartsOnBusinessCalendar(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	// Created Friday 16:00 (high): 4h first response → Monday 12:00.
	h := newHistory(t, e, feedback.Cluster{ID: 1, Status: feedback.StatusNew, Severity: feedback.SeverityHigh}, "", bt(t, "2026-03-06 16:00"))
	st := h.state(bt(t, "2026-03-09 10:00"))
	fr := metric(t, st, MetricFirstResponse)
	if !fr.Running || fr.Elapsed != 2*time.Hour || !fr.BreachAt.Equal(bt(t, "2026-03-09 12:00")) {
		t.Errorf("first_response = %+v", fr)
	}
	// The same cluster for a design partner: 2h → Monday 10:00.
	h2 := newHistory(t, e, feedback.Cluster{ID: 2, Status: feedback.StatusNew, Severity: feedback.SeverityHigh}, "design-partner", bt(t, "2026-03-06 16:00"))
	if fr := metric(t, h2.state(bt(t, "2026-03-06 16:30")), MetricFirstResponse); !fr.BreachAt.Equal(bt(t, "2026-03-09 10:00")) {
		t.Errorf("design partner breach_at = %s", fr.BreachAt)
	}
}

func TestPauseAndResume(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	h := newHistory(t, e, feedback.Cluster{ID: 3, Status: feedback.StatusNew, Severity: feedback.SeverityHigh}, "", bt(t, "2026-03-09 09:00"))
	// A person triages at 09:30: first response stops.
	h.change(bt(t, "2026-03-09 09:30"), "alice", feedback.ActionAccept, "", func(c *feedback.Cluster) { c.Status = feedback.StatusAccepted })
	// Waiting on the partner from 10:00 Monday to 10:00 Tuesday.
	h.change(bt(t, "2026-03-09 10:00"), "alice", feedback.ActionNote, "", func(c *feedback.Cluster) { c.Labels = []string{"waiting-on-partner"} })
	st := h.state(bt(t, "2026-03-09 15:00"))
	res := metric(t, st, MetricResolution)
	if !st.Paused() || !res.Paused || res.Elapsed != time.Hour || !res.BreachAt.IsZero() {
		t.Errorf("while paused: paused=%v %+v", st.Paused(), res)
	}
	if fr := metric(t, st, MetricFirstResponse); fr.Running || fr.Elapsed != 30*time.Minute {
		t.Errorf("first_response = %+v", fr)
	}
	h.change(bt(t, "2026-03-10 10:00"), "system", "", "", func(c *feedback.Cluster) { c.Labels = nil })
	res = metric(t, h.state(bt(t, "2026-03-10 11:00")), MetricResolution)
	// 1h before the pause + 1h after it; 15h left from Tuesday 10:00 → Wednesday 17:00.
	if res.Paused || res.Elapsed != 2*time.Hour || !res.BreachAt.Equal(bt(t, "2026-03-11 17:00")) {
		t.Errorf("after resume: %+v", res)
	}
	// Deferring pauses too; reopening resumes.
	h.change(bt(t, "2026-03-10 12:00"), "alice", feedback.ActionDefer, "", func(c *feedback.Cluster) { c.Status = feedback.StatusDeferred })
	if st := h.state(bt(t, "2026-03-12 12:00")); !st.Paused() || st.PauseReasons[0] != "status:deferred" {
		t.Errorf("deferred: %+v", st)
	}
}

func TestSeverityChangeMidFlightKeepsPausedTime(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	h := newHistory(t, e, feedback.Cluster{ID: 4, Status: feedback.StatusNew, Severity: feedback.SeverityMedium}, "", bt(t, "2026-03-09 09:00"))
	h.change(bt(t, "2026-03-09 10:00"), "system", "", "", func(c *feedback.Cluster) { c.Labels = []string{"waiting-on-partner"} })
	h.change(bt(t, "2026-03-09 12:00"), "system", "", "", func(c *feedback.Cluster) { c.Labels = nil })
	before := metric(t, h.state(bt(t, "2026-03-09 14:00")), MetricResolution)
	if before.Elapsed != 3*time.Hour || before.Target != 40*time.Hour {
		t.Fatalf("before: %+v", before)
	}
	// A rule raises the severity to critical at 14:00: 8h resolution, 3h used (the
	// paused two hours stay excluded) → 5h left → Tuesday 11:00.
	h.change(bt(t, "2026-03-09 14:00"), "rule:three-partners@abc", feedback.ActionSeverity, "", func(c *feedback.Cluster) { c.Severity = feedback.SeverityCritical })
	st := h.state(bt(t, "2026-03-09 15:00"))
	res := metric(t, st, MetricResolution)
	if st.Severity != feedback.SeverityCritical || res.Target != 8*time.Hour || res.Elapsed != 4*time.Hour ||
		!res.BreachAt.Equal(bt(t, "2026-03-10 11:00")) {
		t.Errorf("after severity change: %+v", res)
	}
	// First response (critical: 1h) had already used 3h: breached at the change.
	if fr := metric(t, st, MetricFirstResponse); !fr.BreachAt.Equal(bt(t, "2026-03-09 14:00")) {
		t.Errorf("first_response breach_at = %s", fr.BreachAt)
	}
	// A rule is not a person: its decision is no response.
	if fr := metric(t, st, MetricFirstResponse); !fr.Running {
		t.Error("a rule's decision stopped first_response")
	}
}

func TestReopenStartsNewResolutionCycle(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	h := newHistory(t, e, feedback.Cluster{ID: 5, Status: feedback.StatusNew, Severity: feedback.SeverityLow}, "", bt(t, "2026-03-09 09:00"))
	h.change(bt(t, "2026-03-09 10:00"), "bob", feedback.ActionDecline, "", func(c *feedback.Cluster) { c.Status = feedback.StatusDeclined })
	if res := metric(t, h.state(bt(t, "2026-03-09 12:00")), MetricResolution); res.Running || res.Elapsed != time.Hour {
		t.Errorf("declined: %+v", res)
	}
	h.change(bt(t, "2026-03-10 09:00"), "bob", feedback.ActionReopen, "", func(c *feedback.Cluster) { c.Status = feedback.StatusTriaged })
	res := metric(t, h.state(bt(t, "2026-03-10 10:00")), MetricResolution)
	if !res.Running || res.Cycle != 2 || res.Elapsed != time.Hour {
		t.Errorf("reopened: %+v", res)
	}
}

func TestNextResponse(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	h := newHistory(t, e, feedback.Cluster{ID: 6, Status: feedback.StatusNew}, "", bt(t, "2026-03-09 09:00"))
	if _, ok := h.state(bt(t, "2026-03-09 09:00")).Metric(MetricNextResponse); ok {
		t.Fatal("next_response must not start on creation")
	}
	h.change(bt(t, "2026-03-09 10:00"), "carol", feedback.ActionAssign, "", func(c *feedback.Cluster) { c.Owner = "carol" })
	h.apply(ClusterChange{Before: &h.c, After: h.c, PartnerActivity: true, At: bt(t, "2026-03-09 11:00")})
	nr := metric(t, h.state(bt(t, "2026-03-09 12:00")), MetricNextResponse)
	if !nr.Running || nr.Elapsed != time.Hour || !nr.BreachAt.Equal(bt(t, "2026-03-09 15:00")) {
		t.Errorf("next_response = %+v", nr)
	}
	h.change(bt(t, "2026-03-09 13:00"), "carol", feedback.ActionAccept, "", func(c *feedback.Cluster) { c.Status = feedback.StatusAccepted })
	if nr := metric(t, h.state(bt(t, "2026-03-09 14:00")), MetricNextResponse); nr.Running {
		t.Errorf("next_response still running: %+v", nr)
	}
}

// recorder is a Sender that keeps what it was given.
type recorder struct {
	mu   sync.Mutex
	sent []Notice
}

func (r *recorder) Send(_ context.Context, n Notice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, n)
	return nil
}

func (r *recorder) list() []Notice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Notice(nil), r.sent...)
}

func kinds(log *MemLog, id int64) []string {
	evs, _ := log.SLAEvents(context.Background(), id)
	var out []string
	for _, e := range evs {
		switch e.Kind {
		case EventWarn, EventBreach, EventEscalate:
			d, _ := Detail(e)
			out = append(out, strings.TrimPrefix(d.Key, "sla:7:"))
		}
	}
	return out
}

func TestWarningsAndBreachFireOnce(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	start := bt(t, "2026-03-09 09:00")
	h := newHistory(t, e, feedback.Cluster{ID: 7, Status: feedback.StatusNew, Severity: feedback.SeverityHigh}, "", start)
	clk := clock.NewFake(start)
	rec := &recorder{}
	v := &Evaluator{Engine: e, Log: h.log, Sender: rec, Clock: clk}
	sub := Subject{ClusterID: 7, Title: "Deploys fail", Chain: []string{"owner@example.com"}}
	// Tick every 10 minutes through Monday and Tuesday (16h of business time), twice
	// per instant as a redelivered job would.
	for clk.Now().Before(bt(t, "2026-03-10 18:00")) {
		for range 2 {
			if _, err := v.Run(context.Background(), []Subject{sub}); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(10 * time.Minute)
	}
	got := strings.Join(kinds(h.log, 7), " ")
	want := "first_response:1:warn75 first_response:1:warn90 first_response:1:breach resolution:1:warn75 resolution:1:warn90 resolution:1:breach"
	if got != want {
		t.Errorf("fired %s\nwant  %s", got, want)
	}
	if n := len(rec.list()); n != 6 {
		t.Errorf("sent %d notices, want 6", n)
	}
	// first_response 4h from 09:00: 75% = 12:00, 90% = 12:36, breach 13:00; each fires
	// at the first tick at or after it.
	evs, _ := h.log.SLAEvents(context.Background(), 7)
	wantAt := map[string]string{"first_response:1:warn75": "2026-03-09 12:00", "first_response:1:warn90": "2026-03-09 12:40",
		"first_response:1:breach": "2026-03-09 13:00", "resolution:1:breach": "2026-03-10 17:00"}
	for _, ev := range evs {
		d, _ := Detail(ev)
		if w, ok := wantAt[strings.TrimPrefix(d.Key, "sla:7:")]; ok && !ev.At.Equal(bt(t, w)) {
			t.Errorf("%s fired at %s, want %s", d.Key, ev.At.In(bt(t, w).Location()), w)
		}
	}
}

func TestBreachSkipsMootWarnings(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	h := newHistory(t, e, feedback.Cluster{ID: 7, Status: feedback.StatusNew, Severity: feedback.SeverityCritical}, "", bt(t, "2026-03-09 09:00"))
	v := &Evaluator{Engine: e, Log: h.log, Clock: clock.NewFake(bt(t, "2026-03-09 10:30"))}
	if _, err := v.Run(context.Background(), []Subject{{ClusterID: 7}}); err != nil {
		t.Fatal(err)
	}
	// Evaluated only after the 1h first response breached: the breach fires, the
	// warnings it overtook do not, now or later.
	if got := strings.Join(kinds(h.log, 7), " "); got != "first_response:1:breach" {
		t.Errorf("fired %q", got)
	}
}

func TestEscalationChainAndAck(t *testing.T) {
	t.Parallel()
	chain := []string{"owner@example.com", "lead@example.com", "vp@example.com"}
	run := func(t *testing.T, ackAt string) []Notice {
		e := testEngine(t)
		h := newHistory(t, e, feedback.Cluster{ID: 7, Status: feedback.StatusNew, Severity: feedback.SeverityCritical}, "", bt(t, "2026-03-09 09:00"))
		clk := clock.NewFake(bt(t, "2026-03-09 09:00"))
		rec := &recorder{}
		v := &Evaluator{Engine: e, Log: h.log, Sender: rec, Clock: clk}
		for clk.Now().Before(bt(t, "2026-03-09 12:00")) {
			if ackAt != "" && clk.Now().Equal(bt(t, ackAt)) {
				h.change(clk.Now(), "owner", feedback.ActionNote, "", nil) // a note is no response
				h.apply(ClusterChange{Before: &h.c, After: h.c, Actor: "system", Action: feedback.ActionAck, At: clk.Now()})
			}
			if _, err := v.Run(context.Background(), []Subject{{ClusterID: 7, Title: "Outage", Chain: chain}}); err != nil {
				t.Fatal(err)
			}
			clk.Advance(5 * time.Minute)
		}
		return rec.list()
	}
	t.Run("unacknowledged climbs the chain once per step", func(t *testing.T) {
		sent := run(t, "")
		var got []string
		for _, n := range sent {
			if n.Metric == MetricFirstResponse {
				got = append(got, n.Kind+"→"+n.Recipient+"@"+n.At.In(bt(t, "2026-03-09 09:00").Location()).Format("15:04"))
			}
		}
		// 1h target: 75% at 09:45, 90% at 09:54 (tick 09:55), breach at 10:00. Each alert
		// restarts the 30-minute timer; the chain then climbs at 10:30 and 11:00 and stops
		// at its end.
		want := "sla.warn→owner@example.com@09:45 sla.warn→owner@example.com@09:55 sla.breach→owner@example.com@10:00 " +
			"sla.escalate→lead@example.com@10:30 sla.escalate→vp@example.com@11:00"
		if strings.Join(got, " ") != want {
			t.Errorf("notices:\n%s\nwant\n%s", strings.Join(got, " "), want)
		}
	})
	t.Run("ack stops the chain", func(t *testing.T) {
		sent := run(t, "2026-03-09 10:15")
		for _, n := range sent {
			if n.Kind == "sla.escalate" {
				t.Errorf("escalated after ack: %+v", n)
			}
		}
	})
}

func TestTwoInstancesNotifyOnce(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	h := newHistory(t, e, feedback.Cluster{ID: 7, Status: feedback.StatusNew, Severity: feedback.SeverityCritical}, "", bt(t, "2026-03-09 09:00"))
	srv := startFakeSMTP(t)
	rec := &recorder{}
	now := bt(t, "2026-03-09 10:05")
	newInstance := func(s Sender) *Evaluator {
		return &Evaluator{Engine: e, Log: h.log, Sender: s, Clock: clock.NewFake(now)}
	}
	mail := &Notifier{Mailer: &Mailer{Addr: srv.addr, From: "hub@example.com", Clock: clock.NewFake(now)}}
	both := senders{rec, mail}
	var wg sync.WaitGroup
	results := make([]RunResult, 8)
	for i := range results {
		wg.Go(func() {
			r, err := newInstance(both).Run(context.Background(), []Subject{{ClusterID: 7, Title: "Outage", Chain: []string{"owner@example.com"}}})
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		})
	}
	wg.Wait()
	fired, lost := 0, 0
	for _, r := range results {
		fired += len(r.Fired)
		lost += r.Lost
	}
	if fired != 1 || len(rec.list()) != 1 || len(srv.messages()) != 1 {
		t.Fatalf("fired %d (lost %d), sent %d, mailed %d; want exactly one", fired, lost, len(rec.list()), len(srv.messages()))
	}
	if m := srv.messages()[0]; m.to[0] != "owner@example.com" || !strings.Contains(m.data, "SLA breached: first_response on cluster 7") {
		t.Errorf("mail = %+v", m)
	}
}

// senders sends through each in turn.
type senders []Sender

func (s senders) Send(ctx context.Context, n Notice) error {
	for _, x := range s {
		if err := x.Send(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func TestStateIgnoresEventsAfterNowAndBadDetail(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	evs := []store.SLAEvent{{ID: 1, ClusterID: 9, At: bt(t, "2026-03-09 09:00"), Kind: EventStart, Policy: "default", Metric: MetricResolution, Detail: `{"severity":"high"}`},
		{ID: 2, ClusterID: 9, At: bt(t, "2026-03-09 11:00"), Kind: EventPause, Policy: "default", Detail: `{"reason":"x"}`}}
	st, err := e.State(9, evs, bt(t, "2026-03-09 10:00"))
	if err != nil || st.Paused() || metric(t, st, MetricResolution).Elapsed != time.Hour {
		t.Errorf("state = %+v, %v", st, err)
	}
	evs = append(evs, store.SLAEvent{ID: 3, ClusterID: 9, At: bt(t, "2026-03-09 09:30"), Kind: EventPause, Detail: `{`})
	if _, err := e.State(9, evs, bt(t, "2026-03-09 10:00")); err == nil || !strings.Contains(err.Error(), "sla event 3: detail") {
		t.Errorf("bad detail err = %v", err)
	}
}
