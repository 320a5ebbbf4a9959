// Package file imports feedback from exported files: mbox files and folders of .eml
// messages (parsed exactly like the inbox, through connectors/mailparse), JSONL of
// partner events (the connectors/webhook schema), CSV with a configured column
// mapping, GitHub REST issue arrays and Jira search results. Import is the one-off
// backfill behind `feedbackhub import`; Connector watches drop folders as a source of
// kind file and imports each file once (its cursor remembers size, mtime and SHA-256).
// Records have stable external ids and revisions, so importing a file again stores
// nothing new. A row that cannot be used is reported as FILE:LINE: reason and the
// import goes on.
package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// Formats.
const (
	FormatMbox       = "mbox"
	FormatEML        = "eml"
	FormatJSONL      = "jsonl"
	FormatCSV        = "csv"
	FormatGitHubJSON = "github-json"
	FormatJiraJSON   = "jira-json"
)

// batchSize is how many records Import hands to IngestFunc at a time.
const batchSize = 500

// progressThreshold is the number of records after which a terminal gets a progress bar.
const progressThreshold = 1000

// maxRejectsKept caps Summary.Rejects; Summary.Rejected still counts them all.
const maxRejectsKept = 10000

// Reject is one input row, message or issue that was not imported.
type Reject struct {
	File   string
	Line   int
	Reason string
	// Text is the rejected input (a CSV row, a JSONL line), when there is one.
	Text string
}

// String formats the reject as FILE:LINE: reason.
func (r Reject) String() string { return fmt.Sprintf("%s:%d: %s", r.File, r.Line, r.Reason) }

// Summary counts what an import read and stored.
type Summary struct {
	// Files is the number of files read.
	Files int
	// Read counts every input entry: records produced, rejected and skipped.
	Read int
	// New and Duplicate are what IngestFunc reported: stored for the first time, or
	// already stored (same source, external id and revision).
	New       int
	Duplicate int
	// Rejected counts entries that produced no record (each is in Rejects, up to 10,000).
	Rejected int
	Rejects  []Reject
	// Quarantined counts records kept but never turned into items (auto-replies,
	// bounces, broken MIME); they are included in New or Duplicate.
	Quarantined int
	// Skipped counts entries deliberately left out (pull requests in a GitHub export).
	Skipped int
	Elapsed time.Duration
}

// String is the summary line Import prints.
func (s Summary) String() string {
	rate := ""
	if sec := s.Elapsed.Seconds(); sec > 0 {
		rate = fmt.Sprintf(" in %s (%.0f records/s)", s.Elapsed.Round(time.Millisecond), float64(s.Read)/sec)
	}
	return fmt.Sprintf("imported %d file(s): read %d, new %d, duplicate %d, rejected %d, quarantined %d, skipped %d%s",
		s.Files, s.Read, s.New, s.Duplicate, s.Rejected, s.Quarantined, s.Skipped, rate)
}

// IngestFunc stores a batch of records and says how many were new and how many were
// already stored. `feedbackhub import` passes one that calls store.Ingest with no
// cursor.
type IngestFunc func(ctx context.Context, recs []feedback.Record) (newCount, duplicate int, err error)

// Import reads paths (files, or folders whose files of src's format are read) in the
// format of src.File, hands records to ingest in batches, writes each reject as
// FILE:LINE: reason to w, a progress bar when w is a terminal and the input has more
// than 1,000 records, and always a summary line. It stops early only when ctx is
// done, a path cannot be read or ingest fails (the summary line then says so, and the
// records already ingested stay stored); rows that cannot be used are rejects.
// The caller decides what rejects mean (`--strict`: exit 1).
func Import(ctx context.Context, src config.Source, env connectors.Env, paths []string, w io.Writer, ingest IngestFunc) (Summary, error) {
	if ingest == nil {
		return Summary{}, errors.New("file: import: no ingest function")
	}
	if w == nil {
		w = io.Discard
	}
	imp, err := newImporter(src, env)
	if err != nil {
		return Summary{}, err
	}
	files, err := expand(paths, imp.format, true)
	if err != nil {
		return Summary{}, err
	}
	run := imp.newRun(w, ingest)
	var total int64
	for _, f := range files {
		total += f.size
	}
	run.progress.total = total
	start := imp.clock.Now()
	for _, f := range files {
		if err := run.importFile(ctx, f.path); err != nil {
			run.progress.clear()
			run.sum.Elapsed = imp.clock.Now().Sub(start)
			fmt.Fprintf(w, "%s (stopped: %v)\n", run.sum.String(), err)
			return run.sum, err
		}
	}
	run.progress.clear()
	run.sum.Elapsed = imp.clock.Now().Sub(start)
	fmt.Fprintln(w, run.sum.String())
	return run.sum, nil
}

// importer holds what does not change between files.
type importer struct {
	source   string
	format   string
	csv      *csvMapping
	partners map[string]bool
	clock    clock.Clock
}

func newImporter(src config.Source, env connectors.Env) (*importer, error) {
	if src.File == nil {
		return nil, fmt.Errorf("file: source %s: no file section", src.Name)
	}
	imp := &importer{source: src.Name, format: src.File.Format, clock: env.Clock, partners: map[string]bool{}}
	if imp.clock == nil {
		imp.clock = clock.Real{}
	}
	if env.Config != nil {
		for _, p := range env.Config.Partners {
			imp.partners[p.ID] = true
		}
	}
	switch imp.format {
	case FormatMbox, FormatEML, FormatJSONL, FormatGitHubJSON, FormatJiraJSON:
	case FormatCSV:
		m, err := newCSVMapping(src.File.CSV)
		if err != nil {
			return nil, fmt.Errorf("file: source %s: %w", src.Name, err)
		}
		imp.csv = m
	default:
		return nil, fmt.Errorf("file: source %s: unknown format %q (want one of %s)", src.Name, imp.format, strings.Join(config.FileFormats, ", "))
	}
	return imp, nil
}

// run is one import: counters, the pending batch and the progress bar.
type run struct {
	imp      *importer
	w        io.Writer
	ingest   IngestFunc
	sum      Summary
	batch    []feedback.Record
	progress *progress
	now      time.Time
	// onReject, when set, is called for each reject besides counting it.
	onReject func(Reject)
	// file is the file being imported.
	file string
}

func (imp *importer) newRun(w io.Writer, ingest IngestFunc) *run {
	return &run{imp: imp, w: w, ingest: ingest, progress: newProgress(w), now: imp.clock.Now().UTC()}
}

// emit queues one record, flushing a full batch.
func (r *run) emit(ctx context.Context, rec feedback.Record) error {
	if err := rec.Validate(); err != nil {
		// The store would refuse the whole batch for it: reject this one alone.
		// Its id and title as the rejected text (no line to name), so two such
		// records of one file stay two rejects.
		r.reject(r.file, 0, strings.TrimSpace(rec.ExternalID+" "+rec.Title), "invalid record: %v", err)
		return nil
	}
	r.sum.Read++
	if rec.Quarantine != "" {
		r.sum.Quarantined++
	}
	if rec.ReceivedAt.IsZero() {
		rec.ReceivedAt = r.now
	}
	r.batch = append(r.batch, rec)
	r.progress.records(r.sum.Read)
	if len(r.batch) >= batchSize {
		return r.flush(ctx)
	}
	return nil
}

func (r *run) flush(ctx context.Context) error {
	if len(r.batch) == 0 {
		return nil
	}
	n, d, err := r.ingest(ctx, r.batch)
	if err != nil {
		return fmt.Errorf("file: ingest %d records: %w", len(r.batch), err)
	}
	r.sum.New += n
	r.sum.Duplicate += d
	r.batch = r.batch[:0]
	return nil
}

// reject counts and reports one entry that produced no record.
func (r *run) reject(file string, line int, text, format string, args ...any) {
	rj := Reject{File: file, Line: line, Reason: fmt.Sprintf(format, args...), Text: text}
	r.sum.Read++
	r.sum.Rejected++
	if len(r.sum.Rejects) < maxRejectsKept {
		r.sum.Rejects = append(r.sum.Rejects, rj)
	}
	r.progress.clear()
	fmt.Fprintln(r.w, rj.String())
	if r.onReject != nil {
		r.onReject(rj)
	}
}

func (r *run) skip() { r.sum.Read++; r.sum.Skipped++ }

// importFile reads one file in the importer's format.
func (r *run) importFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("file: %w", err)
	}
	defer f.Close()
	r.sum.Files++
	r.file = path
	cr := &countingReader{r: f, p: r.progress}
	switch r.imp.format {
	case FormatMbox:
		err = r.readMbox(ctx, path, cr)
	case FormatEML:
		err = r.readEML(ctx, path, cr)
	case FormatJSONL:
		err = r.readJSONL(ctx, path, cr)
	case FormatCSV:
		err = r.readCSV(ctx, path, cr)
	case FormatGitHubJSON:
		err = r.readGitHub(ctx, path, cr)
	case FormatJiraJSON:
		err = r.readJira(ctx, path, cr)
	}
	if err != nil {
		return err
	}
	return r.flush(ctx)
}

// fileInfo is one file to read.
type fileInfo struct {
	path  string
	size  int64
	mtime time.Time
}

// extensions lists the file names a folder scan picks up per format.
var extensions = map[string][]string{
	FormatMbox:       {".mbox", ".mbx", ".mbs"},
	FormatEML:        {".eml"},
	FormatJSONL:      {".jsonl", ".ndjson"},
	FormatCSV:        {".csv", ".tsv"},
	FormatGitHubJSON: {".json"},
	FormatJiraJSON:   {".json"},
}

// expand turns paths into the files to read, sorted: a file named explicitly is read
// whatever its name (when explicit is true); a folder contributes, recursively, the
// files with its format's extensions, skipping hidden files and partial downloads.
func expand(paths []string, format string, explicit bool) ([]fileInfo, error) {
	var out []fileInfo
	seen := map[string]bool{}
	add := func(p string, fi fs.FileInfo) {
		if !seen[p] {
			seen[p] = true
			out = append(out, fileInfo{path: p, size: fi.Size(), mtime: fi.ModTime()})
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("file: %w", err)
		}
		if !fi.IsDir() {
			if explicit || matches(format, p) {
				add(p, fi)
			}
			continue
		}
		var found []fileInfo
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if path != p && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() || !matches(format, name) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			found = append(found, fileInfo{path: path, size: info.Size(), mtime: info.ModTime()})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("file: scan %s: %w", p, err)
		}
		sort.Slice(found, func(i, j int) bool { return found[i].path < found[j].path })
		for _, f := range found {
			if !seen[f.path] {
				seen[f.path] = true
				out = append(out, f)
			}
		}
	}
	return out, nil
}

func matches(format, name string) bool {
	lower := strings.ToLower(name)
	for _, ext := range extensions[format] {
		if strings.HasSuffix(lower, ext) {
			return true
		}
	}
	return false
}

// countingReader tells the progress bar how many bytes were read.
type countingReader struct {
	r io.Reader
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.bytes(int64(n))
	return n, err
}
