package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// Deliver carries one claimed outbox row out: it creates a ticket, updates one, or
// notifies a resolved cluster's reporters. It is idempotent: running it again after
// any failure (or a crash anywhere) neither duplicates the ticket nor re-sends a
// notice already recorded as sent. It does not mark the row failed; Drain (or the
// job runner) does that with Fail.
func (s *Syncer) Deliver(ctx context.Context, row store.OutboxRow) error {
	switch row.Kind {
	case KindCreate:
		return s.deliverCreate(ctx, row)
	case KindUpdate:
		return s.deliverUpdate(ctx, row)
	case KindNotify:
		return s.deliverNotify(ctx, row)
	case KindReopen:
		return s.deliverReopen(ctx, row)
	}
	return permanent("outbox %d: unknown kind %q", row.ID, row.Kind)
}

// Fail records a failed delivery: permanent failures and rows out of attempts go to
// the dead letter; others wait for the backoff, or for the time a rate limit named.
func (s *Syncer) Fail(ctx context.Context, row store.OutboxRow, err error) (string, error) {
	max := s.MaxAttempts
	if max <= 0 {
		max = DefaultMaxAttempts
	}
	backoff := s.Backoff
	if backoff == nil {
		backoff = defaultBackoff
	}
	at := s.clock().Now().Add(backoff(row.Attempts))
	var ce *connectors.Error
	if errors.As(err, &ce) && ce.RetryAt.After(at) {
		at = ce.RetryAt
	}
	st, ferr := s.Store.MarkOutboxFailed(ctx, row.ID, store.Failure{Err: err.Error(), RetryAt: at, Permanent: isPermanent(err), MaxAttempts: max})
	if ferr != nil {
		return "", ferr
	}
	lvl := s.log().Warn
	if st == store.OutboxDead {
		lvl = s.log().Error
	}
	lvl("outbox delivery failed", "outbox", row.ID, "kind", row.Kind, "cluster", row.ClusterID, "attempt", row.Attempts, "status", st, "err", err)
	return st, nil
}

func defaultBackoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := time.Minute << min(attempt-1, 20)
	return min(d, 6*time.Hour)
}

// DrainOptions bound a drain.
type DrainOptions struct {
	// Limit is the most rows delivered (0: every due row).
	Limit int
	// DryRun renders the tickets that would be created and calls nothing.
	DryRun bool
}

// DrainReport says what a drain did.
type DrainReport struct {
	Queued    int       `json:"queued"` // update rows Reconcile added
	Delivered int       `json:"delivered"`
	Retrying  int       `json:"retrying"`
	Dead      int       `json:"dead"`
	Errors    []string  `json:"errors,omitempty"`
	Planned   []Planned `json:"planned,omitempty"` // dry run only
}

// Drain is `feedbackhub sync --once`: it queues ticket updates for clusters that
// changed (Reconcile), then claims and delivers due outbox rows until none is left
// (or Limit is reached). With DryRun it only returns Plan's answer.
func (s *Syncer) Drain(ctx context.Context, o DrainOptions) (DrainReport, error) {
	var rep DrainReport
	if o.DryRun {
		p, err := s.Plan(ctx)
		rep.Planned = p
		return rep, err
	}
	n, err := s.Reconcile(ctx)
	if err != nil {
		return rep, err
	}
	rep.Queued = n
	lease := s.lease()
	skip := s.dryRunTargets()
	done := 0
	for o.Limit <= 0 || done < o.Limit {
		batch := 10
		if o.Limit > 0 {
			batch = min(batch, o.Limit-done)
		}
		rows, err := s.Store.ClaimOutbox(ctx, batch, lease, skip...)
		if err != nil {
			return rep, err
		}
		if len(rows) == 0 {
			break
		}
		for _, r := range rows {
			done++
			// The batch's later rows were claimed before the earlier ones were
			// delivered: renew the claim, or leave a row another worker took.
			ok, err := s.Store.RenewOutbox(ctx, r.ID, r.Attempts, s.lease())
			if err != nil {
				return rep, err
			}
			derr := errLeaseLost
			if ok {
				derr = s.Deliver(ctx, r)
			}
			if derr == nil {
				rep.Delivered++
				continue
			}
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			if errors.Is(derr, errLeaseLost) {
				rep.Errors = append(rep.Errors, fmt.Sprintf("outbox %d (%s cluster %d): %v", r.ID, r.Kind, r.ClusterID, derr))
				continue
			}
			st, ferr := s.Fail(ctx, r, derr)
			if ferr != nil {
				return rep, ferr
			}
			rep.Errors = append(rep.Errors, fmt.Sprintf("outbox %d (%s cluster %d): %v", r.ID, r.Kind, r.ClusterID, derr))
			if st == store.OutboxDead {
				rep.Dead++
			} else {
				rep.Retrying++
			}
		}
	}
	return rep, nil
}

// Planned is a ticket a dry run would create.
type Planned struct {
	OutboxID  int64  `json:"outbox_id"`
	ClusterID int64  `json:"cluster_id"`
	Target    string `json:"target"`
	Kind      string `json:"kind"`
	Where     string `json:"where"` // Jira project or GitHub repo
	Issue     Issue  `json:"issue"`
}

// Plan renders every pending ticket creation without calling anything or changing
// the database: what `sync --once --dry-run` prints.
func (s *Syncer) Plan(ctx context.Context) ([]Planned, error) {
	rows, err := s.Store.ListOutbox(ctx, store.OutboxFilter{Status: store.OutboxPending, Kind: KindCreate})
	if err != nil {
		return nil, err
	}
	var out []Planned
	for _, r := range rows {
		if _, err := s.Store.TicketFor(ctx, r.ClusterID, r.Target); err == nil {
			continue
		}
		t, ok := s.Target(r.Target)
		if !ok {
			return nil, fmt.Errorf("plan outbox %d: unknown target %q", r.ID, r.Target)
		}
		c, err := s.Store.Cluster(ctx, r.ClusterID)
		if err != nil {
			return nil, err
		}
		items, err := s.Store.ClusterItems(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		is, err := s.Render(ctx, t, c, items)
		if err != nil {
			return nil, fmt.Errorf("plan outbox %d: %w", r.ID, err)
		}
		where := t.Project
		if t.Kind == "github" {
			where = t.Repo
		}
		out = append(out, Planned{OutboxID: r.ID, ClusterID: c.ID, Target: t.Name, Kind: t.Kind, Where: where, Issue: is})
	}
	return out, nil
}

// deliverCreate: local link? done. Else find the marker, create only when absent,
// link back, and record ticket + outbox sent + decision in one transaction.
func (s *Syncer) deliverCreate(ctx context.Context, row store.OutboxRow) error {
	t, ok := s.Target(row.Target)
	if !ok {
		return permanent("outbox %d: unknown sync target %q", row.ID, row.Target)
	}
	if tk, err := s.Store.TicketFor(ctx, row.ClusterID, t.Name); err == nil {
		// Already recorded (a concurrent worker, or a rerun): finish the row.
		s.log().Info("ticket already recorded", "cluster", row.ClusterID, "ticket", tk.RemoteKey)
		return s.Store.MarkOutboxSent(ctx, row.ID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	tr, err := s.tracker(t)
	if err != nil {
		return err
	}
	c, err := s.Store.Cluster(ctx, row.ClusterID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return permanent("%v", err)
		}
		return err
	}
	items, err := s.Store.ClusterItems(ctx, c.ID)
	if err != nil {
		return err
	}
	is, err := s.Render(ctx, t, c, items)
	if err != nil {
		return err
	}
	if err := s.fault("create:find"); err != nil {
		return err
	}
	remote, err := tr.Find(ctx, t.Place(), c.ID)
	if err != nil {
		return err
	}
	// The fence: only the worker still holding the row creates (or adopts) the
	// ticket, and its renewed lease outlasts the call.
	if err := s.fence(ctx, row); err != nil {
		return err
	}
	adopted := remote != nil
	if remote == nil {
		if err := s.fault("create:create"); err != nil {
			return err
		}
		r, err := tr.Create(ctx, t.Place(), is)
		if err != nil {
			return err
		}
		remote = &r
		if err := s.fault("create:created"); err != nil {
			return err
		}
	}
	if err := s.fault("create:link"); err != nil {
		return err
	}
	if err := tr.LinkBack(ctx, remote.Key, is); err != nil {
		return err
	}
	if err := s.fault("create:commit"); err != nil {
		return err
	}
	written := map[string]string{}
	if is.Priority != "" {
		written["priority"] = is.Priority
	}
	priority := remote.Priority
	if priority == "" {
		priority = is.Priority
	}
	how := "created"
	if adopted {
		how = "found by its marker and adopted"
	}
	d := feedback.Decision{Actor: Actor, Action: feedback.ActionNote, Target: triage.ClusterTarget(c.ID), After: remote.Key,
		Reason: fmt.Sprintf("ticket %s %s at %s (%s)", remote.Key, how, t.Name, remote.URL)}
	_, err = s.Store.SaveTicket(ctx, store.TicketWrite{Ticket: store.TicketRecord{
		Ticket:   feedback.Ticket{ClusterID: c.ID, Target: t.Name, Kind: t.Kind, RemoteKey: remote.Key, URL: remote.URL, Status: remote.Status},
		Severity: c.Severity, Items: itemIDs(items), Written: written, RemotePriority: priority,
	}, OutboxID: row.ID, Decision: &d})
	if err != nil {
		return err
	}
	s.log().Info("ticket "+how, "cluster", c.ID, "target", t.Name, "ticket", remote.Key)
	return nil
}

// Reconcile queues one "ticket.update" row per ticket whose cluster gained items or
// changed severity (hub authority) since the ticket last heard of it, and returns
// how many it queued. The row's key names the state it brings over, so calling
// Reconcile again queues nothing new.
func (s *Syncer) Reconcile(ctx context.Context) (int, error) {
	tickets, err := s.Store.Tickets(ctx, store.TicketFilter{})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tk := range tickets {
		t, ok := s.Target(tk.Target)
		if !ok {
			continue
		}
		c, err := s.Store.Cluster(ctx, tk.ClusterID)
		if err != nil {
			return n, err
		}
		if triage.IsTerminal(c.Status) {
			continue
		}
		items, err := s.Store.ClusterItems(ctx, c.ID)
		if err != nil {
			return n, err
		}
		fresh := newItems(tk, items)
		want := s.wantPriority(t, tk, c)
		if len(fresh) == 0 && want == "" {
			continue
		}
		h := sha256.New()
		for _, it := range fresh {
			h.Write([]byte(strconv.FormatInt(it.ID, 10) + ","))
		}
		key := fmt.Sprintf("ticket:update:%d:%s:%s", tk.ID, want, hex.EncodeToString(h.Sum(nil))[:16])
		_, created, err := s.Store.Enqueue(ctx, store.OutboxRow{IdempotencyKey: key, Kind: KindUpdate, Target: tk.Target, ClusterID: c.ID})
		if err != nil {
			return n, err
		}
		if created {
			n++
		}
	}
	return n, nil
}

// newItems are the cluster's items the ticket does not list yet.
func newItems(tk store.TicketRecord, items []feedback.Item) []feedback.Item {
	var out []feedback.Item
	for _, it := range items {
		if !slices.Contains(tk.Items, it.ID) && !it.Deleted {
			out = append(out, it)
		}
	}
	return out
}

// wantPriority is the priority to push, "" when none is due: under hub authority the
// ticket must carry the priority of the cluster's severity.
func (s *Syncer) wantPriority(t *Target, tk store.TicketRecord, c feedback.Cluster) string {
	if t.Authority("severity") != "hub" {
		return ""
	}
	p := t.Priority(c.Severity)
	if p == "" || p == tk.RemotePriority {
		return ""
	}
	return p
}

// fence renews row's lease right before a tracker call that must not run twice; a
// worker whose row was claimed again by another gets errLeaseLost and leaves it.
func (s *Syncer) fence(ctx context.Context, row store.OutboxRow) error {
	ok, err := s.Store.RenewOutbox(ctx, row.ID, row.Attempts, s.lease())
	if err == nil && !ok {
		err = errLeaseLost
	}
	return err
}

// ticketOf returns an outbox row's target, the cluster's ticket there and the
// tracker to reach it; an unknown target or a missing ticket is permanent.
func (s *Syncer) ticketOf(ctx context.Context, row store.OutboxRow) (*Target, store.TicketRecord, Tracker, error) {
	t, ok := s.Target(row.Target)
	if !ok {
		return nil, store.TicketRecord{}, nil, permanent("outbox %d: unknown sync target %q", row.ID, row.Target)
	}
	tk, err := s.Store.TicketFor(ctx, row.ClusterID, t.Name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, store.TicketRecord{}, nil, permanent("%v", err)
		}
		return nil, store.TicketRecord{}, nil, err
	}
	tr, err := s.tracker(t)
	if err != nil {
		return nil, store.TicketRecord{}, nil, err
	}
	return t, tk, tr, nil
}

// deliverReopen brings back the ticket of a cluster accepted again after a reopen:
// a ticket the tracker has closed (its status maps to resolved) is reopened, and a
// comment says who accepted the cluster again and why. The status it reopened to is
// recorded as the hub's own write, so its echo changes nothing.
func (s *Syncer) deliverReopen(ctx context.Context, row store.OutboxRow) error {
	var p reopenPayload
	if err := json.Unmarshal(row.Payload, &p); err != nil {
		return permanent("outbox %d: payload: %v", row.ID, err)
	}
	t, tk, tr, err := s.ticketOf(ctx, row)
	if err != nil {
		return err
	}
	r, err := tr.Get(ctx, tk.RemoteKey)
	if err != nil {
		return err
	}
	var patch store.TicketPatch
	did := "still open"
	switch st, ok := t.ClusterStatus(r.Status); {
	case ok && triage.IsTerminal(st):
		// The fence, as for a create: only the worker still holding the row moves the
		// ticket (a second one would find it open and move it on).
		if err := s.fence(ctx, row); err != nil {
			return err
		}
		if err := s.fault("reopen:transition"); err != nil {
			return err
		}
		// The status it moves to is recorded as the hub's own write before the move,
		// so the webhook the move sends is an echo even if it comes back first.
		recorded := false
		to, err := tr.Reopen(ctx, tk.RemoteKey, func(to string) error {
			_, err := s.Store.PatchTicket(ctx, tk.ID, store.TicketPatch{Written: map[string]string{"status": to}})
			recorded = err == nil
			return err
		})
		if err != nil {
			if recorded {
				// The move failed after all (a workflow validator, say): its status is
				// not ours to wait for.
				_, _ = s.Store.PatchTicket(context.WithoutCancel(ctx), tk.ID, store.TicketPatch{Written: map[string]string{"status": ""}})
			}
			return err
		}
		patch.Status = &to
		did = fmt.Sprintf("reopened: %s → %s", r.Status, to)
	case r.Status == tk.Written["status"] && r.Status != tk.Status:
		// An earlier attempt reopened it and stopped before recording so.
		patch.Status = &r.Status
		did = "reopened to " + r.Status
	case r.Status != tk.Status:
		// A change the hub missed (a lost webhook): it goes through status back, so
		// authority and the cluster's status are honoured.
		if _, err := s.ApplyRemote(ctx, RemoteEvent{Target: t.Name, Key: tk.RemoteKey, Status: r.Status, Priority: r.Priority, Via: "reopen check"}); err != nil {
			return err
		}
	}
	text := fmt.Sprintf("Accepted again in feedbackhub by %s: %s\n%s", p.Actor, or(p.Reason, "(no reason given)"), s.hubURL(row.ClusterID))
	if err := commentOnce(ctx, tr, tk.RemoteKey, text, "feedbackhub:reopen:"+strconv.FormatInt(row.ID, 10), row.Attempts > 1, nil); err != nil {
		return err
	}
	if err := s.fault("reopen:commit"); err != nil {
		return err
	}
	patch.OutboxID = row.ID
	patch.Decision = &feedback.Decision{Actor: Actor, Action: feedback.ActionNote, Target: triage.ClusterTarget(row.ClusterID),
		After: tk.RemoteKey, Reason: "ticket " + tk.RemoteKey + " " + did + " (cluster accepted again by " + p.Actor + ")"}
	_, err = s.Store.PatchTicket(ctx, tk.ID, patch)
	return err
}

// deliverUpdate posts one comment listing every item the ticket does not list yet and
// pushes the priority when the hub's severity says so; then records both.
func (s *Syncer) deliverUpdate(ctx context.Context, row store.OutboxRow) error {
	t, tk, tr, err := s.ticketOf(ctx, row)
	if err != nil {
		return err
	}
	c, err := s.Store.Cluster(ctx, row.ClusterID)
	if err != nil {
		return err
	}
	items, err := s.Store.ClusterItems(ctx, c.ID)
	if err != nil {
		return err
	}
	var did []string
	patch := store.TicketPatch{Items: itemIDs(items), Severity: &c.Severity, OutboxID: row.ID}
	if fresh := newItems(tk, items); len(fresh) > 0 {
		data := ticketData(c, fresh, s.partnerNames(), "", s.hubURL(c.ID))
		all := ticketData(c, items, s.partnerNames(), "", "")
		data.Counts = all.Counts
		data.Ticket = tk
		text, err := execute(s.Templates.Update, data)
		if err != nil {
			return err
		}
		if err := commentOnce(ctx, tr, tk.RemoteKey, text, "feedbackhub:update:"+strconv.FormatInt(row.ID, 10), row.Attempts > 1,
			func() error { return s.fault("update:comment") }); err != nil {
			return err
		}
		did = append(did, fmt.Sprintf("listed %d new item(s)", len(fresh)))
	}
	if p := s.wantPriority(t, tk, c); p != "" {
		if err := s.fault("update:priority"); err != nil {
			return err
		}
		if err := tr.SetPriority(ctx, tk.RemoteKey, tk.RemotePriority, p); err != nil {
			return err
		}
		did = append(did, fmt.Sprintf("priority %s → %s (severity %s, hub wins)", or(tk.RemotePriority, "none"), p, c.Severity))
		patch.Written, patch.RemotePriority = map[string]string{"priority": p}, &p
	}
	if err := s.fault("update:commit"); err != nil {
		return err
	}
	if len(did) > 0 {
		patch.Decision = &feedback.Decision{Actor: Actor, Action: feedback.ActionNote, Target: triage.ClusterTarget(c.ID),
			After: tk.RemoteKey, Reason: "ticket " + tk.RemoteKey + " updated: " + strings.Join(did, "; ")}
	}
	// Patched, not written back whole: a status the tracker reported meanwhile stays.
	_, err = s.Store.PatchTicket(ctx, tk.ID, patch)
	return err
}

func (s *Syncer) partnerNames() map[string]string {
	out := map[string]string{}
	for id, p := range s.Partners {
		out[id] = p.Name
	}
	return out
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// dryRunTargets names the plan-only targets, whose outbox rows Drain leaves pending.
func (s *Syncer) dryRunTargets() []string {
	var out []string
	for _, t := range s.Targets {
		if t.DryRun {
			out = append(out, t.Name)
		}
	}
	return out
}

// lease is the outbox lease (Options' Lease, else DefaultLease).
func (s *Syncer) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}
