package store

import (
	"context"
	"fmt"
	"sync"
)

// localLocks serialises named locks inside one process (SQLite is single-instance).
var localLocks sync.Map // name → *sync.Mutex

// TryLock takes the named lock if it is free and reports whether it did; release
// gives it back. On PostgreSQL it is a session advisory lock held on its own
// connection, so it excludes every instance sharing the database; on SQLite (one
// instance by design) it is a process-wide mutex. A poll of one source holds its
// source's lock so that two polls of a source never overlap.
func (s *Store) TryLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	if s.loc.Dialect != Postgres {
		v, _ := localLocks.LoadOrStore(s.loc.Display+"\x00"+name, &sync.Mutex{})
		mu := v.(*sync.Mutex)
		if !mu.TryLock() {
			return func() {}, false, nil
		}
		return mu.Unlock, true, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return func() {}, false, fmt.Errorf("store: lock %s: %w", name, err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, "feedbackhub:"+name).Scan(&ok); err != nil {
		conn.Close()
		return func() {}, false, fmt.Errorf("store: lock %s: %w", name, err)
	}
	if !ok {
		conn.Close()
		return func() {}, false, nil
	}
	return func() {
		// A fresh context: the caller's may be cancelled by now, and the lock must go.
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(hashtext($1))`, "feedbackhub:"+name)
		conn.Close()
	}, true, nil
}
