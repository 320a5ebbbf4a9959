package rules

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// Helper functions available to rule expressions, on top of expr-lang's builtins. All
// of them match case-insensitively. When the word list is a literal (the usual case),
// it is lower-cased once at load time and passed as a constant, so a call costs one
// scan of the text per word and no allocation.
var functionOptions = []expr.Option{
	expr.Function("has_any", func(p ...any) (any, error) {
		return matchWords(p[0].(string), p[1], false, strings.Contains)
	}, new(func(string, []string) bool), new(func(string, []any) bool)),
	expr.Function("has_all", func(p ...any) (any, error) {
		return matchWords(p[0].(string), p[1], true, strings.Contains)
	}, new(func(string, []string) bool), new(func(string, []any) bool)),
	expr.Function("has_word", func(p ...any) (any, error) {
		if w, ok := p[1].(string); ok {
			return containsWord(lower(p[0].(string)), lower(w)), nil
		}
		return matchWords(p[0].(string), p[1], false, containsWord)
	}, new(func(string, string) bool), new(func(string, []string) bool), new(func(string, []any) bool)),
	expr.Patch(constWords{}),
	// now() would make evaluation depend on the wall clock: replays and tests must give
	// the same answer tomorrow. Time-based behaviour belongs to triage's SLA clocks.
	expr.DisableBuiltin("now"),
}

// FunctionDoc describes one helper function for FIELDS.md.
type FunctionDoc struct {
	Signature, Doc string
}

// Functions documents the helper functions rule expressions may call.
var Functions = []FunctionDoc{
	{"has_any(s, words)", "true if s contains at least one of words (substring match, case-insensitive)"},
	{"has_all(s, words)", "true if s contains every one of words (substring match, case-insensitive)"},
	{"has_word(s, word) / has_word(s, words)", "true if s contains word (or any of words) as a whole word: `has_word(text, \"down\")` matches \"site is down\" but not \"download\""},
}

func lower(s string) string {
	// strings.ToLower returns s itself (no copy) when it has no upper-case letters,
	// which is the case for the env's pre-lower-cased fields.
	return strings.ToLower(s)
}

func matchWords(s string, words any, all bool, match func(s, w string) bool) (any, error) {
	s = lower(s)
	switch ws := words.(type) {
	case []string:
		for _, w := range ws {
			if match(s, lower(w)) != all {
				return !all, nil
			}
		}
	case []any:
		for _, v := range ws {
			w, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("word list holds %T, want strings", v)
			}
			if match(s, lower(w)) != all {
				return !all, nil
			}
		}
	default:
		return nil, fmt.Errorf("word list is %T, want a list of strings", words)
	}
	return all, nil
}

// containsWord reports whether w occurs in s with no letter or digit right before or
// after it.
func containsWord(s, w string) bool {
	if w == "" {
		return false
	}
	for off := 0; off <= len(s)-len(w); {
		i := strings.Index(s[off:], w)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(w)
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if (i == 0 || !isWordRune(before)) && (end == len(s) || !isWordRune(after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		off = i + size
	}
	return false
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// constWords turns a literal word list passed to a helper into a lower-cased []string
// constant, so it is built once at load instead of on every evaluation.
type constWords struct{}

// Visit implements ast.Visitor.
func (constWords) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok || len(call.Arguments) != 2 {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || (id.Value != "has_any" && id.Value != "has_all" && id.Value != "has_word") {
		return
	}
	arr, ok := call.Arguments[1].(*ast.ArrayNode)
	if !ok {
		return
	}
	words := make([]string, 0, len(arr.Nodes))
	for _, n := range arr.Nodes {
		s, ok := n.(*ast.StringNode)
		if !ok {
			return
		}
		words = append(words, strings.ToLower(s.Value))
	}
	c := &ast.ConstantNode{Value: words}
	c.SetLocation(arr.Location())
	call.Arguments[1] = c
}
