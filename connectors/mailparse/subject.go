package mailparse

import (
	"regexp"
	"strings"
)

// replyPrefixRe matches one reply or forward marker at the start of a subject: "Re:",
// "RE :", "Fwd:", "AW:", "WG:", "SV:", "VS:", "Antw:", "Réf:", "Re[2]:", "Re(3):",
// "回复：" and similar, with ASCII or full-width colons.
var replyPrefixRe = regexp.MustCompile(`(?i)^(re|fwd?|aw|wg|sv|vs|antw|réf|ref|rif|tr|odp|ynt|enc|res|vb|回复|回覆|答复|转发|轉寄)\s*(\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]\s*`)

// tagPrefixRe matches warning tags that mail gateways put in front of subjects.
var tagPrefixRe = regexp.MustCompile(`(?i)^[\[(](external|ext|external email|external sender|caution|warning|spam|suspected spam|possible spam|suspicious|phish alert)[\])]\s*:?\s*`)

// NormalizeSubject strips any number of reply/forward prefixes ("Re: Fwd: AW:",
// "Re[2]:") and gateway tags ("[EXTERNAL]") from the front of a subject and collapses
// whitespace. Case is preserved; compare case-insensitively.
func NormalizeSubject(s string) string {
	s = collapseSpace(s)
	for i := 0; i < 100; i++ {
		next := replyPrefixRe.ReplaceAllString(s, "")
		next = tagPrefixRe.ReplaceAllString(next, "")
		next = strings.TrimSpace(next)
		if next == s {
			break
		}
		s = next
	}
	return s
}
