package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// TicketRecord is a cluster's remote ticket with the sync bookkeeping kept beside it.
type TicketRecord struct {
	feedback.Ticket
	// Severity is the cluster severity last pushed to the ticket as its priority.
	Severity feedback.Severity `json:"severity"`
	// Items are the ids of the cluster items the ticket already lists.
	Items []int64 `json:"items"`
	// Written maps a field (status, priority, labels) to the value the hub last wrote
	// to the remote ticket, so the echo of our own write is not taken for a change.
	Written map[string]string `json:"written,omitempty"`
	// RemotePriority is the priority the remote side last reported.
	RemotePriority string `json:"remote_priority,omitempty"`
}

type ticketRow struct {
	ID             int64     `db:"id"`
	ClusterID      int64     `db:"cluster_id"`
	Target         string    `db:"target"`
	Kind           string    `db:"kind"`
	RemoteKey      string    `db:"remote_key"`
	URL            string    `db:"url"`
	Status         string    `db:"status"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
	LastSyncAt     time.Time `db:"last_sync_at"`
	Severity       string    `db:"severity"`
	Items          string    `db:"items"`
	Written        string    `db:"written"`
	RemotePriority string    `db:"remote_priority"`
}

func (r ticketRow) ticket() (TicketRecord, error) {
	t := TicketRecord{Ticket: feedback.Ticket{ID: r.ID, ClusterID: r.ClusterID, Target: r.Target, Kind: r.Kind,
		RemoteKey: r.RemoteKey, URL: r.URL, Status: r.Status, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		LastSyncAt: r.LastSyncAt.UTC()}, Severity: feedback.Severity(r.Severity), RemotePriority: r.RemotePriority}
	if r.Items != "" && r.Items != "null" {
		if err := json.Unmarshal([]byte(r.Items), &t.Items); err != nil {
			return t, fmt.Errorf("store: ticket %d: decode items: %w", r.ID, err)
		}
	}
	w, err := decodeMap(r.Written, "written")
	t.Written = w
	return t, err
}

const ticketColumns = `id, cluster_id, target, kind, remote_key, url, status, created_at, updated_at, last_sync_at,
	severity, items, written, remote_priority`

func idsJSON(ids []int64) string {
	if len(ids) == 0 {
		return "[]"
	}
	c := append([]int64(nil), ids...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	out := c[:1]
	for _, v := range c[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	s, _ := jsonText(out) // an []int64 always marshals
	return s
}

// upsertTicketTx writes t keyed on (target, cluster_id) and returns the stored row.
func (s *Store) upsertTicketTx(ctx context.Context, tx *sqlx.Tx, t TicketRecord) (TicketRecord, error) {
	if t.ClusterID == 0 || t.Target == "" || t.RemoteKey == "" {
		return TicketRecord{}, errors.New("store: ticket needs cluster id, target and remote key")
	}
	now := utc(s.nowUTC())
	var r ticketRow
	err := tx.GetContext(ctx, &r, tx.Rebind(`INSERT INTO tickets (cluster_id, target, kind, remote_key, url, status,
		created_at, updated_at, last_sync_at, severity, items, written, remote_priority)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (target, cluster_id) DO UPDATE SET kind = excluded.kind, remote_key = excluded.remote_key,
			url = excluded.url, status = excluded.status, updated_at = excluded.updated_at,
			last_sync_at = excluded.last_sync_at, severity = excluded.severity, items = excluded.items,
			written = excluded.written, remote_priority = excluded.remote_priority
		RETURNING `+ticketColumns),
		t.ClusterID, t.Target, t.Kind, t.RemoteKey, t.URL, t.Status, now, now, now, string(t.Severity),
		idsJSON(t.Items), mapJSON(t.Written), t.RemotePriority)
	if err != nil {
		return TicketRecord{}, fmt.Errorf("store: ticket %s for cluster %d: %w", t.Target, t.ClusterID, err)
	}
	return r.ticket()
}

// TicketWrite is a ticket change with what comes with it, written in one transaction
// by SaveTicket: the outbox row it completes and the decision that logs it.
type TicketWrite struct {
	Ticket TicketRecord
	// OutboxID, when set, is marked sent in the same transaction.
	OutboxID int64
	// Decision, when set, is appended in the same transaction.
	Decision *feedback.Decision
}

// SaveTicket upserts a ticket (keyed on target and cluster), marks the outbox row that
// produced it sent and appends its decision, in ONE transaction (operation name
// "ticket-save" for Hooks). A crash before the commit leaves the outbox row pending,
// so the worker runs again and finds the remote ticket by its marker.
func (s *Store) SaveTicket(ctx context.Context, w TicketWrite) (TicketRecord, error) {
	var out TicketRecord
	err := s.tx(ctx, "ticket-save", func(tx *sqlx.Tx) error {
		var err error
		if out, err = s.upsertTicketTx(ctx, tx, w.Ticket); err != nil {
			return err
		}
		return s.completeTicketTx(ctx, tx, w.OutboxID, w.Decision)
	})
	return out, err
}

// TicketPatch changes some fields of a stored ticket and leaves the others as they
// are: a nil field is unchanged, Items are added to the listed ones and Written is
// merged key by key. Workers that read a ticket, talk to the tracker for seconds and
// then write it back patch it, so a change another worker made meanwhile (a status
// from a webhook, items listed by an update) is not overwritten with what they read.
type TicketPatch struct {
	Status         *string
	RemotePriority *string
	Severity       *feedback.Severity
	Items          []int64
	Written        map[string]string
	// OutboxID, when set, is marked sent in the same transaction.
	OutboxID int64
	// Decision, when set, is appended in the same transaction.
	Decision *feedback.Decision
}

// PatchTicket applies p to ticket id in one transaction (the row locked on
// PostgreSQL, the database's write lock taken first on SQLite) and returns the
// ticket as stored.
func (s *Store) PatchTicket(ctx context.Context, id int64, p TicketPatch) (TicketRecord, error) {
	var out TicketRecord
	err := s.tx(ctx, "ticket-save", func(tx *sqlx.Tx) error {
		q := `SELECT ` + ticketColumns + ` FROM tickets WHERE id = ?`
		if s.loc.Dialect == Postgres {
			q += " FOR UPDATE"
		} else if _, err := tx.ExecContext(ctx, `UPDATE tickets SET id = id WHERE id = ?`, id); err != nil {
			// A write first: SQLite takes the write lock now, so another process's
			// write cannot slip between this read and the write (the transaction
			// would fail at the write, its snapshot stale).
			return fmt.Errorf("store: ticket %d: %w", id, err)
		}
		var r ticketRow
		if err := tx.GetContext(ctx, &r, tx.Rebind(q), id); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: ticket %d: %w", id, ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("store: ticket %d: %w", id, err)
		}
		t, err := r.ticket()
		if err != nil {
			return err
		}
		if p.Status != nil {
			t.Status = *p.Status
		}
		if p.RemotePriority != nil {
			t.RemotePriority = *p.RemotePriority
		}
		if p.Severity != nil {
			t.Severity = *p.Severity
		}
		t.Items = append(t.Items, p.Items...)
		if len(p.Written) > 0 && t.Written == nil {
			t.Written = map[string]string{}
		}
		for k, v := range p.Written {
			t.Written[k] = v
		}
		if out, err = s.upsertTicketTx(ctx, tx, t); err != nil {
			return err
		}
		return s.completeTicketTx(ctx, tx, p.OutboxID, p.Decision)
	})
	return out, err
}

// completeTicketTx marks the outbox row that produced a ticket write sent and appends
// its decision (each when set), inside the write's transaction.
func (s *Store) completeTicketTx(ctx context.Context, tx *sqlx.Tx, outboxID int64, d *feedback.Decision) error {
	if outboxID != 0 {
		if err := s.markSentTx(ctx, tx, outboxID); err != nil {
			return err
		}
	}
	if d != nil {
		if _, err := s.appendDecisionTx(ctx, tx, *d); err != nil {
			return err
		}
	}
	return nil
}

// UpsertTicket creates or updates a cluster's ticket for a target.
func (s *Store) UpsertTicket(ctx context.Context, t TicketRecord) (TicketRecord, error) {
	return s.SaveTicket(ctx, TicketWrite{Ticket: t})
}

// TicketFilter selects tickets.
type TicketFilter struct {
	Target    string
	ClusterID int64
	// Statuses keeps tickets whose remote status is one of these.
	Statuses []string
	Limit    int // 0 = 1000
}

// Tickets lists tickets in id order.
func (s *Store) Tickets(ctx context.Context, f TicketFilter) ([]TicketRecord, error) {
	var c conds
	if f.Target != "" {
		c.add("target = ?", f.Target)
	}
	if f.ClusterID != 0 {
		c.add("cluster_id = ?", f.ClusterID)
	}
	c.in("status", f.Statuses)
	q := `SELECT ` + ticketColumns + ` FROM tickets` + c.where() + " ORDER BY id" + limit(f.Limit, 1000)
	var rows []ticketRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), c.args...); err != nil {
		return nil, fmt.Errorf("store: tickets: %w", err)
	}
	out := make([]TicketRecord, 0, len(rows))
	for _, r := range rows {
		t, err := r.ticket()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// TicketFor returns a cluster's ticket at a target, or ErrNotFound.
func (s *Store) TicketFor(ctx context.Context, clusterID int64, target string) (TicketRecord, error) {
	var r ticketRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+ticketColumns+` FROM tickets WHERE cluster_id = ? AND target = ?`), clusterID, target)
	if errors.Is(err, sql.ErrNoRows) {
		return TicketRecord{}, fmt.Errorf("store: ticket for cluster %d at %s: %w", clusterID, target, ErrNotFound)
	}
	if err != nil {
		return TicketRecord{}, fmt.Errorf("store: ticket for cluster %d at %s: %w", clusterID, target, err)
	}
	return r.ticket()
}

// TicketByRemoteKey returns the ticket with a remote key (FB-12, owner/repo#3); an
// empty target searches every target and returns the first match.
func (s *Store) TicketByRemoteKey(ctx context.Context, target, key string) (TicketRecord, error) {
	q := `SELECT ` + ticketColumns + ` FROM tickets WHERE remote_key = ?`
	args := []any{key}
	if target != "" {
		q += ` AND target = ?`
		args = append(args, target)
	}
	q += ` ORDER BY id LIMIT 1`
	var r ticketRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(q), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return TicketRecord{}, fmt.Errorf("store: ticket %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return TicketRecord{}, fmt.Errorf("store: ticket %s: %w", key, err)
	}
	return r.ticket()
}

// Notification statuses.
const (
	NotificationPending = "pending"
	NotificationSent    = "sent"
	NotificationFailed  = "failed"
	// NotificationSkipped marks a reporter no channel can reach (logged, not retried).
	NotificationSkipped = "skipped"
)

// Notification is one message to one reporter, unique on its idempotency key.
type Notification struct {
	ID        int64     `json:"id" db:"id"`
	Key       string    `json:"idempotency_key" db:"idempotency_key"`
	ClusterID int64     `json:"cluster_id" db:"cluster_id"`
	ItemID    int64     `json:"item_id" db:"item_id"`
	Channel   string    `json:"channel" db:"channel"` // email, github, jira, callback
	Recipient string    `json:"recipient" db:"recipient"`
	Status    string    `json:"status" db:"status"`
	Error     string    `json:"error,omitempty" db:"error"`
	SentAt    time.Time `json:"sent_at,omitzero" db:"-"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
}

type notificationRow struct {
	ID        int64         `db:"id"`
	Key       string        `db:"idempotency_key"`
	ClusterID sql.NullInt64 `db:"cluster_id"`
	ItemID    sql.NullInt64 `db:"item_id"`
	Channel   string        `db:"channel"`
	Recipient string        `db:"recipient"`
	Status    string        `db:"status"`
	Error     string        `db:"error"`
	SentAt    sql.NullTime  `db:"sent_at"`
	CreatedAt time.Time     `db:"created_at"`
}

func (r notificationRow) notification() Notification {
	n := Notification{ID: r.ID, Key: r.Key, ClusterID: r.ClusterID.Int64, ItemID: r.ItemID.Int64, Channel: r.Channel,
		Recipient: r.Recipient, Status: r.Status, Error: r.Error, CreatedAt: r.CreatedAt.UTC()}
	if r.SentAt.Valid {
		n.SentAt = r.SentAt.Time.UTC()
	}
	return n
}

const notificationColumns = `id, idempotency_key, cluster_id, item_id, channel, recipient, status, error, sent_at, created_at`

// InsertNotification records a notification unless one with the same key exists; it
// returns the stored row (the existing one when not new) and whether it was new.
func (s *Store) InsertNotification(ctx context.Context, n Notification) (Notification, bool, error) {
	if n.Key == "" || n.Channel == "" {
		return Notification{}, false, errors.New("store: notification needs an idempotency key and a channel")
	}
	if n.Status == "" {
		n.Status = NotificationPending
	}
	var out Notification
	var created bool
	err := s.tx(ctx, "notification-insert", func(tx *sqlx.Tx) error {
		var r notificationRow
		err := tx.GetContext(ctx, &r, tx.Rebind(`INSERT INTO notifications (idempotency_key, cluster_id, item_id, channel,
			recipient, status, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING `+notificationColumns),
			n.Key, nullID(n.ClusterID), nullID(n.ItemID), n.Channel, n.Recipient, n.Status, clean(n.Error), utc(s.nowUTC()))
		if errors.Is(err, sql.ErrNoRows) {
			if err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+notificationColumns+` FROM notifications WHERE idempotency_key = ?`), n.Key); err != nil {
				return fmt.Errorf("store: notification %s: %w", n.Key, err)
			}
			out = r.notification()
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: notification %s: %w", n.Key, err)
		}
		out, created = r.notification(), true
		return nil
	})
	return out, created, err
}

// MarkNotificationSent records that a notification went out and appends its decision
// (action notify), in one transaction (operation "notification-sent").
func (s *Store) MarkNotificationSent(ctx context.Context, key string, d *feedback.Decision) error {
	return s.tx(ctx, "notification-sent", func(tx *sqlx.Tx) error {
		now := utc(s.nowUTC())
		r, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE notifications SET status = ?, error = '', sent_at = ? WHERE idempotency_key = ?`),
			NotificationSent, now, key)
		if err != nil {
			return fmt.Errorf("store: notification %s sent: %w", key, err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("store: notification %s sent: %w", key, ErrNotFound)
		}
		if d != nil {
			if _, err := s.appendDecisionTx(ctx, tx, *d); err != nil {
				return err
			}
		}
		return nil
	})
}

// MarkNotificationFailed records a failed (or, with skipped, an impossible)
// notification and why.
func (s *Store) MarkNotificationFailed(ctx context.Context, key, reason string, skipped bool) error {
	st := NotificationFailed
	if skipped {
		st = NotificationSkipped
	}
	r, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE notifications SET status = ?, error = ? WHERE idempotency_key = ?`), st, clean(reason), key)
	if err != nil {
		return fmt.Errorf("store: notification %s failed: %w", key, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("store: notification %s failed: %w", key, ErrNotFound)
	}
	return nil
}

// NotificationFilter selects notifications.
type NotificationFilter struct {
	ClusterID int64
	Status    string
	Limit     int // 0 = 1000
}

// Notifications lists notifications in id order.
func (s *Store) Notifications(ctx context.Context, f NotificationFilter) ([]Notification, error) {
	var c conds
	if f.ClusterID != 0 {
		c.add("cluster_id = ?", f.ClusterID)
	}
	if f.Status != "" {
		c.add("status = ?", f.Status)
	}
	q := `SELECT ` + notificationColumns + ` FROM notifications` + c.where() + " ORDER BY id" + limit(f.Limit, 1000)
	var rows []notificationRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), c.args...); err != nil {
		return nil, fmt.Errorf("store: notifications: %w", err)
	}
	out := make([]Notification, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.notification())
	}
	return out, nil
}

// Record returns one stored record by id (sync reads an item's newest record for the
// reporter's address and the mail thread).
func (s *Store) Record(ctx context.Context, id int64) (feedback.Record, error) {
	var r recordRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind("SELECT "+recordColumns+" FROM records WHERE id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return feedback.Record{}, fmt.Errorf("store: record %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return feedback.Record{}, fmt.Errorf("store: record %d: %w", id, err)
	}
	return r.record()
}
