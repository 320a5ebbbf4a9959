package triage

import (
	"context"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

// openClusters builds n open clusters with realistic logs: created over the last two
// weeks, severities mixed, a third waiting on the partner for a while, a quarter
// with a severity change, half already answered.
func openClusters(b *testing.B, e *Engine, n int, now time.Time) (*MemLog, []Subject) {
	b.Helper()
	log := NewMemLog()
	ctx := context.Background()
	subs := make([]Subject, n)
	for i := range n {
		id := int64(i + 1)
		created := now.Add(-time.Duration(i%336) * time.Hour)
		c := feedback.Cluster{ID: id, Status: feedback.StatusNew, Severity: feedback.Severities[i%4]}
		steps := []ClusterChange{{After: c, At: created}}
		prev := c
		if i%3 == 0 {
			next := prev
			next.Labels = []string{"waiting-on-partner"}
			steps = append(steps, ClusterChange{Before: &prev, After: next, Actor: "system", At: created.Add(2 * time.Hour)})
			back := next
			back.Labels = nil
			steps = append(steps, ClusterChange{Before: &next, After: back, Actor: "system", At: created.Add(26 * time.Hour)})
			prev = back
		}
		if i%4 == 0 {
			next := prev
			next.Severity = next.Severity.Raise(1)
			steps = append(steps, ClusterChange{Before: &prev, After: next, Actor: "rule:r@1", Action: feedback.ActionSeverity, At: created.Add(3 * time.Hour)})
			prev = next
		}
		if i%2 == 0 {
			next := prev
			next.Status = feedback.StatusTriaged
			steps = append(steps, ClusterChange{Before: &prev, After: next, Actor: "pm", Action: feedback.ActionAssign, At: created.Add(time.Hour)})
		}
		for _, ch := range steps {
			if ch.At.After(now) {
				break
			}
			cur, _ := log.SLAEvents(ctx, id)
			evs, err := e.ClockEvents(cur, ch)
			if err != nil {
				b.Fatal(err)
			}
			for _, ev := range evs {
				log.AppendSLAEvent(ctx, ev)
			}
		}
		subs[i] = Subject{ClusterID: id, Title: "c", Chain: []string{"owner", "lead"}}
	}
	return log, subs
}

// BenchmarkSLAEvaluate10k measures one evaluation pass (state, due alerts and
// escalations) over 10,000 open clusters, from logs already in memory.
func BenchmarkSLAEvaluate10k(b *testing.B) {
	e := testEngine(b)
	now := time.Date(2026, 3, 11, 14, 0, 0, 0, time.UTC)
	log, subs := openClusters(b, e, 10000, now)
	logs := make([][]store.SLAEvent, len(subs))
	for i, s := range subs {
		logs[i], _ = log.SLAEvents(context.Background(), s.ClusterID)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		due := 0
		for i, s := range subs {
			_, d, err := e.Evaluate(s, logs[i], now)
			if err != nil {
				b.Fatal(err)
			}
			due += len(d)
		}
		b.ReportMetric(float64(due), "due/op")
	}
}

// BenchmarkSLARun10k measures a full Evaluator.Run over 10,000 clusters on the
// in-memory log, appends included: the first pass fires, later passes find
// everything already in the log.
func BenchmarkSLARun10k(b *testing.B) {
	e := testEngine(b)
	now := time.Date(2026, 3, 11, 14, 0, 0, 0, time.UTC)
	log, subs := openClusters(b, e, 10000, now)
	v := &Evaluator{Engine: e, Log: log, Clock: clock.NewFake(now)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Run(context.Background(), subs); err != nil {
			b.Fatal(err)
		}
	}
}
