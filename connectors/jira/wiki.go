package jira

import (
	"regexp"
	"strconv"
	"strings"
)

// WikiToText renders Jira wiki markup (API v2 and webhook rich text) as plain text.
// The content of {code} and {noformat} blocks is kept verbatim; {quote} and bq. lines
// get "> "; headings lose their "hN. "; lists become "- " / "N. " with two spaces per
// nesting level; table cells are joined with " | "; [text|url] becomes "text (url)",
// [~user] "@user"; text effects (*bold*, _em_, {{mono}}, -del-, +ins+, ^sup^, ~sub~,
// ??cite??) and {color}/{panel} wrappers are dropped; backslash escapes are undone.
func WikiToText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var out []string
	counters := map[int]int{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		// Preformatted blocks: everything up to the closing tag is kept as text.
		if m := preOpenRE.FindStringSubmatchIndex(line); m != nil {
			tag := strings.ToLower(line[m[2]:m[3]])
			before := line[:m[0]]
			after := line[m[1]:]
			if strings.TrimSpace(before) != "" {
				out = append(out, wikiLine(before, counters))
			}
			var body []string
			for {
				if j := indexCloseTag(after, tag); j >= 0 {
					body = append(body, after[:j])
					rest := strings.TrimSpace(after[j+len(tag)+2:])
					if strings.TrimSpace(rest) != "" {
						lines = append(lines[:i+1], append([]string{rest}, lines[i+1:]...)...)
					}
					break
				}
				body = append(body, after)
				i++
				if i >= len(lines) {
					break
				}
				after = lines[i]
			}
			txt := strings.Trim(strings.Join(body, "\n"), "\n")
			out = append(out, "", txt, "")
			counters = map[int]int{}
			continue
		}
		if quoteTagRE.MatchString(trimmed) && strings.EqualFold(strings.Trim(trimmed, "{}"), "quote") {
			// A {quote} block on its own lines: quote what follows up to the close.
			var body []string
			for i++; i < len(lines); i++ {
				if strings.EqualFold(strings.TrimSpace(lines[i]), "{quote}") {
					break
				}
				body = append(body, wikiLine(lines[i], counters))
			}
			out = append(out, prefixLines(strings.Trim(strings.Join(body, "\n"), "\n"), "> "))
			continue
		}
		out = append(out, wikiLine(line, counters))
	}
	return tidy(strings.Join(out, "\n"))
}

var (
	preOpenRE  = regexp.MustCompile(`(?i)\{(code|noformat)(?::[^}]*)?\}`)
	quoteTagRE = regexp.MustCompile(`(?i)^\{quote\}$`)
	headingRE  = regexp.MustCompile(`^h[1-6]\.\s+`)
	bqRE       = regexp.MustCompile(`^bq\.\s+`)
	listRE     = regexp.MustCompile(`^([*#-]+)\s+`)
	tableRE    = regexp.MustCompile(`^\|\|?`)
	linkRE     = regexp.MustCompile(`\[([^\[\]|]*)\|([^\[\]]+)\]`)
	bareLinkRE = regexp.MustCompile(`\[((?:https?|mailto|ftp)://[^\[\]\s]+|mailto:[^\[\]\s]+)\]`)
	userRE     = regexp.MustCompile(`\[~(?:accountid:)?([^\[\]]+)\]`)
	attachRE   = regexp.MustCompile(`\[\^([^\[\]]+)\]`)
	imageRE    = regexp.MustCompile(`!([^!\s|][^!|\n]*?)(?:\|[^!\n]*)?!`)
	macroRE    = regexp.MustCompile(`(?i)\{(color|panel|quote|anchor)(?::[^}]*)?\}`)
	monoRE     = regexp.MustCompile(`\{\{(.+?)\}\}`)
	citeRE     = regexp.MustCompile(`\?\?(.+?)\?\?`)
	escapeRE   = regexp.MustCompile(`\\([^\\\s])`)
)

// effectREs strip one-character text effects; the markers must touch the text and
// sit at word edges, so "a*b*c", "well-known" and "x - y" survive.
var effectREs = func() []*regexp.Regexp {
	var res []*regexp.Regexp
	for _, c := range []string{`\*`, `_`, `-`, `\+`, `\^`, `~`} {
		res = append(res, regexp.MustCompile(`(^|[\s(\[>"'])`+c+`([^\s`+c+`](?:[^`+c+`\n]*?[^\s`+c+`])?)`+c+`($|[\s).,;:!?\]"'<])`))
	}
	return res
}()

func indexCloseTag(s, tag string) int {
	return strings.Index(strings.ToLower(s), "{"+tag+"}")
}

// wikiLine renders one line outside preformatted blocks. counters numbers ordered
// list items per depth and is reset by any non-list line.
func wikiLine(line string, counters map[int]int) string {
	t := strings.TrimSpace(line)
	switch {
	case t == "":
		clear(counters)
		return ""
	case t == "----":
		clear(counters)
		return "---"
	case headingRE.MatchString(t):
		clear(counters)
		return "\n" + wikiInline(headingRE.ReplaceAllString(t, "")) + "\n"
	case bqRE.MatchString(t):
		clear(counters)
		return "> " + wikiInline(bqRE.ReplaceAllString(t, ""))
	case tableRE.MatchString(t):
		clear(counters)
		inner := strings.Trim(strings.ReplaceAll(t, "||", "|"), "|")
		cells := strings.Split(inner, "|")
		for i, c := range cells {
			cells[i] = wikiInline(strings.TrimSpace(c))
		}
		return strings.Join(cells, " | ")
	}
	if m := listRE.FindStringSubmatch(t); m != nil && (m[1] != "-" || len(t) > 2) && !(strings.Trim(m[1], "-") == "" && len(m[1]) > 1) {
		marks := m[1]
		depth := len(marks)
		for d := range counters {
			if d > depth {
				delete(counters, d)
			}
		}
		indent := strings.Repeat("  ", depth-1)
		text := wikiInline(t[len(m[0]):])
		if marks[len(marks)-1] == '#' {
			counters[depth]++
			return indent + strconv.Itoa(counters[depth]) + ". " + text
		}
		return indent + "- " + text
	}
	clear(counters)
	return wikiInline(line)
}

// wikiInline renders links, mentions and text effects within a line.
func wikiInline(s string) string {
	s = strings.ReplaceAll(s, `\\`, "\n") // forced line break
	s = userRE.ReplaceAllString(s, "@$1")
	s = attachRE.ReplaceAllString(s, "$1")
	s = linkRE.ReplaceAllStringFunc(s, func(m string) string {
		p := linkRE.FindStringSubmatch(m)
		text, target := strings.TrimSpace(p[1]), strings.TrimSpace(p[2])
		if text == "" || text == target {
			return target
		}
		return text + " (" + target + ")"
	})
	s = bareLinkRE.ReplaceAllString(s, "$1")
	s = imageRE.ReplaceAllString(s, "[image: $1]")
	s = macroRE.ReplaceAllString(s, "")
	s = monoRE.ReplaceAllString(s, "$1")
	s = citeRE.ReplaceAllString(s, "$1")
	for _, re := range effectREs {
		// Run twice: adjacent effects share a boundary character.
		s = re.ReplaceAllString(s, "$1$2$3")
		s = re.ReplaceAllString(s, "$1$2$3")
	}
	s = escapeRE.ReplaceAllString(s, "$1")
	return s
}
