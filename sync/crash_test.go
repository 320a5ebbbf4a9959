package sync

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
)

// crasher counts the points of a run (sync's fault points, every HTTP request before
// it is sent and after its answer came back, every commit of a sync transaction) and
// kills the run at point `at`: the run's context is cancelled and the point fails, so
// nothing after it happens, as if the process had died there.
type crasher struct {
	at     int // 0: never
	n      int
	cancel context.CancelFunc
	points []string
	hit    string
}

func (c *crasher) point(name string) error {
	if c == nil {
		return nil
	}
	c.n++
	c.points = append(c.points, name)
	if c.n == c.at {
		c.hit = name
		c.cancel()
		return fmt.Errorf("%w at %s", ErrInjected, name)
	}
	return nil
}

type crashTransport struct {
	base http.RoundTripper
	cr   **crasher
}

func (t crashTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	name := req.Method + " " + req.URL.Path
	if err := (*t.cr).point("http> " + name); err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if err := (*t.cr).point("http< " + name); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// syncOps are the store transactions whose commits are crash points.
var syncOps = map[string]bool{"decision-apply": true, "ticket-save": true, "outbox-claim": true, "outbox-sent": true,
	"outbox-failed": true, "outbox-enqueue": true, "notification-insert": true, "notification-sent": true}

// lifecycle is everything that happens to two clusters (one per tracker): accept,
// deliver, a new item joins, the update goes out, the tickets are done, the reporters
// are told. Every step is safe to run again.
func lifecycle(ctx context.Context, t *testing.T, b *bundle, cs []int64) error {
	for _, c := range cs {
		cl, err := b.st.Cluster(ctx, c)
		if err != nil {
			return err
		}
		if cl.Status == feedback.StatusTriaged {
			if _, err := b.sy.Accept(ctx, c, "ana", "go"); err != nil {
				return err
			}
		}
	}
	if _, err := b.sy.Drain(ctx, DrainOptions{}); err != nil {
		return err
	}
	if _, err := b.st.ItemByExternalID(context.Background(), "csv", "late-"+strconv.FormatInt(cs[0], 10)); err != nil {
		addItem(t, b.st, cs[0], feedback.Record{Source: "csv", ExternalID: "late-" + strconv.FormatInt(cs[0], 10), Title: "me too"}, "globex")
	}
	if _, err := b.sy.Drain(ctx, DrainOptions{}); err != nil {
		return err
	}
	for _, c := range cs {
		tks, err := b.st.Tickets(ctx, store.TicketFilter{ClusterID: c})
		if err != nil {
			return err
		}
		for _, tk := range tks {
			status := "Done"
			if tk.Kind == "github" {
				status = "closed"
			}
			if _, err := b.sy.ApplyRemote(ctx, RemoteEvent{Key: tk.RemoteKey, Status: status, Via: "webhook"}); err != nil {
				return err
			}
		}
	}
	_, err := b.sy.Drain(ctx, DrainOptions{})
	return err
}

type crashResult struct {
	point                                string
	remoteTickets, localTickets, dupes   int
	commentDupes, mailResends, cbResends int
	notified, loopClosed                 int
}

func runCrash(t *testing.T, at int) (crashResult, int) {
	clk := clock.NewFake(t0)
	var cur *crasher
	st := storetest.OpenSQLite(t, store.WithClock(clk.Now), store.WithHooks(store.Hooks{BeforeCommit: func(op string) error {
		if !syncOps[op] {
			return nil
		}
		return cur.point("commit " + op)
	}}))
	if _, err := st.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := newBundle(t, st, clk, nil)
	b.sy.Faults = func(p string) error { return cur.point(p) }
	wire := func() {
		b.wire()
		for _, tr := range b.sy.Trackers {
			switch x := tr.(type) {
			case *JiraTracker:
				x.Client.HTTP = &http.Client{Transport: crashTransport{base: http.DefaultTransport, cr: &cur}}
			case *GitHubTracker:
				x.Client.HTTP = &http.Client{Transport: crashTransport{base: http.DefaultTransport, cr: &cur}}
			}
		}
		b.sy.Callbacks.HTTP = &http.Client{Transport: crashTransport{base: http.DefaultTransport, cr: &cur}}
	}
	wire()
	cs := []int64{b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh), b.cluster(t, feedback.CategoryBilling, feedback.SeverityCritical)}

	ctx, cancel := context.WithCancel(context.Background())
	cur = &crasher{at: at, cancel: cancel}
	err := lifecycle(ctx, t, b, cs)
	total := cur.n
	res := crashResult{point: cur.hit}
	if at > 0 && cur.hit == "" {
		t.Fatalf("crash point %d never reached (run has %d points)", at, total)
	}
	if at == 0 && err != nil {
		t.Fatalf("clean run: %v", err)
	}
	// Recovery: a new process (new clients), leases expired, run until quiet.
	for round := 0; round < 4; round++ {
		cur = nil
		wire()
		clk.Advance(DefaultLease + 2*time.Hour)
		if err := lifecycle(context.Background(), t, b, cs); err != nil {
			t.Fatalf("crash at %d (%s): recovery round %d: %v", at, res.point, round, err)
		}
	}
	// Count.
	for i, c := range cs {
		var n int
		if i == 0 {
			n = len(b.jira.withLabel(MarkerLabel(c)))
		} else {
			n = len(b.gh.withMarker("acme/widgets", "<!-- "+Marker(c)+" -->"))
		}
		res.remoteTickets += n
		if n > 1 {
			res.dupes += n - 1
		}
		ts, _ := st.Tickets(context.Background(), store.TicketFilter{ClusterID: c})
		res.localTickets += len(ts)
		cl, _ := st.Cluster(context.Background(), c)
		if cl.Status == feedback.StatusLoopClosed {
			res.loopClosed++
		}
		ns, _ := st.Notifications(context.Background(), store.NotificationFilter{ClusterID: c, Status: store.NotificationSent})
		res.notified += len(ns)
	}
	// Comments on tickets and source issues must never repeat a marker.
	markers := map[string]int{}
	b.jira.mu.Lock()
	for _, is := range b.jira.issues {
		for _, c := range is.Comments {
			markers[is.Key+"|"+c]++
		}
	}
	b.jira.mu.Unlock()
	b.gh.mu.Lock()
	for repo, list := range b.gh.issues {
		for _, is := range list {
			for _, c := range is.Comments {
				markers[repo+"|"+c]++
			}
		}
	}
	b.gh.mu.Unlock()
	for _, k := range markers {
		res.commentDupes += k - 1
	}
	mails := map[string]int{}
	for _, m := range b.smtp.messages() {
		for _, l := range strings.Split(m.Data, "\r\n") {
			if strings.HasPrefix(l, "Message-ID:") {
				mails[l]++
			}
		}
	}
	for _, k := range mails {
		res.mailResends += k - 1
	}
	ids := map[string]int{}
	b.callback.mu.Lock()
	for _, h := range b.callback.received {
		ids[h.Get("webhook-id")]++
	}
	b.callback.mu.Unlock()
	for _, k := range ids {
		res.cbResends += k - 1
	}
	return res, total
}

// TestCrashPoints crashes the whole delivery sequence at each of 50 points and checks
// that recovery ends with exactly one ticket per cluster, no duplicate comment, every
// reporter told and the loop closed.
func TestCrashPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("crash sweep skipped in -short mode")
	}
	clean, total := runCrash(t, 0)
	if clean.remoteTickets != 2 || clean.localTickets != 2 || clean.notified != 8 || clean.loopClosed != 2 {
		t.Fatalf("clean run = %+v", clean)
	}
	const points = 50
	var sum crashResult
	ran := 0
	for k := range points {
		// Spread the 50 crashes evenly over the whole sequence.
		at := 1 + k*total/points
		r, _ := runCrash(t, at)
		ran++
		if r.remoteTickets != 2 || r.localTickets != 2 || r.dupes != 0 || r.commentDupes != 0 || r.notified != 8 || r.loopClosed != 2 {
			t.Errorf("crash at point %d (%s): %+v", at, r.point, r)
		}
		sum.remoteTickets += r.remoteTickets
		sum.dupes += r.dupes
		sum.commentDupes += r.commentDupes
		sum.mailResends += r.mailResends
		sum.cbResends += r.cbResends
	}
	t.Logf("crash sweep: %d crash points spread over the %d points of one run, tickets created %d (2 clusters each), duplicate tickets %d, duplicate comments %d, email resends %d (same Message-ID), callback resends %d (same webhook-id)",
		ran, total, sum.remoteTickets, sum.dupes, sum.commentDupes, sum.mailResends, sum.cbResends)
}
