package rules

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/ and FIELDS.md")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./rules -update): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test ./rules -update and review the diff)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func mustParse(t testing.TB, src string) *Set {
	t.Helper()
	s, err := Parse("r.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return s
}

func TestStarterRules(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	passed, failed, err := RunTests("../configs/rules_test.yaml", &out)
	if err != nil {
		t.Fatal(err)
	}
	if failed > 0 {
		t.Errorf("%d starter rule tests failed:\n%s", failed, out.String())
	}
	if passed < 30 {
		t.Errorf("want at least 30 starter rule tests, have %d", passed)
	}
}

func TestStarterRulesLintClean(t *testing.T) {
	t.Parallel()
	probs, err := LintFile("../configs/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Error(p)
	}
}

// TestLintProblems has one case per kind of bad input; want is the exact problem line.
func TestLintProblems(t *testing.T) {
	t.Parallel()
	const ok = "    set: {category: billing}\n"
	tests := []struct {
		name, src, want string
	}{
		{"invalid yaml",
			"rules:\n  - name: a\n    when: 'text contains \"x\"\n",
			`r.yaml:3:11: could not find end character of single-quoted text`},
		{"not a mapping",
			"- a\n- b\n",
			`r.yaml:1:1: the rules file must be a mapping with categories, rules and routing`},
		{"empty file",
			"# nothing here\n",
			`r.yaml:1:1: empty rules file (want categories, rules and routing)`},
		{"unknown top-level key",
			"rulez: []\n",
			`r.yaml:1:1: unknown key "rulez" (want categories, rules or routing)`},
		{"unknown rule key",
			"rules:\n  - name: a\n    whn: 'true'\n" + ok,
			`r.yaml:3:5: rule a: unknown key "whn"`},
		{"unknown effect key",
			"rules:\n  - name: a\n    when: 'true'\n    set: {categry: billing}\n",
			`r.yaml:4:11: rule a: unknown key "categry"`},
		{"wrong type",
			"rules:\n  - name: a\n    when: 'true'\n    raise_severity: lots\n",
			`r.yaml:4:21: rule a: cannot unmarshal string into raise_severity of type int`},
		{"expression does not compile",
			"rules:\n  - name: a\n    when: 'text contains'\n" + ok,
			`r.yaml:3:24: rule a: when: unexpected token EOF`},
		{"expression is not boolean",
			"rules:\n  - name: a\n    when: 'len(text) + 1'\n" + ok,
			`r.yaml:3:12: rule a: when: must be a boolean expression, but it gives int`},
		{"unknown field",
			"rules:\n  - name: a\n    when: 'source == \"github\" and txt contains \"x\"'\n" + ok,
			`r.yaml:3:35: rule a: when: unknown field txt in item scope (did you mean text?)`},
		{"unknown partner field",
			"rules:\n  - name: a\n    when: 'partner.tierr == \"pilot\"'\n" + ok,
			`r.yaml:3:20: rule a: when: unknown field partner.tierr (did you mean tier?)`},
		{"item field in cluster scope",
			"rules:\n  - name: a\n    scope: cluster\n    when: 'text contains \"x\"'\n" + ok,
			`r.yaml:4:12: rule a: when: unknown field text in cluster scope (see rules/FIELDS.md)`},
		{"unknown field in a folded block",
			"rules:\n  - name: a\n    when: >-\n      source == \"github\"\n      and kindd == \"issue\"\n" + ok,
			`r.yaml:5:11: rule a: when: unknown field kindd in item scope (did you mean kind?)`},
		{"yaml comment cuts the expression",
			"rules:\n  - name: a\n    when: any([\"a\"], {text contains #})\n" + ok,
			`r.yaml:3:35: rule a: when: unexpected token EOF (in YAML, " #" starts a comment and cut the expression short: quote it, or use when: >-)`},
		{"unknown category in effect",
			"rules:\n  - name: a\n    when: 'true'\n    set: {category: biling}\n",
			`r.yaml:4:21: rule a: unknown category "biling" (known: deployment, billing, connectivity, launch-integration, other)`},
		{"unknown category in expression",
			"rules:\n  - name: a\n    when: 'category == \"biling\"'\n" + ok,
			`r.yaml:3:24: rule a: when: unknown category "biling" (known: deployment, billing, connectivity, launch-integration, other)`},
		{"unknown severity in expression",
			"rules:\n  - name: a\n    when: 'severity in [\"high\", \"urgent\"]'\n" + ok,
			`r.yaml:3:33: rule a: when: unknown severity "urgent" (want low, medium, high or critical)`},
		{"upper-case literal against lower-cased text",
			"rules:\n  - name: a\n    when: 'text contains \"Refund\"'\n" + ok,
			`r.yaml:3:26: rule a: when: text is lower-case, so "Refund" never matches; write it in lower case`},
		{"upper-case literal in any()",
			"rules:\n  - name: a\n    when: 'any([\"refund\", \"Invoice\"], {text contains #})'\n" + ok,
			`r.yaml:3:27: rule a: when: text is lower-case, so "Invoice" never matches; write it in lower case`},
		{"helper on a raw field",
			"rules:\n  - name: a\n    when: 'has_any(raw_title, [\"URGENT\"])'\n" + ok,
			`r.yaml:3:20: rule a: when: has_any lower-cases its words, so on raw_title it misses upper-case text; use title`},
		{"duplicate rule names",
			"rules:\n  - name: a\n    when: 'true'\n" + ok + "  - name: a\n    when: 'false'\n" + ok,
			`r.yaml:5:11: rule a: duplicate name "a" (first used at line 2)`},
		{"rule and route share a name",
			"rules:\n  - name: billing\n    when: 'true'\n" + ok + "routing:\n  - name: billing\n    when: 'true'\n    owner: x\n",
			`r.yaml:6:11: route billing: duplicate name "billing" (first used at line 2)`},
		{"missing name",
			"rules:\n  - when: 'true'\n" + ok,
			`r.yaml:2:5: rule #1: name is required`},
		{"missing when",
			"rules:\n  - name: a\n" + ok,
			`r.yaml:2:5: rule a: when is required (write 'true' to match everything)`},
		{"bad scope",
			"rules:\n  - name: a\n    scope: items\n    when: 'true'\n" + ok,
			`r.yaml:3:12: rule a: scope must be item or cluster, not "items"`},
		{"no effect",
			"rules:\n  - name: a\n    when: 'true'\n",
			`r.yaml:2:5: rule a: rule has no effect (want set, raise_severity, lower_severity, ignore or stop)`},
		{"unknown severity",
			"rules:\n  - name: a\n    when: 'true'\n    set: {severity: urgent}\n",
			`r.yaml:4:21: rule a: set.severity: unknown severity "urgent" (want one of low, medium, high, critical)`},
		{"raise out of range",
			"rules:\n  - name: a\n    when: 'true'\n    raise_severity: 7\n",
			`r.yaml:4:21: rule a: raise_severity must be between 1 and 3, not 7`},
		{"set and raise severity",
			"rules:\n  - name: a\n    when: 'true'\n    set: {severity: high}\n    raise_severity: 1\n",
			`r.yaml:4:21: rule a: set.severity and raise_severity/lower_severity together make no sense`},
		{"ignore without reason",
			"rules:\n  - name: a\n    when: 'true'\n    ignore: ''\n",
			`r.yaml:4:13: rule a: ignore needs a reason (ignore: "why")`},
		{"upper-case label",
			"rules:\n  - name: a\n    when: 'true'\n    set: {labels: [ok, Not OK]}\n",
			`r.yaml:4:24: rule a: label "Not OK" must be lower-case, without spaces`},
		{"bad category name",
			"categories: [billing, Big Deals]\n",
			`r.yaml:1:23: categories: category "Big Deals" must be lower-case letters, digits, '-' or '_'`},
		{"route without owner",
			"routing:\n  - when: 'true'\n",
			`r.yaml:2:5: route route-1: owner is required`},
		{"route using an item field in both scopes",
			"routing:\n  - name: p\n    when: 'partner.tier == \"pilot\"'\n    owner: x\n",
			`r.yaml:3:12: route p: when: unknown field partner in cluster scope (did you mean partners?); add scope: item if the route is only for items`},
		{"cyclic escalation chain in one route",
			"routing:\n  - name: p\n    when: 'true'\n    owner: team\n    escalate_to: [lead, head, lead]\n",
			`r.yaml:5:31: route p: cyclic escalation chain: head -> lead -> head`},
		{"escalation back to the owner",
			"routing:\n  - name: p\n    when: 'true'\n    owner: team\n    escalate_to: [lead, team]\n",
			`r.yaml:5:25: route p: cyclic escalation chain: lead -> team -> lead`},
		{"cyclic escalation across routes",
			"routing:\n  - name: p\n    when: 'true'\n    owner: team-a\n    escalate_to: [lead-a, head]\n" +
				"  - name: q\n    when: 'false'\n    owner: head\n    escalate_to: [team-a]\n",
			`r.yaml:9:19: route q: cyclic escalation chain: head -> team-a -> lead-a -> head`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			probs := Lint("r.yaml", []byte(tc.src))
			var lines []string
			for _, p := range probs {
				lines = append(lines, p.String())
			}
			if !slices.Contains(lines, tc.want) {
				t.Errorf("want problem\n  %s\ngot\n  %s", tc.want, strings.Join(lines, "\n  "))
			}
			if _, err := Parse("r.yaml", []byte(tc.src)); err == nil {
				t.Error("Parse accepted a file with problems")
			} else if _, ok := errorsAs[Problems](err); !ok {
				t.Errorf("Parse error is %T, want Problems", err)
			}
		})
	}
}

// TestLintGolden lints every file in testdata/lint and compares with its .golden.
func TestLintGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/lint/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no lint test files: %v", err)
	}
	for _, f := range files {
		probs, err := LintFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, p := range probs {
			b.WriteString(p.String() + "\n")
		}
		golden(t, "lint/"+strings.TrimSuffix(filepath.Base(f), ".yaml")+".golden", b.String())
	}
}

func TestExplainGolden(t *testing.T) {
	t.Parallel()
	s, err := Load("../configs/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.File = "configs/rules.yaml" // stable in the golden file
	item := NewItemEnv(ItemInput{
		Source: "partner-hooks", Kind: "event",
		Title:   "Go-live blocked: production API key rejected",
		Body:    "We're scheduled to go live on May 12 but the production API key returns 401. This is blocking our launch date.",
		Partner: Partner{ID: "acme", Tier: "design-partner", Name: "Acme Logistics"},
		Current: Current{Owner: "alice"},
	})
	golden(t, "explain_item.golden", s.ExplainItem(item, map[string]bool{FieldOwner: true}).String())

	cl := NewClusterEnv(ClusterInput{
		Title: "TLS handshake timeouts", ItemsCount: 4, Partners: []string{"acme", "fjord", "northwind"},
		Sources:   []string{"support-mail", "github"},
		FirstSeen: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), LastSeen: time.Date(2025, 3, 10, 17, 30, 0, 0, time.UTC),
		MaxSeverity: "medium", Current: Current{Category: "connectivity"},
	})
	golden(t, "explain_cluster.golden", s.ExplainCluster(cl, nil).String())
}

func TestRunTestsReportsFailures(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	passed, failed, err := RunTests("testdata/failing_test.yaml", &out)
	if err != nil {
		t.Fatal(err)
	}
	if passed != 1 || failed != 2 {
		t.Errorf("passed, failed = %d, %d; want 1, 2", passed, failed)
	}
	golden(t, "failing_test.golden", out.String())
}

func TestRunTestsBadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "t.yaml")
	src := "tests:\n  - name: a\n    item: {title: x, colour: red}\n  - name: b\n    decided: [mood]\n    item: {}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := RunTests(path, &bytes.Buffer{})
	for _, want := range []string{
		path + `:3:22: test a: unknown key "colour"`,
		path + `:5:14: test b: unknown decided field "mood"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error containing %q, got %v", want, err)
		}
	}
}

func TestEvalAttributionAndOrder(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `
rules:
  - name: cat
    when: 'has_any(text, ["invoice"])'
    set: {category: billing, labels: [billing], owner: team-x}
  - name: sev
    when: 'category == "billing"'
    set: {severity: medium}
  - name: up
    when: 'severity == "medium"'
    raise_severity: 2
    set: {sla: fast, auto_accept: jira}
  - name: down
    when: '"billing" in labels'
    lower_severity: 1
    stop: true
  - name: never
    when: 'true'
    ignore: should not run
routing:
  - name: r
    when: 'category == "billing"'
    owner: team-billing
    escalate_to: [lead, head]
`)
	res := s.EvalItem(NewItemEnv(ItemInput{Title: "INVOICE wrong"}), nil)
	if res.Category != "billing" || res.Severity != "high" || res.Owner != "team-x" || res.SLA != "fast" ||
		res.AutoAccept != "jira" || res.Ignored || !slices.Equal(res.EscalateTo, []string{"lead", "head"}) {
		t.Errorf("unexpected result %+v", res)
	}
	if want := []string{"cat", "sev", "up", "down"}; !slices.Equal(res.Matched, want) {
		t.Errorf("matched %v, want %v", res.Matched, want)
	}
	var got []string
	for _, e := range res.Effects {
		got = append(got, e.String())
	}
	want := []string{
		`category set "" -> "billing" [rule:cat@` + s.Hash + `]`,
		`labels add "billing" [rule:cat@` + s.Hash + `]`,
		`owner set "" -> "team-x" [rule:cat@` + s.Hash + `]`,
		`severity set "" -> "medium" [rule:sev@` + s.Hash + `]`,
		`severity raise "medium" -> "critical" [rule:up@` + s.Hash + `]`,
		`sla set "" -> "fast" [rule:up@` + s.Hash + `]`,
		`auto_accept set "" -> "jira" [rule:up@` + s.Hash + `]`,
		`severity lower "critical" -> "high" [rule:down@` + s.Hash + `]`,
		`escalate_to set "" -> "lead -> head" [rule:r@` + s.Hash + `]`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("effects\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if len(s.Hash) != HashLen || s.Rules[0].Actor != "rule:cat@"+s.Hash {
		t.Errorf("hash %q, actor %q", s.Hash, s.Rules[0].Actor)
	}
}

func TestHumanDecisionWins(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `
rules:
  - name: all
    when: 'true'
    set: {category: billing, severity: high, labels: [x], owner: bot, sla: fast, auto_accept: jira}
    ignore: noise
routing:
  - when: 'true'
    owner: team
    escalate_to: [lead]
`)
	in := ItemInput{Title: "t", Current: Current{
		Category: "deployment", Severity: "low", Owner: "alice", Ignored: false,
		SLA: "slow", AutoAccept: "", EscalateTo: []string{"bob"},
	}}
	all := map[string]bool{}
	for _, f := range DecidableFields {
		all[f] = true
	}
	res := s.EvalItem(NewItemEnv(in), all)
	if res.Category != "deployment" || res.Severity != "low" || res.Owner != "alice" || res.Ignored ||
		res.SLA != "slow" || res.AutoAccept != "" || len(res.Labels) != 0 || !slices.Equal(res.EscalateTo, []string{"bob"}) {
		t.Errorf("a human decision was overridden: %+v", res)
	}
	if len(res.Effects) != 0 {
		t.Errorf("effects applied over human decisions: %v", res.Effects)
	}
	if len(res.Suppressed) != 9 {
		t.Errorf("want 9 suppressed effects, got %d: %v", len(res.Suppressed), res.Suppressed)
	}
	// Undecided fields do not keep stale values from an older rules version.
	res = s.EvalItem(NewItemEnv(in), map[string]bool{FieldCategory: true})
	if res.Category != "deployment" || res.Severity != "high" || res.Owner != "bot" || !res.Ignored || res.SLA != "fast" {
		t.Errorf("undecided fields not recomputed: %+v", res)
	}
}

func TestRuntimeErrorSkipsOnlyThatRule(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `
rules:
  - name: first-ref
    when: 'refs[0] startsWith "FB-"'
    set: {labels: [jira]}
  - name: other
    when: 'true'
    set: {category: other}
`)
	res := s.EvalItem(NewItemEnv(ItemInput{Title: "no refs"}), nil)
	if len(res.Errors) != 1 || res.Errors[0].Rule != "first-ref" || !strings.Contains(res.Errors[0].Err, "out of range") {
		t.Fatalf("errors = %+v", res.Errors)
	}
	if res.Category != "other" || len(res.Labels) != 0 {
		t.Errorf("other rules did not apply: %+v", res)
	}
	ex := s.ExplainItem(NewItemEnv(ItemInput{Title: "no refs"}), nil)
	if ex.Traces[0].Status != StatusError {
		t.Errorf("explain status %q, want error", ex.Traces[0].Status)
	}
	res = s.EvalItem(NewItemEnv(ItemInput{Refs: []string{"FB-1"}}), nil)
	if len(res.Errors) != 0 || !slices.Equal(res.Labels, []string{"jira"}) {
		t.Errorf("with a ref: %+v", res)
	}
}

func TestEvalDoesNotMutateCallerEnv(t *testing.T) {
	t.Parallel()
	s := mustParse(t, "rules:\n  - name: a\n    when: 'true'\n    set: {labels: [x, y], category: billing}\n")
	labels := make([]string, 1, 10) // spare capacity an append could write into
	labels[0] = "src"
	env := NewItemEnv(ItemInput{Title: "t"})
	env.Labels = labels
	s.EvalItem(env, nil)
	if env.Category != "" || len(env.Labels) != 1 || labels[:2][1] != "" {
		t.Errorf("caller's env changed: %+v %v", env.State, labels[:2])
	}
}

func TestConcurrentEval(t *testing.T) {
	t.Parallel()
	s, err := Load("../configs/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := NewItemEnv(ItemInput{Title: "Invoice wrong", Body: "charged twice", Partner: Partner{ID: "a", Tier: "design-partner"}})
	want := s.EvalItem(env, nil)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if got := s.EvalItem(env, nil); !reflect.DeepEqual(got, want) {
					t.Error("concurrent evaluation differs")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestHelperFunctions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		when string
		text string
		want bool
	}{
		{`has_any(text, ["Refund", "invoice"])`, "need a REFUND", true},
		{`has_any(text, ["refund"])`, "nothing here", false},
		{`has_all(text, ["refund", "invoice"])`, "refund the invoice", true},
		{`has_all(text, ["refund", "invoice"])`, "refund only", false},
		{`has_word(text, "down")`, "the site is down.", true},
		{`has_word(text, "down")`, "download failed", false},
		{`has_word(text, ["ci", "dns"])`, "special chars", false},
		{`has_word(text, ["ci", "dns"])`, "our ci is slow", true},
		{`has_word(text, "ci/cd")`, "the ci/cd pipeline", true},
		{`has_any(raw_text_alias, labels)`, "", false},
		{`has_any(text, labels)`, "a bug report", true},
		{`text matches "charged (twice|2x)"`, "we were charged 2x", true},
	}
	for _, tc := range tests {
		src := "rules:\n  - name: a\n    when: '" + strings.ReplaceAll(tc.when, "'", "''") + "'\n    set: {labels: [hit]}\n"
		if strings.Contains(tc.when, "raw_text_alias") {
			if len(Lint("r.yaml", []byte(src))) == 0 {
				t.Errorf("%s: want an unknown field problem", tc.when)
			}
			continue
		}
		s := mustParse(t, src)
		res := s.EvalItem(NewItemEnv(ItemInput{Body: tc.text, Labels: []string{"bug"}}), nil)
		if got := len(res.Matched) == 1; got != tc.want || len(res.Errors) > 0 {
			t.Errorf("%s on %q = %v (errors %v), want %v", tc.when, tc.text, got, res.Errors, tc.want)
		}
	}
}

func TestNewItemEnv(t *testing.T) {
	t.Parallel()
	env := NewItemEnv(ItemInput{
		Kind: "Email", Title: "Hello WORLD", Body: "Straße", AuthorEmail: " Dana@Shop.Example ",
		Labels: []string{"Bug"}, Partner: Partner{Tier: "Design-Partner"},
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)),
	})
	if env.Text != "hello world\nstraße" || env.Title != "hello world" || env.RawTitle != "Hello WORLD" ||
		env.AuthorDomain != "shop.example" || env.Kind != "email" || env.Labels[0] != "bug" ||
		env.Partner.ID != "unknown" || env.IsPartner || env.Partner.Tier != "design-partner" ||
		env.CreatedAt.Location() != time.UTC || env.Length != 18 {
		t.Errorf("unexpected env %+v", env)
	}
	cl := NewClusterEnv(ClusterInput{
		Partners: []string{"a", "b", "a", "unknown"}, FirstSeen: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		LastSeen: time.Date(2025, 1, 2, 12, 0, 0, 0, time.UTC), MaxSeverity: "High",
	})
	if cl.PartnersCount != 2 || cl.WindowDays != 1.5 || cl.MaxSeverityRank != 3 {
		t.Errorf("unexpected cluster env %+v", cl)
	}
}

func TestHolderReloadKeepsOldRulesOnError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("rules:\n  - name: a\n    when: 'true'\n    set: {category: billing}\n")
	h := NewHolder(nil)
	if err := h.Reload(path); err != nil {
		t.Fatal(err)
	}
	first := h.Current()
	write("rules:\n  - name: a\n    when: 'true and'\n    set: {category: billing}\n")
	err := h.Reload(path)
	if err == nil || !strings.Contains(err.Error(), path+":3:") {
		t.Fatalf("want a positioned error, got %v", err)
	}
	if _, ok := errorsAs[Problems](err); !ok {
		t.Errorf("reload error does not wrap Problems: %T", err)
	}
	if h.Current() != first {
		t.Error("a bad file replaced the rules in use")
	}
	if err := h.Reload(path + ".missing"); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	write("rules:\n  - name: b\n    when: 'true'\n    set: {category: deployment}\n")
	if err := h.Reload(path); err != nil {
		t.Fatal(err)
	}
	if h.Current() == first || h.Current().Rules[0].Name != "b" {
		t.Error("a good file was not loaded")
	}
}

// TestFieldsDocumented keeps the Fields table, the env structs and FIELDS.md in step.
func TestFieldsDocumented(t *testing.T) {
	t.Parallel()
	documented := map[string]bool{}
	for _, f := range Fields {
		documented[f.Scope+":"+f.Name] = true
	}
	seen := map[string]bool{}
	var walk func(scope, prefix string, typ reflect.Type)
	walk = func(scope, prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			sf := typ.Field(i)
			if sf.Anonymous {
				walk("both", prefix, sf.Type)
				continue
			}
			tag := sf.Tag.Get("expr")
			if tag == "-" {
				continue
			}
			if tag == "" {
				t.Errorf("%s.%s has no expr tag", typ.Name(), sf.Name)
				continue
			}
			if sf.Type == reflect.TypeOf(Partner{}) {
				walk(scope, tag+".", sf.Type)
				continue
			}
			key := scope + ":" + prefix + tag
			seen[key] = true
			if !documented[key] {
				t.Errorf("field %s is not in rules.Fields", key)
			}
		}
	}
	walk("item", "", reflect.TypeOf(ItemEnv{}))
	walk("cluster", "", reflect.TypeOf(ClusterEnv{}))
	for k := range documented {
		if !seen[k] {
			t.Errorf("rules.Fields documents %s, which the environment lacks", k)
		}
	}
	var b bytes.Buffer
	if err := WriteFieldsDoc(&b); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("FIELDS.md", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("FIELDS.md")
	if err != nil || !bytes.Equal(want, b.Bytes()) {
		t.Errorf("FIELDS.md is out of date (run go test ./rules -update): %v", err)
	}
}

func TestSetReferences(t *testing.T) {
	t.Parallel()
	s, err := Load("../configs/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.SLAPolicies(); !slices.Equal(got, []string{"launch"}) {
		t.Errorf("SLA policies %v", got)
	}
	if got := s.SyncTargets(); !slices.Equal(got, []string{"jira"}) {
		t.Errorf("sync targets %v", got)
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/lint/*.yaml")
	seeds = append(seeds, "../configs/rules.yaml")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("rules:\n  - name: a\n    when: 'text contains \"x\"'\n    set: {category: billing}\n"))
	f.Add([]byte("routing:\n  - {when: 'true', owner: a, escalate_to: [b, a]}\n"))
	f.Add([]byte("rules: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, probs := parse("f.yaml", data)
		if (s == nil) == (len(probs) == 0) {
			t.Fatalf("set %v with %d problems", s != nil, len(probs))
		}
		for _, p := range probs {
			_ = p.String()
		}
		if s != nil {
			s.EvalItem(NewItemEnv(ItemInput{Title: "t", Body: string(data)}), nil)
			s.EvalCluster(NewClusterEnv(ClusterInput{ItemsCount: 1}), nil)
		}
	})
}

// TestEnvMapsMatchStructs holds envmap.go's hand-written maps to the structs.
func TestEnvMapsMatchStructs(t *testing.T) {
	t.Parallel()
	item := NewItemEnv(ItemInput{Title: "x"})
	cl := NewClusterEnv(ClusterInput{})
	for _, tc := range []struct {
		name       string
		got, shape map[string]any
	}{{"item", item.toMap(), itemShape}, {"cluster", cl.toMap(), clusterShape}} {
		if len(tc.got) != len(tc.shape) {
			t.Errorf("%s: map has %d keys, struct %d", tc.name, len(tc.got), len(tc.shape))
		}
		for k, v := range tc.shape {
			g, ok := tc.got[k]
			if !ok || reflect.TypeOf(g) != reflect.TypeOf(v) {
				t.Errorf("%s: key %s is %T in the map, %T in the struct", tc.name, k, g, v)
			}
		}
	}
}
