package triage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/store"
)

// EventLog is the append-only SLA event log the evaluator reads and writes.
//
// AppendSLAEventOnce appends e unless an event was already appended under key, and
// reports whether this call appended it. The store enforces it with a unique index
// on the key, so that several instances racing on one cluster append once.
type EventLog interface {
	SLAEvents(ctx context.Context, clusterID int64) ([]store.SLAEvent, error)
	AppendSLAEventOnce(ctx context.Context, e store.SLAEvent, key string) (bool, error)
}

// Sender delivers a notice to its recipient.
type Sender interface {
	Send(ctx context.Context, n Notice) error
}

// Evaluator runs SLA evaluation over clusters: it reads each cluster's log, appends
// the warnings, breaches and escalation steps that are due, and sends a notice for
// each event its own append won. It never sleeps; the caller schedules Run (a River
// periodic job, or a loop in tests driven by a fake clock).
type Evaluator struct {
	Engine *Engine
	Log    EventLog
	Sender Sender      // nil: record events, send nothing
	Clock  clock.Clock // nil: the wall clock
	Logger *slog.Logger
}

// RunResult counts what one Run did.
type RunResult struct {
	Evaluated int
	// Fired lists the events this instance appended (another instance's wins are not here).
	Fired []Due
	// Lost counts due events another instance appended first.
	Lost int
	Sent int
}

// Run evaluates each subject once. Send failures are logged, returned joined, and do
// not stop the run; the event stays in the log, so that notice is not retried (at
// most once; writing the notice to an outbox in the append's transaction would make
// it at least once).
func (v *Evaluator) Run(ctx context.Context, subjects []Subject) (RunResult, error) {
	var res RunResult
	clk := v.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	log := v.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	for _, sub := range subjects {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		events, err := v.Log.SLAEvents(ctx, sub.ClusterID)
		if err != nil {
			return res, fmt.Errorf("sla: cluster %d: %w", sub.ClusterID, err)
		}
		_, due, err := v.Engine.Evaluate(sub, events, clk.Now())
		if err != nil {
			errs = append(errs, fmt.Errorf("sla: cluster %d: %w", sub.ClusterID, err))
			continue
		}
		res.Evaluated++
		for _, d := range due {
			ok, err := v.Log.AppendSLAEventOnce(ctx, d.Event, d.Key)
			if err != nil {
				return res, fmt.Errorf("sla: cluster %d: append %s: %w", sub.ClusterID, d.Key, err)
			}
			if !ok {
				res.Lost++
				continue
			}
			res.Fired = append(res.Fired, d)
			log.Info("sla event", "cluster", sub.ClusterID, "kind", d.Event.Kind, "metric", d.Event.Metric, "key", d.Key)
			if d.Notice == nil || v.Sender == nil {
				continue
			}
			if err := v.Sender.Send(ctx, *d.Notice); err != nil {
				log.Error("sla notice", "cluster", sub.ClusterID, "key", d.Key, "err", err)
				errs = append(errs, fmt.Errorf("sla: cluster %d: send %s: %w", sub.ClusterID, d.Key, err))
				continue
			}
			res.Sent++
		}
	}
	return res, errors.Join(errs...)
}

// MemLog is an in-memory EventLog with the same insert-if-absent semantics the store
// provides: for tests, benchmarks and dry runs. It is safe for concurrent use.
type MemLog struct {
	mu     sync.Mutex
	nextID int64
	events map[int64][]store.SLAEvent
	keys   map[string]bool
}

// NewMemLog returns an empty log.
func NewMemLog() *MemLog {
	return &MemLog{events: map[int64][]store.SLAEvent{}, keys: map[string]bool{}}
}

// SLAEvents returns a copy of a cluster's events in append order.
func (m *MemLog) SLAEvents(_ context.Context, clusterID int64) ([]store.SLAEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.events[clusterID]), nil
}

// AppendSLAEvent appends an event without a key.
func (m *MemLog) AppendSLAEvent(ctx context.Context, e store.SLAEvent) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.append(e), nil
}

// AppendSLAEventOnce appends e unless key was used before.
func (m *MemLog) AppendSLAEventOnce(_ context.Context, e store.SLAEvent, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if key != "" {
		if m.keys[key] {
			return false, nil
		}
		m.keys[key] = true
	}
	m.append(e)
	return true, nil
}

func (m *MemLog) append(e store.SLAEvent) int64 {
	m.nextID++
	e.ID = m.nextID
	if e.Detail == "" {
		e.Detail = "{}"
	}
	m.events[e.ClusterID] = append(m.events[e.ClusterID], e)
	return e.ID
}
