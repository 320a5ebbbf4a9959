// Package storetest is the conformance suite for package store: the same tests run
// against SQLite always and against PostgreSQL when FEEDBACKHUB_TEST_POSTGRES holds a
// DSN. Each test gets its own SQLite file or PostgreSQL schema. Other packages use
// New to get a migrated store on every configured backend.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/lib/pq" // PostgreSQL driver for schema setup

	"github.com/feedbackhub/feedbackhub/store"
)

// EnvPostgres names the variable holding a PostgreSQL DSN for the suite.
const EnvPostgres = "FEEDBACKHUB_TEST_POSTGRES"

// EnvRequirePostgres, when "1", turns a missing PostgreSQL DSN into a test failure
// instead of a skip (CI sets it so the PostgreSQL suite can never be skipped silently).
const EnvRequirePostgres = "FEEDBACKHUB_REQUIRE_POSTGRES"

// Backend is one database the suite runs on.
type Backend struct {
	Name string
	// Open returns a fresh, unmigrated store private to t; it is closed and removed
	// when t ends.
	Open func(t testing.TB, opts ...store.Option) *store.Store
}

// Backends returns SQLite, plus PostgreSQL when configured. When PostgreSQL is not
// configured it logs why, or fails t if EnvRequirePostgres is set.
func Backends(t testing.TB) []Backend {
	bs := []Backend{{Name: "sqlite", Open: OpenSQLite}}
	if os.Getenv(EnvPostgres) != "" {
		bs = append(bs, Backend{Name: "postgres", Open: OpenPostgres})
	} else if os.Getenv(EnvRequirePostgres) == "1" {
		t.Fatalf("%s=1 but %s is empty: the PostgreSQL suite would be skipped", EnvRequirePostgres, EnvPostgres)
	} else {
		t.Logf("PostgreSQL suite skipped: set %s to a DSN to run it", EnvPostgres)
	}
	return bs
}

// OpenSQLite opens a store on a new SQLite file in t's temporary folder.
func OpenSQLite(t testing.TB, opts ...store.Option) *store.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "feedbackhub.db")
	s, err := store.Open(context.Background(), "sqlite:"+path, "", opts...)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// OpenPostgres opens a store on a new schema of the database in EnvPostgres, dropped
// when t ends.
func OpenPostgres(t testing.TB, opts ...store.Option) *store.Store {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		t.Skipf("%s not set", EnvPostgres)
	}
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "fh_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s must be a postgres:// URL: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := store.Open(context.Background(), u.String(), "", opts...)
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// New returns a migrated store for each backend, for packages that test their own
// code on both databases: ForEach(t, func(t, s) {...}).
func ForEach(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			if _, err := s.MigrateUp(context.Background()); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			fn(t, s)
		})
	}
}
