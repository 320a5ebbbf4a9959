package normalize

import "strings"

type wordAt struct {
	w  string
	at int // byte offset in the text
}

func isSigWordByte(c byte) bool {
	return isWordByte(c) || c == '.' || c == '$' || c == '-' || c >= 0x80
}

// forEachWord calls fn for each run of letters, digits and . $ - _ with trailing
// dots and dashes trimmed.
func forEachWord(text string, fn func(w string, at int)) {
	i := 0
	for i < len(text) {
		for i < len(text) && !isSigWordByte(text[i]) {
			i++
		}
		j := i
		for j < len(text) && isSigWordByte(text[j]) {
			j++
		}
		w := strings.TrimRight(text[i:j], ".-")
		if w != "" {
			fn(w, i)
		}
		i = j
	}
}

var exceptionSuffixes = []string{"Exception", "Error", "Throwable", "Fault", "Panic"}

// exceptionName returns the simple class name of an exception-like identifier
// ("java.io.IOException" -> "IOException"), or "".
func exceptionName(w string) string {
	if j := strings.LastIndexAny(w, ".$"); j >= 0 {
		w = w[j+1:]
	}
	if w == "" || w[0] < 'A' || w[0] > 'Z' {
		return ""
	}
	for _, suf := range exceptionSuffixes {
		if strings.HasSuffix(w, suf) && len(w) > len(suf) {
			for i := 0; i < len(w); i++ {
				if !isWordByte(w[i]) {
					return ""
				}
			}
			return w
		}
	}
	return ""
}

var errnoNames = map[string]bool{
	"ECONNREFUSED": true, "ECONNRESET": true, "ECONNABORTED": true, "ETIMEDOUT": true, "ENOENT": true,
	"EACCES": true, "EPERM": true, "ENOSPC": true, "EADDRINUSE": true, "EPIPE": true, "EHOSTUNREACH": true,
	"ENETUNREACH": true, "ENOMEM": true, "EEXIST": true, "EINVAL": true, "EAGAIN": true, "EBADF": true,
	"EMFILE": true, "EROFS": true, "EIO": true,
}

// errorCode recognises ORA-00942 (2-6 capitals, dash, 3-5 digits; prefixes in skip
// are Jira projects), E1234 (1-4 capitals and 3-5 digits) and errno names.
func errorCode(w string, skip map[string]bool) string {
	if errnoNames[w] {
		return w
	}
	caps := 0
	for caps < len(w) && w[caps] >= 'A' && w[caps] <= 'Z' {
		caps++
	}
	if caps == 0 {
		return ""
	}
	rest := w[caps:]
	dash := false
	if strings.HasPrefix(rest, "-") {
		dash = true
		rest = rest[1:]
	}
	if len(rest) < 3 || len(rest) > 5 {
		return ""
	}
	for i := 0; i < len(rest); i++ {
		if !isDigitByte(rest[i]) {
			return ""
		}
	}
	prefix := w[:caps]
	switch {
	case dash && caps >= 2 && caps <= 6:
		if skip[prefix] || prefix == "RC" || prefix == "UTF" || prefix == "SHA" || prefix == "ISO" || prefix == "CVE" {
			return ""
		}
		return w
	case !dash && caps <= 4:
		if prefix == "HTTP" || prefix == "UTF" || prefix == "SHA" || prefix == "ISO" || prefix == "MD" {
			return ""
		}
		return w
	}
	return ""
}

var httpReasons = []string{"bad request", "unauthorized", "forbidden", "not found", "method not allowed", "conflict",
	"gone", "too many requests", "internal server error", "bad gateway", "service unavailable", "gateway timeout"}

var httpCues = []string{"http", "status", "status code", "response", "response code", "returned", "got"}

// httpStatus recognises a 1xx-5xx number preceded by an HTTP cue ("HTTP 503",
// "status code: 404") or followed by its reason phrase ("404 Not Found").
func httpStatus(text, lower string, w wordAt) string {
	s := w.w
	if len(s) != 3 || s[0] < '1' || s[0] > '5' || !isDigitByte(s[1]) || !isDigitByte(s[2]) {
		return ""
	}
	if w.at > 0 && (isWordByte(text[w.at-1]) || text[w.at-1] == '.') {
		return ""
	}
	before := strings.TrimRight(lower[max(0, w.at-16):w.at], " :=/#")
	for _, c := range httpCues {
		if strings.HasSuffix(before, c) || (c == "http" && strings.Contains(before, "http/")) {
			return s
		}
	}
	after := strings.TrimLeft(lower[min(len(lower), w.at+3):min(len(lower), w.at+30)], " ")
	for _, r := range httpReasons {
		if strings.HasPrefix(after, r) {
			return s
		}
	}
	return ""
}

var hostTLDs = map[string]bool{"com": true, "net": true, "org": true, "io": true, "dev": true, "app": true,
	"cloud": true, "local": true, "internal": true, "lan": true, "corp": true, "edu": true, "gov": true,
	"co": true, "ai": true, "us": true, "uk": true, "de": true, "fr": true, "jp": true, "cn": true}

// hostName recognises lower-case dotted names ending in a common TLD, without a
// port, that are not Java package paths (org.apache...).
func hostName(w wordAt) string {
	h := w.w
	if strings.Count(h, ".") < 1 {
		return ""
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || isDigitByte(c) || c == '.' || c == '-') {
			return ""
		}
	}
	tld := h[strings.LastIndexByte(h, '.')+1:]
	if !hostTLDs[tld] || looksLikeJavaPackage(h) {
		return ""
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return ""
		}
	}
	return h
}

// hasDigitDotDigit reports whether text contains a digit, a dot and a digit in a row.
func hasDigitDotDigit(s string) bool {
	for i := 1; i+1 < len(s); i++ {
		if s[i] == '.' && isDigitByte(s[i-1]) && isDigitByte(s[i+1]) {
			return true
		}
	}
	return false
}
