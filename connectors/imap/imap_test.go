package imap

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	goimap "github.com/emersion/go-imap/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store/storetest"
)

func TestFirstSyncFetchesAllSecondNothing(t *testing.T) {
	ts := newTestServer(t)
	for i := 1; i <= 3; i++ {
		ts.appendMsg(t, "INBOX", msg(fmt.Sprintf("m%d@partner.example", i), "Ana <ana@partner.example>", fmt.Sprintf("Deploy fails %d", i), "It fails.\n"))
	}
	src := source(t, ts.addr)
	cn, _ := newTest(t, src)

	res := mustPoll(t, cn, feedback.Cursor{})
	if len(res.Records) != 3 || res.Stats.Fetched != 3 {
		t.Fatalf("first poll: %d records, stats %+v", len(res.Records), res.Stats)
	}
	for i, r := range res.Records {
		if want := fmt.Sprintf("<m%d@partner.example>", i+1); r.ExternalID != want || r.Revision != "1" || r.Kind != feedback.KindEmail {
			t.Errorf("record %d: id %q rev %q kind %q", i, r.ExternalID, r.Revision, r.Kind)
		}
		if r.Meta[MetaUID] != fmt.Sprint(i+1) || r.Meta[MetaMailbox] != "INBOX" || r.Meta["from_domain"] != "partner.example" {
			t.Errorf("record %d meta: %v", i, r.Meta)
		}
		if r.Quarantine != "" {
			t.Errorf("record %d quarantined: %s", i, r.Quarantine)
		}
	}
	cur, err := ParseCursor(res.Next.Value)
	if err != nil || cur.Mailbox != "INBOX" || cur.UIDValidity == 0 || cur.LastUID != 3 {
		t.Fatalf("cursor %q (%v)", res.Next.Value, err)
	}
	// LOGIN, SELECT, UID FETCH sizes, UID FETCH bodies — counted by us and by the server.
	if got, want := ts.commandNames(0), []string{"LOGIN", "SELECT", "UID FETCH", "UID FETCH"}; !reflect.DeepEqual(got, want) {
		t.Errorf("server saw %v, want %v", got, want)
	}
	if res.Stats.Requests != 4 {
		t.Errorf("Requests = %d, want 4", res.Stats.Requests)
	}
	if got := ts.commands()[2]; !strings.HasPrefix(got, "UID FETCH 1:*") {
		t.Errorf("first fetch %q, want UID FETCH 1:*", got)
	}

	// Same connection, nothing new: one SELECT, whose UIDNEXT says there is nothing.
	n := len(ts.commands())
	res2 := mustPoll(t, cn, res.Next)
	if len(res2.Records) != 0 || res2.Stats.Requests != 1 || res2.Next.Value != res.Next.Value {
		t.Fatalf("second poll: %d records, %+v, next %q", len(res2.Records), res2.Stats, res2.Next.Value)
	}
	if got := ts.commandNames(n); !reflect.DeepEqual(got, []string{"SELECT"}) {
		t.Errorf("second poll sent %v", got)
	}

	// A new connector (sync --once) with the stored cursor: LOGIN and SELECT only.
	cn2, _ := newTest(t, src)
	n = len(ts.commands())
	res3 := mustPoll(t, cn2, res.Next)
	if len(res3.Records) != 0 || res3.Stats.Requests != 2 || len(ts.commands())-n != 2 {
		t.Fatalf("fresh connector: %d records, %+v, server saw %v", len(res3.Records), res3.Stats, ts.commandNames(n))
	}

	// New mail: SELECT, UID FETCH 4:*, UID FETCH 4.
	ts.appendMsg(t, "INBOX", msg("m4@partner.example", "ana@partner.example", "Re: Deploy fails 1", "Still failing.\n"))
	n = len(ts.commands())
	res4 := mustPoll(t, cn, res.Next)
	if len(res4.Records) != 1 || res4.Records[0].ExternalID != "<m4@partner.example>" || res4.Stats.Requests != 3 {
		t.Fatalf("fourth poll: %+v, %+v", res4.Records, res4.Stats)
	}
	if got := ts.commands()[n+1]; !strings.HasPrefix(got, "UID FETCH 4:*") {
		t.Errorf("fetch %q, want UID FETCH 4:*", got)
	}
	if c, _ := ParseCursor(res4.Next.Value); c.LastUID != 4 {
		t.Errorf("cursor %q", res4.Next.Value)
	}
}

func TestFetchAboveHighestUIDReturnsNothing(t *testing.T) {
	ts := newTestServer(t)
	ts.recordOut.Store(true)
	for i := 1; i <= 100; i++ {
		ts.appendMsg(t, "INBOX", msg(fmt.Sprintf("q%d@x.example", i), "a@x.example", "s", "b\n"))
	}
	cn, _ := newTest(t, source(t, ts.addr))
	ss, err := cn.session(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cn.selectMailbox(ss); err != nil {
		t.Fatal(err)
	}
	metas, err := cn.fetchNew(ss, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != 0 {
		t.Fatalf("UID FETCH 101:* returned %+v, want nothing", metas)
	}
	cmds := ts.commands()
	if last := cmds[len(cmds)-1]; !strings.HasPrefix(last, "UID FETCH 101:*") {
		t.Errorf("last command %q", last)
	}
	// The server did answer with UID 100 (RFC 3501 §6.4.8): the filter matters.
	ts.mu.Lock()
	out := strings.Join(ts.out, "\n")
	ts.mu.Unlock()
	if !strings.Contains(out, "UID 100") {
		t.Errorf("server did not send UID 100 for 101:*; the quirk is not exercised:\n%s", out)
	}

	// Through Poll: a cursor at 100 makes no fetch at all (UIDNEXT is 101).
	c := Cursor{Mailbox: "INBOX", UIDValidity: ss.selected.UIDValidity, LastUID: 100}
	res := mustPoll(t, cn, feedback.Cursor{Value: c.String()})
	if len(res.Records) != 0 || res.Next.Value != c.String() {
		t.Errorf("poll at 100: %d records, next %q", len(res.Records), res.Next.Value)
	}
}

func TestUIDValidityChangeResyncsWithoutDuplicates(t *testing.T) {
	ts := newTestServer(t)
	raws := [][]byte{
		msg("a@p.example", "a@p.example", "One", "one\n"),
		msg("", "b@p.example", "No Message-ID", "two\n"),
		msg("c@p.example", "c@p.example", "Three", "three\n"),
	}
	for _, r := range raws {
		ts.appendMsg(t, "INBOX", r)
	}
	st := storetest.OpenSQLite(t)
	ctx := context.Background()
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	cn, _ := newTest(t, source(t, ts.addr))
	res := mustPoll(t, cn, feedback.Cursor{})
	next := res.Next
	in, err := st.Ingest(ctx, "support", res.Records, &next)
	if err != nil || in.New != 3 {
		t.Fatalf("ingest: %+v %v", in, err)
	}
	before, _ := ParseCursor(res.Next.Value)

	// Delete and re-create INBOX: a new UIDVALIDITY, UIDs from 1 again, the same mail
	// plus one new message.
	if err := ts.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := ts.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range raws {
		ts.appendMsg(t, "INBOX", r)
	}
	ts.appendMsg(t, "INBOX", msg("d@p.example", "d@p.example", "Four", "four\n"))

	stored, err := st.Cursor(ctx, "support")
	if err != nil {
		t.Fatal(err)
	}
	cn2, _ := newTest(t, source(t, ts.addr))
	res2 := mustPoll(t, cn2, stored)
	after, _ := ParseCursor(res2.Next.Value)
	if after.UIDValidity == before.UIDValidity || after.LastUID != 4 || len(res2.Records) != 4 {
		t.Fatalf("resync: cursor %s → %s, %d records", before, after, len(res2.Records))
	}
	for i := range 3 {
		if res2.Records[i].ExternalID != res.Records[i].ExternalID || res2.Records[i].Revision != res.Records[i].Revision {
			t.Errorf("record %d changed identity: %q/%q vs %q/%q", i, res2.Records[i].ExternalID, res2.Records[i].Revision,
				res.Records[i].ExternalID, res.Records[i].Revision)
		}
	}
	next = res2.Next
	in, err = st.Ingest(ctx, "support", res2.Records, &next)
	if err != nil || in.New != 1 || in.Duplicate != 3 {
		t.Fatalf("ingest after resync: %+v %v (want 1 new, 3 duplicates)", in, err)
	}
}

func TestAutomaticMailIsQuarantined(t *testing.T) {
	ts := newTestServer(t)
	cases := []struct {
		raw    []byte
		reason string
	}{
		{msg("h1@p.example", "ana@p.example", "Help", "please help\n"), ""},
		{msg("h2@p.example", "ana@p.example", "Out of office", "I am away\n", "Auto-Submitted: auto-replied"), "auto-submitted: auto-replied"},
		{msg("h3@p.example", "bob@p.example", "Re: Help", "away\n", "X-Autoreply: yes"), "x-autoreply: yes"},
		{msg("h4@p.example", "list@p.example", "[dev] digest", "news\n", "List-Id: <dev.p.example>"), "list-id: <dev.p.example>"},
		{msg("h5@p.example", "MAILER-DAEMON@p.example", "Undeliverable", "bounce\n", "Return-Path: <>"), "return-path: <>"},
		{msg("h6@p.example", "ana@p.example", "broken", "body text\n", "Content-Type: multipart/mixed"), "broken mime"},
		{msg("h7@p.example", "ana@p.example", "After the broken one", "still flows\n"), ""},
	}
	for _, c := range cases {
		ts.appendMsg(t, "INBOX", c.raw)
	}
	cn, _ := newTest(t, source(t, ts.addr))
	res := mustPoll(t, cn, feedback.Cursor{})
	if len(res.Records) != len(cases) {
		t.Fatalf("%d records, want %d", len(res.Records), len(cases))
	}
	for i, c := range cases {
		r := res.Records[i]
		if c.reason == "" && r.Quarantine != "" || !strings.HasPrefix(r.Quarantine, c.reason) {
			t.Errorf("record %d (%s): quarantine %q, want prefix %q", i, r.Title, r.Quarantine, c.reason)
		}
	}
}

func TestOversizeQuarantinedWithoutDownloadAndNextFlows(t *testing.T) {
	ts := newTestServer(t)
	big := msg("big@p.example", "Ana Lima <ana@p.example>", "Huge logs", strings.Repeat("log line\n", 500), "In-Reply-To: <orig@hub.example>")
	ts.appendMsg(t, "INBOX", big)
	ts.appendMsg(t, "INBOX", msg("small@p.example", "ana@p.example", "Small", "fine\n"))
	ts.appendMsg(t, "INBOX", msg("", "bob@p.example", "Huge, no id", strings.Repeat("x", 3000)))
	cn, _ := newTest(t, source(t, ts.addr, func(m *config.IMAPSource) { m.MaxMessageBytes = 2000 }))
	res := mustPoll(t, cn, feedback.Cursor{})
	if len(res.Records) != 3 {
		t.Fatalf("%d records", len(res.Records))
	}
	r := res.Records[0]
	if !strings.HasPrefix(r.Quarantine, "oversize: message is ") || r.ExternalID != "<big@p.example>" || r.Title != "Huge logs" ||
		r.AuthorEmail != "ana@p.example" || r.Meta["from_domain"] != "p.example" || r.Meta["from_name"] != "Ana Lima" ||
		len(r.ThreadRefs) != 1 || r.ThreadRefs[0] != "<orig@hub.example>" || r.Body != "" || len(r.Raw) != 0 {
		t.Errorf("oversize record: %+v", r)
	}
	if res.Records[1].Quarantine != "" || res.Records[1].ExternalID != "<small@p.example>" {
		t.Errorf("next message: %+v", res.Records[1])
	}
	if r := res.Records[2]; !strings.HasPrefix(r.ExternalID, "oversize:sha256:") || r.Quarantine == "" {
		t.Errorf("oversize without id: %+v", r)
	}
	// Sizes, envelopes of 1 and 3, then the body of 2 only.
	cmds := ts.commands()
	if got, want := ts.commandNames(0), []string{"LOGIN", "SELECT", "UID FETCH", "UID FETCH", "UID FETCH"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("commands %v", cmds)
	}
	if !strings.HasPrefix(cmds[3], "UID FETCH 1,3 (UID ENVELOPE)") || !strings.HasPrefix(cmds[4], "UID FETCH 2 (UID BODY.PEEK[])") {
		t.Errorf("fetches: %q, %q", cmds[3], cmds[4])
	}
	if res.Stats.Requests != 5 {
		t.Errorf("Requests = %d, want 5", res.Stats.Requests)
	}
	// A re-poll after a UIDVALIDITY change gives the id-less one the same identity.
	again := cn.oversizeRecord(msgMeta{uid: 9, size: int64(3000 + 200), received: t0}, nil)
	if again.ExternalID == "" || again.Validate() != nil {
		t.Errorf("bare oversize record: %+v", again)
	}
}

func TestRealWorldMIME(t *testing.T) {
	ts := newTestServer(t)
	// ISO-2022-JP subject as an RFC 2047 encoded word.
	jp, err := japanese.ISO2022JP.NewEncoder().String("デプロイ失敗")
	if err != nil {
		t.Fatal(err)
	}
	subj := "=?ISO-2022-JP?B?" + b64(jp) + "?="
	ts.appendMsg(t, "INBOX", msg("jp@p.example", "taro@p.example", subj, "本文\n"))
	// RFC 2231 filename and a windows-1252 quoted-printable body.
	cp, err := charmap.Windows1252.NewEncoder().String("Price: 20 € – “quoted”")
	if err != nil {
		t.Fatal(err)
	}
	var qp bytes.Buffer
	for _, c := range []byte(cp) {
		if c >= 0x80 || c == '=' {
			fmt.Fprintf(&qp, "=%02X", c)
		} else {
			qp.WriteByte(c)
		}
	}
	mixed := "From: Zoë <zoe@p.example>\r\nTo: support@hub.example\r\nSubject: Rates\r\nMessage-ID: <mix@p.example>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp.String() + "\r\n" +
		"--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates%202026.pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n"
	ts.appendMsg(t, "INBOX", []byte(mixed))

	cn, _ := newTest(t, source(t, ts.addr))
	res := mustPoll(t, cn, feedback.Cursor{})
	if len(res.Records) != 2 {
		t.Fatalf("%d records", len(res.Records))
	}
	if r := res.Records[0]; r.Title != "デプロイ失敗" || !strings.Contains(r.Body, "本文") {
		t.Errorf("ISO-2022-JP: title %q body %q", r.Title, r.Body)
	}
	r := res.Records[1]
	if !strings.Contains(r.Body, "Price: 20 € – “quoted”") {
		t.Errorf("cp1252 body %q", r.Body)
	}
	if !strings.Contains(r.Meta["attachments"], "€ rates 2026.pdf") || r.Meta["attachments_count"] != "1" {
		t.Errorf("attachments meta %q", r.Meta["attachments"])
	}
	if strings.Contains(r.Body, "JVBERi0") {
		t.Errorf("attachment content leaked into body: %q", r.Body)
	}
}

func TestReplyFixturesThreadAndStripQuotes(t *testing.T) {
	ts := newTestServer(t)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ts.appendMsg(t, "INBOX", msg("riak-1@basho.example", "Russell Brown <russell@basho.example>", "Re: Clearing a bucket", read("email_1_2.txt")))
	ts.appendMsg(t, "INBOX", msg("riak-2@flipkart.example", "Abhishek Kona <abhishek@flipkart.example>", "Re: Clearing a bucket", read("email_1_3.txt"),
		"In-Reply-To: <riak-1@basho.example>", "References: <riak-0@flipkart.example> <riak-1@basho.example>"))
	ts.appendMsg(t, "INBOX", msg("sig@p.example", "rick@p.example", "Signature", read("correct_sig.txt")))
	ts.appendMsg(t, "INBOX", msg("desk@p.example", "desk@p.example", "Desk", read("email_sent_from_my_not_signature.txt")))
	cn, _ := newTest(t, source(t, ts.addr))
	res := mustPoll(t, cn, feedback.Cursor{})
	if len(res.Records) != 4 {
		t.Fatalf("%d records", len(res.Records))
	}
	reply := res.Records[1]
	if want := []string{"<riak-1@basho.example>", "<riak-0@flipkart.example>"}; !reflect.DeepEqual(reply.ThreadRefs, want) {
		t.Errorf("ThreadRefs %q, want %q", reply.ThreadRefs, want)
	}
	if !strings.HasPrefix(reply.Body, "Oh thanks.") || strings.Contains(reply.Body, "Hi folks") || strings.Contains(reply.Body, "wrote:") {
		t.Errorf("reply visible text %q", reply.Body)
	}
	if b := res.Records[0].Body; strings.Contains(b, "> Hi folks") || !strings.Contains(b, "You can list the keys") {
		t.Errorf("first visible text %q", b)
	}
	if b := res.Records[2].Body; strings.Contains(b, "rick") || !strings.Contains(b, "correct -- signature") {
		t.Errorf("signature not stripped: %q", b)
	}
	if b := res.Records[3].Body; !strings.Contains(b, "Sent from my desk") {
		t.Errorf("'Sent from my desk' is not a signature: %q", b)
	}
}

func TestBatchesAndPollBudget(t *testing.T) {
	ts := newTestServer(t)
	for i := 1; i <= 5; i++ {
		ts.appendMsg(t, "INBOX", msg(fmt.Sprintf("b%d@p.example", i), "a@p.example", "s", "b\n"))
	}
	cn, _ := newTest(t, source(t, ts.addr))
	cn.s.batchSize = 2
	res := mustPoll(t, cn, feedback.Cursor{})
	if len(res.Records) != 5 || res.Stats.Requests != 6 || cn.More() {
		t.Fatalf("batched: %d records, %+v, more %v", len(res.Records), res.Stats, cn.More())
	}
	if got := ts.commands()[3:]; !strings.HasPrefix(got[0], "UID FETCH 1:2 ") || !strings.HasPrefix(got[1], "UID FETCH 3:4 ") || !strings.HasPrefix(got[2], "UID FETCH 5 ") {
		t.Errorf("batches %q", got)
	}

	cn2, _ := newTest(t, source(t, ts.addr))
	cn2.s.maxMessages = 3
	res = mustPoll(t, cn2, feedback.Cursor{})
	if len(res.Records) != 3 || !cn2.More() {
		t.Fatalf("budget: %d records, more %v", len(res.Records), cn2.More())
	}
	res = mustPoll(t, cn2, res.Next)
	if len(res.Records) != 2 || cn2.More() || res.Records[0].ExternalID != "<b4@p.example>" {
		t.Fatalf("rest: %d records, more %v", len(res.Records), cn2.More())
	}
}

func TestMoveProcessedOnlyAfterCommit(t *testing.T) {
	ts := newTestServer(t)
	for i := 1; i <= 3; i++ {
		ts.appendMsg(t, "INBOX", msg(fmt.Sprintf("mv%d@p.example", i), "a@p.example", "s", "b\n"))
	}
	cn, _ := newTest(t, source(t, ts.addr, func(m *config.IMAPSource) { m.MoveProcessedTo = "Processed" }))
	res := mustPoll(t, cn, feedback.Cursor{})
	if len(res.Records) != 3 {
		t.Fatalf("%d records", len(res.Records))
	}
	for _, c := range ts.commands() {
		if strings.Contains(c, "MOVE") || strings.Contains(c, "EXPUNGE") {
			t.Fatalf("Poll moved mail before the commit: %q", c)
		}
	}
	var ac AfterCommit = cn
	if err := ac.Committed(context.Background(), res); err != nil {
		t.Fatalf("committed: %v", err)
	}
	st, err := ts.user.Status("INBOX", &goimap.StatusOptions{NumMessages: true})
	if err != nil || *st.NumMessages != 0 {
		t.Fatalf("INBOX after move: %+v %v", st, err)
	}
	st, err = ts.user.Status("Processed", &goimap.StatusOptions{NumMessages: true})
	if err != nil || *st.NumMessages != 3 {
		t.Fatalf("Processed after move: %+v %v", st, err)
	}
	// Nothing is fetched again, and new mail still flows.
	ts.appendMsg(t, "INBOX", msg("mv4@p.example", "a@p.example", "s", "b\n"))
	res2 := mustPoll(t, cn, res.Next)
	if len(res2.Records) != 1 || res2.Records[0].ExternalID != "<mv4@p.example>" {
		t.Fatalf("after move: %+v", res2.Records)
	}
	// Without move_processed_to, Committed is a no-op that sends nothing.
	cn2, _ := newTest(t, source(t, ts.addr))
	n := len(ts.commands())
	if err := cn2.Committed(context.Background(), res2); err != nil || len(ts.commands()) != n {
		t.Errorf("no-op commit: %v, %v", err, ts.commandNames(n))
	}
}

func TestMoveFallbackWithoutMoveCapability(t *testing.T) {
	ts := newTestServer(t, withCaps(goimap.CapSet{goimap.CapIMAP4rev1: {}, goimap.CapUIDPlus: {}, goimap.CapIdle: {}}))
	if err := ts.user.Create("Done", nil); err != nil {
		t.Fatal(err)
	}
	ts.appendMsg(t, "INBOX", msg("f1@p.example", "a@p.example", "s", "b\n"))
	ts.appendMsg(t, "INBOX", msg("f2@p.example", "a@p.example", "s", "b\n"))
	cn, _ := newTest(t, source(t, ts.addr, func(m *config.IMAPSource) { m.MoveProcessedTo = "Done" }))
	res := mustPoll(t, cn, feedback.Cursor{})
	n := len(ts.commands())
	if err := cn.Committed(context.Background(), res); err != nil {
		t.Fatal(err)
	}
	got := ts.commandNames(n)
	if !reflect.DeepEqual(got, []string{"SELECT", "UID COPY", "UID STORE", "UID EXPUNGE"}) {
		t.Errorf("fallback sent %v", ts.commands()[n:])
	}
	st, _ := ts.user.Status("Done", &goimap.StatusOptions{NumMessages: true})
	if *st.NumMessages != 2 {
		t.Errorf("Done has %d messages", *st.NumMessages)
	}
}

func TestPollReconnectsAfterDrop(t *testing.T) {
	ts := newTestServer(t)
	ts.appendMsg(t, "INBOX", msg("r1@p.example", "a@p.example", "s", "b\n"))
	cn, _ := newTest(t, source(t, ts.addr))
	res := mustPoll(t, cn, feedback.Cursor{})
	ts.dropConns()
	ts.appendMsg(t, "INBOX", msg("r2@p.example", "a@p.example", "s", "b\n"))
	res2 := mustPoll(t, cn, res.Next)
	if len(res2.Records) != 1 || res2.Records[0].ExternalID != "<r2@p.example>" {
		t.Fatalf("after reconnect: %+v", res2.Records)
	}
	if c, _ := ParseCursor(res2.Next.Value); c.LastUID != 2 {
		t.Errorf("cursor %s", res2.Next.Value)
	}
}

func TestTLSModes(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	for _, tc := range []struct {
		mode string
		opt  serverOpt
	}{
		{TLSImplicit, withImplicitTLS(serverTLS)},
		{TLSStartTLS, withStartTLS(serverTLS)},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			ts := newTestServer(t, tc.opt)
			ts.appendMsg(t, "INBOX", msg("tls@p.example", "a@p.example", "s", "b\n"))
			cn, _ := newTest(t, source(t, ts.addr, func(m *config.IMAPSource) { m.TLS = tc.mode }))
			cn.s.tlsConfig = clientTLS
			res := mustPoll(t, cn, feedback.Cursor{})
			if len(res.Records) != 1 {
				t.Fatalf("%d records", len(res.Records))
			}
			if tc.mode == TLSImplicit {
				if got := ts.commandNames(0); res.Stats.Requests != len(got) {
					t.Errorf("Requests = %d, server saw %v", res.Stats.Requests, got)
				}
			} else if res.Stats.Requests != 6 { // STARTTLS, CAPABILITY, LOGIN, SELECT, 2× UID FETCH
				t.Errorf("Requests = %d, want 6", res.Stats.Requests)
			}
			// A client that does not trust the certificate fails, naming the step.
			cn2, _ := newTest(t, source(t, ts.addr, func(m *config.IMAPSource) { m.TLS = tc.mode }))
			if _, err := cn2.Poll(context.Background(), feedback.Cursor{}); err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Errorf("untrusted certificate: %v", err)
			}
		})
	}
}

func TestNewValidatesAndKeepsSecretsOut(t *testing.T) {
	ts := newTestServer(t)
	src := source(t, ts.addr)
	env := connectors.Env{Config: config.Default(t.TempDir()), Redactor: connectors.NewRedactor()}

	bad := src
	m := *src.IMAP
	m.Addr = "imap.example.com:143"
	bad.IMAP = &m
	if _, err := New(bad, env); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("tls none on a remote host: %v", err)
	}
	m2 := *src.IMAP
	m2.PasswordEnv = "FH_TEST_IMAP_UNSET"
	bad.IMAP = &m2
	if _, err := New(bad, env); err == nil || !strings.Contains(err.Error(), "FH_TEST_IMAP_UNSET") {
		t.Errorf("unset password env: %v", err)
	}

	t.Setenv("FH_TEST_IMAP_PASS", "wrong-"+testPass)
	c, err := New(src, env)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Poll(context.Background(), feedback.Cursor{})
	if err == nil || !strings.Contains(err.Error(), "login as support") {
		t.Fatalf("wrong password: %v", err)
	}
	if strings.Contains(err.Error(), testPass) {
		t.Errorf("error shows the password: %v", err)
	}
	if red := env.Redactor.Redact("x wrong-" + testPass); strings.Contains(red, testPass) {
		t.Errorf("password not registered with the redactor: %q", red)
	}
	if _, err := c.Poll(context.Background(), feedback.Cursor{Value: "{not json"}); err == nil || !strings.Contains(err.Error(), "imap: cursor") {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{Mailbox: "INBOX", UIDValidity: 1700000000, LastUID: 42}
	if s := c.String(); s != `{"mailbox":"INBOX","uidvalidity":1700000000,"last_uid":42}` {
		t.Errorf("String = %s", s)
	}
	got, err := ParseCursor(c.String())
	if err != nil || got != c {
		t.Errorf("ParseCursor = %+v, %v", got, err)
	}
	if z, err := ParseCursor(""); err != nil || z != (Cursor{}) {
		t.Errorf("empty cursor = %+v, %v", z, err)
	}
}
