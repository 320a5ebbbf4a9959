package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// committed is the folder of the committed pilot data, relative to this package.
const committed = "../../configs/pilot"

// TestCommittedFilesMatchGenerator regenerates the data set and compares it byte for
// byte with the committed files: run `go run ./internal/pilotgen -out configs/pilot`
// after changing the generator.
func TestCommittedFilesMatchGenerator(t *testing.T) {
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(committed, f.Name))
		if err != nil {
			t.Errorf("%s: %v (regenerate with go run ./internal/pilotgen -out configs/pilot)", f.Name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output; regenerate with go run ./internal/pilotgen -out configs/pilot", f.Name)
		}
	}
	again, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		if !bytes.Equal(files[i].Data, again[i].Data) {
			t.Errorf("%s: two runs differ, the generator is not deterministic", files[i].Name)
		}
	}
}

func generated(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, f := range files {
		m[f.Name] = f.Data
	}
	return m
}

var mboxSep = regexp.MustCompile(`(?m)^From \S+ .*\d{1,2}:\d{2}:\d{2} \d{4}$`)

// splitMbox splits an mboxrd file at its separator lines and unescapes >From lines.
func splitMbox(t *testing.T, data []byte) [][]byte {
	t.Helper()
	locs := mboxSep.FindAllIndex(data, -1)
	if len(locs) == 0 || locs[0][0] != 0 {
		t.Fatal("mbox does not start with a From line")
	}
	var msgs [][]byte
	for i, l := range locs {
		end := len(data)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		body := data[l[1]+1 : end]
		body = regexp.MustCompile(`(?m)^>(>*From )`).ReplaceAll(body, []byte("$1"))
		msgs = append(msgs, body)
	}
	return msgs
}

// TestDataSet checks that every file parses, the counts agree with the ground truth
// and every ground-truth entry is unique.
func TestDataSet(t *testing.T) {
	files := generated(t)
	var gt GroundTruth
	if err := json.Unmarshal(files["ground-truth.json"], &gt); err != nil {
		t.Fatal("ground-truth.json:", err)
	}
	bySource := map[string]map[string]Truth{}
	kinds := map[string]int{}
	for _, e := range gt.Items {
		if bySource[e.Source] == nil {
			bySource[e.Source] = map[string]Truth{}
		}
		if _, dup := bySource[e.Source][e.ExternalID]; dup {
			t.Errorf("duplicate ground truth entry %s %s", e.Source, e.ExternalID)
		}
		bySource[e.Source][e.ExternalID] = e
		kinds[e.Kind]++
		switch e.Category {
		case "deployment", "billing", "connectivity", "launch-integration", "other":
		default:
			t.Errorf("%s %s: unknown category %q", e.Source, e.ExternalID, e.Category)
		}
		if e.Cluster == "" || e.Partner == "" {
			t.Errorf("%s %s: empty cluster or partner", e.Source, e.ExternalID)
		}
	}
	if n := kinds["item"]; n < 150 || n > 300 {
		t.Errorf("%d items, want 150–300", n)
	}
	if kinds["auto-reply"] != 1 || kinds["bounce"] != 1 {
		t.Errorf("want exactly one auto-reply and one bounce, got %d and %d", kinds["auto-reply"], kinds["bounce"])
	}
	if kinds["pull_request"] < 1 || kinds["reply"] < 5 {
		t.Errorf("want pull requests and replies, got %v", kinds)
	}
	if len(gt.Partners) < 6 {
		t.Errorf("%d partners", len(gt.Partners))
	}

	// Mail.
	mbox := files["support.mbox"]
	if !bytes.Contains(mbox, []byte("\n>From ")) {
		t.Error("mbox has no >From escaped line")
	}
	msgs := splitMbox(t, mbox)
	if len(msgs) != len(bySource["mail"]) {
		t.Errorf("mbox has %d messages, ground truth %d", len(msgs), len(bySource["mail"]))
	}
	var sawLatin1, sawQP, sawAlt, sawReport, sawAuto bool
	for i, raw := range msgs {
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		id := m.Header.Get("Message-Id")
		e, ok := bySource["mail"][id]
		if !ok {
			t.Errorf("message %d: Message-ID %q not in ground truth", i, id)
		}
		if _, err := m.Header.Date(); err != nil {
			t.Errorf("message %s: %v", id, err)
		}
		ct := m.Header.Get("Content-Type")
		sawLatin1 = sawLatin1 || strings.Contains(ct, "iso-8859-1")
		sawQP = sawQP || m.Header.Get("Content-Transfer-Encoding") == "quoted-printable"
		sawAlt = sawAlt || strings.HasPrefix(ct, "multipart/alternative")
		if strings.HasPrefix(ct, "multipart/report") {
			sawReport = true
			if e.Kind != "bounce" || m.Header.Get("Return-Path") != "<>" {
				t.Errorf("bounce %s: kind %s, Return-Path %q", id, e.Kind, m.Header.Get("Return-Path"))
			}
		}
		if m.Header.Get("Auto-Submitted") == "auto-replied" && e.Kind == "auto-reply" {
			sawAuto = true
		}
		if e.Kind == "reply" && (m.Header.Get("In-Reply-To") == "" || !strings.HasPrefix(m.Header.Get("Subject"), "Re: ")) {
			t.Errorf("reply %s lacks In-Reply-To or Re: subject", id)
		}
	}
	if !sawLatin1 || !sawQP || !sawAlt || !sawReport || !sawAuto {
		t.Errorf("missing mail variety: latin1=%v qp=%v alternative=%v report=%v auto=%v", sawLatin1, sawQP, sawAlt, sawReport, sawAuto)
	}

	// GitHub.
	var issues []map[string]any
	if err := json.Unmarshal(files["github-issues.json"], &issues); err != nil {
		t.Fatal("github-issues.json:", err)
	}
	if len(issues) != len(bySource["github"]) {
		t.Errorf("%d GitHub issues, ground truth %d", len(issues), len(bySource["github"]))
	}
	for _, is := range issues {
		id := jsonNumber(is["id"])
		e, ok := bySource["github"][id]
		if !ok {
			t.Errorf("GitHub issue %s not in ground truth", id)
			continue
		}
		if _, pr := is["pull_request"]; pr != (e.Kind == "pull_request") {
			t.Errorf("GitHub issue %s: pull_request key %v, kind %s", id, pr, e.Kind)
		}
		for _, k := range []string{"node_id", "number", "title", "body", "user", "labels", "state", "html_url", "url", "comments_url", "created_at", "updated_at", "closed_at", "author_association"} {
			if _, ok := is[k]; !ok {
				t.Errorf("GitHub issue %s lacks %s", id, k)
			}
		}
	}

	// Jira.
	var search struct {
		Issues []struct {
			Key    string `json:"key"`
			Fields struct {
				Summary     string `json:"summary"`
				Description struct {
					Type    string `json:"type"`
					Version int    `json:"version"`
				} `json:"description"`
				Created string `json:"created"`
			} `json:"fields"`
		} `json:"issues"`
		IsLast bool `json:"isLast"`
	}
	if err := json.Unmarshal(files["jira-issues.json"], &search); err != nil {
		t.Fatal("jira-issues.json:", err)
	}
	if !search.IsLast || len(search.Issues) != len(bySource["jira"]) {
		t.Errorf("%d Jira issues (isLast %v), ground truth %d", len(search.Issues), search.IsLast, len(bySource["jira"]))
	}
	for _, is := range search.Issues {
		if _, ok := bySource["jira"][is.Key]; !ok {
			t.Errorf("Jira issue %s not in ground truth", is.Key)
		}
		if is.Fields.Description.Type != "doc" || is.Fields.Description.Version != 1 {
			t.Errorf("Jira issue %s: description is not an ADF doc", is.Key)
		}
		if _, err := time.Parse(jiraTime, is.Fields.Created); err != nil {
			t.Errorf("Jira issue %s: created %q: %v", is.Key, is.Fields.Created, err)
		}
	}

	// Partner events: every line parses, ids of created/comment events are in the
	// ground truth, updates refer to a created event.
	sc := bufio.NewScanner(bytes.NewReader(files["partner-events.jsonl"]))
	sc.Buffer(nil, 1<<20)
	created := map[string]bool{}
	ids := map[string]bool{}
	line := 0
	for sc.Scan() {
		line++
		var ev struct {
			Type       string            `json:"type"`
			ID         string            `json:"id"`
			ParentID   string            `json:"parent_id"`
			OccurredAt string            `json:"occurred_at"`
			Metadata   map[string]string `json:"metadata"`
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("partner-events.jsonl line %d: %v", line, err)
		}
		if _, err := time.Parse(time.RFC3339, ev.OccurredAt); err != nil {
			t.Errorf("line %d: occurred_at: %v", line, err)
		}
		if ev.Metadata["partner"] == "" || ev.Metadata["ticket"] == "" {
			t.Errorf("line %d: metadata lacks partner or ticket", line)
		}
		switch ev.Type {
		case "feedback.created":
			created[ev.ID] = true
		case "feedback.updated":
			if !created[ev.ID] {
				t.Errorf("line %d: update of unknown id %s", line, ev.ID)
			}
			continue
		case "feedback.comment":
			if !created[ev.ParentID] {
				t.Errorf("line %d: comment on unknown id %s", line, ev.ParentID)
			}
		default:
			t.Errorf("line %d: type %q", line, ev.Type)
		}
		ids[ev.ID] = true
		if _, ok := bySource["partners"][ev.ID]; !ok {
			t.Errorf("line %d: event %s not in ground truth", line, ev.ID)
		}
	}
	if len(ids) != len(bySource["partners"]) {
		t.Errorf("%d partner event ids, ground truth %d", len(ids), len(bySource["partners"]))
	}
}

// TestRecurringPatterns checks the planted structure: several clusters reported by
// three or more partners within 14 days, clusters spanning several sources, and
// one-offs.
func TestRecurringPatterns(t *testing.T) {
	all, err := Plan(Clusters)
	if err != nil {
		t.Fatal(err)
	}
	recurringN, crossSource, oneOffs := 0, 0, 0
	for _, cl := range Clusters {
		var pd []struct {
			p string
			d int
		}
		srcs := map[string]bool{}
		items := 0
		for _, r := range all {
			if r.C != cl {
				continue
			}
			switch r.Src {
			case "mail", "github", "jira", "partners":
				items++
				srcs[r.Src] = true
				if id := r.PartnerID(); id != "unknown" {
					pd = append(pd, struct {
						p string
						d int
					}{id, int(r.At.Sub(Start).Hours() / 24)})
				}
			}
		}
		if recurring(pd) {
			recurringN++
		}
		if len(srcs) >= 3 {
			crossSource++
		}
		if items == 1 {
			oneOffs++
		}
	}
	c := NewComposer(all)
	seen := map[string]string{}
	for _, r := range all {
		switch r.Src {
		case "mail", "github", "jira", "partners":
		default:
			continue
		}
		txt := c.Compose(r)
		k := r.C.Label + "\x00" + strings.Join(txt.Blocks, "\n\n")
		if prev, dup := seen[k]; dup {
			t.Errorf("cluster %s: %s item %q has the same text as %s", r.C.Label, r.Src, txt.Title, prev)
		}
		seen[k] = r.Src + " " + txt.Title
	}
	if recurringN < 4 || crossSource < 4 || oneOffs < 5 {
		t.Errorf("recurring %d, cross-source %d, one-offs %d", recurringN, crossSource, oneOffs)
	}
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
