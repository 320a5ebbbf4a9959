// Package sync turns accepted clusters into Jira or GitHub tickets exactly once,
// keeps those tickets up to date, brings their status back, and closes the loop with
// every reporter.
//
// Effects leave through the store's outbox: accepting a cluster writes the decision,
// the status and a "ticket.create" row in one transaction (Accept), and a worker
// (Deliver, or Drain for a batch) carries rows out. Before creating a ticket the
// worker looks for the cluster's marker on the remote side (Jira label
// fh-cluster-ID, GitHub hidden comment), so a crash between the remote create and the
// local commit adopts the ticket instead of creating a second one. Status comes back
// through ApplyRemote (webhook records) or Poll; per-field authority decides who
// wins, and the ticket's "written" bookkeeping keeps our own writes from echoing back
// as changes. A resolved cluster enqueues "notify.resolved": each reporter is told
// once in their own channel and each notice is logged as a decision.
//
// The package name shadows the standard library's sync; inside it, that one is
// imported as stdsync.
package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// Outbox row kinds this package writes and delivers.
const (
	KindCreate = "ticket.create"
	KindUpdate = "ticket.update"
	KindNotify = "notify.resolved"
	// KindReopen brings a closed ticket back when its cluster is accepted again after
	// a reopen: the ticket is reopened at the tracker and told why.
	KindReopen = "ticket.reopen"
)

// Actor is the decision log's actor for what sync does on its own.
const Actor = "system:sync"

// Defaults for Options.
const (
	DefaultMaxAttempts = 8
	// DefaultLease is how long a claimed outbox row stays with its worker. It is
	// renewed before each row is delivered and again just before a ticket is created,
	// and it outlasts one tracker call (TrackerPolicy: 3 tries of at most a 2-minute
	// wait and a 60 s request each), so no other worker can claim a row while its
	// creation is in flight.
	DefaultLease = 15 * time.Minute
)

// TrackerPolicy bounds the retries and waits of one ticket-tracker call (see
// DefaultLease); a rate limit asking for longer fails the attempt, which the outbox
// retries later.
var TrackerPolicy = connectors.Policy{MaxAttempts: 3, MaxWait: 2 * time.Minute}

// errLeaseLost is a delivery that found its row claimed by another worker: the row
// is that worker's now, and nothing is recorded on it.
var errLeaseLost = errors.New("outbox row claimed by another worker (lease ran out)")

// Target is a configured sync target, compiled.
type Target struct {
	config.SyncTarget
	when        *vm.Program
	summary     *template.Template
	description *template.Template
}

// Authority returns who wins a field (status, severity): "hub" or "remote". Status
// defaults to remote (the team works the ticket), severity to hub (triage decides).
func (t *Target) Authority(field string) string {
	if v := t.SyncTarget.Authority[field]; v != "" {
		return v
	}
	if field == "status" {
		return "remote"
	}
	return "hub"
}

// Place is where the target's tickets live.
func (t *Target) Place() Place {
	return Place{Project: t.Project, Repo: t.Repo, IssueType: t.IssueType}
}

// Priority maps a severity to the target's remote priority ("" when unmapped).
func (t *Target) Priority(s feedback.Severity) string { return t.Priorities[string(s)] }

// severityOf maps a remote priority back to a severity (for remote severity authority).
func (t *Target) severityOf(priority string) (feedback.Severity, bool) {
	for sev, p := range t.Priorities {
		if strings.EqualFold(p, priority) {
			return feedback.Severity(sev), true
		}
	}
	return "", false
}

// ClusterStatus maps a remote status to a cluster status: the target's status_map,
// else the built-in mapping (Jira Done/Closed/Resolved and GitHub closed → resolved;
// In Progress → in_progress). ok is false for statuses that mean nothing here.
func (t *Target) ClusterStatus(remote string) (feedback.Status, bool) {
	for k, v := range t.StatusMap {
		if strings.EqualFold(k, remote) {
			return feedback.Status(v), true
		}
	}
	if len(t.StatusMap) > 0 {
		return "", false
	}
	switch strings.ToLower(strings.TrimSpace(remote)) {
	case "done", "closed", "resolved":
		return feedback.StatusResolved, true
	case "in progress", "in review":
		return feedback.StatusInProgress, true
	}
	return "", false
}

// WhenEnv is what a target's `when` expression sees.
type WhenEnv struct {
	Category string   `expr:"category"`
	Severity string   `expr:"severity"`
	Title    string   `expr:"title"`
	Labels   []string `expr:"labels"`
	Partners []string `expr:"partners"`
	Sources  []string `expr:"sources"`
	Items    int      `expr:"items"`
}

// CompileTarget checks a target's `when` expression and templates.
func CompileTarget(st config.SyncTarget) (*Target, error) {
	t := &Target{SyncTarget: st}
	if strings.TrimSpace(st.When) != "" {
		p, err := expr.Compile(st.When, expr.Env(WhenEnv{}), expr.AsBool())
		if err != nil {
			return nil, fmt.Errorf("sync target %s: when: %w", st.Name, err)
		}
		t.when = p
	}
	var err error
	if t.summary, err = parseTemplate(st.Name+".summary", st.Summary, DefaultSummary); err != nil {
		return nil, fmt.Errorf("sync target %s: %w", st.Name, err)
	}
	if t.description, err = parseTemplate(st.Name+".description", st.Description, DefaultDescription); err != nil {
		return nil, fmt.Errorf("sync target %s: %w", st.Name, err)
	}
	return t, nil
}

// Templates are the compiled reporter and update texts.
type Templates struct {
	ResolvedSubject, Resolved, Update *template.Template
}

// CompileTemplates compiles sync.templates, falling back to the built-in texts.
func CompileTemplates(c config.SyncTemplates) (Templates, error) {
	var t Templates
	var errs []error
	var err error
	t.ResolvedSubject, err = parseTemplate("resolved_subject", c.ResolvedSubject, DefaultResolvedSubject)
	errs = append(errs, err)
	t.Resolved, err = parseTemplate("resolved", c.Resolved, DefaultResolved)
	errs = append(errs, err)
	t.Update, err = parseTemplate("update", c.Update, DefaultUpdate)
	errs = append(errs, err)
	return t, errors.Join(errs...)
}

// Syncer delivers the outbox and runs status back. Build it with New (from the
// config) or fill the fields directly (tests).
type Syncer struct {
	Store   *store.Store
	Targets []*Target
	// Defaults maps a category to a target name when no target's `when` matches;
	// the key "*" catches every category.
	Defaults map[string]string
	// Trackers maps a configured source name to its tracker; targets reach theirs
	// through SyncTarget.Source, and reporter comments through the item's source.
	Trackers map[string]Tracker
	// SourceKinds maps a source name to its kind (github, jira, imap, webhook, file).
	SourceKinds map[string]string
	// Partners maps partner id to its name (descriptions) and callback (close the loop).
	Partners map[string]Partner
	Mailer   Mailer // nil: email reporters fail until notify.smtp is configured
	// Callbacks sends signed partner callbacks; nil uses a default connectors.Client.
	Callbacks *connectors.Client
	Templates Templates
	// SLA, when set, puts the cluster's resolution due time into descriptions.
	SLA *triage.Engine

	PublicURL   string
	MaxAttempts int
	Lease       time.Duration
	Clock       clock.Clock
	Log         *slog.Logger
	// Backoff is the wait before retry n (1-based) of a failed row; default
	// exponential from 1 minute, capped at 6 hours.
	Backoff func(attempt int) time.Duration
	// Faults, when set, is called at named points of every delivery; a non-nil error
	// aborts the delivery there as if the process died (crash tests).
	Faults func(point string) error
}

// Partner is what sync needs of a configured partner.
type Partner struct {
	ID, Name    string
	CallbackURL string // "" when the partner takes no callbacks
	// Secret is the partner's Standard Webhooks signing secret (whsec_…).
	Secret string
}

func (s *Syncer) clock() clock.Clock {
	if s.Clock == nil {
		return clock.Real{}
	}
	return s.Clock
}

func (s *Syncer) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Syncer) fault(point string) error {
	if s.Faults == nil {
		return nil
	}
	return s.Faults(point)
}

// Target returns the target with a name.
func (s *Syncer) Target(name string) (*Target, bool) {
	for _, t := range s.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return nil, false
}

// TargetFor picks the target for a cluster: the first target whose `when` matches,
// else the category's default, else the "*" default.
func (s *Syncer) TargetFor(c feedback.Cluster, items []feedback.Item) (*Target, error) {
	env := WhenEnv{Category: string(c.Category), Severity: string(c.Severity), Title: c.Title, Labels: c.Labels, Items: len(items)}
	seen := map[string]bool{}
	for _, it := range items {
		if it.Partner != "" && it.Partner != feedback.UnknownPartner && !seen["p:"+it.Partner] {
			seen["p:"+it.Partner] = true
			env.Partners = append(env.Partners, it.Partner)
		}
		if !seen["s:"+it.Source] {
			seen["s:"+it.Source] = true
			env.Sources = append(env.Sources, it.Source)
		}
	}
	for _, t := range s.Targets {
		if t.when == nil {
			continue
		}
		ok, err := expr.Run(t.when, env)
		if err != nil {
			return nil, fmt.Errorf("sync target %s: when: %w", t.Name, err)
		}
		if b, _ := ok.(bool); b {
			return t, nil
		}
	}
	for _, key := range []string{string(c.Category), "*"} {
		if name, ok := s.Defaults[key]; ok {
			if t, ok := s.Target(name); ok {
				return t, nil
			}
			return nil, fmt.Errorf("sync: default target %q for %q is not configured", name, key)
		}
	}
	return nil, fmt.Errorf("sync: no target for cluster %d (category %q): add a target with a matching when, or sync.defaults", c.ID, c.Category)
}

func (s *Syncer) tracker(t *Target) (Tracker, error) {
	tr, ok := s.Trackers[t.Source]
	if !ok {
		return nil, permanent("sync target %s: no tracker for source %q", t.Name, t.Source)
	}
	if tr.Kind() != t.Kind {
		return nil, permanent("sync target %s is %s but source %q is %s", t.Name, t.Kind, t.Source, tr.Kind())
	}
	return tr, nil
}

// CreateKey is the outbox idempotency key of a cluster's ticket at a target.
func CreateKey(clusterID int64, target string) string {
	return "ticket:create:" + strconv.FormatInt(clusterID, 10) + ":" + target
}

// AcceptResult is what Accept did.
type AcceptResult struct {
	Change   triage.Change
	Target   string
	OutboxID int64
	// Queued is false when the cluster's ticket was already queued (or delivered) earlier.
	Queued bool
	// Reopen is set when the cluster already has a ticket at the target (accepted
	// again after a reopen) and a row to reopen it was queued (ReopenID).
	Reopen   bool
	ReopenID int64
}

// Accept accepts a cluster: triage's state machine checks the move, and the accept
// decision, the new status and the outbox row that will create the ticket are
// written in one transaction. It calls no remote service.
func (s *Syncer) Accept(ctx context.Context, clusterID int64, actor, reason string) (AcceptResult, error) {
	c, err := s.Store.Cluster(ctx, clusterID)
	if err != nil {
		return AcceptResult{}, fmt.Errorf("accept cluster %d: %w", clusterID, err)
	}
	ch, err := triage.Decide(c, triage.Request{Action: feedback.ActionAccept, Target: triage.ClusterTarget(c.ID), Actor: actor, Reason: reason}, s.clock().Now())
	if err != nil {
		return AcceptResult{}, err
	}
	items, err := s.Store.ClusterItems(ctx, c.ID)
	if err != nil {
		return AcceptResult{}, fmt.Errorf("accept cluster %d: %w", clusterID, err)
	}
	t, err := s.TargetFor(ch.After, items)
	if err != nil {
		return AcceptResult{}, err
	}
	rows := []store.OutboxRow{{IdempotencyKey: CreateKey(c.ID, t.Name), Kind: KindCreate, Target: t.Name, ClusterID: c.ID,
		Payload: []byte(fmt.Sprintf(`{"target":%q}`, t.Name))}}
	// Accepted again after a reopen: the cluster's ticket exists (and is likely closed);
	// the create is done already, so the ticket is reopened instead.
	if _, err := s.Store.TicketFor(ctx, c.ID, t.Name); err == nil {
		prev, err := s.Store.ListOutbox(ctx, store.OutboxFilter{Kind: KindReopen, ClusterID: c.ID})
		if err != nil {
			return AcceptResult{}, fmt.Errorf("accept cluster %d: %w", clusterID, err)
		}
		payload, _ := json.Marshal(reopenPayload{Target: t.Name, Actor: actor, Reason: reason})
		rows = append(rows, store.OutboxRow{IdempotencyKey: fmt.Sprintf("ticket:reopen:%d:%s:%d", c.ID, t.Name, len(prev)+1),
			Kind: KindReopen, Target: t.Name, ClusterID: c.ID, Payload: payload})
	} else if !errors.Is(err, store.ErrNotFound) {
		return AcceptResult{}, fmt.Errorf("accept cluster %d: %w", clusterID, err)
	}
	res, err := s.Store.AcceptCluster(ctx, ch.After, ch.Before.Status, ch.Decision, rows...)
	if err != nil {
		return AcceptResult{}, fmt.Errorf("accept cluster %d: %w", clusterID, err)
	}
	ch.Decision.ID = res.DecisionID
	if err := s.clockEvents(ctx, ch.Before, ch.After, actor, feedback.ActionAccept); err != nil {
		return AcceptResult{}, fmt.Errorf("accept cluster %d: %w", clusterID, err)
	}
	out := AcceptResult{Change: ch, Target: t.Name, OutboxID: res.OutboxIDs[0], Queued: res.Created[0]}
	if len(rows) > 1 {
		out.ReopenID, out.Reopen = res.OutboxIDs[1], res.Created[1]
	}
	return out, nil
}

// reopenPayload is a KindReopen row's payload: who accepted the cluster again and why.
type reopenPayload struct {
	Target string `json:"target"`
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
}

// clockEvents appends the SLA clock events a cluster change implies (a person's
// accept answers the partner and stops the response clocks; resolving stops the
// resolution clock), as triage.Service.Decide does for the decisions it applies.
// Without an SLA engine it does nothing.
func (s *Syncer) clockEvents(ctx context.Context, before, after feedback.Cluster, actor string, action feedback.Action) error {
	if s.SLA == nil {
		return nil
	}
	_, err := s.SLA.Apply(ctx, s.Store, triage.ClusterChange{Before: &before, After: after, Actor: actor, Action: action, At: s.clock().Now()})
	return err
}

// hubURL is the cluster's page in the hub, "" without a public URL.
func (s *Syncer) hubURL(clusterID int64) string {
	if s.PublicURL == "" {
		return ""
	}
	return strings.TrimRight(s.PublicURL, "/") + "/clusters/" + strconv.FormatInt(clusterID, 10)
}

// slaLine describes the cluster's resolution clock for a description.
func (s *Syncer) slaLine(ctx context.Context, c feedback.Cluster) string {
	if s.SLA == nil {
		return ""
	}
	evs, err := s.Store.SLAEvents(ctx, c.ID)
	if err != nil || len(evs) == 0 {
		return ""
	}
	st, err := s.SLA.State(c.ID, evs, s.clock().Now())
	if err != nil || st.Policy == "" {
		return ""
	}
	line := "policy " + st.Policy
	for _, name := range []string{"first_response", "resolution"} {
		if m, ok := st.Metric(name); ok && m.HasTarget {
			line += fmt.Sprintf("; %s target %s", strings.ReplaceAll(name, "_", " "), m.Target)
			if !m.BreachAt.IsZero() {
				line += ", due " + m.BreachAt.UTC().Format("2006-01-02 15:04 MST")
			}
			if m.Breached {
				line += " (breached)"
			}
		}
	}
	return line
}

// Render builds the issue a cluster becomes at a target, without calling anything.
func (s *Syncer) Render(ctx context.Context, t *Target, c feedback.Cluster, items []feedback.Item) (Issue, error) {
	names := map[string]string{}
	for id, p := range s.Partners {
		names[id] = p.Name
	}
	data := ticketData(c, items, names, s.slaLine(ctx, c), s.hubURL(c.ID))
	summary, err := execute(t.summary, data)
	if err != nil {
		return Issue{}, err
	}
	desc, err := execute(t.description, data)
	if err != nil {
		return Issue{}, err
	}
	if summary == "" {
		summary = fmt.Sprintf("feedbackhub cluster %d", c.ID)
	}
	is := Issue{ClusterID: c.ID, Summary: summary, Description: desc, Priority: t.Priority(c.Severity),
		Components: t.Components[string(c.Category)], HubURL: s.hubURL(c.ID)}
	for _, l := range append(append([]string(nil), t.Labels...), c.Labels...) {
		if t.Kind == "jira" {
			l = jiraLabel(l)
		}
		if l != "" && !contains(is.Labels, l) {
			is.Labels = append(is.Labels, l)
		}
	}
	return is, nil
}

func itemIDs(items []feedback.Item) []int64 {
	out := make([]int64, 0, len(items))
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}
