package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// Outbox row statuses. A failed attempt that may succeed later stays pending with a
// later next_attempt_at; dead rows wait for `feedbackhub outbox retry ID`.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxDead    = "dead"
)

// ErrNotDead is returned when retrying an outbox row that is not dead-lettered.
var ErrNotDead = errors.New("outbox row is not dead-lettered")

// ErrStaleCluster is returned when a decision was computed from a cluster state that
// changed before it could be written (another decision won the race).
var ErrStaleCluster = errors.New("cluster changed since it was read")

// OutboxRow is one effect waiting to leave the hub (a ticket to create, a comment, a
// priority update, reporter notifications). IdempotencyKey is unique: enqueuing the
// same effect twice keeps the first row.
type OutboxRow struct {
	ID             int64           `json:"id"`
	IdempotencyKey string          `json:"idempotency_key"`
	Kind           string          `json:"kind"`
	Target         string          `json:"target"`
	ClusterID      int64           `json:"cluster_id"`
	DecisionID     int64           `json:"decision_id,omitempty"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	Status         string          `json:"status"`
	Attempts       int             `json:"attempts"`
	NextAttemptAt  time.Time       `json:"next_attempt_at"`
	LastError      string          `json:"last_error,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

type outboxRow struct {
	ID             int64         `db:"id"`
	IdempotencyKey string        `db:"idempotency_key"`
	Kind           string        `db:"kind"`
	Target         string        `db:"target"`
	ClusterID      sql.NullInt64 `db:"cluster_id"`
	DecisionID     sql.NullInt64 `db:"decision_id"`
	Payload        string        `db:"payload"`
	Status         string        `db:"status"`
	Attempts       int           `db:"attempts"`
	NextAttemptAt  time.Time     `db:"next_attempt_at"`
	LastError      string        `db:"last_error"`
	CreatedAt      time.Time     `db:"created_at"`
	UpdatedAt      time.Time     `db:"updated_at"`
}

func (r outboxRow) row() OutboxRow {
	o := OutboxRow{ID: r.ID, IdempotencyKey: r.IdempotencyKey, Kind: r.Kind, Target: r.Target,
		ClusterID: r.ClusterID.Int64, DecisionID: r.DecisionID.Int64, Status: r.Status, Attempts: r.Attempts,
		NextAttemptAt: r.NextAttemptAt.UTC(), LastError: r.LastError, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.Payload != "" && r.Payload != "{}" && r.Payload != "null" {
		o.Payload = json.RawMessage(r.Payload)
	}
	return o
}

const outboxColumns = `id, idempotency_key, kind, target, cluster_id, decision_id, payload, status, attempts,
	next_attempt_at, last_error, created_at, updated_at`

func nullID(v int64) sql.NullInt64 { return sql.NullInt64{Int64: v, Valid: v != 0} }

// utc truncates to microseconds (PostgreSQL's precision) so both databases round-trip
// the same value.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// enqueueTx inserts r unless its idempotency key exists; it reports whether it did.
func (s *Store) enqueueTx(ctx context.Context, tx *sqlx.Tx, r OutboxRow, decisionID int64) (int64, bool, error) {
	if r.IdempotencyKey == "" || r.Kind == "" {
		return 0, false, errors.New("store: outbox row needs an idempotency key and a kind")
	}
	payload := "{}"
	if len(r.Payload) > 0 {
		if !json.Valid(r.Payload) {
			return 0, false, fmt.Errorf("store: outbox %s: payload is not JSON", r.IdempotencyKey)
		}
		payload = string(r.Payload)
	}
	if r.DecisionID != 0 {
		decisionID = r.DecisionID
	}
	now := utc(s.nowUTC())
	next := r.NextAttemptAt
	if next.IsZero() {
		next = now
	}
	var id int64
	err := tx.QueryRowContext(ctx, tx.Rebind(`INSERT INTO outbox (idempotency_key, kind, target, cluster_id, decision_id,
		payload, status, attempts, next_attempt_at, last_error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, '', ?, ?)
		ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`),
		r.IdempotencyKey, r.Kind, r.Target, nullID(r.ClusterID), nullID(decisionID), payload, OutboxPending,
		utc(next), now, now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		if err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM outbox WHERE idempotency_key = ?`), r.IdempotencyKey); err != nil {
			return 0, false, fmt.Errorf("store: outbox %s: %w", r.IdempotencyKey, err)
		}
		return id, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: outbox %s: %w", r.IdempotencyKey, err)
	}
	return id, true, nil
}

// Enqueue adds an effect to the outbox unless one with the same idempotency key
// exists, and returns the row's id and whether it was new.
func (s *Store) Enqueue(ctx context.Context, r OutboxRow) (id int64, created bool, err error) {
	err = s.tx(ctx, "outbox-enqueue", func(tx *sqlx.Tx) error {
		id, created, err = s.enqueueTx(ctx, tx, r, 0)
		return err
	})
	return id, created, err
}

// DecisionWrite is a decision with everything it causes, written in one transaction
// by ApplyDecision: the cluster's new triage fields, the decision log entry and the
// outbox rows (which get the decision's id).
type DecisionWrite struct {
	// Cluster is the cluster after the decision; nil for a decision that changes no
	// cluster field (a note, a notification).
	Cluster *feedback.Cluster
	// ExpectStatus, when set, must be the cluster's status in the database, or the
	// write fails with ErrStaleCluster (optimistic concurrency).
	ExpectStatus feedback.Status
	Decision     feedback.Decision
	Outbox       []OutboxRow
}

// DecisionResult is what ApplyDecision wrote.
type DecisionResult struct {
	DecisionID int64
	// OutboxIDs holds one id per DecisionWrite.Outbox row, in order; Created says which
	// were new (false: the idempotency key was already there).
	OutboxIDs []int64
	Created   []bool
}

// ApplyDecision writes a decision, the cluster change it makes and the outbox rows it
// causes in ONE transaction (operation name "decision-apply" for Hooks): either all of
// it is durable or none of it is. Accepting a cluster is the main use: the accept
// decision, status accepted and a "create the ticket" outbox row.
func (s *Store) ApplyDecision(ctx context.Context, w DecisionWrite) (DecisionResult, error) {
	var res DecisionResult
	err := s.tx(ctx, "decision-apply", func(tx *sqlx.Tx) error {
		res = DecisionResult{}
		if c := w.Cluster; c != nil {
			q := `UPDATE clusters SET title = ?, status = ?, category = ?, severity = ?, owner = ?, labels = ?, updated_at = ? WHERE id = ?`
			args := []any{clean(c.Title), string(c.Status), string(c.Category), string(c.Severity), c.Owner,
				stringsJSON(c.Labels), utc(s.nowUTC()), c.ID}
			if w.ExpectStatus != "" {
				q += ` AND status = ?`
				args = append(args, string(w.ExpectStatus))
			}
			r, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
			if err != nil {
				return fmt.Errorf("store: apply decision on cluster %d: %w", c.ID, err)
			}
			if n, _ := r.RowsAffected(); n == 0 {
				var exists int
				if err := tx.GetContext(ctx, &exists, tx.Rebind(`SELECT count(*) FROM clusters WHERE id = ?`), c.ID); err == nil && exists == 0 {
					return fmt.Errorf("store: apply decision on cluster %d: %w", c.ID, ErrNotFound)
				}
				return fmt.Errorf("store: apply decision on cluster %d (expected status %s): %w", c.ID, w.ExpectStatus, ErrStaleCluster)
			}
		}
		id, err := s.appendDecisionTx(ctx, tx, w.Decision)
		if err != nil {
			return err
		}
		res.DecisionID = id
		for _, r := range w.Outbox {
			oid, created, err := s.enqueueTx(ctx, tx, r, id)
			if err != nil {
				return err
			}
			res.OutboxIDs = append(res.OutboxIDs, oid)
			res.Created = append(res.Created, created)
		}
		return nil
	})
	if err != nil {
		return DecisionResult{}, err
	}
	return res, nil
}

// AcceptCluster is ApplyDecision for the accept decision: it moves the cluster to
// accepted (only from expectStatus, when set), appends d and enqueues the ticket
// creation rows, in one transaction.
func (s *Store) AcceptCluster(ctx context.Context, c feedback.Cluster, expectStatus feedback.Status, d feedback.Decision, rows ...OutboxRow) (DecisionResult, error) {
	c.Status = feedback.StatusAccepted
	if d.Action == "" {
		d.Action = feedback.ActionAccept
	}
	return s.ApplyDecision(ctx, DecisionWrite{Cluster: &c, ExpectStatus: expectStatus, Decision: d, Outbox: rows})
}

// claimSQL takes due pending rows and pushes their next attempt past the lease, so a
// crashed worker's rows come back once the lease ends and a live worker's rows are
// never taken twice. %s is the dialect's row-locking clause.
const claimSQL = `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
	WHERE id IN (SELECT id FROM outbox WHERE status = ? AND next_attempt_at <= ?%s
		ORDER BY next_attempt_at, id LIMIT %d%s)
	RETURNING ` + outboxColumns

// RenewOutbox extends this worker's claim on a row, as long as it is still this
// worker's: the row is pending and its attempts are still the count the claim left
// (another claim, after the lease ran out, would have raised it). false means the
// claim is lost and the row must be left alone: the fence before anything that must
// not happen twice.
func (s *Store) RenewOutbox(ctx context.Context, id int64, attempts int, lease time.Duration) (bool, error) {
	now := s.nowUTC()
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE outbox SET next_attempt_at = ?, updated_at = ?
		WHERE id = ? AND status = ? AND attempts = ?`), utc(now.Add(lease)), utc(now), id, OutboxPending, attempts)
	if err != nil {
		return false, fmt.Errorf("store: renew outbox %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: renew outbox %d: %w", id, err)
	}
	return n == 1, nil
}

// ClaimOutbox takes up to limit due pending rows for delivery and leases them for
// lease (attempts counts the claim). On PostgreSQL the rows are locked with
// FOR UPDATE SKIP LOCKED, so instances running side by side never take the same
// row; SQLite is single-instance (one connection) and needs no lock. Rows come back
// oldest due first. Rows of the targets named in skip are left alone (plan-only
// targets).
func (s *Store) ClaimOutbox(ctx context.Context, limit int, lease time.Duration, skip ...string) ([]OutboxRow, error) {
	if limit <= 0 {
		limit = 10
	}
	if lease <= 0 {
		lease = 5 * time.Minute
	}
	lock := ""
	if s.loc.Dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	now := utc(s.nowUTC())
	var rows []outboxRow
	err := s.tx(ctx, "outbox-claim", func(tx *sqlx.Tx) error {
		rows = nil
		args := []any{utc(now.Add(lease)), now, OutboxPending, now}
		not := ""
		if len(skip) > 0 {
			not = " AND target NOT IN (?" + strings.Repeat(", ?", len(skip)-1) + ")"
			for _, t := range skip {
				args = append(args, t)
			}
		}
		return tx.SelectContext(ctx, &rows, tx.Rebind(fmt.Sprintf(claimSQL, not, limit, lock)), args...)
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim outbox: %w", err)
	}
	out := make([]OutboxRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.row())
	}
	// RETURNING gives no order guarantee.
	sortOutbox(out)
	return out, nil
}

func sortOutbox(rs []OutboxRow) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && (rs[j].NextAttemptAt.Before(rs[j-1].NextAttemptAt) ||
			rs[j].NextAttemptAt.Equal(rs[j-1].NextAttemptAt) && rs[j].ID < rs[j-1].ID); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// MarkOutboxSent records a successful delivery.
func (s *Store) MarkOutboxSent(ctx context.Context, id int64) error {
	return s.tx(ctx, "outbox-sent", func(tx *sqlx.Tx) error { return s.markSentTx(ctx, tx, id) })
}

func (s *Store) markSentTx(ctx context.Context, tx *sqlx.Tx, id int64) error {
	r, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE outbox SET status = ?, last_error = '', updated_at = ? WHERE id = ?`),
		OutboxSent, utc(s.nowUTC()), id)
	if err != nil {
		return fmt.Errorf("store: outbox %d sent: %w", id, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("store: outbox %d sent: %w", id, ErrNotFound)
	}
	return nil
}

// Failure says what to do with an outbox row whose delivery failed.
type Failure struct {
	Err string
	// RetryAt is when to try again; zero means now.
	RetryAt time.Time
	// Permanent failures (rejected input, bad credentials) go to the dead letter at once.
	Permanent bool
	// MaxAttempts dead-letters the row once it has been tried this often (0: never).
	MaxAttempts int
}

// MarkOutboxFailed records a failed delivery: the row stays pending until RetryAt, or
// becomes dead when the failure is permanent or the attempts are used up. It returns
// the row's new status.
func (s *Store) MarkOutboxFailed(ctx context.Context, id int64, f Failure) (string, error) {
	var status string
	err := s.tx(ctx, "outbox-failed", func(tx *sqlx.Tx) error {
		var attempts int
		if err := tx.GetContext(ctx, &attempts, tx.Rebind(`SELECT attempts FROM outbox WHERE id = ?`), id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: outbox %d failed: %w", id, ErrNotFound)
			}
			return fmt.Errorf("store: outbox %d failed: %w", id, err)
		}
		status = OutboxPending
		if f.Permanent || (f.MaxAttempts > 0 && attempts >= f.MaxAttempts) {
			status = OutboxDead
		}
		now := utc(s.nowUTC())
		at := f.RetryAt
		if at.IsZero() {
			at = now
		}
		msg := f.Err
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE outbox SET status = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?`),
			status, utc(at), clean(msg), now, id)
		if err != nil {
			return fmt.Errorf("store: outbox %d failed: %w", id, err)
		}
		return nil
	})
	return status, err
}

// RetryOutbox puts a dead row back in the queue, due now, with its attempts reset.
// A pending row is made due now; a sent row is refused with ErrNotDead.
func (s *Store) RetryOutbox(ctx context.Context, id int64) (OutboxRow, error) {
	var out OutboxRow
	err := s.tx(ctx, "outbox-retry", func(tx *sqlx.Tx) error {
		var r outboxRow
		if err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+outboxColumns+` FROM outbox WHERE id = ?`), id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: retry outbox %d: %w", id, ErrNotFound)
			}
			return fmt.Errorf("store: retry outbox %d: %w", id, err)
		}
		if r.Status == OutboxSent {
			return fmt.Errorf("store: retry outbox %d: it was sent: %w", id, ErrNotDead)
		}
		now := utc(s.nowUTC())
		attempts := r.Attempts
		if r.Status == OutboxDead {
			attempts = 0
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?`),
			OutboxPending, attempts, now, now, id); err != nil {
			return fmt.Errorf("store: retry outbox %d: %w", id, err)
		}
		r.Status, r.Attempts, r.NextAttemptAt, r.UpdatedAt = OutboxPending, attempts, now, now
		out = r.row()
		return nil
	})
	return out, err
}

// OutboxFilter selects outbox rows.
type OutboxFilter struct {
	Status    string // pending, sent, dead; empty: all
	Kind      string
	ClusterID int64
	Limit     int // 0 = 1000
}

// ListOutbox lists outbox rows, oldest first.
func (s *Store) ListOutbox(ctx context.Context, f OutboxFilter) ([]OutboxRow, error) {
	var c conds
	if f.Status != "" {
		c.add("status = ?", f.Status)
	}
	if f.Kind != "" {
		c.add("kind = ?", f.Kind)
	}
	if f.ClusterID != 0 {
		c.add("cluster_id = ?", f.ClusterID)
	}
	q := `SELECT ` + outboxColumns + ` FROM outbox` + c.where() + " ORDER BY id" + limit(f.Limit, 1000)
	var rows []outboxRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), c.args...); err != nil {
		return nil, fmt.Errorf("store: list outbox: %w", err)
	}
	out := make([]OutboxRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.row())
	}
	return out, nil
}

// OutboxByID returns one outbox row.
func (s *Store) OutboxByID(ctx context.Context, id int64) (OutboxRow, error) {
	var r outboxRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+outboxColumns+` FROM outbox WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxRow{}, fmt.Errorf("store: outbox %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return OutboxRow{}, fmt.Errorf("store: outbox %d: %w", id, err)
	}
	return r.row(), nil
}

// OutboxCounts returns how many rows are in each status (for `status` and metrics).
func (s *Store) OutboxCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT status, count(*) FROM outbox GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("store: outbox counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{OutboxPending: 0, OutboxSent: 0, OutboxDead: 0}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("store: outbox counts: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}
