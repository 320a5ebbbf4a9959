package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"strings"
	"sync"
)

// lockPath is the file whose flock carries the named lock across the processes that
// open one SQLite database (serve, and a CLI decision or sync run beside it):
// DATABASE-lock-NAME next to the file. Empty for PostgreSQL and in-memory databases,
// and where flock is not available.
func (s *Store) lockPath(name string) string {
	if s.loc.Dialect == Postgres || s.loc.Path == "" || s.loc.Path == ":memory:" || !fileLockSupported {
		return ""
	}
	return s.loc.Path + "-lock-" + strings.NewReplacer("/", "_", ":", "_", "\\", "_").Replace(name)
}

// lockMode is the permission of new lock files: the database file's own (read and
// write bits), so every user who may open the database may take its locks, as with
// SQLite's -wal and -shm files.
func (s *Store) lockMode() os.FileMode {
	if fi, err := os.Stat(s.loc.Path); err == nil {
		return fi.Mode().Perm() & 0o666
	}
	return 0o600
}

// fileLock takes the named lock's file lock (see fileLock), or nothing where there is
// none (PostgreSQL, an in-memory database, no flock).
func (s *Store) fileLock(ctx context.Context, name string, wait bool) (release func(), ok bool, err error) {
	path := s.lockPath(name)
	if path == "" {
		return func() {}, true, nil
	}
	return fileLock(ctx, path, s.lockMode(), wait)
}

// LocksAcrossProcesses reports whether the named locks are file locks shared with
// other processes that poll for them (SQLite on a file): a holder that releases and
// takes a lock again in a loop should pause in between to let them in.
func (s *Store) LocksAcrossProcesses() bool { return s.lockPath("x") != "" }

// localLocks serialises named locks inside one process.
var localLocks sync.Map // name → *sync.Mutex

// TryLock takes the named lock if it is free and reports whether it did; release
// gives it back. On PostgreSQL it is a session advisory lock held on its own
// connection, so it excludes every instance sharing the database; on SQLite it is a
// process-wide mutex and an flock on a file beside the database (lockPath), which
// excludes the other processes using that database. A poll of one source holds its
// source's lock so that two polls of a source never overlap.
func (s *Store) TryLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	if s.loc.Dialect != Postgres {
		v, _ := localLocks.LoadOrStore(s.loc.Display+"\x00"+name, &sync.Mutex{})
		mu := v.(*sync.Mutex)
		if !mu.TryLock() {
			return func() {}, false, nil
		}
		unlock, ok, err := s.fileLock(ctx, name, false)
		if err != nil || !ok {
			mu.Unlock()
			if err != nil {
				return func() {}, false, fmt.Errorf("store: lock %s: %w", name, err)
			}
			return func() {}, false, nil
		}
		return func() { unlock(); mu.Unlock() }, true, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return func() {}, false, fmt.Errorf("store: lock %s: %w", name, err)
	}
	// Scoped to the schema, as Lock is: deployments sharing a database do not share it.
	key := "feedbackhub:" + name + ":"
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtext($1 || current_schema()))`, key).Scan(&ok); err != nil {
		conn.Close()
		return func() {}, false, fmt.Errorf("store: lock %s: %w", name, err)
	}
	if !ok {
		conn.Close()
		return func() {}, false, nil
	}
	return func() { unlockConn(conn, key) }, true, nil
}

// localWaits are the process-wide semaphores Lock takes first (on SQLite, the whole
// lock): one slot each, so that waiting honours a context.
var localWaits sync.Map // name → chan struct{}

// Lock takes the named lock, waiting while another holder has it, until ctx ends.
// Within the process it is a one-slot semaphore, so at most one connection per
// process ever waits on the database for it; on PostgreSQL it is then also a session
// advisory lock on its own connection (scoped to the schema), which excludes every
// instance sharing the database, and on SQLite an flock on a file beside the
// database, which excludes every process using it (a CLI merge while serve
// clusters). (Lock and TryLock of one name do not exclude each other within a
// process: use one of them per name.)
func (s *Store) Lock(ctx context.Context, name string) (release func(), err error) {
	v, _ := localWaits.LoadOrStore(s.loc.Display+"\x00"+name, make(chan struct{}, 1))
	ch := v.(chan struct{})
	select {
	case ch <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("store: lock %s: %w", name, ctx.Err())
	}
	local := func() { <-ch }
	if s.loc.Dialect != Postgres {
		unlock, _, err := s.fileLock(ctx, name, true)
		if err != nil {
			local()
			return nil, fmt.Errorf("store: lock %s: %w", name, err)
		}
		return func() { unlock(); local() }, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		local()
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	// The driver cancels the waiting statement when ctx ends.
	key := "feedbackhub:" + name + ":"
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext($1 || current_schema()))`, key); err != nil {
		conn.Close()
		local()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	return func() {
		unlockConn(conn, key)
		local()
	}, nil
}

// unlockConn releases an advisory lock taken on conn and gives conn back. A fresh
// context: the caller's may be cancelled by now, and the lock must go. If the unlock
// fails, the session would keep the lock inside the pool: the connection is closed
// instead, which ends the session and its locks.
func unlockConn(conn *sql.Conn, key string) {
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(hashtext($1 || current_schema()))`, key); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
}
