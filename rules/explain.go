package rules

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Status is what happened to one rule or route in an explanation.
type Status string

// Statuses.
const (
	StatusMatch   Status = "match"
	StatusNoMatch Status = "no match"
	StatusError   Status = "error"
	StatusSkipped Status = "skipped"
)

// Term is one sub-expression of a condition and its value: the operands of the
// top-level and/or/not, down to the first expression that is not one of those.
type Term struct {
	// Depth is the nesting level below the whole condition (0 for the whole).
	Depth int
	// Expr is the sub-expression's source, as expr prints it.
	Expr string
	// Value is its value, or an error text.
	Value string
	// Operands shows the values of a comparison's non-literal sides, e.g.
	// "partners_count = 2".
	Operands []string
}

// Trace is the explanation of one rule or route.
type Trace struct {
	Kind   string // "rule" or "route"
	Name   string
	When   string
	Line   int
	Status Status
	// Reason says why a rule was skipped or failed, or notes how a route applied.
	Reason string
	// Terms break the condition down (empty for skipped rules).
	Terms []Term
	// Effects and Suppressed are what a matching rule did or would have done.
	Effects, Suppressed []Effect
}

// Explanation says, for one subject, what every rule and route of the scope did and
// why, and what came out.
type Explanation struct {
	File   string
	Hash   string
	Scope  Scope
	Traces []Trace
	Result Result
}

// ExplainItem evaluates one item like [Set.EvalItem] and records, for every item rule
// and route, whether it matched and the values of its condition's parts.
func (s *Set) ExplainItem(env ItemEnv, decided map[string]bool) Explanation {
	resetUndecided(&env.State, decided, "", env.State.Category, false)
	tr := &tracer{scope: ScopeItem}
	res := s.eval(&env, &env.State, env.toMap(), ScopeItem, decided, tr)
	return Explanation{File: s.File, Hash: s.Hash, Scope: ScopeItem, Traces: tr.rules, Result: res}
}

// ExplainCluster is [Set.ExplainItem] for a cluster.
func (s *Set) ExplainCluster(env ClusterEnv, decided map[string]bool) Explanation {
	resetUndecided(&env.State, decided, env.MaxSeverity, env.State.Category, true)
	tr := &tracer{scope: ScopeCluster}
	res := s.eval(&env, &env.State, env.toMap(), ScopeCluster, decided, tr)
	return Explanation{File: s.File, Hash: s.Hash, Scope: ScopeCluster, Traces: tr.rules, Result: res}
}

// explainTerms breaks a condition into its logical parts and evaluates each against
// env as it is when the rule runs. Every part is evaluated, even where the real
// evaluation short-circuits, so the reader sees all the reasons at once.
func explainTerms(src string, scope Scope, env any) []Term {
	tree, err := parser.Parse(src)
	if err != nil {
		return []Term{{Expr: src, Value: "parse error: " + err.Error()}}
	}
	var out []Term
	var walk func(n ast.Node, depth int)
	walk = func(n ast.Node, depth int) {
		t := Term{Depth: depth, Expr: n.String()}
		t.Value = evalString(t.Expr, scope, env)
		switch v := n.(type) {
		case *ast.BinaryNode:
			switch v.Operator {
			case "and", "&&", "or", "||":
				out = append(out, t)
				walk(v.Left, depth+1)
				walk(v.Right, depth+1)
				return
			case "==", "!=", "<", "<=", ">", ">=", "in", "contains", "startsWith", "endsWith", "matches":
				for _, side := range []ast.Node{v.Left, v.Right} {
					if isLiteral(side) {
						continue
					}
					t.Operands = append(t.Operands, side.String()+" = "+evalString(side.String(), scope, env))
				}
			}
		case *ast.CallNode:
			if found, ok := wordsFound(v, scope, env); ok {
				t.Operands = append(t.Operands, found)
			}
		case *ast.UnaryNode:
			if v.Operator == "not" || v.Operator == "!" {
				out = append(out, t)
				walk(v.Node, depth+1)
				return
			}
		}
		out = append(out, t)
	}
	walk(tree.Node, 0)
	return out
}

func isLiteral(n ast.Node) bool {
	switch v := n.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode, *ast.ConstantNode:
		return true
	case *ast.ArrayNode:
		for _, e := range v.Nodes {
			if !isLiteral(e) {
				return false
			}
		}
		return true
	}
	return false
}

// wordsFound says which words of a has_any/has_all/has_word call with literal words
// occur in its text.
func wordsFound(call *ast.CallNode, scope Scope, env any) (string, bool) {
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || len(call.Arguments) != 2 || (id.Value != "has_any" && id.Value != "has_all" && id.Value != "has_word") {
		return "", false
	}
	var words []string
	switch w := call.Arguments[1].(type) {
	case *ast.StringNode:
		words = []string{w.Value}
	case *ast.ArrayNode:
		for _, n := range w.Nodes {
			s, ok := n.(*ast.StringNode)
			if !ok {
				return "", false
			}
			words = append(words, s.Value)
		}
	default:
		return "", false
	}
	v, err := evalValue(call.Arguments[0].String(), scope, env)
	text, ok := v.(string)
	if err != nil || !ok {
		return "", false
	}
	text = lower(text)
	match := strings.Contains
	if id.Value == "has_word" {
		match = containsWord
	}
	var found []string
	for _, w := range words {
		if match(text, lower(w)) {
			found = append(found, fmt.Sprintf("%q", w))
		}
	}
	if len(found) == 0 {
		return "found none of the words", true
	}
	return "found " + strings.Join(found, ", "), true
}

// evalString compiles and runs one sub-expression for an explanation.
func evalString(src string, scope Scope, env any) string {
	out, err := evalValue(src, scope, env)
	if err != nil {
		return err.Error()
	}
	return formatValue(out)
}

func evalValue(src string, scope Scope, env any) (any, error) {
	prog, err := expr.Compile(src, compileOptions(scope, false, false)...)
	if err != nil {
		return nil, fmt.Errorf("cannot evaluate: %s", firstLine(err.Error()))
	}
	out, err := expr.Run(prog, env)
	if err != nil {
		return nil, fmt.Errorf("error: %s", firstLine(err.Error()))
	}
	return out, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

const (
	maxValueLen = 80  // longest value shown; longer ones end in "..."
	maxExprLen  = 100 // longest sub-expression shown
)

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-3]) + "..."
	}
	return s
}

func formatValue(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = fmt.Sprintf("%q", x)
	case time.Time:
		s = x.Format(time.RFC3339)
	case float64:
		s = strconv.FormatFloat(x, 'f', 2, 64)
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	case nil:
		s = "nil"
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Slice {
			parts := make([]string, rv.Len())
			for i := range parts {
				parts[i] = formatValue(rv.Index(i).Interface())
			}
			s = "[" + strings.Join(parts, ", ") + "]"
		} else {
			s = fmt.Sprint(v)
		}
	}
	return shorten(s, maxValueLen)
}

// String renders the explanation for a terminal (the `rules explain` command).
func (e Explanation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rules %s (%s), %s scope\n", e.Hash, e.File, e.Scope)
	section := ""
	for _, t := range e.Traces {
		if t.Kind != section {
			section = t.Kind
			if section == "route" {
				b.WriteString("\nrouting:\n")
			} else {
				b.WriteString("\nrules:\n")
			}
		}
		fmt.Fprintf(&b, "  [%s] %s %s (line %d)\n", t.Status, t.Kind, t.Name, t.Line)
		if t.Reason != "" {
			fmt.Fprintf(&b, "      %s\n", t.Reason)
		}
		if t.Status == StatusSkipped {
			continue
		}
		for _, term := range t.Terms {
			fmt.Fprintf(&b, "      %s%s => %s", strings.Repeat("  ", term.Depth), shorten(term.Expr, maxExprLen), term.Value)
			if len(term.Operands) > 0 {
				fmt.Fprintf(&b, "   (%s)", strings.Join(term.Operands, "; "))
			}
			b.WriteString("\n")
		}
		for _, ef := range t.Effects {
			fmt.Fprintf(&b, "      -> %s\n", ef)
		}
		for _, ef := range t.Suppressed {
			fmt.Fprintf(&b, "      -> suppressed (decided by a human): %s\n", ef)
		}
	}
	r := e.Result
	b.WriteString("\nresult:\n")
	fmt.Fprintf(&b, "  category:    %s\n", orNone(string(r.Category)))
	fmt.Fprintf(&b, "  severity:    %s\n", orNone(string(r.Severity)))
	fmt.Fprintf(&b, "  labels:      %s\n", orNone(strings.Join(r.Labels, ", ")))
	fmt.Fprintf(&b, "  owner:       %s\n", orNone(r.Owner))
	fmt.Fprintf(&b, "  escalate_to: %s\n", orNone(strings.Join(r.EscalateTo, " -> ")))
	if r.Ignored {
		fmt.Fprintf(&b, "  ignored:     yes (%s)\n", r.IgnoreReason)
	} else {
		b.WriteString("  ignored:     no\n")
	}
	fmt.Fprintf(&b, "  sla:         %s\n", orNone(r.SLA))
	fmt.Fprintf(&b, "  auto_accept: %s\n", orNone(r.AutoAccept))
	for _, er := range r.Errors {
		fmt.Fprintf(&b, "  error in %s: %s\n", er.Rule, er.Err)
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
