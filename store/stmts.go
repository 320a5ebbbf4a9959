package store

import (
	"context"
	"database/sql"
	"sync"

	"github.com/jmoiron/sqlx"
)

// stmtCache holds the prepared statements of the hot intake queries, keyed by query
// text (with ? placeholders), so the database parses each of them once per
// connection instead of on every call. Only constant query texts go in: the cache
// never grows with data.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sqlx.Stmt
}

// prepared returns the cached prepared statement for query, preparing it on first
// use, or nil when it cannot be prepared (the caller then runs the query unprepared,
// which reports the error the same way it always did).
//
// It must not be called while the calling goroutine holds a transaction: SQLite has
// one connection, and preparing needs it. Inside transactions use txq, and warm the
// statements it needs with prepare before beginning.
func (s *Store) prepared(ctx context.Context, query string) *sqlx.Stmt {
	if st := s.cached(query); st != nil {
		return st
	}
	// Not under the lock: on SQLite, preparing waits for the one connection, which a
	// transaction may hold while it looks up cached statements.
	st, err := s.db.PreparexContext(ctx, s.db.Rebind(query))
	if err != nil {
		return nil
	}
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if old, ok := s.stmts.m[query]; ok {
		_ = st.Close()
		return old
	}
	if s.stmts.m == nil {
		s.stmts.m = map[string]*sqlx.Stmt{}
	}
	s.stmts.m[query] = st
	return st
}

// prepare warms the cache with queries (outside any transaction).
func (s *Store) prepare(ctx context.Context, queries ...string) {
	for _, q := range queries {
		s.prepared(ctx, q)
	}
}

// cached returns the prepared statement for query if there is one, without preparing.
func (s *Store) cached(query string) *sqlx.Stmt {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	return s.stmts.m[query]
}

// resetStmts closes and forgets every cached statement (after a schema change, and on
// Close).
func (s *Store) resetStmts() {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	for _, st := range s.stmts.m {
		_ = st.Close()
	}
	s.stmts.m = nil
}

// txq runs queries inside one transaction through the store's cached prepared
// statements (bound to the transaction once each), or unprepared when a statement is
// not cached.
type txq struct {
	s   *Store
	ctx context.Context
	tx  *sqlx.Tx
	m   map[string]*sqlx.Stmt
}

func (s *Store) txq(ctx context.Context, tx *sqlx.Tx) *txq {
	return &txq{s: s, ctx: ctx, tx: tx}
}

func (q *txq) stmt(query string) *sqlx.Stmt {
	if st, ok := q.m[query]; ok {
		return st
	}
	st := q.s.cached(query)
	if st != nil {
		st = q.tx.StmtxContext(q.ctx, st)
	}
	if q.m == nil {
		q.m = map[string]*sqlx.Stmt{}
	}
	q.m[query] = st
	return st
}

func (q *txq) exec(query string, args ...any) (sql.Result, error) {
	if st := q.stmt(query); st != nil {
		return st.ExecContext(q.ctx, args...)
	}
	return q.tx.ExecContext(q.ctx, q.tx.Rebind(query), args...)
}

func (q *txq) queryRow(query string, args ...any) *sqlx.Row {
	if st := q.stmt(query); st != nil {
		return st.QueryRowxContext(q.ctx, args...)
	}
	return q.tx.QueryRowxContext(q.ctx, q.tx.Rebind(query), args...)
}

func (q *txq) get(dest any, query string, args ...any) error {
	if st := q.stmt(query); st != nil {
		return st.GetContext(q.ctx, dest, args...)
	}
	return q.tx.GetContext(q.ctx, dest, q.tx.Rebind(query), args...)
}

// Outside transactions: the cached statement, or the query unprepared.

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := s.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, s.db.Rebind(query), args...)
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sqlx.Row {
	if st := s.prepared(ctx, query); st != nil {
		return st.QueryRowxContext(ctx, args...)
	}
	return s.db.QueryRowxContext(ctx, s.db.Rebind(query), args...)
}

func (s *Store) get(ctx context.Context, dest any, query string, args ...any) error {
	if st := s.prepared(ctx, query); st != nil {
		return st.GetContext(ctx, dest, args...)
	}
	return s.db.GetContext(ctx, dest, s.db.Rebind(query), args...)
}

func (s *Store) selectPrepared(ctx context.Context, dest any, query string, args ...any) error {
	if st := s.prepared(ctx, query); st != nil {
		return st.SelectContext(ctx, dest, args...)
	}
	return s.db.SelectContext(ctx, dest, s.db.Rebind(query), args...)
}
