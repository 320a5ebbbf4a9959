package jira

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// Webhook headers Jira sends.
const (
	// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the raw body>" when the
	// admin webhook has a secret.
	SignatureHeader = "X-Hub-Signature"
	// DeliveryHeader identifies a delivery; retries repeat it.
	DeliveryHeader = "X-Atlassian-Webhook-Identifier"
)

// Webhook events this package turns into records.
const (
	EventIssueCreated   = "jira:issue_created"
	EventIssueUpdated   = "jira:issue_updated"
	EventIssueDeleted   = "jira:issue_deleted"
	EventCommentCreated = "comment_created"
	EventCommentUpdated = "comment_updated"
	EventCommentDeleted = "comment_deleted"
)

// webhookBody is the part of a Jira webhook body the handler reads.
type webhookBody struct {
	WebhookEvent string          `json:"webhookEvent"`
	Timestamp    json.RawMessage `json:"timestamp"`
	Issue        json.RawMessage `json:"issue"`
	Comment      json.RawMessage `json:"comment"`
}

// WebhookHandler returns the handler for /hooks/jira. It checks the signature over
// the raw body before parsing anything (when a secret is configured; a missing or
// wrong signature gets 401), caps the body (413), answers 202 to events it does not
// handle, and hands the records of each delivery to sink under the delivery id from
// X-Atlassian-Webhook-Identifier. Without that header the id is derived from the
// event name, the body's timestamp, and the issue and comment ids ("derived:<hash>"),
// so a retry of the same event still deduplicates. A sink failure gets 500 so that
// Jira retries.
func (c *Connector) WebhookHandler(sink connectors.Sink) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.set.maxBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				http.Error(w, fmt.Sprintf("body larger than %d bytes", c.set.maxBodyBytes), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if c.set.webhookSecret != nil && !validSignature(c.set.webhookSecret, body, r.Header.Get(SignatureHeader)) {
			c.log.Warn("jira webhook with a missing or wrong signature; rejected", "source", c.set.name)
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		var wb webhookBody
		if err := json.Unmarshal(body, &wb); err != nil {
			http.Error(w, "body is not JSON", http.StatusBadRequest)
			return
		}
		recs, handled, err := c.webhookRecords(r.Context(), wb)
		if err != nil {
			c.log.Warn("jira webhook not understood", "source", c.set.name, "event", wb.WebhookEvent, "err", err)
			http.Error(w, "bad payload: "+err.Error(), http.StatusBadRequest)
			return
		}
		if !handled {
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, "event %q ignored\n", wb.WebhookEvent)
			return
		}
		id := r.Header.Get(DeliveryHeader)
		if id == "" {
			id = derivedDeliveryID(wb)
		}
		dup, err := sink.Deliver(r.Context(), c.set.name, id, recs)
		if err != nil {
			c.log.Error("jira webhook not stored", "source", c.set.name, "delivery", id, "err", err)
			http.Error(w, "not stored; retry later", http.StatusInternalServerError)
			return
		}
		if dup {
			fmt.Fprintln(w, "duplicate delivery")
			return
		}
		fmt.Fprintf(w, "stored %d records\n", len(recs))
	})
}

// validSignature checks "sha256=<hex>" against the HMAC-SHA256 of body in constant time.
func validSignature(secret, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Sign returns the X-Hub-Signature value Jira sends for body under secret. Tests and
// tools that replay deliveries use it.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// derivedDeliveryID is a stable id for a delivery without X-Atlassian-Webhook-Identifier.
func derivedDeliveryID(wb webhookBody) string {
	var ids struct {
		ID string `json:"id"`
	}
	var cid struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(wb.Issue, &ids)
	_ = json.Unmarshal(wb.Comment, &cid)
	h := sha256.Sum256([]byte(strings.Join([]string{wb.WebhookEvent, string(wb.Timestamp), ids.ID, cid.ID}, "\x00")))
	return "derived:" + hex.EncodeToString(h[:16])
}

// webhookRecords maps a delivery to records; handled is false for events this
// package does not take.
func (c *Connector) webhookRecords(ctx context.Context, wb webhookBody) (recs []feedback.Record, handled bool, err error) {
	now := c.clock.Now().UTC()
	at := webhookTime(wb.Timestamp, now)
	switch wb.WebhookEvent {
	case EventIssueCreated, EventIssueUpdated, EventIssueDeleted:
		if len(wb.Issue) == 0 {
			return nil, false, errors.New("no issue in the body")
		}
		iss, err := decodeIssue(wb.Issue)
		if err != nil {
			return nil, false, err
		}
		r := c.issueRecord(iss, wb.Issue, now)
		if wb.WebhookEvent == EventIssueDeleted {
			r = tombstone(r, at)
		} else if r.UpdatedAt.IsZero() {
			return nil, false, fmt.Errorf("issue %s has no updated time", iss.Key)
		}
		recs = append(recs, r)
		// issue_commented and friends carry the comment too.
		if len(wb.Comment) > 0 && wb.WebhookEvent != EventIssueDeleted {
			cm, err := decodeComment(wb.Comment)
			if err != nil {
				return nil, false, err
			}
			recs = append(recs, c.commentRecord(cm, iss.Key, iss.ID, now))
		}
		return recs, true, nil
	case EventCommentCreated, EventCommentUpdated, EventCommentDeleted:
		if len(wb.Comment) == 0 {
			return nil, false, errors.New("no comment in the body")
		}
		cm, err := decodeComment(wb.Comment)
		if err != nil {
			return nil, false, err
		}
		key, issueID := c.commentIssue(ctx, wb, cm)
		r := c.commentRecord(cm, key, issueID, now)
		if wb.WebhookEvent == EventCommentDeleted {
			r = tombstone(r, at)
		} else if cm.updated.IsZero() {
			return nil, false, fmt.Errorf("comment %s has no created or updated time", cm.ID)
		}
		return []feedback.Record{r}, true, nil
	}
	return nil, false, nil
}

// tombstone turns r into a deletion record. Its revision differs from every live
// revision, so intake stores it.
func tombstone(r feedback.Record, at time.Time) feedback.Record {
	r.Deleted = true
	r.Revision = "deleted@" + revision(at)
	r.UpdatedAt = at
	return r
}

// webhookTime reads the body's timestamp (epoch milliseconds; some senders quote
// it), falling back to now.
func webhookTime(raw json.RawMessage, now time.Time) time.Time {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).UTC()
	}
	return now
}

var commentSelfRE = regexp.MustCompile(`/issue/([0-9]+)/comment/`)

// commentIssue finds the key and id of the issue a comment event is about. Jira
// Cloud sends the issue with comment events; older senders only the comment, whose
// self URL holds the issue id; then the key is looked up with one GET (failures are
// logged, and the comment is stored with no parent, as an orphan record).
func (c *Connector) commentIssue(ctx context.Context, wb webhookBody, cm commentJSON) (key, id string) {
	if len(wb.Issue) > 0 {
		var iss struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		}
		if json.Unmarshal(wb.Issue, &iss) == nil && iss.Key != "" {
			return iss.Key, iss.ID
		}
	}
	m := commentSelfRE.FindStringSubmatch(cm.Self)
	if m == nil {
		c.log.Warn("jira comment event names no issue", "source", c.set.name, "comment", cm.ID)
		return "", ""
	}
	id = m[1]
	var iss struct {
		Key string `json:"key"`
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	path := c.set.apiPath("issue/"+url.PathEscape(id)) + "?fields=key"
	err := c.get(ctx, c.hookAPI, path, &iss)
	if err == nil && iss.Key == "" {
		err = errors.New("answer has no key")
	}
	if err != nil {
		c.log.Warn("jira comment event: issue key look-up failed; stored without parent", "source", c.set.name,
			"comment", cm.ID, "issue_id", id, "err", c.explain("look up issue "+id, err))
		return "", id
	}
	return iss.Key, id
}
