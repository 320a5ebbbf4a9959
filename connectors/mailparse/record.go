package mailparse

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// RawExternalID is the stable ExternalID of a message without a Message-ID (or one
// that did not parse): "sha256:" and the hex digest of the raw bytes.
func RawExternalID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ToRecord turns a parsed message into the record a connector emits. receivedAt is
// when the message arrived (IMAP INTERNALDATE, file import time); it becomes
// ReceivedAt and stands in for CreatedAt when the Date header is missing. The body is
// the visible text, or the whole text when nothing is left after removing quotes.
func ToRecord(source string, m *Message, raw []byte, receivedAt time.Time) feedback.Record {
	if m == nil {
		return QuarantineRecord(source, raw, "mailparse: no parsed message", receivedAt)
	}
	r := feedback.Record{
		Source:      source,
		ExternalID:  m.MessageID,
		Revision:    "1",
		Kind:        feedback.KindEmail,
		Author:      m.From.Addr,
		AuthorEmail: m.From.Addr,
		Title:       m.Subject,
		Body:        m.VisibleText,
		CreatedAt:   m.Date,
		ReceivedAt:  receivedAt.UTC(),
		Meta:        map[string]string{},
	}
	if r.ExternalID == "" {
		r.ExternalID = RawExternalID(raw)
		r.Meta["external_id_from"] = "sha256 of raw message (no Message-ID)"
	} else if strings.IndexByte(r.ExternalID, 0) >= 0 {
		// A record identity may not hold a NUL byte; the message is kept under the
		// hash of its bytes instead of failing its whole batch.
		r.ExternalID = RawExternalID(raw)
		r.Meta["external_id_from"] = "sha256 of raw message (Message-ID has a NUL byte)"
	}
	if r.Body == "" && m.Text != "" {
		r.Body = m.Text
		r.Meta["body"] = "full text (nothing visible after removing quotes and signatures)"
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = receivedAt.UTC()
	}
	r.UpdatedAt = r.CreatedAt
	if m.InReplyTo != "" {
		r.ThreadRefs = append(r.ThreadRefs, m.InReplyTo)
	}
	for _, id := range m.References {
		if id != m.InReplyTo {
			r.ThreadRefs = append(r.ThreadRefs, id)
		}
	}
	setMeta(r.Meta, "from_name", m.From.Name)
	setMeta(r.Meta, "from_domain", m.FromDomain)
	setMeta(r.Meta, "normalized_subject", m.NormalizedSubject)
	setMeta(r.Meta, "in_reply_to", m.InReplyTo)
	setMeta(r.Meta, "message_id", m.MessageID)
	if len(m.To) > 0 {
		to := make([]string, len(m.To))
		for i, a := range m.To {
			to[i] = a.Addr
		}
		setMeta(r.Meta, "to", strings.Join(to, ", "))
	}
	if len(m.Attachments) > 0 {
		r.Meta["attachments"] = attachmentSummary(m.Attachments)
		r.Meta["attachments_count"] = strconv.Itoa(len(m.Attachments))
	}
	if m.TextFromHTML {
		r.Meta["text_source"] = "text/html"
	}
	if len(m.Notes) > 0 {
		r.Meta["parse_notes"] = strings.Join(m.Notes, "; ")
	}
	r.Meta["size"] = strconv.Itoa(len(raw))
	switch {
	case m.Auto != "" && m.Quarantine != "":
		r.Quarantine = m.Auto + "; " + m.Quarantine
	case m.Auto != "":
		r.Quarantine = m.Auto
	default:
		r.Quarantine = m.Quarantine
	}
	r.Raw, r.Meta["raw_encoding"] = EncodeRaw(raw)
	if r.Meta["raw_encoding"] == "" {
		delete(r.Meta, "raw_encoding")
	}
	return r
}

// QuarantineRecord keeps a message that could not be parsed, so nothing is lost: it is
// identified by the hash of its bytes, carries reason as Quarantine and the raw bytes.
func QuarantineRecord(source string, raw []byte, reason string, receivedAt time.Time) feedback.Record {
	if reason == "" {
		reason = "unparseable message"
	}
	r := feedback.Record{
		Source:     source,
		ExternalID: RawExternalID(raw),
		Revision:   "1",
		Kind:       feedback.KindEmail,
		Quarantine: reason,
		CreatedAt:  receivedAt.UTC(),
		UpdatedAt:  receivedAt.UTC(),
		ReceivedAt: receivedAt.UTC(),
		Meta:       map[string]string{"size": strconv.Itoa(len(raw))},
	}
	var enc string
	r.Raw, enc = EncodeRaw(raw)
	setMeta(r.Meta, "raw_encoding", enc)
	return r
}

// Convert parses raw and returns its record, or a quarantine record naming the parse
// error. The message is nil when parsing failed.
func Convert(source string, raw []byte, opts Options, receivedAt time.Time) (feedback.Record, *Message) {
	m, err := Parse(raw, opts)
	if err != nil {
		return QuarantineRecord(source, raw, err.Error(), receivedAt), nil
	}
	return ToRecord(source, m, raw, receivedAt), m
}

// rawBase64 is the JSON shape of a raw message that is not valid UTF-8.
type rawBase64 struct {
	Base64 string `json:"base64"`
}

// EncodeRaw stores a raw message as a JSON string when it is valid UTF-8 (the usual
// case), and otherwise as {"base64": "..."} so no byte is lost; the second result is
// "base64" in that case and "" otherwise.
func EncodeRaw(raw []byte) (json.RawMessage, string) {
	if utf8.Valid(raw) {
		b, err := json.Marshal(string(raw))
		if err == nil {
			return b, ""
		}
	}
	b, _ := json.Marshal(rawBase64{Base64: base64.StdEncoding.EncodeToString(raw)})
	return b, "base64"
}

// DecodeRaw returns the raw message bytes stored by EncodeRaw.
func DecodeRaw(j json.RawMessage) ([]byte, error) {
	if len(j) == 0 {
		return nil, errors.New("mailparse: decode raw: empty")
	}
	var s string
	if err := json.Unmarshal(j, &s); err == nil {
		return []byte(s), nil
	}
	var b rawBase64
	if err := json.Unmarshal(j, &b); err != nil {
		return nil, fmt.Errorf("mailparse: decode raw: %w", err)
	}
	out, err := base64.StdEncoding.DecodeString(b.Base64)
	if err != nil {
		return nil, fmt.Errorf("mailparse: decode raw: %w", err)
	}
	return out, nil
}

// attachmentSummary is the JSON list of attachments kept in a record's meta.
func attachmentSummary(as []Attachment) string {
	b, err := json.Marshal(as)
	if err != nil {
		return fmt.Sprintf("%d attachments", len(as))
	}
	return string(b)
}

func setMeta(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}
