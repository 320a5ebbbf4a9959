package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/pipeline"
	fhsync "github.com/feedbackhub/feedbackhub/sync"
	"github.com/feedbackhub/feedbackhub/triage"
)

// BenchOptions sizes a benchmark run.
type BenchOptions struct {
	// Items is how many synthetic records go through intake (default 5000).
	Items int
	// Batch is how many records one Ingest and one plain-insert transaction carry
	// (default 1000).
	Batch int
	// Requests is how many webhook deliveries the load generator sends to each
	// handler (default min(Items, 5000)); Concurrency how many at once (default 16).
	Requests    int
	Concurrency int
	// Partner and Secret are the configured partner id and its Standard Webhooks
	// secret (whsec_…), used to sign deliveries; Source is the webhook source's name.
	Partner, Secret, Source string
	// Seed makes the synthetic data reproducible.
	Seed uint64
}

// BenchResult is what a run measured.
type BenchResult struct {
	Database string `json:"database"`
	Items    int    `json:"items"`
	// Duplicates is how many records were planted as near-copies of earlier ones.
	Duplicates int `json:"planted_duplicates"`

	Intake   Rate `json:"intake"`      // Ingest + pipeline.Step: records → clustered items
	Clusters int  `json:"clusters"`    // clusters the run made
	Linked   int  `json:"auto_linked"` // items linked into an existing cluster
	Raw      Rate `json:"raw_insert"`  // plain INSERTs of the same rows
	// IntakeRatio is Intake.PerSecond / Raw.PerSecond.
	IntakeRatio float64 `json:"intake_ratio"`

	Webhook HTTPRate `json:"webhook"`      // the real partner webhook handler
	Bare    HTTPRate `json:"bare_handler"` // a handler that only writes one row
	// WebhookRatio is Webhook.PerSecond / Bare.PerSecond.
	WebhookRatio float64 `json:"webhook_ratio"`
}

// Rate is a count over a duration.
type Rate struct {
	N         int           `json:"n"`
	Duration  time.Duration `json:"duration_ns"`
	PerSecond float64       `json:"per_second"`
}

// HTTPRate is a load generator's view of one handler.
type HTTPRate struct {
	Rate
	Sent   int           `json:"sent"`
	OK     int           `json:"ok"`
	Stored int           `json:"stored"`
	Lost   int           `json:"lost"` // sent − stored
	P50    time.Duration `json:"p50_ns"`
	P99    time.Duration `json:"p99_ns"`
}

func rate(n int, d time.Duration) Rate {
	r := Rate{N: n, Duration: d}
	if d > 0 {
		r.PerSecond = float64(n) / d.Seconds()
	}
	return r
}

// RunBench measures, in one run on p's database: end-to-end intake (Ingest in
// batches, then pipeline.Step until every record is a clustered item) against plain
// INSERTs of the same rows; and the partner webhook handler under an in-process
// load generator on loopback against a bare handler that writes one row. The
// database should be fresh: the run leaves its items and clusters behind (raw and
// bare rows are deleted).
func RunBench(ctx context.Context, p *pipeline.Pipeline, o BenchOptions, progress io.Writer) (BenchResult, error) {
	if o.Items <= 0 {
		o.Items = 5000
	}
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.Requests <= 0 {
		o.Requests = min(o.Items, 5000)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if progress == nil {
		progress = io.Discard
	}
	res := BenchResult{Database: p.Store.Location().Display, Items: o.Items}
	gen := newGenerator(o.Seed)
	recs, dups := gen.records("bench", o.Items, p.Clock.Now())
	res.Duplicates = dups
	engine, err := triage.NewEngine(p.Config.SLA, p.Config.Dir())
	if err != nil {
		return res, err
	}

	fmt.Fprintf(progress, "intake: %d records in batches of %d, then the loop…\n", o.Items, o.Batch)
	start := time.Now()
	for i := 0; i < len(recs); i += o.Batch {
		if _, err := p.Store.Ingest(ctx, "bench", recs[i:min(i+o.Batch, len(recs))], nil); err != nil {
			return res, err
		}
	}
	step, err := p.Step(ctx, engine)
	if err != nil {
		return res, err
	}
	res.Intake = rate(step.Cluster.Items, time.Since(start))
	res.Clusters = step.Cluster.NewClusters
	for _, n := range step.Cluster.Linked {
		res.Linked += n
	}

	fmt.Fprintln(progress, "raw: the same rows as plain INSERTs…")
	raw := slices.Clone(recs)
	for i := range raw {
		raw[i].Source = "bench-raw"
	}
	start = time.Now()
	for i := 0; i < len(raw); i += o.Batch {
		if err := p.Store.InsertRecordsPlain(ctx, raw[i:min(i+o.Batch, len(raw))]); err != nil {
			return res, err
		}
	}
	res.Raw = rate(len(raw), time.Since(start))
	if err := p.Store.DeleteSource(ctx, "bench-raw"); err != nil {
		return res, err
	}
	if res.Raw.PerSecond > 0 {
		res.IntakeRatio = res.Intake.PerSecond / res.Raw.PerSecond
	}

	if o.Secret != "" {
		fmt.Fprintf(progress, "webhooks: %d signed deliveries, %d at a time, to each handler…\n", o.Requests, o.Concurrency)
		if res.Webhook, res.Bare, err = benchHTTP(ctx, p, o, gen); err != nil {
			return res, err
		}
		if res.Bare.PerSecond > 0 {
			res.WebhookRatio = res.Webhook.PerSecond / res.Bare.PerSecond
		}
	}
	return res, nil
}

func benchHTTP(ctx context.Context, p *pipeline.Pipeline, o BenchOptions, gen *generator) (hook, bare HTTPRate, err error) {
	srv, err := New(p, nil, nil, NewMetrics(), nil)
	if err != nil {
		return hook, bare, err
	}
	bareMux := http.NewServeMux()
	var bareN atomic.Int64
	bareMux.HandleFunc("POST /bare", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		n := bareN.Add(1)
		now := time.Now().UTC()
		rec := feedback.Record{Source: "bench-bare", ExternalID: "b" + strconv.FormatInt(n, 10), Revision: "1", Kind: feedback.KindEvent,
			Body: string(body), CreatedAt: now, UpdatedAt: now}
		if err := p.Store.InsertRecordsPlain(r.Context(), []feedback.Record{rec}); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	bodies := make([][]byte, o.Requests)
	at := p.Clock.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for i := range bodies {
		title, body := gen.text()
		bodies[i] = fmt.Appendf(nil, `{"type":"feedback.created","id":"bench-%d","title":%q,"body":%q,"reporter":{"email":"ops@%s.example"},"occurred_at":%q}`,
			i, title, body, o.Partner, at)
	}
	before, err := p.Store.CountRecords(ctx, o.Source)
	if err != nil {
		return hook, bare, err
	}
	hook, err = load(ctx, srv.Handler(), "/hooks/partners/"+o.Partner, bodies, o)
	if err != nil {
		return hook, bare, err
	}
	after, err := p.Store.CountRecords(ctx, o.Source)
	if err != nil {
		return hook, bare, err
	}
	hook.Stored = after - before
	hook.Lost = hook.Sent - hook.Stored
	bare, err = load(ctx, bareMux, "/bare", bodies, BenchOptions{Concurrency: o.Concurrency})
	if err != nil {
		return hook, bare, err
	}
	if bare.Stored, err = p.Store.CountRecords(ctx, "bench-bare"); err != nil {
		return hook, bare, err
	}
	bare.Lost = bare.Sent - bare.Stored
	return hook, bare, p.Store.DeleteSource(ctx, "bench-bare")
}

// load serves h on a loopback port and sends every body once with o.Concurrency
// clients; deliveries are signed when o.Secret is set.
func load(ctx context.Context, h http.Handler, path string, bodies [][]byte, o BenchOptions) (HTTPRate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return HTTPRate{}, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	url := "http://" + ln.Addr().String() + path
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency}, Timeout: 60 * time.Second}
	lat := make([]time.Duration, len(bodies))
	var next atomic.Int64
	var ok atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) || ctx.Err() != nil {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				if o.Secret != "" {
					id, ts := "msg_bench_"+strconv.Itoa(i), time.Now().Unix()
					sig, err := fhsync.SignWebhook(o.Secret, id, ts, bodies[i])
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
					req.Header.Set("webhook-id", id)
					req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
					req.Header.Set("webhook-signature", sig)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				lat[i] = time.Since(t0)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	if firstErr != nil && ok.Load() == 0 {
		return HTTPRate{}, fmt.Errorf("bench: load %s: %w", path, firstErr)
	}
	slices.Sort(lat)
	r := HTTPRate{Rate: rate(int(ok.Load()), d), Sent: len(bodies), OK: int(ok.Load())}
	if n := len(lat); n > 0 {
		r.P50 = lat[n*50/100]
		r.P99 = lat[min(n-1, n*99/100)]
	}
	return r, ctx.Err()
}

// Write prints the result with the targets next to it.
func (r BenchResult) Write(w io.Writer) {
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Fprintf(w, "feedbackhub bench on %s: %d records (%d planted duplicates) → %d clusters, %d auto-linked\n\n",
		r.Database, r.Items, r.Duplicates, r.Clusters, r.Linked)
	fmt.Fprintf(w, "intake → clustered items   %9.0f items/s  (%d in %s)   target ≥ 5000: %s\n", r.Intake.PerSecond, r.Intake.N, r.Intake.Duration.Round(time.Millisecond), mark(r.Intake.PerSecond >= 5000))
	fmt.Fprintf(w, "raw INSERT of the same rows %8.0f rows/s   (%d in %s)\n", r.Raw.PerSecond, r.Raw.N, r.Raw.Duration.Round(time.Millisecond))
	fmt.Fprintf(w, "ratio intake / raw          %8.1f%%        target ≥ 50%%: %s\n\n", r.IntakeRatio*100, mark(r.IntakeRatio >= 0.5))
	if r.Webhook.Sent > 0 {
		fmt.Fprintf(w, "webhook handler  %8.0f req/s  p50 %-9s p99 %-9s sent %d, 200 %d, stored %d, lost %d\n", r.Webhook.PerSecond,
			r.Webhook.P50.Round(10*time.Microsecond), r.Webhook.P99.Round(10*time.Microsecond), r.Webhook.Sent, r.Webhook.OK, r.Webhook.Stored, r.Webhook.Lost)
		fmt.Fprintf(w, "bare handler     %8.0f req/s  p50 %-9s p99 %-9s sent %d, 200 %d, stored %d, lost %d\n", r.Bare.PerSecond,
			r.Bare.P50.Round(10*time.Microsecond), r.Bare.P99.Round(10*time.Microsecond), r.Bare.Sent, r.Bare.OK, r.Bare.Stored, r.Bare.Lost)
		fmt.Fprintf(w, "webhook / bare   %7.1f%%   target p99 ≤ 50ms: %s, ≥ 50%% of bare: %s, 0 lost: %s\n", r.WebhookRatio*100,
			mark(r.Webhook.P99 <= 50*time.Millisecond), mark(r.WebhookRatio >= 0.5), mark(r.Webhook.Lost == 0))
	}
}

// generator makes synthetic feedback of realistic length about deployment, billing,
// connectivity and launch integration, and plants near-duplicates. Words follow a
// Zipf distribution over a vocabulary of a few thousand words, as real text does: a
// few very common words, a long tail of rare ones (product names, error codes).
type generator struct {
	rnd   *rand.Rand
	vocab []string
	zipf  *rand.Zipf
}

var (
	benchTopics = [][]string{
		{"deploy", "rollout", "pipeline", "helm", "canary", "build", "release", "container", "image", "kubernetes", "node", "pod"},
		{"invoice", "billing", "charge", "refund", "subscription", "vat", "payment", "plan", "seat", "credit", "receipt", "tax"},
		{"timeout", "tls", "dns", "proxy", "latency", "vpn", "certificate", "handshake", "socket", "firewall", "packet", "route"},
		{"sso", "saml", "webhook", "api", "oauth", "scim", "sandbox", "integration", "launch", "token", "callback", "schema"},
	}
	benchVerbs     = []string{"fails", "hangs", "times out", "breaks", "is slow", "returns 500", "drops requests", "shows the wrong value", "crashes", "stalls"}
	benchCommon    = strings.Fields("the we it is to and a of in that after when our this for on with but not can please from at")
	benchSyllables = strings.Fields("ka lo mi ran tes vo pur sel dor fin gra hel jun kor lem nat ost pel qua rin sto tul vek wan zor bri cle dra")
)

func newGenerator(seed uint64) *generator {
	g := &generator{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	seen := map[string]bool{}
	g.vocab = append(g.vocab, benchCommon...)
	for len(g.vocab) < 4000 {
		var b strings.Builder
		for range 2 + g.rnd.IntN(3) {
			b.WriteString(g.pick(benchSyllables))
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			g.vocab = append(g.vocab, w)
		}
	}
	g.zipf = rand.NewZipf(g.rnd, 1.1, 2, uint64(len(g.vocab)-1))
	return g
}

func (g *generator) pick(list []string) string { return list[g.rnd.IntN(len(list))] }

// text returns a title (about 40–90 characters) and a body (200–1500 characters).
func (g *generator) text() (string, string) {
	topic := benchTopics[g.rnd.IntN(len(benchTopics))]
	title := fmt.Sprintf("%s %s %s when %s %s", g.pick(topic), g.vocab[len(benchCommon)+int(g.zipf.Uint64())%(len(g.vocab)-len(benchCommon))],
		g.pick(benchVerbs), g.pick(topic), g.vocab[len(benchCommon)+g.rnd.IntN(len(g.vocab)-len(benchCommon))])
	var b strings.Builder
	target := 200 + g.rnd.IntN(1300)
	for b.Len() < target {
		switch r := g.rnd.IntN(10); {
		case r == 0:
			b.WriteString(g.pick(topic))
		case r < 4:
			b.WriteString(g.pick(benchCommon))
		default:
			b.WriteString(g.vocab[g.zipf.Uint64()])
		}
		b.WriteByte(' ')
		if g.rnd.IntN(20) == 0 {
			fmt.Fprintf(&b, "(err %d) ", g.rnd.IntN(100000))
		}
	}
	return title, strings.TrimSpace(b.String())
}

// records returns n records of source; about one in six is a near-copy (a reworded
// title, a trimmed body) of an earlier record from another author.
func (g *generator) records(source string, n int, now time.Time) ([]feedback.Record, int) {
	out := make([]feedback.Record, 0, n)
	dups := 0
	domains := []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"}
	for i := range n {
		title, body := g.text()
		if i > 10 && g.rnd.IntN(6) == 0 {
			orig := out[g.rnd.IntN(len(out))]
			title, body = "Re: "+orig.Title, orig.Body[:len(orig.Body)*9/10]
			dups++
		}
		at := now.Add(-time.Duration(n-i) * time.Minute).UTC()
		out = append(out, feedback.Record{Source: source, ExternalID: "bench-" + strconv.Itoa(i), Revision: "1", Kind: feedback.KindIssue,
			Author: "user" + strconv.Itoa(g.rnd.IntN(500)), AuthorEmail: fmt.Sprintf("user%d@%s.example", g.rnd.IntN(500), g.pick(domains)),
			Title: title, Body: body, State: "open", Labels: []string{"feedback"}, CreatedAt: at, UpdatedAt: at})
	}
	return out, dups
}
