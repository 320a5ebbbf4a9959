package normalize

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The cheap checks that skip a regexp must never skip a text it would match: on
// random texts over the characters the patterns care about, a match implies the
// check passes.
func TestRegexpGuardsAreSound(t *testing.T) {
	t.Parallel()
	alphabet := []string{" ", "\n", "\t", "(", ")", "*", "_", "+", "~", "^", "-", "h", "1", "6", ".", "#", "[", "]", "|",
		"{", "}", "{{", "}}", "`", "<", ">", "a", "b", "X", "0", "9", ":", "=", "exit", "code", "errno", "error code",
		"return code", "rc", "RC", "Exit", "status", "http://x", "{code}", "{noformat}", "```", "~~~", "h1.", "## ", "](", "e",
		"/", "#", "#1", "a/b"}
	guards := []struct {
		re    *regexp.Regexp
		guard func(string) bool
	}{
		{reJiraHeading, hasJiraHeading},
		{reEmphasis, mayHaveEmphasis},
		{reMdHeading, func(s string) bool { return strings.Contains(s, "#") }},
		{reMdLink, func(s string) bool { return strings.Contains(s, "](") }},
		{reJiraLink, func(s string) bool { return strings.Contains(s, "[") }},
		{reBareLink, func(s string) bool { return strings.Contains(s, "[") }},
		{reJiraBlock, func(s string) bool { return strings.Contains(s, "{code") || strings.Contains(s, "{noformat") }},
		{reFence, func(s string) bool { return strings.Contains(s, "```") || strings.Contains(s, "~~~") }},
		{reQuotePrefix, func(s string) bool { return strings.Contains(s, ">") }},
		{reGHShort, func(s string) bool {
			found := false
			ghShortRefs(s, func([]string) { found = true })
			return strings.Contains(s, "/") && found
		}},
		{reExitCode, func(s string) bool {
			return len(wordStarts(asciiLower(s), exitKeywords...)) > 0
		}},
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	matched := make([]int, len(guards))
	for range 200000 {
		s := randomText(rnd, alphabet, 12)
		for i, g := range guards {
			if g.re.MatchString(s) {
				matched[i]++
				if !g.guard(s) {
					t.Fatalf("%s matches %q but its guard skips it", g.re, s)
				}
			}
		}
	}
	for i, n := range matched {
		if n == 0 {
			t.Errorf("%s never matched: the test does not exercise its guard", guards[i].re)
		}
	}
}

// replaceJiraBlocks must do exactly what the regexp did.
func TestReplaceJiraBlocksMatchesRegexp(t *testing.T) {
	t.Parallel()
	alphabet := []string{"{code}", "{code:java}", "{code:title=a|b}", "{noformat}", "{noformat:x}", "{", "}", "code", "noformat",
		":", "a", "b c", "\n", "{codec}", "{code:", "{no", "{{code}}", "{{", "}}"}
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		s := randomText(rnd, alphabet, 10)
		var want, got []string
		wantText := reJiraBlock.ReplaceAllStringFunc(s, func(m string) string {
			want = append(want, reJiraBlock.FindStringSubmatch(m)[2])
			return "\n"
		})
		gotText := replaceJiraBlocks(s, func(b string) { got = append(got, b) })
		if gotText != wantText || strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Fatalf("%q:\n got  %q %q\n want %q %q", s, gotText, got, wantText, want)
		}
	}
}

// ghShortRefs must find what reGHShort finds on the whole text.
func TestGHShortRefsMatchesRegexp(t *testing.T) {
	t.Parallel()
	alphabet := []string{"a", "B", "1", "#", "#2", "/", ".", "-", "_", " ", "(", "owner/repo#7", "x/y", "#12", "\n", "Call#3", "é"}
	rnd := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		s := randomText(rnd, alphabet, 14)
		var want, got []string
		for _, m := range reGHShort.FindAllStringSubmatch(s, -1) {
			want = append(want, m[1]+"/"+m[2]+"#"+m[3])
		}
		seen := map[string]bool{}
		ghShortRefs(s, func(m []string) {
			if k := m[1] + "/" + m[2] + "#" + m[3]; !seen[k] {
				seen[k] = true
				got = append(got, k)
			}
		})
		var wantU []string
		seenW := map[string]bool{}
		for _, k := range want {
			if !seenW[k] {
				seenW[k] = true
				wantU = append(wantU, k)
			}
		}
		if strings.Join(got, " ") != strings.Join(wantU, " ") {
			t.Fatalf("%q: got %q, want %q", s, got, wantU)
		}
	}
}

// stripLinePrefixes with quotePrefixLen and mdHeadingLen must do what the
// line-anchored regexps did.
func TestLinePrefixesMatchRegexps(t *testing.T) {
	t.Parallel()
	alphabet := []string{" ", "\t", "\n", ">", "> ", ">>", "#", "##", "#######", "# ", "a", "b c", "\r", "\n\n", "x#"}
	rnd := rand.New(rand.NewPCG(7, 8))
	for range 100000 {
		s := randomTextN(rnd, alphabet, rnd.IntN(12))
		if got, want := stripLinePrefixes(s, quotePrefixLen), reQuotePrefix.ReplaceAllString(s, ""); got != want {
			t.Fatalf("quote prefix of %q: got %q, want %q", s, got, want)
		}
		if got, want := stripLinePrefixes(s, mdHeadingLen), reMdHeading.ReplaceAllString(s, ""); got != want {
			t.Fatalf("heading of %q: got %q, want %q", s, got, want)
		}
	}
}

// exitCodes must find what reExitCode finds in the whole text.
func TestExitCodesMatchesRegexp(t *testing.T) {
	t.Parallel()
	alphabet := []string{"exit", "Exit", "EXITED with", " code", " status", "errno", "error code", "return code", "rc", "RC",
		" ", "  ", "\t", "\n", "=", ":", "-", "1", "23", "99999", "123456", "a", "x", "_", "(", "ſ", "exited with status", "exited with ſtatus", "exited with ſtatuſ  "}
	rnd := rand.New(rand.NewPCG(9, 10))
	for range 100000 {
		s := randomText(rnd, alphabet, 12)
		want := reExitCode.FindAllStringSubmatch(s, -1)
		got := exitCodes(s, asciiLower(s))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%q: got %q, want %q", s, got, want)
		}
	}
}

// stripEmphasis must do what reEmphasis did on the whole text.
func TestStripEmphasisMatchesRegexp(t *testing.T) {
	t.Parallel()
	alphabet := []string{" ", "\n", "\t", "(", ")", "*", "**", "_", "__", "+", "~", "^", "-", "a", "bc", ".", ",", "!", "\n\n", "*a*", "_b_", " -x- "}
	rnd := rand.New(rand.NewPCG(11, 12))
	for range 200000 {
		s := randomTextN(rnd, alphabet, rnd.IntN(14))
		if got, want := stripEmphasis(s), reEmphasis.ReplaceAllString(s, "$1$2$3"); got != want {
			t.Fatalf("%q: got %q, want %q", s, got, want)
		}
	}
}

// replaceFences must do what the reFence regexp did.
func TestReplaceFencesMatchesRegexp(t *testing.T) {
	t.Parallel()
	alphabet := []string{"```", "~~~", "````", "```go", " ", "\t", "\n", "\n\n", "a", "b c", "`", "~", "x```", "\n```\n", "  ~~~  \n"}
	rnd := rand.New(rand.NewPCG(13, 14))
	for range 200000 {
		s := randomText(rnd, alphabet, 12)
		var want, got []string
		wantText := reFence.ReplaceAllStringFunc(s, func(m string) string {
			want = append(want, reFence.FindStringSubmatch(m)[2])
			return "\n"
		})
		gotText := replaceFences(s, func(b string) { got = append(got, b) })
		if gotText != wantText || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("%q:\n got  %q %q\n want %q %q", s, gotText, got, wantText, want)
		}
	}
}

// findURLs must find what reURL finds.
func TestFindURLsMatchesRegexp(t *testing.T) {
	t.Parallel()
	alphabet := []string{"http", "https", "ftp", "://", "x", "a.b", "/", " ", "\n", "<", ">", "\"", "'", "[", "]", "|", "{", "}", "é", "\v", "s", "h", "HTTP", "_", "?u=", "\t"}
	rnd := rand.New(rand.NewPCG(15, 16))
	for range 200000 {
		s := randomText(rnd, alphabet, 12)
		if got, want := findURLs(s), reURL.FindAllString(s, -1); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("%q: got %q, want %q", s, got, want)
		}
	}
}

// randomText joins 1 to n random pieces of alphabet.
func randomText(rnd *rand.Rand, alphabet []string, n int) string {
	return randomTextN(rnd, alphabet, 1+rnd.IntN(n))
}

// randomTextN joins exactly k random pieces of alphabet.
func randomTextN(rnd *rand.Rand, alphabet []string, k int) string {
	var sb strings.Builder
	for range k {
		sb.WriteString(alphabet[rnd.IntN(len(alphabet))])
	}
	return sb.String()
}

// jiraKeys must find what reJiraKey finds.
func TestJiraKeysMatchesRegexp(t *testing.T) {
	t.Parallel()
	alphabet := []string{"HDFS", "A", "AB", "x", "_", "-", "-1", "-12", "0", "9", "12345678", " ", "é", "ABCDEFGHIJKLMNOPQRSTU", "Z9", "\n", "."}
	rnd := rand.New(rand.NewPCG(17, 18))
	for range 200000 {
		s := randomText(rnd, alphabet, 10)
		var got, want []string
		for _, m := range reJiraKey.FindAllStringSubmatch(s, -1) {
			want = append(want, m[1]+"|"+m[2])
		}
		jiraKeys(s, func(p, n string) { got = append(got, p+"|"+n) })
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%q: got %q, want %q", s, got, want)
		}
	}
}

// javaAtLocs must find reJavaAt's matches (groups and ends; starts differ only by
// the blanks before "at").
func TestJavaAtLocsMatchesRegexp(t *testing.T) {
	t.Parallel()
	alphabet := []string{"at", " at ", "\tat ", "\n", "  ", "\t", "org.x.C", ".m", "(", ")", "C.java:1", "$", "<init>", "a", "\n\tat ", "\r", "x", "/"}
	rnd := rand.New(rand.NewPCG(19, 20))
	for range 200000 {
		s := randomText(rnd, alphabet, 12)
		want := reJavaAt.FindAllStringSubmatchIndex(s, -1)
		got := javaAtLocs(s)
		if len(got) != len(want) {
			t.Fatalf("%q: got %v, want %v", s, got, want)
		}
		for i := range got {
			if got[i][1] != want[i][1] || fmt.Sprint(got[i][2:]) != fmt.Sprint(want[i][2:]) || strings.TrimSpace(s[want[i][0]:got[i][0]]) != "" {
				t.Fatalf("%q: got %v, want %v", s, got, want)
			}
		}
	}
}

// versionLocs must find what reVersion finds.
func TestVersionLocsMatchesRegexp(t *testing.T) {
	t.Parallel()
	alphabet := []string{"v", "1", "12", "12345", ".", "-", "rc", "alpha", "m", "ga", "x", " ", "_", "3.4", "0.23.1", "-snapshot", "\n", "é", "vv"}
	rnd := rand.New(rand.NewPCG(21, 22))
	for range 200000 {
		s := randomText(rnd, alphabet, 10)
		if got, want := versionLocs(s), reVersion.FindAllStringSubmatchIndex(s, -1); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%q: got %v, want %v", s, got, want)
		}
	}
}
