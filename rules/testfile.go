package rules

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	yast "github.com/goccy/go-yaml/ast"
)

// A rules test file lists cases, each an item or a cluster and what the rules should
// make of it (in the spirit of `promtool test rules`):
//
//	rules: rules.yaml          # relative to this file; the default
//	tests:
//	  - name: double charge is billing
//	    item: {source: support-mail, kind: email, title: "Charged twice", body: "..."}
//	    decided: [owner]       # fields a human decided; their values come from the item
//	    expect:
//	      category: billing
//	      severity: high
//	      labels: [billing]    # exactly these labels added, any order
//	      owner: team-billing
//	      matched: [billing-terms]
//
// Only the expectations written are checked. A rule that fails at run time fails the
// case unless the rule is listed in expect.errors.

type testFileDoc struct {
	Rules string `yaml:"rules"`
}

type testCaseDoc struct {
	Name    string        `yaml:"name"`
	Item    *ItemInput    `yaml:"item"`
	Cluster *ClusterInput `yaml:"cluster"`
	Decided []string      `yaml:"decided"`
	Expect  expectDoc     `yaml:"expect"`
}

type expectDoc struct {
	Category     *string   `yaml:"category"`
	Severity     *string   `yaml:"severity"`
	Labels       *[]string `yaml:"labels"`
	Owner        *string   `yaml:"owner"`
	EscalateTo   *[]string `yaml:"escalate_to"`
	Ignored      *bool     `yaml:"ignored"`
	IgnoreReason *string   `yaml:"ignore_reason"`
	SLA          *string   `yaml:"sla"`
	AutoAccept   *string   `yaml:"auto_accept"`
	Route        *string   `yaml:"route"`
	// Matched lists rules that must have matched; NotMatched rules that must not.
	Matched    []string `yaml:"matched"`
	NotMatched []string `yaml:"not_matched"`
	// Errors lists rules expected to fail at run time.
	Errors []string `yaml:"errors"`
}

type testCase struct {
	testCaseDoc
	line int
}

// RunTests runs a rules test file against the rules file it names, writing a readable
// report of every failing case (FILE:LINE, name, got versus want) and a summary line to
// w. err is for a test or rules file that cannot be read or is invalid.
func RunTests(path string, w io.Writer) (passed, failed int, err error) {
	rulesPath, cases, err := loadTests(path)
	if err != nil {
		return 0, 0, err
	}
	s, err := Load(rulesPath)
	if err != nil {
		return 0, 0, err
	}
	return s.runTests(path, cases, w)
}

// RunTests runs the cases of a rules test file against s, ignoring the file's own
// rules key. See the package function [RunTests].
func (s *Set) RunTests(path string, w io.Writer) (passed, failed int, err error) {
	_, cases, err := loadTests(path)
	if err != nil {
		return 0, 0, err
	}
	return s.runTests(path, cases, w)
}

func loadTests(path string) (string, []testCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("rules: read tests %s: %w", path, err)
	}
	l := &loader{file: path}
	f, err := parseYAML(data)
	if err != nil {
		l.yamlProblem("", err, nil)
		return "", nil, l.probs
	}
	var body yast.Node
	if len(f.Docs) > 0 {
		body = f.Docs[0].Body
	}
	top, ok := mappingValues(body)
	if body == nil || !ok {
		l.add(1, 1, "", "a rules test file must be a mapping with rules and tests")
		return "", nil, l.probs
	}
	var doc testFileDoc
	var testsNode yast.Node
	for _, mv := range top {
		switch keyName(mv) {
		case "rules":
			if err := decodeNode(mv.Value, &doc.Rules); err != nil {
				l.yamlProblem("", err, mv.Value)
			}
		case "tests":
			testsNode = mv.Value
		default:
			l.addAt(mv.Key, "", "unknown key %q (want rules or tests)", keyName(mv))
		}
	}
	seq, ok := unwrap(testsNode).(*yast.SequenceNode)
	if testsNode == nil || !ok {
		l.add(1, 1, "", "tests must be a list of cases")
		return "", nil, l.probs
	}
	var cases []testCase
	for i, el := range seq.Values {
		where := fmt.Sprintf("test #%d", i+1)
		vals, _ := mappingValues(el)
		if nm := scalarValue(vals, "name"); nm != "" {
			where = "test " + nm
		}
		line, _ := nodePos(firstKey(vals, el))
		c := testCase{line: line}
		if err := decodeNode(el, &c.testCaseDoc); err != nil {
			l.yamlProblem(where, err, el)
			continue
		}
		if c.Name == "" {
			l.addAt(el, where, "name is required")
		}
		if (c.Item == nil) == (c.Cluster == nil) {
			l.addAt(el, where, "give exactly one of item or cluster")
		}
		for _, d := range c.Decided {
			if !slices.Contains(DecidableFields, d) {
				l.addAt(lookup(vals, el, "decided"), where, "unknown decided field %q (want one of %s)", d, strings.Join(DecidableFields, ", "))
			}
		}
		cases = append(cases, c)
	}
	if len(l.probs) > 0 {
		return "", nil, l.probs
	}
	if doc.Rules == "" {
		doc.Rules = "rules.yaml"
	}
	if !filepath.IsAbs(doc.Rules) {
		doc.Rules = filepath.Join(filepath.Dir(path), doc.Rules)
	}
	return doc.Rules, cases, nil
}

func (s *Set) runTests(path string, cases []testCase, w io.Writer) (passed, failed int, err error) {
	var out strings.Builder
	for _, c := range cases {
		decided := map[string]bool{}
		for _, d := range c.Decided {
			decided[d] = true
		}
		var res Result
		if c.Item != nil {
			res = s.EvalItem(NewItemEnv(*c.Item), decided)
		} else {
			res = s.EvalCluster(NewClusterEnv(*c.Cluster), decided)
		}
		diffs := c.check(res)
		if len(diffs) == 0 {
			passed++
			continue
		}
		failed++
		fmt.Fprintf(&out, "%s:%d: FAIL %s\n", path, c.line, c.Name)
		for _, d := range diffs {
			fmt.Fprintf(&out, "    %s\n", d)
		}
		fmt.Fprintf(&out, "    rules matched: %s\n", orNone(strings.Join(res.Matched, ", ")))
	}
	status := "ok"
	if failed > 0 {
		status = "FAIL"
	}
	fmt.Fprintf(&out, "%s %s: %d passed, %d failed (rules %s @ %s)\n", status, path, passed, failed, s.File, s.Hash)
	_, err = io.WriteString(w, out.String())
	return passed, failed, err
}

// check compares a result with the case's expectations and returns one line per
// difference.
func (c *testCase) check(res Result) []string {
	var diffs []string
	str := func(field string, want *string, got string) {
		if want != nil && *want != got {
			diffs = append(diffs, fmt.Sprintf("%-13s got %q, want %q", field+":", got, *want))
		}
	}
	e := c.Expect
	str("category", e.Category, string(res.Category))
	str("severity", e.Severity, string(res.Severity))
	str("owner", e.Owner, res.Owner)
	str("ignore_reason", e.IgnoreReason, res.IgnoreReason)
	str("sla", e.SLA, res.SLA)
	str("auto_accept", e.AutoAccept, res.AutoAccept)
	str("route", e.Route, res.Route)
	if e.Ignored != nil && *e.Ignored != res.Ignored {
		diffs = append(diffs, fmt.Sprintf("%-13s got %v, want %v", "ignored:", res.Ignored, *e.Ignored))
	}
	if e.Labels != nil {
		got, want := slices.Sorted(slices.Values(res.Labels)), slices.Sorted(slices.Values(*e.Labels))
		if !slices.Equal(got, want) {
			diffs = append(diffs, fmt.Sprintf("%-13s got [%s], want [%s]", "labels:", strings.Join(got, " "), strings.Join(want, " ")))
		}
	}
	if e.EscalateTo != nil && !slices.Equal(res.EscalateTo, *e.EscalateTo) {
		diffs = append(diffs, fmt.Sprintf("%-13s got %s, want %s", "escalate_to:", orNone(strings.Join(res.EscalateTo, " -> ")), orNone(strings.Join(*e.EscalateTo, " -> "))))
	}
	for _, m := range e.Matched {
		if !slices.Contains(res.Matched, m) {
			diffs = append(diffs, fmt.Sprintf("%-13s rule %s did not match", "matched:", m))
		}
	}
	for _, m := range e.NotMatched {
		if slices.Contains(res.Matched, m) {
			diffs = append(diffs, fmt.Sprintf("%-13s rule %s matched", "not_matched:", m))
		}
	}
	for _, er := range res.Errors {
		if !slices.Contains(e.Errors, er.Rule) {
			diffs = append(diffs, fmt.Sprintf("%-13s rule %s failed: %s", "error:", er.Rule, er.Err))
		}
	}
	for _, name := range e.Errors {
		if !slices.ContainsFunc(res.Errors, func(er RuleError) bool { return er.Rule == name }) {
			diffs = append(diffs, fmt.Sprintf("%-13s rule %s did not fail", "errors:", name))
		}
	}
	return diffs
}
