package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in, base  string
		dialect   Dialect
		path      string
		wantErr   string
		noDisplay string
	}{
		{in: "sqlite:data/hub.db", base: "/etc/fh", dialect: SQLite, path: "/etc/fh/data/hub.db"},
		{in: "sqlite:/var/lib/hub.db", base: "/etc/fh", dialect: SQLite, path: "/var/lib/hub.db"},
		{in: "postgres://hub:s3cret@db:5432/hub?sslmode=disable", dialect: Postgres, noDisplay: "s3cret"},
		{in: "postgresql://db/hub", dialect: Postgres},
		{in: "mysql://db/hub", wantErr: `unsupported scheme "mysql"`},
		{in: "", wantErr: "empty"},
		{in: "sqlite:", wantErr: "needs a file path"},
	}
	for _, tt := range tests {
		loc, err := ParseURL(tt.in, tt.base)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseURL(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.in, err)
			continue
		}
		if loc.Dialect != tt.dialect || loc.Path != tt.path {
			t.Errorf("ParseURL(%q) = %+v", tt.in, loc)
		}
		if tt.noDisplay != "" && strings.Contains(loc.Display, tt.noDisplay) {
			t.Errorf("Display %q shows the password", loc.Display)
		}
	}
}

func TestOpenCorruptSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("this is not a database file\n", 200)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), "sqlite:"+path, "")
	if err == nil || !strings.Contains(err.Error(), "not a valid SQLite database") {
		t.Fatalf("err = %v, want one clear sentence about the file", err)
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	// Port 1 on loopback: nothing listens there, so the connection is refused at once.
	_, err := Open(context.Background(), "postgres://hub:topsecret@127.0.0.1:1/hub?sslmode=disable&connect_timeout=2", "")
	if err == nil || !strings.Contains(err.Error(), "cannot reach PostgreSQL") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("password leaked: %v", err)
	}
}
