package imap

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store/storetest"
)

// Environment of the real-Dovecot tests; .ci/dovecot.sh starts one and prints them.
const (
	envDovecotAddr = "FEEDBACKHUB_TEST_DOVECOT_ADDR"
	envDovecotUser = "FEEDBACKHUB_TEST_DOVECOT_USER"
	envDovecotPass = "FEEDBACKHUB_TEST_DOVECOT_PASSWORD"
)

// dovecot is a real server reached through the environment, with an admin client
// that creates a mailbox of its own for the test.
type dovecot struct {
	addr, user, pass string
	admin            *imapclient.Client
	mailbox          string
}

func needDovecot(t testing.TB) *dovecot {
	t.Helper()
	d := &dovecot{addr: os.Getenv(envDovecotAddr), user: os.Getenv(envDovecotUser), pass: os.Getenv(envDovecotPass)}
	if d.addr == "" || d.user == "" || d.pass == "" {
		t.Skipf("real-Dovecot test skipped: set %s, %s and %s (eval \"$(.ci/dovecot.sh)\" starts one)", envDovecotAddr, envDovecotUser, envDovecotPass)
	}
	c, err := imapclient.DialInsecure(d.addr, nil)
	if err != nil {
		t.Fatalf("dial dovecot: %v", err)
	}
	if err := c.Login(d.user, d.pass).Wait(); err != nil {
		t.Fatalf("login to dovecot: %v", err)
	}
	d.admin = c
	d.mailbox = fmt.Sprintf("fh-test-%d", time.Now().UnixNano())
	if err := c.Create(d.mailbox, nil).Wait(); err != nil {
		t.Fatalf("create %s: %v", d.mailbox, err)
	}
	t.Cleanup(func() {
		_ = c.Delete(d.mailbox).Wait()
		_ = c.Delete(d.mailbox + "-done").Wait()
		_ = c.Logout().Wait()
		c.Close()
	})
	return d
}

func (d *dovecot) appendMsg(t testing.TB, raw []byte) {
	t.Helper()
	ac := d.admin.Append(d.mailbox, int64(len(raw)), &goimap.AppendOptions{Time: t0})
	if _, err := ac.Write(raw); err != nil {
		t.Fatalf("append: %v", err)
	}
	if err := ac.Close(); err != nil {
		t.Fatalf("append: %v", err)
	}
	if _, err := ac.Wait(); err != nil {
		t.Fatalf("append: %v", err)
	}
}

func (d *dovecot) source(t testing.TB, mod ...func(*config.IMAPSource)) config.Source {
	t.Setenv("FH_TEST_DOVECOT_USER", d.user)
	t.Setenv("FH_TEST_DOVECOT_PASS", d.pass)
	tr := true
	m := &config.IMAPSource{
		Addr: d.addr, TLS: TLSNone, UsernameEnv: "FH_TEST_DOVECOT_USER", PasswordEnv: "FH_TEST_DOVECOT_PASS",
		Mailbox: d.mailbox, PollInterval: config.Duration(time.Minute), IDLE: &tr, MaxMessageBytes: 64 << 10, SkipListMail: &tr,
	}
	for _, fn := range mod {
		fn(m)
	}
	return config.Source{Name: "support", Kind: config.KindIMAP, IMAP: m}
}

// TestDovecot runs the connector against a real Dovecot 2.3: first and repeated
// sync with request counts, the n:* quirk, quarantine, a UIDVALIDITY change
// through delete and re-create without duplicates in a SQLite store, IDLE, and the
// move after commit.
func TestDovecot(t *testing.T) {
	d := needDovecot(t)
	ctx := context.Background()
	raws := [][]byte{
		msg("dv1@partner.example", "Ana <ana@partner.example>", "Deploy fails on eu-west", "It fails since 09:00.\n"),
		msg("dv2@partner.example", "ana@partner.example", "Re: Deploy fails on eu-west", "Still failing.\n\nOn Thu, Ana wrote:\n> It fails since 09:00.\n",
			"In-Reply-To: <dv1@partner.example>", "References: <dv1@partner.example>"),
		msg("dv3@partner.example", "ana@partner.example", "Automatic reply", "Away.\n", "Auto-Submitted: auto-replied"),
		msg("dv4@partner.example", "ana@partner.example", "Big", strings.Repeat("log line\n", 10000)),
		msg("", "bob@other.example", "No id", "hello\n"),
	}
	for _, r := range raws {
		d.appendMsg(t, r)
	}
	cn, _ := newTest(t, d.source(t))
	res := mustPoll(t, cn, feedback.Cursor{})
	if len(res.Records) != 5 {
		t.Fatalf("%d records", len(res.Records))
	}
	if res.Records[1].ThreadRefs[0] != "<dv1@partner.example>" || res.Records[1].Body != "Still failing." {
		t.Errorf("reply: refs %q body %q", res.Records[1].ThreadRefs, res.Records[1].Body)
	}
	if !strings.HasPrefix(res.Records[2].Quarantine, "auto-submitted") || !strings.HasPrefix(res.Records[3].Quarantine, "oversize") {
		t.Errorf("quarantine: %q, %q", res.Records[2].Quarantine, res.Records[3].Quarantine)
	}
	if res.Records[3].Title != "Big" || res.Records[3].ExternalID != "<dv4@partner.example>" {
		t.Errorf("oversize from envelope: %+v", res.Records[3])
	}
	// LOGIN, SELECT, UID FETCH sizes, UID FETCH envelope (oversize), UID FETCH bodies.
	if res.Stats.Requests != 5 {
		t.Errorf("first poll Requests = %d, want 5", res.Stats.Requests)
	}
	res2 := mustPoll(t, cn, res.Next)
	if len(res2.Records) != 0 || res2.Stats.Requests != 1 {
		t.Errorf("second poll: %d records, %d requests (want 0, 1)", len(res2.Records), res2.Stats.Requests)
	}
	ss, err := cn.session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if metas, err := cn.fetchNew(ss, 5); err != nil || len(metas) != 0 {
		t.Errorf("UID FETCH 6:* on a mailbox whose highest UID is 5: %+v, %v", metas, err)
	}

	st := storetest.OpenSQLite(t)
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	next := res.Next
	if in, err := st.Ingest(ctx, "support", res.Records, &next); err != nil || in.New != 5 {
		t.Fatalf("ingest: %+v %v", in, err)
	}

	// UIDVALIDITY change: delete and re-create the mailbox, append the same mail.
	before, _ := ParseCursor(res.Next.Value)
	cn.Close()
	if err := d.admin.Delete(d.mailbox).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := d.admin.Create(d.mailbox, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, r := range raws {
		d.appendMsg(t, r)
	}
	stored, _ := st.Cursor(ctx, "support")
	res3 := mustPoll(t, cn, stored)
	after, _ := ParseCursor(res3.Next.Value)
	if after.UIDValidity == before.UIDValidity || len(res3.Records) != 5 {
		t.Fatalf("resync: %s → %s, %d records", before, after, len(res3.Records))
	}
	next = res3.Next
	if in, err := st.Ingest(ctx, "support", res3.Records, &next); err != nil || in.New != 0 || in.Duplicate != 5 {
		t.Fatalf("ingest after resync: %+v %v (want 0 new, 5 duplicates)", in, err)
	}

	// IDLE: a new message is announced without polling.
	wctx, cancel := context.WithCancel(ctx)
	notified := make(chan struct{}, 10)
	done := make(chan error, 1)
	go func() { done <- cn.Watch(wctx, func() { notified <- struct{}{} }) }()
	waitFor := func(why string) {
		t.Helper()
		select {
		case <-notified:
		case <-time.After(15 * time.Second):
			t.Fatalf("no notify (%s) within 15s", why)
		}
	}
	waitFor("catch-up after connect")
	// Dovecot answers IDLE with "+ idling" before it watches the mailbox; mail
	// appended in between is still reported because it compares against the
	// state at IDLE start.
	d.appendMsg(t, msg("dv6@partner.example", "ana@partner.example", "Idle news", "new\n"))
	waitFor("EXISTS during IDLE")
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Watch returned %v", err)
	}

	// Move after commit, creating the target folder on TRYCREATE.
	cm, _ := newTest(t, d.source(t, func(m *config.IMAPSource) { m.MoveProcessedTo = d.mailbox + "-done" }))
	res4 := mustPoll(t, cm, res3.Next)
	if len(res4.Records) != 1 {
		t.Fatalf("after IDLE: %d records", len(res4.Records))
	}
	all := append(append([]feedback.Record(nil), res3.Records...), res4.Records...)
	if err := cm.Committed(ctx, connectors.Result{Records: all}); err != nil {
		t.Fatalf("committed: %v", err)
	}
	sd, err := d.admin.Status(d.mailbox, &goimap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *sd.NumMessages != 0 {
		t.Errorf("mailbox after move: %+v %v", sd, err)
	}
	sd, err = d.admin.Status(d.mailbox+"-done", &goimap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *sd.NumMessages != 6 {
		t.Errorf("target after move: %+v %v", sd, err)
	}
}

// TestDovecotThroughput5000 appends 5,000 varied messages to Dovecot, then polls them
// with the connector and stores each poll in a SQLite store (store.Ingest, one
// transaction per poll with its cursor) and reports messages per second for the
// poll+store phase. Skipped with -short.
func TestDovecotThroughput5000(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000-message throughput run skipped with -short")
	}
	d := needDovecot(t)
	ctx := context.Background()
	const n = 5000
	appendStart := time.Now()
	var rawBytes int64
	// APPENDs are pipelined 100 at a time (Dovecot has LITERAL+).
	var pending []*imapclient.AppendCommand
	flush := func() {
		for _, ac := range pending {
			if _, err := ac.Wait(); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		pending = pending[:0]
	}
	for i := range n {
		raw := benchMessage(i)
		rawBytes += int64(len(raw))
		ac := d.admin.Append(d.mailbox, int64(len(raw)), &goimap.AppendOptions{Time: t0})
		if _, err := ac.Write(raw); err != nil {
			t.Fatalf("append: %v", err)
		}
		if err := ac.Close(); err != nil {
			t.Fatalf("append: %v", err)
		}
		if pending = append(pending, ac); len(pending) == 100 {
			flush()
		}
	}
	flush()
	appendTook := time.Since(appendStart)

	st := storetest.OpenSQLite(t)
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	cn, _ := newTest(t, d.source(t, func(m *config.IMAPSource) { m.MaxMessageBytes = 25 << 20 }))
	var (
		cur                        feedback.Cursor
		stored, polls, quarantined int
		requests                   int
		pollDur, ingDur            time.Duration
	)
	start := time.Now()
	for {
		p0 := time.Now()
		res, perr := cn.Poll(ctx, cur)
		pollDur += time.Since(p0)
		if perr != nil {
			t.Fatalf("poll %d: %v", polls, perr)
		}
		polls++
		requests += res.Stats.Requests
		if len(res.Records) == 0 {
			break
		}
		for _, r := range res.Records {
			if r.Quarantine != "" {
				quarantined++
			}
		}
		next := res.Next
		i0 := time.Now()
		in, ierr := st.Ingest(ctx, "support", res.Records, &next)
		ingDur += time.Since(i0)
		if ierr != nil {
			t.Fatalf("ingest: %v", ierr)
		}
		stored += in.New
		cur = next
	}
	took := time.Since(start)
	if stored != n {
		t.Fatalf("stored %d records, want %d", stored, n)
	}
	t.Logf("appended %d messages (%.1f MiB) in %s", n, float64(rawBytes)/(1<<20), appendTook.Round(time.Millisecond))
	t.Logf("polled and stored %d messages in %s: %.0f messages/s (poll+parse %s, SQLite ingest %s; %d polls, %d IMAP commands, %d quarantined)",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), pollDur.Round(time.Millisecond), ingDur.Round(time.Millisecond), polls, requests, quarantined)
}

// benchMessage makes message i of the throughput mailbox: mostly short plain
// replies with quoted text, some HTML, some with a small attachment, some
// auto-replies, a few in other charsets.
func benchMessage(i int) []byte {
	from := fmt.Sprintf("user%d@partner%d.example", i%97, i%13)
	id := fmt.Sprintf("bench-%d@partner%d.example", i, i%13)
	body := fmt.Sprintf("Hello,\n\nDeploy %d fails with error E%03d on region eu-west-%d.\nSteps: run the installer, wait, see the log.\n\nThanks,\nUser %d\n\nOn Mon, Support wrote:\n> Could you send the log?\n> Thanks\n", i, i%500, i%3, i%97)
	switch i % 10 {
	case 3:
		var b bytes.Buffer
		fmt.Fprintf(&b, "From: %s\r\nTo: support@hub.example\r\nSubject: Logs %d\r\nMessage-ID: <%s>\r\nDate: Thu, 19 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n", from, i, id)
		b.WriteString("Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
		b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
		b.WriteString("\r\n--xx\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"log.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		b.WriteString(strings.Repeat("bG9nIGxpbmUgbG9nIGxpbmUgbG9nIGxpbmUgbG9nIGxpbmUgbG9nIGxpbmUgbG9nIGxpbmUK\r\n", 40))
		b.WriteString("--xx--\r\n")
		return b.Bytes()
	case 5:
		html := "<html><body><p>" + strings.ReplaceAll(body, "\n", "<br>") + "</p></body></html>"
		return []byte(strings.Replace(string(msg(id, from, fmt.Sprintf("Re: Deploy %d", i), html)), "text/plain", "text/html", 1))
	case 7:
		return msg(id, from, "Out of office", "I am away until Monday.\n", "Auto-Submitted: auto-replied")
	case 9:
		return msg(id, from, "=?ISO-8859-1?Q?D=E9ploiement_=E9chou=E9?=", body)
	}
	return msg(id, from, fmt.Sprintf("Deploy %d fails", i), body, fmt.Sprintf("In-Reply-To: <bench-%d@partner%d.example>", i/2, i%13))
}
