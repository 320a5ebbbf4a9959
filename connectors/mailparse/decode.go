package mailparse

import (
	"bytes"
	"encoding/base64"
	"hash"
	"io"
	"mime"
	netmail "net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// readDecoded reads a part body and undoes its Content-Transfer-Encoding.
func (p *parser) readDecoded(h textproto.Header, body io.Reader, label string) ([]byte, bool) {
	raw, err := io.ReadAll(body)
	if err != nil {
		p.broken = append(p.broken, label+": body cut short: "+shortenErr(err).Error())
		if len(raw) == 0 {
			return nil, false
		}
	}
	return p.decodeTransfer(h.Get("Content-Transfer-Encoding"), raw, label), true
}

// hashDecoded feeds up to MaxAttachmentBytes of the decoded body to sum and returns
// the decoded size and the number of bytes hashed.
func (p *parser) hashDecoded(h textproto.Header, body io.Reader, label string, sum hash.Hash) (size, hashed int64) {
	data, ok := p.readDecoded(h, body, label)
	if !ok {
		return 0, 0
	}
	size = int64(len(data))
	hashed = size
	if hashed > p.opts.MaxAttachmentBytes {
		hashed = p.opts.MaxAttachmentBytes
	}
	sum.Write(data[:hashed])
	return size, hashed
}

func (p *parser) decodeTransfer(cte string, raw []byte, label string) []byte {
	switch enc := strings.ToLower(strings.TrimSpace(cte)); enc {
	case "", "7bit", "8bit", "binary":
		return raw
	case "base64":
		out, bad := decodeBase64(raw)
		if bad != "" {
			p.note("%s: base64: %s", label, bad)
		}
		return out
	case "quoted-printable":
		return decodeQP(raw)
	default:
		p.note("%s: unknown Content-Transfer-Encoding %q, body kept as is", label, clip(enc, 40))
		return raw
	}
}

// decodeBase64 ignores anything outside the alphabet (line breaks, stray spaces) and
// missing padding, which real mail is full of.
func decodeBase64(raw []byte) ([]byte, string) {
	clean := make([]byte, 0, len(raw))
	var skipped int
	for _, c := range raw {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		case c == '=' || c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			skipped++
		}
	}
	var problem string
	if skipped > 0 {
		problem = "ignored characters outside the base64 alphabet"
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
		problem = "content length is not a multiple of 4; last character dropped"
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err := base64.RawStdEncoding.Decode(out, clean)
	if err != nil && problem == "" {
		problem = err.Error()
	}
	return out[:n], problem
}

// decodeQP decodes quoted-printable leniently: a malformed escape stays literal.
func decodeQP(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		// Soft line break: "=" then optional trailing blanks then a newline.
		j := i + 1
		for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t') {
			j++
		}
		if j < len(raw) && (raw[j] == '\n' || raw[j] == '\r') {
			if raw[j] == '\r' && j+1 < len(raw) && raw[j+1] == '\n' {
				j++
			}
			i = j
			continue
		}
		if j == len(raw) {
			i = j
			continue
		}
		if i+2 < len(raw) {
			hi, ok1 := unhex(raw[i+1])
			lo, ok2 := unhex(raw[i+2])
			if ok1 && ok2 {
				out = append(out, hi<<4|lo)
				i += 2
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// charsetQuirks covers labels seen in real mail that the IANA and WHATWG indexes
// do not resolve, or resolve to a narrower charset than senders actually use.
var charsetQuirks = map[string]encoding.Encoding{
	"cp932":          japanese.ShiftJIS,
	"windows-31j":    japanese.ShiftJIS,
	"ms932":          japanese.ShiftJIS,
	"x-sjis":         japanese.ShiftJIS,
	"gb2312":         simplifiedchinese.GBK, // senders label GBK text as GB2312
	"x-gbk":          simplifiedchinese.GBK,
	"cp936":          simplifiedchinese.GBK,
	"ks_c_5601-1987": korean.EUCKR,
	"cp949":          korean.EUCKR,
	"iso-8859-1":     charmap.Windows1252, // cp1252 is what "latin-1" mail really holds
	"latin1":         charmap.Windows1252,
	"cp1252":         charmap.Windows1252,
	"cp1251":         charmap.Windows1251,
	"cp1250":         charmap.Windows1250,
}

// lookupCharset returns a decoder for label, or nil for labels meaning UTF-8/ASCII.
func lookupCharset(label string) (encoding.Encoding, bool, error) {
	switch label {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "x-utf-8", "ansi_x3.4-1968":
		return nil, true, nil
	}
	if enc, ok := charsetQuirks[label]; ok {
		return enc, true, nil
	}
	// go-message's charset package knows the IANA and WHATWG names.
	if _, err := charset.Reader(label, bytes.NewReader(nil)); err != nil {
		return nil, false, err
	}
	return nil, false, nil
}

func cleanLabel(label string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
}

// decodeCharset converts a text body to UTF-8. It never fails: bytes in an unknown
// charset, or invalid for the declared one, are read as UTF-8 when valid and as
// windows-1252 (a superset of latin-1) otherwise, with a note.
func (p *parser) decodeCharset(label string, data []byte, where string) string {
	label = cleanLabel(label)
	s, problem := toUTF8(label, data)
	if problem != "" {
		p.note("%s: %s", where, problem)
	}
	return s
}

func toUTF8(label string, data []byte) (string, string) {
	enc, quirk, err := lookupCharset(label)
	switch {
	case err != nil:
		return fallbackText(data), "unknown charset " + quoteLabel(label) + ", " + fallbackWhat(data)
	case enc == nil && !quirk:
		r, err := charset.Reader(label, bytes.NewReader(data))
		if err == nil {
			out, rerr := io.ReadAll(r)
			if rerr == nil {
				return strings.ToValidUTF8(string(out), "\uFFFD"), ""
			}
		}
		return fallbackText(data), "cannot decode charset " + quoteLabel(label) + ", " + fallbackWhat(data)
	case enc == nil: // UTF-8 or ASCII declared (or nothing declared)
		if utf8.Valid(data) {
			return string(data), ""
		}
		what := "us-ascii (no charset)"
		if label != "" {
			what = quoteLabel(label)
		}
		return decodeLatin1Fallback(data), "body is not valid " + what + "; read as windows-1252"
	default:
		out, err := enc.NewDecoder().Bytes(data)
		if err != nil {
			return fallbackText(data), "bytes invalid for charset " + quoteLabel(label) + ", " + fallbackWhat(data)
		}
		return strings.ToValidUTF8(string(out), "\uFFFD"), ""
	}
}

func quoteLabel(l string) string { return `"` + clip(strings.ToValidUTF8(l, "?"), 40) + `"` }

func fallbackText(data []byte) string {
	if utf8.Valid(data) {
		return string(data)
	}
	return decodeLatin1Fallback(data)
}

func fallbackWhat(data []byte) string {
	if utf8.Valid(data) {
		return "read as utf-8"
	}
	return "read as windows-1252"
}

// decodeLatin1Fallback reads bytes as windows-1252, which maps every byte.
func decodeLatin1Fallback(data []byte) string {
	out, err := charmap.Windows1252.NewDecoder().Bytes(data)
	if err != nil {
		return strings.ToValidUTF8(string(data), "\uFFFD")
	}
	return string(out)
}

// wordCharsetReader serves mime.WordDecoder; unknown charsets degrade to windows-1252
// rather than failing the whole header.
func (p *parser) wordCharsetReader(field string) func(string, io.Reader) (io.Reader, error) {
	return func(label string, input io.Reader) (io.Reader, error) {
		label = cleanLabel(label)
		data, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		s, problem := toUTF8(label, data)
		if problem != "" {
			p.note("%s header: %s", field, problem)
		}
		return strings.NewReader(s), nil
	}
}

// decodeText decodes RFC 2047 encoded words in an unstructured header value.
func (p *parser) decodeText(field, v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if !utf8.ValidString(v) {
		// Raw 8-bit header: assume windows-1252, the usual culprit.
		p.note("%s header: raw 8-bit bytes, read as windows-1252", field)
		v = decodeLatin1Fallback([]byte(v))
	}
	if !strings.Contains(v, "=?") {
		return collapseSpace(v)
	}
	dec := mime.WordDecoder{CharsetReader: p.wordCharsetReader(field)}
	out, err := dec.DecodeHeader(v)
	if err != nil {
		p.note("%s header: %v; kept undecoded", field, shortenErr(err))
		return collapseSpace(v)
	}
	return collapseSpace(strings.ToValidUTF8(out, "\uFFFD"))
}

func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

var angleAddr = regexp.MustCompile(`<([^<>\s]+@[^<>\s]+)>`)
var bareAddr = regexp.MustCompile(`[^\s<>"',;:()]+@[^\s<>"',;:()]+`)

// addresses parses an address list, falling back to picking out anything that looks
// like an address when the list is not RFC 5322 compliant.
func (p *parser) addresses(field, v string) []Address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if !utf8.ValidString(v) {
		v = decodeLatin1Fallback([]byte(v))
	}
	list, err := mail.ParseAddressList(v)
	if err == nil && len(list) > 0 {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			out = append(out, Address{Name: collapseSpace(a.Name), Addr: normalizeAddr(a.Address)})
		}
		return out
	}
	// Lenient pass.
	var out []Address
	for _, chunk := range strings.Split(v, ",") {
		chunk = strings.TrimSpace(chunk)
		var addr, name string
		if m := angleAddr.FindStringSubmatchIndex(chunk); m != nil {
			addr = chunk[m[2]:m[3]]
			name = strings.Trim(strings.TrimSpace(chunk[:m[0]]), `"' `)
		} else if m := bareAddr.FindString(chunk); m != "" {
			addr = m
		}
		if addr == "" {
			continue
		}
		if strings.Contains(name, "=?") {
			name = p.decodeText(field, name)
		}
		out = append(out, Address{Name: collapseSpace(name), Addr: normalizeAddr(addr)})
	}
	if len(out) == 0 {
		p.note("%s header: no address in %q", field, clip(v, 60))
	} else if err != nil {
		p.note("%s header: not RFC 5322 (%v), read leniently", field, shortenErr(err))
	}
	return out
}

// normalizeAddr lower-cases the domain of an address and leaves the local part alone.
func normalizeAddr(a string) string {
	a = strings.Trim(strings.TrimSpace(a), "<>")
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return a
	}
	return a[:i+1] + strings.ToLower(a[i+1:])
}

var extraDateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon, 02 Jan 2006 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	time.RFC3339,
	"2006-01-02 15:04:05 -0700",
}

func parseDate(v string) (time.Time, bool) {
	if t, err := netmail.ParseDate(v); err == nil {
		return t, true
	}
	v = collapseSpace(v)
	for _, l := range extraDateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ParseMessageIDs extracts message identifiers from a Message-ID, In-Reply-To or
// References value and returns them in angle brackets, in order, without duplicates.
// Identifiers written without brackets are accepted when they contain an "@".
func ParseMessageIDs(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		id = strings.TrimSpace(id)
		if id == "" || len(id) > 998 || seen[id] {
			return
		}
		seen[id] = true
		ids = append(ids, "<"+id+">")
	}
	rest := v
	found := false
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			break
		}
		found = true
		add(strings.Join(strings.Fields(rest[i+1:i+j]), ""))
		rest = rest[i+j+1:]
	}
	if !found {
		for _, f := range strings.Fields(v) {
			f = strings.Trim(f, "<>,;")
			if strings.Contains(f, "@") {
				add(f)
			}
		}
	}
	return ids
}

// NormalizeMessageID returns id in the "<id@host>" form Message uses, or "" when id
// holds no identifier.
func NormalizeMessageID(id string) string {
	ids := ParseMessageIDs(id)
	if len(ids) == 0 {
		t := strings.Trim(strings.TrimSpace(id), "<>")
		if t == "" || strings.ContainsAny(t, " \t\r\n<>") {
			return ""
		}
		return "<" + t + ">"
	}
	return ids[0]
}

// rfc2231Param reads parameter key from a raw Content-Type or Content-Disposition
// value, joining RFC 2231 continuations (key*0*, key*1, ...) and decoding the charset
// named in the first extended piece with the same charset table as bodies; the
// standard library only accepts UTF-8 and US-ASCII there.
func (p *parser) rfc2231Param(v, key string) string {
	type piece struct {
		val string
		enc bool
	}
	pieces := map[int]piece{}
	for _, seg := range splitParams(v) {
		k, val, ok := strings.Cut(seg, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = unquoteParam(strings.TrimSpace(val))
		if !strings.HasPrefix(k, key+"*") {
			continue
		}
		rest := k[len(key)+1:]
		if rest == "" {
			pieces[0] = piece{val, true}
			continue
		}
		enc := strings.HasSuffix(rest, "*")
		rest = strings.TrimSuffix(rest, "*")
		n := 0
		for _, c := range rest {
			if c < '0' || c > '9' || n > 1000 {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n >= 0 && rest != "" {
			pieces[n] = piece{val, enc}
		}
	}
	if len(pieces) == 0 {
		return ""
	}
	var label string
	var buf []byte
	for i := 0; i < len(pieces); i++ {
		pc, ok := pieces[i]
		if !ok {
			break
		}
		val := pc.val
		if i == 0 && pc.enc {
			// charset'language'value
			parts := strings.SplitN(val, "'", 3)
			if len(parts) == 3 {
				label, val = cleanLabel(parts[0]), parts[2]
			}
		}
		if pc.enc {
			buf = append(buf, percentDecode(val)...)
		} else {
			buf = append(buf, val...)
		}
	}
	s, problem := toUTF8(label, buf)
	if problem != "" {
		p.note("%s parameter: %s", key, problem)
	}
	return s
}

func splitParams(v string) []string {
	var out []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(v):
			cur.WriteByte(c)
			cur.WriteByte(v[i+1])
			i++
			continue
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	return append(out, cur.String())
}

func unquoteParam(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
		v = strings.ReplaceAll(v, `\"`, `"`)
		v = strings.ReplaceAll(v, `\\`, `\`)
	}
	return v
}

func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				out = append(out, hi<<4|lo)
				i += 2
				continue
			}
		}
		out = append(out, s[i])
	}
	return out
}
