package normalize

import (
	"regexp"
	"strings"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// RefOptions configures ExtractRefs.
type RefOptions struct {
	// JiraProjects lists the Jira project keys to recognise (HDFS, FB, ...). Keys of
	// other projects are ignored: "UTF-8" or "SHA-256" look like keys too.
	JiraProjects []string
	// NoURLs drops plain URLs (GitHub issue URLs and Jira browse URLs still yield
	// their github and jira_key references).
	NoURLs bool
}

var (
	reJiraKey   = regexp.MustCompile(`\b([A-Z][A-Z0-9_]{1,19})-([1-9]\d{0,6})\b`)
	reGHURL     = regexp.MustCompile(`https?://(?:www\.)?github\.com/([\w.-]+)/([\w.-]+)/(?:issues|pull|discussions)/(\d+)`)
	reGHShort   = regexp.MustCompile(`(?:^|[^\w/.-])([A-Za-z0-9][\w.-]{0,38})/([\w.-]{1,100})#(\d+)\b`)
	reMessageID = regexp.MustCompile(`<([^<>@\s]+@[^<>@\s]+)>`)
	reURL       = regexp.MustCompile(`\b(?:https?|ftp)://[^\s<>"'\]\[|{}]+`)
)

// ExtractRefs finds cross-references in text: Jira keys of the configured projects,
// GitHub issues and pull requests (URL or owner/repo#N, as "owner/repo#N"), Message-IDs
// (without angle brackets) and URLs. Values are normalized and de-duplicated; ItemID is
// left zero for the caller to fill.
func ExtractRefs(text string, opts RefOptions) []feedback.Ref {
	var out []feedback.Ref
	seen := map[feedback.Ref]struct{}{}
	add := func(k feedback.RefKind, v string) {
		r := feedback.Ref{Kind: k, Value: v}
		if _, ok := seen[r]; ok {
			return
		}
		seen[r] = struct{}{}
		out = append(out, r)
	}
	projects := map[string]bool{}
	for _, p := range opts.JiraProjects {
		projects[strings.ToUpper(p)] = true
	}
	if len(projects) > 0 && strings.Contains(text, "-") {
		jiraKeys(text, func(project, num string) {
			if projects[project] {
				add(feedback.RefJiraKey, project+"-"+num)
			}
		})
	}
	hasURL := strings.Contains(text, "://")
	if hasURL && strings.Contains(text, "github.com/") {
		for _, m := range reGHURL.FindAllStringSubmatch(text, -1) {
			add(feedback.RefGitHub, strings.ToLower(m[1]+"/"+m[2])+"#"+m[3])
		}
	}
	if strings.Contains(text, "/") {
		ghShortRefs(text, func(m []string) { add(feedback.RefGitHub, strings.ToLower(m[1]+"/"+m[2])+"#"+m[3]) })
	}
	var mids [][]string
	if strings.Contains(text, "@") && strings.Contains(text, "<") {
		mids = reMessageID.FindAllStringSubmatch(text, -1)
	}
	for _, m := range mids {
		if strings.Contains(m[1], "://") {
			continue
		}
		add(feedback.RefMessageID, m[1])
	}
	if !opts.NoURLs && hasURL {
		for _, u := range findURLs(text) {
			u = strings.TrimRight(u, ".,;:!?)")
			if reGHURL.MatchString(u) {
				continue
			}
			add(feedback.RefURL, u)
		}
	}
	return out
}

// ghShortRefs calls fn with reGHShort's submatches, in text order, running the regexp
// only on the run of [\w./-] characters in front of each "#<digit>" (a match cannot
// extend past it) instead of the whole text: on long logs full of "Call#12" the
// whole-text scan cost milliseconds.
func ghShortRefs(text string, fn func([]string)) {
	done := 0 // end of the last match
	for i := range occurrences(text, "#") {
		if i+1 >= len(text) || text[i+1] < '0' || text[i+1] > '9' {
			continue
		}
		s := i
		for s > 0 && isRefByte(text[s-1]) {
			s--
		}
		// owner (≤ 39) + "/" + repo (≤ 100): a longer run cannot hold a match, which
		// must start at the run's first byte.
		if i-s > 140 {
			continue
		}
		if s > 0 {
			s-- // the byte before the run, for the pattern's leading (?:^|[^\w/.-])
		}
		e := i + 1
		for e < len(text) && text[e] >= '0' && text[e] <= '9' {
			e++
		}
		if e < len(text) {
			e++ // for the trailing \b
		}
		seg := text[s:e]
		for _, loc := range reGHShort.FindAllStringSubmatchIndex(seg, -1) {
			// Matches do not overlap: one that starts inside the previous match (its
			// leading byte included) is not one the whole-text scan would find.
			if s+loc[0] < done {
				continue
			}
			done = s + loc[1]
			fn([]string{seg[loc[0]:loc[1]], seg[loc[2]:loc[3]], seg[loc[4]:loc[5]], seg[loc[6]:loc[7]]})
		}
	}
}

func isRefByte(c byte) bool {
	return c == '_' || c == '.' || c == '/' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// findURLs returns reURL's matches in text, as FindAllString would, looking only at
// each "://" (a test checks it against the regexp, which cost a millisecond on long
// texts by trying every position).
func findURLs(text string) []string {
	var out []string
	done := 0
	for c := range occurrences(text, "://") {
		if c < done {
			continue
		}
		start := -1
		for _, scheme := range [...]string{"https", "http", "ftp"} {
			st := c - len(scheme)
			if st >= done && text[max(st, 0):c] == scheme && st >= 0 && (st == 0 || !isWordByte(text[st-1])) {
				start = st
				break
			}
		}
		if start < 0 {
			continue
		}
		e := c + 3
		for e < len(text) && !isURLStop(text[e]) {
			e++
		}
		if e == c+3 {
			continue // the pattern needs at least one character after "://"
		}
		out = append(out, text[start:e])
		done = e
	}
	return out
}

// isURLStop reports the bytes reURL's [^\s<>"'\]\[|{}] excludes.
func isURLStop(c byte) bool {
	switch c {
	case '\t', '\n', '\f', '\r', ' ', '<', '>', '"', '\'', ']', '[', '|', '{', '}':
		return true
	}
	return false
}

// jiraKeys calls fn with the project and number of each match of reJiraKey in text,
// in order, as FindAllStringSubmatch would, looking only at each '-' followed by a
// non-zero digit instead of running the regexp at every position (a test checks it
// against the regexp).
func jiraKeys(text string, fn func(project, num string)) {
	done := 0 // end of the last match
	for dash := range occurrences(text, "-") {
		if dash < done || dash+1 >= len(text) || text[dash+1] < '1' || text[dash+1] > '9' {
			continue
		}
		// The key is the whole word before the dash (a match starts at a word boundary).
		s := dash
		for s > 0 && isWordByte(text[s-1]) {
			s--
		}
		if n := dash - s; n < 2 || n > 20 || text[s] < 'A' || text[s] > 'Z' {
			continue
		}
		ok := true
		for _, c := range []byte(text[s+1 : dash]) {
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		e := dash + 1
		for e < len(text) && isDigitByte(text[e]) {
			e++
		}
		if e-dash-1 > 7 || (e < len(text) && isWordByte(text[e])) {
			continue
		}
		fn(text[s:dash], text[dash+1:e])
		done = e
	}
}
