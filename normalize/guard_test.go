package normalize

import (
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
		"return code", "rc", "RC", "Exit", "status", "http://x", "{code}", "{noformat}", "```", "~~~", "h1.", "## ", "](", "e"}
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
		{reExitCode, func(s string) bool {
			return hasWordStart(asciiLower(s), "exit", "errno", "error code", "return code", "rc")
		}},
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	matched := make([]int, len(guards))
	for range 200000 {
		var b strings.Builder
		for range 1 + rnd.IntN(12) {
			b.WriteString(alphabet[rnd.IntN(len(alphabet))])
		}
		s := b.String()
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
