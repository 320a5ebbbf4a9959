package imap

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/connectors/mailparse"
)

// Tunables with no config key; they are fields of settings so tests can change them.
const (
	// DefaultBatchSize is how many messages one UID FETCH of bodies asks for.
	DefaultBatchSize = 200
	// DefaultMaxMessages bounds the messages one Poll returns; the cursor stops at
	// the last one returned and the next Poll continues from there (see More).
	DefaultMaxMessages = 1000
	// DefaultMaxPollBytes bounds the raw bytes one Poll downloads, for the same
	// reason: a poll's records are held in memory until the caller commits them.
	// At least one message is always returned, so a single large message is fine.
	DefaultMaxPollBytes = 128 << 20
	// DefaultIdleRefresh is how long one IDLE runs before it is ended with DONE and
	// issued again. RFC 2177 asks clients to re-issue at least every 29 minutes;
	// go-imap restarts its own IDLE at 28, so ours comes first.
	DefaultIdleRefresh = 25 * time.Minute
	// DefaultBackoffMin and DefaultBackoffMax bound the wait between reconnects
	// after the watch connection fails; the wait doubles on each failure in a row.
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = 5 * time.Minute
	// DefaultDialTimeout bounds connecting and the TLS handshake.
	DefaultDialTimeout = 30 * time.Second
	// DefaultPollTimeout bounds one Poll whose context has no deadline of its own:
	// go-imap commands take no context, so a server that stops answering would
	// otherwise hang the poll (and every later one) forever.
	DefaultPollTimeout = 10 * time.Minute
)

// TLS modes of the tls key.
const (
	TLSImplicit = "implicit" // TLS from the first byte (port 993)
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 143)
	TLSNone     = "none"     // no TLS at all; config validation allows it on loopback only
)

// settings is the resolved configuration of one IMAP source: defaults applied and
// secrets loaded.
type settings struct {
	name         string
	addr         string
	tlsMode      string
	username     string
	password     string
	mailbox      string
	moveTo       string
	pollInterval time.Duration
	idle         bool
	maxBytes     int64
	parse        mailparse.Options

	batchSize    int
	maxMessages  int
	maxPollBytes int64
	idleRefresh  time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration
	dialTimeout  time.Duration
	tlsConfig    *tls.Config // nil: system roots, ServerName from addr
}

// loadSettings resolves src into settings and registers the secrets with red.
func loadSettings(src config.Source, cfg *config.Config, red *connectors.Redactor) (settings, error) {
	if src.Kind != config.KindIMAP {
		return settings{}, fmt.Errorf("imap: source kind is %q, not imap", src.Kind)
	}
	m := src.IMAP
	if m == nil {
		return settings{}, errors.New("imap: missing imap section")
	}
	if cfg == nil {
		cfg = config.Default(".")
	}
	s := settings{
		name:         src.Name,
		addr:         m.Addr,
		tlsMode:      strings.ToLower(m.TLS),
		mailbox:      m.Mailbox,
		moveTo:       m.MoveProcessedTo,
		pollInterval: m.PollInterval.D(),
		idle:         m.IDLE == nil || *m.IDLE,
		maxBytes:     m.MaxMessageBytes,
		batchSize:    DefaultBatchSize,
		maxMessages:  DefaultMaxMessages,
		maxPollBytes: DefaultMaxPollBytes,
		idleRefresh:  DefaultIdleRefresh,
		backoffMin:   DefaultBackoffMin,
		backoffMax:   DefaultBackoffMax,
		dialTimeout:  DefaultDialTimeout,
	}
	// The config loader applies these defaults; a hand-built Source may not have.
	if s.mailbox == "" {
		s.mailbox = config.DefaultIMAPMailbox
	}
	if s.tlsMode == "" {
		s.tlsMode = config.DefaultIMAPTLS
	}
	if s.pollInterval <= 0 {
		s.pollInterval = config.DefaultPollInterval
	}
	if s.maxBytes <= 0 {
		s.maxBytes = config.DefaultMaxMessageBytes
	}
	s.parse = mailparse.Options{
		MaxBytes:          s.maxBytes,
		AllowMailingLists: m.SkipListMail != nil && !*m.SkipListMail,
	}
	host, _, err := net.SplitHostPort(s.addr)
	if err != nil {
		return settings{}, fmt.Errorf("imap: addr %q: %w", s.addr, err)
	}
	switch s.tlsMode {
	case TLSImplicit, TLSStartTLS:
	case TLSNone:
		if !isLoopback(host) {
			return settings{}, fmt.Errorf("imap: tls none is only allowed for loopback addresses, not %q", host)
		}
	default:
		return settings{}, fmt.Errorf("imap: unknown tls mode %q (want implicit, starttls or none)", s.tlsMode)
	}
	if m.UsernameEnv == "" {
		return settings{}, errors.New("imap: username_env is required")
	}
	if s.username, err = cfg.Secret(m.UsernameEnv, ""); err != nil {
		return settings{}, fmt.Errorf("imap: username: %w", err)
	}
	if s.password, err = cfg.Secret(m.PasswordEnv, m.PasswordFile); err != nil {
		return settings{}, fmt.Errorf("imap: password: %w", err)
	}
	if s.password == "" {
		return settings{}, errors.New("imap: password_env or password_file is required")
	}
	if red != nil {
		red.Add(s.password)
	}
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
