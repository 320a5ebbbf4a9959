package sync

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// Notification channels.
const (
	ChannelEmail    = "email"
	ChannelGitHub   = "github"
	ChannelJira     = "jira"
	ChannelCallback = "callback"
	ChannelNone     = "none"
)

// Mail is a reply in a reporter's thread.
type Mail struct {
	To      string
	Subject string
	Text    string
	// MessageID is ours, "<fh-…@feedbackhub>", the same on every resend.
	MessageID string
	// InReplyTo is the reporter's Message-ID; References is their thread plus it.
	InReplyTo  string
	References []string
}

// Mailer sends a threaded reply. SMTPMailer is the real one: it composes the message
// with In-Reply-To/References here and sends it through triage.Mailer's transport.
type Mailer interface {
	SendMail(ctx context.Context, m Mail) error
}

// SMTPMailer sends mail over SMTP with net/smtp (optional STARTTLS and PLAIN auth).
type SMTPMailer struct {
	Addr, From         string
	Username, Password string
	StartTLS           bool
	TLSConfig          *tls.Config
	Clock              clock.Clock
	Timeout            time.Duration // default 30s
}

// SendMail delivers m. Errors name the server, never the password.
func (s *SMTPMailer) SendMail(ctx context.Context, m Mail) error {
	t := triage.Mailer{Addr: s.Addr, From: s.From, Username: s.Username, Password: s.Password,
		StartTLS: s.StartTLS, TLSConfig: s.TLSConfig, Clock: s.Clock, Timeout: s.Timeout}
	return t.Deliver(ctx, []string{m.To}, s.compose(m))
}

// compose renders the message with threading headers and a quoted-printable body.
func (s *SMTPMailer) compose(m Mail) []byte {
	clk := s.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	var b bytes.Buffer
	hdr := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", k, strings.NewReplacer("\r", "", "\n", "").Replace(v))
		}
	}
	hdr("From", s.From)
	hdr("To", m.To)
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	hdr("Date", clk.Now().Format(time.RFC1123Z))
	hdr("Message-ID", m.MessageID)
	hdr("In-Reply-To", m.InReplyTo)
	hdr("References", strings.Join(m.References, " "))
	hdr("MIME-Version", "1.0")
	hdr("Auto-Submitted", "auto-replied")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

// SignWebhook signs a callback the Standard Webhooks way: HMAC-SHA256 with the
// base64-decoded whsec_ secret over "id.timestamp.body", as "v1,<base64>".
func SignWebhook(secret, id string, ts int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return "", errors.New("standard webhooks: the secret is not whsec_<base64>")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Callback is the JSON body a partner receives when their feedback is resolved.
type Callback struct {
	Type      string    `json:"type"` // feedback.resolved
	Timestamp time.Time `json:"timestamp"`
	Data      struct {
		ExternalID string `json:"external_id"` // the partner's own event or feedback id
		Cluster    int64  `json:"cluster"`
		Ticket     string `json:"ticket,omitempty"`
		TicketURL  string `json:"ticket_url,omitempty"`
		Message    string `json:"message"`
	} `json:"data"`
}

// postCallback sends a signed callback; the webhook-id is the notification key, so
// a resend carries the same id and the partner can drop it.
func (s *Syncer) postCallback(ctx context.Context, p Partner, id string, body []byte) error {
	ts := s.clock().Now().Unix()
	sig, err := SignWebhook(p.Secret, id, ts, body)
	if err != nil {
		return permanent("partner %s: %v", p.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return permanent("partner %s: bad callback url", p.ID)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "feedbackhub")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	c := s.Callbacks
	if c == nil {
		c = connectors.NewClient(nil, s.clock(), nil, connectors.Policy{MaxAttempts: 3, MaxWait: time.Minute})
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("partner %s callback: %w", p.ID, err)
	}
	resp.Body.Close()
	return nil
}

// route says how an item's reporter is reached: channel and recipient.
func (s *Syncer) route(ctx context.Context, it feedback.Item) (channel, recipient string, err error) {
	kind := s.SourceKinds[it.Source]
	switch {
	case it.Kind == feedback.KindEmail || kind == "imap":
		rec, err := s.Store.Record(ctx, it.RecordID)
		if err != nil {
			return "", "", err
		}
		to := rec.AuthorEmail
		if to == "" && strings.Contains(it.Author, "@") {
			to = it.Author
		}
		if to == "" {
			return ChannelNone, "", nil
		}
		return ChannelEmail, to, nil
	case kind == "github":
		return ChannelGitHub, strings.ToLower(it.ExternalID), nil
	case kind == "jira":
		return ChannelJira, it.ExternalID, nil
	case kind == "webhook":
		if p, ok := s.Partners[it.Partner]; ok && p.CallbackURL != "" {
			return ChannelCallback, p.ID, nil
		}
	}
	return ChannelNone, "", nil
}

// NotifyKey is the idempotency key of the notice to one item's reporter about a
// cluster's resolution: each reporter is told once.
func NotifyKey(clusterID, itemID int64) string {
	return fmt.Sprintf("notify:resolved:%d:%d", clusterID, itemID)
}

// messageID is our Message-ID for a notice, stable across resends.
func messageID(key string) string {
	return "<fh-" + strings.NewReplacer(":", ".", " ", "").Replace(key) + "@feedbackhub>"
}

func angle(id string) string {
	id = strings.TrimSpace(id)
	if id == "" || strings.HasPrefix(id, "<") {
		return id
	}
	return "<" + id + ">"
}

// deliverNotify tells every reporter of every item in the resolved cluster, once
// each, then closes the loop (loop_closed) when nobody is left to tell.
func (s *Syncer) deliverNotify(ctx context.Context, row store.OutboxRow) error {
	c, err := s.Store.Cluster(ctx, row.ClusterID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return permanent("%v", err)
		}
		return err
	}
	items, err := s.Store.ClusterItems(ctx, c.ID)
	if err != nil {
		return err
	}
	var tk store.TicketRecord
	if ts, err := s.Store.Tickets(ctx, store.TicketFilter{ClusterID: c.ID}); err == nil && len(ts) > 0 {
		tk = ts[0]
		for _, t := range ts {
			if t.Target == row.Target {
				tk = t
			}
		}
	}
	var errs []error
	for _, it := range items {
		if it.Deleted {
			continue
		}
		if err := s.notifyItem(ctx, c, tk, it); err != nil {
			if ctx.Err() != nil || isCrash(err) {
				return err
			}
			errs = append(errs, fmt.Errorf("item %d: %w", it.ID, err))
		}
	}
	if len(errs) > 0 {
		// Transient unless every failure is permanent; sent notices are not re-sent.
		err := errors.Join(errs...)
		for _, e := range errs {
			if !isPermanent(e) {
				return err
			}
		}
		return permanent("%v", err)
	}
	if err := s.fault("notify:close"); err != nil {
		return err
	}
	if c.Status == feedback.StatusResolved {
		after := c
		after.Status = feedback.StatusLoopClosed
		_, err := s.Store.ApplyDecision(ctx, store.DecisionWrite{Cluster: &after, ExpectStatus: feedback.StatusResolved,
			Decision: feedback.Decision{Actor: Actor, Action: feedback.ActionStatus, Target: triage.ClusterTarget(c.ID),
				Before: string(feedback.StatusResolved), After: string(feedback.StatusLoopClosed), Reason: "every reporter was told"}})
		if err != nil && !errors.Is(err, store.ErrStaleCluster) {
			return err
		}
	}
	return s.Store.MarkOutboxSent(ctx, row.ID)
}

// notifyItem tells one item's reporter, unless that was done already.
func (s *Syncer) notifyItem(ctx context.Context, c feedback.Cluster, tk store.TicketRecord, it feedback.Item) error {
	channel, recipient, err := s.route(ctx, it)
	if err != nil {
		return err
	}
	key := NotifyKey(c.ID, it.ID)
	n, created, err := s.Store.InsertNotification(ctx, store.Notification{Key: key, ClusterID: c.ID, ItemID: it.ID, Channel: channel, Recipient: recipient})
	if err != nil {
		return err
	}
	if n.Status == store.NotificationSent || n.Status == store.NotificationSkipped {
		return nil
	}
	if channel == ChannelNone {
		return s.Store.MarkNotificationFailed(ctx, key, fmt.Sprintf("no channel reaches the reporter of %s item %s", it.Source, it.ExternalID), true)
	}
	data := NoticeData{Cluster: c, Ticket: tk, Item: it, HubURL: s.hubURL(c.ID)}
	text, err := execute(s.Templates.Resolved, data)
	if err != nil {
		return err
	}
	if err := s.fault("notify:send"); err != nil {
		return err
	}
	if err := s.send(ctx, channel, recipient, key, !created, it, text, data); err != nil {
		_ = s.Store.MarkNotificationFailed(ctx, key, err.Error(), false)
		return err
	}
	if err := s.fault("notify:commit"); err != nil {
		return err
	}
	d := feedback.Decision{Actor: Actor, Action: feedback.ActionNotify, Target: triage.ClusterTarget(c.ID),
		After: channel + " " + recipient, Reason: fmt.Sprintf("told the reporter of %s item %s that it is resolved (%s)", it.Source, it.ExternalID, key)}
	return s.Store.MarkNotificationSent(ctx, key, &d)
}

// send delivers one notice. retry is true when an earlier attempt may have gone out:
// comments are then looked up by marker first; email and callbacks carry stable ids
// (Message-ID, webhook-id) the receiver can deduplicate on.
func (s *Syncer) send(ctx context.Context, channel, recipient, key string, retry bool, it feedback.Item, text string, data NoticeData) error {
	switch channel {
	case ChannelEmail:
		if s.Mailer == nil {
			return permanent("email to %s: notify.smtp is not configured", recipient)
		}
		rec, err := s.Store.Record(ctx, it.RecordID)
		if err != nil {
			return err
		}
		subject, err := execute(s.Templates.ResolvedSubject, data)
		if err != nil {
			return err
		}
		parent := angle(it.ExternalID)
		var refs []string
		for _, r := range rec.ThreadRefs {
			if r = angle(r); r != "" && r != parent && !contains(refs, r) {
				refs = append(refs, r)
			}
		}
		refs = append(refs, parent)
		return s.Mailer.SendMail(ctx, Mail{To: recipient, Subject: subject, Text: text, MessageID: messageID(key), InReplyTo: parent, References: refs})
	case ChannelGitHub, ChannelJira:
		tr, ok := s.Trackers[it.Source]
		if !ok {
			return permanent("%s comment on %s: no tracker for source %q", channel, recipient, it.Source)
		}
		return commentOnce(ctx, tr, recipient, text, "feedbackhub:notify:"+key, retry, nil)
	case ChannelCallback:
		p := s.Partners[recipient]
		var cb Callback
		cb.Type, cb.Timestamp = "feedback.resolved", s.clock().Now().UTC()
		cb.Data.ExternalID = strings.TrimPrefix(it.ExternalID, p.ID+":")
		cb.Data.Cluster, cb.Data.Ticket, cb.Data.TicketURL, cb.Data.Message = data.Cluster.ID, data.Ticket.RemoteKey, data.Ticket.URL, text
		body, err := json.Marshal(cb)
		if err != nil {
			return permanent("callback: %v", err)
		}
		return s.postCallback(ctx, p, strings.ReplaceAll(key, ":", "_"), body)
	}
	return permanent("unknown channel %q", channel)
}
