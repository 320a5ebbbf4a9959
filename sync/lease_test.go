package sync

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
)

// leaseBundle is a bundle whose clock the store shares, so outbox leases expire as
// the test advances time, with n accepted clusters waiting in the outbox.
func leaseBundle(t *testing.T, n int) (*bundle, *clock.Fake, []int64) {
	t.Helper()
	clk := clock.NewFake(t0)
	st := storetest.OpenSQLite(t, store.WithClock(clk.Now))
	if _, err := st.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := newBundle(t, st, clk, nil)
	var cs []int64
	for range n {
		c := b.cluster(t, feedback.CategoryDeployment, feedback.SeverityHigh)
		if _, err := b.sy.Accept(b.ctx, c, "ana", "go"); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	return b, clk, cs
}

func oneTicketEach(t *testing.T, b *bundle, cs []int64) {
	t.Helper()
	for _, c := range cs {
		if n := len(b.jira.withLabel(MarkerLabel(c))); n != 1 {
			t.Errorf("remote tickets for cluster %d = %d, want 1", c, n)
		}
	}
	if b.jira.creates != len(cs) {
		t.Errorf("creates = %d, want %d", b.jira.creates, len(cs))
	}
}

// TestCreateInFlightKeepsItsRow: a ticket creation that waits (a rate limit) for
// longer than the old 5-minute lease keeps its row: the lease renewed just before
// the call outlasts it, so another worker draining meanwhile takes nothing.
func TestCreateInFlightKeepsItsRow(t *testing.T) {
	b, clk, cs := leaseBundle(t, 1)
	other := *b.sy // a second instance on the same database
	other.Faults = nil
	ran := false
	b.sy.Faults = func(p string) error {
		if p == "create:create" && !ran {
			ran = true
			clk.Advance(6 * time.Minute)
			if rep, err := other.Drain(b.ctx, DrainOptions{}); err != nil || rep.Delivered != 0 {
				t.Fatalf("other worker: %+v, %v", rep, err)
			}
		}
		return nil
	}
	if _, err := b.sy.Drain(b.ctx, DrainOptions{}); err != nil {
		t.Fatal(err)
	}
	oneTicketEach(t, b, cs)
}

// TestLostLeaseCreatesNothing: a worker stalled past its lease (before the fence)
// finds its rows taken by another worker, which created their tickets; it creates
// nothing and records nothing on them.
func TestLostLeaseCreatesNothing(t *testing.T) {
	b, clk, cs := leaseBundle(t, 2)
	other := *b.sy
	other.Faults = nil
	ran := false
	b.sy.Faults = func(p string) error {
		if p == "create:find" && !ran {
			ran = true
			clk.Advance(DefaultLease + time.Minute) // a stall: both claims run out
			if rep, err := other.Drain(b.ctx, DrainOptions{}); err != nil || rep.Delivered != 2 {
				t.Fatalf("other worker: %+v, %v", rep, err)
			}
		}
		return nil
	}
	rep, err := b.sy.Drain(b.ctx, DrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Delivered != 0 || rep.Retrying != 0 || rep.Dead != 0 || len(rep.Errors) != 2 || !strings.Contains(rep.Errors[0], "claimed by another worker") {
		t.Fatalf("stalled worker: %+v", rep)
	}
	oneTicketEach(t, b, cs)
	rows, err := b.st.ListOutbox(b.ctx, store.OutboxFilter{Kind: KindCreate})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Status != store.OutboxSent || r.LastError != "" {
			t.Fatalf("row %d: %s %q, want sent by the other worker with no error", r.ID, r.Status, r.LastError)
		}
	}
}
