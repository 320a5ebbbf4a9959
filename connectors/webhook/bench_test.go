package webhook

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
)

// BenchmarkHandlerLoopback sends signed deliveries through the real handler behind a
// loopback HTTP server with a bounded number of concurrent clients and reports
// requests per second and the p99 latency. The sink is in memory, so this measures
// HTTP, verification, parsing and record building, not the database.
//
//	go test ./connectors/webhook -run '^$' -bench HandlerLoopback -benchtime 20000x
func BenchmarkHandlerLoopback(b *testing.B) {
	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			b.Setenv("BENCH_WHSEC", secret(keyNew))
			cfg := &config.Config{Partners: []config.Partner{{ID: "acme", WebhookSecretsEnv: []string{"BENCH_WHSEC"}}}}
			c, err := NewConnector(config.Source{Name: "partners", Kind: "webhook"}, connectors.Env{Config: cfg, Clock: clock.Real{}})
			if err != nil {
				b.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.Handle(PathPattern, c.WebhookHandler(newFakeSink()))
			srv := httptest.NewServer(mux)
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
			url := srv.URL + "/hooks/partners/acme"
			body := []byte(validEvent)

			var next atomic.Int64
			lat := make([][]time.Duration, clients)
			var wg sync.WaitGroup
			var failed atomic.Int64
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < clients; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							return
						}
						id := "msg_" + strconv.FormatInt(n, 10)
						ts := time.Now().Unix()
						req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
						req.Header.Set(HeaderID, id)
						req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
						req.Header.Set(HeaderSignature, Sign(keyNew, id, ts, body))
						t := time.Now()
						resp, err := client.Do(req)
						if err != nil {
							failed.Add(1)
							continue
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						lat[w] = append(lat[w], time.Since(t))
						if resp.StatusCode != http.StatusOK {
							failed.Add(1)
						}
					}
				}(w)
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if f := failed.Load(); f > 0 {
				b.Fatalf("%d requests failed", f)
			}
			all := slices.Concat(lat...)
			slices.Sort(all)
			p := func(q float64) float64 {
				return float64(all[int(q*float64(len(all)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(p(0.50), "p50_ms")
			b.ReportMetric(p(0.99), "p99_ms")
		})
	}
}
