package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// pollRetention is how long poll rows are kept; status reads at most the last hour
// and the last success/error, which a source polled at least weekly always has.
const pollRetention = 7 * 24 * time.Hour

// Poll is one poll of a source: when, whether it worked, and what it cost.
type Poll struct {
	Source      string
	StartedAt   time.Time
	FinishedAt  time.Time
	Err         string // "" when the poll worked; already redacted by the caller
	Requests    int
	NotModified int
	Fetched     int
	New         int
	Waited      time.Duration
}

// RecordPoll stores one poll's outcome and prunes that source's rows older than a
// week, so the table stays small however often sources are polled.
func (s *Store) RecordPoll(ctx context.Context, p Poll) error {
	if p.Source == "" {
		return errors.New("store: record poll: empty source")
	}
	fin := p.FinishedAt
	if fin.IsZero() {
		fin = s.nowUTC()
	}
	start := p.StartedAt
	if start.IsZero() {
		start = fin
	}
	return s.tx(ctx, "record-poll", func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO source_polls (source, started_at, finished_at, ok, error,
			requests, not_modified, fetched, new_records, waited_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			p.Source, start.UTC(), fin.UTC(), p.Err == "", clean(p.Err), p.Requests, p.NotModified, p.Fetched, p.New,
			p.Waited.Milliseconds()); err != nil {
			return fmt.Errorf("store: record poll %s: %w", p.Source, err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM source_polls WHERE source = ? AND started_at < ?`),
			p.Source, fin.Add(-pollRetention).UTC()); err != nil {
			return fmt.Errorf("store: prune polls %s: %w", p.Source, err)
		}
		return nil
	})
}

// SourceStatus is a source's health as `feedbackhub status` shows it.
type SourceStatus struct {
	Source string `json:"source"`
	// LastSuccess is when a poll last worked (zero: never).
	LastSuccess time.Time `json:"last_success"`
	// LastError is the newest failed poll's error, if it is newer than LastSuccess.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at"`
	// Polls, Requests and NotModified count what happened since the `since` time.
	Polls       int `json:"polls"`
	Requests    int `json:"requests"`
	NotModified int `json:"not_modified"`
	// Cursor is the stored cursor and when it last moved.
	Cursor          string    `json:"cursor,omitempty"`
	CursorUpdatedAt time.Time `json:"cursor_updated_at"`
	// Records is how many records of the source are stored; LastReceived the newest.
	Records      int       `json:"records"`
	LastReceived time.Time `json:"last_received"`
}

// SourceStatusOf returns one source's status, counting polls and requests since since.
// A source that never polled or received anything has zero times.
func (s *Store) SourceStatusOf(ctx context.Context, source string, since time.Time) (SourceStatus, error) {
	st := SourceStatus{Source: source}
	var last flexTime
	if err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT max(finished_at) FROM source_polls WHERE source = ? AND ok = ?`),
		source, true).Scan(&last); err != nil {
		return st, fmt.Errorf("store: source status %s: %w", source, err)
	}
	st.LastSuccess = last.Time
	var errAt time.Time
	var msg string
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT finished_at, error FROM source_polls WHERE source = ? AND ok = ?
		ORDER BY finished_at DESC, id DESC LIMIT 1`), source, false).Scan(&errAt, &msg)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return st, fmt.Errorf("store: source status %s: %w", source, err)
	case !last.Valid || errAt.After(last.Time):
		st.LastError, st.LastErrorAt = msg, errAt.UTC()
	}
	if err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT count(*), coalesce(sum(requests), 0), coalesce(sum(not_modified), 0)
		FROM source_polls WHERE source = ? AND started_at >= ?`), source, since.UTC()).Scan(&st.Polls, &st.Requests, &st.NotModified); err != nil {
		return st, fmt.Errorf("store: source status %s: %w", source, err)
	}
	c, err := s.Cursor(ctx, source)
	if err != nil {
		return st, err
	}
	st.Cursor, st.CursorUpdatedAt = c.Value, c.UpdatedAt
	var recv flexTime
	if err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT count(*), max(received_at) FROM records WHERE source = ?`), source).
		Scan(&st.Records, &recv); err != nil {
		return st, fmt.Errorf("store: source status %s: %w", source, err)
	}
	st.LastReceived = recv.Time
	return st, nil
}

// UnknownIdentity is an author whose feedback no configured partner claims.
type UnknownIdentity struct {
	Source   string    `json:"source"`
	Author   string    `json:"author"`
	Items    int       `json:"items"`
	LastSeen time.Time `json:"last_seen"`
}

// UnknownPartners lists the authors of items attributed to no partner, most items
// first, at most limit (0 = 50).
func (s *Store) UnknownPartners(ctx context.Context, unknownID string, limit int) ([]UnknownIdentity, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(fmt.Sprintf(`SELECT source, author, count(*), max(created_at) FROM items
		WHERE partner = ? AND deleted = ? GROUP BY source, author ORDER BY count(*) DESC, source, author LIMIT %d`, limit)), unknownID, false)
	if err != nil {
		return nil, fmt.Errorf("store: unknown partners: %w", err)
	}
	defer rows.Close()
	var out []UnknownIdentity
	for rows.Next() {
		var u UnknownIdentity
		var last flexTime
		if err := rows.Scan(&u.Source, &u.Author, &u.Items, &last); err != nil {
			return nil, fmt.Errorf("store: unknown partners: %w", err)
		}
		u.LastSeen = last.Time
		out = append(out, u)
	}
	return out, rows.Err()
}
