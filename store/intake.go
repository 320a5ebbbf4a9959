package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// IngestResult counts what one intake call stored.
type IngestResult struct {
	// New is how many records were stored for the first time.
	New int
	// Duplicate is how many were already stored (same source, external id, revision).
	Duplicate int
	// IDs are the ids of the newly stored records, in input order.
	IDs []int64
}

const (
	insertRecordInsert = `INSERT INTO records (
	source, external_id, revision, kind, parent_external_id, author, author_email,
	title, body, url, state, labels, links, thread_refs, meta, raw, deleted, quarantine,
	created_at, updated_at, received_at)
VALUES `
	insertRecordConflict = `
ON CONFLICT (source, external_id, revision) DO NOTHING
RETURNING id`
	insertRecordColumns = 21
	insertRecordSQL     = insertRecordInsert + "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" + insertRecordConflict
)

const upsertCursorSQL = `INSERT INTO cursors (source, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`

// Ingest stores a batch of records for one source idempotently — a record whose
// (source, external id, revision) is already stored is counted as a duplicate — and,
// when next is not nil, advances that source's cursor in the same transaction. Either
// everything is stored and the cursor moves, or nothing is and it does not.
func (s *Store) Ingest(ctx context.Context, source string, recs []feedback.Record, next *feedback.Cursor) (IngestResult, error) {
	if err := checkBatch(source, recs); err != nil {
		return IngestResult{}, err
	}
	var res IngestResult
	s.prepare(ctx, insertRecordSQL, upsertCursorSQL)
	err := s.tx(ctx, "ingest", func(tx *sqlx.Tx) error {
		q := s.txq(ctx, tx)
		var err error
		res, err = s.insertRecords(q, recs)
		if err != nil {
			return err
		}
		if next != nil {
			if _, err := q.exec(upsertCursorSQL, source, next.Value, s.nowUTC()); err != nil {
				return fmt.Errorf("store: ingest %s: advance cursor: %w", source, err)
			}
		}
		return nil
	})
	if err != nil {
		return IngestResult{}, err
	}
	return res, nil
}

// IngestDelivery stores the records of one webhook delivery and marks its delivery id
// seen, in one transaction. If the id was already seen it stores nothing and reports
// duplicate = true. A delivery whose transaction failed is not marked, so a
// redelivery is processed.
func (s *Store) IngestDelivery(ctx context.Context, source, deliveryID string, recs []feedback.Record) (res IngestResult, duplicate bool, err error) {
	if deliveryID == "" {
		return IngestResult{}, false, errors.New("store: ingest delivery: empty delivery id")
	}
	if err := checkBatch(source, recs); err != nil {
		return IngestResult{}, false, err
	}
	r := &deliveryReq{source: source, id: deliveryID, recs: recs, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	s.deliveries.run(ctx, s, r)
	return r.res, r.dup, r.err
}

// deliveryReq is one IngestDelivery call waiting for its group commit.
type deliveryReq struct {
	source, id string
	recs       []feedback.Record
	res        IngestResult
	dup        bool
	err        error
	done       chan struct{} // closed when res, dup and err are set
	lead       chan struct{} // signalled when this caller is to commit the next group
}

// deliveryGroups commits concurrent webhook deliveries together ("group commit"):
// the first caller commits alone; callers that arrive meanwhile queue, and when the
// commit ends the oldest of them commits the whole queue in one transaction, each
// delivery under its own savepoint, so one failing delivery does not fail the others.
// Under load this turns one fsync per delivery into one per group (PostgreSQL's
// commit latency dominated webhook p99), and a lone delivery is one transaction as
// before. Callers wait for their group even if their context ends (an abandoned
// request must not strand the callers queued behind it); a group's transaction is
// bounded by deliveryGroupTimeout instead.
type deliveryGroups struct {
	mu      sync.Mutex
	pending []*deliveryReq
	running bool
}

// maxDeliveryGroup bounds how many deliveries one transaction carries.
const maxDeliveryGroup = 64

// deliveryGroupTimeout bounds one group's transaction.
const deliveryGroupTimeout = 30 * time.Second

func (g *deliveryGroups) run(ctx context.Context, s *Store, r *deliveryReq) {
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if g.running {
		g.mu.Unlock()
		select {
		case <-r.done:
			return
		case <-r.lead: // our turn to commit the queue, which starts with us
		}
	} else {
		g.running = true
		g.mu.Unlock()
	}
	g.mu.Lock()
	n := min(len(g.pending), maxDeliveryGroup)
	batch := append([]*deliveryReq(nil), g.pending[:n]...)
	g.pending = g.pending[n:]
	g.mu.Unlock()

	// The group's transaction outlives any one caller's context, but not a database
	// that stopped answering: every caller of the group gets the timeout.
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deliveryGroupTimeout)
	s.ingestDeliveries(gctx, batch)
	cancel()
	for _, x := range batch {
		close(x.done)
	}

	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].lead <- struct{}{}
	} else {
		g.running = false
	}
	g.mu.Unlock()
}

// ingestDeliveries stores a group of deliveries in one transaction.
func (s *Store) ingestDeliveries(ctx context.Context, batch []*deliveryReq) {
	s.prepare(ctx, insertDeliverySQL, insertRecordSQL)
	err := s.tx(ctx, "ingest-delivery", func(tx *sqlx.Tx) error {
		q := s.txq(ctx, tx)
		if len(batch) == 1 { // alone: its failure is the transaction's, no savepoint
			r := batch[0]
			r.res, r.dup, r.err = s.ingestOneDelivery(q, r)
			return r.err
		}
		for i, r := range batch {
			sp := "delivery_" + strconv.Itoa(i)
			if _, err := tx.ExecContext(ctx, "SAVEPOINT "+sp); err != nil {
				return fmt.Errorf("store: ingest delivery: savepoint: %w", err)
			}
			r.res, r.dup, r.err = s.ingestOneDelivery(q, r)
			if r.err != nil {
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+sp); err != nil {
					return fmt.Errorf("store: ingest delivery: rollback to savepoint: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+sp); err != nil {
				return fmt.Errorf("store: ingest delivery: release savepoint: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		// Nothing of the group is stored.
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
			r.res, r.dup = IngestResult{}, false
		}
	}
}

func (s *Store) ingestOneDelivery(q *txq, r *deliveryReq) (IngestResult, bool, error) {
	if s.hooks.Delivery != nil {
		if err := s.hooks.Delivery(r.id); err != nil {
			return IngestResult{}, false, fmt.Errorf("store: ingest delivery %s: %w", r.source, err)
		}
	}
	res, err := q.exec(insertDeliverySQL, r.source, r.id, s.nowUTC())
	if err != nil {
		return IngestResult{}, false, fmt.Errorf("store: ingest delivery %s: %w", r.source, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return IngestResult{}, true, nil
	}
	out, err := s.insertRecords(q, r.recs)
	return out, false, err
}

const insertDeliverySQL = `INSERT INTO deliveries (source, delivery_id, received_at) VALUES (?, ?, ?)
			ON CONFLICT (source, delivery_id) DO NOTHING`

// DeliverySeen reports whether a webhook delivery id was already stored for source.
func (s *Store) DeliverySeen(ctx context.Context, source, deliveryID string) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT count(*) FROM deliveries WHERE source = ? AND delivery_id = ?`), source, deliveryID)
	if err != nil {
		return false, fmt.Errorf("store: delivery seen: %w", err)
	}
	return n > 0, nil
}

func checkBatch(source string, recs []feedback.Record) error {
	if source == "" {
		return errors.New("store: ingest: empty source name")
	}
	var errs []error
	for i := range recs {
		if recs[i].Source != source {
			errs = append(errs, fmt.Errorf("record %d: source %q, want %q", i, recs[i].Source, source))
			continue
		}
		if err := recs[i].Validate(); err != nil {
			errs = append(errs, fmt.Errorf("record %d: %w", i, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("store: ingest %s: %w", source, errors.Join(errs...))
	}
	return nil
}

// insertRecords stores recs, skipping the ones already stored. A lone record (a
// webhook delivery) goes through the prepared single-row statement; more go in
// multi-row statements, a new one wherever a record repeats one of the statement's,
// so ids are handed out in input order and a repeat counts as a duplicate.
func (s *Store) insertRecords(q *txq, recs []feedback.Record) (IngestResult, error) {
	var res IngestResult
	now := s.nowUTC()
	if len(recs) == 1 {
		r := &recs[0]
		var id int64
		err := q.queryRow(insertRecordSQL, insertRecordArgs(r, now)...).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res.Duplicate++
		case err != nil:
			return IngestResult{}, fmt.Errorf("store: ingest %s: record %s@%s: %w", r.Source, r.ExternalID, r.Revision, err)
		default:
			res.New++
			res.IDs = append(res.IDs, id)
		}
		return res, nil
	}
	type key struct{ externalID, revision string }
	for start := 0; start < len(recs); {
		end := statementEnd(start, len(recs), func(i int) key { return key{recs[i].ExternalID, recs[i].Revision} })
		var args []any
		for i := start; i < end; i++ {
			args = append(args, insertRecordArgs(&recs[i], now)...)
		}
		var rows []struct {
			ID         int64  `db:"id"`
			ExternalID string `db:"external_id"`
			Revision   string `db:"revision"`
		}
		stmt := insertRecordInsert + placeholders(end-start, insertRecordColumns) + insertRecordConflict + ", external_id, revision"
		if err := q.tx.SelectContext(q.ctx, &rows, q.tx.Rebind(stmt), args...); err != nil {
			a, b := &recs[start], &recs[end-1]
			return IngestResult{}, fmt.Errorf("store: ingest %s: records %d–%d of the batch (%s@%s … %s@%s), one statement: %w",
				a.Source, start, end-1, a.ExternalID, a.Revision, b.ExternalID, b.Revision, err)
		}
		got := make(map[key]int64, len(rows))
		for _, r := range rows {
			got[key{r.ExternalID, r.Revision}] = r.ID
		}
		for _, r := range recs[start:end] {
			if id, ok := got[key{r.ExternalID, r.Revision}]; ok {
				res.New++
				res.IDs = append(res.IDs, id)
			} else {
				res.Duplicate++
			}
		}
		start = end
	}
	return res, nil
}

// insertRecordArgs are a record's values for insertRecordSQL's placeholders; now is
// the received time of a record that has none.
func insertRecordArgs(r *feedback.Record, now time.Time) []any {
	recv := r.ReceivedAt
	if recv.IsZero() {
		recv = now
	}
	return []any{r.Source, r.ExternalID, r.Revision, string(r.Kind), r.ParentExternalID, clean(r.Author), clean(r.AuthorEmail),
		clean(r.Title), clean(r.Body), clean(r.URL), clean(r.State), stringsJSON(r.Labels), stringsJSON(r.Links),
		stringsJSON(r.ThreadRefs), mapJSON(r.Meta), rawJSON(r.Raw), r.Deleted, clean(r.Quarantine),
		r.CreatedAt.UTC(), r.UpdatedAt.UTC(), recv.UTC()}
}

// clean drops NUL bytes, which PostgreSQL text columns refuse; the raw payload keeps them.
func clean(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "")
}

// Cursor returns the stored cursor of source, or a zero cursor (empty Value) if none.
func (s *Store) Cursor(ctx context.Context, source string) (feedback.Cursor, error) {
	var c feedback.Cursor
	err := s.db.GetContext(ctx, &c, s.db.Rebind(`SELECT source, value, updated_at FROM cursors WHERE source = ?`), source)
	if errors.Is(err, sql.ErrNoRows) {
		return feedback.Cursor{Source: source}, nil
	}
	if err != nil {
		return feedback.Cursor{}, fmt.Errorf("store: cursor %s: %w", source, err)
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, nil
}

// Cursors returns every stored cursor, ordered by source.
func (s *Store) Cursors(ctx context.Context) ([]feedback.Cursor, error) {
	var cs []feedback.Cursor
	if err := s.db.SelectContext(ctx, &cs, `SELECT source, value, updated_at FROM cursors ORDER BY source`); err != nil {
		return nil, fmt.Errorf("store: cursors: %w", err)
	}
	return cs, nil
}

// RecordFilter selects records.
type RecordFilter struct {
	Source     string
	ExternalID string
	AfterID    int64 // only records with id > AfterID
	Limit      int   // 0 = 1000
}

type recordRow struct {
	ID               int64     `db:"id"`
	Source           string    `db:"source"`
	ExternalID       string    `db:"external_id"`
	Revision         string    `db:"revision"`
	Kind             string    `db:"kind"`
	ParentExternalID string    `db:"parent_external_id"`
	Author           string    `db:"author"`
	AuthorEmail      string    `db:"author_email"`
	Title            string    `db:"title"`
	Body             string    `db:"body"`
	URL              string    `db:"url"`
	State            string    `db:"state"`
	Labels           string    `db:"labels"`
	Links            string    `db:"links"`
	ThreadRefs       string    `db:"thread_refs"`
	Meta             string    `db:"meta"`
	Raw              string    `db:"raw"`
	Deleted          bool      `db:"deleted"`
	Quarantine       string    `db:"quarantine"`
	CreatedAt        time.Time `db:"created_at"`
	UpdatedAt        time.Time `db:"updated_at"`
	ReceivedAt       time.Time `db:"received_at"`
}

func (r recordRow) record() (feedback.Record, error) {
	out := feedback.Record{
		ID: r.ID, Source: r.Source, ExternalID: r.ExternalID, Revision: r.Revision, Kind: feedback.Kind(r.Kind),
		ParentExternalID: r.ParentExternalID, Author: r.Author, AuthorEmail: r.AuthorEmail, Title: r.Title,
		Body: r.Body, URL: r.URL, State: r.State, Deleted: r.Deleted, Quarantine: r.Quarantine,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), ReceivedAt: r.ReceivedAt.UTC(),
	}
	var err error
	if out.Labels, err = decodeStrings(r.Labels, "labels"); err != nil {
		return out, err
	}
	if out.Links, err = decodeStrings(r.Links, "links"); err != nil {
		return out, err
	}
	if out.ThreadRefs, err = decodeStrings(r.ThreadRefs, "thread_refs"); err != nil {
		return out, err
	}
	if out.Meta, err = decodeMap(r.Meta, "meta"); err != nil {
		return out, err
	}
	if r.Raw != "" && r.Raw != "null" {
		out.Raw = []byte(r.Raw)
	}
	return out, nil
}

const recordColumns = `id, source, external_id, revision, kind, parent_external_id, author, author_email, title, body,
	url, state, labels, links, thread_refs, meta, raw, deleted, quarantine, created_at, updated_at, received_at`

// Records lists stored records in id order.
func (s *Store) Records(ctx context.Context, f RecordFilter) ([]feedback.Record, error) {
	var c conds
	if f.Source != "" {
		c.add("source = ?", f.Source)
	}
	if f.ExternalID != "" {
		c.add("external_id = ?", f.ExternalID)
	}
	if f.AfterID > 0 {
		c.add("id > ?", f.AfterID)
	}
	q := "SELECT " + recordColumns + " FROM records" + c.where() + " ORDER BY id" + limit(f.Limit, 1000)
	var rows []recordRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), c.args...); err != nil {
		return nil, fmt.Errorf("store: records: %w", err)
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

// CountRecords counts stored records of a source (all sources when empty).
func (s *Store) CountRecords(ctx context.Context, source string) (int, error) {
	var n int
	var err error
	if source == "" {
		err = s.db.GetContext(ctx, &n, `SELECT count(*) FROM records`)
	} else {
		err = s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT count(*) FROM records WHERE source = ?`), source)
	}
	if err != nil {
		return 0, fmt.Errorf("store: count records: %w", err)
	}
	return n, nil
}
