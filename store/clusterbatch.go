package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// ClusterTx writes the results of one clustering pass over a chunk of items inside a
// single transaction: the same writes as ReplaceRefs, CreateCluster and LinkItem.
// Clusters are inserted at once (their ids are needed); references and links are
// collected and written with a few multi-row statements when fn returns, and the
// counts and seen times of the clusters they touch are then recomputed with one
// statement per 500 clusters, instead of statement by statement per item.
type ClusterTx struct {
	s     *Store
	q     *txq
	refs  map[int64][]feedback.Ref // item → its new references (the last call wins)
	order []int64                  // items of refs, in first-call order
	links []feedback.ClusterLink
}

// ClusterBatch runs fn with a ClusterTx, writes what fn collected, refreshes every
// cluster an item was linked into or out of, and commits. If fn or any write fails,
// nothing is stored. fn must write through b only: on SQLite the transaction holds
// the one connection, so any other call on the store would wait for it forever.
func (s *Store) ClusterBatch(ctx context.Context, fn func(b *ClusterTx) error) error {
	s.prepare(ctx, createClusterSQL, refreshSQL, refreshSeenSQL)
	return s.tx(ctx, "cluster-batch", func(tx *sqlx.Tx) error {
		b := &ClusterTx{s: s, q: s.txq(ctx, tx), refs: map[int64][]feedback.Ref{}}
		if err := fn(b); err != nil {
			return err
		}
		if err := b.writeRefs(); err != nil {
			return err
		}
		touched, err := b.writeLinks()
		if err != nil {
			return err
		}
		if err := b.refresh(touched); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clustering_state SET version = version + 1 WHERE id = 1`); err != nil {
			return fmt.Errorf("store: clustering version: %w", err)
		}
		return nil
	})
}

// ClusteringVersion is the count of clustering writes so far (each ClusterBatch adds
// one): unchanged since a process loaded its clustering state means no other process
// clustered anything meanwhile.
func (s *Store) ClusteringVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.GetContext(ctx, &v, `SELECT version FROM clustering_state WHERE id = 1`); err != nil {
		return 0, fmt.Errorf("store: clustering version: %w", err)
	}
	return v, nil
}

// ReplaceRefs sets the references found in an item (see Store.ReplaceRefs).
func (b *ClusterTx) ReplaceRefs(itemID int64, refs []feedback.Ref) error {
	if _, ok := b.refs[itemID]; !ok {
		b.order = append(b.order, itemID)
	}
	b.refs[itemID] = refs
	return nil
}

// CreateCluster inserts a cluster and returns its id (see Store.CreateCluster).
func (b *ClusterTx) CreateCluster(c feedback.Cluster) (int64, error) {
	return b.s.createCluster(c, b.q.queryRow)
}

// LinkItem puts an item into a cluster, moving it out of any other, and records why
// (see Store.LinkItem). A missing item or cluster fails the batch.
func (b *ClusterTx) LinkItem(l feedback.ClusterLink) error {
	b.links = append(b.links, linkDefaults(l))
	return nil
}

// rowsPerStatement bounds the rows of one multi-row statement (SQLite and
// PostgreSQL both take far more parameters than this needs).
const rowsPerStatement = 200

// statementEnd returns where the multi-row statement that starts at row start of n
// ends: after at most rowsPerStatement rows, and before the first row whose key
// repeats one of the statement's (one statement cannot write a row twice).
func statementEnd[K comparable](start, n int, key func(i int) K) int {
	seen := make(map[K]bool, min(n-start, rowsPerStatement))
	end := start
	for end < n && end-start < rowsPerStatement {
		k := key(end)
		if seen[k] {
			break
		}
		seen[k] = true
		end++
	}
	return end
}

func placeholders(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

func (b *ClusterTx) exec(q string, args ...any) error {
	_, err := b.q.tx.ExecContext(b.q.ctx, b.q.tx.Rebind(q), args...)
	return err
}

func (b *ClusterTx) writeRefs() error {
	for part := range slices.Chunk(b.order, idChunk) {
		cond, args := inList("item_id", part, nil)
		if err := b.exec("DELETE FROM refs WHERE "+cond, args...); err != nil {
			return fmt.Errorf("store: refs: %w", err)
		}
	}
	var args []any
	rows := 0
	flush := func() error {
		if rows == 0 {
			return nil
		}
		err := b.exec("INSERT INTO refs (item_id, kind, value) VALUES "+placeholders(rows, 3)+" ON CONFLICT DO NOTHING", args...)
		args, rows = args[:0], 0
		if err != nil {
			return fmt.Errorf("store: refs: %w", err)
		}
		return nil
	}
	for _, id := range b.order {
		for _, r := range b.refs[id] {
			args = append(args, id, string(r.Kind), r.Value)
			if rows++; rows == rowsPerStatement {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// writeLinks writes the links (the last one per item wins, as with one LinkItem call
// after another) and the items' clusters, and returns every cluster an item entered
// or left, in first-touched order.
func (b *ClusterTx) writeLinks() ([]int64, error) {
	if len(b.links) == 0 {
		return nil, nil
	}
	last := map[int64]int{} // item → index of its last link
	var items []int64
	for i, l := range b.links {
		if _, ok := last[l.ItemID]; !ok {
			items = append(items, l.ItemID)
		}
		last[l.ItemID] = i
	}
	old := map[int64]*int64{}
	for part := range slices.Chunk(items, idChunk) {
		cond, args := inList("id", part, nil)
		var rows []struct {
			ID        int64  `db:"id"`
			ClusterID *int64 `db:"cluster_id"`
		}
		if err := b.q.tx.SelectContext(b.q.ctx, &rows, b.q.tx.Rebind("SELECT id, cluster_id FROM items WHERE "+cond), args...); err != nil {
			return nil, fmt.Errorf("store: link items: %w", err)
		}
		for _, r := range rows {
			old[r.ID] = r.ClusterID
		}
	}
	var touched []int64
	seen := map[int64]bool{}
	touch := func(id int64) {
		if !seen[id] {
			seen[id] = true
			touched = append(touched, id)
		}
	}
	for _, l := range b.links {
		if _, ok := old[l.ItemID]; !ok {
			return nil, fmt.Errorf("store: link item %d: %w", l.ItemID, ErrNotFound)
		}
		touch(l.ClusterID)
	}
	for _, id := range items {
		if o := old[id]; o != nil {
			touch(*o)
		}
	}
	now := b.s.nowUTC()
	for part := range slices.Chunk(items, rowsPerStatement) {
		var args, upd []any
		var when []string
		for _, id := range part {
			l := b.links[last[id]]
			args = append(args, l.ClusterID, l.ItemID, l.Evidence, l.Score, l.Detail, l.LinkedBy, now)
			when = append(when, "WHEN ? THEN CAST(? AS BIGINT)")
			upd = append(upd, l.ItemID, l.ClusterID)
		}
		if err := b.exec(`INSERT INTO cluster_links (cluster_id, item_id, evidence, score, detail, linked_by, created_at)
			VALUES `+placeholders(len(part), 7)+`
			ON CONFLICT (item_id) DO UPDATE SET cluster_id = excluded.cluster_id, evidence = excluded.evidence,
				score = excluded.score, detail = excluded.detail, linked_by = excluded.linked_by, created_at = excluded.created_at`, args...); err != nil {
			return nil, fmt.Errorf("store: link items: %w", err)
		}
		cond, upd := inList("id", part, upd)
		if err := b.exec("UPDATE items SET cluster_id = CASE id "+strings.Join(when, " ")+" END WHERE "+cond, upd...); err != nil {
			return nil, fmt.Errorf("store: link items: %w", err)
		}
	}
	return touched, nil
}

// refresh recomputes the clusters' derived fields from their live items, as
// refreshCluster does one at a time (the same UPDATE statements), but with one
// aggregate query per 500 clusters.
func (b *ClusterTx) refresh(ids []int64) error {
	for part := range slices.Chunk(ids, idChunk) {
		cond, args := inList("cluster_id", part, nil)
		var rows []struct {
			ClusterID int64 `db:"cluster_id"`
			clusterAgg
		}
		err := b.q.tx.SelectContext(b.q.ctx, &rows, b.q.tx.Rebind(`SELECT cluster_id, `+clusterAggColumns+`
			FROM items WHERE `+cond+` AND deleted = ? GROUP BY cluster_id`), append(args, false)...)
		if err != nil {
			return fmt.Errorf("store: refresh clusters: %w", err)
		}
		aggs := make(map[int64]clusterAgg, len(rows))
		for _, r := range rows {
			aggs[r.ClusterID] = r.clusterAgg
		}
		for _, id := range part {
			// A cluster without live items has no row: zero counts, seen times kept.
			if err := b.s.writeClusterAgg(b.q, id, aggs[id]); err != nil {
				return err
			}
		}
	}
	return nil
}
