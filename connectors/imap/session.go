package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"strings"
	"sync/atomic"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/text/encoding/htmlindex"
)

// session is one logged-in IMAP connection.
type session struct {
	c *imapclient.Client
	// requests counts the IMAP commands issued on this connection (see
	// Connector.Poll for what counts).
	requests *atomic.Int64
	// selected is the answer to the last SELECT, nil before one.
	selected *goimap.SelectData
}

// dialFunc opens the TCP connection; tests replace it to cut connections on purpose.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// connect dials, negotiates TLS as configured and logs in. h receives unsolicited
// server data (EXISTS during IDLE); it may be nil. Commands are counted in n.
func (cn *Connector) connect(ctx context.Context, h *imapclient.UnilateralDataHandler, n *atomic.Int64) (*session, error) {
	s := cn.s
	dctx, cancel := context.WithTimeout(ctx, s.dialTimeout)
	defer cancel()
	raw, err := cn.dial(dctx, "tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("imap: connect %s: %w", s.addr, err)
	}
	host, _, _ := net.SplitHostPort(s.addr)
	tcfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if s.tlsConfig != nil {
		tcfg = s.tlsConfig.Clone()
		if tcfg.ServerName == "" {
			tcfg.ServerName = host
		}
	}
	opts := &imapclient.Options{
		TLSConfig:             tcfg,
		UnilateralDataHandler: h,
		WordDecoder:           &mime.WordDecoder{CharsetReader: charsetReader},
	}
	// Until login is done, a cancelled ctx (or the dial timeout) closes the
	// connection, which fails whatever command is waiting.
	closeOnDone := func(c io.Closer) func() bool {
		return context.AfterFunc(dctx, func() { c.Close() })
	}
	var c *imapclient.Client
	switch s.tlsMode {
	case TLSImplicit:
		tc := tls.Client(raw, tcfg)
		stop := closeOnDone(raw)
		err = tc.HandshakeContext(dctx)
		stop()
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("imap: connect %s: tls handshake: %w", s.addr, err)
		}
		c = imapclient.New(tc, opts)
	case TLSStartTLS:
		stop := closeOnDone(raw)
		c, err = imapclient.NewStartTLS(raw, opts)
		stop()
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("imap: connect %s: starttls: %w", s.addr, err)
		}
		// STARTTLS, and the CAPABILITY go-imap sends on its own right after it
		// because the upgrade invalidates what the server advertised before.
		n.Add(2)
	default:
		c = imapclient.New(raw, opts)
	}
	stop := closeOnDone(c)
	defer stop()
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap: connect %s: greeting: %w", s.addr, err)
	}
	n.Add(1)
	if err := c.Login(s.username, s.password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap: login as %s: %w", s.username, err)
	}
	return &session{c: c, requests: n}, nil
}

// selectMailbox (re-)selects the configured mailbox; a SELECT of the mailbox already
// selected is how a poll learns the current UIDVALIDITY and UIDNEXT.
func (cn *Connector) selectMailbox(ss *session) (*goimap.SelectData, error) {
	ss.requests.Add(1)
	sel, err := ss.c.Select(cn.s.mailbox, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("imap: select %s: %w", cn.s.mailbox, err)
	}
	ss.selected = sel
	return sel, nil
}

// logout ends the session politely and closes the connection.
func (ss *session) logout() {
	select {
	case <-ss.c.Closed():
	default:
		ss.requests.Add(1)
		_ = ss.c.Logout().Wait()
	}
	_ = ss.c.Close()
}

// alive reports whether the connection has not been closed yet. A connection that
// died silently is only found out by the next command.
func (ss *session) alive() bool {
	select {
	case <-ss.c.Closed():
		return false
	default:
		return true
	}
}

// isConnError reports whether err is a failed connection rather than a server's NO
// or BAD answer, so the command may be retried on a new connection.
func isConnError(err error) bool {
	if err == nil {
		return false
	}
	var ie *goimap.Error
	return !errors.As(err, &ie)
}

// charsetReader decodes RFC 2047 words in any charset the WHATWG encoding index
// knows (ISO-2022-JP, Shift_JIS, GBK, windows-125x, ...), for ENVELOPE fields.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(strings.ToLower(strings.TrimSpace(charset)))
	if err != nil {
		return nil, fmt.Errorf("imap: unknown charset %q", charset)
	}
	return enc.NewDecoder().Reader(input), nil
}
