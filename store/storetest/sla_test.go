package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/feedbackhub/feedbackhub/store"
)

func TestSLAEventOnce(t *testing.T) {
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := open(t, b)
			ctx := context.Background()
			var wg sync.WaitGroup
			var mu sync.Mutex
			inserted := 0
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := s.AppendSLAEventOnce(ctx, store.SLAEvent{ClusterID: 3, Kind: "warn", Metric: "resolution"}, "sla:3:resolution:1:warn75")
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						mu.Lock()
						inserted++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if inserted != 1 {
				t.Fatalf("inserted %d times, want exactly once", inserted)
			}
			// Events without a key are never deduplicated.
			for range 2 {
				if _, err := s.AppendSLAEvent(ctx, store.SLAEvent{ClusterID: 3, Kind: "pause"}); err != nil {
					t.Fatal(err)
				}
			}
			ev, _ := s.SLAEvents(ctx, 3)
			if len(ev) != 3 {
				t.Fatalf("events = %d, want 3", len(ev))
			}
			if _, err := s.AppendSLAEventOnce(ctx, store.SLAEvent{ClusterID: 3, Kind: "warn"}, ""); err == nil {
				t.Fatal("empty key accepted")
			}
		})
	}
}
