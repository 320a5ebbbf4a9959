package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/feedbackhub/feedbackhub/feedback"
)

type itemRow struct {
	ID         int64         `db:"id"`
	Source     string        `db:"source"`
	Kind       string        `db:"kind"`
	ExternalID string        `db:"external_id"`
	URL        string        `db:"url"`
	Title      string        `db:"title"`
	Body       string        `db:"body"`
	Author     string        `db:"author"`
	Partner    string        `db:"partner"`
	Status     string        `db:"status"`
	Category   string        `db:"category"`
	Severity   string        `db:"severity"`
	Owner      string        `db:"owner"`
	Labels     string        `db:"labels"`
	ClusterID  sql.NullInt64 `db:"cluster_id"`
	RecordID   int64         `db:"record_id"`
	Deleted    bool          `db:"deleted"`
	CreatedAt  time.Time     `db:"created_at"`
	UpdatedAt  time.Time     `db:"updated_at"`
}

func (r itemRow) item() (feedback.Item, error) {
	it := feedback.Item{
		ID: r.ID, Source: r.Source, Kind: feedback.Kind(r.Kind), ExternalID: r.ExternalID, URL: r.URL,
		Title: r.Title, Body: r.Body, Author: r.Author, Partner: r.Partner, Status: r.Status,
		Category: feedback.Category(r.Category), Severity: feedback.Severity(r.Severity), Owner: r.Owner,
		RecordID: r.RecordID, Deleted: r.Deleted, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.ClusterID.Valid {
		v := r.ClusterID.Int64
		it.ClusterID = &v
	}
	labels, err := decodeStrings(r.Labels, "labels")
	it.Labels = labels
	return it, err
}

const itemColumns = `id, source, kind, external_id, url, title, body, author, partner, status, category, severity,
	owner, labels, cluster_id, record_id, deleted, created_at, updated_at`

const (
	upsertItemInsert = `INSERT INTO items (source, kind, external_id, url, title, body, author,
		partner, status, category, severity, owner, labels, record_id, deleted, created_at, updated_at)
		VALUES `
	upsertItemConflict = `
		ON CONFLICT (source, external_id) DO UPDATE SET
			url = excluded.url, title = excluded.title, body = excluded.body, author = excluded.author,
			partner = excluded.partner, status = excluded.status, record_id = excluded.record_id,
			deleted = excluded.deleted, updated_at = excluded.updated_at
		RETURNING id`
	upsertItemColumns = 17
	upsertItemSQL     = upsertItemInsert + "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" + upsertItemConflict
)

// UpsertItem creates or updates the item for (source, external id) from its newest
// record and returns its id. Classification fields (category, severity, owner,
// labels, cluster) are only written on insert: later changes go through their own
// operations so a human decision is never overwritten by a re-import.
func (s *Store) UpsertItem(ctx context.Context, it feedback.Item) (int64, error) {
	return s.upsertItem(it, func(q string, args ...any) *sqlx.Row { return s.queryRow(ctx, q, args...) })
}

// UpsertItems is UpsertItem for several items, in order, in one transaction: all of
// them or none. It returns their ids. Items go in multi-row statements, a new one
// wherever an item repeats one of the statement's (one statement cannot change a row
// twice), so later items still win and ids are handed out in input order.
func (s *Store) UpsertItems(ctx context.Context, items []feedback.Item) ([]int64, error) {
	if len(items) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(items))
	err := s.tx(ctx, "upsert-items", func(tx *sqlx.Tx) error {
		for start := 0; start < len(items); {
			end := statementEnd(start, len(items), func(i int) ItemKey { return ItemKey{items[i].Source, items[i].ExternalID} })
			var args []any
			for _, it := range items[start:end] {
				args = append(args, upsertItemArgs(it)...)
			}
			var rows []struct {
				ID         int64  `db:"id"`
				Source     string `db:"source"`
				ExternalID string `db:"external_id"`
			}
			q := upsertItemInsert + placeholders(end-start, upsertItemColumns) + upsertItemConflict + ", source, external_id"
			if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
				return fmt.Errorf("store: upsert items %s/%s…: %w", items[start].Source, items[start].ExternalID, err)
			}
			got := make(map[ItemKey]int64, len(rows))
			for _, r := range rows {
				got[ItemKey{r.Source, r.ExternalID}] = r.ID
			}
			for _, it := range items[start:end] {
				id, ok := got[ItemKey{it.Source, it.ExternalID}]
				if !ok {
					return fmt.Errorf("store: upsert item %s/%s: no id returned", it.Source, it.ExternalID)
				}
				ids = append(ids, id)
			}
			start = end
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// upsertItemArgs are an item's values for upsertItemSQL's placeholders.
func upsertItemArgs(it feedback.Item) []any {
	if it.Partner == "" {
		it.Partner = feedback.UnknownPartner
	}
	return []any{it.Source, string(it.Kind), it.ExternalID, clean(it.URL), clean(it.Title), clean(it.Body), clean(it.Author),
		it.Partner, it.Status, string(it.Category), string(it.Severity), it.Owner, stringsJSON(it.Labels), it.RecordID,
		it.Deleted, it.CreatedAt.UTC(), it.UpdatedAt.UTC()}
}

func (s *Store) upsertItem(it feedback.Item, queryRow func(q string, args ...any) *sqlx.Row) (int64, error) {
	var id int64
	if err := queryRow(upsertItemSQL, upsertItemArgs(it)...).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: upsert item %s/%s: %w", it.Source, it.ExternalID, err)
	}
	return id, nil
}

// UpsertMessage creates or updates a comment or reply on an item.
func (s *Store) UpsertMessage(ctx context.Context, m feedback.Message) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`INSERT INTO messages (item_id, source, external_id, author, partner, body,
		record_id, deleted, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (source, external_id) DO UPDATE SET author = excluded.author, partner = excluded.partner, body = excluded.body,
			record_id = excluded.record_id, deleted = excluded.deleted, updated_at = excluded.updated_at
		RETURNING id`), m.ItemID, m.Source, m.ExternalID, clean(m.Author), clean(m.Partner), clean(m.Body), m.RecordID, m.Deleted,
		m.CreatedAt.UTC(), m.UpdatedAt.UTC()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: upsert message %s/%s: %w", m.Source, m.ExternalID, err)
	}
	return id, nil
}

// ItemFilter selects items.
type ItemFilter struct {
	Source string
	Limit  int // 0 = 1000
}

// Items lists items in id order.
func (s *Store) Items(ctx context.Context, f ItemFilter) ([]feedback.Item, error) {
	var c conds
	if f.Source != "" {
		c.add("source = ?", f.Source)
	}
	q := "SELECT " + itemColumns + " FROM items" + c.where() + " ORDER BY id" + limit(f.Limit, 1000)
	return s.selectItems(ctx, "items", q, c.args...)
}

const itemByExternalIDSQL = "SELECT " + itemColumns + " FROM items WHERE source = ? AND external_id = ?"

// ItemByExternalID returns the item of a source object.
func (s *Store) ItemByExternalID(ctx context.Context, source, externalID string) (feedback.Item, error) {
	var r itemRow
	err := s.get(ctx, &r, itemByExternalIDSQL, source, externalID)
	if errors.Is(err, sql.ErrNoRows) {
		return feedback.Item{}, fmt.Errorf("store: item %s/%s: %w", source, externalID, ErrNotFound)
	}
	if err != nil {
		return feedback.Item{}, fmt.Errorf("store: item %s/%s: %w", source, externalID, err)
	}
	return r.item()
}

// ItemKey names an item by its source and external id.
type ItemKey struct{ Source, ExternalID string }

// ExistingItems reports which of the keys have an item: ItemByExternalID for many
// records at once (one query per source and 500 ids).
func (s *Store) ExistingItems(ctx context.Context, keys []ItemKey) (map[ItemKey]bool, error) {
	out := map[ItemKey]bool{}
	bySource := map[string][]string{}
	var sources []string
	seen := map[ItemKey]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		if _, ok := bySource[k.Source]; !ok {
			sources = append(sources, k.Source)
		}
		bySource[k.Source] = append(bySource[k.Source], k.ExternalID)
	}
	for _, src := range sources {
		for part := range slices.Chunk(bySource[src], idChunk) {
			var c conds
			c.add("source = ?", src)
			c.in("external_id", part)
			var got []string
			if err := s.db.SelectContext(ctx, &got, s.db.Rebind("SELECT external_id FROM items"+c.where()), c.args...); err != nil {
				return nil, fmt.Errorf("store: existing items: %w", err)
			}
			for _, id := range got {
				out[ItemKey{src, id}] = true
			}
		}
	}
	return out, nil
}

// UnprocessedRecords returns up to limit records not yet turned into items, oldest first.
func (s *Store) UnprocessedRecords(ctx context.Context, limit int) ([]feedback.Record, error) {
	if limit <= 0 {
		limit = 500
	}
	var rows []recordRow
	q := fmt.Sprintf("SELECT "+recordColumns+" FROM records WHERE processed_at IS NULL ORDER BY id LIMIT %d", limit)
	if err := s.db.SelectContext(ctx, &rows, q); err != nil {
		return nil, fmt.Errorf("store: unprocessed records: %w", err)
	}
	out := make([]feedback.Record, 0, len(rows))
	for _, r := range rows {
		rec, err := r.record()
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// MarkProcessed records that the given records were turned into items.
func (s *Store) MarkProcessed(ctx context.Context, ids []int64) error {
	now := s.nowUTC()
	for part := range slices.Chunk(ids, idChunk) {
		cond, args := inList("id", part, []any{now})
		if _, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE records SET processed_at = ? WHERE `+cond), args...); err != nil {
			return fmt.Errorf("store: mark processed: %w", err)
		}
	}
	return nil
}

// selectItems runs an item query (placeholders as ?) and converts the rows; what names
// the query in errors.
func (s *Store) selectItems(ctx context.Context, what, q string, args ...any) ([]feedback.Item, error) {
	var rows []itemRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return itemsOf(rows)
}

// selectItemsPrepared is selectItems through a cached prepared statement: for
// constant query texts only.
func (s *Store) selectItemsPrepared(ctx context.Context, what, q string, args ...any) ([]feedback.Item, error) {
	var rows []itemRow
	if err := s.selectPrepared(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return itemsOf(rows)
}

func itemsOf(rows []itemRow) ([]feedback.Item, error) {
	out := make([]feedback.Item, 0, len(rows))
	for _, r := range rows {
		it, err := r.item()
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}
