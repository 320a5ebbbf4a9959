package imap

import (
	"context"
	"errors"
	"fmt"
	"time"

	goimap "github.com/emersion/go-imap/v2"
)

// timer is the part of *time.Timer Watch uses, so tests can fire timers by hand.
type timer interface {
	C() <-chan time.Time
	Stop() bool
}

type stdTimer struct{ t *time.Timer }

func (s stdTimer) C() <-chan time.Time { return s.t.C }
func (s stdTimer) Stop() bool          { return s.t.Stop() }

func realTimer(d time.Duration) timer { return stdTimer{time.NewTimer(d)} }

// logoutTimeout bounds the polite goodbye when Watch stops.
const logoutTimeout = 5 * time.Second

// Watch blocks until ctx is done and calls notify whenever a Poll may find new mail:
// once after every (re)connect, so mail that arrived while disconnected is caught
// up by UID; whenever the server reports new messages (EXISTS) during IDLE; and every
// poll_interval as a fallback, in case a server or middlebox drops IDLE
// notifications silently. IDLE is ended with DONE and issued again every
// DefaultIdleRefresh (25 minutes, below RFC 2177's 29). After a lost connection it
// reconnects with exponential backoff (DefaultBackoffMin doubling up to
// DefaultBackoffMax, waiting through the injected clock). With idle: false, or on a
// server without IDLE, it only calls notify every poll_interval.
//
// Watch uses its own connection, separate from Poll's, because a connection in IDLE
// cannot run other commands. notify runs on Watch's goroutine: hand the work off
// (for example with a non-blocking send on a buffered channel) rather than polling
// inside it. Watch returns ctx.Err() when ctx ends.
func (cn *Connector) Watch(ctx context.Context, notify func()) error {
	if !cn.s.idle {
		return cn.pollLoop(ctx, notify)
	}
	backoff := time.Duration(0)
	for {
		established, err := cn.watchOnce(ctx, notify)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errNoIdle) {
			cn.logger.Info("imap: server has no IDLE; polling every poll_interval", "source", cn.s.name)
			return cn.pollLoop(ctx, notify)
		}
		if established {
			backoff = 0
		}
		backoff = nextBackoff(backoff, cn.s.backoffMin, cn.s.backoffMax)
		cn.logger.Warn("imap: watch connection lost; reconnecting", "source", cn.s.name, "wait", backoff, "err", err)
		if err := cn.clock.Sleep(ctx, backoff); err != nil {
			return err
		}
	}
}

func nextBackoff(cur, lo, hi time.Duration) time.Duration {
	if cur <= 0 {
		return lo
	}
	if cur >= hi/2 {
		return hi
	}
	return cur * 2
}

// pollLoop calls notify now and then every poll_interval.
func (cn *Connector) pollLoop(ctx context.Context, notify func()) error {
	notify()
	for {
		t := cn.newTimer(cn.s.pollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
			notify()
		}
	}
}

// watchOnce runs one IDLE connection until it fails or ctx ends. established
// reports that login, SELECT and the first IDLE worked, which resets the backoff.
func (cn *Connector) watchOnce(ctx context.Context, notify func()) (established bool, err error) {
	newMail := make(chan struct{}, 1)
	ss, err := cn.connect(ctx, unilateral(newMail), &cn.watchReqs)
	if err != nil {
		return false, err
	}
	defer ss.c.Close()
	caps := ss.c.Caps()
	if !caps.Has(goimap.CapIdle) {
		ss.logout()
		return false, errNoIdle
	}
	stop := context.AfterFunc(ctx, func() { ss.c.Close() })
	_, err = cn.selectMailbox(ss)
	stop()
	if err != nil {
		return false, err
	}
	notify() // catch up on whatever arrived while we were not watching
	poll := cn.newTimer(cn.s.pollInterval)
	defer func() { poll.Stop() }()
	for {
		ss.requests.Add(1)
		idle, err := ss.c.Idle()
		if err != nil {
			return established, fmt.Errorf("imap: idle: %w", err)
		}
		established = true
		refresh := cn.newTimer(cn.s.idleRefresh)
		again := false
		for !again {
			select {
			case <-ctx.Done():
				refresh.Stop()
				// End IDLE and log out politely; closing the connection is the
				// backstop if the server does not answer.
				backstop := time.AfterFunc(logoutTimeout, func() { ss.c.Close() })
				_ = idle.Close()
				ss.logout()
				backstop.Stop()
				return true, ctx.Err()
			case <-ss.c.Closed():
				refresh.Stop()
				return true, errors.New("imap: watch connection closed by the server or network")
			case <-newMail:
				notify()
			case <-poll.C():
				notify()
				poll = cn.newTimer(cn.s.pollInterval)
			case <-refresh.C():
				again = true
			}
		}
		// DONE, wait for the tagged OK, then IDLE again on the next turn.
		if err := idle.Close(); err != nil {
			return true, fmt.Errorf("imap: end idle: %w", err)
		}
		if err := idle.Wait(); err != nil {
			return true, fmt.Errorf("imap: end idle: %w", err)
		}
	}
}
