package imap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// watchHarness runs Watch with hand-fired timers, a fake clock for the backoff and
// a dialer the test can make fail.
type watchHarness struct {
	ts      *testServer
	cn      *Connector
	timers  *fakeTimers
	notify  chan struct{}
	failing atomic.Int32 // dials to refuse
	dials   atomic.Int32
	nudges  atomic.Int32
	done    chan struct{} // closed when Watch returns
	err     error         // what Watch returned, valid after done
	cancel  context.CancelFunc
}

func startWatch(t *testing.T, ts *testServer, mod ...func(*config.IMAPSource)) (*watchHarness, *clock.Fake) {
	t.Helper()
	cn, fc := newTest(t, source(t, ts.addr, mod...))
	h := &watchHarness{ts: ts, cn: cn, timers: newFakeTimers(), notify: make(chan struct{}, 100), done: make(chan struct{})}
	cn.newTimer = h.timers.newTimer
	var d net.Dialer
	cn.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		h.dials.Add(1)
		if h.failing.Load() > 0 {
			h.failing.Add(-1)
			return nil, errors.New("connection refused (test)")
		}
		return d.DialContext(ctx, network, addr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		h.err = cn.Watch(ctx, func() { h.notify <- struct{}{} })
		close(h.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("Watch did not return after cancel")
		}
	})
	return h, fc
}

func (h *watchHarness) waitNotify(t *testing.T, why string) {
	t.Helper()
	select {
	case <-h.notify:
	case <-time.After(10 * time.Second):
		t.Fatalf("no notify for %s within 10s; server log %q", why, h.ts.commands())
	}
}

// appendDuringIdle appends raw and waits for the EXISTS notify. go-imap's server
// registers an IDLE session for updates on a goroutine after it has read the IDLE
// line, and does not flush what was queued before: mail appended in that window is
// only announced with the next update. So when no notify comes within half a second,
// a "nudge" message is appended (and later filtered out by ExternalID).
func (h *watchHarness) appendDuringIdle(t *testing.T, raw []byte) {
	t.Helper()
	h.ts.appendMsg(t, "INBOX", raw)
	for i := range 20 {
		select {
		case <-h.notify:
			return
		case <-time.After(500 * time.Millisecond):
			h.ts.appendMsg(t, "INBOX", msg(fmt.Sprintf("nudge%d-%d@p.example", h.nudges.Add(1), i), "a@p.example", "nudge", "n\n"))
		}
	}
	t.Fatalf("no notify for EXISTS during IDLE; server log %q", h.ts.commands())
}

// ids lists the ExternalIDs of recs, without nudges.
func ids(recs []feedback.Record) []string {
	var out []string
	for _, r := range recs {
		if !strings.HasPrefix(r.ExternalID, "<nudge") {
			out = append(out, r.ExternalID)
		}
	}
	return out
}

func (h *watchHarness) drainNotifies() {
	for {
		select {
		case <-h.notify:
		default:
			return
		}
	}
}

func (h *watchHarness) noNotify(t *testing.T) {
	t.Helper()
	select {
	case <-h.notify:
		t.Fatal("unexpected notify")
	default:
	}
}

func TestWatchIdleRefreshFallbackAndReconnect(t *testing.T) {
	ts := newTestServer(t)
	ts.appendMsg(t, "INBOX", msg("w1@p.example", "a@p.example", "s", "b\n"))
	h, clk := startWatch(t, ts)
	pollEvery := 10 * time.Minute

	// Connect: LOGIN, SELECT, notify to catch up, then IDLE with a refresh timer
	// shorter than RFC 2177's 29 minutes.
	h.waitNotify(t, "catch-up after connect")
	poll := h.timers.next(t, pollEvery)
	refresh := h.timers.next(t, DefaultIdleRefresh)
	if refresh.d >= 29*time.Minute {
		t.Fatalf("IDLE refresh %s, want < 29m", refresh.d)
	}
	h.ts.waitCommand(t, "IDLE")
	if got := ts.commandNames(0); !reflect.DeepEqual(got, []string{"LOGIN", "SELECT", "IDLE"}) {
		t.Fatalf("commands %v", got)
	}

	// New mail during IDLE: the server pushes EXISTS, Watch notifies; IDLE goes on.
	h.appendDuringIdle(t, msg("w2@p.example", "a@p.example", "s", "b\n"))

	// Refresh: DONE and a new IDLE on the same connection.
	n := len(ts.commands())
	refresh.fire()
	ts.waitCommand(t, "DONE")
	ts.waitCommand(t, "IDLE")
	refresh = h.timers.next(t, DefaultIdleRefresh)
	if got := ts.commandNames(n); !reflect.DeepEqual(got, []string{"DONE", "IDLE"}) {
		t.Fatalf("refresh sent %v", got)
	}
	if h.nudges.Load() == 0 { // else a late EXISTS may still be on its way
		h.noNotify(t)
	}

	// Fallback poll timer: notify without any server event.
	h.drainNotifies()
	poll.fire()
	h.waitNotify(t, "fallback poll")
	_ = h.timers.next(t, pollEvery)

	// The caller polls on notify; the Poll connection is separate from IDLE's.
	res := mustPoll(t, h.cn, feedback.Cursor{})
	if got := ids(res.Records); !reflect.DeepEqual(got, []string{"<w1@p.example>", "<w2@p.example>"}) {
		t.Fatalf("poll during watch: %q", got)
	}

	// Disconnect with two refused reconnects: backoff 1s, 2s, 4s through the clock,
	// then a reconnect that notifies so the caller catches up by UID.
	h.failing.Store(2)
	dialsBefore := h.dials.Load()
	h.appendDuringIdle(t, msg("w3@p.example", "a@p.example", "s", "b\n"))
	ts.dropConns()
	// Skip notifies still in flight from before the drop (a nudge may cause two).
	for h.dials.Load()-dialsBefore < 3 {
		h.waitNotify(t, "catch-up after reconnect")
	}
	if got := clk.Sleeps(); !reflect.DeepEqual(got, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}) {
		t.Errorf("backoff sleeps %v, want [1s 2s 4s]", got)
	}
	if d := h.dials.Load() - dialsBefore; d != 3 {
		t.Errorf("%d dials after the drop, want 3", d)
	}
	ts.appendMsg(t, "INBOX", msg("w4@p.example", "a@p.example", "s", "b\n"))
	res2 := mustPoll(t, h.cn, res.Next)
	if got := ids(res2.Records); !reflect.DeepEqual(got, []string{"<w3@p.example>", "<w4@p.example>"}) {
		t.Fatalf("catch-up poll: %q", got)
	}

	h.cancel()
	select {
	case <-h.done:
		if !errors.Is(h.err, context.Canceled) {
			t.Errorf("Watch returned %v, want context.Canceled", h.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not stop")
	}
}

func TestWatchBackoffResetsAndCaps(t *testing.T) {
	if got := []time.Duration{nextBackoff(0, time.Second, 8*time.Second), nextBackoff(time.Second, time.Second, 8*time.Second),
		nextBackoff(4*time.Second, time.Second, 8*time.Second), nextBackoff(8*time.Second, time.Second, 8*time.Second),
		nextBackoff(5*time.Second, time.Second, 8*time.Second)}; !reflect.DeepEqual(got, []time.Duration{time.Second, 2 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}) {
		t.Errorf("backoff sequence %v", got)
	}
}

// TestWatchWithIdleOffPolls: idle: false makes Watch a plain poll_interval ticker
// that never connects. (A server without IDLE takes the same path, but go-imap's
// server always advertises IDLE, so that branch is not exercised here.)
func TestWatchWithIdleOffPolls(t *testing.T) {
	ts := newTestServer(t)
	h, _ := startWatch(t, ts, func(m *config.IMAPSource) { f := false; m.IDLE = &f })
	h.waitNotify(t, "first poll")
	tm := h.timers.next(t, 10*time.Minute)
	tm.fire()
	h.waitNotify(t, "poll interval")
	_ = h.timers.next(t, 10*time.Minute)
	if got := ts.commands(); len(got) != 0 {
		t.Errorf("Watch with idle off sent %v", got)
	}
}
