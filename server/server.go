// Package server is feedbackhub's running service: the HTTP endpoints (webhooks
// authenticated by their signatures, the JSON API under /api/v1/ behind bearer tokens
// with roles, /metrics, /healthz, /readyz), the River jobs that poll sources, cluster,
// run SLA clocks, deliver the outbox and send the digest, and the status report that
// `feedbackhub status` prints. It wires packages together and holds no SQL.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/pipeline"
	"github.com/feedbackhub/feedbackhub/store"
	fhsync "github.com/feedbackhub/feedbackhub/sync"
	"github.com/feedbackhub/feedbackhub/triage"
)

// Server serves HTTP over a pipeline. Build it with New.
type Server struct {
	P       *pipeline.Pipeline
	Syncer  *fhsync.Syncer // nil: no ticket sync (accepts are plain decisions)
	Engine  *triage.Engine
	Metrics *Metrics
	Tokens  []config.TokenHash
	Logger  *slog.Logger
	Clock   clock.Clock

	// RulesPath is the rules file reloaded by POST /api/v1/rules/reload.
	RulesPath string

	mux *http.ServeMux
}

// New builds the server and its routes. Webhook receivers are built from the
// configured sources through the pipeline's registry; a source that cannot be built
// (a missing secret) is an error, so `serve` refuses to start half-configured.
func New(p *pipeline.Pipeline, syncer *fhsync.Syncer, engine *triage.Engine, m *Metrics, tokens []config.TokenHash) (*Server, error) {
	s := &Server{P: p, Syncer: syncer, Engine: engine, Metrics: m, Tokens: tokens, Logger: p.Logger, Clock: p.Clock,
		RulesPath: p.Config.Path(p.Config.Rules)}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Clock == nil {
		s.Clock = clock.Real{}
	}
	s.mux = http.NewServeMux()
	if err := s.mountWebhooks(); err != nil {
		return nil, err
	}
	s.mountAPI()
	s.route("GET /metrics", "metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	s.route("GET /healthz", "healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	s.route("GET /readyz", "readyz", http.HandlerFunc(s.readyz))
	return s, nil
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// route mounts h at pattern, counting requests by route name and status code.
func (s *Server) route(pattern, name string, h http.Handler) {
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		s.Metrics.HTTPRequests.WithLabelValues(name, strconv.Itoa(rec.code)).Inc()
	}))
}

// countingSink counts webhook deliveries per source, and brings ticket status back
// when a delivery carries a ticket of ours (a Jira or GitHub issue the hub created).
type countingSink struct {
	s    *Server
	kind string
}

func (c countingSink) Deliver(ctx context.Context, source, deliveryID string, recs []feedback.Record) (bool, error) {
	dup, err := pipeline.Sink{Store: c.s.P.Store}.Deliver(ctx, source, deliveryID, recs)
	switch {
	case err != nil:
		c.s.Metrics.Webhooks.WithLabelValues(source, "error").Inc()
		return dup, err
	case dup:
		c.s.Metrics.Webhooks.WithLabelValues(source, "duplicate").Inc()
		return dup, nil
	}
	c.s.Metrics.Webhooks.WithLabelValues(source, "stored").Inc()
	c.s.Metrics.RecordsIngested.WithLabelValues(source, "webhook").Add(float64(len(recs)))
	if c.s.Syncer != nil {
		for _, r := range recs {
			ev, ok := fhsync.EventFromRecord(r, c.kind)
			if !ok {
				continue
			}
			// The delivery is stored; a failure here is retried by the status poll job.
			if _, err := c.s.Syncer.ApplyRemote(ctx, ev); err != nil {
				c.s.Logger.Warn("status back from webhook failed; the status poll will retry", "source", source, "ticket", ev.Key, "err", err)
			}
		}
	}
	return false, nil
}

var webhookPaths = map[string]string{
	config.KindGitHub:  "POST /hooks/github",
	config.KindJira:    "POST /hooks/jira",
	config.KindWebhook: "POST /hooks/partners/{partner}",
}

func (s *Server) mountWebhooks() error {
	mounted := map[string]string{}
	var errs []error
	for _, src := range s.P.Config.Sources {
		pattern, ok := webhookPaths[src.Kind]
		if !ok {
			continue
		}
		conn, err := s.P.Registry.Build(src, connectors.Env{Config: s.P.Config, Clock: s.Clock, Logger: s.Logger, Redactor: s.P.Redactor})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		wr, ok := conn.(connectors.WebhookReceiver)
		if !ok {
			conn.Close()
			continue
		}
		if other, dup := mounted[pattern]; dup {
			// One endpoint per kind: a second source of the kind polls only.
			s.Logger.Warn("webhook endpoint already served by another source; this one only polls", "source", src.Name, "endpoint", pattern, "served_by", other)
			continue
		}
		mounted[pattern] = src.Name
		name := "hook_" + src.Kind
		s.route(pattern, name, wr.WebhookHandler(countingSink{s: s, kind: src.Kind}))
		s.Logger.Info("webhook endpoint", "source", src.Name, "endpoint", pattern)
	}
	return errors.Join(errs...)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.P.Store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable", "error": s.P.Redactor.Redact(err.Error())})
		return
	}
	cur, latest, err := s.P.Store.SchemaVersion(ctx)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "schema unreadable", "error": s.P.Redactor.Redact(err.Error())})
		return
	}
	if cur != latest {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "schema not current", "schema": cur, "want": latest})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "schema": cur})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiError is the body of every API error.
type apiError struct {
	Error string `json:"error"`
}

func (s *Server) fail(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, apiError{Error: s.P.Redactor.Redact(fmt.Sprintf(format, args...))})
}

// failErr maps an error to a status: not found 404, a stale or invalid decision 409
// or 400, anything else 500 (logged, not shown).
func (s *Server) failErr(w http.ResponseWriter, r *http.Request, err error) {
	var te *triage.TransitionError
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.fail(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, store.ErrStaleCluster), errors.As(err, &te):
		s.fail(w, http.StatusConflict, "%v", err)
	default:
		s.Logger.Error("api request failed", "path", r.URL.Path, "err", err)
		s.fail(w, http.StatusInternalServerError, "internal error")
	}
}
