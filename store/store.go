// Package store holds all of feedbackhub's SQL. One package on sqlx serves both
// databases: the embedded SQLite default (modernc.org/sqlite, pure Go) and PostgreSQL
// (lib/pq). Dialect differences stay inside this package; callers see domain types.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"  // PostgreSQL driver "postgres"
	_ "modernc.org/sqlite" // SQLite driver "sqlite"
)

func init() {
	// sqlx does not know modernc's driver name; say explicitly that it binds with '?'.
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// Dialect names the SQL database behind a Store.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrAppendOnly is returned when a caller tries to change an append-only table.
var ErrAppendOnly = errors.New("append-only")

// Location is a parsed database URL.
type Location struct {
	Dialect Dialect
	// DSN is what the driver opens.
	DSN string
	// Display is the URL with any password removed, safe to log and print.
	Display string
	// Path is the SQLite file (absolute), empty for PostgreSQL.
	Path string
}

// ParseURL turns a database URL from the config into a Location. SQLite URLs are
// `sqlite:PATH`, with PATH relative to baseDir; PostgreSQL URLs are `postgres://…` or
// `postgresql://…`.
func ParseURL(raw, baseDir string) (Location, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return Location{}, errors.New("database URL is empty (want sqlite:PATH or postgres://…)")
	case strings.HasPrefix(raw, "sqlite:"):
		p := strings.TrimPrefix(raw, "sqlite:")
		p = strings.TrimPrefix(p, "//")
		if p == "" {
			return Location{}, errors.New("database URL sqlite: needs a file path, e.g. sqlite:feedbackhub.db")
		}
		if p != ":memory:" && !filepath.IsAbs(p) {
			p = filepath.Join(baseDir, p)
		}
		q := url.Values{}
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_time_format", "sqlite")
		return Location{Dialect: SQLite, DSN: "file:" + p + "?" + q.Encode(), Display: "sqlite:" + p, Path: p}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return Location{}, fmt.Errorf("database URL is not a valid postgres:// URL: %v", redactURLError(err))
		}
		disp := *u
		if _, ok := disp.User.Password(); ok {
			disp.User = url.UserPassword(disp.User.Username(), "xxxxx")
		}
		return Location{Dialect: Postgres, DSN: raw, Display: disp.String()}, nil
	default:
		scheme := raw
		if i := strings.Index(raw, ":"); i >= 0 {
			scheme = raw[:i]
		}
		return Location{}, fmt.Errorf("database URL has unsupported scheme %q (want sqlite:PATH or postgres://…)", scheme)
	}
}

// redactURLError drops the URL text that net/url errors quote, which may hold a password.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Store is the database handle every feedbackhub package goes through.
type Store struct {
	db      *sqlx.DB
	loc     Location
	now     func() time.Time
	hooks   Hooks
	rawOpen *sql.DB
	stmts   stmtCache
	// deliveries groups concurrent IngestDelivery commits.
	deliveries deliveryGroups
}

// Hooks lets tests inject failures at named points inside transactions, to prove that
// a failure rolls back everything the transaction wrote. Nil hooks do nothing.
type Hooks struct {
	// BeforeCommit runs just before a transaction commits, with the operation's name
	// ("ingest", "ingest-delivery", ...). A non-nil error aborts the transaction.
	BeforeCommit func(op string) error
	// Delivery runs inside IngestDelivery's transaction before a delivery's rows are
	// written; a non-nil error fails that delivery only.
	Delivery func(deliveryID string) error
}

// Option configures Open.
type Option func(*Store)

// WithClock sets the function used for timestamps the store writes itself.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithHooks installs failure-injection hooks (tests only).
func WithHooks(h Hooks) Option { return func(s *Store) { s.hooks = h } }

// Open connects to the database at rawURL (see ParseURL) and checks that it answers.
// It does not migrate: call EnsureSchema or MigrateUp.
func Open(ctx context.Context, rawURL, baseDir string, opts ...Option) (*Store, error) {
	loc, err := ParseURL(rawURL, baseDir)
	if err != nil {
		return nil, err
	}
	return OpenLocation(ctx, loc, opts...)
}

// OpenLocation connects to a parsed location.
func OpenLocation(ctx context.Context, loc Location, opts ...Option) (*Store, error) {
	s := &Store{loc: loc, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	switch loc.Dialect {
	case SQLite:
		if loc.Path != ":memory:" {
			if dir := filepath.Dir(loc.Path); dir != "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return nil, fmt.Errorf("cannot create the folder for %s: %v", loc.Display, err)
				}
			}
		}
		db, err := sqlx.Open("sqlite", loc.DSN)
		if err != nil {
			return nil, fmt.Errorf("cannot open %s: %v", loc.Display, err)
		}
		// One connection: SQLite has one writer, and River's SQLite driver needs it.
		db.SetMaxOpenConns(1)
		db.SetConnMaxIdleTime(0)
		if err := pingSQLite(ctx, db); err != nil {
			db.Close()
			return nil, fmt.Errorf("cannot use %s: %v", loc.Display, err)
		}
		s.db = db
	case Postgres:
		db, err := sqlx.Open("postgres", loc.DSN)
		if err != nil {
			return nil, fmt.Errorf("cannot open PostgreSQL at %s: %v", loc.Display, scrub(err, loc.DSN))
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(8)
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := db.PingContext(pctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %v", loc.Display, scrub(err, loc.DSN))
		}
		s.db = db
	default:
		return nil, fmt.Errorf("unsupported dialect %q", loc.Dialect)
	}
	s.rawOpen = s.db.DB
	return s, nil
}

// pingSQLite runs a query that touches the file header, so a corrupt or foreign file
// fails here with one clear sentence instead of at the first real query.
func pingSQLite(ctx context.Context, db *sqlx.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "file is not a database") || strings.Contains(msg, "malformed") {
			return errors.New("the file is not a valid SQLite database (corrupt, or another kind of file)")
		}
		return err
	}
	return nil
}

// scrub removes the DSN (which may hold a password) from an error's text.
func scrub(err error, dsn string) string {
	msg := err.Error()
	if dsn != "" {
		msg = strings.ReplaceAll(msg, dsn, "[database url]")
	}
	if u, perr := url.Parse(dsn); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// Close closes the cached prepared statements and the database.
func (s *Store) Close() error {
	s.resetStmts()
	return s.db.Close()
}

// DB returns the underlying handle, for River's drivers and health checks.
func (s *Store) DB() *sqlx.DB { return s.db }

// Dialect returns which database this is.
func (s *Store) Dialect() Dialect { return s.loc.Dialect }

// Location returns where the store points (with the password removed from Display).
func (s *Store) Location() Location { return s.loc }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

func (s *Store) nowUTC() time.Time { return s.now().UTC() }

// Now is the store's clock: the time it writes into created_at/updated_at columns.
func (s *Store) Now() time.Time { return s.nowUTC() }

// tx runs fn in a transaction and commits it, or rolls it back on any error.
func (s *Store) tx(ctx context.Context, op string, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %s: begin: %w", op, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if s.hooks.BeforeCommit != nil {
		if err := s.hooks.BeforeCommit(op); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("store: %s: %w", op, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %s: commit: %w", op, err)
	}
	return nil
}

// isAppendOnlyErr recognises the triggers' refusal on both dialects.
func isAppendOnlyErr(err error) bool {
	return err != nil && strings.Contains(err.Error(), "append-only")
}
