package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// Event types a partner may send.
const (
	TypeCreated = "feedback.created"
	TypeUpdated = "feedback.updated"
	TypeComment = "feedback.comment"
)

// Limits on event fields; larger values are schema errors.
const (
	maxIDLen    = 256
	maxTitleLen = 1000
)

// Reporter is the person who gave the feedback, as the partner knows them.
type Reporter struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

// Event is one partner feedback event, the body of a partner webhook and one line of
// a JSONL import. README.md documents the schema.
type Event struct {
	Type         string                     `json:"type"`
	ID           string                     `json:"id"`
	ParentID     string                     `json:"parent_id,omitempty"`
	Title        string                     `json:"title,omitempty"`
	Body         string                     `json:"body,omitempty"`
	SeverityHint string                     `json:"severity_hint,omitempty"`
	Reporter     Reporter                   `json:"reporter"`
	Account      string                     `json:"account,omitempty"`
	URL          string                     `json:"url,omitempty"`
	OccurredAt   time.Time                  `json:"occurred_at"`
	Metadata     map[string]json.RawMessage `json:"metadata,omitempty"`
}

// FieldError is one schema problem: the dotted path of the field and what is wrong.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// SchemaError lists every schema problem of one event. It marshals to the 400
// response body: {"errors":[{"field":"reporter.email","message":"..."}]}.
type SchemaError struct {
	Errors []FieldError `json:"errors"`
}

// Error joins the problems as "field: message; field: message".
func (e *SchemaError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		if fe.Field == "" {
			parts[i] = fe.Message
		} else {
			parts[i] = fe.Field + ": " + fe.Message
		}
	}
	return "invalid event: " + strings.Join(parts, "; ")
}

func (e *SchemaError) add(field, format string, args ...any) {
	e.Errors = append(e.Errors, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// knownFields are the top-level keys of an event; anything else is an error so a typo
// ("titel") does not silently lose data. Extensions go in metadata.
var knownFields = map[string]bool{
	"type": true, "id": true, "parent_id": true, "title": true, "body": true, "severity_hint": true,
	"reporter": true, "account": true, "url": true, "occurred_at": true, "metadata": true,
}

// ParseEvent decodes and validates one event. On a schema problem it returns a
// *SchemaError listing every bad field by its dotted path, not only the first.
func ParseEvent(data []byte) (*Event, error) {
	var se SchemaError
	data = bytes.TrimSpace(data)
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		msg := "body must be a JSON object"
		if err != nil && !json.Valid(data) {
			msg = "body is not valid JSON"
		}
		se.add("", "%s", msg)
		return nil, &se
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !knownFields[k] {
			se.add(k, "unknown field (put extensions in metadata)")
		}
	}
	var ev Event
	str := func(field string, dst *string, required bool) {
		raw, ok := top[field]
		if !ok || string(raw) == "null" {
			if required {
				se.add(field, "required")
			}
			return
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			se.add(field, "must be a string")
		}
	}
	str("type", &ev.Type, true)
	str("id", &ev.ID, true)
	str("parent_id", &ev.ParentID, false)
	str("title", &ev.Title, false)
	str("body", &ev.Body, false)
	str("severity_hint", &ev.SeverityHint, false)
	str("account", &ev.Account, false)
	str("url", &ev.URL, false)
	var occurred string
	str("occurred_at", &occurred, true)

	if raw, ok := top["reporter"]; ok && string(raw) != "null" {
		var rep map[string]json.RawMessage
		if err := json.Unmarshal(raw, &rep); err != nil {
			se.add("reporter", "must be an object with email and name")
		} else {
			for k, v := range rep {
				switch k {
				case "email":
					if json.Unmarshal(v, &ev.Reporter.Email) != nil {
						se.add("reporter.email", "must be a string")
					}
				case "name":
					if json.Unmarshal(v, &ev.Reporter.Name) != nil {
						se.add("reporter.name", "must be a string")
					}
				default:
					se.add("reporter."+k, "unknown field")
				}
			}
		}
	}
	if raw, ok := top["metadata"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &ev.Metadata); err != nil || ev.Metadata == nil {
			se.add("metadata", "must be an object")
		}
	}

	// Field contents.
	switch ev.Type {
	case TypeCreated, TypeUpdated, TypeComment:
	case "":
	default:
		se.add("type", "unknown type %q (want %s, %s or %s)", clip(ev.Type), TypeCreated, TypeUpdated, TypeComment)
	}
	if _, ok := top["id"]; ok {
		checkID(&se, "id", ev.ID)
	}
	if ev.ParentID == "" {
		if raw, ok := ev.Metadata["parent_id"]; ok {
			if json.Unmarshal(raw, &ev.ParentID) != nil {
				se.add("metadata.parent_id", "must be a string")
			}
		}
	}
	if ev.Type == TypeComment {
		if ev.ParentID == "" {
			se.add("parent_id", "required for %s (the id of the feedback this comments on)", TypeComment)
		} else {
			checkID(&se, "parent_id", ev.ParentID)
		}
		if strings.TrimSpace(ev.Body) == "" {
			se.add("body", "required for %s", TypeComment)
		}
	} else if ev.Type != "" && strings.TrimSpace(ev.Title) == "" && strings.TrimSpace(ev.Body) == "" {
		se.add("title", "title or body is required")
	}
	if len(ev.Title) > maxTitleLen {
		se.add("title", "longer than %d bytes", maxTitleLen)
	}
	if ev.SeverityHint != "" {
		if s, err := feedback.ParseSeverity(ev.SeverityHint); err != nil {
			se.add("severity_hint", "unknown severity %q (want low, medium, high or critical)", clip(ev.SeverityHint))
		} else {
			ev.SeverityHint = string(s)
		}
	}
	if ev.Reporter.Email != "" {
		if a, err := mail.ParseAddress(ev.Reporter.Email); err != nil || a.Address != ev.Reporter.Email {
			se.add("reporter.email", "%q is not an email address", clip(ev.Reporter.Email))
		}
	}
	if ev.URL != "" {
		if u, err := url.Parse(ev.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			se.add("url", "%q is not an absolute http(s) URL", clip(ev.URL))
		}
	}
	if occurred != "" {
		t, err := time.Parse(time.RFC3339Nano, occurred)
		if err != nil {
			se.add("occurred_at", "%q is not an RFC 3339 time (2026-01-31T09:30:00Z)", clip(occurred))
		}
		ev.OccurredAt = t.UTC()
	}
	if len(se.Errors) > 0 {
		return nil, &se
	}
	return &ev, nil
}

func checkID(se *SchemaError, field, id string) {
	switch {
	case id == "":
		se.add(field, "must not be empty")
	case len(id) > maxIDLen:
		se.add(field, "longer than %d bytes", maxIDLen)
	case strings.IndexFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		se.add(field, "must not contain spaces or control characters")
	}
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// ExternalID is the record external id of a partner's event or feedback id:
// "partner:id", so one partner can never address another partner's items.
func ExternalID(partner, id string) string { return partner + ":" + id }

// Revision is the record revision of an event: its occurred_at time and a hash of
// its content. A feedback.updated for the same id therefore is a new revision even
// within one second, while the same event delivered again (under another webhook-id,
// or re-imported from a JSONL file) is the same revision and stored once.
func (e *Event) Revision() string {
	h := sha256.New()
	for _, s := range []string{e.Type, e.ID, e.ParentID, e.Title, e.Body, e.SeverityHint,
		e.Reporter.Email, e.Reporter.Name, e.Account, e.URL} {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	keys := make([]string, 0, len(e.Metadata))
	for k := range e.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var buf bytes.Buffer
		if json.Compact(&buf, e.Metadata[k]) != nil {
			buf.Reset()
			buf.Write(e.Metadata[k])
		}
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, buf.Len(), buf.Bytes())
	}
	return e.OccurredAt.UTC().Format(time.RFC3339Nano) + "#" + hex.EncodeToString(h.Sum(nil))[:16]
}

// ticketKeys are the metadata keys that may carry the partner's own ticket id.
var ticketKeys = []string{"ticket_id", "partner_ticket_id", "ticket"}

// Record turns the event into a feedback record of source, attributed to partner.
// raw is kept as the record's raw payload (the exact bytes received).
func (e *Event) Record(source, partner string, raw []byte, receivedAt time.Time) feedback.Record {
	r := feedback.Record{
		Source:      source,
		ExternalID:  ExternalID(partner, e.ID),
		Revision:    e.Revision(),
		Kind:        feedback.KindEvent,
		Author:      e.Reporter.Name,
		AuthorEmail: e.Reporter.Email,
		Title:       e.Title,
		Body:        e.Body,
		URL:         e.URL,
		Meta:        map[string]string{"partner": partner, "event_type": e.Type},
		CreatedAt:   e.OccurredAt,
		UpdatedAt:   e.OccurredAt,
		Raw:         json.RawMessage(raw),
		ReceivedAt:  receivedAt,
	}
	if r.Author == "" {
		r.Author = e.Reporter.Email
	}
	if e.Type == TypeComment {
		r.Kind = feedback.KindComment
		r.ParentExternalID = ExternalID(partner, e.ParentID)
	}
	if e.URL != "" {
		r.Links = []string{e.URL}
	}
	if e.SeverityHint != "" {
		r.Meta["severity_hint"] = e.SeverityHint
	}
	if e.Account != "" {
		r.Meta["account"] = e.Account
	}
	for _, k := range ticketKeys {
		var v any
		if raw, ok := e.Metadata[k]; ok && json.Unmarshal(raw, &v) == nil {
			switch t := v.(type) {
			case string:
				if t != "" {
					r.Meta["partner_ticket"] = t
				}
			case float64:
				r.Meta["partner_ticket"] = strconv.FormatFloat(t, 'f', -1, 64)
			}
			if r.Meta["partner_ticket"] != "" {
				break
			}
		}
	}
	return r
}
