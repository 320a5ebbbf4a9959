package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/pipeline"
	"github.com/feedbackhub/feedbackhub/store"
	fhsync "github.com/feedbackhub/feedbackhub/sync"
	"github.com/feedbackhub/feedbackhub/triage"
)

// fhDrainAll drains every due outbox row.
var fhDrainAll = fhsync.DrainOptions{}

// Options tune a Service; the zero value serves cfg.Server.Addr with River's defaults.
type Options struct {
	// Listener, when set, is served instead of listening on server.addr (tests).
	Listener net.Listener
	// Sender delivers SLA notices; nil builds the notifier from notify.* in the config.
	Sender triage.Sender
	// HTTPClient is the base client of connectors and trackers (nil: a default).
	HTTPClient *http.Client
	// FetchPollInterval is how often River looks for new jobs (0: River's 1 s).
	FetchPollInterval time.Duration
	// ID names this instance in River's job rows (empty: River picks one).
	ID string
	// Reload receives a value for every SIGHUP: reload the rules.
	Reload <-chan os.Signal
	// RulesCheck is how often the rules file is checked for changes (0: 2 s; <0: never).
	RulesCheck time.Duration
	// StopTimeout bounds the graceful stop: jobs still running after it are cancelled
	// (0: 30 s).
	StopTimeout time.Duration
	// OnPoll, when set, is called after every poll job (tests).
	OnPoll func(source string)
}

// Service is `feedbackhub serve`: the HTTP server and the River jobs over one pipeline.
type Service struct {
	P       *pipeline.Pipeline
	Syncer  *fhsync.Syncer
	Engine  *triage.Engine
	Metrics *Metrics
	Server  *Server
	Sender  triage.Sender
	Logger  *slog.Logger
	Clock   clock.Clock
	OnPoll  func(source string)

	opts   Options
	client *river.Client[*sql.Tx]
}

// NewService wires a service over p: it checks the schema is current, builds the
// SLA engine, the syncer, the notifier, the HTTP server (webhook receivers included)
// and the River client with every worker and the periodic schedule. Any problem is
// an error: serve refuses to start half-configured.
func NewService(p *pipeline.Pipeline, o Options) (*Service, error) {
	ctx := context.Background()
	cur, latest, err := p.Store.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if cur != latest {
		return nil, fmt.Errorf("%w: database is at version %d, this binary needs %d; run `feedbackhub migrate`", store.ErrSchemaBehind, cur, latest)
	}
	s := &Service{P: p, Metrics: NewMetrics(), Logger: p.Logger, Clock: p.Clock, OnPoll: o.OnPoll, opts: o}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
		p.Logger = s.Logger
	}
	if s.Clock == nil {
		s.Clock = clock.Real{}
		p.Clock = s.Clock
	}
	if p.Redactor == nil {
		p.Redactor = connectors.NewRedactor()
	}
	cfg := p.Config
	if s.Engine, err = triage.NewEngine(cfg.SLA, cfg.Dir()); err != nil {
		return nil, err
	}
	env := connectors.Env{Config: cfg, Clock: s.Clock, Logger: s.Logger, Redactor: p.Redactor, HTTPClient: o.HTTPClient}
	if s.Syncer, err = fhsync.New(cfg, p.Store, env, s.Engine); err != nil {
		return nil, err
	}
	s.Sender = o.Sender
	if s.Sender == nil {
		n, err := triage.NewNotifier(cfg.Notify, cfg.Secret)
		if err != nil {
			return nil, err
		}
		s.Sender = n
	}
	tokens, err := cfg.APITokens()
	if err != nil {
		return nil, err
	}
	if s.Server, err = New(p, s.Syncer, s.Engine, s.Metrics, tokens); err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		s.Logger.Warn("no API tokens configured (server.tokens): every /api/v1 request will be refused with 401")
	}
	if s.client, err = s.newRiver(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) newRiver() (*river.Client[*sql.Tx], error) {
	j := &jobs{svc: s}
	workers := river.NewWorkers()
	river.AddWorker(workers, &pollWorker{j: j})
	river.AddWorker(workers, &stepWorker{j: j})
	river.AddWorker(workers, &slaWorker{j: j})
	river.AddWorker(workers, &outboxWorker{j: j})
	river.AddWorker(workers, &statusPollWorker{j: j})
	river.AddWorker(workers, &digestWorker{j: j})
	var driver riverdriver.Driver[*sql.Tx]
	maxWorkers := 4
	switch s.P.Store.Dialect() {
	case store.SQLite:
		// The store's single connection is River's too (riversqlite needs exactly one).
		driver = riversqlite.New(s.P.Store.DB().DB)
		maxWorkers = 2
	case store.Postgres:
		driver = riverdatabasesql.New(s.P.Store.DB().DB)
	default:
		return nil, fmt.Errorf("river: unsupported dialect %q", s.P.Store.Dialect())
	}
	c, err := river.NewClient(driver, &river.Config{
		ID:                s.opts.ID,
		Logger:            s.Logger.With("component", "river"),
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		Workers:           workers,
		PeriodicJobs:      s.periodicJobs(),
		FetchPollInterval: s.opts.FetchPollInterval,
		FetchCooldown:     min(s.opts.FetchPollInterval, 100*time.Millisecond),
		JobTimeout:        10 * time.Minute,
		MaxAttempts:       5,
		PollOnly:          true,
	})
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	return c, nil
}

// Run serves until ctx is cancelled, then stops gracefully: the HTTP server stops
// taking requests and finishes those in flight, River stops fetching jobs and waits
// for running ones (cancelling them after StopTimeout). The caller closes the store.
func (s *Service) Run(ctx context.Context) error {
	cfg := s.P.Config
	if s.P.Store.Dialect() == store.SQLite {
		s.Logger.Info("SQLite is single-instance: run one `feedbackhub serve` per database file; use PostgreSQL to run several instances",
			"database", s.P.Store.Location().Display)
	} else {
		s.Logger.Info("PostgreSQL: several instances may share this database; River elects one leader for the schedule", "database", s.P.Store.Location().Display)
	}
	ln := s.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Server.Addr); err != nil {
			return fmt.Errorf("serve: listen on %s: %w", cfg.Server.Addr, err)
		}
	}
	hs := &http.Server{Handler: s.Server.Handler(), ReadHeaderTimeout: 10 * time.Second}
	httpErr := make(chan error, 1)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			httpErr <- err
		}
		close(httpErr)
	}()
	s.Logger.Info("serving", "addr", ln.Addr().String())

	// River's fetch loops get a context that only Stop ends, so stopping is graceful.
	if err := s.client.Start(context.WithoutCancel(ctx)); err != nil {
		_ = hs.Close()
		return fmt.Errorf("river: start: %w", err)
	}
	var wg sync.WaitGroup
	bg, cancelBG := context.WithCancel(ctx)
	s.watchIMAP(bg, &wg)
	wg.Add(1)
	go func() { defer wg.Done(); s.watchRules(bg) }()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-httpErr:
		runErr = fmt.Errorf("serve: http: %w", err)
	}
	s.Logger.Info("stopping: no new requests or jobs; finishing what is in flight")
	cancelBG()
	timeout := s.opts.StopTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		s.Logger.Warn("http shutdown", "err", err)
	}
	if err := s.client.Stop(sctx); err != nil {
		s.Logger.Warn("jobs did not finish in time; cancelling them", "err", err)
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.client.StopAndCancel(cctx)
		ccancel()
	}
	wg.Wait()
	s.Logger.Info("stopped")
	return runErr
}

// Client returns the River client (tests insert jobs and list them).
func (s *Service) Client() *river.Client[*sql.Tx] { return s.client }

// watcher is what the IMAP connector offers: IDLE, calling notify on new mail.
type watcher interface {
	Watch(ctx context.Context, notify func()) error
}

// watchIMAP keeps an IDLE connection per IMAP source (imap.idle) and turns each
// announcement into a poll job of that source; the job is unique while one waits or
// runs, so a burst of mail costs one poll.
func (s *Service) watchIMAP(ctx context.Context, wg *sync.WaitGroup) {
	for _, src := range s.P.Config.Sources {
		if src.Kind != config.KindIMAP || src.IMAP == nil || src.IMAP.IDLE == nil || !*src.IMAP.IDLE {
			continue
		}
		conn, err := s.P.Registry.Build(src, connectors.Env{Config: s.P.Config, Clock: s.Clock, Logger: s.Logger, Redactor: s.P.Redactor, HTTPClient: s.opts.HTTPClient})
		if err != nil {
			s.Logger.Error("imap watch: cannot build the connector; polling on the interval only", "source", src.Name, "err", err)
			continue
		}
		w, ok := conn.(watcher)
		if !ok {
			conn.Close()
			continue
		}
		name := src.Name
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			err := w.Watch(ctx, func() {
				_, err := s.client.Insert(ctx, PollArgs{Source: name, Trigger: "idle"}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{
					ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
						rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}})
				if err != nil && ctx.Err() == nil {
					s.Logger.Warn("imap watch: could not queue a poll", "source", name, "err", err)
				}
			})
			if err != nil && ctx.Err() == nil {
				s.Logger.Error("imap watch stopped; polling on the interval only", "source", name, "err", err)
			}
		}()
	}
}

// watchRules reloads the rules on SIGHUP and when the file changes on disk (checked
// by modification time and size; no extra dependency).
func (s *Service) watchRules(ctx context.Context) {
	every := s.opts.RulesCheck
	if every == 0 {
		every = 2 * time.Second
	}
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	stamp := func() string {
		fi, err := os.Stat(s.Server.RulesPath)
		if err != nil {
			return "missing"
		}
		return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
	}
	last := stamp()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.opts.Reload:
			s.Logger.Info("SIGHUP: reloading rules", "file", s.Server.RulesPath)
			last = stamp()
			_ = s.Server.ReloadRules()
		case <-tick:
			if now := stamp(); now != last {
				last = now
				s.Logger.Info("rules file changed: reloading", "file", s.Server.RulesPath)
				_ = s.Server.ReloadRules()
			}
		}
	}
}
