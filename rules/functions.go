package rules

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr"
)

// Helper functions available to rule expressions, on top of expr-lang's builtins. All
// of them match case-insensitively. A literal word list is folded into a constant by
// expr's optimizer at load time, so a call costs one scan of the text per word and no
// allocation. (A patcher that pre-lowered the words was tried and dropped: with a
// patcher, expr v1.17.8 stops reporting unknown fields inside function arguments.)
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
