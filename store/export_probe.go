package store

import "context"

// ProbeAppendOnly runs a raw UPDATE or DELETE against an append-only table and returns
// the database's answer (ErrAppendOnly when a trigger refused it). It exists so the
// conformance suite can show that the refusal lives in the schema, not only in Go.
func (s *Store) ProbeAppendOnly(ctx context.Context, query string, args ...any) error {
	return s.execAppendOnlyProbe(ctx, query, args...)
}
