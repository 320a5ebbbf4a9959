package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// GHUser is the user object of a GitHub issue.
type GHUser struct {
	Login     string `json:"login"`
	ID        int64  `json:"id"`
	NodeID    string `json:"node_id"`
	AvatarURL string `json:"avatar_url"`
	URL       string `json:"url"`
	HTMLURL   string `json:"html_url"`
	Type      string `json:"type"`
	SiteAdmin bool   `json:"site_admin"`
}

// GHLabel is a label of a GitHub issue.
type GHLabel struct {
	ID          int64  `json:"id"`
	NodeID      string `json:"node_id"`
	URL         string `json:"url"`
	Name        string `json:"name"`
	Color       string `json:"color"`
	Default     bool   `json:"default"`
	Description string `json:"description"`
}

// GHPull is the pull_request key that marks a pull request in an issues listing.
type GHPull struct {
	URL      string  `json:"url"`
	HTMLURL  string  `json:"html_url"`
	DiffURL  string  `json:"diff_url"`
	PatchURL string  `json:"patch_url"`
	MergedAt *string `json:"merged_at"`
}

// GHIssue is an issue as GET /repos/{owner}/{repo}/issues returns it.
type GHIssue struct {
	URL               string    `json:"url"`
	RepositoryURL     string    `json:"repository_url"`
	LabelsURL         string    `json:"labels_url"`
	CommentsURL       string    `json:"comments_url"`
	EventsURL         string    `json:"events_url"`
	HTMLURL           string    `json:"html_url"`
	ID                int64     `json:"id"`
	NodeID            string    `json:"node_id"`
	Number            int       `json:"number"`
	Title             string    `json:"title"`
	User              GHUser    `json:"user"`
	Labels            []GHLabel `json:"labels"`
	State             string    `json:"state"`
	Locked            bool      `json:"locked"`
	Assignee          *GHUser   `json:"assignee"`
	Assignees         []GHUser  `json:"assignees"`
	Milestone         any       `json:"milestone"`
	Comments          int       `json:"comments"`
	CreatedAt         string    `json:"created_at"`
	UpdatedAt         string    `json:"updated_at"`
	ClosedAt          *string   `json:"closed_at"`
	AuthorAssociation string    `json:"author_association"`
	ActiveLockReason  any       `json:"active_lock_reason"`
	Draft             *bool     `json:"draft,omitempty"`
	PullRequest       *GHPull   `json:"pull_request,omitempty"`
	Body              string    `json:"body"`
	StateReason       *string   `json:"state_reason"`
}

const ghAPI = "https://api.github.com"

func ghUser(p Person) GHUser {
	typ, prefix := "User", "MDQ6VXNlcj"
	if strings.HasSuffix(p.GitHub, "[bot]") {
		typ, prefix = "Bot", "MDM6Qm90"
	}
	login := p.GitHub
	return GHUser{Login: login, ID: p.GHID, NodeID: prefix + base64.RawStdEncoding.EncodeToString([]byte(fmt.Sprint(p.GHID))),
		AvatarURL: fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", p.GHID),
		URL:       ghAPI + "/users/" + strings.ReplaceAll(login, "[bot]", "%5Bbot%5D"),
		HTMLURL:   "https://github.com/" + strings.ReplaceAll(login, "[bot]", ""), Type: typ}
}

var labelColors = map[string]string{"bug": "d73a4a", "question": "d876e3", "enhancement": "a2eeef", "dependencies": "0366d6"}

func ghLabel(name string) GHLabel {
	h := hash64("label", name)
	color, ok := labelColors[name]
	if !ok {
		color = fmt.Sprintf("%06x", h&0xffffff)
	}
	return GHLabel{ID: 6100000000 + int64(h%99999999), NodeID: "LA_kwDOMq3Fvs8AAAAB" + b62(h, 7), URL: fmt.Sprintf("%s/repos/%s/labels/%s", ghAPI, Repo, strings.ReplaceAll(name, "/", "%2F")),
		Name: name, Color: color, Default: name == "bug" || name == "question" || name == "enhancement"}
}

func nodeID(prefix string, id int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	return prefix + base64.RawURLEncoding.EncodeToString(b[2:])
}

// markdown renders blocks as GitHub Markdown.
func markdown(blocks []string) string {
	parts := make([]string, 0, len(blocks))
	for _, b := range blocks {
		if blockKind(b) == "code" {
			lines := codeLines(b)
			lang := strings.TrimPrefix(strings.SplitN(b, "\n", 2)[0], "~~~")
			parts = append(parts, "```"+lang+"\n"+strings.Join(lines, "\n")+"\n```")
			continue
		}
		parts = append(parts, b)
	}
	return strings.Join(parts, "\n\n")
}

func ghTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// RenderGitHub returns the issues export (newest first, as the API lists them by
// default) and the ground truth entries.
func (c *Composer) RenderGitHub() ([]GHIssue, []Truth) {
	var issues []GHIssue
	var truths []Truth
	for _, r := range c.All {
		if r.Src != "github" && r.Src != "pr" {
			continue
		}
		var title, body string
		labels := append([]string(nil), r.C.GHLabels...)
		kind := "item"
		if r.Src == "pr" {
			title, body = c.pullRequest(r)
			kind = "pull_request"
		} else {
			t := c.Compose(r)
			title = t.Title
			body = markdown(t.Blocks)
			if r.P != nil && r.Idx%2 == 0 {
				body += fmt.Sprintf("\n\n**Environment**\n- feedbackhub: %s\n- Kubernetes: %s\n- Region: %s", r.P.Version, r.P.K8s, r.P.Region)
			}
			if r.P != nil && r.Idx%3 == 1 {
				labels = append(labels, "needs-triage")
			}
		}
		num := r.Number
		u := fmt.Sprintf("%s/repos/%s/issues/%d", ghAPI, Repo, num)
		assoc := "NONE"
		switch {
		case r.P == nil && r.Who.GitHub != Bot.GitHub:
			assoc = "MEMBER"
		case r.Who.GitHub == Bot.GitHub:
			assoc = "NONE"
		case r.Idx%4 == 3:
			assoc = "CONTRIBUTOR"
		}
		is := GHIssue{URL: u, RepositoryURL: ghAPI + "/repos/" + Repo, LabelsURL: u + "/labels{/name}", CommentsURL: u + "/comments",
			EventsURL: u + "/events", HTMLURL: fmt.Sprintf("https://github.com/%s/issues/%d", Repo, num), ID: r.GHID,
			NodeID: nodeID("I_kwDOMq3Fvs6", r.GHID), Number: num, Title: title, User: ghUser(r.Who), Labels: []GHLabel{},
			State: "open", Assignees: []GHUser{}, Comments: int(hash64(r.C.Label, fmt.Sprint(num)) % 6),
			CreatedAt: ghTime(r.At), AuthorAssociation: assoc, Body: body}
		for _, l := range labels {
			is.Labels = append(is.Labels, ghLabel(l))
		}
		upd := r.At.Add(time.Duration(1+hash64(fmt.Sprint(num))%70) * time.Hour)
		if r.Status == "closed" || r.Src == "pr" {
			closed := ghTime(upd)
			is.State, is.ClosedAt = "closed", &closed
			reason := "completed"
			if r.Src != "pr" {
				is.StateReason = &reason
			}
		}
		is.UpdatedAt = ghTime(upd)
		if r.Src == "pr" {
			f := false
			is.Draft = &f
			is.HTMLURL = fmt.Sprintf("https://github.com/%s/pull/%d", Repo, num)
			is.NodeID = nodeID("PR_kwDOMq3Fvs6", r.GHID)
			is.PullRequest = &GHPull{URL: fmt.Sprintf("%s/repos/%s/pulls/%d", ghAPI, Repo, num), HTMLURL: is.HTMLURL,
				DiffURL: is.HTMLURL + ".diff", PatchURL: is.HTMLURL + ".patch", MergedAt: is.ClosedAt}
		}
		if r.P != nil && r.Idx%3 == 0 {
			a := ghUser(Mara)
			if r.Idx%2 == 1 {
				a = ghUser(Tobias)
			}
			is.Assignee, is.Assignees = &a, []GHUser{a}
		}
		issues = append(issues, is)
		truths = append(truths, truth(r, "github", fmt.Sprint(r.GHID), kind))
	}
	sort.SliceStable(issues, func(i, j int) bool { return issues[i].Number > issues[j].Number })
	return issues, truths
}

// pullRequest is the title and body of a pull request report.
func (c *Composer) pullRequest(r *Report) (string, string) {
	if r.Who.GitHub == Bot.GitHub {
		return "build(deps): bump golang.org/x/net from 0.44.0 to 0.46.0",
			"Bumps [golang.org/x/net](https://github.com/golang/net) from 0.44.0 to 0.46.0.\n\n" +
				"<details>\n<summary>Commits</summary>\n<ul>\n<li>See full diff in <a href=\"https://github.com/golang/net/compare/v0.44.0...v0.46.0\">compare view</a></li>\n</ul>\n</details>\n\n" +
				"Dependabot will resolve any conflicts with this PR as long as you don't alter it yourself."
	}
	var fixes []string
	for _, o := range c.All {
		if o.C == r.C && o.Src == "github" && o.At.Before(r.At) {
			fixes = append(fixes, fmt.Sprintf("Fixes #%d", o.Number))
		}
	}
	return "fix(chart): keep Deployment selector labels stable across 2.x → 3.x upgrades",
		"Chart 3.0.0 added `app.kubernetes.io/component` to `spec.selector.matchLabels` of the ingest and worker Deployments. " +
			"`spec.selector` is immutable, so every `helm upgrade` from 2.x fails with `field is immutable`.\n\n" +
			"This keeps the selector at the 2.x labels and moves the new label to the pod template only. " +
			"Adds a chart test that renders 2.9.4 and HEAD and compares selectors.\n\n" + strings.Join(fixes, "\n")
}

// ADF is a node of the Atlassian Document Format.
type ADF map[string]any

func adfText(s string) ADF { return ADF{"type": "text", "text": s} }

func adfPara(s string) ADF {
	var content []any
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			content = append(content, ADF{"type": "hardBreak"})
		}
		content = append(content, inlineADF(line)...)
	}
	return ADF{"type": "paragraph", "content": content}
}

// inlineADF marks `code` spans and URLs the way the Jira editor stores them.
func inlineADF(line string) []any {
	var out []any
	last := 0
	for _, m := range inlineRE.FindAllStringIndex(line, -1) {
		tok := line[m[0]:m[1]]
		if strings.HasPrefix(tok, "https://") {
			tok = strings.TrimRight(tok, ".,:;")
			m[1] = m[0] + len(tok)
		}
		if m[0] > last {
			out = append(out, adfText(line[last:m[0]]))
		}
		if strings.HasPrefix(tok, "`") {
			out = append(out, ADF{"type": "text", "text": strings.Trim(tok, "`"), "marks": []any{ADF{"type": "code"}}})
		} else {
			out = append(out, ADF{"type": "text", "text": tok, "marks": []any{ADF{"type": "link", "attrs": ADF{"href": tok}}}})
		}
		last = m[1]
	}
	if last < len(line) {
		out = append(out, adfText(line[last:]))
	}
	return out
}

var inlineRE = regexp.MustCompile("`[^`]+`|https://[^\\s)\"]+")

// adfDoc renders blocks as an ADF document.
func adfDoc(blocks []string) ADF {
	var content []any
	for _, b := range blocks {
		switch blockKind(b) {
		case "code":
			lang := strings.TrimPrefix(strings.SplitN(b, "\n", 2)[0], "~~~")
			n := ADF{"type": "codeBlock", "content": []any{adfText(strings.Join(codeLines(b), "\n"))}}
			if lang != "" {
				n["attrs"] = ADF{"language": lang}
			}
			content = append(content, n)
		case "list":
			var items []any
			for _, l := range strings.Split(b, "\n") {
				items = append(items, ADF{"type": "listItem", "content": []any{adfPara(strings.TrimPrefix(l, "- "))}})
			}
			content = append(content, ADF{"type": "bulletList", "content": items})
		case "quote":
			var lines []string
			for _, l := range strings.Split(b, "\n") {
				lines = append(lines, strings.TrimPrefix(l, "> "))
			}
			content = append(content, ADF{"type": "blockquote", "content": []any{adfPara(strings.Join(strings.Fields(strings.Join(lines, " ")), " "))}})
		default:
			content = append(content, adfPara(b))
		}
	}
	return ADF{"type": "doc", "version": 1, "content": content}
}

// JiraIssue is an issue of a /rest/api/3/search/jql result.
type JiraIssue struct {
	Expand string     `json:"expand"`
	ID     string     `json:"id"`
	Self   string     `json:"self"`
	Key    string     `json:"key"`
	Fields JiraFields `json:"fields"`
}

// JiraFields are the fields the pilot export carries.
type JiraFields struct {
	Summary       string   `json:"summary"`
	Description   ADF      `json:"description"`
	Reporter      ADF      `json:"reporter"`
	Labels        []string `json:"labels"`
	Status        ADF      `json:"status"`
	Priority      ADF      `json:"priority"`
	Components    []ADF    `json:"components"`
	Created       string   `json:"created"`
	Updated       string   `json:"updated"`
	IssueType     ADF      `json:"issuetype"`
	Project       ADF      `json:"project"`
	Organizations []ADF    `json:"customfield_10002"`
}

// JiraSearch is the /rest/api/3/search/jql response.
type JiraSearch struct {
	Issues []JiraIssue `json:"issues"`
	IsLast bool        `json:"isLast"`
}

const jiraTime = "2006-01-02T15:04:05.000-0700"

var priorities = map[string][2]string{"critical": {"Highest", "1"}, "high": {"High", "2"}, "medium": {"Medium", "3"}, "low": {"Low", "4"}}

var statuses = map[string][3]string{
	"todo":     {"To Do", "10000", "new"},
	"progress": {"In Progress", "3", "indeterminate"},
	"waiting":  {"Waiting for customer", "10012", "indeterminate"},
	"done":     {"Done", "10001", "done"},
}

// RenderJira returns the Jira search export and the ground truth entries.
func (c *Composer) RenderJira() (JiraSearch, []Truth) {
	res := JiraSearch{IsLast: true, Issues: []JiraIssue{}}
	var truths []Truth
	for _, r := range c.All {
		if r.Src != "jira" {
			continue
		}
		t := c.Compose(r)
		who := r.Who
		rep := ADF{"self": JiraBase + "/rest/api/3/user?accountId=" + who.Jira, "accountId": who.Jira,
			"displayName": who.Name, "active": true, "accountType": "atlassian"}
		if r.P != nil {
			rep["accountType"] = "customer"
			if r.Idx%2 == 0 {
				rep["emailAddress"] = who.Email
			}
			loc := r.At.Location().String()
			rep["timeZone"] = loc
		} else {
			rep["emailAddress"] = who.Email
			rep["timeZone"] = "Europe/Berlin"
		}
		st := r.Status
		if st == "" {
			st = []string{"todo", "progress", "todo", "waiting", "done"}[r.Seq%5]
		}
		s := statuses[st]
		pr := priorities[r.Sev]
		typ := "Bug"
		switch {
		case r.C.Category == "launch-integration":
			typ = "Task"
		case r.C.Category == "other":
			typ = "Story"
		case r.P != nil && r.Idx%3 == 2:
			typ = "Support"
		}
		labels := append([]string(nil), r.C.JiraLabel...)
		if p := r.Partner(); p != nil && p.Tier == "design-partner" {
			labels = append(labels, "design-partner")
		}
		if r.P == nil && r.For == nil {
			labels = append(labels, "recurring")
		}
		sort.Strings(labels)
		f := JiraFields{Summary: t.Title, Description: adfDoc(t.Blocks), Reporter: rep, Labels: labels,
			Status: ADF{"self": JiraBase + "/rest/api/3/status/" + s[1], "name": s[0], "id": s[1],
				"statusCategory": ADF{"key": s[2]}},
			Priority:   ADF{"self": JiraBase + "/rest/api/3/priority/" + pr[1], "name": pr[0], "id": pr[1]},
			Components: []ADF{{"self": JiraBase + "/rest/api/3/component/" + fmt.Sprint(10040+hash64(r.C.Component)%40), "id": fmt.Sprint(10040 + hash64(r.C.Component)%40), "name": r.C.Component}},
			Created:    r.At.Format(jiraTime),
			Updated:    r.At.Add(time.Duration(30+hash64(r.Key)%4000) * time.Minute).Format(jiraTime),
			IssueType:  ADF{"id": map[string]string{"Bug": "10004", "Task": "10002", "Story": "10001", "Support": "10010"}[typ], "name": typ, "subtask": false},
			Project:    ADF{"id": "10020", "key": JiraProj, "name": "Feedback", "self": JiraBase + "/rest/api/3/project/10020"},
		}
		if p := r.Partner(); p != nil {
			f.Organizations = []ADF{{"id": fmt.Sprint(1 + hash64(p.ID)%40), "name": p.Name}}
		}
		res.Issues = append(res.Issues, JiraIssue{Expand: "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
			ID: fmt.Sprint(r.JiraID), Self: fmt.Sprintf("%s/rest/api/3/issue/%d", JiraBase, r.JiraID), Key: r.Key, Fields: f})
		truths = append(truths, truth(r, "jira", r.Key, "item"))
	}
	return res, truths
}

// PartnerEvent is one line of the partner events JSONL (the partner webhook schema).
type PartnerEvent struct {
	Type         string            `json:"type"`
	ID           string            `json:"id"`
	ParentID     string            `json:"parent_id,omitempty"`
	Title        string            `json:"title,omitempty"`
	Body         string            `json:"body"`
	SeverityHint string            `json:"severity_hint,omitempty"`
	Reporter     EventReporter     `json:"reporter"`
	Account      string            `json:"account"`
	URL          string            `json:"url,omitempty"`
	OccurredAt   string            `json:"occurred_at"`
	Metadata     map[string]string `json:"metadata"`
}

// EventReporter is the reporter of a partner event.
type EventReporter struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// RenderEvents returns the partner events in time order and the ground truth.
func (c *Composer) RenderEvents() ([]PartnerEvent, []Truth) {
	var evs []PartnerEvent
	var truths []Truth
	for _, r := range c.All {
		var e PartnerEvent
		switch r.Src {
		case "partners":
			t := c.Compose(r)
			e = PartnerEvent{Type: "feedback.created", ID: r.EventID, Title: t.Title, Body: plainBlocks(t.Blocks, 0), SeverityHint: r.Sev}
			truths = append(truths, truth(r, "partners", r.EventID, "item"))
		case "update":
			parent := c.Tags[r.Parent]
			pt := c.Compose(parent)
			e = PartnerEvent{Type: "feedback.updated", ID: r.EventID, Title: pt.Title,
				Body: plainBlocks(pt.Blocks, 0) + "\n\n" + c.ReplyText(r), SeverityHint: r.Sev}
		case "comment":
			parent := c.Tags[r.Parent]
			e = PartnerEvent{Type: "feedback.comment", ID: r.EventID, ParentID: parent.EventID, Body: c.ReplyText(r)}
			r.Ticket = parent.Ticket
			truths = append(truths, truth(r, "partners", r.EventID, "reply"))
		default:
			continue
		}
		p := r.P
		e.Reporter = EventReporter{Email: r.Who.Email, Name: r.Who.Name}
		e.Account = p.Account
		e.URL = fmt.Sprintf("https://helpdesk.%s/tickets/%s", p.Domain, r.Ticket)
		e.OccurredAt = r.At.Format(time.RFC3339)
		e.Metadata = map[string]string{"partner": p.ID, "ticket": r.Ticket, "environment": []string{"production", "staging", "production"}[r.Seq%3]}
		if r.Src != "comment" {
			e.Metadata["component"] = r.C.Component
		}
		evs = append(evs, e)
	}
	return evs, truths
}
