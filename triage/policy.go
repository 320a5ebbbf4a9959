package triage

import (
	"fmt"
	"slices"
	"time"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// SLA metric names.
const (
	// MetricFirstResponse runs from a cluster's creation to the first decision a
	// person takes on it (anything but a note).
	MetricFirstResponse = "first_response"
	// MetricNextResponse runs from new partner activity on a cluster that already had
	// a response to the next decision a person takes.
	MetricNextResponse = "next_response"
	// MetricResolution runs from creation (or a reopen) until the cluster is resolved,
	// loop-closed, declined or merged.
	MetricResolution = "resolution"
)

// DefaultSeverity is the severity a cluster is timed as while it has none, so that a
// fresh, unassessed cluster still has a first-response clock.
const DefaultSeverity = feedback.SeverityMedium

// Policy is one compiled SLA policy.
type Policy struct {
	Name     string
	Calendar *Calendar // nil: always open
	// Match narrows the policy; an empty list matches everything.
	Severities []feedback.Severity
	Tiers      []string
	Categories []feedback.Category
	// WarnAt are the warning fractions of a target, ascending.
	WarnAt []float64
	// TierFactors multiplies targets for a partner tier (0.5 halves the time allowed).
	TierFactors map[string]float64
	// EscalateAfter is the wall-clock delay before an unacknowledged alert moves up the chain.
	EscalateAfter time.Duration
	// PauseStatuses and PauseLabels stop the clocks while a cluster has them.
	PauseStatuses []feedback.Status
	PauseLabels   []string

	targets map[feedback.Severity]map[string]time.Duration
}

// Matches reports whether the policy applies to a cluster of this severity, partner
// tier and category.
func (p *Policy) Matches(sev feedback.Severity, tier string, cat feedback.Category) bool {
	if sev == feedback.SeverityNone {
		sev = DefaultSeverity
	}
	return (len(p.Severities) == 0 || slices.Contains(p.Severities, sev)) &&
		(len(p.Tiers) == 0 || slices.Contains(p.Tiers, tier)) &&
		(len(p.Categories) == 0 || slices.Contains(p.Categories, cat))
}

// Target is the business time allowed for metric at this severity and partner tier,
// after the tier factor; ok is false when the policy sets no such target.
func (p *Policy) Target(sev feedback.Severity, metric, tier string) (d time.Duration, ok bool) {
	if sev == feedback.SeverityNone {
		sev = DefaultSeverity
	}
	d, ok = p.targets[sev][metric]
	if !ok {
		return 0, false
	}
	if f, has := p.TierFactors[tier]; has {
		d = time.Duration(float64(d) * f).Round(time.Second)
	}
	return d, true
}

// Metrics lists the metrics this policy has a target for at any severity, in the
// order first_response, next_response, resolution.
func (p *Policy) Metrics() []string {
	var out []string
	for _, m := range config.SLAMetrics {
		for _, ts := range p.targets {
			if _, ok := ts[m]; ok {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// PauseReasons returns why the clocks of c are paused under this policy
// ("status:deferred", "label:waiting-on-partner"); none means they run.
func (p *Policy) PauseReasons(c feedback.Cluster) []string {
	var out []string
	if slices.Contains(p.PauseStatuses, c.Status) {
		out = append(out, "status:"+string(c.Status))
	}
	for _, l := range p.PauseLabels {
		if slices.Contains(c.Labels, l) {
			out = append(out, "label:"+l)
		}
	}
	return out
}

// Engine holds the compiled SLA policies, in match order, and computes clock state,
// due warnings, breaches and escalation steps from a cluster's event log. It is
// immutable after NewEngine and safe for concurrent use.
type Engine struct {
	policies []*Policy
	byName   map[string]*Policy
}

// NewEngine compiles the SLA section of the config. baseDir resolves calendars'
// holidays_file paths (use (*config.Config).Dir()).
func NewEngine(cfg config.SLA, baseDir string) (*Engine, error) {
	cals := map[string]*Calendar{}
	for _, cc := range cfg.Calendars {
		c, err := CalendarFromConfig(cc, baseDir)
		if err != nil {
			return nil, fmt.Errorf("sla: %w", err)
		}
		cals[cc.Name] = c
	}
	e := &Engine{byName: map[string]*Policy{}}
	for i, pc := range cfg.Policies {
		if pc.Name == "" {
			return nil, fmt.Errorf("sla: policies[%d]: name required", i)
		}
		if _, dup := e.byName[pc.Name]; dup {
			return nil, fmt.Errorf("sla: policies[%d]: duplicate policy name %q", i, pc.Name)
		}
		p := &Policy{Name: pc.Name, Tiers: pc.Match.Tiers, TierFactors: pc.TierFactors,
			EscalateAfter: pc.EscalateAfter.D(), PauseLabels: pc.PauseLabels,
			targets: map[feedback.Severity]map[string]time.Duration{}}
		if pc.Calendar != "" {
			c, ok := cals[pc.Calendar]
			if !ok {
				return nil, fmt.Errorf("sla: policy %s: unknown calendar %q", pc.Name, pc.Calendar)
			}
			p.Calendar = c
		}
		for _, s := range pc.Match.Severities {
			sev, err := feedback.ParseSeverity(s)
			if err != nil {
				return nil, fmt.Errorf("sla: policy %s: %w", pc.Name, err)
			}
			p.Severities = append(p.Severities, sev)
		}
		for _, c := range pc.Match.Categories {
			p.Categories = append(p.Categories, feedback.Category(c))
		}
		for _, s := range pc.PauseStatuses {
			p.PauseStatuses = append(p.PauseStatuses, feedback.Status(s))
		}
		for s, ms := range pc.Targets {
			sev, err := feedback.ParseSeverity(s)
			if err != nil || sev == feedback.SeverityNone {
				return nil, fmt.Errorf("sla: policy %s: targets: unknown severity %q", pc.Name, s)
			}
			p.targets[sev] = map[string]time.Duration{}
			for m, d := range ms {
				if !slices.Contains(config.SLAMetrics, m) {
					return nil, fmt.Errorf("sla: policy %s: targets.%s: unknown metric %q", pc.Name, s, m)
				}
				if d.D() <= 0 {
					return nil, fmt.Errorf("sla: policy %s: targets.%s.%s: must be positive", pc.Name, s, m)
				}
				p.targets[sev][m] = d.D()
			}
		}
		p.WarnAt = append([]float64(nil), pc.WarnAt...)
		if len(p.WarnAt) == 0 {
			p.WarnAt = append(p.WarnAt, config.DefaultWarnAt...)
		}
		slices.Sort(p.WarnAt)
		if p.EscalateAfter <= 0 {
			p.EscalateAfter = config.DefaultEscalateAfter
		}
		if pc.PauseStatuses == nil {
			p.PauseStatuses = []feedback.Status{feedback.StatusDeferred}
		}
		if pc.PauseLabels == nil {
			p.PauseLabels = append([]string(nil), config.DefaultPauseLabels...)
		}
		e.policies = append(e.policies, p)
		e.byName[p.Name] = p
	}
	return e, nil
}

// Policies returns the policies in match order.
func (e *Engine) Policies() []*Policy { return e.policies }

// Policy returns the policy with the given name, or nil.
func (e *Engine) Policy(name string) *Policy { return e.byName[name] }

// Match returns the first policy, in config order, that applies to a cluster of this
// severity, partner tier and category, or nil when none does.
func (e *Engine) Match(sev feedback.Severity, tier string, cat feedback.Category) *Policy {
	for _, p := range e.policies {
		if p.Matches(sev, tier, cat) {
			return p
		}
	}
	return nil
}
