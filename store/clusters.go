package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/feedbackhub/feedbackhub/feedback"
)

type clusterRow struct {
	ID            int64     `db:"id"`
	Title         string    `db:"title"`
	Status        string    `db:"status"`
	Category      string    `db:"category"`
	Severity      string    `db:"severity"`
	Owner         string    `db:"owner"`
	Labels        string    `db:"labels"`
	ItemsCount    int       `db:"items_count"`
	PartnersCount int       `db:"partners_count"`
	FirstSeen     time.Time `db:"first_seen"`
	LastSeen      time.Time `db:"last_seen"`
	CreatedAt     time.Time `db:"created_at"`
	UpdatedAt     time.Time `db:"updated_at"`
}

func (r clusterRow) cluster() (feedback.Cluster, error) {
	c := feedback.Cluster{ID: r.ID, Title: r.Title, Status: feedback.Status(r.Status), Category: feedback.Category(r.Category),
		Severity: feedback.Severity(r.Severity), Owner: r.Owner, ItemsCount: r.ItemsCount, PartnersCount: r.PartnersCount,
		FirstSeen: r.FirstSeen.UTC(), LastSeen: r.LastSeen.UTC(), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	labels, err := decodeStrings(r.Labels, "labels")
	c.Labels = labels
	return c, err
}

const clusterColumns = `id, title, status, category, severity, owner, labels, items_count, partners_count, first_seen, last_seen, created_at, updated_at`

// CreateCluster inserts a cluster and returns its id.
func (s *Store) CreateCluster(ctx context.Context, c feedback.Cluster) (int64, error) {
	return s.createCluster(c, func(q string, args ...any) *sqlx.Row { return s.queryRow(ctx, q, args...) })
}

// createCluster inserts a cluster through queryRow (the store's or a transaction's).
func (s *Store) createCluster(c feedback.Cluster, queryRow func(q string, args ...any) *sqlx.Row) (int64, error) {
	now := s.nowUTC()
	if c.Status == "" {
		c.Status = feedback.StatusNew
	}
	if c.FirstSeen.IsZero() {
		c.FirstSeen = now
	}
	if c.LastSeen.IsZero() {
		c.LastSeen = c.FirstSeen
	}
	var id int64
	err := queryRow(createClusterSQL,
		clean(c.Title), string(c.Status), string(c.Category), string(c.Severity), c.Owner, stringsJSON(c.Labels),
		c.FirstSeen.UTC(), c.LastSeen.UTC(), now, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: create cluster: %w", err)
	}
	return id, nil
}

const createClusterSQL = `INSERT INTO clusters (title, status, category, severity, owner, labels,
		items_count, partners_count, first_seen, last_seen, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?) RETURNING id`

const clusterByIDSQL = "SELECT " + clusterColumns + " FROM clusters WHERE id = ?"

// Cluster returns one cluster.
func (s *Store) Cluster(ctx context.Context, id int64) (feedback.Cluster, error) {
	var r clusterRow
	err := s.get(ctx, &r, clusterByIDSQL, id)
	if errors.Is(err, sql.ErrNoRows) {
		return feedback.Cluster{}, fmt.Errorf("store: cluster %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return feedback.Cluster{}, fmt.Errorf("store: cluster %d: %w", id, err)
	}
	return r.cluster()
}

// ClusterFilter selects clusters.
type ClusterFilter struct {
	Status   feedback.Status
	Statuses []feedback.Status
	// NonEmpty keeps only clusters with at least one item.
	NonEmpty bool
	// UpdatedSince keeps only clusters changed at or after this time (zero: all).
	UpdatedSince time.Time
	// IDs, when set, keeps only these clusters.
	IDs   []int64
	Limit int // 0 = 1000
}

// Clusters lists clusters, most recently seen first.
func (s *Store) Clusters(ctx context.Context, f ClusterFilter) ([]feedback.Cluster, error) {
	q := "SELECT " + clusterColumns + " FROM clusters"
	var c conds
	if f.Status != "" {
		f.Statuses = append(f.Statuses, f.Status)
	}
	statuses := make([]string, len(f.Statuses))
	for i, st := range f.Statuses {
		statuses[i] = string(st)
	}
	c.in("status", statuses)
	if f.NonEmpty {
		c.add("items_count > 0")
	}
	if !f.UpdatedSince.IsZero() {
		c.add("updated_at >= ?", f.UpdatedSince.UTC())
	}
	if len(f.IDs) > 0 {
		var cond string
		cond, c.args = inList("id", f.IDs, c.args)
		c.parts = append(c.parts, cond)
	}
	q += c.where() + " ORDER BY last_seen DESC, id DESC" + limit(f.Limit, 1000)
	var rows []clusterRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), c.args...); err != nil {
		return nil, fmt.Errorf("store: clusters: %w", err)
	}
	out := make([]feedback.Cluster, 0, len(rows))
	for _, r := range rows {
		c, err := r.cluster()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// UpdateCluster writes a cluster's triage fields (title, status, category, severity,
// owner, labels). Counts and seen times are derived from its items, not written here.
func (s *Store) UpdateCluster(ctx context.Context, c feedback.Cluster) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE clusters SET title = ?, status = ?, category = ?, severity = ?,
		owner = ?, labels = ?, updated_at = ? WHERE id = ?`), clean(c.Title), string(c.Status), string(c.Category),
		string(c.Severity), c.Owner, stringsJSON(c.Labels), s.nowUTC(), c.ID)
	if err != nil {
		return fmt.Errorf("store: update cluster %d: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: update cluster %d: %w", c.ID, ErrNotFound)
	}
	return nil
}

// LinkItem puts an item into a cluster (moving it out of any other), records why, and
// refreshes both clusters' counts and seen times, in one transaction.
func (s *Store) LinkItem(ctx context.Context, l feedback.ClusterLink) error {
	s.prepare(ctx, linkQueries...)
	return s.tx(ctx, "link-item", func(tx *sqlx.Tx) error {
		q := s.txq(ctx, tx)
		old, err := s.linkItem(q, l)
		if err != nil {
			return err
		}
		if err := s.refreshCluster(q, l.ClusterID); err != nil {
			return err
		}
		if old.Valid && old.Int64 != l.ClusterID {
			return s.refreshCluster(q, old.Int64)
		}
		return nil
	})
}

const (
	itemClusterSQL = `SELECT cluster_id FROM items WHERE id = ?`
	upsertLinkSQL  = `INSERT INTO cluster_links (cluster_id, item_id, evidence, score, detail, linked_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (item_id) DO UPDATE SET cluster_id = excluded.cluster_id, evidence = excluded.evidence,
				score = excluded.score, detail = excluded.detail, linked_by = excluded.linked_by, created_at = excluded.created_at`
	setItemClusterSQL = `UPDATE items SET cluster_id = ? WHERE id = ?`
)

// linkQueries are what linking and refreshing run, prepared before their transaction.
var linkQueries = []string{itemClusterSQL, upsertLinkSQL, setItemClusterSQL, refreshAggSQL, refreshSQL, refreshSeenSQL}

// linkItem writes a link and the item's cluster inside tx and returns the cluster the
// item was in before; the caller refreshes the clusters.
func (s *Store) linkItem(q *txq, l feedback.ClusterLink) (sql.NullInt64, error) {
	l = linkDefaults(l)
	var old sql.NullInt64
	if err := q.get(&old, itemClusterSQL, l.ItemID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return old, fmt.Errorf("store: link item %d: %w", l.ItemID, ErrNotFound)
		}
		return old, fmt.Errorf("store: link item %d: %w", l.ItemID, err)
	}
	if _, err := q.exec(upsertLinkSQL,
		l.ClusterID, l.ItemID, l.Evidence, l.Score, l.Detail, l.LinkedBy, s.nowUTC()); err != nil {
		return old, fmt.Errorf("store: link item %d: %w", l.ItemID, err)
	}
	if _, err := q.exec(setItemClusterSQL, l.ClusterID, l.ItemID); err != nil {
		return old, fmt.Errorf("store: link item %d: %w", l.ItemID, err)
	}
	return old, nil
}

// linkDefaults fills a link's empty detail ("{}") and linked-by ("system").
func linkDefaults(l feedback.ClusterLink) feedback.ClusterLink {
	if l.Detail == "" {
		l.Detail = "{}"
	}
	if l.LinkedBy == "" {
		l.LinkedBy = "system"
	}
	return l
}

// clusterAggColumns compute a cluster's derived fields over its live items (into
// clusterAgg).
const clusterAggColumns = `count(*) AS n,
		count(DISTINCT CASE WHEN partner <> 'unknown' THEN partner END) AS p,
		min(created_at) AS first_seen, max(updated_at) AS last_seen`

type clusterAgg struct {
	N        int      `db:"n"`
	Partners int      `db:"p"`
	First    flexTime `db:"first_seen"`
	Last     flexTime `db:"last_seen"`
}

const (
	refreshAggSQL = `SELECT ` + clusterAggColumns + `
		FROM items WHERE cluster_id = ? AND deleted = ?`
	refreshSQL     = `UPDATE clusters SET items_count = ?, partners_count = ?, updated_at = ? WHERE id = ?`
	refreshSeenSQL = `UPDATE clusters SET items_count = ?, partners_count = ?, updated_at = ?, first_seen = ?, last_seen = ? WHERE id = ?`
)

// refreshCluster recomputes a cluster's derived fields from its items.
func (s *Store) refreshCluster(q *txq, id int64) error {
	var agg clusterAgg
	if err := q.get(&agg, refreshAggSQL, id, false); err != nil {
		return fmt.Errorf("store: refresh cluster %d: %w", id, err)
	}
	return s.writeClusterAgg(q, id, agg)
}

// writeClusterAgg stores a cluster's derived fields (its seen times only when it has
// live items).
func (s *Store) writeClusterAgg(q *txq, id int64, agg clusterAgg) error {
	var err error
	if agg.First.Valid {
		_, err = q.exec(refreshSeenSQL, agg.N, agg.Partners, s.nowUTC(), agg.First.Time.UTC(), agg.Last.Time.UTC(), id)
	} else {
		_, err = q.exec(refreshSQL, agg.N, agg.Partners, s.nowUTC(), id)
	}
	if err != nil {
		return fmt.Errorf("store: refresh cluster %d: %w", id, err)
	}
	return nil
}

const clusterItemsSQL = "SELECT " + itemColumns + " FROM items WHERE cluster_id = ? ORDER BY created_at, id"

// ClusterItems lists the items of a cluster, oldest first.
func (s *Store) ClusterItems(ctx context.Context, clusterID int64) ([]feedback.Item, error) {
	return s.selectItemsPrepared(ctx, "cluster items", clusterItemsSQL, clusterID)
}

// ClusterLinks lists why each item of a cluster is in it.
func (s *Store) ClusterLinks(ctx context.Context, clusterID int64) ([]feedback.ClusterLink, error) {
	var out []feedback.ClusterLink
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT cluster_id, item_id, evidence, score, detail, linked_by, created_at
		FROM cluster_links WHERE cluster_id = ? ORDER BY item_id`), clusterID)
	if err != nil {
		return nil, fmt.Errorf("store: cluster links: %w", err)
	}
	return out, nil
}

// AddNeverMerge records that two items must never share a cluster again.
func (s *Store) AddNeverMerge(ctx context.Context, a, b, decisionID int64) error {
	if a == b {
		return errors.New("store: never-merge needs two different items")
	}
	if a > b {
		a, b = b, a
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO never_merge (a_item_id, b_item_id, decision_id, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (a_item_id, b_item_id) DO NOTHING`), a, b, decisionID, s.nowUTC())
	if err != nil {
		return fmt.Errorf("store: never-merge: %w", err)
	}
	return nil
}

// NeverMerge lists every never-merge pair as (smaller id, larger id).
func (s *Store) NeverMerge(ctx context.Context) ([][2]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT a_item_id, b_item_id FROM never_merge ORDER BY a_item_id, b_item_id`)
	if err != nil {
		return nil, fmt.Errorf("store: never-merge: %w", err)
	}
	defer rows.Close()
	var out [][2]int64
	for rows.Next() {
		var p [2]int64
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ReplaceRefs sets the references found in an item.
func (s *Store) ReplaceRefs(ctx context.Context, itemID int64, refs []feedback.Ref) error {
	if len(refs) == 0 {
		if _, err := s.exec(ctx, deleteRefsSQL, itemID); err != nil {
			return fmt.Errorf("store: refs: %w", err)
		}
		return nil
	}
	s.prepare(ctx, deleteRefsSQL, insertRefSQL)
	return s.tx(ctx, "refs", func(tx *sqlx.Tx) error { return s.replaceRefs(s.txq(ctx, tx), itemID, refs) })
}

const (
	deleteRefsSQL = `DELETE FROM refs WHERE item_id = ?`
	insertRefSQL  = `INSERT INTO refs (item_id, kind, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
)

func (s *Store) replaceRefs(q *txq, itemID int64, refs []feedback.Ref) error {
	if _, err := q.exec(deleteRefsSQL, itemID); err != nil {
		return fmt.Errorf("store: refs: %w", err)
	}
	for _, r := range refs {
		if _, err := q.exec(insertRefSQL, itemID, string(r.Kind), r.Value); err != nil {
			return fmt.Errorf("store: refs: %w", err)
		}
	}
	return nil
}

// Refs lists an item's references.
func (s *Store) Refs(ctx context.Context, itemID int64) ([]feedback.Ref, error) {
	var out []feedback.Ref
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT item_id, kind, value FROM refs WHERE item_id = ? ORDER BY kind, value`), itemID); err != nil {
		return nil, fmt.Errorf("store: refs: %w", err)
	}
	return out, nil
}

// ItemsByRef lists ids of items that carry a reference.
func (s *Store) ItemsByRef(ctx context.Context, kind feedback.RefKind, value string) ([]int64, error) {
	var out []int64
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT item_id FROM refs WHERE kind = ? AND value = ? ORDER BY item_id`), string(kind), value); err != nil {
		return nil, fmt.Errorf("store: items by ref: %w", err)
	}
	return out, nil
}

// ItemClassification is what rules (or people) set on an item.
type ItemClassification struct {
	Category feedback.Category
	Severity feedback.Severity
	Owner    string
	Labels   []string
}

// ClassifyItem writes an item's category, severity, owner and labels.
func (s *Store) ClassifyItem(ctx context.Context, itemID int64, c ItemClassification) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE items SET category = ?, severity = ?, owner = ?, labels = ? WHERE id = ?`),
		string(c.Category), string(c.Severity), c.Owner, stringsJSON(c.Labels), itemID)
	if err != nil {
		return fmt.Errorf("store: classify item %d: %w", itemID, err)
	}
	return nil
}

const itemByIDSQL = "SELECT " + itemColumns + " FROM items WHERE id = ?"

// Item returns one item by id.
func (s *Store) Item(ctx context.Context, id int64) (feedback.Item, error) {
	var r itemRow
	err := s.get(ctx, &r, itemByIDSQL, id)
	if errors.Is(err, sql.ErrNoRows) {
		return feedback.Item{}, fmt.Errorf("store: item %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return feedback.Item{}, fmt.Errorf("store: item %d: %w", id, err)
	}
	return r.item()
}

// ItemsAfter pages through all items in id order (for rebuilding the dedup index).
func (s *Store) ItemsAfter(ctx context.Context, afterID int64, limit int) ([]feedback.Item, error) {
	if limit <= 0 {
		limit = 1000
	}
	q := fmt.Sprintf("SELECT "+itemColumns+" FROM items WHERE id > ? ORDER BY id LIMIT %d", limit)
	return s.selectItems(ctx, "items", q, afterID)
}

// UnclusteredItems returns up to limit live items that belong to no cluster yet,
// oldest first (clustering is online in time order), leaving out the items except
// (a chunk whose clustering is decided but not stored yet, at most 500 ids).
func (s *Store) UnclusteredItems(ctx context.Context, limit int, except ...int64) ([]feedback.Item, error) {
	if limit <= 0 {
		limit = 1000
	}
	args := []any{false}
	cond := ""
	if len(except) > 0 {
		cond, args = inList("id", except, args)
		cond = " AND NOT " + cond
	}
	q := fmt.Sprintf("SELECT "+itemColumns+" FROM items WHERE cluster_id IS NULL AND deleted = ?"+cond+" ORDER BY created_at, id LIMIT %d", limit)
	return s.selectItems(ctx, "unclustered items", q, args...)
}

// ItemsByKey returns the items, of any source, whose external id or URL is key: the
// items a reference (a Jira key, owner/repo#N, a Message-ID, a URL) points at.
func (s *Store) ItemsByKey(ctx context.Context, key string) ([]feedback.Item, error) {
	return s.selectItemsPrepared(ctx, "items by key", "SELECT "+itemColumns+" FROM items WHERE external_id = ? OR url = ? ORDER BY id", key, key)
}

// RecentItems lists a source's live items of one kind created at or after since,
// newest first (thread matching by subject looks at the last weeks only).
func (s *Store) RecentItems(ctx context.Context, source string, kind feedback.Kind, since time.Time, limit int) ([]feedback.Item, error) {
	if limit <= 0 {
		limit = 1000
	}
	q := fmt.Sprintf("SELECT "+itemColumns+" FROM items WHERE source = ? AND kind = ? AND created_at >= ? AND deleted = ? ORDER BY created_at DESC, id DESC LIMIT %d", limit)
	return s.selectItems(ctx, "recent items", q, source, string(kind), since.UTC(), false)
}

// RefsWithValues lists the stored references whose value is one of values (of any
// kind), ordered by item id.
func (s *Store) RefsWithValues(ctx context.Context, values []string) ([]feedback.Ref, error) {
	var out []feedback.Ref
	for part := range slices.Chunk(values, idChunk) {
		var c conds
		c.in("value", part)
		var rows []feedback.Ref
		if err := s.db.SelectContext(ctx, &rows, s.db.Rebind("SELECT item_id, kind, value FROM refs"+c.where()+" ORDER BY item_id"), c.args...); err != nil {
			return nil, fmt.Errorf("store: refs with values: %w", err)
		}
		out = append(out, rows...)
	}
	slices.SortStableFunc(out, func(a, b feedback.Ref) int { return cmp.Compare(a.ItemID, b.ItemID) })
	return out, nil
}
