package normalize

import (
	"regexp"
	"slices"
	"strings"
)

// SigKind names a kind of strong evidence found in text.
type SigKind string

// Signature kinds.
const (
	SigException SigKind = "exception" // exception or error class, simple name
	SigFrame     SigKind = "frame"     // one of the top frames of a stack trace
	SigErrorCode SigKind = "code"      // ORA-00942, E1234, ECONNREFUSED, exit code 137
	SigHTTP      SigKind = "http"      // an HTTP status code
	SigHost      SigKind = "host"      // a host name
	SigVersion   SigKind = "version"   // a dotted version string
)

// Signature is one piece of strong evidence: errors that print the same class, frames
// or code are likely the same problem. Value is normalized (frames without line
// numbers, exceptions by simple class name, lower case where case does not matter).
type Signature struct {
	Kind  SigKind `json:"kind"`
	Value string  `json:"value"`
}

// Term is the index term for s ("kind:value").
func (s Signature) Term() string { return string(s.Kind) + ":" + s.Value }

// SignatureOptions configures ExtractSignatures.
type SignatureOptions struct {
	// TopFrames is how many frames of each stack trace count (default 3).
	TopFrames int
	// NotErrorCodePrefixes lists upper-case prefixes that are not error codes (the
	// configured Jira project keys, so HDFS-123 is not mistaken for one).
	NotErrorCodePrefixes []string
}

var (
	reJavaAt    = regexp.MustCompile(`(?m)^\s*at\s+([\w$.<>/]+)\.([\w$<>]+)\(([^)]*)\)`)
	rePyFile    = regexp.MustCompile(`(?m)^\s*File "([^"]+)", line \d+, in (\S+)`)
	rePyTrace   = regexp.MustCompile(`(?m)^Traceback \(most recent call last\):`)
	rePyExc     = regexp.MustCompile(`(?m)^([A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt)):`)
	reGoRoutine = regexp.MustCompile(`(?m)^goroutine \d+ \[[^\]]*\]:`)
	reGoFunc    = regexp.MustCompile(`(?m)^((?:[\w.-]+/)*[\w.-]+\.(?:\(\*?[\w]+\)\.)?[\w]+)\(.*\)$`)
	reGoPanic   = regexp.MustCompile(`(?m)^panic: (.+)$`)
	reExitCode  = regexp.MustCompile(`(?i)\b(exit(?:ed with)?(?: code| status)?|errno|error code|return code|rc)\s*[=:]?\s*(-?\d{1,5})\b`)
	// reVersionAt is reVersion anchored at the start, for versionLocs.
	reVersionAt = regexp.MustCompile(`^v?(\d{1,4}\.\d{1,4}(?:\.\d{1,6}){0,2}(?:[-.](?:alpha|beta|rc|snapshot|m|final|ga)[-.]?\d*)?)\b`)
	// reJavaAtRest is reJavaAt from its "at" on, anchored, for javaAtLocs.
	reJavaAtRest = regexp.MustCompile(`^at\s+([\w$.<>/]+)\.([\w$<>]+)\(([^)]*)\)`)
	reVersion    = regexp.MustCompile(`\bv?(\d{1,4}\.\d{1,4}(?:\.\d{1,6}){0,2}(?:[-.](?:alpha|beta|rc|snapshot|m|final|ga)[-.]?\d*)?)\b`)
)

// ExtractSignatures finds exception classes, top stack frames (Java, Go, Python), error
// codes, HTTP statuses, host names and version strings in raw text. Results are
// de-duplicated and in order of first appearance.
func ExtractSignatures(text string, opts SignatureOptions) []Signature {
	top := opts.TopFrames
	if top <= 0 {
		top = 3
	}
	var out []Signature
	seen := map[Signature]struct{}{}
	add := func(k SigKind, v string) {
		if v == "" {
			return
		}
		s := Signature{k, v}
		if _, ok := seen[s]; ok {
			return
		}
		seen[s] = struct{}{}
		out = append(out, s)
	}
	// Cheap substring checks gate each regular expression: most reports have no
	// trace, code or URL, and the regexps dominate analysis time otherwise.
	lower := asciiLower(text)
	// One pass over word-like runs finds exception names, error codes, hosts and
	// versions without running a regular expression over the whole text.
	var words []wordAt
	forEachWord(text, func(w string, at int) { words = append(words, wordAt{w, at}) })
	for _, w := range words {
		if name := exceptionName(w.w); name != "" {
			add(SigException, strings.ToLower(name))
		}
	}
	if strings.Contains(text, "at ") && strings.Contains(text, "(") {
		javaFrames(text, top, func(f string) { add(SigFrame, f) })
	}
	if strings.Contains(text, "Traceback (") && rePyTrace.MatchString(text) {
		fs := rePyFile.FindAllStringSubmatch(text, -1)
		// Python prints the innermost frame last: take the last frames.
		for i := len(fs) - 1; i >= 0 && i >= len(fs)-top; i-- {
			file := fs[i][1]
			if j := strings.LastIndexAny(file, `/\`); j >= 0 {
				file = file[j+1:]
			}
			add(SigFrame, strings.ToLower(file+":"+fs[i][2]))
		}
		for _, m := range rePyExc.FindAllStringSubmatch(text, -1) {
			name := m[1]
			if j := strings.LastIndexByte(name, '.'); j >= 0 {
				name = name[j+1:]
			}
			add(SigException, strings.ToLower(name))
		}
	}
	if !strings.Contains(text, "goroutine ") {
		// no Go trace
	} else if loc := reGoRoutine.FindStringIndex(text); loc != nil {
		n := 0
		for _, m := range reGoFunc.FindAllStringSubmatch(text[loc[1]:], -1) {
			if n >= top {
				break
			}
			add(SigFrame, m[1])
			n++
		}
	}
	if !strings.Contains(text, "panic: ") {
		// no Go panic
	} else if m := reGoPanic.FindStringSubmatch(text); m != nil {
		msg := m[1]
		if len(msg) > 80 {
			msg = msg[:80]
		}
		add(SigException, "panic: "+strings.ToLower(strings.TrimSpace(msg)))
	}
	skip := map[string]bool{}
	for _, p := range opts.NotErrorCodePrefixes {
		skip[strings.ToUpper(p)] = true
	}
	for _, w := range words {
		if c := errorCode(w.w, skip); c != "" {
			add(SigErrorCode, c)
		}
	}
	exits := exitCodes(text, lower)
	for _, m := range exits {
		add(SigErrorCode, strings.ToLower(strings.Fields(m[1])[0])+" "+m[2])
	}
	for _, w := range words {
		if code := httpStatus(text, lower, w); code != "" {
			add(SigHTTP, code)
		}
	}
	for _, w := range words {
		if h := hostName(w); h != "" {
			add(SigHost, h)
		}
	}
	var vlocs [][]int
	if hasDigitDotDigit(text) {
		vlocs = versionLocs(lower)
	}
	for _, loc := range vlocs {
		v := lower[loc[2]:loc[3]]
		// An IPv4 address or a line/column pair is not a version.
		if strings.Count(v, ".") >= 3 {
			continue
		}
		if loc[0] > 0 && (text[loc[0]-1] == '.' || text[loc[0]-1] == ':') {
			continue
		}
		if loc[1] < len(text) && text[loc[1]] == '.' && loc[1]+1 < len(text) && isDigitByte(text[loc[1]+1]) {
			continue
		}
		if strings.Count(v, ".") == 1 && !strings.ContainsAny(v, "abcdefghijklmnopqrstuvwxyz") {
			// "1.5" is as often a number as a version: require a version cue nearby.
			before := lower[max(0, loc[0]-12):loc[0]]
			if !strings.Contains(before, "version") && !strings.HasSuffix(before, "v") && !strings.Contains(before, "release") {
				continue
			}
		}
		add(SigVersion, v)
	}
	return out
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay valid.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return isDigitByte(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
}

func looksLikeJavaPackage(h string) bool {
	return strings.HasPrefix(h, "org.") || strings.HasPrefix(h, "com.") || strings.HasPrefix(h, "net.") || strings.HasPrefix(h, "io.")
}

// javaFrames emits the first top frames after each exception header of each Java
// trace ("Caused by:" starts a new trace), without line numbers, skipping the JDK's
// own frames (java.*, javax.*, sun.*, jdk.*) which do not tell problems apart.
func javaFrames(text string, top int, emit func(string)) {
	locs := javaAtLocs(text)
	if len(locs) == 0 {
		return
	}
	n := 0
	lastEnd := -1
	for _, l := range locs {
		// Any text between frames (an exception header, "Caused by:") starts a new trace.
		if lastEnd >= 0 && strings.TrimSpace(text[lastEnd:l[0]]) != "" {
			n = 0
		}
		lastEnd = l[1]
		cls := text[l[2]:l[3]]
		if strings.HasPrefix(cls, "java.") || strings.HasPrefix(cls, "javax.") || strings.HasPrefix(cls, "sun.") || strings.HasPrefix(cls, "jdk.") {
			continue
		}
		if n >= top {
			continue
		}
		n++
		emit(cls + "." + text[l[4]:l[5]])
	}
}

// wordStarts returns, sorted, the positions in s where one of subs starts a word
// (not preceded by a letter, digit or '_'), as reExitCode's leading \b requires.
func wordStarts(s string, subs ...string) []int {
	var out []int
	for _, x := range subs {
		for j := range occurrences(s, x) {
			if j == 0 || !isWordByte(s[j-1]) {
				out = append(out, j)
			}
		}
	}
	slices.Sort(out)
	return out
}

// exitKeywords start every reExitCode match (lower case).
var exitKeywords = []string{"exit", "errno", "error code", "return code", "rc"}

// exitCodes returns reExitCode's matches in text (lower is its ASCII lower case), as
// FindAllStringSubmatch would, but runs the pattern only on short windows that start
// at a keyword at the start of a word: on long logs the whole-text scan of this
// case-insensitive alternation cost most of a millisecond. A test checks it against
// the whole-text scan.
func exitCodes(text, lower string) [][]string {
	starts := wordStarts(lower, exitKeywords...)
	if len(starts) == 0 {
		return nil
	}
	var out [][]string
	done := 0 // matches do not overlap: none may start before the last one's end
	for _, p := range starts {
		if p < done {
			continue
		}
		// The longest keyword form ("exited with status", 18 bytes, 20 with the
		// case-folded 'ſ' that (?i) accepts for 's'), then what may follow it before
		// and in the number: blanks, '=' or ':', '-', digits; and one byte more for the
		// closing \b.
		e := min(len(text), p+24)
		for e < len(text) && (isSpaceByte(text[e]) || text[e] == '=' || text[e] == ':' || text[e] == '-' || isDigitByte(text[e])) {
			e++
		}
		e = min(len(text), e+1)
		loc := reExitCode.FindStringSubmatchIndex(text[p:e])
		if loc == nil || loc[0] != 0 {
			continue // a match starting later begins at a later keyword
		}
		done = p + loc[1]
		out = append(out, []string{text[p+loc[0] : p+loc[1]], text[p+loc[2] : p+loc[3]], text[p+loc[4] : p+loc[5]]})
	}
	return out
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// javaAtLocs returns reJavaAt's submatch index lists in text, except that a match
// starts at its "at" rather than at the line start before the blanks (javaFrames only
// reads the groups and whether the text between matches is blank). It runs the
// anchored rest of the pattern at each "at" that only blanks separate from a line
// start, instead of at every line start (a test checks it against the regexp).
func javaAtLocs(text string) [][]int {
	var out [][]int
	done := 0
	for a := range occurrences(text, "at") {
		if a < done || a+2 >= len(text) || !isRESpace(text[a+2]) {
			continue
		}
		// (?m)^\s* before it: blanks back to the start of the text or across a newline.
		j := a
		nl := false
		for j > 0 && isRESpace(text[j-1]) {
			j--
			if text[j] == '\n' {
				nl = true
			}
		}
		if j > 0 && !nl {
			continue
		}
		loc := reJavaAtRest.FindStringSubmatchIndex(text[a:])
		if loc == nil {
			continue
		}
		for x := range loc {
			loc[x] += a
		}
		out = append(out, loc)
		done = loc[1]
	}
	return out
}

// isRESpace is the regexp package's \s: [\t\n\f\r ].
func isRESpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// versionLocs returns reVersion's submatch index lists in s, as
// FindAllStringSubmatchIndex would, running the anchored pattern only where a match
// can start: a digit, or a 'v' before a digit, at the start of a word; each run sees
// the rest of the token and one byte more, all a match and its closing \b can reach
// (a test checks it against the regexp).
func versionLocs(s string) [][]int {
	var out [][]int
	done := 0
	for p := 0; p < len(s); p++ {
		c := s[p]
		if !isDigitByte(c) && !(c == 'v' && p+1 < len(s) && isDigitByte(s[p+1])) {
			continue
		}
		if p < done || (p > 0 && isWordByte(s[p-1])) {
			continue
		}
		e := p
		for e < len(s) && (isWordByte(s[e]) || s[e] == '.' || s[e] == '-') {
			e++
		}
		loc := reVersionAt.FindStringSubmatchIndex(s[p:min(len(s), e+1)])
		if loc == nil {
			continue
		}
		for x := range loc {
			if loc[x] >= 0 {
				loc[x] += p
			}
		}
		out = append(out, loc)
		done = loc[1]
		p = done - 1
	}
	return out
}
