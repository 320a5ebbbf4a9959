package mailparse

import (
	"html"
	"strings"
)

// blockTags end a line; paragraphTags also leave a blank line around them.
var (
	blockTags = map[string]bool{
		"div": true, "br": true, "tr": true, "li": true, "dt": true, "dd": true,
		"section": true, "article": true, "header": true, "footer": true, "nav": true,
		"address": true, "center": true, "form": true, "fieldset": true, "caption": true,
		"figure": true, "figcaption": true, "main": true, "aside": true, "tbody": true,
		"thead": true, "tfoot": true,
	}
	paragraphTags = map[string]bool{
		"p": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
		"table": true, "ul": true, "ol": true, "dl": true, "pre": true, "hr": true,
		"blockquote": true,
	}
	// skipTags hide everything up to their closing tag.
	skipTags = map[string]bool{
		"script": true, "style": true, "head": true, "title": true, "noscript": true,
		"template": true, "svg": true, "object": true, "iframe": true,
	}
)

// htmlWriter builds plain text line by line, prefixing "> " inside blockquotes so that
// VisibleText can recognise quoted replies in HTML mail.
type htmlWriter struct {
	b        strings.Builder
	line     strings.Builder
	quote    int
	pendingB int // newlines wanted before the next text
	started  bool
	pre      int
	// lineText is set once the current line holds text beyond its quote prefix;
	// lastSpace when it ends in a blank written by space.
	lineText, lastSpace bool
}

func (w *htmlWriter) breakLine(n int) {
	if n > w.pendingB {
		w.pendingB = n
	}
}

func (w *htmlWriter) flushLine() {
	w.b.WriteString(strings.TrimRight(w.line.String(), " \t"))
	w.line.Reset()
	w.lineText, w.lastSpace = false, false
}

func (w *htmlWriter) text(s string) {
	if s == "" {
		return
	}
	if w.pre == 0 && strings.TrimSpace(s) == "" && (w.pendingB > 0 || !w.started) {
		return // whitespace between blocks
	}
	if w.pendingB > 0 {
		if w.started {
			w.flushLine()
			for i := 0; i < w.pendingB; i++ {
				w.b.WriteByte('\n')
			}
		}
		w.pendingB = 0
		w.line.WriteString(strings.Repeat("> ", w.quote))
	} else if !w.started {
		w.line.WriteString(strings.Repeat("> ", w.quote))
	}
	w.started = true
	if w.pre > 0 {
		for i, part := range strings.Split(s, "\n") {
			if i > 0 {
				w.flushLine()
				w.b.WriteByte('\n')
				w.line.WriteString(strings.Repeat("> ", w.quote))
			}
			w.line.WriteString(part)
			w.lineText = w.lineText || part != ""
		}
		return
	}
	// Collapse whitespace, and avoid a leading blank at the start of a line.
	fields := strings.Fields(s)
	if len(fields) == 0 {
		w.space()
		return
	}
	if isSpace(s[0]) {
		w.space()
	}
	w.line.WriteString(strings.Join(fields, " "))
	w.lineText, w.lastSpace = true, false
	if isSpace(s[len(s)-1]) {
		w.space()
	}
}

// space writes one blank unless the line is empty so far or already ends in one.
func (w *htmlWriter) space() {
	if w.lineText && !w.lastSpace {
		w.line.WriteByte(' ')
		w.lastSpace = true
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// HTMLToText renders an HTML body as readable plain text: block elements become line
// breaks, list items get "- ", links keep their target, entities are decoded, script
// and style are dropped, and blockquotes are quoted with "> ".
func HTMLToText(src string) string {
	var w htmlWriter
	var links []string
	lower := asciiLower(src)
	i := 0
	n := len(src)
	for i < n {
		lt := strings.IndexByte(src[i:], '<')
		if lt < 0 {
			w.text(html.UnescapeString(src[i:]))
			break
		}
		if lt > 0 {
			w.text(html.UnescapeString(src[i : i+lt]))
		}
		i += lt
		// Comments, doctype and CDATA.
		if strings.HasPrefix(src[i:], "<!--") {
			end := strings.Index(src[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		if strings.HasPrefix(src[i:], "<!") || strings.HasPrefix(src[i:], "<?") {
			end := strings.IndexByte(src[i:], '>')
			if end < 0 {
				break
			}
			i += end + 1
			continue
		}
		name, closing, attrs, end := readTag(src, i)
		if name == "" {
			// A lone "<" is text.
			w.text("<")
			i++
			continue
		}
		i = end
		if skipTags[name] && !closing {
			if strings.HasSuffix(strings.TrimSpace(attrs), "/") {
				continue
			}
			closeAt := strings.Index(lower[i:], "</"+name)
			if closeAt < 0 {
				i = n
				break
			}
			i += closeAt
			if gt := strings.IndexByte(src[i:], '>'); gt >= 0 {
				i += gt + 1
			} else {
				i = n
			}
			continue
		}
		switch {
		case name == "blockquote":
			w.breakLine(2)
			if closing {
				if w.quote > 0 {
					w.quote--
				}
			} else {
				w.quote++
			}
		case name == "pre":
			w.breakLine(2)
			if closing {
				if w.pre > 0 {
					w.pre--
				}
			} else {
				w.pre++
			}
		case name == "br":
			if w.pendingB > 0 || !w.started {
				// Consecutive <br> produce blank lines.
				w.pendingB++
			} else {
				w.breakLine(1)
			}
		case paragraphTags[name]:
			w.breakLine(2)
		case name == "li" && !closing:
			w.breakLine(1)
			w.text("- ")
		case blockTags[name]:
			w.breakLine(1)
		case (name == "td" || name == "th") && closing:
			w.text(" ")
		case name == "a" && !closing:
			links = append(links, attrValue(attrs, "href"))
		case name == "a" && closing && len(links) > 0:
			href := links[len(links)-1]
			links = links[:len(links)-1]
			cur := w.line.String()
			if len(cur) > 4096 {
				cur = cur[len(cur)-4096:]
			}
			if (strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "https://")) &&
				!strings.Contains(cur, href) {
				w.text(" (" + href + ")")
			}
		case name == "img" && !closing:
			if alt := attrValue(attrs, "alt"); alt != "" {
				w.text(" [" + alt + "] ")
			}
		}
	}
	w.flushLine()
	out := w.b.String()
	// Tidy: trim each line's right side, at most one blank line in a row.
	lines := strings.Split(out, "\n")
	var b strings.Builder
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\u00a0")
		if strings.TrimSpace(l) == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return strings.TrimSpace(strings.ReplaceAll(b.String(), "\u00a0", " "))
}

// readTag reads the tag starting at src[i] == '<'. It returns an empty name when the
// text is not a tag.
func readTag(src string, i int) (name string, closing bool, attrs string, end int) {
	j := i + 1
	if j < len(src) && src[j] == '/' {
		closing = true
		j++
	}
	k := j
	for k < len(src) && (isAlnum(src[k]) || src[k] == '-' || src[k] == ':') {
		k++
	}
	if k == j || !isAlpha(src[j]) {
		return "", false, "", i
	}
	name = strings.ToLower(src[j:k])
	// Find the end of the tag, honouring quoted attribute values.
	q := byte(0)
	for p := k; p < len(src); p++ {
		c := src[p]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '>':
			return name, closing, src[k:p], p + 1
		}
	}
	return name, closing, src[k:], len(src)
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }

// attrValue returns the unescaped value of attribute key in a tag's attribute text.
func attrValue(attrs, key string) string {
	lower := strings.ToLower(attrs)
	from := 0
	for {
		idx := strings.Index(lower[from:], key)
		if idx < 0 {
			return ""
		}
		idx += from
		from = idx + len(key)
		if idx > 0 && !isSpace(lower[idx-1]) {
			continue
		}
		rest := strings.TrimLeft(attrs[from:], " \t\r\n")
		if !strings.HasPrefix(rest, "=") {
			continue
		}
		rest = strings.TrimLeft(rest[1:], " \t\r\n")
		if rest == "" {
			return ""
		}
		var v string
		if rest[0] == '"' || rest[0] == '\'' {
			endq := strings.IndexByte(rest[1:], rest[0])
			if endq < 0 {
				v = rest[1:]
			} else {
				v = rest[1 : 1+endq]
			}
		} else {
			v = strings.Fields(rest)[0]
		}
		return strings.TrimSpace(html.UnescapeString(v))
	}
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay valid.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
