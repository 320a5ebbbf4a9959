package file

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// CSVFields are the record fields a csv.columns mapping may name.
var CSVFields = []string{"id", "title", "body", "author", "email", "created_at", "url", "labels", "partner", "severity_hint"}

// csvTimeLayouts are the created_at forms accepted, tried in order; times without a
// zone are UTC.
var csvTimeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

type csvMapping struct {
	delim rune
	// cols maps a field to its column header.
	cols map[string]string
}

func newCSVMapping(c *config.CSVFormat) (*csvMapping, error) {
	if c == nil || len(c.Columns) == 0 {
		return nil, errors.New("csv.columns: required: map id, title, body, … to column headers")
	}
	m := &csvMapping{delim: ',', cols: map[string]string{}}
	if c.Delimiter != "" {
		d, n := utf8.DecodeRuneInString(c.Delimiter)
		if n != len(c.Delimiter) || d == '"' || d == '\r' || d == '\n' {
			return nil, fmt.Errorf("csv.delimiter: %q is not a usable delimiter", c.Delimiter)
		}
		m.delim = d
	}
	var bad []string
	for field, col := range c.Columns {
		if !contains(CSVFields, field) {
			bad = append(bad, field)
			continue
		}
		m.cols[field] = col
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, fmt.Errorf("csv.columns: unknown field(s) %s (want %s)", strings.Join(bad, ", "), strings.Join(CSVFields, ", "))
	}
	if m.cols["title"] == "" && m.cols["body"] == "" {
		return nil, errors.New("csv.columns: map title or body")
	}
	return m, nil
}

// readCSV imports one record per row. The first row is the header; csv.columns maps
// fields to its column names. A row with the wrong number of fields, a quoting error
// or a bad value is rejected with its line, and the rows after it are still read.
func (r *run) readCSV(ctx context.Context, path string, rd io.Reader) error {
	m := r.imp.csv
	cr := csv.NewReader(rd)
	cr.Comma = m.delim
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			r.reject(path, 1, "", "empty file: want a header row")
		} else {
			r.reject(path, 1, "", "unreadable header row: %v", csvErr(err))
		}
		return nil
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	index := map[string]int{}
	for i, h := range header {
		index[strings.TrimSpace(h)] = i
	}
	pos := map[string]int{}
	var missing []string
	for field, col := range m.cols {
		i, ok := index[col]
		if !ok {
			missing = append(missing, fmt.Sprintf("%q (for %s)", col, field))
			continue
		}
		pos[field] = i
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		r.reject(path, 1, strings.Join(header, string(m.delim)), "header has no column %s; file skipped", strings.Join(missing, ", "))
		return nil
	}
	for n := 0; ; n++ {
		if n%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return fmt.Errorf("file: %s: %w", path, err)
			}
			text := strings.Join(row, string(m.delim))
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				r.reject(path, pe.StartLine, text, "row has %d fields, the header has %d", len(row), len(header))
			} else {
				r.reject(path, pe.StartLine, text, "%v", pe.Err)
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if err := r.csvRow(ctx, path, line, header, row, pos); err != nil {
			return err
		}
	}
}

func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (r *run) csvRow(ctx context.Context, path string, line int, header, row []string, pos map[string]int) error {
	get := func(field string) string {
		if i, ok := pos[field]; ok {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	text := strings.Join(row, string(r.imp.csv.delim))
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	id := get("id")
	if _, mapped := pos["id"]; mapped && id == "" {
		bad("id: empty")
	}
	title, body := get("title"), get("body")
	if title == "" && body == "" {
		bad("title and body are both empty")
	}
	email := get("email")
	if email != "" {
		if a, err := mail.ParseAddress(email); err != nil {
			bad("email: %q is not an email address", email)
		} else {
			email = a.Address
		}
	}
	var created time.Time
	if s := get("created_at"); s != "" {
		t, ok := parseCSVTime(s)
		if !ok {
			bad("created_at: %q is not a time (want RFC 3339 or YYYY-MM-DD[ HH:MM[:SS]])", s)
		}
		created = t
	}
	u := get("url")
	if u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			bad("url: %q is not an http(s) URL", u)
		}
	}
	partner := get("partner")
	if partner != "" && !r.imp.partners[partner] {
		bad("partner: unknown partner %q", partner)
	}
	sev := get("severity_hint")
	if sev != "" {
		s, err := feedback.ParseSeverity(sev)
		if err != nil {
			bad("severity_hint: %v", err)
		}
		sev = string(s)
	}
	if len(problems) > 0 {
		r.reject(path, line, text, "%s", strings.Join(problems, "; "))
		return nil
	}

	// The revision hashes the mapped values: the same row imported again is the same
	// record, an edited row a new revision.
	h := sha256.New()
	for _, f := range CSVFields {
		v := get(f)
		fmt.Fprintf(h, "%s=%d:%s;", f, len(v), v)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if id == "" {
		id = "row:" + sum[:16]
	}
	rawObj := make(map[string]string, len(header))
	for i, col := range header {
		rawObj[col] = row[i]
	}
	raw, _ := json.Marshal(rawObj)
	if created.IsZero() {
		created = r.now
	}
	rec := feedback.Record{
		Source:      r.imp.source,
		ExternalID:  id,
		Revision:    sum[:16],
		Kind:        feedback.KindEvent,
		Author:      get("author"),
		AuthorEmail: email,
		Title:       title,
		Body:        body,
		URL:         u,
		Labels:      splitLabels(get("labels")),
		Meta:        map[string]string{"import_file": path, "import_line": strconv.Itoa(line)},
		CreatedAt:   created,
		UpdatedAt:   created,
		Raw:         raw,
	}
	if rec.Author == "" {
		rec.Author = email
	}
	if u != "" {
		rec.Links = []string{u}
	}
	if partner != "" {
		rec.Meta["partner"] = partner
	}
	if sev != "" {
		rec.Meta["severity_hint"] = sev
	}
	return r.emit(ctx, rec)
}

func parseCSVTime(s string) (time.Time, bool) {
	for _, l := range csvTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// splitLabels splits "a, b; c|d" into labels.
func splitLabels(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '|' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
