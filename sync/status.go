package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// RemoteEvent is what the remote side says about a ticket now: from a Jira or GitHub
// webhook, a record of the ticket's own project ingested by a connector, or a poll.
type RemoteEvent struct {
	// Target narrows the ticket lookup; empty searches every target.
	Target string `json:"target,omitempty"`
	Key    string `json:"key"` // FB-12 or owner/repo#3
	// Status is the remote status name (Jira status, GitHub open/closed); empty: unknown.
	Status string `json:"status,omitempty"`
	// Priority is the remote priority (Jira priority name, GitHub priority label);
	// empty: unknown.
	Priority string `json:"priority,omitempty"`
	// Via says where the event came from, for the decision log (webhook, poll, record).
	Via string `json:"via,omitempty"`
}

// Applied says what ApplyRemote did.
type Applied struct {
	Ticket string `json:"ticket"`
	// Moved lists the cluster statuses passed through, in order.
	Moved []feedback.Status `json:"moved,omitempty"`
	// Severity is set when the remote priority changed the cluster's severity.
	Severity feedback.Severity `json:"severity,omitempty"`
	// Ignored explains each change the rules kept out (echo, authority, unmapped).
	Ignored []string `json:"ignored,omitempty"`
	// Notify is set when the cluster got resolved and reporters will be told.
	Notify bool `json:"notify,omitempty"`
}

// ApplyRemote brings a remote ticket change back to its cluster, field by field:
//
//   - an unchanged value, or the echo of a value the hub wrote itself, changes nothing
//     (the loop guard);
//   - status under remote authority moves the cluster along the triage state machine
//     to the mapped status (accepted → in_progress → resolved); under hub authority it
//     is only recorded;
//   - priority under hub authority is recorded and the hub's priority is pushed again
//     by the next Reconcile; under remote authority it sets the cluster's severity.
//
// Reaching resolved queues the reporters' notices in the same transaction.
func (s *Syncer) ApplyRemote(ctx context.Context, ev RemoteEvent) (Applied, error) {
	tk, err := s.Store.TicketByRemoteKey(ctx, ev.Target, ev.Key)
	if errors.Is(err, store.ErrNotFound) {
		return Applied{Ticket: ev.Key, Ignored: []string{"not a ticket of ours"}}, nil
	}
	if err != nil {
		return Applied{}, err
	}
	res := Applied{Ticket: tk.RemoteKey}
	t, ok := s.Target(tk.Target)
	if !ok {
		return res, fmt.Errorf("status back %s: target %q is no longer configured", tk.RemoteKey, tk.Target)
	}
	via := or(ev.Via, "remote")
	// The ticket is patched, not written back whole: an update delivered meanwhile
	// (items listed, a priority pushed) stays.
	var patch store.TicketPatch
	written := func(k, v string) {
		if patch.Written == nil {
			patch.Written = map[string]string{}
		}
		patch.Written[k] = v
	}
	changed := false

	if ev.Status != "" && ev.Status != tk.Status {
		echo := tk.Written["status"] == ev.Status
		patch.Status = &ev.Status
		changed = true
		if tk.Written["status"] != "" {
			// The echo awaited is consumed, or overtaken by another status (its
			// webhook lost): either way, that status set later by a person is theirs.
			written("status", "")
		}
		switch {
		case echo:
			res.Ignored = append(res.Ignored, "status "+ev.Status+": our own write")
		case t.Authority("status") != "remote":
			res.Ignored = append(res.Ignored, "status "+ev.Status+": the hub has authority")
		default:
			to, ok := t.ClusterStatus(ev.Status)
			if !ok {
				res.Ignored = append(res.Ignored, "status "+ev.Status+": not mapped to a cluster status")
				break
			}
			moved, notify, err := s.moveCluster(ctx, tk, to, fmt.Sprintf("%s is %q in %s (%s; remote has authority over status)", tk.RemoteKey, ev.Status, t.Name, via))
			var pt *passesTerminal
			if errors.As(err, &pt) {
				res.Ignored = append(res.Ignored, "status "+ev.Status+": "+pt.Error())
				break
			}
			if err != nil {
				return res, err
			}
			res.Moved, res.Notify = moved, notify
		}
	}

	if ev.Priority != "" && ev.Priority != tk.RemotePriority {
		echo := tk.Written["priority"] == ev.Priority
		patch.RemotePriority = &ev.Priority
		changed = true
		switch {
		case echo:
			res.Ignored = append(res.Ignored, "priority "+ev.Priority+": our own write")
		case t.Authority("severity") == "hub":
			res.Ignored = append(res.Ignored, "priority "+ev.Priority+": the hub has authority over severity (it will be set back)")
		default:
			sev, ok := t.severityOf(ev.Priority)
			if !ok {
				res.Ignored = append(res.Ignored, "priority "+ev.Priority+": not mapped to a severity")
				break
			}
			c, err := s.Store.Cluster(ctx, tk.ClusterID)
			if err != nil {
				return res, err
			}
			if c.Severity != sev {
				d := feedback.Decision{Actor: Actor, Action: feedback.ActionSeverity, Target: triage.ClusterTarget(c.ID),
					Before: string(c.Severity), After: string(sev),
					Reason: fmt.Sprintf("%s has priority %q in %s (%s; remote has authority over severity)", tk.RemoteKey, ev.Priority, t.Name, via)}
				c.Severity = sev
				if _, err := s.Store.ApplyDecision(ctx, store.DecisionWrite{Cluster: &c, Decision: d}); err != nil {
					return res, err
				}
				res.Severity = sev
			}
			patch.Severity = &sev
			written("priority", ev.Priority)
		}
	}
	if changed {
		if _, err := s.Store.PatchTicket(ctx, tk.ID, patch); err != nil {
			return res, err
		}
	}
	return res, nil
}

// moveCluster walks the cluster to status `to` through the shortest path of allowed
// transitions, one decision per step; the step into resolved also queues the
// reporters' notices (same transaction).
func (s *Syncer) moveCluster(ctx context.Context, tk store.TicketRecord, to feedback.Status, reason string) ([]feedback.Status, bool, error) {
	c, err := s.Store.Cluster(ctx, tk.ClusterID)
	if err != nil {
		return nil, false, err
	}
	if c.Status == to {
		return nil, false, nil
	}
	path := statusPath(c.Status, to)
	if path == nil {
		return nil, false, fmt.Errorf("status back %s: cluster %d cannot move from %s to %s", tk.RemoteKey, c.ID, c.Status, to)
	}
	for _, st := range path[:len(path)-1] {
		if triage.IsTerminal(st) {
			// A move back (a ticket reopened to a status mapped before the cluster's)
			// would walk forward through resolved, closing the loop with the
			// reporters on the way: it is left to a person.
			return nil, false, &passesTerminal{from: c.Status, to: to, via: st}
		}
	}
	notify := false
	for _, next := range path {
		before := c.Status
		c.Status = next
		w := store.DecisionWrite{Cluster: &c, ExpectStatus: before, Decision: feedback.Decision{Actor: Actor, Action: feedback.ActionStatus,
			Target: triage.ClusterTarget(c.ID), Before: string(before), After: string(next), Reason: reason}}
		if next == feedback.StatusResolved {
			n, err := s.Store.ListOutbox(ctx, store.OutboxFilter{Kind: KindNotify, ClusterID: c.ID})
			if err != nil {
				return nil, false, err
			}
			w.Outbox = []store.OutboxRow{{IdempotencyKey: fmt.Sprintf("notify:resolved:%d:%d", c.ID, len(n)+1), Kind: KindNotify,
				Target: tk.Target, ClusterID: c.ID}}
			notify = true
		}
		if _, err := s.Store.ApplyDecision(ctx, w); err != nil {
			return nil, false, err
		}
		prev := c
		prev.Status = before
		if err := s.clockEvents(ctx, prev, c, Actor, feedback.ActionStatus); err != nil {
			return nil, false, err
		}
	}
	return path, notify, nil
}

// passesTerminal is a status move refused because its path leads through a
// terminal status before its end.
type passesTerminal struct{ from, to, via feedback.Status }

func (e *passesTerminal) Error() string {
	return fmt.Sprintf("moving the cluster from %s to %s would pass through %s; left as it is", e.from, e.to, e.via)
}

// statusPath is the shortest list of statuses leading from one to another under the
// triage state machine (nil when there is none).
func statusPath(from, to feedback.Status) []feedback.Status {
	prev := map[feedback.Status]feedback.Status{from: ""}
	queue := []feedback.Status{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var path []feedback.Status
			for st := to; st != from; st = prev[st] {
				path = append([]feedback.Status{st}, path...)
			}
			return path
		}
		for _, n := range triage.Allowed(cur) {
			if _, seen := prev[n]; !seen {
				prev[n] = cur
				queue = append(queue, n)
			}
		}
	}
	return nil
}

// Poll reads every ticket whose cluster is not finished and applies what it finds:
// status back for installations without webhooks.
func (s *Syncer) Poll(ctx context.Context) ([]Applied, error) {
	tickets, err := s.Store.Tickets(ctx, store.TicketFilter{})
	if err != nil {
		return nil, err
	}
	var out []Applied
	var errs []error
	for _, tk := range tickets {
		c, err := s.Store.Cluster(ctx, tk.ClusterID)
		if err != nil {
			return out, err
		}
		if c.Status == feedback.StatusLoopClosed || c.Status == feedback.StatusResolved {
			continue
		}
		t, ok := s.Target(tk.Target)
		if !ok {
			continue
		}
		tr, err := s.tracker(t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r, err := tr.Get(ctx, tk.RemoteKey)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		a, err := s.ApplyRemote(ctx, RemoteEvent{Target: tk.Target, Key: tk.RemoteKey, Status: r.Status, Priority: r.Priority, Via: "poll"})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, a)
	}
	return out, errors.Join(errs...)
}

// EventFromRecord reads a remote event from a record the Jira or GitHub connector
// ingested (its webhook or poll of the ticket project): Jira keys and statuses, and
// GitHub "owner/repo#N" ids with open/closed states. ok is false for other records.
func EventFromRecord(r feedback.Record, sourceKind string) (RemoteEvent, bool) {
	if r.Kind != feedback.KindIssue || r.Deleted {
		return RemoteEvent{}, false
	}
	switch sourceKind {
	case "jira":
		return RemoteEvent{Key: r.ExternalID, Status: r.State, Priority: r.Meta["priority"], Via: "jira " + r.Source}, r.ExternalID != ""
	case "github":
		ev := RemoteEvent{Key: strings.ToLower(r.ExternalID), Status: r.State, Via: "github " + r.Source}
		for _, l := range r.Labels {
			if strings.HasPrefix(l, "priority:") {
				ev.Priority = l
			}
		}
		return ev, r.ExternalID != ""
	}
	return RemoteEvent{}, false
}

// ParseJiraWebhook reads a Jira issue webhook body (jira:issue_updated and friends);
// verify its signature first (the Jira connector's handler does).
func ParseJiraWebhook(body []byte) (RemoteEvent, error) {
	var w struct {
		Event string `json:"webhookEvent"`
		Issue *struct {
			Key    string `json:"key"`
			Fields struct {
				Status   *struct{ Name string } `json:"status"`
				Priority *struct{ Name string } `json:"priority"`
			} `json:"fields"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return RemoteEvent{}, fmt.Errorf("jira webhook: %w", err)
	}
	if w.Issue == nil || w.Issue.Key == "" {
		return RemoteEvent{}, fmt.Errorf("jira webhook %s: no issue", w.Event)
	}
	ev := RemoteEvent{Key: w.Issue.Key, Via: "jira webhook " + w.Event}
	if w.Issue.Fields.Status != nil {
		ev.Status = w.Issue.Fields.Status.Name
	}
	if w.Issue.Fields.Priority != nil {
		ev.Priority = w.Issue.Fields.Priority.Name
	}
	return ev, nil
}

// ParseGitHubWebhook reads a GitHub "issues" webhook body; verify its signature first
// (the GitHub connector's handler does).
func ParseGitHubWebhook(body []byte) (RemoteEvent, error) {
	var w struct {
		Action string `json:"action"`
		Issue  *struct {
			Number int    `json:"number"`
			State  string `json:"state"`
			Labels []struct {
				Name string `json:"name"`
			} `json:"labels"`
		} `json:"issue"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return RemoteEvent{}, fmt.Errorf("github webhook: %w", err)
	}
	if w.Issue == nil || w.Issue.Number == 0 || w.Repository.FullName == "" {
		return RemoteEvent{}, errors.New("github webhook: no issue")
	}
	ev := RemoteEvent{Key: GitHubKey(w.Repository.FullName, w.Issue.Number), Status: w.Issue.State, Via: "github webhook issues." + w.Action}
	for _, l := range w.Issue.Labels {
		if strings.HasPrefix(l.Name, "priority:") {
			ev.Priority = l.Name
		}
	}
	return ev, nil
}
