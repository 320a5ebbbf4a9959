package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/feedbackhub/feedbackhub/feedback"
)

const plainInsertRecordSQL = `INSERT INTO records (
	source, external_id, revision, kind, parent_external_id, author, author_email,
	title, body, url, state, labels, links, thread_refs, meta, raw, deleted, quarantine,
	created_at, updated_at, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// InsertRecordsPlain writes records with plain INSERTs in one transaction: no
// duplicate check, no cursor, no ids read back. It exists for `feedbackhub bench`,
// to measure the physical insert limit of the database next to Ingest; rows written
// with it are meant to be removed with DeleteSource.
func (s *Store) InsertRecordsPlain(ctx context.Context, recs []feedback.Record) error {
	return s.tx(ctx, "insert-plain", func(tx *sqlx.Tx) error {
		stmt, err := tx.PreparexContext(ctx, tx.Rebind(plainInsertRecordSQL))
		if err != nil {
			return fmt.Errorf("store: insert plain: %w", err)
		}
		defer stmt.Close()
		now := s.nowUTC()
		for i := range recs {
			r := &recs[i]
			if _, err := stmt.ExecContext(ctx, r.Source, r.ExternalID, r.Revision, string(r.Kind), r.ParentExternalID,
				r.Author, r.AuthorEmail, r.Title, r.Body, r.URL, r.State, stringsJSON(r.Labels), stringsJSON(r.Links),
				stringsJSON(r.ThreadRefs), mapJSON(r.Meta), rawJSON(r.Raw), r.Deleted, r.Quarantine,
				r.CreatedAt.UTC(), r.UpdatedAt.UTC(), now); err != nil {
				return fmt.Errorf("store: insert plain %s: %w", r.ExternalID, err)
			}
		}
		return nil
	})
}

// DeleteSource removes a source's records, deliveries, cursor and poll history (not
// its items): the clean-up of InsertRecordsPlain's rows after a benchmark.
func (s *Store) DeleteSource(ctx context.Context, source string) error {
	return s.tx(ctx, "delete-source", func(tx *sqlx.Tx) error {
		for _, q := range []string{`DELETE FROM records WHERE source = ?`, `DELETE FROM deliveries WHERE source = ?`,
			`DELETE FROM cursors WHERE source = ?`, `DELETE FROM source_polls WHERE source = ?`} {
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), source); err != nil {
				return fmt.Errorf("store: delete source %s: %w", source, err)
			}
		}
		return nil
	})
}
