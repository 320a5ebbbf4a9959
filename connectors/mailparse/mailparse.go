// Package mailparse turns raw RFC 5322 messages into the parts feedbackhub needs: the
// identifiers used for threading, decoded headers, a readable plain-text body with
// quotes and signatures removed, attachment fingerprints and an auto-reply verdict.
// Both the IMAP inbox connector and the mbox/eml file importer call it, so a message
// looks the same whichever way it arrived. It never keeps attachment content and never
// panics on hostile input: what it cannot read is reported, not dropped.
package mailparse

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"
)

// Default limits used when Options leaves a field at zero.
const (
	DefaultMaxBytes           int64 = 25 << 20 // whole raw message
	DefaultMaxAttachmentBytes int64 = 25 << 20 // bytes of one attachment fed to SHA-256
	maxDepth                        = 20       // nested multiparts
	maxParts                        = 1000     // MIME parts in one message
)

// ErrTooLarge is wrapped by the *ParseError Parse returns for a message over
// Options.MaxBytes.
var ErrTooLarge = errors.New("message too large")

// Options tunes Parse. The zero value is ready to use.
type Options struct {
	// MaxBytes is the largest raw message Parse accepts (default 25 MiB).
	MaxBytes int64
	// MaxAttachmentBytes caps how many bytes of each attachment are hashed (default
	// 25 MiB); Attachment.HashedBytes says when the cap cut a hash short.
	MaxAttachmentBytes int64
	// AllowMailingLists stops List-Id and "Precedence: list" from marking a message as
	// not-feedback, for inboxes that are themselves fed by a mailing list or group.
	AllowMailingLists bool
	// AutoResponseSuppress treats any X-Auto-Response-Suppress header as a sign of an
	// automatic message. Off by default: Outlook also sets it on some human mail.
	AutoResponseSuppress bool
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxAttachmentBytes <= 0 {
		o.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	return o
}

// Address is a decoded mailbox: display name and address.
type Address struct {
	Name string `json:"name,omitempty"`
	Addr string `json:"addr"`
}

// String formats the address as `Name <addr>` or just the address.
func (a Address) String() string {
	if a.Name == "" {
		return a.Addr
	}
	return fmt.Sprintf("%s <%s>", a.Name, a.Addr)
}

// Attachment describes one non-body part. Its content is hashed and discarded.
type Attachment struct {
	Filename    string `json:"filename,omitempty"`
	ContentType string `json:"content_type"`
	// Size is the decoded size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the decoded content, or of its first HashedBytes
	// bytes when the content was larger than Options.MaxAttachmentBytes.
	SHA256      string `json:"sha256"`
	HashedBytes int64  `json:"hashed_bytes"`
	// ContentID is the Content-ID without angle brackets (inline `cid:` images).
	ContentID string `json:"content_id,omitempty"`
	Inline    bool   `json:"inline,omitempty"`
}

// Message is a parsed email. Message-IDs are always written in angle brackets
// ("<id@host>") so they compare equal however the sender formatted them.
type Message struct {
	MessageID  string
	InReplyTo  string
	References []string
	// Subject is the decoded subject; NormalizedSubject drops reply/forward prefixes
	// and tags such as "[EXTERNAL]" and collapses whitespace.
	Subject           string
	NormalizedSubject string
	From              Address
	FromDomain        string // lower case, empty when From has no usable address
	To                []Address
	Cc                []Address
	// Date is the Date header in UTC; zero when missing or unreadable.
	Date time.Time
	// Text is the body as plain text: text/plain when present, else converted HTML.
	Text string
	// TextFromHTML reports that Text was converted from text/html.
	TextFromHTML bool
	// VisibleText is Text without quoted replies, reply headers and signatures.
	VisibleText string
	Attachments []Attachment
	// Headers holds the header fields auto-reply detection looks at, by canonical
	// name (Auto-Submitted, Precedence, List-Id, Return-Path, Content-Type, ...).
	Headers map[string]string
	// Auto is why the message is automatic or not feedback ("auto-submitted:
	// auto-replied"), empty for a message a person wrote.
	Auto string
	// Quarantine is set when the MIME structure is broken enough that the body may be
	// wrong; the message is still returned so nothing is lost.
	Quarantine string
	// Notes lists recoverable problems met while decoding (unknown charset, bad
	// base64, unreadable date), for the record's meta and for debugging.
	Notes []string
	// Size is the raw message size in bytes.
	Size int
}

// ParseError says precisely why a message could not be parsed at all.
type ParseError struct {
	// Part is the MIME part path ("1.2"); empty for the message itself.
	Part   string
	Reason string
	Err    error
}

// Error implements error.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("mailparse: ")
	if e.Part != "" {
		b.WriteString("part " + e.Part + ": ")
	}
	b.WriteString(e.Reason)
	if e.Err != nil && !errors.Is(e.Err, ErrTooLarge) {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// autoHeaders are the fields kept in Message.Headers.
var autoHeaders = []string{
	"Auto-Submitted", "X-Autoreply", "X-Autorespond", "X-Autoresponder", "Precedence",
	"List-Id", "List-Unsubscribe", "Return-Path", "X-Auto-Response-Suppress",
	"Content-Type", "X-Failed-Recipients",
}

// Parse reads one raw message. It returns a *ParseError, and no message, only when
// the input is over Options.MaxBytes, empty, or has no readable header; a message
// whose body is broken comes back with Quarantine set instead. Parse never panics.
func Parse(raw []byte, opts Options) (m *Message, err error) {
	opts = opts.withDefaults()
	defer func() {
		if r := recover(); r != nil {
			m = nil
			err = &ParseError{Reason: fmt.Sprintf("internal error while parsing: %v", r)}
		}
	}()
	if int64(len(raw)) > opts.MaxBytes {
		return nil, &ParseError{
			Reason: fmt.Sprintf("message is %d bytes, over the %d byte limit", len(raw), opts.MaxBytes),
			Err:    ErrTooLarge,
		}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, &ParseError{Reason: "message is empty"}
	}
	data := skipMboxFromLine(raw)
	br := bufio.NewReader(bytes.NewReader(data))
	hdr, err := textproto.ReadHeader(br)
	if err != nil && !(errors.Is(err, io.EOF) && hdr.Len() > 0) {
		return nil, &ParseError{Reason: "unreadable header", Err: shortenErr(err)}
	}
	if hdr.Len() == 0 {
		return nil, &ParseError{Reason: "message has no header fields"}
	}

	p := &parser{opts: opts, m: &Message{Size: len(raw), Headers: map[string]string{}}}
	p.readHeader(hdr)
	p.walk(hdr, br, "", 0)
	p.finish()
	return p.m, nil
}

// skipMboxFromLine drops a leading mbox "From " separator line some tools leave on
// .eml files.
func skipMboxFromLine(raw []byte) []byte {
	if !bytes.HasPrefix(raw, []byte("From ")) {
		return raw
	}
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		return raw[i+1:]
	}
	return raw
}

type textPart struct {
	text string
	html bool
}

type parser struct {
	opts    Options
	m       *Message
	texts   []textPart
	parts   int
	tooMany bool
	broken  []string
}

func (p *parser) note(format string, args ...any) {
	if len(p.m.Notes) < 50 {
		p.m.Notes = append(p.m.Notes, fmt.Sprintf(format, args...))
	}
}

func (p *parser) readHeader(h textproto.Header) {
	m := p.m
	for _, k := range autoHeaders {
		if h.Has(k) {
			m.Headers[k] = strings.TrimSpace(h.Get(k))
		}
	}
	m.Subject = p.decodeText("Subject", h.Get("Subject"))
	m.NormalizedSubject = NormalizeSubject(m.Subject)
	m.MessageID = NormalizeMessageID(h.Get("Message-Id"))
	m.InReplyTo = NormalizeMessageID(h.Get("In-Reply-To"))
	m.References = ParseMessageIDs(h.Get("References"))

	from := p.addresses("From", h.Get("From"))
	if len(from) == 0 {
		from = p.addresses("Sender", h.Get("Sender"))
	}
	if len(from) > 0 {
		m.From = from[0]
		if i := strings.LastIndexByte(m.From.Addr, '@'); i >= 0 {
			m.FromDomain = strings.ToLower(strings.TrimRight(m.From.Addr[i+1:], ".>"))
		}
	}
	m.To = p.addresses("To", h.Get("To"))
	m.Cc = p.addresses("Cc", h.Get("Cc"))
	if v := strings.TrimSpace(h.Get("Date")); v != "" {
		if t, ok := parseDate(v); ok {
			m.Date = t.UTC()
		} else {
			p.note("date: cannot read %q", clip(v, 60))
		}
	}
}

// walk visits one entity. body is positioned after the entity's header.
func (p *parser) walk(h textproto.Header, body io.Reader, path string, depth int) {
	p.parts++
	if p.parts > maxParts {
		if !p.tooMany {
			p.tooMany = true
			p.broken = append(p.broken, fmt.Sprintf("more than %d MIME parts", maxParts))
		}
		return
	}
	label := partLabel(path)
	mediaType, params := p.contentType(h, label)
	disp, dparams := p.disposition(h, label)

	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= maxDepth {
			p.broken = append(p.broken, fmt.Sprintf("%s: multipart nested deeper than %d levels", label, maxDepth))
			return
		}
		p.walkMultipart(mediaType, params, body, path, depth)
		return
	}

	filename := p.filename(h, params, dparams)
	isBodyText := (mediaType == "text/plain" || mediaType == "text/html") &&
		disp != "attachment" && filename == ""
	if isBodyText {
		data, ok := p.readDecoded(h, body, label)
		if !ok {
			return
		}
		text := p.decodeCharset(params["charset"], data, label)
		p.texts = append(p.texts, textPart{text: text, html: mediaType == "text/html"})
		return
	}

	a := Attachment{Filename: filename, ContentType: mediaType, Inline: disp == "inline"}
	if cid := strings.TrimSpace(h.Get("Content-Id")); cid != "" {
		a.ContentID = strings.Trim(cid, "<> ")
	}
	sum := sha256.New()
	n, hashed := p.hashDecoded(h, body, label, sum)
	a.Size, a.HashedBytes = n, hashed
	a.SHA256 = hex.EncodeToString(sum.Sum(nil))
	p.m.Attachments = append(p.m.Attachments, a)
}

func (p *parser) walkMultipart(mediaType string, params map[string]string, body io.Reader, path string, depth int) {
	label := partLabel(path)
	boundary := params["boundary"]
	if boundary == "" {
		p.broken = append(p.broken, fmt.Sprintf("%s: %s has no boundary parameter", label, mediaType))
		// Keep whatever is there as text so a person can still read it.
		data, _ := io.ReadAll(body)
		if len(bytes.TrimSpace(data)) > 0 {
			p.texts = append(p.texts, textPart{text: p.decodeCharset("", data, label)})
		}
		return
	}
	start := len(p.texts)
	mr := textproto.NewMultipartReader(body, boundary)
	i := 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if i == 0 {
				p.broken = append(p.broken, fmt.Sprintf("%s: %s: no part starts with boundary %q (%v)",
					label, mediaType, clip(boundary, 70), shortenErr(err)))
			} else {
				p.broken = append(p.broken, fmt.Sprintf("%s: %s: body ends badly after %d parts (%v)",
					label, mediaType, i, shortenErr(err)))
			}
			break
		}
		i++
		child := fmt.Sprint(i)
		if path != "" {
			child = path + "." + child
		}
		p.walk(part.Header, part, child, depth+1)
		if p.tooMany {
			break
		}
	}
	if i == 0 && len(p.broken) == 0 {
		p.broken = append(p.broken, fmt.Sprintf("%s: %s has no parts", label, mediaType))
	}
	if mediaType == "multipart/alternative" && len(p.texts) > start+1 {
		// Keep the plain alternatives when there are any, else the HTML ones.
		alts := p.texts[start:]
		var plain, html []textPart
		for _, t := range alts {
			if t.html {
				html = append(html, t)
			} else {
				plain = append(plain, t)
			}
		}
		keep := plain
		if len(keep) == 0 {
			keep = html
		}
		p.texts = append(p.texts[:start], keep[:1]...)
	}
}

func partLabel(path string) string {
	if path == "" {
		return "message"
	}
	return "part " + path
}

func (p *parser) contentType(h textproto.Header, label string) (string, map[string]string) {
	v := strings.TrimSpace(h.Get("Content-Type"))
	if v == "" {
		return "text/plain", map[string]string{}
	}
	mt, params, err := mime.ParseMediaType(v)
	if err == nil {
		return strings.ToLower(mt), params
	}
	// Salvage the media type and whatever parameters parse one by one.
	head, rest, _ := strings.Cut(v, ";")
	mt = strings.ToLower(strings.TrimSpace(head))
	if !strings.Contains(mt, "/") {
		p.note("%s: unreadable Content-Type %q, read as text/plain", label, clip(v, 80))
		return "text/plain", map[string]string{}
	}
	params = map[string]string{}
	for _, kv := range strings.Split(rest, ";") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(val), `"`)
	}
	p.note("%s: malformed Content-Type %q (%v), parameters read leniently", label, clip(v, 80), err)
	return mt, params
}

func (p *parser) disposition(h textproto.Header, label string) (string, map[string]string) {
	v := strings.TrimSpace(h.Get("Content-Disposition"))
	if v == "" {
		return "", map[string]string{}
	}
	d, params, err := mime.ParseMediaType(v)
	if err != nil {
		head, rest, _ := strings.Cut(v, ";")
		params = map[string]string{}
		for _, kv := range strings.Split(rest, ";") {
			k, val, ok := strings.Cut(kv, "=")
			if ok {
				params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(val), `"`)
			}
		}
		p.note("%s: malformed Content-Disposition %q", label, clip(v, 80))
		return strings.ToLower(strings.TrimSpace(head)), params
	}
	return strings.ToLower(d), params
}

// filename prefers the Content-Disposition filename (RFC 2231 `filename*=` is decoded
// by mime.ParseMediaType) and falls back to the Content-Type name. Encoded words,
// which many clients put there against the rules, are decoded too.
func (p *parser) filename(h textproto.Header, ctParams, dParams map[string]string) string {
	name := dParams["filename"]
	if cd := h.Get("Content-Disposition"); strings.Contains(strings.ToLower(cd), "filename*") {
		if ext := p.rfc2231Param(cd, "filename"); ext != "" {
			name = ext
		}
	}
	if name == "" {
		name = ctParams["name"]
		if ct := h.Get("Content-Type"); name == "" && strings.Contains(strings.ToLower(ct), "name*") {
			name = p.rfc2231Param(ct, "name")
		}
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return ""
	}
	if strings.Contains(name, "=?") {
		name = p.decodeText("filename", name)
	} else if !utf8.ValidString(name) {
		name = decodeLatin1Fallback([]byte(name))
	}
	return name
}

func (p *parser) finish() {
	m := p.m
	var plain, html []string
	for _, t := range p.texts {
		if t.html {
			html = append(html, t.text)
		} else {
			plain = append(plain, t.text)
		}
	}
	switch {
	case len(plain) > 0:
		m.Text = strings.Join(plain, "\n\n")
	case len(html) > 0:
		conv := make([]string, len(html))
		for i, h := range html {
			conv[i] = HTMLToText(h)
		}
		m.Text = strings.Join(conv, "\n\n")
		m.TextFromHTML = true
	}
	m.Text = strings.TrimSpace(normalizeNewlines(m.Text))
	m.VisibleText = VisibleText(m.Text)
	if len(p.broken) > 0 {
		m.Quarantine = "broken mime: " + strings.Join(p.broken, "; ")
	}
	m.Auto = AutoReason(m.Headers, p.opts)
}

func normalizeNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// shortenErr keeps library errors that quote input lines readable.
func shortenErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if len(msg) <= 160 && utf8.ValidString(msg) {
		return err
	}
	return errors.New(clip(strings.ToValidUTF8(msg, "?"), 160))
}
