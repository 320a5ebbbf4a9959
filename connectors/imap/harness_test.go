package imap

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"log"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

const (
	testUser = "support"
	testPass = "s3cret-pass"
)

// testServer is go-imap's in-memory server on 127.0.0.1:0 with a log of the commands
// clients send, read off the wire (tags stripped), so tests can count requests
// independently of the connector's own counter.
type testServer struct {
	addr string
	user *imapmemserver.User
	srv  *imapserver.Server

	mu    sync.Mutex
	cmds  []string
	out   []string // untagged server lines, when recordOut is set
	conns []net.Conn
	cmdCh chan string

	recordOut atomic.Bool
	implicit  *tls.Config // serve TLS from the first byte
}

type serverOpt func(*imapserver.Options, *testServer)

func newTestServer(t *testing.T, opts ...serverOpt) *testServer {
	t.Helper()
	ts := &testServer{cmdCh: make(chan string, 1000)}
	mem := imapmemserver.New()
	ts.user = imapmemserver.NewUser(testUser, testPass)
	if err := ts.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(ts.user)
	so := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		InsecureAuth: true,
		Caps:         goimap.CapSet{goimap.CapIMAP4rev1: {}, goimap.CapIMAP4rev2: {}},
		Logger:       log.New(&bytes.Buffer{}, "", 0),
	}
	for _, o := range opts {
		o(so, ts)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	ts.srv = imapserver.New(so)
	go ts.srv.Serve(&logListener{Listener: ln, ts: ts, tls: ts.implicit})
	t.Cleanup(func() { ts.srv.Close() })
	return ts
}

// withStartTLS offers STARTTLS with cfg (plain LOGIN still allowed).
func withStartTLS(cfg *tls.Config) serverOpt {
	return func(o *imapserver.Options, _ *testServer) { o.TLSConfig = cfg }
}

// withImplicitTLS serves TLS from the first byte.
func withImplicitTLS(cfg *tls.Config) serverOpt {
	return func(_ *imapserver.Options, ts *testServer) { ts.implicit = cfg }
}

// withCaps replaces the advertised capabilities.
func withCaps(c goimap.CapSet) serverOpt {
	return func(o *imapserver.Options, _ *testServer) { o.Caps = c }
}

func (ts *testServer) appendMsg(t *testing.T, mailbox string, raw []byte) goimap.UID {
	t.Helper()
	ad, err := ts.user.Append(mailbox, bytes.NewReader(raw), &goimap.AppendOptions{Time: t0})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return ad.UID
}

// commands returns the commands logged so far.
func (ts *testServer) commands() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.cmds...)
}

// commandNames returns the first word(s) of each command after index from:
// "LOGIN", "SELECT", "UID FETCH", "IDLE", "DONE".
func (ts *testServer) commandNames(from int) []string {
	var out []string
	for _, c := range ts.commands()[from:] {
		f := strings.Fields(c)
		name := f[0]
		if name == "UID" && len(f) > 1 {
			name += " " + f[1]
		}
		out = append(out, name)
	}
	return out
}

// dropConns closes every server-side connection, as a server restart would.
func (ts *testServer) dropConns() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, c := range ts.conns {
		c.Close()
	}
	ts.conns = nil
}

// waitCommand waits until a command starting with prefix is logged.
func (ts *testServer) waitCommand(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case c := <-ts.cmdCh:
			if strings.HasPrefix(c, prefix) {
				return c
			}
		case <-deadline:
			t.Fatalf("no %q command within 10s; log: %q", prefix, ts.commands())
			return ""
		}
	}
}

type logListener struct {
	net.Listener
	ts  *testServer
	tls *tls.Config
}

func (l *logListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.ts.mu.Lock()
	l.ts.conns = append(l.ts.conns, c)
	l.ts.mu.Unlock()
	if l.tls != nil {
		// Log the plaintext: wrap the TLS connection, not the TCP one.
		return &logConn{Conn: tls.Server(c, l.tls), ts: l.ts}, nil
	}
	return &logConn{Conn: c, ts: l.ts}, nil
}

// logConn parses the client's byte stream into commands: a line starts a command
// unless it continues one after a literal ({n} or {n+}), whose n bytes are skipped.
type logConn struct {
	net.Conn
	ts      *testServer
	line    []byte
	literal int
	cont    bool
	outLine []byte
}

func (c *logConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	for _, ch := range b[:n] {
		if c.literal > 0 {
			c.literal--
			continue
		}
		c.line = append(c.line, ch)
		if ch != '\n' {
			continue
		}
		line := strings.TrimRight(string(c.line), "\r\n")
		c.line = c.line[:0]
		if !c.cont {
			c.ts.logCommand(line)
		}
		c.cont = false
		if i := strings.LastIndexByte(line, '{'); i >= 0 && strings.HasSuffix(line, "}") {
			if v, err := strconv.Atoi(strings.TrimSuffix(line[i+1:len(line)-1], "+")); err == nil {
				c.literal = v
				c.cont = true
			}
		}
	}
	return n, err
}

func (c *logConn) Write(b []byte) (int, error) {
	if c.ts.recordOut.Load() {
		for _, ch := range b {
			c.outLine = append(c.outLine, ch)
			if ch == '\n' {
				c.ts.mu.Lock()
				c.ts.out = append(c.ts.out, strings.TrimRight(string(c.outLine), "\r\n"))
				c.ts.mu.Unlock()
				c.outLine = c.outLine[:0]
			}
		}
	}
	return c.Conn.Write(b)
}

func (ts *testServer) logCommand(line string) {
	cmd := line
	if line != "DONE" {
		if _, rest, ok := strings.Cut(line, " "); ok {
			cmd = rest
		}
	}
	cmd = strings.ToUpper(cmd[:min(len(cmd), 1)]) + cmd[min(len(cmd), 1):]
	ts.mu.Lock()
	ts.cmds = append(ts.cmds, cmd)
	ts.mu.Unlock()
	select {
	case ts.cmdCh <- cmd:
	default:
	}
}

// source is an IMAP source for the test server; credentials come from env vars.
func source(t testing.TB, addr string, mod ...func(*config.IMAPSource)) config.Source {
	t.Helper()
	t.Setenv("FH_TEST_IMAP_USER", testUser)
	t.Setenv("FH_TEST_IMAP_PASS", testPass)
	tr := true
	m := &config.IMAPSource{
		Addr: addr, TLS: TLSNone, UsernameEnv: "FH_TEST_IMAP_USER", PasswordEnv: "FH_TEST_IMAP_PASS",
		Mailbox: "INBOX", PollInterval: config.Duration(10 * time.Minute), IDLE: &tr,
		MaxMessageBytes: 1 << 20, SkipListMail: &tr,
	}
	for _, fn := range mod {
		fn(m)
	}
	return config.Source{Name: "support", Kind: config.KindIMAP, IMAP: m}
}

// newTest builds a connector on src with a fake clock.
func newTest(t testing.TB, src config.Source) (*Connector, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(t0)
	cn, err := newConnector(src, connectors.Env{Config: config.Default(t.TempDir()), Clock: fc, Redactor: connectors.NewRedactor()})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	t.Cleanup(func() { cn.Close() })
	return cn, fc
}

func mustPoll(t *testing.T, cn *Connector, cur feedback.Cursor) connectors.Result {
	t.Helper()
	res, err := cn.Poll(context.Background(), cur)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	for i := range res.Records {
		if err := res.Records[i].Validate(); err != nil {
			t.Errorf("record %d invalid: %v", i, err)
		}
	}
	return res
}

// msg builds a plain-text message; extra lines are added to the header.
func msg(id, from, subject, body string, extra ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: support@hub.example\r\nSubject: %s\r\nDate: Thu, 19 Nov 2026 09:00:00 +0000\r\n", from, subject)
	if id != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", id)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}

// selfSigned returns a server TLS config for 127.0.0.1 and a client config that
// trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imap test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool}
	return server, client
}

// fakeTimers hands out timers the test fires by hand.
type fakeTimers struct {
	created chan *fakeTimer
}

type fakeTimer struct {
	d  time.Duration
	ch chan time.Time
	mu sync.Mutex
	st bool
}

func (f *fakeTimer) C() <-chan time.Time { return f.ch }
func (f *fakeTimer) Stop() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	was := !f.st
	f.st = true
	return was
}
func (f *fakeTimer) fire() { f.ch <- t0 }

func newFakeTimers() *fakeTimers { return &fakeTimers{created: make(chan *fakeTimer, 1000)} }

func (ft *fakeTimers) newTimer(d time.Duration) timer {
	tm := &fakeTimer{d: d, ch: make(chan time.Time, 1)}
	ft.created <- tm
	return tm
}

// next waits for the next timer created with duration d, skipping others.
func (ft *fakeTimers) next(t *testing.T, d time.Duration) *fakeTimer {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case tm := <-ft.created:
			if tm.d == d {
				return tm
			}
		case <-deadline:
			t.Fatalf("no %s timer within 10s", d)
			return nil
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
