package mailparse

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

type lineKind uint8

const (
	lineText lineKind = iota
	lineBlank
	lineQuoted // starts with ">"
	lineHeader // "On … wrote:" and friends
)

// Reply headers, English and a few common localized forms. Each is matched against a
// header that may have been wrapped over several lines and joined with spaces.
var quoteHeaderRes = []*regexp.Regexp{
	regexp.MustCompile(`(?i)^on\s.*wrote\s*:$`),
	regexp.MustCompile(`(?i)^am\s.*schrieb.*:$`),
	regexp.MustCompile(`(?i)^le\s.*a\s+écrit\s*:$`),
	regexp.MustCompile(`(?i)^el\s.*escribió\s*:$`),
	regexp.MustCompile(`(?i)^il\s.*ha\s+scritto\s*:$`),
	regexp.MustCompile(`(?i)^op\s.*schreef.*:$`),
	regexp.MustCompile(`(?i)^em\s.*escreveu\s*:$`),
	regexp.MustCompile(`(?i)^(den|på)\s.*skrev.*:$`),
	regexp.MustCompile(`(?i)^(w dniu|dnia)\s.*napisał.*:$`),
}

// headerStarts are the words a wrapped reply header can begin with.
var headerStarts = []string{"on ", "am ", "le ", "el ", "il ", "op ", "em ", "den ", "på ", "w dniu ", "dnia "}

// quoteLeadRe matches a line that introduces a quote only when the next non-blank
// line is quoted: "John Doe wrote:", "2024年1月2日 John <j@x.jp>:".
var quoteLeadRe = regexp.MustCompile(`(?i)(wrote|writes|schrieb|a écrit|escribió|ha scritto|schreef|skrev|escreveu|napisał|написал|пишет|kirjoitti)\s*:$|<[^<>\s]+@[^<>\s]+>\s*:$`)

// Field names of Outlook-style header blocks ("From:", "Sent:", "To:") in a few
// languages; everything from such a block on is the original message.
var (
	outlookFrom = setOf("from", "von", "de", "da", "van", "från", "fra", "od", "от")
	outlookSent = setOf("sent", "date", "gesendet", "datum", "envoyé", "enviado", "inviato", "verzonden", "skickat", "sendt", "wysłane", "отправлено", "data")
	outlookTo   = setOf("to", "an", "à", "para", "a", "aan", "till", "til", "do", "кому", "subject", "betreff", "objet", "asunto", "oggetto", "onderwerp", "ämne", "emne", "temat", "тема")
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// fieldName returns the lower-cased "Name" of a "Name: value" or "*Name:* value"
// line, and the value; ok is false for lines of another shape.
func fieldName(t string) (name, value string, ok bool) {
	i := strings.IndexByte(t[:min(len(t), 40)], ':')
	if i <= 0 {
		return "", "", false
	}
	name = strings.ToLower(strings.TrimSpace(strings.Trim(t[:i], "*")))
	value = strings.TrimSpace(strings.TrimPrefix(t[i+1:], "*"))
	return name, value, name != ""
}

// Separators and signature lines.
var (
	originalMessage  = regexp.MustCompile(`(?i)^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht|originalmeddelande)\s*-{2,}$`)
	forwardedMessage = regexp.MustCompile(`(?i)forwarded message|begin forwarded|weitergeleitete nachricht|message transféré`)
	sentFromRe       = regexp.MustCompile(`(?i)^(sent|envoyé|gesendet|enviado|inviato|verzonden)\s+(from|de|von|desde|da|vanaf|met|with|via)\s+\S`)
	getOutlookRe     = regexp.MustCompile(`(?i)^get outlook for \S+$`)
)

const maxHeaderLen = 300

// VisibleText returns the part of a plain-text email a person actually wrote: the
// "On … wrote:" lines that introduce quotes (also when wrapped, and in a few other
// languages), lines quoted with ">", Outlook "From:/Sent:" blocks with what follows,
// and trailing signatures ("-- ", "__"/"--" rules, "-Name", "Sent from my …") are
// removed. Text written between quoted blocks (inline replies) is kept; the kept
// pieces are joined with a blank line. Windows line endings are accepted.
func VisibleText(text string) string {
	text = normalizeNewlines(text)
	lines := strings.Split(text, "\n")
	n := len(lines)
	kind := make([]lineKind, n)
	for i, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			kind[i] = lineBlank
		case t[0] == '>':
			kind[i] = lineQuoted
		}
	}
	hidden := make([]bool, n)

	// Reply headers, possibly wrapped over up to four lines.
	for i := 0; i < n; i++ {
		if kind[i] != lineText {
			continue
		}
		if k := headerSpan(lines, kind, i); k > 0 {
			for j := i; j < i+k; j++ {
				kind[j] = lineHeader
			}
			i += k - 1
		}
	}

	// Outlook blocks and "Original Message" separators hide the rest of the text.
	for i := 0; i < n; i++ {
		if kind[i] != lineText {
			continue
		}
		t := strings.TrimSpace(lines[i])
		if originalMessage.MatchString(t) || outlookBlockAt(lines, kind, i) && !afterForwardLine(lines, kind, i) {
			for j := i; j < n; j++ {
				hidden[j] = true
			}
			break
		}
	}
	for i := range lines {
		if kind[i] == lineQuoted || kind[i] == lineHeader {
			hidden[i] = true
		}
	}

	// Signature blocks: from a signature line to the next quote or hidden line.
	type block struct{ start, end int }
	var blocks []block
	for i := 0; i < n; i++ {
		if hidden[i] || kind[i] != lineText {
			continue
		}
		prevBlank := i > 0 && kind[i-1] == lineBlank
		if !isSignatureStart(lines[i], prevBlank) {
			continue
		}
		j := i + 1
		for j < n && !hidden[j] && kind[j] != lineQuoted && kind[j] != lineHeader {
			j++
		}
		blocks = append(blocks, block{i, j})
		i = j - 1
	}
	// A signature is hidden only when nothing visible follows it, so a "-- " in the
	// middle of an inline reply does not swallow the reply.
	seen := false
	p := n
	for b := len(blocks) - 1; b >= 0; b-- {
		bl := blocks[b]
		for p > bl.end {
			p--
			if !hidden[p] && kind[p] == lineText {
				seen = true
			}
		}
		if !seen {
			for j := bl.start; j < bl.end; j++ {
				hidden[j] = true
			}
		} else {
			seen = true
		}
		p = bl.start
	}

	// Join the visible runs.
	var parts []string
	var run []string
	flush := func() {
		s, e := 0, len(run)
		for s < e && strings.TrimSpace(run[s]) == "" {
			s++
		}
		for e > s && strings.TrimSpace(run[e-1]) == "" {
			e--
		}
		if s < e {
			parts = append(parts, strings.Join(run[s:e], "\n"))
		}
		run = run[:0]
	}
	for i, l := range lines {
		if hidden[i] {
			flush()
			continue
		}
		if kind[i] == lineBlank {
			l = ""
		}
		run = append(run, strings.TrimRightFunc(l, unicode.IsSpace))
	}
	flush()
	return strings.Join(parts, "\n\n")
}

// headerSpan returns how many lines starting at i form a reply header, 0 if none.
func headerSpan(lines []string, kind []lineKind, i int) int {
	t := strings.TrimSpace(lines[i])
	if len(t) <= maxHeaderLen && strings.HasSuffix(t, ":") && quoteLeadRe.MatchString(t) && nextIsQuoted(kind, i+1) {
		return 1
	}
	lower := strings.ToLower(t[:min(len(t), 12)])
	starts := false
	for _, s := range headerStarts {
		if strings.HasPrefix(lower, s) {
			starts = true
			break
		}
	}
	if !starts {
		return 0
	}
	joined := t
	for k := 1; k <= 4; k++ {
		if len(joined) > maxHeaderLen {
			return 0
		}
		if strings.HasSuffix(joined, ":") {
			for _, re := range quoteHeaderRes {
				if re.MatchString(joined) {
					return k
				}
			}
		}
		if i+k >= len(lines) || kind[i+k] != lineText {
			return 0
		}
		joined += " " + strings.TrimSpace(lines[i+k])
	}
	return 0
}

// afterForwardLine reports whether the nearest non-blank line above i announces a
// forwarded message, whose content is kept: forwarding is how feedback often arrives.
func afterForwardLine(lines []string, kind []lineKind, i int) bool {
	for j := i - 1; j >= 0; j-- {
		if kind[j] != lineBlank {
			return forwardedMessage.MatchString(lines[j])
		}
	}
	return false
}

func nextIsQuoted(kind []lineKind, i int) bool {
	for ; i < len(kind); i++ {
		switch kind[i] {
		case lineBlank:
			continue
		case lineQuoted:
			return true
		default:
			return false
		}
	}
	return false
}

// outlookBlockAt reports whether a "From:" line at i starts a header block with a
// "Sent:"/"Date:" line and a "To:"/"Subject:" line within the next few lines.
func outlookBlockAt(lines []string, kind []lineKind, i int) bool {
	name, value, ok := fieldName(strings.TrimSpace(lines[i]))
	if !ok || value == "" || !outlookFrom[name] {
		return false
	}
	var sent, to bool
	for j := i + 1; j < len(lines) && j <= i+6; j++ {
		if kind[j] == lineBlank {
			continue
		}
		t := strings.TrimSpace(lines[j])
		if strings.HasPrefix(t, ">") {
			t = strings.TrimSpace(strings.TrimLeft(t, "> "))
		}
		name, _, ok := fieldName(t)
		switch {
		case !ok:
		case outlookSent[name]:
			sent = true
		case outlookTo[name]:
			to = true
		}
	}
	return sent && to
}

// isSignatureStart reports whether line opens a signature. The RFC 3676 "-- "
// delimiter and long underscore rules count anywhere; the weaker forms ("--…",
// "__…", "-Name", "Sent from my …") need a blank line above them.
func isSignatureStart(line string, prevBlank bool) bool {
	r := strings.TrimRight(line, " \t")
	t := strings.TrimSpace(line)
	if r == "--" || strings.HasPrefix(t, "_______") && strings.Trim(t, "_") == "" {
		return true
	}
	if !prevBlank {
		return false
	}
	if forwardedMessage.MatchString(t) {
		return false
	}
	switch {
	case strings.HasPrefix(t, "--"), strings.HasPrefix(t, "__"):
		return true
	case len(t) > 1 && t[0] == '-':
		c, _ := utf8.DecodeRuneInString(t[1:])
		return unicode.IsLetter(c) || unicode.IsDigit(c)
	case sentFromRe.MatchString(t):
		return len(strings.Fields(t)) <= 8 && !strings.ContainsAny(t, ",;!?")
	case getOutlookRe.MatchString(t):
		return true
	}
	return false
}
