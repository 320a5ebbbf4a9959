package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/feedbackhub/feedbackhub/migrations"
)

// ErrSchemaBehind means the database needs `feedbackhub migrate`.
var ErrSchemaBehind = errors.New("database schema is behind this binary")

// ErrSchemaNewer means the database was migrated by a newer feedbackhub.
var ErrSchemaNewer = errors.New("database schema is newer than this binary")

// MigrationState is one migration's status.
type MigrationState struct {
	Version int64
	Source  string // file name
	Applied bool
}

func (s *Store) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations.FS, string(s.loc.Dialect))
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	dialect := goose.DialectSQLite3
	if s.loc.Dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, s.db.DB, sub, opts...)
}

// LatestVersion is the newest schema version this binary knows.
func (s *Store) LatestVersion() (int64, error) {
	p, err := s.provider()
	if err != nil {
		return 0, err
	}
	srcs := p.ListSources()
	if len(srcs) == 0 {
		return 0, nil
	}
	return srcs[len(srcs)-1].Version, nil
}

// SchemaVersion returns the database's current version and the newest this binary knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, fmt.Errorf("store: migrations: %w", err)
	}
	latest, err = s.LatestVersion()
	if err != nil {
		return 0, 0, err
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, latest, fmt.Errorf("store: read schema version: %w", err)
	}
	return current, latest, nil
}

// MigrateUp applies every pending migration: ours through goose, then River's job
// queue tables through rivermigrate, each in its own transactions (River's enum
// changes cannot share one transaction with their use on PostgreSQL).
func (s *Store) MigrateUp(ctx context.Context) ([]string, error) {
	cur, latest, err := s.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if cur > latest {
		return nil, fmt.Errorf("%w: database is at version %d, this binary knows up to %d; upgrade feedbackhub", ErrSchemaNewer, cur, latest)
	}
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	defer s.resetStmts() // cached statements may name what the migration changed
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate up: %w", err)
	}
	var applied []string
	for _, r := range res {
		applied = append(applied, r.Source.Path)
	}
	rv, err := s.migrateRiver(ctx)
	if err != nil {
		return applied, err
	}
	applied = append(applied, rv...)
	return applied, nil
}

func (s *Store) migrateRiver(ctx context.Context) ([]string, error) {
	logger := slog.New(slog.DiscardHandler)
	var res *rivermigrate.MigrateResult
	var err error
	switch s.loc.Dialect {
	case SQLite:
		m, merr := rivermigrate.New(riversqlite.New(s.db.DB), &rivermigrate.Config{Logger: logger})
		if merr != nil {
			return nil, fmt.Errorf("store: river migrations: %w", merr)
		}
		res, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	case Postgres:
		m, merr := rivermigrate.New(riverdatabasesql.New(s.db.DB), &rivermigrate.Config{Logger: logger})
		if merr != nil {
			return nil, fmt.Errorf("store: river migrations: %w", merr)
		}
		res, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("store: river migrations: %w", err)
	}
	var out []string
	for _, v := range res.Versions {
		out = append(out, fmt.Sprintf("river %03d %s", v.Version, v.Name))
	}
	return out, nil
}

// MigrateDown rolls back the newest of our migrations (River's tables stay).
func (s *Store) MigrateDown(ctx context.Context) (string, error) {
	p, err := s.provider()
	if err != nil {
		return "", err
	}
	defer s.resetStmts() // cached statements may name what the migration changed
	r, err := p.Down(ctx)
	if err != nil {
		return "", fmt.Errorf("store: migrate down: %w", err)
	}
	if r == nil || r.Source == nil {
		return "", nil
	}
	return r.Source.Path, nil
}

// MigrateDownTo rolls our migrations back to version v (0 removes every table of ours).
func (s *Store) MigrateDownTo(ctx context.Context, v int64) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	defer s.resetStmts() // cached statements may name what the migration changed
	if _, err := p.DownTo(ctx, v); err != nil {
		return fmt.Errorf("store: migrate down to %d: %w", v, err)
	}
	return nil
}

// MigrationStatus lists our migrations and whether each is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	out := make([]MigrationState, 0, len(st))
	for _, m := range st {
		out = append(out, MigrationState{Version: m.Source.Version, Source: m.Source.Path, Applied: m.State == goose.StateApplied})
	}
	return out, nil
}

// EnsureSchema makes sure the schema matches this binary before a command uses it. On
// SQLite, or when autoMigrate is set, it migrates; on PostgreSQL otherwise it refuses
// with a sentence that says to run `feedbackhub migrate`.
func (s *Store) EnsureSchema(ctx context.Context, autoMigrate bool) error {
	cur, latest, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if cur > latest {
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d; upgrade feedbackhub", ErrSchemaNewer, cur, latest)
	}
	if s.loc.Dialect == SQLite || autoMigrate {
		_, err := s.MigrateUp(ctx)
		return err
	}
	if cur < latest {
		return fmt.Errorf("%w: database is at version %d, this binary needs %d; run `feedbackhub migrate` (or set database.auto_migrate: true)", ErrSchemaBehind, cur, latest)
	}
	return nil
}
