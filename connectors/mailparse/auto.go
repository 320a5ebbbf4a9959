package mailparse

import (
	"mime"
	"strings"
)

// AutoReason says why a message with these header fields was sent by a machine or a
// list rather than by a person, or returns "" for a message to treat as feedback.
// headers is keyed by canonical field name as in Message.Headers, so a connector can
// call it on headers fetched before the body. Checked, in order (RFC 3834 and common
// practice): Auto-Submitted other than "no", X-Autoreply, X-Autorespond, Precedence
// bulk/junk/list, List-Id, an empty Return-Path (bounces), multipart/report, and,
// when enabled, X-Auto-Response-Suppress.
func AutoReason(headers map[string]string, opts Options) string {
	get := func(k string) (string, bool) {
		v, ok := headers[k]
		return strings.TrimSpace(v), ok
	}
	if v, ok := get("Auto-Submitted"); ok {
		token := strings.ToLower(strings.TrimSpace(strings.SplitN(v, ";", 2)[0]))
		if token != "no" && token != "" {
			return "auto-submitted: " + clip(token, 60)
		}
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder"} {
		if v, ok := get(k); ok {
			return strings.ToLower(k) + ": " + clip(orYes(v), 60)
		}
	}
	if v, ok := get("Precedence"); ok {
		switch p := strings.ToLower(v); p {
		case "bulk", "junk", "auto_reply":
			return "precedence: " + p
		case "list":
			if !opts.AllowMailingLists {
				return "precedence: list"
			}
		}
	}
	if v, ok := get("List-Id"); ok && !opts.AllowMailingLists {
		return "list-id: " + clip(v, 80)
	}
	if v, ok := get("Return-Path"); ok {
		if strings.Trim(v, "<> \t") == "" {
			return "return-path: <> (bounce or automatic message)"
		}
	}
	if v, ok := get("Content-Type"); ok {
		mt, params, err := mime.ParseMediaType(v)
		if err != nil {
			mt, _, _ = strings.Cut(v, ";")
		}
		if strings.EqualFold(strings.TrimSpace(mt), "multipart/report") {
			r := "multipart/report (bounce or delivery report)"
			if rt := params["report-type"]; rt != "" {
				r = "multipart/report; report-type=" + clip(strings.ToLower(rt), 40) + " (bounce or delivery report)"
			}
			return r
		}
	}
	if v, ok := get("X-Failed-Recipients"); ok && v != "" {
		return "x-failed-recipients: " + clip(v, 80) + " (bounce)"
	}
	if v, ok := get("X-Auto-Response-Suppress"); ok && opts.AutoResponseSuppress {
		return "x-auto-response-suppress: " + clip(orYes(v), 60)
	}
	return ""
}

func orYes(v string) string {
	if v == "" {
		return "yes"
	}
	return v
}
