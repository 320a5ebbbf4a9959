package main

import (
	"fmt"
	"strings"
)

// Text is a report's title and body as blocks. A block is a paragraph, a code block
// (first line "~~~"), a bullet list (lines starting "- ") or a quote (lines starting
// "> "); each renderer turns blocks into its source's markup.
type Text struct {
	Title  string
	Blocks []string
}

// splitBlocks splits text at blank lines, keeping code blocks whole.
func splitBlocks(s string) []string {
	var out []string
	var cur []string
	inCode := false
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		switch {
		case strings.HasPrefix(line, "~~~"):
			if !inCode {
				flush()
			}
			cur = append(cur, line)
			if inCode {
				flush()
			}
			inCode = !inCode
		case inCode:
			cur = append(cur, line)
		case strings.TrimSpace(line) == "":
			flush()
		default:
			cur = append(cur, line)
		}
	}
	flush()
	return out
}

// blockKind reports the kind of a block: code, list, quote or para.
func blockKind(b string) string {
	switch {
	case strings.HasPrefix(b, "~~~"):
		return "code"
	case strings.HasPrefix(b, "- "):
		return "list"
	case strings.HasPrefix(b, "> "):
		return "quote"
	}
	return "para"
}

// codeLines returns the lines inside a code block.
func codeLines(b string) []string {
	lines := strings.Split(b, "\n")
	if len(lines) >= 2 {
		return lines[1 : len(lines)-1]
	}
	return nil
}

// Composer builds texts; it knows every report so that references resolve.
type Composer struct {
	All  []*Report
	Tags map[string]*Report
}

// NewComposer indexes the reports by tag.
func NewComposer(all []*Report) *Composer {
	c := &Composer{All: all, Tags: map[string]*Report{}}
	for _, r := range all {
		if r.Tag != "" {
			c.Tags[r.Tag] = r
		}
	}
	return c
}

// RefTo names target t the way an item of source src would mention it.
func (c *Composer) RefTo(t *Report, src string) string {
	switch t.Src {
	case "github", "pr":
		if src == "github" {
			return fmt.Sprintf("#%d", t.Number)
		}
		return fmt.Sprintf("https://github.com/%s/issues/%d", Repo, t.Number)
	case "jira":
		return t.Key
	case "mail", "mailreply":
		return fmt.Sprintf("%s's email to support on %s (\"%s\")", t.Who.First(), t.At.Format("Mon 2 Jan"), t.Subject)
	case "partners", "update", "comment":
		return fmt.Sprintf("%s helpdesk ticket %s", t.P.Short, t.Ticket)
	}
	return ""
}

var refSentences = map[string][]string{
	"jira": {
		"This is the same problem as {ref}.",
		"We already have {ref} open for this, adding the details here.",
		"See {ref} for the ticket our PM opened.",
		"Cross-ref: {ref}",
		"Any news on {ref}? This is still happening.",
	},
	"github": {
		"Engineering details are in {ref}.",
		"Looks like the same thing as {ref}.",
		"Also filed on GitHub: {ref}",
		"Possibly related: {ref}",
	},
	"mail": {
		"This was first reported in {ref}.",
		"Context: {ref}.",
		"Following up on {ref}.",
	},
	"partners": {
		"This is also {ref}.",
		"Mirrored from {ref}.",
		"Same as {ref}.",
	},
}

func (c *Composer) refSentence(r *Report) string {
	t := c.Tags[r.Ref]
	kind := t.Src
	switch kind {
	case "pr":
		kind = "github"
	case "mailreply":
		kind = "mail"
	case "update", "comment":
		kind = "partners"
	}
	return strings.ReplaceAll(pick(refSentences[kind], r.Seq), "{ref}", c.RefTo(t, r.Src))
}

// Compose returns the title and blocks of an item (mail, github, jira, partners).
func (c *Composer) Compose(r *Report) Text {
	cl := r.C
	vars := Vars(r)
	title := fill(pick(cl.Titles, r.Idx), vars)
	var body string
	switch {
	case r.P != nil:
		body = pick(cl.Openings, r.Idx)
		if d := pick(cl.Details, r.Idx+1); d != "" && !(r.Src == "partners" && r.Idx%3 == 2) {
			body += "\n\n" + d
		}
		if im := pick(cl.Impacts, r.Idx+2); im != "" {
			body += "\n\n" + im
		}
	case r.For != nil:
		title = "[" + r.For.Short + "] " + title
		// The PM quotes the partner's own report when it names one.
		src, orig, ovars := "a call", r, vars
		if t := c.Tags[r.Ref]; t != nil {
			src = c.RefTo(t, r.Src)
			if t.C == cl && t.P != nil {
				orig, ovars = t, Vars(t)
			}
		}
		body = fmt.Sprintf("%s reported this (%s). From their description:", r.For.Name, src) +
			"\n\n" + quote(fill(pick(cl.Openings, orig.Idx), ovars))
		if d := pick(cl.Details, orig.Idx+1); d != "" {
			body += "\n\n" + fill(d, ovars)
		}
		body += "\n\n" + pick(cl.Tracking, 0)
		body = fill(body, vars)
		return Text{Title: title, Blocks: splitBlocks(body)}
	default:
		title = "Recurring: " + title
		body = pick(cl.Tracking, 1) + "\n\nReports so far:\n\n" + c.seenList(r)
	}
	if r.Ref != "" && r.For == nil {
		body += "\n\n" + c.refSentence(r)
	}
	return Text{Title: title, Blocks: splitBlocks(fill(body, vars))}
}

// seenList lists the partner reports of r's cluster made before r.
func (c *Composer) seenList(r *Report) string {
	var lines []string
	for _, o := range c.All {
		if o.C != r.C || !o.At.Before(r.At) || o.P == nil {
			continue
		}
		switch o.Src {
		case "mail", "github", "jira", "partners":
			lines = append(lines, fmt.Sprintf("- %s, %s: %s", o.P.Name, o.At.Format("2 Jan"), c.RefTo(o, r.Src)))
		}
	}
	if len(lines) == 0 {
		return "- (none linked yet)"
	}
	return strings.Join(lines, "\n")
}

func quote(s string) string {
	var b strings.Builder
	for i, line := range strings.Split(wrap(s, 76), "\n") {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("> " + line)
	}
	return b.String()
}

// ReplyText is the body of a mail reply or partner comment.
func (c *Composer) ReplyText(r *Report) string {
	s := pick(r.C.Replies, r.ReplyIdx)
	if r.Src == "update" {
		s = pick(r.C.Updates, r.ReplyIdx)
	}
	if r.Ref != "" {
		s += "\n\n" + c.refSentence(r)
	}
	return fill(s, Vars(r))
}

// wrap folds paragraph text at width columns.
func wrap(s string, width int) string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			out = append(out, "")
			continue
		}
		line := words[0]
		for _, w := range words[1:] {
			if len([]rune(line))+1+len([]rune(w)) > width {
				out = append(out, line)
				line = w
			} else {
				line += " " + w
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// plainBlocks renders blocks as plain text (mail, partner events).
func plainBlocks(blocks []string, wrapAt int) string {
	parts := make([]string, 0, len(blocks))
	for _, b := range blocks {
		switch blockKind(b) {
		case "code":
			parts = append(parts, strings.Join(codeLines(b), "\n"))
		case "para":
			if wrapAt > 0 {
				b = wrap(b, wrapAt)
			}
			parts = append(parts, b)
		default:
			parts = append(parts, b)
		}
	}
	return strings.Join(parts, "\n\n")
}
