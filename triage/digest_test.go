package triage

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func loadDigest(t *testing.T) DigestData {
	t.Helper()
	b, err := os.ReadFile("testdata/digest.json")
	if err != nil {
		t.Fatal(err)
	}
	var d DigestData
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./triage -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; rerun with -update and review the diff\n--- got ---\n%s", name, got)
	}
}

func TestDigestGolden(t *testing.T) {
	d := loadDigest(t)
	for _, f := range []struct{ format, file string }{{FormatMarkdown, "digest.md"}, {FormatHTML, "digest.html"}} {
		var b bytes.Buffer
		if err := Render(&b, d, f.format); err != nil {
			t.Fatal(err)
		}
		golden(t, f.file, b.Bytes())
	}
}

func TestDigestHTMLIsSafeAndSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, loadDigest(t), FormatHTML); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, bad := range []string{"<script", "javascript:", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	start, end := strings.Index(html, "<svg"), strings.Index(html, "</svg>")
	if start < 0 || end < start {
		t.Fatal("no inline SVG")
	}
	// The chart is well-formed XML, as mail clients that render SVG require.
	dec := xml.NewDecoder(strings.NewReader(html[start : end+len("</svg>")]))
	rects := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	// 1 background + 11 week×category bars + 4 legend swatches.
	if rects != 16 {
		t.Errorf("svg rects = %d, want 16", rects)
	}
}

func TestDigestEmptyAndBadFormat(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := Render(&b, DigestData{From: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)}, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "## New clusters (0)\n\nNone.") {
		t.Errorf("empty digest:\n%s", b.String())
	}
	b.Reset()
	if err := Render(&b, DigestData{}, FormatHTML); err != nil || !strings.Contains(b.String(), "No intake recorded") {
		t.Errorf("empty html: %v", err)
	}
	if err := Render(&b, DigestData{}, "pdf"); err == nil || err.Error() != `digest: unknown format "pdf" (want md or html)` {
		t.Errorf("err = %v", err)
	}
}

func TestSLAEntries(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	h := newHistory(t, e, feedback.Cluster{ID: 9, Status: feedback.StatusNew, Severity: feedback.SeverityHigh}, "", bt(t, "2026-03-09 09:00"))
	breached, risk := SLAEntries(h.state(bt(t, "2026-03-09 12:30")), "t", "o", bt(t, "2026-03-09 12:30"), 0.75)
	if len(breached) != 0 || len(risk) != 1 || risk[0].Metric != MetricFirstResponse {
		t.Errorf("at 12:30: breached %+v, risk %+v", breached, risk)
	}
	breached, _ = SLAEntries(h.state(bt(t, "2026-03-09 14:00")), "t", "o", bt(t, "2026-03-09 14:00"), 0.75)
	if len(breached) != 1 || !breached[0].BreachAt.Equal(bt(t, "2026-03-09 13:00")) {
		t.Errorf("at 14:00: breached %+v", breached)
	}
}

func TestWriteDecisions(t *testing.T) {
	t.Parallel()
	ds := loadDigest(t).Decisions
	var b bytes.Buffer
	if err := WriteDecisions(&b, ds, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `| 103 | 2026-03-04 14:40 UTC | jon | decline | cluster:19 | triaged → declined | Works as intended: \| pipes \| and \*stars\* stay literal |  |`) {
		t.Errorf("markdown:\n%s", b.String())
	}
	b.Reset()
	if err := WriteDecisions(&b, ds, "jsonl"); err != nil || strings.Count(b.String(), "\n") != 4 {
		t.Errorf("jsonl: %v\n%s", err, b.String())
	}
	if err := WriteDecisions(&b, ds, "csv"); err == nil {
		t.Error("csv must fail")
	}
}
