package rules

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// Helper functions available to rule expressions, on top of expr-lang's builtins.
//
// They lower-case their words, not the text: the fields they are meant for (text,
// title, body, author, ...) are lower-cased once per item, and scanning the text for
// upper-case letters on every call would cost as much as the search itself. The linter
// rejects raw_title and raw_body as their first argument.
//
// A literal word list is prepared once at load (see wordListPatch): lower-cased, and
// each word searched by its rarest byte, which makes a miss, the usual outcome, cheap.
var functionOptions = []expr.Option{
	expr.Function("has_any", func(p ...any) (any, error) {
		ws, err := asWords(p[1])
		if err != nil {
			return nil, err
		}
		return ws.any(p[0].(string), false), nil
	}, new(func(string, *wordList) bool), new(func(string, []string) bool), new(func(string, []any) bool)),
	expr.Function("has_all", func(p ...any) (any, error) {
		ws, err := asWords(p[1])
		if err != nil {
			return nil, err
		}
		return ws.all(p[0].(string)), nil
	}, new(func(string, *wordList) bool), new(func(string, []string) bool), new(func(string, []any) bool)),
	expr.Function("has_word", func(p ...any) (any, error) {
		ws, err := asWords(p[1])
		if err != nil {
			return nil, err
		}
		return ws.any(p[0].(string), true), nil
	}, new(func(string, *wordList) bool), new(func(string, string) bool), new(func(string, []string) bool), new(func(string, []any) bool)),
	// now() would make evaluation depend on the wall clock: replays and tests must give
	// the same answer tomorrow. Time-based behaviour belongs to triage's SLA clocks.
	expr.DisableBuiltin("now"),
}

// runOptions adds the word-list patch to functionOptions. It is only used to build the
// program that runs, after the expression compiled without it: with a patcher,
// expr v1.17.8 stops reporting unknown fields inside function arguments.
var runOptions = append(slices.Clone(functionOptions), expr.Patch(wordListPatch{}))

// FunctionDoc describes one helper function for FIELDS.md.
type FunctionDoc struct {
	Signature, Doc string
}

// Functions documents the helper functions rule expressions may call.
var Functions = []FunctionDoc{
	{"has_any(s, words)", "true if s contains at least one of words (substring match); words are lower-cased, so use it on the lower-cased fields (`text`, `title`, `body`, ...), not on `raw_title`/`raw_body`"},
	{"has_all(s, words)", "true if s contains every one of words (substring match); words are lower-cased like has_any's"},
	{"has_word(s, word) / has_word(s, words)", "true if s contains word (or any of words) as a whole word: `has_word(text, \"down\")` matches \"site is down\" but not \"download\"; words are lower-cased like has_any's"},
}

func lower(s string) string {
	// strings.ToLower returns s itself (no copy) when it has no upper-case letters,
	// which is the usual case for the words of a rule.
	return strings.ToLower(s)
}

// wordList is a prepared list of words to look for.
type wordList struct {
	words []word
}

type word struct {
	s    string
	rare int // offset of the byte of s that is least frequent in English text
}

func newWordList(ws []string) *wordList {
	l := &wordList{words: make([]word, 0, len(ws))}
	for _, w := range ws {
		w = lower(w)
		if w == "" {
			continue
		}
		rare := 0
		for i := 1; i < len(w); i++ {
			if byteFreq(w[i]) < byteFreq(w[rare]) {
				rare = i
			}
		}
		l.words = append(l.words, word{s: w, rare: rare})
	}
	return l
}

// byteFreq ranks how common a byte is in lower-cased English text (higher is more
// common); digits, punctuation and non-ASCII bytes count as rare.
func byteFreq(b byte) int {
	const order = "zqxjkvbpygfwmucldrhsnioate " // rarest first
	return strings.IndexByte(order, b) + 1
}

func asWords(v any) (*wordList, error) {
	switch ws := v.(type) {
	case *wordList:
		return ws, nil
	case string:
		return newWordList([]string{ws}), nil
	case []string:
		return newWordList(ws), nil
	case []any:
		strs := make([]string, len(ws))
		for i, x := range ws {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("word list holds %T, want strings", x)
			}
			strs[i] = s
		}
		return newWordList(strs), nil
	}
	return nil, fmt.Errorf("word list is %T, want a list of strings", v)
}

// any reports whether s contains one of the words (as whole words if whole).
func (l *wordList) any(s string, whole bool) bool {
	for _, w := range l.words {
		if w.in(s, whole) {
			return true
		}
	}
	return false
}

// all reports whether s contains every word; an empty list is never all there.
func (l *wordList) all(s string) bool {
	for _, w := range l.words {
		if !w.in(s, false) {
			return false
		}
	}
	return len(l.words) > 0
}

// in reports whether w occurs in s; with whole, only where no letter, digit or '_'
// touches it on either side.
func (w word) in(s string, whole bool) bool {
	n := len(w.s)
	last := len(s) - n + w.rare // last possible index of the rare byte
	c := w.s[w.rare]
	for i := w.rare; i <= last; {
		j := strings.IndexByte(s[i:last+1], c)
		if j < 0 {
			return false
		}
		start := i + j - w.rare
		if s[start:start+n] == w.s && (!whole || wordBoundary(s, start, start+n)) {
			return true
		}
		i += j + 1
	}
	return false
}

func wordBoundary(s string, start, end int) bool {
	before, _ := utf8.DecodeLastRuneInString(s[:start])
	after, _ := utf8.DecodeRuneInString(s[end:])
	return (start == 0 || !isWordRune(before)) && (end == len(s) || !isWordRune(after))
}

// containsWord reports whether w occurs in s as a whole word.
func containsWord(s, w string) bool { return newWordList([]string{w}).any(s, true) }

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// wordListPatch replaces a literal word list passed to a helper with a prepared
// *wordList constant.
type wordListPatch struct{}

// Visit implements ast.Visitor.
func (wordListPatch) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok || len(call.Arguments) != 2 {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || (id.Value != "has_any" && id.Value != "has_all" && id.Value != "has_word") {
		return
	}
	var ws []string
	switch arg := call.Arguments[1].(type) {
	case *ast.StringNode:
		ws = []string{arg.Value}
	case *ast.ArrayNode:
		for _, n := range arg.Nodes {
			s, ok := n.(*ast.StringNode)
			if !ok {
				return
			}
			ws = append(ws, s.Value)
		}
	default:
		return
	}
	c := &ast.ConstantNode{Value: newWordList(ws)}
	c.SetLocation(call.Arguments[1].Location())
	call.Arguments[1] = c
}
