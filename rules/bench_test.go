package rules

import (
	"fmt"
	"strings"
	"testing"
)

// benchRules builds a rules file of n item rules in the shapes real rules take: word
// lists over the text, state checks, partner checks, closures and label tests. Each
// rule has its own words, as in a real file, so about ten rules match benchItem; with
// manyMatch, every word-list rule also looks for "refund" and about thirty match.
func benchRules(n int, manyMatch bool) string {
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: r%d\n    scope: item\n", i)
		switch i % 5 {
		case 0:
			w := fmt.Sprintf("timeout %d", i)
			if manyMatch || i%25 == 0 {
				w = "refund"
			}
			fmt.Fprintf(&b, "    when: 'has_any(text, [\"word%da\", \"word%db\", \"two words %d\", \"%s\", \"term %d\"])'\n    set: {labels: [l%d]}\n", i, i, i, w, i, i)
		case 1:
			fmt.Fprintf(&b, "    when: 'category == \"\" and has_any(title, [\"title%d\", \"another %d\", \"launch %d\"])'\n    set: {category: billing}\n", i, i, i)
		case 2:
			b.WriteString("    when: 'partner.tier == \"design-partner\" and severity_rank < 3'\n    raise_severity: 1\n")
		case 3:
			fmt.Fprintf(&b, "    when: 'any([\"x%d\", \"y%d\", \"z%d\"], {text contains #})'\n    set: {labels: [c%d]}\n", i, i, i, i)
		case 4:
			fmt.Fprintf(&b, "    when: 'source == \"github\" and \"bug%d\" in labels and length > 50'\n    set: {severity: high}\n", i)
		}
	}
	b.WriteString("routing:\n  - when: 'category == \"billing\"'\n    owner: team-billing\n    escalate_to: [lead, head]\n  - when: 'true'\n    owner: triage\n")
	return b.String()
}

var benchItem = ItemInput{
	Source: "support-mail", Kind: "email",
	Title: "Charged twice for the March invoice after upgrading our plan",
	Body: "Hi team, after we upgraded to the Growth plan on March 3rd our company card was charged twice " +
		"(two identical payments of 499 EUR, invoice INV-2291). Could you refund the duplicate and confirm " +
		"that the April renewal will only be charged once? Our finance team needs the corrected receipt.",
	Labels:  []string{"customer"},
	Partner: Partner{ID: "northwind", Tier: "design-partner", Name: "Northwind Traders"},
}

// BenchmarkEvalItem100Rules is the target figure: 100 item rules over one item whose
// environment is already built (≤ 20 µs wanted).
func BenchmarkEvalItem100Rules(b *testing.B) {
	s := mustParse(b, benchRules(100, false))
	env := NewItemEnv(benchItem)
	b.ReportAllocs()
	for b.Loop() {
		s.EvalItem(env, nil)
	}
}

// BenchmarkEvalItem100RulesWithEnv includes building the environment (lower-casing).
func BenchmarkEvalItem100RulesWithEnv(b *testing.B) {
	s := mustParse(b, benchRules(100, false))
	b.ReportAllocs()
	for b.Loop() {
		s.EvalItem(NewItemEnv(benchItem), nil)
	}
}

// BenchmarkEvalItem100RulesManyMatches is the heavy case: about thirty of the hundred
// rules match and produce effects.
func BenchmarkEvalItem100RulesManyMatches(b *testing.B) {
	s := mustParse(b, benchRules(100, true))
	env := NewItemEnv(benchItem)
	b.ReportAllocs()
	for b.Loop() {
		s.EvalItem(env, nil)
	}
}

// BenchmarkEvalItemStarterRules runs configs/rules.yaml on one item.
func BenchmarkEvalItemStarterRules(b *testing.B) {
	s, err := Load("../configs/rules.yaml")
	if err != nil {
		b.Fatal(err)
	}
	env := NewItemEnv(benchItem)
	b.ReportAllocs()
	for b.Loop() {
		s.EvalItem(env, nil)
	}
}

// BenchmarkParse100Rules is the load (and hot reload) cost of 100 rules.
func BenchmarkParse100Rules(b *testing.B) {
	src := []byte(benchRules(100, false))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("bench.yaml", src); err != nil {
			b.Fatal(err)
		}
	}
}
