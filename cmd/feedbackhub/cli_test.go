package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/feedbackhub/feedbackhub/store/storetest"
)

// runCLI runs the command line in dir and returns exit code, stdout and stderr.
func runCLI(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	if dir != "" {
		t.Chdir(dir)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInitThenConfigCheck(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, dir, "init")
	if code != 0 {
		t.Fatalf("init exit %d: %s %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "config", "check")
	if code != 0 || !strings.Contains(out, "feedbackhub.yaml: ok") {
		t.Fatalf("config check exit %d:\n%s\n%s", code, out, errOut)
	}
	if code, _, _ = runCLI(t, "", "init"); code != 1 {
		t.Fatal("init over existing files must refuse without --force")
	}
}

func TestConfigCheckMisspelledKey(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "fh.yaml"), "database:\n  url: sqlite:x.db\n  auto_migrat: true\n")
	code, out, _ := runCLI(t, dir, "--config", "fh.yaml", "config", "check")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if want := `fh.yaml:3:3: database.auto_migrat: unknown key "auto_migrat"`; !strings.Contains(out, want) {
		t.Fatalf("out = %q, want %q", out, want)
	}
}

func TestMigrateAndItemsOnDefaultSQLite(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, dir, "migrate")
	if code != 0 || !regexp.MustCompile(`schema at version [1-9]`).MatchString(out) {
		t.Fatalf("migrate exit %d: %s %s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "feedbackhub.db")); err != nil {
		t.Fatalf("default database not created: %v", err)
	}
	code, out, _ = runCLI(t, "", "migrate", "status")
	if code != 0 || !strings.Contains(out, "applied  00001") {
		t.Fatalf("status: %d %s", code, out)
	}
	code, out, _ = runCLI(t, "", "items", "list", "--json")
	var items []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &items) != nil || len(items) != 0 {
		t.Fatalf("items list --json: %d %q", code, out)
	}
}

func TestBadDatabaseOneSentence(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "corrupt.db"), strings.Repeat("garbage that is not sqlite\n", 100))
	tests := []struct {
		url, want string
	}{
		{"mysql://db/x", `unsupported scheme "mysql"`},
		{"sqlite:corrupt.db", "not a valid SQLite database"},
		{"postgres://u:pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", "cannot reach PostgreSQL"},
	}
	for _, tt := range tests {
		t.Setenv("FEEDBACKHUB_DATABASE_URL", tt.url)
		code, out, errOut := runCLI(t, dir, "migrate")
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d out=%q err=%q, want %q", tt.url, code, out, errOut, tt.want)
		}
		if strings.Contains(errOut, "goroutine") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%s: want one line, got %q", tt.url, errOut)
		}
	}
}

func TestPostgresRefusesOldSchema(t *testing.T) {
	// A fresh PostgreSQL schema: `items list` must refuse and name `feedbackhub migrate`.
	for _, b := range storetest.Backends(t) {
		if b.Name != "postgres" {
			continue
		}
		st := b.Open(t)
		url := st.Location().DSN
		t.Setenv("FEEDBACKHUB_DATABASE_URL", url)
		code, _, errOut := runCLI(t, t.TempDir(), "items", "list")
		if code != 1 || !strings.Contains(errOut, "run `feedbackhub migrate`") {
			t.Fatalf("exit %d: %q", code, errOut)
		}
		if code, _, errOut = runCLI(t, "", "migrate"); code != 0 {
			t.Fatalf("migrate: %s", errOut)
		}
		if code, _, errOut = runCLI(t, "", "items", "list"); code != 0 {
			t.Fatalf("items list after migrate: %s", errOut)
		}
	}
}

func TestUnknownCommandAndFlags(t *testing.T) {
	if code, _, _ := runCLI(t, t.TempDir(), "--log-format", "xml", "version"); code != 1 {
		t.Fatal("bad --log-format accepted")
	}
	if code, _, _ := runCLI(t, "", "sync"); code != 1 {
		t.Fatal("sync without --once accepted")
	}
}

func TestEvalDedupFlags(t *testing.T) {
	tiny, err := filepath.Abs("../../normalize/dedupeval/testdata/tiny")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, t.TempDir(), "eval", "dedup", "--data", tiny, "--replicate", "2")
	if code != 0 || !strings.Contains(out, "22 items") || !strings.Contains(out, "replicated 2×") {
		t.Fatalf("eval --replicate 2: exit %d\n%s\n%s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "", "eval", "dedup", "--data", tiny, "--replicate", "0")
	if code == 0 || !strings.Contains(errOut, "--replicate 0: must be at least 1") {
		t.Errorf("eval --replicate 0: exit %d, stderr %q", code, errOut)
	}
}
