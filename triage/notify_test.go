package triage

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
)

// fakeSMTP is a minimal SMTP server on 127.0.0.1 that accepts every message and
// records it. It speaks just enough of RFC 5321 for net/smtp: EHLO, AUTH PLAIN, MAIL,
// RCPT, DATA, RSET, NOOP, QUIT.
type fakeSMTP struct {
	addr string
	mu   sync.Mutex
	msgs []smtpMsg
	// rejectRcpt makes RCPT fail, to test error paths.
	rejectRcpt bool
}

type smtpMsg struct {
	from string
	to   []string
	auth string
	data string
}

func startFakeSMTP(t testing.TB) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSMTP{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(c) })
		}
	})
	return s
}

func (s *fakeSMTP) messages() []smtpMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMsg(nil), s.msgs...)
}

func (s *fakeSMTP) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second)) // guards a stuck test, asserts nothing
	r := bufio.NewReader(c)
	say := func(l string) { _, _ = io.WriteString(c, l+"\r\n") }
	say("220 fake ESMTP")
	var m smtpMsg
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO", "HELO":
			say("250-fake")
			say("250 AUTH PLAIN")
		case "AUTH":
			m.auth = line
			say("235 ok")
		case "MAIL":
			m = smtpMsg{auth: m.auth, from: strings.TrimPrefix(line, "MAIL FROM:")}
			say("250 ok")
		case "RCPT":
			if s.rejectRcpt {
				say("550 no such user")
				continue
			}
			m.to = append(m.to, strings.Trim(strings.TrimPrefix(line, "RCPT TO:"), "<>"))
			say("250 ok")
		case "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.data = b.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			say("250 queued")
		case "RSET", "NOOP":
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

func TestMailerSendsPlainAndHTML(t *testing.T) {
	t.Parallel()
	srv := startFakeSMTP(t)
	m := &Mailer{Addr: srv.addr, From: "hub@example.com", Username: "hub", Password: "pw-s3cret",
		Clock: clock.NewFake(time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC))}
	ctx := context.Background()
	if err := m.Send(ctx, Mail{To: []string{"pm@example.com"}, Subject: "Größe ✓", Text: "line one\nline two", ID: "sla:7:resolution:1:breach"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(ctx, Mail{To: []string{"a@example.com", "b@example.com"}, Subject: "Digest", Text: "plain", HTML: "<p>rich</p>"}); err != nil {
		t.Fatal(err)
	}
	msgs := srv.messages()
	if len(msgs) != 2 {
		t.Fatalf("messages = %d", len(msgs))
	}
	if !strings.HasPrefix(msgs[0].auth, "AUTH PLAIN") || msgs[0].from != "<hub@example.com>" {
		t.Errorf("envelope = %+v", msgs[0])
	}
	p, err := mail.ReadMessage(strings.NewReader(msgs[0].data))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject"))
	body, _ := io.ReadAll(quotedprintable.NewReader(p.Body))
	if subj != "Größe ✓" || strings.TrimRight(string(body), "\r\n") != "line one\r\nline two" ||
		p.Header.Get("Message-ID") != "<sla.7.resolution.1.breach@example.com>" || p.Header.Get("Date") != "Mon, 09 Mar 2026 08:00:00 +0000" {
		t.Errorf("message: subject %q body %q header %v", subj, body, p.Header)
	}
	p, err = mail.ReadMessage(strings.NewReader(msgs[1].data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(p.Body, params["boundary"])
	var types []string
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		types = append(types, part.Header.Get("Content-Type"))
	}
	if strings.Join(types, ",") != "text/plain; charset=utf-8,text/html; charset=utf-8" || len(msgs[1].to) != 2 {
		t.Errorf("parts = %v, to = %v", types, msgs[1].to)
	}
}

func TestMailerErrorsKeepSecrets(t *testing.T) {
	t.Parallel()
	srv := startFakeSMTP(t)
	srv.rejectRcpt = true
	m := &Mailer{Addr: srv.addr, From: "hub@example.com", Username: "hub", Password: "pw-s3cret"}
	err := m.Send(context.Background(), Mail{To: []string{"x@example.com"}, Subject: "s", Text: "t"})
	if err == nil || !strings.Contains(err.Error(), "rcpt x@example.com") || strings.Contains(err.Error(), "pw-s3cret") {
		t.Errorf("err = %v", err)
	}
	closed := &Mailer{Addr: "127.0.0.1:1", From: "hub@example.com"}
	if err := closed.Send(context.Background(), Mail{To: []string{"x@example.com"}}); err == nil || !strings.HasPrefix(err.Error(), "smtp 127.0.0.1:1: dial") {
		t.Errorf("dial err = %v", err)
	}
}

func TestWebhookJSONAndSlack(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string]map[string]any{}
	keys := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		bodies[r.URL.Path] = v
		keys[r.URL.Path] = r.Header.Get("Idempotency-Key")
		mu.Unlock()
		if r.URL.Path == "/broken" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	t.Setenv("FH_TEST_HOOK_JSON", srv.URL+"/json")
	t.Setenv("FH_TEST_HOOK_SLACK", srv.URL+"/slack?token=hooksecret")
	t.Setenv("FH_TEST_HOOK_BROKEN", srv.URL+"/broken?token=hooksecret")
	cfg := config.Default(t.TempDir())
	n, err := NewNotifier(config.Notify{Webhooks: []config.NotifyWebhook{
		{Name: "json", URLEnv: "FH_TEST_HOOK_JSON"}, {Name: "slack", URLEnv: "FH_TEST_HOOK_SLACK", Slack: true},
		{Name: "broken", URLEnv: "FH_TEST_HOOK_BROKEN"}}}, cfg.Secret)
	if err != nil {
		t.Fatal(err)
	}
	no := Notice{Key: "sla:7:resolution:1:breach", Kind: "sla.breach", ClusterID: 7, Title: "Outage", Metric: "resolution",
		Recipient: "webhook:json", Subject: "SLA breached", Text: "details"}
	ctx := context.Background()
	if err := n.Send(ctx, no); err != nil {
		t.Fatal(err)
	}
	no.Recipient = "webhook:slack"
	if err := n.Send(ctx, no); err != nil {
		t.Fatal(err)
	}
	if b := bodies["/json"]; b["kind"] != "sla.breach" || b["cluster_id"] != float64(7) || keys["/json"] != no.Key {
		t.Errorf("json body = %v, key %q", b, keys["/json"])
	}
	if b := bodies["/slack"]; len(b) != 1 || b["text"] != "*SLA breached*\ndetails" {
		t.Errorf("slack body = %v", b)
	}
	no.Recipient = "webhook:broken"
	err = n.Send(ctx, no)
	if err == nil || err.Error() != "webhook broken: status 500" {
		t.Errorf("broken err = %v", err)
	}
	// A person's handle goes to every default webhook; the failure of one is reported
	// without the URL's secret.
	no.Recipient = "dana"
	err = n.Send(ctx, no)
	if err == nil || strings.Contains(err.Error(), "hooksecret") || bodies["/slack"]["text"] != "@dana *SLA breached*\ndetails" {
		t.Errorf("default routing err = %v, slack = %v", err, bodies["/slack"])
	}
	down := &Webhook{Name: "down", URL: "http://127.0.0.1:1/x?token=hooksecret"}
	if err := down.Post(ctx, "k", map[string]string{}); err == nil || strings.Contains(err.Error(), "hooksecret") {
		t.Errorf("unreachable err = %v", err)
	}
	if err := (&Notifier{}).Send(ctx, Notice{Key: "k", Recipient: "a@b.c"}); err == nil || !strings.Contains(err.Error(), "notify.smtp is not configured") {
		t.Errorf("no smtp err = %v", err)
	}
	if _, err := NewNotifier(config.Notify{Webhooks: []config.NotifyWebhook{{Name: "x", URLEnv: "FH_TEST_UNSET_HOOK"}}}, cfg.Secret); err == nil ||
		!strings.Contains(err.Error(), "FH_TEST_UNSET_HOOK") {
		t.Errorf("unset env err = %v", err)
	}
}
