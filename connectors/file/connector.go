package file

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// Settle is how long a file must go unmodified before a poll reads it, so a file
// still being copied into a drop folder is not imported half-written.
const Settle = 10 * time.Second

// maxPollRecords stops a poll from taking more files once it holds this many records;
// the remaining files are read by the next poll.
const maxPollRecords = 50000

// Connector is a source of kind file: it watches paths (files or drop folders) and
// imports each new or changed file once.
type Connector struct {
	name   string
	paths  []string
	imp    *importer
	clock  clock.Clock
	logger *slog.Logger
}

var _ connectors.Connector = (*Connector)(nil)

// New builds the connector for a source of kind file. Relative paths resolve against
// the config file's folder.
func New(src config.Source, env connectors.Env) (connectors.Connector, error) {
	return NewConnector(src, env)
}

// NewConnector is New with the concrete type.
func NewConnector(src config.Source, env connectors.Env) (*Connector, error) {
	imp, err := newImporter(src, env)
	if err != nil {
		return nil, err
	}
	c := &Connector{name: src.Name, imp: imp, clock: imp.clock, logger: env.Logger}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	for _, p := range src.File.Paths {
		if env.Config != nil {
			p = env.Config.Path(p)
		}
		c.paths = append(c.paths, p)
	}
	if len(c.paths) == 0 {
		return nil, fmt.Errorf("file: source %s: no paths", src.Name)
	}
	return c, nil
}

// Name is the configured source name.
func (c *Connector) Name() string { return c.name }

// Kind is "file".
func (c *Connector) Kind() string { return config.KindFile }

// Close does nothing.
func (c *Connector) Close() error { return nil }

// FileState is what the cursor remembers of an imported file.
type FileState struct {
	Size   int64     `json:"size"`
	MTime  time.Time `json:"mtime"`
	SHA256 string    `json:"sha256"`
}

// CursorState is the JSON of the connector's cursor: imported files by path.
type CursorState struct {
	Files map[string]FileState `json:"files"`
}

// Poll imports the files under the configured paths that are new or changed since
// the cursor: a file whose size and mtime are unchanged is not opened, one whose
// content hash is unchanged is not read again. A file modified in the last 10 seconds
// waits for the next poll. A row that cannot be used becomes a quarantined record
// (kept with its text and reason, never an item), so an unattended drop folder loses
// nothing; rejects are also logged.
func (c *Connector) Poll(ctx context.Context, cursor feedback.Cursor) (connectors.Result, error) {
	prev := CursorState{Files: map[string]FileState{}}
	if cursor.Value != "" {
		if err := json.Unmarshal([]byte(cursor.Value), &prev); err != nil || prev.Files == nil {
			// Re-reading everything is safe: records are idempotent.
			c.logger.Warn("file: unreadable cursor, rescanning all files", "source", c.name, "err", err)
			prev = CursorState{Files: map[string]FileState{}}
		}
	}
	files, err := expand(c.paths, c.imp.format, true)
	if err != nil {
		return connectors.Result{}, err
	}
	next := CursorState{Files: map[string]FileState{}}
	var recs []feedback.Record
	collect := func(_ context.Context, batch []feedback.Record) (int, int, error) {
		recs = append(recs, batch...)
		return len(batch), 0, nil
	}
	run := c.imp.newRun(io.Discard, collect)
	now := c.clock.Now()
	run.onReject = func(rj Reject) {
		c.logger.Warn("file: rejected", "source", c.name, "file", rj.File, "line", rj.Line, "reason", rj.Reason)
		recs = append(recs, c.rejectRecord(rj, run.now))
	}
	var stats connectors.Stats
	for _, f := range files {
		old, seen := prev.Files[f.path]
		if seen && old.Size == f.size && old.MTime.Equal(f.mtime) {
			next.Files[f.path] = old
			continue
		}
		if age := now.Sub(f.mtime); age >= 0 && age < Settle {
			if seen {
				next.Files[f.path] = old
			}
			continue
		}
		if len(recs) >= maxPollRecords {
			if seen {
				next.Files[f.path] = old
			}
			continue
		}
		sum, err := hashFile(f.path)
		if err != nil {
			return connectors.Result{}, err
		}
		st := FileState{Size: f.size, MTime: f.mtime, SHA256: sum}
		if seen && old.SHA256 == sum {
			next.Files[f.path] = st
			continue
		}
		before := run.sum.Read
		if err := run.importFile(ctx, f.path); err != nil {
			return connectors.Result{}, err
		}
		next.Files[f.path] = st
		c.logger.Info("file: imported", "source", c.name, "file", f.path, "entries", run.sum.Read-before)
	}
	val, err := json.Marshal(next)
	if err != nil {
		return connectors.Result{}, fmt.Errorf("file: encode cursor: %w", err)
	}
	stats.Fetched = len(recs)
	return connectors.Result{Records: recs, Next: feedback.Cursor{Source: c.name, Value: string(val)}, Stats: stats}, nil
}

// rejectRecord keeps a rejected row as a quarantined record. Its id hashes the file
// path, the rejected text and the reason (and the line, for rejects without text), so
// a rescan of the same or an edited file stores an unchanged reject once.
func (c *Connector) rejectRecord(rj Reject, now time.Time) feedback.Record {
	kind := feedback.KindEvent
	switch c.imp.format {
	case FormatMbox, FormatEML:
		kind = feedback.KindEmail
	case FormatGitHubJSON, FormatJiraJSON:
		kind = feedback.KindIssue
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", rj.File, rj.Text, rj.Reason)
	if rj.Text == "" {
		fmt.Fprintf(h, "\x00%d", rj.Line)
	}
	raw, _ := json.Marshal(map[string]any{"file": rj.File, "line": rj.Line, "reason": rj.Reason, "text": rj.Text})
	return feedback.Record{
		Source:     c.name,
		ExternalID: "rejected:" + hex.EncodeToString(h.Sum(nil))[:24],
		Revision:   "1",
		Kind:       kind,
		Quarantine: "import: " + rj.Reason,
		Meta:       map[string]string{"import_file": rj.File, "import_line": strconv.Itoa(rj.Line)},
		CreatedAt:  now,
		UpdatedAt:  now,
		ReceivedAt: now,
		Raw:        raw,
	}
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("file: hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
