// Package normalize turns source records into comparable items and finds their
// duplicates: it cleans Markdown and Jira wiki markup into prose and code/log text,
// tokenizes identifiers, extracts strong evidence (exception signatures, stack frames,
// error codes, versions, hosts) and cross-references (Jira keys, GitHub issues,
// Message-IDs, URLs), attributes feedback to partners, and keeps an in-memory inverted
// index (BM25F over title, body, code, signature and facet fields) that a Clusterer uses
// to link or suggest duplicates with an explainable score.
//
// Everything here is pure, in-memory logic. The index can be rebuilt from a list of
// items at start-up and then fed one item at a time; persistence belongs to the store.
package normalize

import (
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"
)

// StemMode selects how tokens are conflated.
type StemMode int

// Stemming modes. StemLight strips English plural and a few inflectional endings; it
// never touches whole identifiers (tokens containing '.', '_' or camelCase humps).
const (
	StemNone StemMode = iota
	StemLight
)

// TokenizerOptions configures Tokenize.
type TokenizerOptions struct {
	// Stem selects the stemmer applied to plain words and identifier parts.
	Stem StemMode
	// KeepStopWords keeps words of the stop list (they are dropped by default).
	KeepStopWords bool
	// MinLen and MaxLen bound token length in bytes (defaults 2 and 64).
	MinLen, MaxLen int
	// NoIdentParts disables emitting the parts of camelCase/snake/dotted identifiers.
	NoIdentParts bool
	// NoWholeIdent disables emitting the whole identifier next to its parts.
	NoWholeIdent bool
}

func (o *TokenizerOptions) bounds() (int, int) {
	lo, hi := o.MinLen, o.MaxLen
	if lo <= 0 {
		lo = 2
	}
	if hi <= 0 {
		hi = 64
	}
	return lo, hi
}

// Tokenize splits text into lower-case tokens in any script: runs of Unicode letters
// and digits, where '_', '.', '$' and '-' between letters or digits join an identifier.
// A compound identifier (getBlockLocations, dfs.namenode.name.dir, snake_case) is
// emitted whole and as its parts, so both exact and partial mentions match.
func Tokenize(text string, opts TokenizerOptions) []string {
	var out []string
	TokenizeFunc(text, opts, func(tok string) { out = append(out, tok) })
	return out
}

// TokenizeFunc is Tokenize with a callback instead of an allocated slice.
func TokenizeFunc(text string, opts TokenizerOptions, emit func(string)) {
	lo, hi := opts.bounds()
	var parts []string
	i := 0
	for i < len(text) {
		r, sz := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += sz
			continue
		}
		// Scan one identifier-like run.
		start := i
		j := i
		for j < len(text) {
			r, sz := utf8.DecodeRuneInString(text[j:])
			if isWordRune(r) {
				j += sz
				continue
			}
			if isJoiner(r) && j+sz < len(text) {
				r2, _ := utf8.DecodeRuneInString(text[j+sz:])
				if isWordRune(r2) && j > start {
					j += sz
					continue
				}
			}
			break
		}
		word := text[start:j]
		i = j
		parts = splitIdent(word, parts[:0])
		compound := len(parts) > 1
		if compound && !opts.NoWholeIdent {
			w := strings.ToLower(word)
			if len(w) >= lo && len(w) <= hi && !isNoise(w) {
				emit(w)
			}
		}
		if compound && opts.NoIdentParts && !opts.NoWholeIdent {
			continue
		}
		for _, p := range parts {
			p = strings.ToLower(p)
			if len(p) < lo || len(p) > hi || isNoise(p) {
				continue
			}
			if !opts.KeepStopWords && isStopWord(p) {
				continue
			}
			if opts.Stem == StemLight {
				p = stemLight(p)
			}
			emit(p)
		}
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func isJoiner(r rune) bool { return r == '_' || r == '.' || r == '$' || r == '-' }

// splitIdent splits an identifier at joiners and at camelCase, letter/digit and
// ACRONYMWord boundaries ("HTTPServer2" -> HTTP, Server, 2).
func splitIdent(word string, parts []string) []string {
	seg := 0
	flush := func(end int) {
		if end > seg {
			parts = append(parts, word[seg:end])
		}
	}
	var prev rune = -1
	prevPos := 0
	for pos, r := range word {
		if isJoiner(r) {
			flush(pos)
			seg = pos + utf8.RuneLen(r)
			prev = -1
			continue
		}
		if prev >= 0 && pos > seg {
			switch {
			case unicode.IsLower(prev) && unicode.IsUpper(r):
				flush(pos)
				seg = pos
			case unicode.IsLetter(prev) && unicode.IsDigit(r), unicode.IsDigit(prev) && unicode.IsLetter(r):
				flush(pos)
				seg = pos
			case unicode.IsUpper(prev) && unicode.IsLower(r) && prevPos > seg:
				// "HTTPServer": the boundary is before the last capital.
				flush(prevPos)
				seg = prevPos
			}
		}
		prev = r
		prevPos = pos
	}
	flush(len(word))
	return parts
}

// isNoise reports tokens that only add vocabulary: long digit runs (ids, timestamps)
// and long hex-like strings (hashes, block and container ids).
func isNoise(t string) bool {
	digits, hex := 0, 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			hex++
		case c >= 'a' && c <= 'f':
			hex++
		}
	}
	if digits == len(t) && len(t) > 5 {
		return true
	}
	if len(t) >= 12 && hex == len(t) && digits > 0 {
		return true
	}
	// Mostly digits inside a long token (timestamps, ids with separators).
	if len(t) >= 10 && digits*10 >= len(t)*6 {
		return true
	}
	return false
}

// stemLight is a conservative English suffix stripper (plural, -ing, -ed). It leaves
// short words and non-ASCII words alone.
func stemLight(w string) string {
	n := len(w)
	if n <= 3 {
		return w
	}
	for i := 0; i < n; i++ {
		if w[i] >= 0x80 || (w[i] >= '0' && w[i] <= '9') {
			return w
		}
	}
	switch {
	case strings.HasSuffix(w, "ies") && n > 4:
		return w[:n-3] + "y"
	case strings.HasSuffix(w, "sses"):
		return w[:n-2]
	case strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes"):
		return w[:n-2]
	case strings.HasSuffix(w, "ss") || strings.HasSuffix(w, "us") || strings.HasSuffix(w, "is"):
		return w
	case strings.HasSuffix(w, "s"):
		return w[:n-1]
	case strings.HasSuffix(w, "ing") && n > 5:
		return undouble(w[:n-3])
	case strings.HasSuffix(w, "ed") && n > 4:
		return undouble(w[:n-2])
	}
	return w
}

func undouble(w string) string {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && w[n-1] != 'l' && w[n-1] != 's' && w[n-1] != 'z' {
		return w[:n-1]
	}
	return w
}

// stopWords is a small English list plus words that appear in almost every bug report
// template. It is deliberately short: BM25's idf handles the rest.
var stopWords = func() map[string]struct{} {
	words := `a about above after again against all am an and any are as at be because been
before being below between both but by can cannot could did do does doing down during each
few for from further had has have having he her here hers herself him himself his how i if
in into is it its itself just me more most my myself no nor not of off on once only or other
ought our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself
yourselves also may might must shall us via per etc eg ie get got let like see seem seems
im ive dont doesnt didnt isnt wasnt cant wont`
	m := make(map[string]struct{}, 200)
	for _, w := range strings.Fields(words) {
		m[w] = struct{}{}
	}
	return m
}()

func isStopWord(w string) bool {
	_, ok := stopWords[w]
	return ok
}

// occurrences yields the position of each occurrence of sep in s, in order
// (overlapping ones included): the anchors the linear scanners replacing regexps
// start from.
func occurrences(s, sep string) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; i <= len(s); {
			k := strings.Index(s[i:], sep)
			if k < 0 || !yield(i+k) {
				return
			}
			i += k + 1
		}
	}
}
