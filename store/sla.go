package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// ClustersWithSLAEvents reports which of the clusters have at least one SLA event.
func (s *Store) ClustersWithSLAEvents(ctx context.Context, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	for part := range slices.Chunk(ids, idChunk) {
		cond, args := inList("cluster_id", part, nil)
		var got []int64
		if err := s.db.SelectContext(ctx, &got, s.db.Rebind("SELECT DISTINCT cluster_id FROM sla_events WHERE "+cond), args...); err != nil {
			return nil, fmt.Errorf("store: clusters with sla events: %w", err)
		}
		for _, id := range got {
			out[id] = true
		}
	}
	return out, nil
}

// ClusterPartners returns, for each of the clusters, the partner of every item in it,
// in the order ClusterItems lists the items (oldest first). Clusters without items
// are missing from the map.
func (s *Store) ClusterPartners(ctx context.Context, ids []int64) (map[int64][]string, error) {
	out := map[int64][]string{}
	for part := range slices.Chunk(ids, idChunk) {
		cond, args := inList("cluster_id", part, nil)
		var rows []struct {
			ClusterID int64  `db:"cluster_id"`
			Partner   string `db:"partner"`
		}
		q := "SELECT cluster_id, partner FROM items WHERE " + cond + " ORDER BY cluster_id, created_at, id"
		if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("store: cluster partners: %w", err)
		}
		for _, r := range rows {
			out[r.ClusterID] = append(out[r.ClusterID], r.Partner)
		}
	}
	return out, nil
}

// ClusterPartnerActivity returns, per cluster, when a known partner last spoke on it:
// the newest received time of its live items from a partner and of the partners'
// live comments and replies on its items (a record's received time: a backdated
// event that arrives now is new to the team now); clusters without any are absent.
func (s *Store) ClusterPartnerActivity(ctx context.Context, ids []int64) (map[int64]time.Time, error) {
	out := map[int64]time.Time{}
	for part := range slices.Chunk(ids, idChunk) {
		cond, args := inList("i.cluster_id", part, nil)
		args = append(args, false)
		cond2, args := inList("i.cluster_id", part, args)
		args = append(args, false, false)
		var rows []struct {
			ClusterID int64    `db:"cluster_id"`
			At        flexTime `db:"at"`
		}
		q := `SELECT cluster_id, max(at) AS at FROM (
			SELECT i.cluster_id AS cluster_id, r.received_at AS at FROM items i JOIN records r ON r.id = i.record_id
			WHERE ` + cond + ` AND i.partner <> '' AND i.partner <> 'unknown' AND i.deleted = ?
			UNION ALL
			SELECT i.cluster_id, r.received_at FROM messages m JOIN items i ON i.id = m.item_id JOIN records r ON r.id = m.record_id
			WHERE ` + cond2 + ` AND m.partner <> '' AND m.partner <> 'unknown' AND m.deleted = ? AND i.deleted = ?
		) activity GROUP BY cluster_id`
		if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("store: cluster partner activity: %w", err)
		}
		for _, r := range rows {
			if r.At.Valid {
				out[r.ClusterID] = r.At.Time
			}
		}
	}
	return out, nil
}

// ClustersWithPartnerReplies returns, in order, the clusters whose items got a live
// comment or reply from a known partner stored after message id after, and the
// newest message id it looked at (the next call's after): the clusters a reply may
// have made active without changing them. Message ids follow the order in which
// messages were stored, whatever time their records carry (a mail server's receive
// time can be older than the last pass).
func (s *Store) ClustersWithPartnerReplies(ctx context.Context, after int64) ([]int64, int64, error) {
	var upTo int64
	if err := s.db.GetContext(ctx, &upTo, `SELECT COALESCE(MAX(id), 0) FROM messages`); err != nil {
		return nil, after, fmt.Errorf("store: clusters with partner replies: %w", err)
	}
	if upTo <= after {
		return nil, after, nil
	}
	q := `SELECT DISTINCT i.cluster_id FROM messages m JOIN items i ON i.id = m.item_id
		WHERE m.id > ? AND m.id <= ? AND m.partner <> '' AND m.partner <> 'unknown' AND m.deleted = ? AND i.deleted = ?
		AND i.cluster_id IS NOT NULL ORDER BY i.cluster_id`
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, s.db.Rebind(q), after, upTo, false, false); err != nil {
		return nil, after, fmt.Errorf("store: clusters with partner replies: %w", err)
	}
	return ids, upTo, nil
}

const insertSLAEventSQL = `INSERT INTO sla_events (cluster_id, at, kind, policy, metric, detail, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`

// AppendSLAEvents adds events to the SLA log in order, in one transaction: all of
// them or none.
func (s *Store) AppendSLAEvents(ctx context.Context, evs []SLAEvent) error {
	for _, e := range evs {
		if err := checkSLAEvent(e); err != nil {
			return err
		}
	}
	if len(evs) == 0 {
		return nil
	}
	s.prepare(ctx, insertSLAEventSQL)
	return s.tx(ctx, "sla-events", func(tx *sqlx.Tx) error {
		q := s.txq(ctx, tx)
		for _, e := range evs {
			if _, err := s.appendSLAEvent(e, q.queryRow); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) appendSLAEvent(e SLAEvent, queryRow func(q string, args ...any) *sqlx.Row) (int64, error) {
	e, at := s.slaEventDefaults(e)
	var id int64
	if err := queryRow(insertSLAEventSQL, e.ClusterID, at.UTC(), e.Kind, e.Policy, e.Metric, e.Detail, s.nowUTC()).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: append sla event: %w", err)
	}
	return id, nil
}

// checkSLAEvent rejects an event without cluster id or kind.
func checkSLAEvent(e SLAEvent) error {
	if e.ClusterID == 0 || e.Kind == "" {
		return errors.New("store: sla event needs cluster id and kind")
	}
	return nil
}

// slaEventDefaults fills an event's empty detail ("{}") and returns the time to store
// (now when the event has none).
func (s *Store) slaEventDefaults(e SLAEvent) (SLAEvent, time.Time) {
	if e.Detail == "" {
		e.Detail = "{}"
	}
	at := e.At
	if at.IsZero() {
		at = s.nowUTC()
	}
	return e, at
}
