package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/feedbackhub/feedbackhub/feedback"
)

const insertDecisionSQL = `INSERT INTO decisions (at, actor, action, target, before_value, after_value, reason, rules_version)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// AppendDecision adds one entry to the append-only decision log and returns its id.
// There is no update or delete path: the table's triggers refuse both.
func (s *Store) AppendDecision(ctx context.Context, d feedback.Decision) (int64, error) {
	var id int64
	err := s.tx(ctx, "decision", func(tx *sqlx.Tx) error {
		var err error
		id, err = s.appendDecisionTx(ctx, tx, d)
		return err
	})
	return id, err
}

func (s *Store) appendDecisionTx(ctx context.Context, tx *sqlx.Tx, d feedback.Decision) (int64, error) {
	if d.Actor == "" || d.Action == "" || d.Target == "" {
		return 0, errors.New("store: decision needs actor, action and target")
	}
	at := d.At
	if at.IsZero() {
		at = s.nowUTC()
	}
	var id int64
	err := tx.QueryRowContext(ctx, tx.Rebind(insertDecisionSQL), at.UTC(), d.Actor, string(d.Action), d.Target,
		d.Before, d.After, d.Reason, d.RulesVersion).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: append decision: %w", err)
	}
	return id, nil
}

// DecisionFilter selects decisions.
type DecisionFilter struct {
	Since  time.Time
	Target string
	Limit  int // 0 = no limit
}

// Decisions lists the decision log in order.
func (s *Store) Decisions(ctx context.Context, f DecisionFilter) ([]feedback.Decision, error) {
	var c conds
	if !f.Since.IsZero() {
		c.add("at >= ?", f.Since.UTC())
	}
	if f.Target != "" {
		c.add("target = ?", f.Target)
	}
	q := `SELECT id, at, actor, action, target, before_value, after_value, reason, rules_version FROM decisions` + c.where() + " ORDER BY id"
	if f.Limit > 0 {
		q += limit(f.Limit, 0)
	}
	var out []feedback.Decision
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), c.args...); err != nil {
		return nil, fmt.Errorf("store: decisions: %w", err)
	}
	for i := range out {
		out[i].At = out[i].At.UTC()
	}
	return out, nil
}

// SLAEvent is one entry of a cluster's append-only SLA clock log.
type SLAEvent struct {
	ID        int64     `db:"id" json:"id"`
	ClusterID int64     `db:"cluster_id" json:"cluster_id"`
	At        time.Time `db:"at" json:"at"`
	Kind      string    `db:"kind" json:"kind"` // start, pause, resume, stop, policy, severity, warn, breach
	Policy    string    `db:"policy" json:"policy"`
	Metric    string    `db:"metric" json:"metric"`
	Detail    string    `db:"detail" json:"detail"` // JSON
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// AppendSLAEvent adds an event to the SLA log and returns its id.
func (s *Store) AppendSLAEvent(ctx context.Context, e SLAEvent) (int64, error) {
	if err := checkSLAEvent(e); err != nil {
		return 0, err
	}
	return s.appendSLAEvent(e, func(q string, args ...any) *sqlx.Row { return s.queryRow(ctx, q, args...) })
}

// SLAEvents lists a cluster's SLA events in order.
func (s *Store) SLAEvents(ctx context.Context, clusterID int64) ([]SLAEvent, error) {
	var out []SLAEvent
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT id, cluster_id, at, kind, policy, metric, detail, created_at
		FROM sla_events WHERE cluster_id = ? ORDER BY id`), clusterID)
	if err != nil {
		return nil, fmt.Errorf("store: sla events: %w", err)
	}
	return out, nil
}

// execAppendOnlyProbe is used by the conformance suite to prove the database itself
// refuses changes to append-only tables; it maps the trigger's error to ErrAppendOnly.
func (s *Store) execAppendOnlyProbe(ctx context.Context, query string, args ...any) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(query), args...)
	if isAppendOnlyErr(err) {
		return fmt.Errorf("%w: %v", ErrAppendOnly, err)
	}
	return err
}

// AppendSLAEventOnce appends e unless an event with the same dedup key exists, and
// reports whether it was inserted. The unique key (cluster, metric, cycle, step) makes
// each warning, breach and escalation step fire once even when several instances
// evaluate the same cluster at the same time.
func (s *Store) AppendSLAEventOnce(ctx context.Context, e SLAEvent, key string) (bool, error) {
	if key == "" {
		return false, errors.New("store: sla event once: empty key")
	}
	if err := checkSLAEvent(e); err != nil {
		return false, err
	}
	e, at := s.slaEventDefaults(e)
	var id int64
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`INSERT INTO sla_events (cluster_id, at, kind, policy, metric, detail, created_at, dedup_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING id`),
		e.ClusterID, at.UTC(), e.Kind, e.Policy, e.Metric, e.Detail, s.nowUTC(), key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: append sla event once: %w", err)
	}
	return true, nil
}

// MembershipVersion is the id of the newest merge or unmerge decision (0 if none), or
// of the newest one before the decision id before when before > 0. A process that
// holds cluster membership in memory compares it with the version it loaded to
// notice moves made by another instance.
func (s *Store) MembershipVersion(ctx context.Context, before int64) (int64, error) {
	q := `SELECT COALESCE(MAX(id), 0) FROM decisions WHERE action IN (?, ?)`
	args := []any{string(feedback.ActionMerge), string(feedback.ActionUnmerge)}
	if before > 0 {
		q += ` AND id < ?`
		args = append(args, before)
	}
	var v int64
	if err := s.db.GetContext(ctx, &v, s.db.Rebind(q), args...); err != nil {
		return 0, fmt.Errorf("store: membership version: %w", err)
	}
	return v, nil
}
