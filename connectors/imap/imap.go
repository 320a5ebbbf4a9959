// Package imap is the support-inbox connector: it reads one IMAP mailbox and turns
// every new message into a feedback.Record through connectors/mailparse.
//
// Sync is keyed on (mailbox, UIDVALIDITY) as RFC 4549 describes: the cursor holds
// the last UID returned, each poll asks for `UID FETCH last+1:*` and keeps only UIDs
// above last (a server answers `n:*` with the highest message even when its UID is
// below n). When UIDVALIDITY changes the mailbox is read again from UID 1; that does
// not duplicate anything, because records are keyed on the Message-ID (or a hash of
// the raw message) with a stable revision, so intake treats a re-fetch as a no-op.
//
// A poll first fetches UID, RFC822.SIZE and INTERNALDATE of the new messages, then
// the bodies in batches. A message over max_message_bytes is not downloaded: it is
// recorded from its ENVELOPE with a quarantine reason. Broken MIME, auto-replies,
// bounces and list mail become records with a quarantine reason (mailparse decides),
// never items, and never stop the messages behind them.
//
// Moving processed mail (move_processed_to) must wait until the records are
// committed, which Poll cannot know: the caller calls Committed after its
// transaction (the connectors.Committer-style interface AfterCommit below). Watch
// keeps an IDLE connection open and tells the caller when to poll.
package imap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/connectors/mailparse"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// Record meta keys the connector adds to mailparse's.
const (
	MetaMailbox     = "imap_mailbox"
	MetaUIDValidity = "imap_uidvalidity"
	MetaUID         = "imap_uid"
)

// AfterCommit is implemented by connectors that have work to do only once the
// records of a poll are durable. The caller stores Result.Records and Result.Next in
// one transaction and then calls Committed with the same Result; an error there
// does not undo the commit and should be logged, not retried as a poll.
type AfterCommit interface {
	Committed(ctx context.Context, res connectors.Result) error
}

// Watcher is implemented by connectors that can tell when a poll is worth doing.
// Watch blocks until ctx is done; it calls notify (from its own goroutine, so notify
// must not block for long) whenever the source may hold records a poll has not
// returned yet, including once right after every (re)connect so that the caller
// catches up on what arrived while the connection was down.
type Watcher interface {
	Watch(ctx context.Context, notify func()) error
}

var (
	_ connectors.Connector = (*Connector)(nil)
	_ AfterCommit          = (*Connector)(nil)
	_ Watcher              = (*Connector)(nil)
)

// Cursor is the connector's position, stored as JSON in feedback.Cursor.Value:
// {"mailbox":"INBOX","uidvalidity":1700000000,"last_uid":42}. LastUID is the
// highest UID already returned for that (mailbox, UIDVALIDITY); a cursor for another
// mailbox or UIDVALIDITY counts as no cursor at all.
type Cursor struct {
	Mailbox     string `json:"mailbox"`
	UIDValidity uint32 `json:"uidvalidity"`
	LastUID     uint32 `json:"last_uid"`
}

// ParseCursor reads a cursor value; the empty string is the zero cursor.
func ParseCursor(v string) (Cursor, error) {
	var c Cursor
	if strings.TrimSpace(v) == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return Cursor{}, fmt.Errorf("imap: cursor %q: %w", clip(v, 80), err)
	}
	return c, nil
}

// String renders the cursor as stored.
func (c Cursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Connector reads one IMAP mailbox. Poll, Committed and Close share one connection
// and are serialized; Watch uses a second connection of its own.
type Connector struct {
	s      settings
	clock  clock.Clock
	logger *slog.Logger

	dial      dialFunc
	newTimer  func(d time.Duration) timer
	watchReqs atomic.Int64 // commands issued by Watch's connection

	mu       sync.Mutex
	sess     *session
	requests atomic.Int64 // commands issued by the poll connection
	more     bool
	// pollTimeout bounds a Poll whose context has no deadline (DefaultPollTimeout).
	pollTimeout time.Duration
}

// New builds the connector for an IMAP source. It does not connect: the first Poll
// (or Watch) does.
func New(src config.Source, env connectors.Env) (connectors.Connector, error) {
	return newConnector(src, env)
}

func newConnector(src config.Source, env connectors.Env) (*Connector, error) {
	s, err := loadSettings(src, env.Config, env.Redactor)
	if err != nil {
		return nil, err
	}
	cn := &Connector{s: s, clock: env.Clock, logger: env.Logger, newTimer: realTimer}
	if cn.clock == nil {
		cn.clock = clock.Real{}
	}
	if cn.logger == nil {
		cn.logger = slog.New(slog.DiscardHandler)
	}
	cn.dial = (&net.Dialer{}).DialContext
	cn.pollTimeout = DefaultPollTimeout
	return cn, nil
}

// Name is the configured source name.
func (cn *Connector) Name() string { return cn.s.name }

// Kind is "imap".
func (cn *Connector) Kind() string { return config.KindIMAP }

// More reports whether the last Poll stopped at its message or byte budget with
// more new mail left on the server; polling again continues from its cursor.
func (cn *Connector) More() bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.more
}

// Close logs out and closes the poll connection.
func (cn *Connector) Close() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.sess != nil {
		cn.sess.logout()
		cn.sess = nil
	}
	return nil
}

// Poll returns the messages that arrived since cursor, at most DefaultMaxMessages
// (or DefaultMaxPollBytes of raw mail) at a time, in UID order, and the cursor just
// past the last one. Stats.Requests counts the IMAP commands this poll issued on
// the wire: LOGIN when it had to connect (plus STARTTLS and the CAPABILITY go-imap
// sends after it in starttls mode), one SELECT, one UID FETCH of sizes when UIDNEXT
// shows new mail, one UID FETCH of envelopes when some message is oversize, and one
// UID FETCH of bodies per batch. Not counted: CAPABILITY commands go-imap would send
// on its own when a greeting or LOGIN reply carries no capability list (Dovecot and
// go-imap's server include it, so none is sent there). A repeated poll with no new
// mail on a connection kept open is a single SELECT.
//
// A connection that turns out to be dead is replaced once within the same poll
// (Stats.Retries); an error leaves the stored cursor where it was.
func (cn *Connector) Poll(ctx context.Context, cur feedback.Cursor) (connectors.Result, error) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	pos, err := ParseCursor(cur.Value)
	if err != nil {
		return connectors.Result{Next: cur}, err
	}
	if _, ok := ctx.Deadline(); !ok && cn.pollTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cn.pollTimeout)
		defer cancel()
	}
	before := cn.requests.Load()
	var st connectors.Stats
	res, err := cn.poll(ctx, pos, cur)
	if err != nil && isConnError(err) && ctx.Err() == nil {
		cn.logger.Warn("imap: connection failed; reconnecting once", "source", cn.s.name, "err", err)
		cn.dropSession()
		st.Retries++
		res, err = cn.poll(ctx, pos, cur)
	}
	res.Stats.Retries += st.Retries
	res.Stats.Requests = int(cn.requests.Load() - before)
	if err != nil {
		cn.dropSessionIfDead()
		if ctx.Err() != nil {
			err = fmt.Errorf("imap: poll %s stopped: %w (%v)", cn.s.name, ctx.Err(), err)
		}
		return connectors.Result{Next: cur, Stats: res.Stats}, err
	}
	return res, nil
}

// session returns the open poll connection, connecting when there is none.
func (cn *Connector) session(ctx context.Context) (*session, error) {
	if cn.sess != nil && cn.sess.alive() {
		return cn.sess, nil
	}
	cn.dropSession()
	ss, err := cn.connect(ctx, nil, &cn.requests)
	if err != nil {
		return nil, err
	}
	cn.sess = ss
	return ss, nil
}

func (cn *Connector) dropSession() {
	if cn.sess != nil {
		_ = cn.sess.c.Close()
		cn.sess = nil
	}
}

func (cn *Connector) dropSessionIfDead() {
	if cn.sess != nil && !cn.sess.alive() {
		cn.sess = nil
	}
}

// msgMeta is what the first fetch learns about a new message.
type msgMeta struct {
	uid      goimap.UID
	size     int64
	received time.Time
}

func (cn *Connector) poll(ctx context.Context, pos Cursor, cur feedback.Cursor) (connectors.Result, error) {
	res := connectors.Result{Next: cur}
	cn.more = false
	ss, err := cn.session(ctx)
	if err != nil {
		return res, err
	}
	// Commands do not take a context: closing the connection is what stops them.
	stop := context.AfterFunc(ctx, func() { ss.c.Close() })
	defer stop()

	sel, err := cn.selectMailbox(ss)
	if err != nil {
		return res, err
	}
	last := pos.LastUID
	if pos.Mailbox != cn.s.mailbox || pos.UIDValidity != sel.UIDValidity {
		if pos.UIDValidity != 0 || pos.LastUID != 0 {
			cn.logger.Info("imap: mailbox or UIDVALIDITY changed; reading the mailbox again from UID 1",
				"source", cn.s.name, "mailbox", cn.s.mailbox, "cursor", pos.String(), "uidvalidity", sel.UIDValidity)
		}
		last = 0
	}
	next := Cursor{Mailbox: cn.s.mailbox, UIDValidity: sel.UIDValidity, LastUID: last}
	res.Next.Value = next.String()
	// UIDNEXT is the UID the next message will get, so nothing above last exists
	// when it is last+1 or less. Servers may omit it (0): then fetch anyway.
	if sel.NumMessages == 0 || (sel.UIDNext != 0 && uint32(sel.UIDNext) <= last+1) {
		return res, nil
	}
	metas, err := cn.fetchNew(ss, last)
	if err != nil {
		return res, err
	}
	if len(metas) == 0 {
		return res, nil
	}

	// Budget: what this poll returns, in UID order.
	var (
		take     []msgMeta
		bytes    int64
		oversize []goimap.UID
	)
	for _, m := range metas {
		if len(take) >= cn.s.maxMessages || (len(take) > 0 && m.size <= cn.s.maxBytes && bytes+m.size > cn.s.maxPollBytes) {
			cn.more = true
			break
		}
		take = append(take, m)
		if m.size > cn.s.maxBytes {
			oversize = append(oversize, m.uid)
		} else {
			bytes += m.size
		}
	}
	recs := make(map[goimap.UID]feedback.Record, len(take))
	if len(oversize) > 0 {
		envs, err := cn.fetchEnvelopes(ss, oversize)
		if err != nil {
			return res, err
		}
		for _, m := range take {
			if m.size > cn.s.maxBytes {
				recs[m.uid] = cn.oversizeRecord(m, envs[m.uid])
			}
		}
	}
	for i := 0; i < len(take); {
		var batch []msgMeta
		for ; i < len(take) && len(batch) < cn.s.batchSize; i++ {
			if take[i].size <= cn.s.maxBytes {
				batch = append(batch, take[i])
			}
		}
		if len(batch) == 0 {
			continue
		}
		if err := cn.fetchBodies(ss, batch, recs); err != nil {
			return res, err
		}
	}
	for _, m := range take {
		r, ok := recs[m.uid]
		if !ok {
			// Expunged between the two fetches: nothing left to record.
			continue
		}
		setUIDMeta(&r, cn.s.mailbox, sel.UIDValidity, m.uid)
		res.Records = append(res.Records, r)
	}
	next.LastUID = uint32(take[len(take)-1].uid)
	res.Next.Value = next.String()
	res.Stats.Fetched = len(res.Records)
	return res, nil
}

// fetchNew asks for UID, size and arrival time of every message above last, and
// returns those whose UID really is above last (the n:* quirk), in UID order.
func (cn *Connector) fetchNew(ss *session, last uint32) ([]msgMeta, error) {
	var set goimap.UIDSet
	set.AddRange(goimap.UID(last+1), 0) // last+1:*
	ss.requests.Add(1)
	fc := ss.c.Fetch(set, &goimap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true})
	var out []msgMeta
	for msg := fc.Next(); msg != nil; msg = fc.Next() {
		buf, err := msg.Collect()
		if err != nil {
			_ = fc.Close()
			return nil, fmt.Errorf("imap: fetch sizes after uid %d: %w", last, err)
		}
		if uint32(buf.UID) <= last {
			continue
		}
		out = append(out, msgMeta{uid: buf.UID, size: buf.RFC822Size, received: buf.InternalDate})
	}
	if err := fc.Close(); err != nil {
		return nil, fmt.Errorf("imap: fetch sizes after uid %d: %w", last, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out, nil
}

// fetchEnvelopes fetches the ENVELOPE of oversize messages, whose bodies are never
// downloaded.
func (cn *Connector) fetchEnvelopes(ss *session, uids []goimap.UID) (map[goimap.UID]*goimap.Envelope, error) {
	ss.requests.Add(1)
	bufs, err := ss.c.Fetch(goimap.UIDSetNum(uids...), &goimap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("imap: fetch envelopes of %d oversize messages: %w", len(uids), err)
	}
	out := make(map[goimap.UID]*goimap.Envelope, len(bufs))
	for _, b := range bufs {
		out[b.UID] = b.Envelope
	}
	return out, nil
}

// fetchBodies downloads one batch of whole messages (BODY.PEEK[], so \Seen is left
// alone) and converts each into a record.
func (cn *Connector) fetchBodies(ss *session, batch []msgMeta, recs map[goimap.UID]feedback.Record) error {
	byUID := make(map[goimap.UID]msgMeta, len(batch))
	uids := make([]goimap.UID, len(batch))
	for i, m := range batch {
		uids[i] = m.uid
		byUID[m.uid] = m
	}
	sec := &goimap.FetchItemBodySection{Peek: true}
	ss.requests.Add(1)
	fc := ss.c.Fetch(goimap.UIDSetNum(uids...), &goimap.FetchOptions{UID: true, BodySection: []*goimap.FetchItemBodySection{sec}})
	for msg := fc.Next(); msg != nil; msg = fc.Next() {
		buf, err := msg.Collect()
		if err != nil {
			_ = fc.Close()
			return fmt.Errorf("imap: fetch %d messages from uid %d: %w", len(batch), uids[0], err)
		}
		m, ok := byUID[buf.UID]
		if !ok {
			continue
		}
		recs[m.uid] = cn.messageRecord(buf.FindBodySection(sec), m)
	}
	if err := fc.Close(); err != nil {
		return fmt.Errorf("imap: fetch %d messages from uid %d: %w", len(batch), uids[0], err)
	}
	return nil
}

// messageRecord converts one downloaded message. A message the server says is small
// but that arrives larger than the limit is still quarantined by mailparse.
func (cn *Connector) messageRecord(raw []byte, m msgMeta) feedback.Record {
	received := m.received
	if received.IsZero() {
		received = cn.clock.Now()
	}
	r, _ := mailparse.Convert(cn.s.name, raw, cn.s.parse, received)
	return r
}

// oversizeRecord records a message too large to download from its envelope. Its
// ExternalID is the Message-ID, or a hash of the envelope and size when there is
// none, so a resync after a UIDVALIDITY change finds the same record.
func (cn *Connector) oversizeRecord(m msgMeta, env *goimap.Envelope) feedback.Record {
	received := m.received
	if received.IsZero() {
		received = cn.clock.Now()
	}
	received = received.UTC()
	r := feedback.Record{
		Source:     cn.s.name,
		Revision:   "1",
		Kind:       feedback.KindEmail,
		Quarantine: fmt.Sprintf("oversize: message is %d bytes, over the %d byte limit (body not downloaded)", m.size, cn.s.maxBytes),
		CreatedAt:  received,
		UpdatedAt:  received,
		ReceivedAt: received,
		Meta:       map[string]string{"size": strconv.FormatInt(m.size, 10), "body": "not downloaded (oversize)"},
	}
	if env != nil {
		r.Title = env.Subject
		if len(env.From) > 0 {
			r.Author = env.From[0].Addr()
			r.AuthorEmail = r.Author
			if name := env.From[0].Name; name != "" {
				r.Meta["from_name"] = name
			}
			if _, d, ok := strings.Cut(r.Author, "@"); ok && d != "" {
				r.Meta["from_domain"] = strings.ToLower(d)
			}
		}
		if !env.Date.IsZero() {
			r.CreatedAt = env.Date.UTC()
			r.UpdatedAt = r.CreatedAt
		}
		if id := mailparse.NormalizeMessageID(env.MessageID); id != "" && strings.IndexByte(id, 0) < 0 {
			// (A NUL byte cannot be in a record id: the fallback id stays.)
			r.ExternalID = id
			r.Meta["message_id"] = id
		}
		for _, id := range env.InReplyTo {
			if id = mailparse.NormalizeMessageID(id); id != "" {
				r.ThreadRefs = append(r.ThreadRefs, id)
			}
		}
		if s := mailparse.NormalizeSubject(env.Subject); s != "" {
			r.Meta["normalized_subject"] = s
		}
	}
	if r.ExternalID == "" {
		h := sha256.New()
		fmt.Fprintf(h, "%d\x00%s\x00", m.size, received.Format(time.RFC3339))
		if env != nil {
			fmt.Fprintf(h, "%s\x00%s\x00%s", env.Subject, r.Author, env.Date.UTC().Format(time.RFC3339))
		}
		r.ExternalID = "oversize:sha256:" + hex.EncodeToString(h.Sum(nil))
		r.Meta["external_id_from"] = "sha256 of envelope, size and arrival (no Message-ID)"
	}
	return r
}

func setUIDMeta(r *feedback.Record, mailbox string, uidValidity uint32, uid goimap.UID) {
	if r.Meta == nil {
		r.Meta = map[string]string{}
	}
	r.Meta[MetaMailbox] = mailbox
	r.Meta[MetaUIDValidity] = strconv.FormatUint(uint64(uidValidity), 10)
	r.Meta[MetaUID] = strconv.FormatUint(uint64(uid), 10)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// errNoIdle says the server cannot IDLE, so Watch falls back to polling.
var errNoIdle = errors.New("imap: server does not support IDLE")

// unilateral builds the handler that turns EXISTS during IDLE into a signal.
func unilateral(ch chan<- struct{}) *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		},
	}
}
