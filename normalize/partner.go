package normalize

import (
	"strings"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// Meta keys read by Attribute.
const (
	MetaPartner     = "partner"      // set by the partner webhook endpoint to the partner id
	MetaFromDomain  = "from_domain"  // e-mail sender domain when AuthorEmail is absent
	MetaGitHubLogin = "github_login" // GitHub login when Author holds a display name
	MetaJiraAccount = "jira_account" // Jira account id when Author holds a display name
)

// Attribute names the partner a record comes from, checking in order: a webhook
// partner in Meta["partner"], the e-mail domain of AuthorEmail or Meta["from_domain"]
// (a partner domain matches itself and its sub-domains), the GitHub login, and the Jira
// account id (Meta keys first, then Author). The first configured partner that matches
// wins; feedback.UnknownPartner when none does.
func Attribute(rec feedback.Record, partners []feedback.Partner) string {
	if id := strings.TrimSpace(rec.Meta[MetaPartner]); id != "" {
		for _, p := range partners {
			if strings.EqualFold(p.ID, id) {
				return p.ID
			}
		}
	}
	domain := strings.TrimSpace(rec.Meta[MetaFromDomain])
	if at := strings.LastIndexByte(rec.AuthorEmail, '@'); at >= 0 {
		domain = rec.AuthorEmail[at+1:]
	}
	domain = strings.ToLower(strings.Trim(strings.TrimSpace(domain), ".>"))
	if domain != "" {
		for _, p := range partners {
			for _, d := range p.Domains {
				d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
				if d != "" && (domain == d || strings.HasSuffix(domain, "."+d)) {
					return p.ID
				}
			}
		}
	}
	logins := []string{rec.Meta[MetaGitHubLogin], rec.Author}
	for _, login := range logins {
		login = strings.TrimPrefix(strings.TrimSpace(login), "@")
		if login == "" {
			continue
		}
		for _, p := range partners {
			for _, l := range p.GitHubLogins {
				if strings.EqualFold(strings.TrimPrefix(l, "@"), login) {
					return p.ID
				}
			}
		}
	}
	accounts := []string{rec.Meta[MetaJiraAccount], rec.Author}
	for _, acct := range accounts {
		acct = strings.TrimSpace(acct)
		if acct == "" {
			continue
		}
		for _, p := range partners {
			for _, a := range p.JiraAccounts {
				if a == acct {
					return p.ID
				}
			}
		}
	}
	return feedback.UnknownPartner
}
