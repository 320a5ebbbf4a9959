package normalize

import (
	"regexp"
	"strings"
)

// Cleaned is text split into what a person wrote (Prose) and what a machine printed or
// a person pasted (Code: code blocks, {noformat}, stack traces, log lines). Both are
// plain text without markup; the index weights Code down.
type Cleaned struct {
	Prose string
	Code  string
}

var (
	reJiraBlock    = regexp.MustCompile(`(?s)\{(code|noformat)(?::[^}]*)?\}(.*?)(?:\{(?:code|noformat)\}|\z)`)
	reFence        = regexp.MustCompile("(?s)(?:^|\n)[ \t]*(```|~~~)[^\n]*\n(.*?)(?:\n[ \t]*(?:```|~~~)[ \t]*(?:\n|\\z)|\\z)")
	reJiraTags     = regexp.MustCompile(`\{(?:quote|panel(?::[^}]*)?|color(?::[^}]*)?|noformat|code(?::[^}]*)?|html|anchor(?::[^}]*)?)\}`)
	reJiraHeading  = regexp.MustCompile(`(?m)^[ \t]*h[1-6]\.[ \t]*`)
	reMdHeading    = regexp.MustCompile(`(?m)^[ \t]*#{1,6}[ \t]+`)
	reJiraLink     = regexp.MustCompile(`\[([^\]|\n]*)\|([^\]\n]*)\]`)
	reBareLink     = regexp.MustCompile(`\[((?:https?|mailto|file):[^\]\s]*)\]`)
	reMdLink       = regexp.MustCompile(`!?\[([^\]\n]*)\]\(([^)\s]*)[^)]*\)`)
	reMonospace    = regexp.MustCompile(`\{\{([^}]*)\}\}`)
	reEmphasis     = regexp.MustCompile(`(^|[\s(])[*_+~^-]{1,2}([^\s*_][^*_\n]*?)[*_+~^-]{1,2}([\s).,:;!?]|$)`)
	reBacktick     = regexp.MustCompile("`([^`\n]+)`")
	reHTMLTag      = regexp.MustCompile(`</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>`)
	reTableBars    = regexp.MustCompile(`\|\|?`)
	reJavaFrame    = regexp.MustCompile(`^\s*(?:at\s+[\w$.<>/]+\(.*\)|\.\.\.\s*\d+\s+more|Caused by:|Suppressed:)`)
	reLogLine      = regexp.MustCompile(`^\s*(?:\[?\d{4}-\d\d-\d\d[ T]\d\d:\d\d|\d\d/\d\d/\d\d \d\d:\d\d|\d\d:\d\d:\d\d[,.]\d+|(?:INFO|WARN|WARNING|ERROR|DEBUG|TRACE|FATAL)\s*[:\[]|\$ |> \$|File "[^"]+", line \d+|goroutine \d+ \[|\t?/[\w./-]+\.go:\d+)`)
	reQuotePrefix  = regexp.MustCompile(`(?m)^[ \t]*>[ \t]?`)
	reMultiNewline = regexp.MustCompile(`\n{3,}`)
)

// Clean converts Markdown or Jira wiki markup into plain text. Code and {noformat}
// blocks, fenced or indented code, stack frames and log lines go to Code; headings,
// emphasis, links ([text|url] keeps text and url), tables and quote markers are
// stripped from Prose. Quoted text is kept as prose (it is often the reporter quoting
// an error message).
func Clean(text string) Cleaned {
	if text == "" {
		return Cleaned{}
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var code strings.Builder
	addCode := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		if code.Len() > 0 {
			code.WriteByte('\n')
		}
		code.WriteString(s)
	}
	// Each pattern runs only when the text has the characters it needs: the regexps
	// are most of the analysis time, and most texts use little markup.
	if strings.Contains(text, "{code") || strings.Contains(text, "{noformat") {
		text = replaceJiraBlocks(text, addCode)
	}
	if strings.Contains(text, "```") || strings.Contains(text, "~~~") {
		text = replaceFences(text, addCode)
	}
	if strings.Contains(text, "{") {
		text = reJiraTags.ReplaceAllString(text, " ")
	}
	if strings.Contains(text, ">") {
		text = stripLinePrefixes(text, quotePrefixLen)
	}
	// Line pass: indented code, stack traces and log lines go to Code.
	var prose strings.Builder
	lines := strings.Split(text, "\n")
	inTrace := false
	for _, ln := range lines {
		trimmed := strings.TrimSpace(ln)
		isCode := false
		switch {
		case trimmed == "":
			inTrace = false
		case reJavaFrame.MatchString(ln) || reLogLine.MatchString(ln):
			isCode, inTrace = true, true
		case inTrace && (strings.HasPrefix(ln, "\t") || strings.HasPrefix(ln, "    ")):
			isCode = true
		case strings.HasPrefix(ln, "    ") || strings.HasPrefix(ln, "\t"):
			// Indented block: treat as code only when it looks like code, not like a
			// wrapped paragraph.
			if looksLikeCode(trimmed) {
				isCode = true
			}
		}
		if isCode {
			addCode(ln)
			continue
		}
		prose.WriteString(ln)
		prose.WriteByte('\n')
	}
	p := prose.String()
	if hasJiraHeading(p) {
		p = reJiraHeading.ReplaceAllString(p, "")
	}
	if strings.Contains(p, "#") {
		p = stripLinePrefixes(p, mdHeadingLen)
	}
	if strings.Contains(p, "[") {
		if strings.Contains(p, "](") {
			p = reMdLink.ReplaceAllString(p, "$1 $2")
		}
		p = reJiraLink.ReplaceAllString(p, "$1 $2")
		p = reBareLink.ReplaceAllString(p, "$1")
	}
	if strings.Contains(p, "{{") {
		p = reMonospace.ReplaceAllString(p, "$1")
	}
	if strings.Contains(p, "`") {
		p = reBacktick.ReplaceAllString(p, "$1")
	}
	p = stripEmphasis(p) // checks each line for an opening marker itself
	if strings.Contains(p, "<") {
		p = reHTMLTag.ReplaceAllString(p, " ")
	}
	if strings.Contains(p, "|") {
		p = reTableBars.ReplaceAllString(p, " ")
	}
	if strings.Contains(p, "\n\n\n") {
		p = reMultiNewline.ReplaceAllString(p, "\n\n")
	}
	return Cleaned{Prose: strings.TrimSpace(p), Code: code.String()}
}

// looksLikeCode is a cheap heuristic for indented lines: punctuation typical of code,
// XML or shell, or a line with no spaces.
func looksLikeCode(s string) bool {
	if strings.ContainsAny(s, "{};=<>") || strings.HasSuffix(s, ")") {
		return true
	}
	return !strings.Contains(s, " ")
}

// hasJiraHeading reports whether s may hold a Jira heading ("h1." to "h6.").
func hasJiraHeading(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == 'h' && s[i+1] >= '1' && s[i+1] <= '6' && s[i+2] == '.' {
			return true
		}
	}
	return false
}

// mayHaveEmphasis reports whether s has an emphasis marker (one of *_+~^-) at the
// start or after a space or '(', followed by something: what reEmphasis needs to
// open a match.
func mayHaveEmphasis(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		switch s[i] {
		case '*', '_', '+', '~', '^', '-':
		default:
			continue
		}
		if i > 0 {
			switch s[i-1] {
			case ' ', '\t', '\n', '\r', '\f', '\v', '(':
			default:
				continue
			}
		}
		return true
	}
	return false
}

// replaceJiraBlocks replaces each Jira {code…}…{code} or {noformat}…{noformat} block
// with a newline and passes its body to fn; an unclosed block runs to the end. It
// does what reJiraBlock.ReplaceAllStringFunc would (a test checks this) in linear
// time: the regexp's lazy (?s).*? took tens of milliseconds on long logs.
func replaceJiraBlocks(text string, fn func(string)) string {
	var b strings.Builder
	done := 0 // text[:done] is written or replaced
	for pos := 0; pos < len(text); {
		k := strings.IndexByte(text[pos:], '{')
		if k < 0 {
			break
		}
		start := pos + k
		pos = start + 1
		rest := text[start+1:]
		var word string
		switch {
		case strings.HasPrefix(rest, "code"):
			word = "code"
		case strings.HasPrefix(rest, "noformat"):
			word = "noformat"
		default:
			continue
		}
		openEnd := start + 1 + len(word)
		if openEnd >= len(text) {
			continue
		}
		switch text[openEnd] {
		case '}':
			openEnd++
		case ':':
			c := strings.IndexByte(text[openEnd:], '}')
			if c < 0 {
				continue
			}
			openEnd += c + 1
		default:
			continue
		}
		bodyEnd, end := len(text), len(text)
		for q := openEnd; q < len(text); {
			c := strings.IndexByte(text[q:], '{')
			if c < 0 {
				break
			}
			q += c
			if strings.HasPrefix(text[q:], "{code}") {
				bodyEnd, end = q, q+len("{code}")
				break
			}
			if strings.HasPrefix(text[q:], "{noformat}") {
				bodyEnd, end = q, q+len("{noformat}")
				break
			}
			q++
		}
		b.WriteString(text[done:start])
		b.WriteByte('\n')
		fn(text[openEnd:bodyEnd])
		done, pos = end, end
	}
	if done == 0 {
		return text
	}
	b.WriteString(text[done:])
	return b.String()
}

// stripLinePrefixes removes, from the start of every line, the prefix whose length
// prefix returns (0: none). It replaces line-anchored regexps ((?m)^…) that cost
// milliseconds on long texts; tests check it against them.
func stripLinePrefixes(s string, prefix func(line string) int) string {
	var b strings.Builder
	changed := false
	forEachLine(s, func(start, end int) {
		line := s[start:end]
		if n := prefix(line); n > 0 {
			if !changed {
				changed = true
				b.Grow(len(s))
				b.WriteString(s[:start])
			}
			line = line[n:]
		}
		if changed {
			b.WriteString(line)
			if end < len(s) {
				b.WriteByte('\n')
			}
		}
	})
	if !changed {
		return s
	}
	return b.String()
}

// quotePrefixLen matches reQuotePrefix at the start of a line: blanks, '>', and one
// optional blank.
func quotePrefixLen(line string) int {
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i >= len(line) || line[i] != '>' {
		return 0
	}
	i++
	if i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i
}

// mdHeadingLen matches reMdHeading at the start of a line: blanks, one to six '#',
// then at least one blank (all of them taken).
func mdHeadingLen(line string) int {
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	h := i
	for i < len(line) && line[i] == '#' {
		i++
	}
	if n := i - h; n < 1 || n > 6 || i >= len(line) || (line[i] != ' ' && line[i] != '\t') {
		return 0
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i
}

// stripEmphasis is reEmphasis.ReplaceAllString(s, "$1$2$3") run only on the runs of
// lines that can hold an opening marker (mayHaveEmphasis): a match never spans lines,
// and a line without an opener cannot take part in one, so the result is the same
// (a test checks it) while long prose without emphasis costs a byte scan instead of
// a backtracking regexp at every position.
func stripEmphasis(s string) string {
	var b strings.Builder
	done := 0        // s[:done] is written to b
	groupStart := -1 // start of the current run of candidate lines
	flush := func(end int) {
		if groupStart < 0 {
			return
		}
		b.WriteString(s[done:groupStart])
		b.WriteString(reEmphasis.ReplaceAllString(s[groupStart:end], "$1$2$3"))
		done, groupStart = end, -1
	}
	forEachLine(s, func(start, end int) {
		if mayHaveEmphasis(s[start:end]) {
			if groupStart < 0 {
				groupStart = start
			}
		} else {
			flush(max(start-1, 0))
		}
	})
	flush(len(s))
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// replaceFences replaces each Markdown fenced block (``` or ~~~ at the start of a
// line, up to a closing fence line or the end) and the newline before it with a
// newline, passing the body to fn. It does what reFence.ReplaceAllStringFunc would
// (a test checks this) in linear time: the regexp's lazy (?s).*? took milliseconds on
// long texts.
func replaceFences(text string, fn func(string)) string {
	opener := func(q int) int { // the body's start if a fence line opens at q, else -1
		for q < len(text) && (text[q] == ' ' || text[q] == '\t') {
			q++
		}
		if !strings.HasPrefix(text[q:], "```") && !strings.HasPrefix(text[q:], "~~~") {
			return -1
		}
		nl := strings.IndexByte(text[q+3:], '\n')
		if nl < 0 {
			return -1
		}
		return q + 3 + nl + 1
	}
	closer := func(q int) (int, bool) { // the match's end if a closing fence line starts at the '\n' at q
		r := q + 1
		for r < len(text) && (text[r] == ' ' || text[r] == '\t') {
			r++
		}
		if !strings.HasPrefix(text[r:], "```") && !strings.HasPrefix(text[r:], "~~~") {
			return 0, false
		}
		r += 3
		for r < len(text) && (text[r] == ' ' || text[r] == '\t') {
			r++
		}
		switch {
		case r == len(text):
			return r, true
		case text[r] == '\n':
			return r + 1, true
		}
		return 0, false
	}
	var b strings.Builder
	done := 0
	for p := 0; p < len(text); p++ {
		body := -1
		if p == 0 {
			body = opener(0)
		}
		if body < 0 && text[p] == '\n' {
			body = opener(p + 1)
		}
		if body < 0 {
			continue
		}
		bodyEnd, end := len(text), len(text)
		for q := body; q < len(text); q++ {
			k := strings.IndexByte(text[q:], '\n')
			if k < 0 {
				break
			}
			q += k
			if e, ok := closer(q); ok {
				bodyEnd, end = q, e
				break
			}
		}
		b.WriteString(text[done:p])
		b.WriteByte('\n')
		fn(text[body:bodyEnd])
		done = end
		p = end - 1
	}
	if done == 0 && b.Len() == 0 {
		return text
	}
	b.WriteString(text[done:])
	return b.String()
}

// forEachLine calls fn with the bounds of every line of s (without its newline),
// including the empty one after a final newline.
func forEachLine(s string, fn func(start, end int)) {
	for start := 0; start <= len(s); {
		end := strings.IndexByte(s[start:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		fn(start, end)
		start = end + 1
	}
}
