package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	yast "github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// compileOptions returns the expr options for a scope: the typed environment, a
// boolean result if asBool, and the helper functions (with the word-list patch if
// forRun).
func compileOptions(scope Scope, asBool, forRun bool) []expr.Option {
	var env any = ItemEnv{}
	if scope == ScopeCluster {
		env = ClusterEnv{}
	}
	if forRun { // see envmap.go
		env = itemShape
		if scope == ScopeCluster {
			env = clusterShape
		}
	}
	opts := []expr.Option{expr.Env(env)}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	if forRun {
		return slices.Concat(opts, runOptions)
	}
	return slices.Concat(opts, functionOptions)
}

var (
	checkOptions = map[Scope][]expr.Option{
		ScopeItem: compileOptions(ScopeItem, true, false), ScopeCluster: compileOptions(ScopeCluster, true, false),
	}
	programOptions = map[Scope][]expr.Option{
		ScopeItem: compileOptions(ScopeItem, true, true), ScopeCluster: compileOptions(ScopeCluster, true, true),
	}
)

// compile compiles a when expression for scope, reporting problems at their position
// in the YAML file. hint is appended to compile errors.
func (l *loader) compile(src string, scope Scope, n yast.Node, where, hint string) *vm.Program {
	// Check without the word-list patch first: with a patcher, expr misses unknown
	// fields inside function arguments. Then build the program that runs with it.
	_, err := expr.Compile(src, checkOptions[scope]...)
	var prog *vm.Program
	if err == nil {
		prog, err = expr.Compile(src, programOptions[scope]...)
	}
	if err != nil {
		from := 0
		msg := err.Error()
		if fe, ok := errorsAs[*file.Error](err); ok {
			from, msg = fe.From, fe.Message
		}
		line, col := exprPos(n, from)
		l.add(line, col, where, "when: %s%s%s", explainCompileError(msg, scope), hint, l.commentHint(n))
		return nil
	}
	for _, f := range l.lintExpr(src, scope) {
		line, col := exprPos(n, f.from)
		l.add(line, col, where, "when: %s", f.msg)
	}
	return prog
}

// commentHint explains the usual cause of a truncated expression: in a plain YAML
// scalar, " #" starts a comment.
func (l *loader) commentHint(n yast.Node) string {
	tk := unwrap(n).GetToken()
	if tk == nil || tk.Position == nil || tk.Type != token.StringType {
		return ""
	}
	if i := tk.Position.Line - 1; i >= 0 && i < len(l.lines) && strings.Contains(l.lines[i], " #") {
		return " (in YAML, \" #\" starts a comment and cut the expression short: quote it, or use when: >-)"
	}
	return ""
}

var (
	unknownNameRe  = regexp.MustCompile(`^unknown name (\S+)`)
	noFieldRe      = regexp.MustCompile(`^type (\S+) has no field (\S+)`)
	expectedBoolRe = regexp.MustCompile(`^expected bool, but got (\S+)`)
)

// explainCompileError rewrites expr's messages in the words of a rules author.
func explainCompileError(msg string, scope Scope) string {
	if m := unknownNameRe.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unknown field %s in %s scope%s", m[1], scope, suggest(m[1], fieldNames(scope)))
	}
	if m := noFieldRe.FindStringSubmatch(msg); m != nil {
		if m[1] == "rules.Partner" {
			return fmt.Sprintf("unknown field partner.%s%s", m[2], suggest(m[2], []string{"id", "tier", "name"}))
		}
		return fmt.Sprintf("unknown field %s", m[2])
	}
	if m := expectedBoolRe.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("must be a boolean expression, but it gives %s", m[1])
	}
	return msg
}

func fieldNames(scope Scope) []string {
	var out []string
	for _, f := range Fields {
		if f.Scope == string(scope) || f.Scope == "both" {
			out = append(out, strings.SplitN(f.Name, ".", 2)[0])
		}
	}
	for _, f := range Functions {
		out = append(out, strings.SplitN(f.Signature, "(", 2)[0])
	}
	return out
}

// suggest returns ` (did you mean X?)` for the closest candidate, if close enough.
func suggest(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return " (see rules/FIELDS.md)"
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// lowerFields are environment fields whose values are always lower-case.
var lowerFields = map[string]bool{
	"title": true, "body": true, "text": true, "author": true, "author_email": true,
	"author_domain": true, "status": true, "kind": true, "labels": true, "partner.tier": true,
	"partner_tiers": true, "categories": true, "category": true, "severity": true, "max_severity": true,
}

type finding struct {
	from int
	msg  string
}

// lintExpr looks for literals that can never match: an unknown category or severity,
// or an upper-case literal compared with a lower-cased field.
func (l *loader) lintExpr(src string, scope Scope) []finding {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	v := &literalLinter{cats: l.set.Categories}
	ast.Walk(&tree.Node, v)
	return v.found
}

type literalLinter struct {
	cats  []feedback.Category
	found []finding
}

func (v *literalLinter) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "==", "!=", "contains", "startsWith", "endsWith":
			v.compare(n.Left, n.Right)
			v.compare(n.Right, n.Left)
		case "in":
			if arr, ok := n.Right.(*ast.ArrayNode); ok {
				for _, el := range arr.Nodes {
					v.compare(n.Left, el)
				}
			} else {
				v.compare(n.Right, n.Left)
			}
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if ok && strings.HasPrefix(id.Value, "has_") && len(n.Arguments) > 0 {
			if f := fieldName(n.Arguments[0]); f == "raw_title" || f == "raw_body" {
				v.found = append(v.found, finding{n.Arguments[0].Location().From,
					fmt.Sprintf("%s lower-cases its words, so on %s it misses upper-case text; use %s", id.Value, f, strings.TrimPrefix(f, "raw_"))})
			}
		}
	case *ast.BuiltinNode:
		// any(["a", "B"], {text contains #}) and friends.
		if len(n.Arguments) != 2 {
			return
		}
		arr, ok := n.Arguments[0].(*ast.ArrayNode)
		if !ok {
			return
		}
		field := pointerComparedWith(n.Arguments[1])
		if field == nil {
			return
		}
		for _, el := range arr.Nodes {
			v.compare(field, el)
		}
	}
}

// pointerComparedWith finds `FIELD op #` inside a predicate and returns FIELD.
func pointerComparedWith(pred ast.Node) ast.Node {
	var field ast.Node
	ast.Walk(&pred, visitorFunc(func(node *ast.Node) {
		b, ok := (*node).(*ast.BinaryNode)
		if !ok {
			return
		}
		if _, ok := b.Right.(*ast.PointerNode); ok && fieldName(b.Left) != "" {
			field = b.Left
		}
	}))
	return field
}

type visitorFunc func(*ast.Node)

func (f visitorFunc) Visit(n *ast.Node) { f(n) }

func fieldName(n ast.Node) string {
	switch v := n.(type) {
	case *ast.IdentifierNode:
		return v.Value
	case *ast.MemberNode:
		id, ok1 := v.Node.(*ast.IdentifierNode)
		prop, ok2 := v.Property.(*ast.StringNode)
		if ok1 && ok2 {
			return id.Value + "." + prop.Value
		}
	}
	return ""
}

func (v *literalLinter) compare(fieldNode, litNode ast.Node) {
	name := fieldName(fieldNode)
	lit, ok := litNode.(*ast.StringNode)
	if name == "" || !ok {
		return
	}
	from := lit.Location().From
	switch name {
	case "category", "categories":
		if lit.Value != "" && !slices.Contains(v.cats, feedback.Category(lit.Value)) {
			cats := make([]string, len(v.cats))
			for i, c := range v.cats {
				cats[i] = string(c)
			}
			v.found = append(v.found, finding{from, fmt.Sprintf("unknown category %q (known: %s)", lit.Value, strings.Join(cats, ", "))})
			return
		}
	case "severity", "max_severity":
		if lit.Value != "" && !feedback.Severity(lit.Value).Valid() {
			v.found = append(v.found, finding{from, fmt.Sprintf("unknown severity %q (want low, medium, high or critical)", lit.Value)})
			return
		}
	}
	if lowerFields[name] && strings.IndexFunc(lit.Value, unicode.IsUpper) >= 0 {
		v.found = append(v.found, finding{from, fmt.Sprintf("%s is lower-case, so %q never matches; write it in lower case", name, lit.Value)})
	}
}
