package jira

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// adfNode is one node of an Atlassian Document Format tree.
type adfNode struct {
	Type    string         `json:"type"`
	Text    string         `json:"text"`
	Attrs   map[string]any `json:"attrs"`
	Marks   []adfMark      `json:"marks"`
	Content []adfNode      `json:"content"`
}

type adfMark struct {
	Type  string         `json:"type"`
	Attrs map[string]any `json:"attrs"`
}

// ADFToText renders an Atlassian Document Format document (API v3 rich text) as plain
// text: blocks are separated by a blank line, list items get "- " or "N. " with two
// spaces of indent per level, code blocks keep their text verbatim, mentions become
// @name, links "text (url)" unless the text is the url, table cells are joined with
// " | ", block quotes get "> ". Media is left out.
func ADFToText(doc []byte) (string, error) {
	var root adfNode
	if err := json.Unmarshal(doc, &root); err != nil {
		return "", fmt.Errorf("jira: adf: %w", err)
	}
	var out string
	if root.Type == "doc" || root.Type == "" {
		out = adfBlocks(root.Content)
	} else {
		out = adfBlocks([]adfNode{root})
	}
	return tidy(out), nil
}

// adfBlocks renders block nodes, separated by blank lines.
func adfBlocks(nodes []adfNode) string {
	var parts []string
	for _, n := range nodes {
		if s := adfBlock(n); strings.TrimSpace(s) != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n\n")
}

func adfBlock(n adfNode) string {
	switch n.Type {
	case "paragraph", "heading":
		return adfInline(n.Content)
	case "codeBlock":
		var b strings.Builder
		for _, c := range n.Content {
			b.WriteString(c.Text)
		}
		return strings.TrimRight(b.String(), "\n")
	case "bulletList":
		return adfList(n, func(int) string { return "- " })
	case "orderedList":
		start := 1
		if v, ok := n.Attrs["order"].(float64); ok && v >= 0 {
			start = int(v)
		}
		return adfList(n, func(i int) string { return strconv.Itoa(start+i) + ". " })
	case "taskList":
		return adfList(n, func(int) string { return "" })
	case "decisionList":
		return adfList(n, func(int) string { return "" })
	case "taskItem":
		box := "[ ] "
		if s, _ := n.Attrs["state"].(string); s == "DONE" {
			box = "[x] "
		}
		return box + adfInline(n.Content)
	case "decisionItem":
		return "Decision: " + adfInline(n.Content)
	case "blockquote":
		return prefixLines(adfBlocks(n.Content), "> ")
	case "rule":
		return "---"
	case "table":
		var rows []string
		for _, row := range n.Content {
			var cells []string
			for _, cell := range row.Content {
				cells = append(cells, strings.ReplaceAll(adfBlocks(cell.Content), "\n\n", " "))
			}
			rows = append(rows, strings.Join(cells, " | "))
		}
		return strings.Join(rows, "\n")
	case "expand", "nestedExpand":
		body := adfBlocks(n.Content)
		if t, _ := n.Attrs["title"].(string); strings.TrimSpace(t) != "" {
			return t + "\n\n" + body
		}
		return body
	case "mediaSingle", "mediaGroup", "media", "mediaInline":
		return ""
	case "blockCard", "embedCard":
		s, _ := n.Attrs["url"].(string)
		return s
	case "text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status":
		return adfInline([]adfNode{n})
	}
	// panel, layoutSection, layoutColumn and unknown containers: their content.
	if len(n.Content) > 0 {
		if isInline(n.Content[0].Type) {
			return adfInline(n.Content)
		}
		return adfBlocks(n.Content)
	}
	return n.Text
}

func isInline(t string) bool {
	switch t {
	case "text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status", "mediaInline", "inlineExtension":
		return true
	}
	return false
}

// adfList renders list items; marker gives the prefix of item i. Continuation lines
// are indented to the marker's width, nested lists two more.
func adfList(n adfNode, marker func(i int) string) string {
	var lines []string
	for i, item := range n.Content {
		m := marker(i)
		var body string
		if item.Type == "listItem" {
			var parts []string
			for _, c := range item.Content {
				if s := adfBlock(c); strings.TrimSpace(s) != "" {
					if c.Type == "bulletList" || c.Type == "orderedList" || c.Type == "taskList" {
						s = prefixLines(s, "  ")
					}
					parts = append(parts, s)
				}
			}
			body = strings.Join(parts, "\n")
		} else {
			body = adfBlock(item)
		}
		first, rest, _ := strings.Cut(body, "\n")
		lines = append(lines, m+first)
		if rest != "" {
			pad := strings.Repeat(" ", len(m))
			for _, l := range strings.Split(rest, "\n") {
				if strings.HasPrefix(l, "  ") || l == "" {
					lines = append(lines, l) // nested list, already indented
				} else {
					lines = append(lines, pad+l)
				}
			}
		}
	}
	return strings.Join(lines, "\n")
}

func adfInline(nodes []adfNode) string {
	var b strings.Builder
	for _, n := range nodes {
		switch n.Type {
		case "text":
			txt := n.Text
			for _, m := range n.Marks {
				if m.Type == "link" {
					if href, _ := m.Attrs["href"].(string); href != "" && href != txt && "mailto:"+txt != href {
						txt += " (" + href + ")"
					}
				}
			}
			b.WriteString(txt)
		case "hardBreak":
			b.WriteString("\n")
		case "mention":
			t, _ := n.Attrs["text"].(string)
			if t == "" {
				id, _ := n.Attrs["id"].(string)
				t = id
			}
			if t != "" && !strings.HasPrefix(t, "@") {
				t = "@" + t
			}
			b.WriteString(t)
		case "emoji":
			t, _ := n.Attrs["text"].(string)
			if t == "" {
				t, _ = n.Attrs["shortName"].(string)
			}
			b.WriteString(t)
		case "inlineCard":
			u, _ := n.Attrs["url"].(string)
			b.WriteString(u)
		case "date":
			b.WriteString(adfDate(n.Attrs["timestamp"]))
		case "status":
			t, _ := n.Attrs["text"].(string)
			b.WriteString("[" + t + "]")
		case "mediaInline":
		default:
			if len(n.Content) > 0 {
				b.WriteString(adfInline(n.Content))
			} else {
				b.WriteString(n.Text)
			}
		}
	}
	return b.String()
}

// adfDate renders a date node's timestamp (epoch milliseconds, string or number).
func adfDate(v any) string {
	var ms int64
	switch t := v.(type) {
	case string:
		ms, _ = strconv.ParseInt(t, 10, 64)
	case float64:
		ms = int64(t)
	}
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02")
}

func prefixLines(s, p string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = strings.TrimRight(p, " ")
		} else {
			lines[i] = p + l
		}
	}
	return strings.Join(lines, "\n")
}

// tidy trims trailing spaces, collapses runs of blank lines and trims the ends.
func tidy(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\u00a0")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
