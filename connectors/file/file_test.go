package file

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// memStore stands in for store.Ingest: records are unique on (source, external id,
// revision), a second copy counts as a duplicate.
type memStore struct {
	mu   sync.Mutex
	recs map[string]feedback.Record
	keys []string
}

func newMemStore() *memStore { return &memStore{recs: map[string]feedback.Record{}} }

func (m *memStore) ingest(_ context.Context, recs []feedback.Record) (int, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, d := 0, 0
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			return 0, 0, err
		}
		k := r.Source + "\x00" + r.ExternalID + "\x00" + r.Revision
		if _, ok := m.recs[k]; ok {
			d++
			continue
		}
		m.recs[k] = r
		m.keys = append(m.keys, k)
		n++
	}
	return n, d, nil
}

func (m *memStore) all() []feedback.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]feedback.Record, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, m.recs[k])
	}
	return out
}

func (m *memStore) byID(id string) []feedback.Record {
	var out []feedback.Record
	for _, r := range m.all() {
		if r.ExternalID == id {
			out = append(out, r)
		}
	}
	return out
}

var csvColumns = map[string]string{"id": "Ticket", "title": "Subject", "body": "Description", "author": "Reporter",
	"email": "Email", "created_at": "Opened", "url": "Link", "labels": "Tags", "partner": "Customer", "severity_hint": "Priority"}

func source(format string, paths ...string) config.Source {
	s := config.Source{Name: "imports", Kind: config.KindFile, File: &config.FileSource{Paths: paths, Format: format}}
	if format == FormatCSV {
		s.File.CSV = &config.CSVFormat{Columns: csvColumns}
	}
	return s
}

func testEnv() connectors.Env {
	return connectors.Env{
		Config: &config.Config{Partners: []config.Partner{{ID: "acme"}, {ID: "globex"}}},
		Clock:  clock.NewFake(time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)),
	}
}

type importResult struct {
	sum   Summary
	out   string
	store *memStore
}

func doImport(t *testing.T, st *memStore, format string, paths ...string) importResult {
	t.Helper()
	if st == nil {
		st = newMemStore()
	}
	var out bytes.Buffer
	sum, err := Import(context.Background(), source(format, paths...), testEnv(), paths, &out, st.ingest)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "imported ") || !strings.Contains(out.String(), "rejected ") {
		t.Errorf("no summary line in output:\n%s", out.String())
	}
	return importResult{sum: sum, out: out.String(), store: st}
}

func TestImportIsIdempotentPerFormat(t *testing.T) {
	tests := []struct {
		format                              string
		path                                string
		read, records, rejected, quarantine int
		skipped                             int
	}{
		{FormatMbox, "testdata/mbox/replies.mbox", 8, 8, 0, 1, 0},
		{FormatEML, "testdata/eml", 4, 4, 0, 1, 0},
		{FormatJSONL, "testdata/partner/events.jsonl", 6, 4, 2, 0, 0},
		{FormatCSV, "testdata/csv/feedback.csv", 6, 3, 3, 0, 0},
		{FormatGitHubJSON, "testdata/github/issues.json", 6, 5, 0, 0, 1},
		{FormatJiraJSON, "testdata/jira/search.json", 6, 6, 0, 0, 0},
		{FormatJiraJSON, "testdata/jira/array.json", 4, 4, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+filepath.Base(tt.path), func(t *testing.T) {
			t.Parallel()
			first := doImport(t, nil, tt.format, tt.path)
			s := first.sum
			if s.Read != tt.read || s.New+s.Duplicate != tt.records || s.Rejected != tt.rejected ||
				s.Quarantined != tt.quarantine || s.Skipped != tt.skipped {
				t.Fatalf("summary %+v, want read %d, records %d, rejected %d, quarantined %d, skipped %d\n%s",
					s, tt.read, tt.records, tt.rejected, tt.quarantine, tt.skipped, first.out)
			}
			if len(s.Rejects) != s.Rejected {
				t.Errorf("%d rejects listed, %d counted", len(s.Rejects), s.Rejected)
			}
			for _, rj := range s.Rejects {
				if !strings.Contains(first.out, rj.String()) || !strings.HasPrefix(rj.String(), tt.path) {
					t.Errorf("reject %q not printed as FILE:LINE: reason", rj)
				}
			}
			again := doImport(t, first.store, tt.format, tt.path)
			if again.sum.New != 0 || again.sum.Duplicate != s.New+s.Duplicate {
				t.Fatalf("re-import stored %d new, %d duplicate; want 0 new, %d duplicate", again.sum.New, again.sum.Duplicate, s.New+s.Duplicate)
			}
		})
	}
}

func TestImportMbox(t *testing.T) {
	t.Parallel()
	res := doImport(t, nil, FormatMbox, "testdata/mbox/replies.mbox")
	st := res.store
	first := st.byID("<riak-1@partner-a.example>")
	if len(first) != 1 {
		t.Fatalf("riak-1: %d records", len(first))
	}
	r := first[0]
	if r.Kind != feedback.KindEmail || r.AuthorEmail != "abhishek@partner-a.example" || r.Meta["from_domain"] != "partner-a.example" ||
		r.Meta["import_line"] != "1" || r.Title != "Clearing a Riak bucket" {
		t.Errorf("riak-1 = %+v", r)
	}
	if !strings.HasSuffix(strings.TrimSpace(r.Body), "I am currently using the Java HTTP API.") {
		t.Errorf("riak-1 visible text = %q", r.Body)
	}
	reply := st.byID("<riak-2@basho.example>")
	if len(reply) != 1 || !contains(reply[0].ThreadRefs, "<riak-1@partner-a.example>") {
		t.Fatalf("reply does not thread to riak-1: %+v", reply)
	}
	if strings.Contains(reply[0].Body, "> Hi folks") {
		t.Errorf("quoted text kept in reply: %q", reply[0].Body)
	}
	ooo := st.byID("<ooo-1@partner-a.example>")
	if len(ooo) != 1 || ooo[0].Quarantine == "" {
		t.Fatalf("auto-reply not quarantined: %+v", ooo)
	}
	crlf := st.byID("<crlf-1@partner-c.example>")
	if len(crlf) != 1 || !strings.HasPrefix(crlf[0].Body, ":+1:") {
		t.Errorf("CRLF message = %+v", crlf)
	}
}

func TestImportEMLFolderSkipsOtherFiles(t *testing.T) {
	t.Parallel()
	res := doImport(t, nil, FormatEML, "testdata/eml")
	if res.sum.Files != 4 {
		t.Fatalf("read %d files, want the 4 .eml files", res.sum.Files)
	}
	if r := res.store.byID("<riak-3@partner-a.example>"); len(r) != 1 || !strings.HasPrefix(r[0].Body, "Oh thanks.") {
		t.Fatalf("CRLF eml = %+v", r)
	}
}

func TestImportJSONL(t *testing.T) {
	t.Parallel()
	res := doImport(t, nil, FormatJSONL, "testdata/partner/events.jsonl")
	wantRejects := map[int][]string{4: {"reporter.email", "occurred_at"}, 6: {`unknown partner "nobody"`}}
	for _, rj := range res.sum.Rejects {
		for _, s := range wantRejects[rj.Line] {
			if !strings.Contains(rj.Reason, s) {
				t.Errorf("line %d reason %q lacks %q", rj.Line, rj.Reason, s)
			}
		}
		delete(wantRejects, rj.Line)
	}
	if len(wantRejects) != 0 {
		t.Errorf("missing rejects for lines %v:\n%s", wantRejects, res.out)
	}
	if revs := res.store.byID("acme:fb-1"); len(revs) != 2 || revs[0].Meta["partner"] != "acme" || revs[0].Meta["partner_ticket"] != "ACME-77" {
		t.Errorf("acme:fb-1 = %+v, want created and updated revisions", revs)
	}
	if c := res.store.byID("acme:c-1"); len(c) != 1 || c[0].Kind != feedback.KindComment || c[0].ParentExternalID != "acme:fb-1" {
		t.Errorf("comment = %+v", c)
	}
	if g := res.store.byID("gx-1"); len(g) != 1 || g[0].Meta["partner"] != "" || g[0].AuthorEmail != "it@globex.example" {
		t.Errorf("event without partner = %+v", g)
	}
}

func TestImportCSVBrokenRowsInTheMiddle(t *testing.T) {
	t.Parallel()
	res := doImport(t, nil, FormatCSV, "testdata/csv/feedback.csv")
	for _, want := range []string{
		"testdata/csv/feedback.csv:5: row has 4 fields, the header has 10",
		"testdata/csv/feedback.csv:6: bare \" in non-quoted-field",
		"testdata/csv/feedback.csv:7: email: \"not-an-email\"",
	} {
		if !strings.Contains(res.out, want) {
			t.Errorf("output lacks %q:\n%s", want, res.out)
		}
	}
	for _, s := range []string{"created_at", "url", "partner", "severity_hint"} {
		if !strings.Contains(res.out, s+":") {
			t.Errorf("line 7 reason does not name %s:\n%s", s, res.out)
		}
	}
	t1 := res.store.byID("T-1")
	if len(t1) != 1 {
		t.Fatalf("T-1: %+v", t1)
	}
	r := t1[0]
	if r.Meta["partner"] != "acme" || r.Meta["severity_hint"] != "high" || strings.Join(r.Labels, ",") != "deploy,ci" ||
		!r.CreatedAt.Equal(time.Date(2026, 3, 2, 9, 58, 0, 0, time.UTC)) || r.AuthorEmail != "ops@acme.example" || r.Kind != feedback.KindEvent {
		t.Errorf("T-1 = %+v", r)
	}
	if t2 := res.store.byID("T-2"); len(t2) != 1 || t2[0].Body != "The CSV export\nhas no rows" || t2[0].Meta["import_line"] != "3" {
		t.Errorf("T-2 (multi-line) = %+v", t2)
	}
	if t6 := res.store.byID("T-6"); len(t6) != 1 || strings.Join(t6[0].Labels, ",") != "sso,auth" {
		t.Errorf("T-6 (after the broken rows) = %+v", t6)
	}
}

func TestImportGitHub(t *testing.T) {
	t.Parallel()
	res := doImport(t, nil, FormatGitHubJSON, "testdata/github/issues.json")
	recs := res.store.all()
	if len(recs) == 0 {
		t.Fatal("no records")
	}
	for _, r := range recs {
		if r.ExternalID != "codertocat/hello-world#1" || r.Kind != feedback.KindIssue || r.Author != "Codertocat" ||
			r.URL != "https://github.com/Codertocat/Hello-World/issues/1" || r.Revision != r.UpdatedAt.Format(time.RFC3339) {
			t.Errorf("record = %+v", r)
		}
	}
	if !contains(recs[0].Labels, "bug") {
		t.Errorf("labels = %v", recs[0].Labels)
	}
}

func TestImportJira(t *testing.T) {
	t.Parallel()
	res := doImport(t, nil, FormatJiraJSON, "testdata/jira/search.json")
	adf := res.store.byID("BBCOM-1399")
	if len(adf) != 1 || !strings.Contains(adf[0].Body, "Our deploy hangs at 90%") || !strings.Contains(adf[0].Body, "Since Monday.") ||
		adf[0].URL != "https://jira.test-example.ru/browse/BBCOM-1399" || adf[0].Revision != "2018-12-20T07:00:00.000Z" {
		t.Fatalf("ADF issue = %+v", adf)
	}
	v2 := res.store.byID("BBCOM-1398")
	if len(v2) != 1 || v2[0].Title != "Prueba de creación de tareas en un proyecto público" || v2[0].Body == "" || v2[0].State == "" {
		t.Fatalf("v2 issue = %+v", v2)
	}
	c := res.store.byID("comment:20001")
	if len(c) != 1 || c[0].ParentExternalID != "BBCOM-1399" || c[0].Body != "Still happening today." || c[0].AuthorEmail != "ana@partner-a.example" {
		t.Fatalf("comment = %+v", c)
	}
}

func TestImportRejectsWholeBadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		format, name, content, want string
	}{
		{FormatGitHubJSON, "obj.json", `{"id":1}`, ":1: want a JSON array"},
		{FormatGitHubJSON, "trunc.json", "[\n{\"number\":1,\"updated_at\":\"2026-01-01T00:00:00Z\",\"html_url\":\"https://github.com/o/r/issues/1\"},\n{\"number\":", ":3: invalid JSON"},
		{FormatJiraJSON, "noissues.json", `{"total":0}`, `:1: want {"issues"`},
		{FormatMbox, "not.mbox", "Subject: hi\n\nbody\n", `:1: mbox: line 1: expected a "From " separator`},
		{FormatCSV, "nocol.csv", "a,b\n1,2\n", `:1: header has no column`},
	}
	for _, tt := range tests {
		p := write(tt.name, tt.content)
		res := doImport(t, nil, tt.format, p)
		if !strings.Contains(res.out, p+tt.want) {
			t.Errorf("%s: output lacks %q:\n%s", tt.name, p+tt.want, res.out)
		}
	}
}

func TestNewRejectsBadCSVMapping(t *testing.T) {
	src := source(FormatCSV, "x.csv")
	src.File.CSV.Columns = map[string]string{"title": "T", "colour": "C"}
	if _, err := New(src, testEnv()); err == nil || !strings.Contains(err.Error(), "csv.columns: unknown field(s) colour") {
		t.Fatalf("err = %v", err)
	}
}

func TestProgressBarOnlyAfterThreshold(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, tty: true, total: 100}
	for i := 1; i <= progressThreshold; i++ {
		p.records(i)
	}
	if buf.Len() != 0 {
		t.Fatalf("bar drawn for %d records: %q", progressThreshold, buf.String())
	}
	p.bytes(50)
	for i := progressThreshold + 1; i <= 2000; i++ {
		p.records(i)
	}
	if !strings.Contains(buf.String(), "\r[===============               ]  50% 1251 records") {
		t.Fatalf("bar = %q", buf.String())
	}
	p.clear()
	if !strings.HasSuffix(buf.String(), "\r\033[K") {
		t.Fatal("bar not cleared")
	}
	if isTerminal(&buf) {
		t.Fatal("a buffer is not a terminal")
	}
}

func TestImportStopsWhenIngestFails(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	fail := func(context.Context, []feedback.Record) (int, int, error) { return 0, 0, errors.New("disk full") }
	_, err := Import(context.Background(), source(FormatJSONL), testEnv(), []string{"testdata/partner/events.jsonl"}, &out, fail)
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(out.String(), "stopped: ") {
		t.Fatalf("err = %v, output %q", err, out.String())
	}
}

// TestImportRejectsInvalidRecordAlone: a row that parses but makes an invalid record
// (a NUL byte in its id, which the store refuses) is rejected on its own; the rows
// around it are imported.
func TestImportRejectsInvalidRecordAlone(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nul.csv")
	csv := "Ticket,Subject,Description,Reporter,Email,Opened,Link,Tags,Customer,Priority\n" +
		"N-1,First,Fine,Ana,ops@acme.example,2026-03-02 09:58,,,acme,high\n" +
		"N-\x002,Second,Bad id,Ana,ops@acme.example,2026-03-02 10:58,,,acme,high\n" +
		"N-3,Third,Fine,Ana,ops@acme.example,2026-03-02 11:58,,,acme,high\n"
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	res := doImport(t, nil, FormatCSV, path)
	if res.sum.Rejected != 1 || !strings.Contains(res.out, "invalid record") || !strings.Contains(res.out, "NUL byte") {
		t.Fatalf("rejected %d:\n%s", res.sum.Rejected, res.out)
	}
	for _, r := range res.store.all() {
		if err := r.Validate(); err != nil {
			t.Fatalf("an invalid record reached the store: %v", err)
		}
	}
	if len(res.store.byID("N-1")) != 1 || len(res.store.byID("N-3")) != 1 {
		t.Fatalf("the valid rows around it: %+v", res.store.all())
	}
}
