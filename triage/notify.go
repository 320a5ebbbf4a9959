package triage

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
)

// Mail is one email message.
type Mail struct {
	To      []string
	Subject string
	Text    string
	// HTML, when set, makes the message multipart/alternative with Text as the fallback.
	HTML string
	// ID, when set, becomes the Message-ID's local part, so a resent notice carries the
	// same id and mail clients can tell.
	ID string
}

// Mailer sends mail over SMTP (net/smtp) with optional STARTTLS and PLAIN auth.
type Mailer struct {
	Addr     string // host:port
	From     string
	Username string
	Password string
	StartTLS bool
	// TLSConfig overrides the STARTTLS configuration (tests use it for a local CA).
	TLSConfig *tls.Config
	Clock     clock.Clock
	Timeout   time.Duration // per message; default 30s
}

// Send delivers m. Errors name the server address, never the credentials.
func (s *Mailer) Send(ctx context.Context, m Mail) error {
	if len(m.To) == 0 {
		return errors.New("smtp: no recipients")
	}
	msg, err := s.compose(m)
	if err != nil {
		return err
	}
	return s.Deliver(ctx, m.To, msg)
}

// Deliver sends an already composed RFC 5322 message to the recipients: dial,
// optional STARTTLS, PLAIN auth when a username is set, MAIL/RCPT/DATA. It is the one
// SMTP transport of the project (sync's threaded replies use it too). Errors name the
// server address, never the password.
func (s *Mailer) Deliver(ctx context.Context, to []string, msg []byte) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp %s: dial: %w", s.Addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp %s: greeting: %w", s.Addr, err)
	}
	defer c.Close()
	if s.StartTLS {
		cfg := s.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp %s: starttls: %w", s.Addr, err)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return fmt.Errorf("smtp %s: auth as %s failed: %w", s.Addr, s.Username, redactErr(err, s.Password))
		}
	}
	if err := c.Mail(EnvelopeAddr(s.From)); err != nil {
		return fmt.Errorf("smtp %s: mail from: %w", s.Addr, err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(EnvelopeAddr(rcpt)); err != nil {
			return fmt.Errorf("smtp %s: rcpt %s: %w", s.Addr, rcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: data: %w", s.Addr, err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp %s: write: %w", s.Addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: end of data: %w", s.Addr, err)
	}
	return c.Quit()
}

// EnvelopeAddr is the bare address of "Name <a@b>" (or a@b as given), for MAIL/RCPT.
func EnvelopeAddr(a string) string {
	if i := strings.LastIndex(a, "<"); i >= 0 {
		return strings.TrimSuffix(a[i+1:], ">")
	}
	return strings.TrimSpace(a)
}

func redactErr(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}

// compose renders RFC 5322 message text with quoted-printable UTF-8 bodies.
func (s *Mailer) compose(m Mail) ([]byte, error) {
	clk := s.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	var b bytes.Buffer
	h := textproto.MIMEHeader{}
	h.Set("From", s.From)
	h.Set("To", strings.Join(m.To, ", "))
	h.Set("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h.Set("Date", clk.Now().Format(time.RFC1123Z))
	id := m.ID
	if id == "" {
		var r [12]byte
		_, _ = rand.Read(r[:])
		id = hex.EncodeToString(r[:])
	}
	domain := "feedbackhub.invalid"
	if _, d, ok := strings.Cut(s.From, "@"); ok {
		domain = strings.Trim(d, "> ")
	}
	h.Set("Message-ID", "<"+strings.NewReplacer(":", ".", " ", "").Replace(id)+"@"+domain+">")
	h.Set("MIME-Version", "1.0")
	h.Set("Auto-Submitted", "auto-generated")
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Auto-Submitted"} {
		fmt.Fprintf(&b, "%s: %s\r\n", k, h.Get(k))
	}
	part := func(w io.Writer, text string) error {
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n"))); err != nil {
			return err
		}
		return qp.Close()
	}
	if m.HTML == "" {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		if err := part(&b, m.Text); err != nil {
			return nil, fmt.Errorf("smtp: compose: %w", err)
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=%s\r\n\r\n", mw.Boundary())
	for _, p := range []struct{ ct, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {p.ct + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, fmt.Errorf("smtp: compose: %w", err)
		}
		if err := part(w, p.body); err != nil {
			return nil, fmt.Errorf("smtp: compose: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("smtp: compose: %w", err)
	}
	return b.Bytes(), nil
}

// Webhook posts notices as JSON to a URL; with Slack set, the body is a
// Slack-compatible incoming-webhook message ({"text": …}). The URL is a secret and
// never appears in errors.
type Webhook struct {
	Name   string
	URL    string
	Slack  bool
	Client *http.Client // nil: a client with a 15s timeout
}

// Post sends a JSON body with an Idempotency-Key header (receivers may dedupe on it).
func (w *Webhook) Post(ctx context.Context, key string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("webhook %s: encode: %w", w.Name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("webhook %s: bad url", w.Name)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "feedbackhub")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL, which carries the secret
		}
		return fmt.Errorf("webhook %s: post: %w", w.Name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: status %d", w.Name, resp.StatusCode)
	}
	return nil
}

// SendNotice posts a notice: the Notice JSON, or {"text": …} for Slack.
func (w *Webhook) SendNotice(ctx context.Context, n Notice) error {
	if w.Slack {
		text := "*" + n.Subject + "*\n" + n.Text
		if n.Recipient != "" && !strings.HasPrefix(n.Recipient, "webhook:") {
			text = "@" + n.Recipient + " " + text
		}
		return w.Post(ctx, n.Key, map[string]string{"text": text})
	}
	return w.Post(ctx, n.Key, n)
}

// Notifier routes notices to channels by recipient: an address with "@" gets email,
// "webhook:NAME" goes to that webhook, anything else (a person's handle) goes to
// every default webhook with the handle in the message. It implements Sender.
type Notifier struct {
	Mailer   *Mailer // nil: email recipients are an error
	Webhooks map[string]*Webhook
	// Defaults names the webhooks used for recipients that are neither an email
	// address nor a webhook.
	Defaults []string
}

// NewNotifier builds a Notifier from the notify config; secret resolves *_env and
// *_file settings (use (*config.Config).Secret). Every configured webhook is a default.
func NewNotifier(cfg config.Notify, secret func(envName, fileName string) (string, error)) (*Notifier, error) {
	n := &Notifier{Webhooks: map[string]*Webhook{}}
	if s := cfg.SMTP; s != nil {
		user, err := secret(s.UsernameEnv, "")
		if err != nil {
			return nil, fmt.Errorf("notify.smtp.username_env: %w", err)
		}
		pass, err := secret(s.PasswordEnv, s.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("notify.smtp: password: %w", err)
		}
		n.Mailer = &Mailer{Addr: s.Addr, From: s.From, Username: user, Password: pass, StartTLS: s.StartTLS}
	}
	for i, w := range cfg.Webhooks {
		u, err := secret(w.URLEnv, "")
		if err != nil {
			return nil, fmt.Errorf("notify.webhooks[%d].url_env: %w", i, err)
		}
		n.Webhooks[w.Name] = &Webhook{Name: w.Name, URL: u, Slack: w.Slack}
		n.Defaults = append(n.Defaults, w.Name)
	}
	return n, nil
}

// Send delivers a notice to its recipient's channel.
func (n *Notifier) Send(ctx context.Context, no Notice) error {
	r := no.Recipient
	switch {
	case strings.Contains(r, "@"):
		if n.Mailer == nil {
			return fmt.Errorf("notify %s: email recipient but notify.smtp is not configured", no.Key)
		}
		return n.Mailer.Send(ctx, Mail{To: []string{r}, Subject: no.Subject, Text: no.Text, ID: no.Key})
	case strings.HasPrefix(r, "webhook:"):
		w, ok := n.Webhooks[strings.TrimPrefix(r, "webhook:")]
		if !ok {
			return fmt.Errorf("notify %s: unknown webhook %q", no.Key, strings.TrimPrefix(r, "webhook:"))
		}
		return w.SendNotice(ctx, no)
	}
	if len(n.Defaults) == 0 {
		return fmt.Errorf("notify %s: no channel for recipient %q (configure notify.webhooks or use an email address)", no.Key, r)
	}
	var errs []error
	for _, name := range n.Defaults {
		if w := n.Webhooks[name]; w != nil {
			errs = append(errs, w.SendNotice(ctx, no))
		}
	}
	return errors.Join(errs...)
}
