package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/expr-lang/expr/vm"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// Scope says what a rule or route runs on.
type Scope string

// Scopes. ScopeBoth is only valid for routing entries.
const (
	ScopeItem    Scope = "item"
	ScopeCluster Scope = "cluster"
	ScopeBoth    Scope = "both"
)

// Field names, used as keys of the decided map passed to [Set.EvalItem] and
// [Set.EvalCluster] and in [Effect.Field]. A field a human has decided is never changed
// by a rule.
const (
	FieldCategory   = "category"
	FieldSeverity   = "severity"
	FieldLabels     = "labels"
	FieldOwner      = "owner"
	FieldEscalateTo = "escalate_to"
	FieldIgnored    = "ignored"
	FieldSLA        = "sla"
	FieldAutoAccept = "auto_accept"
)

// DecidableFields lists the fields a human decision can pin.
var DecidableFields = []string{FieldCategory, FieldSeverity, FieldLabels, FieldOwner, FieldEscalateTo, FieldIgnored, FieldSLA, FieldAutoAccept}

// HashLen is the length of a rules version: that many hex digits of the sha256 of the
// rules file.
const HashLen = 12

// Set is a loaded, compiled rules file. It is immutable and safe for concurrent use.
type Set struct {
	// File is the name the set was loaded from (used in messages).
	File string
	// Hash is the rules version: the first HashLen hex digits of the sha256 of the file.
	Hash string
	// Categories lists the known categories, in file order; "other" is always present.
	Categories []feedback.Category
	// Rules lists all rules in file order.
	Rules []*Rule
	// Routes lists the routing entries in file order.
	Routes []*Route

	vms sync.Pool
}

// Rule is one compiled rule.
type Rule struct {
	// Name identifies the rule; unique in its file.
	Name string
	// Description is free text for people.
	Description string
	// Scope is ScopeItem or ScopeCluster.
	Scope Scope
	// When is the expression source.
	When string
	// Effects are what the rule does when When is true.
	Effects Effects
	// Stop ends the evaluation of further rules of the scope when this rule matches
	// (routing still runs).
	Stop bool
	// Actor is how effects are attributed: "rule:NAME@HASH".
	Actor string
	// Line and Col locate the rule in its file.
	Line, Col int

	program *vm.Program
}

// Effects are the declared effects of a rule.
type Effects struct {
	Category      feedback.Category
	Severity      feedback.Severity // set the severity exactly
	RaiseSeverity int               // raise by this many steps
	LowerSeverity int               // lower by this many steps
	Labels        []string          // labels to add
	Owner         string
	Ignore        string // non-empty: ignore, with this reason
	SLA           string // SLA policy name to use instead of the default
	AutoAccept    string // sync target name to auto-accept to
}

// Route is one compiled routing entry: when its condition holds (the first that holds
// wins), it assigns an owner and an escalation chain.
type Route struct {
	// Name identifies the route; defaults to "route-N" (1-based).
	Name string
	// Scope is ScopeItem, ScopeCluster or ScopeBoth.
	Scope Scope
	// When is the expression source.
	When string
	// Owner is assigned unless a rule already set an owner or a human decided it.
	Owner string
	// EscalateTo is the escalation chain, first step first.
	EscalateTo []string
	// Actor is how effects are attributed: "rule:NAME@HASH".
	Actor string
	// Line and Col locate the route in its file.
	Line, Col int

	programs map[Scope]*vm.Program
}

// Problem is one thing wrong with a rules or test file.
type Problem struct {
	File      string
	Line, Col int
	// Where names the rule or route ("rule billing-terms", "route billing"), or the
	// section; empty for file-level problems.
	Where string
	Msg   string
}

// String formats the problem as FILE:LINE:COL: WHERE: message.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, max(p.Col, 1))
	}
	b.WriteString(": ")
	if p.Where != "" {
		b.WriteString(p.Where)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is the error [Parse] and [Load] return for a file with problems; it lists
// all of them, in file order.
type Problems []Problem

// Error joins the problems, one a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads and parses a rules file.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse compiles rules text; name is used in problem positions. On any problem it
// returns a nil set and a [Problems] error listing all of them.
func Parse(name string, data []byte) (*Set, error) {
	s, probs := parse(name, data)
	if len(probs) > 0 {
		return nil, probs
	}
	return s, nil
}

// Lint returns every problem in rules text (none for a good file), formatted by
// [Problem.String] as FILE:LINE:COL: rule NAME: message.
func Lint(name string, data []byte) []Problem {
	_, probs := parse(name, data)
	return probs
}

// LintFile reads and lints a rules file; the error is only for a file that cannot be
// read.
func LintFile(path string) ([]Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: read %s: %w", path, err)
	}
	return Lint(path, data), nil
}

// HashOf returns the rules version of file content.
func HashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:HashLen]
}

// Actor returns the decision-log actor for a rule or route name in a rules version.
func Actor(name, hash string) string { return "rule:" + name + "@" + hash }

// HasCategory reports whether c is one of the set's categories.
func (s *Set) HasCategory(c feedback.Category) bool {
	for _, k := range s.Categories {
		if k == c {
			return true
		}
	}
	return false
}

// Rule returns the rule called name, or nil.
func (s *Set) Rule(name string) *Rule {
	for _, r := range s.Rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}

func (s *Set) getVM() *vm.VM {
	if v, ok := s.vms.Get().(*vm.VM); ok {
		return v
	}
	return &vm.VM{}
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Col < ps[j].Col
	})
}

// errorsAs is errors.As with a typed result, for brevity.
func errorsAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}

// SLAPolicies lists the SLA policy names the rules refer to (sorted, distinct), so
// that a config check can verify each one exists.
func (s *Set) SLAPolicies() []string {
	var out []string
	for _, r := range s.Rules {
		if r.Effects.SLA != "" {
			out = append(out, r.Effects.SLA)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SyncTargets lists the sync target names the rules auto-accept to (sorted, distinct),
// so that a config check can verify each one exists.
func (s *Set) SyncTargets() []string {
	var out []string
	for _, r := range s.Rules {
		if r.Effects.AutoAccept != "" {
			out = append(out, r.Effects.AutoAccept)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
