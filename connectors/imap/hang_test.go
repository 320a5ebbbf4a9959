package imap

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// hangingServer greets, accepts LOGIN and then never answers again: a server that
// stopped responding mid-session. It records the commands it saw.
// kill closes the listener and every connection, which unblocks a client stuck on one.
func hangingServer(t *testing.T) (addr string, seen chan string, kill func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	seen = make(chan string, 100)
	var mu sync.Mutex
	var conns []net.Conn
	kill = func() {
		mu.Lock()
		defer mu.Unlock()
		ln.Close() // and no new connections either: Poll reconnects once
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(kill)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			go func(c net.Conn) {
				defer c.Close()
				_, _ = c.Write([]byte("* OK [CAPABILITY IMAP4rev1] ready\r\n"))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					f := strings.Fields(line)
					if len(f) < 2 {
						continue
					}
					seen <- strings.ToUpper(f[1])
					if strings.EqualFold(f[1], "LOGIN") {
						_, _ = c.Write([]byte(f[0] + " OK LOGIN done\r\n"))
					}
					// Anything else: no answer, ever.
				}
			}(conn)
		}
	}()
	return ln.Addr().String(), seen, kill
}

func TestPollStopsWhenServerHangs(t *testing.T) {
	addr, seen, kill := hangingServer(t)
	cn, _ := newTest(t, source(t, addr))

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := cn.Poll(ctx, feedback.Cursor{})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Poll on a hung server: err = %v, want one wrapping context.DeadlineExceeded", err)
		}
		if !strings.Contains(err.Error(), "support") {
			t.Errorf("error should name the source: %v", err)
		}
	case <-time.After(20 * time.Second):
		kill()
		t.Fatal("Poll still blocked 20s after its 300ms deadline")
	}
	// The server did get past LOGIN, so the poll hung on a command, not on dialing.
	var cmds []string
	for len(seen) > 0 {
		cmds = append(cmds, <-seen)
	}
	if len(cmds) < 2 || cmds[0] != "LOGIN" {
		t.Errorf("commands seen = %v, want LOGIN then a command that hung", cmds)
	}

	// The default bound applies when the caller sets no deadline.
	cn.pollTimeout = 200 * time.Millisecond
	go func() {
		_, err := cn.Poll(context.Background(), feedback.Cursor{})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Poll without a deadline: err = %v, want the default poll timeout", err)
		}
	case <-time.After(20 * time.Second):
		kill()
		t.Fatal("Poll without a deadline is not bounded by the default poll timeout")
	}
}
