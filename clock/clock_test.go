package clock

import (
	"context"
	"testing"
	"time"
)

func TestFakeSleepAdvances(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := NewFake(t0)
	if err := f.Sleep(context.Background(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	if got := f.Now(); !got.Equal(t0.Add(90 * time.Second)) {
		t.Fatalf("now = %v", got)
	}
	if f.Slept() != 30*time.Second || len(f.Sleeps()) != 1 {
		t.Fatalf("sleeps = %v", f.Sleeps())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Sleep(ctx, time.Second); err == nil {
		t.Fatal("sleep on a canceled context must fail")
	}
}

func TestRealSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Real{}).Sleep(ctx, time.Hour); err == nil {
		t.Fatal("want context error")
	}
}
