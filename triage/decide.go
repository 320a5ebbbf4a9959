package triage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

// transitions is the cluster state machine: new → triaged → accepted | declined |
// deferred | merged; accepted → in_progress → resolved → loop_closed; reopen brings
// declined, deferred, resolved and loop_closed back to triaged; unmerge brings a
// merged cluster back to triaged. A decision on a new cluster triages it on the way,
// so new may go straight to accepted, declined, deferred or merged.
var transitions = map[feedback.Status][]feedback.Status{
	feedback.StatusNew:        {feedback.StatusTriaged, feedback.StatusAccepted, feedback.StatusDeclined, feedback.StatusDeferred, feedback.StatusMerged},
	feedback.StatusTriaged:    {feedback.StatusAccepted, feedback.StatusDeclined, feedback.StatusDeferred, feedback.StatusMerged},
	feedback.StatusAccepted:   {feedback.StatusInProgress},
	feedback.StatusInProgress: {feedback.StatusResolved},
	feedback.StatusResolved:   {feedback.StatusLoopClosed, feedback.StatusTriaged},
	feedback.StatusLoopClosed: {feedback.StatusTriaged},
	feedback.StatusDeclined:   {feedback.StatusTriaged},
	feedback.StatusDeferred:   {feedback.StatusTriaged},
	feedback.StatusMerged:     {feedback.StatusTriaged},
}

// Allowed lists the statuses a cluster in status from may move to.
func Allowed(from feedback.Status) []feedback.Status {
	return slices.Clone(transitions[from])
}

// TransitionError is an invalid status change; its message names the allowed ones.
type TransitionError struct {
	From, To feedback.Status
	Allowed  []feedback.Status
}

// Error names the transition and the statuses allowed from its start.
func (e *TransitionError) Error() string {
	if len(e.Allowed) == 0 {
		return fmt.Sprintf("invalid transition %s → %s: %s is not a known status", e.From, e.To, e.From)
	}
	return fmt.Sprintf("invalid transition %s → %s (from %s: %s)", e.From, e.To, e.From, statusList(e.Allowed))
}

// Transition checks a status change; moving to the same status is not a change and
// fails too.
func Transition(from, to feedback.Status) error {
	if slices.Contains(transitions[from], to) {
		return nil
	}
	return &TransitionError{From: from, To: to, Allowed: Allowed(from)}
}

// IsPerson reports whether actor is a person, whose decisions need a reason: not a
// rule ("rule:NAME@HASH") and not the system ("system", "system:…").
func IsPerson(actor string) bool {
	return actor != "" && !strings.HasPrefix(actor, "rule:") && !strings.HasPrefix(actor, "system")
}

// Actions are the decisions Decide understands.
var Actions = []feedback.Action{feedback.ActionAccept, feedback.ActionDecline, feedback.ActionDefer,
	feedback.ActionMerge, feedback.ActionUnmerge, feedback.ActionSeverity, feedback.ActionAssign,
	feedback.ActionEscalate, feedback.ActionAck, feedback.ActionReopen, feedback.ActionNote, feedback.ActionStatus}

// statusOf maps status-changing actions to the status they lead to.
var statusOf = map[feedback.Action]feedback.Status{
	feedback.ActionAccept:  feedback.StatusAccepted,
	feedback.ActionDecline: feedback.StatusDeclined,
	feedback.ActionDefer:   feedback.StatusDeferred,
	feedback.ActionMerge:   feedback.StatusMerged,
	feedback.ActionReopen:  feedback.StatusTriaged,
}

// reopenable are the statuses reopen brings back to triaged.
var reopenable = []feedback.Status{feedback.StatusDeclined, feedback.StatusDeferred, feedback.StatusResolved, feedback.StatusLoopClosed}

func statusList(ss []feedback.Status) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// Request asks for one decision on one target; the CLI's `decide` and the JSON API
// build it from their arguments.
type Request struct {
	Action feedback.Action `json:"action"`
	// Target is "cluster:12" (or "12"), or "item:40" for an unmerge of one item.
	Target string `json:"target"`
	// Value is the action's argument: the severity for severity, the assignee for
	// assign, the person escalated to for escalate, the surviving cluster
	// ("cluster:7") for merge, the new status for status, the text of a note (when no
	// reason is given), the cluster an item leaves for an item unmerge.
	Value        string `json:"value,omitempty"`
	Reason       string `json:"reason,omitempty"`
	Actor        string `json:"actor"`
	RulesVersion string `json:"rules_version,omitempty"`
}

// Validate checks what does not depend on the target's state: a known action, an
// actor, a reason from people, and a value where the action needs one.
func (r Request) Validate() error {
	var errs []error
	if r.Actor == "" {
		errs = append(errs, errors.New("actor required"))
	}
	if !slices.Contains(Actions, r.Action) {
		names := make([]string, len(Actions))
		for i, a := range Actions {
			names[i] = string(a)
		}
		errs = append(errs, fmt.Errorf("unknown action %q (want one of %s)", r.Action, strings.Join(names, ", ")))
	}
	if IsPerson(r.Actor) && strings.TrimSpace(r.Reason) == "" && !(r.Action == feedback.ActionNote && r.Value != "") {
		errs = append(errs, fmt.Errorf("reason required: %s is a person (only rule: and system actors may decide without one)", r.Actor))
	}
	switch r.Action {
	case feedback.ActionSeverity:
		if _, err := feedback.ParseSeverity(r.Value); err != nil || r.Value == "" {
			errs = append(errs, fmt.Errorf("severity needs a value: low, medium, high or critical"))
		}
	case feedback.ActionAssign, feedback.ActionEscalate:
		if strings.TrimSpace(r.Value) == "" {
			errs = append(errs, fmt.Errorf("%s needs a value: who", r.Action))
		}
	case feedback.ActionMerge:
		if _, err := ParseClusterTarget(r.Value); err != nil {
			errs = append(errs, fmt.Errorf("merge needs the surviving cluster as value: %w", err))
		}
	case feedback.ActionStatus:
		switch st := feedback.Status(r.Value); {
		case st == feedback.StatusAccepted:
			// Accepting queues the ticket (and stops the response clock): only the
			// accept action does that.
			errs = append(errs, fmt.Errorf("status accepted: use the accept action, which queues the ticket"))
		case st == feedback.StatusMerged:
			errs = append(errs, fmt.Errorf("status merged: use the merge action, which moves the items"))
		default:
			if _, ok := transitions[st]; !ok {
				errs = append(errs, fmt.Errorf("status needs a value: a cluster status, got %q", r.Value))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("decide %s %s: %w", r.Action, r.Target, err)
	}
	return nil
}

// ParseClusterTarget accepts "cluster:12" or "12".
func ParseClusterTarget(s string) (int64, error) {
	v := strings.TrimPrefix(strings.TrimSpace(s), "cluster:")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("bad cluster target %q (want cluster:ID)", s)
	}
	return id, nil
}

// ClusterTarget formats a cluster id as a decision target.
func ClusterTarget(id int64) string { return "cluster:" + strconv.FormatInt(id, 10) }

// Change is what a decision does: the cluster before and after, and the decision to
// append to the log. Before and After are equal for ack, note and escalate.
type Change struct {
	Before   feedback.Cluster  `json:"before"`
	After    feedback.Cluster  `json:"after"`
	Decision feedback.Decision `json:"decision"`
}

// Changed reports whether the cluster's triage fields differ.
func (c Change) Changed() bool {
	return c.Before.Status != c.After.Status || c.Before.Severity != c.After.Severity || c.Before.Owner != c.After.Owner
}

// Decide applies a request to a cluster and returns the change, without I/O. An
// item unmerge does not go through here (see DecideItem).
func Decide(c feedback.Cluster, r Request, at time.Time) (Change, error) {
	if err := r.Validate(); err != nil {
		return Change{}, err
	}
	target := ClusterTarget(c.ID)
	if id, err := ParseClusterTarget(r.Target); err != nil || id != c.ID {
		return Change{}, fmt.Errorf("decide %s %s: target does not name cluster %d", r.Action, r.Target, c.ID)
	}
	after := c
	after.Labels = slices.Clone(c.Labels)
	d := feedback.Decision{At: at.UTC(), Actor: r.Actor, Action: r.Action, Target: target, Reason: strings.TrimSpace(r.Reason),
		RulesVersion: r.RulesVersion}
	fail := func(err error) (Change, error) {
		return Change{}, fmt.Errorf("decide %s %s: %w", r.Action, target, err)
	}
	switch r.Action {
	case feedback.ActionAccept, feedback.ActionDecline, feedback.ActionDefer, feedback.ActionMerge, feedback.ActionReopen, feedback.ActionStatus:
		to := statusOf[r.Action]
		if r.Action == feedback.ActionStatus {
			to = feedback.Status(r.Value)
		}
		if r.Action == feedback.ActionReopen && !slices.Contains(reopenable, c.Status) {
			return fail(fmt.Errorf("cluster is %s; reopen applies to declined, deferred, resolved or loop_closed (from %s: %s)",
				c.Status, c.Status, statusList(Allowed(c.Status))))
		}
		if err := Transition(c.Status, to); err != nil {
			return fail(err)
		}
		after.Status = to
		d.Before, d.After = string(c.Status), string(to)
		if r.Action == feedback.ActionMerge {
			into, _ := ParseClusterTarget(r.Value)
			if into == c.ID {
				return fail(errors.New("cannot merge a cluster into itself"))
			}
			d.After = string(to) + " into " + ClusterTarget(into)
		}
	case feedback.ActionUnmerge:
		if err := Transition(c.Status, feedback.StatusTriaged); err != nil || c.Status != feedback.StatusMerged {
			return fail(fmt.Errorf("cluster is %s, not merged; to split items out, unmerge item:ID", c.Status))
		}
		after.Status = feedback.StatusTriaged
		d.Before, d.After = string(c.Status), string(after.Status)
	case feedback.ActionSeverity:
		sev, _ := feedback.ParseSeverity(r.Value)
		if sev == c.Severity {
			return fail(fmt.Errorf("severity is already %s", sev))
		}
		after.Severity = sev
		d.Before, d.After = string(c.Severity), string(sev)
	case feedback.ActionAssign:
		after.Owner = strings.TrimSpace(r.Value)
		d.Before, d.After = c.Owner, after.Owner
	case feedback.ActionEscalate:
		d.Before, d.After = c.Owner, strings.TrimSpace(r.Value)
	case feedback.ActionAck:
		d.After = "acknowledged"
	case feedback.ActionNote:
		if d.Reason == "" {
			d.Reason = strings.TrimSpace(r.Value)
		}
	}
	// A person's first decision on a new cluster triages it.
	if after.Status == feedback.StatusNew && IsPerson(r.Actor) && r.Action != feedback.ActionNote {
		after.Status = feedback.StatusTriaged
		if d.Before == "" && d.After == "" {
			d.Before, d.After = string(feedback.StatusNew), string(feedback.StatusTriaged)
		}
	}
	return Change{Before: c, After: after, Decision: d}, nil
}

// DecideItem validates an unmerge of one item out of its cluster (the split itself,
// and the never-merge constraint, belong to normalize) and returns the decision:
// Before is the cluster the item leaves, After is empty until normalize re-clusters it.
func DecideItem(itemID, fromCluster int64, r Request, at time.Time) (feedback.Decision, error) {
	if err := r.Validate(); err != nil {
		return feedback.Decision{}, err
	}
	if r.Action != feedback.ActionUnmerge && r.Action != feedback.ActionNote {
		return feedback.Decision{}, fmt.Errorf("decide %s item:%d: only unmerge and note apply to an item", r.Action, itemID)
	}
	d := feedback.Decision{At: at.UTC(), Actor: r.Actor, Action: r.Action, Target: "item:" + strconv.FormatInt(itemID, 10),
		Reason: strings.TrimSpace(r.Reason), RulesVersion: r.RulesVersion}
	if r.Action == feedback.ActionUnmerge {
		d.Before = ClusterTarget(fromCluster)
	} else if d.Reason == "" {
		d.Reason = strings.TrimSpace(r.Value)
	}
	return d, nil
}

// ClusterStore reads and writes clusters; *store.Store satisfies it.
type ClusterStore interface {
	Cluster(ctx context.Context, id int64) (feedback.Cluster, error)
	UpdateCluster(ctx context.Context, c feedback.Cluster) error
}

// DecisionLog is the append-only decision log; *store.Store satisfies it.
type DecisionLog interface {
	AppendDecision(ctx context.Context, d feedback.Decision) (int64, error)
	Decisions(ctx context.Context, f store.DecisionFilter) ([]feedback.Decision, error)
}

// ClockLog appends plain SLA clock events; *store.Store satisfies it.
type ClockLog interface {
	SLAEvents(ctx context.Context, clusterID int64) ([]store.SLAEvent, error)
	AppendSLAEvent(ctx context.Context, e store.SLAEvent) (int64, error)
}

// Service runs decisions against storage: what the CLI's decide and the JSON API
// call. Clock events are written when Engine and SLA are set.
type Service struct {
	Clusters  ClusterStore
	Decisions DecisionLog
	SLA       ClockLog // optional
	Engine    *Engine  // optional
	// Tier returns the partner tier a cluster is timed for; nil means "".
	Tier  func(ctx context.Context, clusterID int64) (string, error)
	Clock clock.Clock
}

// Decide applies a request to a cluster: it checks the transition, writes the
// cluster, appends the decision and the SLA clock events it implies, and returns the
// change with the decision's id set.
//
// The writes are not one transaction yet (that needs a store method that updates the
// cluster and appends the decision and SLA events together). The decision is
// appended last, so a failure leaves no decision for a change that did not happen.
func (s *Service) Decide(ctx context.Context, r Request) (Change, error) {
	clk := s.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	if err := r.Validate(); err != nil {
		return Change{}, err
	}
	id, err := ParseClusterTarget(r.Target)
	if err != nil {
		return Change{}, fmt.Errorf("decide %s: %w", r.Action, err)
	}
	c, err := s.Clusters.Cluster(ctx, id)
	if err != nil {
		return Change{}, fmt.Errorf("decide %s %s: %w", r.Action, r.Target, err)
	}
	now := clk.Now()
	ch, err := Decide(c, r, now)
	if err != nil {
		return Change{}, err
	}
	if ch.Changed() {
		if err := s.Clusters.UpdateCluster(ctx, ch.After); err != nil {
			return Change{}, fmt.Errorf("decide %s %s: %w", r.Action, r.Target, err)
		}
	}
	if s.Engine != nil && s.SLA != nil {
		tier := ""
		if s.Tier != nil {
			if tier, err = s.Tier(ctx, id); err != nil {
				return Change{}, fmt.Errorf("decide %s %s: tier: %w", r.Action, r.Target, err)
			}
		}
		if _, err := s.Engine.Apply(ctx, s.SLA, ClusterChange{Before: &ch.Before, After: ch.After, Tier: tier,
			Actor: r.Actor, Action: r.Action, At: now}); err != nil {
			return Change{}, fmt.Errorf("decide %s %s: %w", r.Action, r.Target, err)
		}
	}
	did, err := s.Decisions.AppendDecision(ctx, ch.Decision)
	if err != nil {
		return Change{}, fmt.Errorf("decide %s %s: %w", r.Action, r.Target, err)
	}
	ch.Decision.ID = did
	return ch, nil
}
