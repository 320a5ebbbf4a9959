package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"
)

// SLA holds the SLA policies (matched in order) and their business calendars.
type SLA struct {
	Policies  []SLAPolicy `yaml:"policies"`
	Calendars []Calendar  `yaml:"calendars"`
}

// SLAPolicy sets response and resolution targets for the clusters it matches.
type SLAPolicy struct {
	Name     string `yaml:"name"`
	Calendar string `yaml:"calendar"`
	// Match narrows the policy; empty lists match everything.
	Match SLAMatch `yaml:"match"`
	// Targets maps severity (low, medium, high, critical) to metric
	// (first_response, next_response, resolution) to a duration of business time.
	Targets map[string]map[string]Duration `yaml:"targets"`
	// WarnAt lists the fractions of a target at which warnings fire (default 0.75, 0.9).
	WarnAt []float64 `yaml:"warn_at"`
	// TierFactors multiplies every target for clusters of a partner tier, e.g.
	// design-partner: 0.5 halves the time allowed. A missing tier keeps the targets.
	TierFactors map[string]float64 `yaml:"tier_factors"`
	// EscalateAfter is how long (wall-clock) a warning or breach may stay
	// unacknowledged before the next level of the escalation chain is told (default 1h).
	EscalateAfter Duration `yaml:"escalate_after"`
	// PauseStatuses lists cluster statuses during which the clocks stop (default: deferred).
	PauseStatuses []string `yaml:"pause_statuses"`
	// PauseLabels lists cluster labels during which the clocks stop, such as the label
	// that marks a cluster as waiting on the partner (default: waiting-on-partner).
	PauseLabels []string `yaml:"pause_labels"`
}

// SLAMatch selects clusters for a policy.
type SLAMatch struct {
	Severities []string `yaml:"severities"`
	Tiers      []string `yaml:"tiers"`
	Categories []string `yaml:"categories"`
}

// Calendar is a business calendar: working hours per weekday in a time zone, and holidays.
type Calendar struct {
	Name     string `yaml:"name"`
	Timezone string `yaml:"timezone"`
	// Hours maps mon..sun to "09:00-17:00"; a missing day is not worked.
	Hours        map[string]string `yaml:"hours"`
	Holidays     []string          `yaml:"holidays"` // YYYY-MM-DD
	HolidaysFile string            `yaml:"holidays_file"`
}

// SLAMetrics are the metric names targets may use.
var SLAMetrics = []string{"first_response", "next_response", "resolution"}

var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

var hoursRE = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$`)

// Validate checks the SLA section.
func (s *SLA) Validate() error {
	var errs []error
	cals := map[string]bool{}
	for i, c := range s.Calendars {
		p := fmt.Sprintf("calendars[%d]", i)
		if c.Name == "" {
			errs = append(errs, fieldErr(p+".name", "required"))
		} else if cals[c.Name] {
			errs = append(errs, fieldErr(p+".name", "duplicate calendar name %q", c.Name))
		}
		cals[c.Name] = true
		if _, err := time.LoadLocation(c.Timezone); c.Timezone == "" || err != nil {
			errs = append(errs, fieldErr(p+".timezone", "unknown time zone %q (want an IANA name like Europe/Berlin)", c.Timezone))
		}
		for day, h := range c.Hours {
			if !contains(weekdays, day) {
				errs = append(errs, fieldErr(p+".hours."+day, "unknown weekday (want mon … sun)"))
			} else if !hoursRE.MatchString(h) {
				errs = append(errs, fieldErr(p+".hours."+day, "%q is not HH:MM-HH:MM", h))
			}
		}
		for j, h := range c.Holidays {
			if _, err := time.Parse("2006-01-02", h); err != nil {
				errs = append(errs, fieldErr(fmt.Sprintf("%s.holidays[%d]", p, j), "%q is not a date (YYYY-MM-DD)", h))
			}
		}
	}
	for i, pol := range s.Policies {
		p := fmt.Sprintf("policies[%d]", i)
		if pol.Name == "" {
			errs = append(errs, fieldErr(p+".name", "required"))
		}
		if pol.Calendar != "" && !cals[pol.Calendar] {
			errs = append(errs, fieldErr(p+".calendar", "unknown calendar %q", pol.Calendar))
		}
		for j, sev := range pol.Match.Severities {
			if !validSeverity(sev) {
				errs = append(errs, fieldErr(fmt.Sprintf("%s.match.severities[%d]", p, j), "unknown severity %q", sev))
			}
		}
		for sev, metrics := range pol.Targets {
			if !validSeverity(sev) {
				errs = append(errs, fieldErr(p+".targets."+sev, "unknown severity %q (want low, medium, high, critical)", sev))
			}
			for m, d := range metrics {
				if !contains(SLAMetrics, m) {
					errs = append(errs, fieldErr(p+".targets."+sev+"."+m, "unknown metric %q (want %s)", m, strings.Join(SLAMetrics, ", ")))
				}
				if d.D() <= 0 {
					errs = append(errs, fieldErr(p+".targets."+sev+"."+m, "must be positive"))
				}
			}
		}
		for j, w := range pol.WarnAt {
			if w <= 0 || w >= 1 {
				errs = append(errs, fieldErr(fmt.Sprintf("%s.warn_at[%d]", p, j), "%v must be between 0 and 1", w))
			}
		}
		for tier, f := range pol.TierFactors {
			if tier == "" || f <= 0 || f > 10 {
				errs = append(errs, fieldErr(p+".tier_factors."+tier, "%v must be a positive factor (0.5 halves the targets)", f))
			}
		}
		for j, st := range pol.PauseStatuses {
			if !contains(clusterStatuses, st) {
				errs = append(errs, fieldErr(fmt.Sprintf("%s.pause_statuses[%d]", p, j), "unknown cluster status %q (want one of %s)", st, strings.Join(clusterStatuses, ", ")))
			}
		}
	}
	return errors.Join(errs...)
}

// clusterStatuses mirrors feedback.Status values (config imports feedback only for types).
var clusterStatuses = []string{"new", "triaged", "accepted", "declined", "deferred", "merged", "in_progress", "resolved", "loop_closed"}

func validSeverity(s string) bool {
	switch s {
	case "low", "medium", "high", "critical":
		return true
	}
	return false
}

// Sync configures where accepted clusters become tickets.
type Sync struct {
	Targets []SyncTarget `yaml:"targets"`
	// Defaults maps a category to the target name used when no target's `when` matches.
	Defaults map[string]string `yaml:"defaults"`
	// PublicURL is the hub's own address (the dashboard); tickets link back to
	// PUBLIC_URL/clusters/ID. Empty: the link names the cluster only.
	PublicURL string `yaml:"public_url"`
	// MaxAttempts dead-letters an outbox row after this many failed deliveries
	// (default 8 in package sync).
	MaxAttempts int `yaml:"max_attempts"`
	// Templates are the Go text/template texts of what reporters and tickets are told;
	// empty ones use package sync's built-in texts.
	Templates SyncTemplates `yaml:"templates"`
}

// SyncTemplates are text/template texts for the messages sync writes. Each gets the
// cluster, its ticket and (for reporter notices) the item being answered.
type SyncTemplates struct {
	// ResolvedSubject and Resolved tell a reporter their feedback was resolved (email
	// subject; email, comment and callback text).
	ResolvedSubject string `yaml:"resolved_subject"`
	Resolved        string `yaml:"resolved"`
	// Update is the comment posted on a ticket when new items join its cluster.
	Update string `yaml:"update"`
}

// SyncTarget is a Jira project or GitHub repository that receives tickets.
type SyncTarget struct {
	Name string `yaml:"name"`
	Kind string `yaml:"kind"` // jira or github
	// Source names the configured source whose connection (URL, credentials) is used.
	Source    string   `yaml:"source"`
	Project   string   `yaml:"project"`
	Repo      string   `yaml:"repo"`
	IssueType string   `yaml:"issue_type"`
	Labels    []string `yaml:"labels"`
	When      string   `yaml:"when"`
	// Summary and Description are Go text/template texts.
	Summary     string `yaml:"summary"`
	Description string `yaml:"description"`
	// Priorities maps a cluster severity (low … critical) to the remote priority: a
	// Jira priority name, or a GitHub label.
	Priorities map[string]string `yaml:"priorities"`
	// Components maps a cluster category to Jira component names.
	Components map[string][]string `yaml:"components"`
	// Authority says which side wins when a field changes on both: status and
	// severity map to hub or remote (defaults: status remote, severity hub).
	Authority map[string]string `yaml:"authority"`
	// StatusMap maps a remote status (Jira status name, GitHub open/closed) to a
	// cluster status; unmapped statuses are ignored.
	StatusMap map[string]string `yaml:"status_map"`
	// DryRun makes the target plan-only: tickets for it are queued and rendered by
	// `sync --once --dry-run` (and the pilot), but never sent, and its outbox rows
	// stay pending instead of failing. It needs no source.
	DryRun bool `yaml:"dry_run"`
}

// SyncFields are the fields whose authority a sync target may set.
var SyncFields = []string{"status", "severity"}

// Validate checks the sync section.
func (s *Sync) Validate() error {
	var errs []error
	names := map[string]bool{}
	for i, t := range s.Targets {
		p := fmt.Sprintf("targets[%d]", i)
		if t.Name == "" {
			errs = append(errs, fieldErr(p+".name", "required"))
		} else if names[t.Name] {
			errs = append(errs, fieldErr(p+".name", "duplicate target name %q", t.Name))
		}
		names[t.Name] = true
		switch t.Kind {
		case "jira":
			if t.Project == "" {
				errs = append(errs, fieldErr(p+".project", "required for a jira target"))
			}
		case "github":
			if strings.Count(t.Repo, "/") != 1 {
				errs = append(errs, fieldErr(p+".repo", "required for a github target, as owner/name"))
			}
		default:
			errs = append(errs, fieldErr(p+".kind", "unknown target kind %q (want jira or github)", t.Kind))
		}
		for j, l := range t.Labels {
			if strings.ContainsAny(l, " \t") {
				errs = append(errs, fieldErr(fmt.Sprintf("%s.labels[%d]", p, j), "%q contains spaces, which Jira refuses", l))
			}
		}
		for sev, pr := range t.Priorities {
			if !validSeverity(sev) {
				errs = append(errs, fieldErr(p+".priorities."+sev, "unknown severity %q (want low, medium, high, critical)", sev))
			} else if strings.TrimSpace(pr) == "" {
				errs = append(errs, fieldErr(p+".priorities."+sev, "empty priority"))
			}
		}
		if len(t.Components) > 0 && t.Kind != "jira" {
			errs = append(errs, fieldErr(p+".components", "only jira targets have components"))
		}
		for field, who := range t.Authority {
			if !contains(SyncFields, field) {
				errs = append(errs, fieldErr(p+".authority."+field, "unknown field (want %s)", strings.Join(SyncFields, " or ")))
			} else if who != "hub" && who != "remote" {
				errs = append(errs, fieldErr(p+".authority."+field, "%q must be hub or remote", who))
			}
		}
		for remote, st := range t.StatusMap {
			if !contains(clusterStatuses, st) {
				errs = append(errs, fieldErr(p+".status_map."+remote, "unknown cluster status %q (want one of %s)", st, strings.Join(clusterStatuses, ", ")))
			}
		}
		for name, text := range map[string]string{"summary": t.Summary, "description": t.Description} {
			if _, err := template.New(name).Parse(text); err != nil {
				errs = append(errs, fieldErr(p+"."+name, "bad template: %v", err))
			}
		}
	}
	if s.MaxAttempts < 0 {
		errs = append(errs, fieldErr("max_attempts", "must not be negative"))
	}
	if s.PublicURL != "" && !strings.HasPrefix(s.PublicURL, "http://") && !strings.HasPrefix(s.PublicURL, "https://") {
		errs = append(errs, fieldErr("public_url", "%q must be an http(s) URL", s.PublicURL))
	}
	for name, text := range map[string]string{"resolved_subject": s.Templates.ResolvedSubject, "resolved": s.Templates.Resolved, "update": s.Templates.Update} {
		if _, err := template.New(name).Parse(text); err != nil {
			errs = append(errs, fieldErr("templates."+name, "bad template: %v", err))
		}
	}
	for cat, name := range s.Defaults {
		if !names[name] {
			errs = append(errs, fieldErr("defaults."+cat, "unknown target %q", name))
		}
	}
	return errors.Join(errs...)
}

// Notify configures how people are told about SLA warnings, escalations and digests.
type Notify struct {
	SMTP     *SMTP           `yaml:"smtp"`
	Webhooks []NotifyWebhook `yaml:"webhooks"`
	// Digest, when set, delivers the review digest on a schedule.
	Digest *DigestDelivery `yaml:"digest"`
}

// DigestDelivery says where the weekly review digest goes and how it looks.
type DigestDelivery struct {
	// Window is how far back the digest looks (default 7d); the trend compares it
	// with the window before.
	Window Duration `yaml:"window"`
	// Format is md or html (default html).
	Format string `yaml:"format"`
	// To lists email recipients (needs notify.smtp).
	To []string `yaml:"to"`
	// Webhooks names entries of notify.webhooks that receive the digest.
	Webhooks []string `yaml:"webhooks"`
}

// SMTP is an outgoing mail server.
type SMTP struct {
	Addr         string `yaml:"addr"`
	From         string `yaml:"from"`
	UsernameEnv  string `yaml:"username_env"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	StartTLS     bool   `yaml:"starttls"`
}

// NotifyWebhook posts JSON (or a Slack-compatible message) to a URL held in an env var.
type NotifyWebhook struct {
	Name   string `yaml:"name"`
	URLEnv string `yaml:"url_env"`
	Slack  bool   `yaml:"slack"`
}

// Validate checks the notify section.
func (n *Notify) Validate() error {
	var errs []error
	if n.SMTP != nil {
		if n.SMTP.Addr == "" {
			errs = append(errs, fieldErr("smtp.addr", "required (host:port)"))
		}
		if !strings.Contains(n.SMTP.From, "@") {
			errs = append(errs, fieldErr("smtp.from", "required: an email address"))
		}
		errs = append(errs, under("smtp", onlyOne("password_env", n.SMTP.PasswordEnv, "password_file", n.SMTP.PasswordFile)))
	}
	hooks := map[string]bool{}
	for i, w := range n.Webhooks {
		p := fmt.Sprintf("webhooks[%d]", i)
		if w.Name == "" {
			errs = append(errs, fieldErr(p+".name", "required"))
		} else if hooks[w.Name] {
			errs = append(errs, fieldErr(p+".name", "duplicate webhook name %q", w.Name))
		}
		hooks[w.Name] = true
		if w.URLEnv == "" {
			errs = append(errs, fieldErr(p+".url_env", "required: the URL is a secret, give the variable that holds it"))
		}
	}
	if d := n.Digest; d != nil {
		if d.Format != "md" && d.Format != "html" {
			errs = append(errs, fieldErr("digest.format", "unknown format %q (want md or html)", d.Format))
		}
		if len(d.To) == 0 && len(d.Webhooks) == 0 {
			errs = append(errs, fieldErr("digest", "needs at least one recipient in to or webhooks"))
		}
		if len(d.To) > 0 && n.SMTP == nil {
			errs = append(errs, fieldErr("digest.to", "email delivery needs notify.smtp"))
		}
		for i, to := range d.To {
			if !strings.Contains(to, "@") {
				errs = append(errs, fieldErr(fmt.Sprintf("digest.to[%d]", i), "%q is not an email address", to))
			}
		}
		for i, w := range d.Webhooks {
			if !hooks[w] {
				errs = append(errs, fieldErr(fmt.Sprintf("digest.webhooks[%d]", i), "unknown webhook %q (declare it in notify.webhooks)", w))
			}
		}
	}
	return errors.Join(errs...)
}

// Validate checks a partner.
func (p *Partner) Validate() error {
	var errs []error
	if p.ID == "" {
		errs = append(errs, fieldErr("id", "required"))
	} else if !sourceNameRE.MatchString(p.ID) || p.ID == "unknown" {
		errs = append(errs, fieldErr("id", "%q must be lower-case letters, digits, - or _ and not \"unknown\"", p.ID))
	}
	for i, d := range p.Domains {
		if strings.ContainsAny(d, "@ /") || !strings.Contains(d, ".") {
			errs = append(errs, fieldErr(fmt.Sprintf("domains[%d]", i), "%q is not a mail domain", d))
		}
	}
	if p.CallbackURLEnv != "" && len(p.WebhookSecretsEnv) == 0 {
		errs = append(errs, fieldErr("callback_url_env", "callbacks are signed: set webhook_secrets_env too"))
	}
	return errors.Join(errs...)
}

// Validate checks the whole config and returns every problem, joined.
func (c *Config) Validate() error {
	var errs []error
	if c.Database.URL == "" {
		errs = append(errs, fieldErr("database.url", "required"))
	} else if !strings.HasPrefix(c.Database.URL, "sqlite:") && !strings.HasPrefix(c.Database.URL, "postgres://") && !strings.HasPrefix(c.Database.URL, "postgresql://") {
		errs = append(errs, fieldErr("database.url", "unsupported database URL (want sqlite:PATH or postgres://…)"))
	}
	if c.Server.Addr == "" {
		errs = append(errs, fieldErr("server.addr", "required (host:port)"))
	}
	errs = append(errs, under("server", c.Server.validateTokensAndJobs()))
	names := map[string]int{}
	for i := range c.Sources {
		p := fmt.Sprintf("sources[%d]", i)
		errs = append(errs, under(p, c.Sources[i].Validate()))
		if n := c.Sources[i].Name; n != "" {
			if j, dup := names[n]; dup {
				errs = append(errs, fieldErr(p+".name", "duplicate source name %q (also sources[%d])", n, j))
			}
			names[n] = i
		}
	}
	ids := map[string]int{}
	for i := range c.Partners {
		p := fmt.Sprintf("partners[%d]", i)
		errs = append(errs, under(p, c.Partners[i].Validate()))
		if id := c.Partners[i].ID; id != "" {
			if j, dup := ids[id]; dup {
				errs = append(errs, fieldErr(p+".id", "duplicate partner id %q (also partners[%d])", id, j))
			}
			ids[id] = i
		}
	}
	errs = append(errs, under("sla", c.SLA.Validate()), under("sync", c.Sync.Validate()), under("notify", c.Notify.Validate()))
	return errors.Join(errs...)
}
