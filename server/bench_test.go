package server

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/pipeline"
	"github.com/feedbackhub/feedbackhub/store/storetest"
)

func TestRunBenchSmall(t *testing.T) {
	st := storetest.OpenSQLite(t)
	if _, err := st.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, "")
	reg, err := pipeline.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Pipeline{Store: st, Config: cfg, Registry: reg, Clock: clock.Real{}, Logger: slog.New(slog.DiscardHandler), Redactor: connectors.NewRedactor()}
	res, err := RunBench(context.Background(), p, BenchOptions{Items: 60, Requests: 30, Concurrency: 4, Partner: "acme", Secret: testSecret, Source: "partners", Seed: 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Intake.N != 60 || res.Raw.N != 60 || res.Duplicates == 0 || res.Linked == 0 {
		t.Errorf("intake = %+v raw = %+v dups %d linked %d", res.Intake, res.Raw, res.Duplicates, res.Linked)
	}
	if res.Webhook.Sent != 30 || res.Webhook.Stored != 30 || res.Webhook.Lost != 0 || res.Bare.Stored != 30 || res.Bare.Lost != 0 {
		t.Errorf("webhook = %+v bare = %+v", res.Webhook, res.Bare)
	}
	if n, _ := st.CountRecords(context.Background(), "bench-raw"); n != 0 {
		t.Errorf("raw rows left behind: %d", n)
	}
	var b strings.Builder
	res.Write(&b)
	for _, want := range []string{"items/s", "raw INSERT", "webhook / bare", "lost 0"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
