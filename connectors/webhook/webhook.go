// Package webhook receives partner feedback events signed per the Standard Webhooks
// specification at /hooks/partners/{partner}. Each partner has its own secrets
// (partners[].webhook_secrets_env, several during a key rotation); a delivery is
// verified (headers, timestamp window, HMAC-SHA256 signature, in constant time) before
// its body is parsed, its event is validated against the schema in README.md, and its
// record is handed to a connectors.Sink that stores it and marks the webhook-id seen
// in one transaction, so a retried delivery has no second effect. The event schema
// and its validation (ParseEvent, Event.Record) are shared with the JSONL file import.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// PathPattern is the Go 1.22 ServeMux pattern the handler is meant to be mounted at;
// the handler also works without it (it then takes the last path segment).
const PathPattern = "POST /hooks/partners/{partner}"

// Connector is the partner webhook source. It only receives: Poll returns nothing.
type Connector struct {
	name      string
	maxBody   int64
	tolerance time.Duration
	clock     clock.Clock
	logger    *slog.Logger
	// keys holds each webhook-enabled partner's decoded secrets.
	keys map[string][][]byte
	// partners is every configured partner id, to tell "unknown" from "no secrets".
	partners map[string]bool
}

var (
	_ connectors.Connector       = (*Connector)(nil)
	_ connectors.WebhookReceiver = (*Connector)(nil)
)

// New builds the webhook connector for src, loading every partner's secrets from the
// environment variables named in partners[].webhook_secrets_env. A variable that is
// unset or holds a malformed secret is an error naming the partner and the variable,
// never the value.
func New(src config.Source, env connectors.Env) (connectors.Connector, error) {
	return NewConnector(src, env)
}

// NewConnector is New with the concrete type, for callers that want WebhookHandler
// without a type assertion.
func NewConnector(src config.Source, env connectors.Env) (*Connector, error) {
	if env.Config == nil {
		return nil, errors.New("webhook: no config")
	}
	c := &Connector{
		name:      src.Name,
		maxBody:   config.DefaultWebhookBodyBytes,
		tolerance: config.DefaultWebhookTolerance,
		clock:     env.Clock,
		logger:    env.Logger,
		keys:      map[string][][]byte{},
		partners:  map[string]bool{},
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if w := src.Webhook; w != nil {
		if w.MaxBodyBytes > 0 {
			c.maxBody = w.MaxBodyBytes
		}
		if w.Tolerance.D() > 0 {
			c.tolerance = w.Tolerance.D()
		}
	}
	var errs []error
	for i, p := range env.Config.Partners {
		c.partners[p.ID] = true
		for j, name := range p.WebhookSecretsEnv {
			path := fmt.Sprintf("partners[%d].webhook_secrets_env[%d]", i, j)
			v, err := env.Config.Secret(name, "")
			if err != nil {
				errs = append(errs, fmt.Errorf("webhook: partner %s: %s: %w", p.ID, path, err))
				continue
			}
			if env.Redactor != nil {
				env.Redactor.Add(v, strings.TrimPrefix(v, secretPrefix))
			}
			key, err := ParseSecret(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("webhook: partner %s: %s (%s): %w", p.ID, path, name, err))
				continue
			}
			c.keys[p.ID] = append(c.keys[p.ID], key)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// Name is the configured source name.
func (c *Connector) Name() string { return c.name }

// Kind is "webhook".
func (c *Connector) Kind() string { return config.KindWebhook }

// Poll returns no records and the cursor unchanged: webhooks only receive.
func (c *Connector) Poll(_ context.Context, cursor feedback.Cursor) (connectors.Result, error) {
	return connectors.Result{Next: cursor}, nil
}

// Close does nothing.
func (c *Connector) Close() error { return nil }

// WebhookHandler returns the handler for /hooks/partners/{partner}. Responses:
// 200 stored or duplicate (only after sink returned), 400 bad webhook-id or schema
// errors (JSON list of field paths), 401 missing headers, timestamp outside the
// window or no matching signature, 404 unknown partner or a partner without webhook
// secrets, 405 not POST, 413 body over max_body_bytes, 500 the sink failed.
func (c *Connector) WebhookHandler(sink connectors.Sink) http.Handler {
	return &handler{c: c, sink: sink}
}

type handler struct {
	c    *Connector
	sink connectors.Sink
}

// Response is the JSON body of every answer except schema errors (SchemaError).
type Response struct {
	Status string `json:"status,omitempty"` // stored, duplicate
	ID     string `json:"id,omitempty"`     // the webhook-id
	Error  string `json:"error,omitempty"`
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.c
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, r, http.StatusMethodNotAllowed, "", "method not allowed, use POST")
		return
	}
	partner := PartnerFromRequest(r)
	keys, ok := c.keys[partner]
	if !ok {
		msg := "unknown partner"
		if c.partners[partner] {
			msg = "partner has no webhook secrets configured"
		}
		h.fail(w, r, http.StatusNotFound, partner, msg)
		return
	}
	if r.ContentLength > c.maxBody {
		h.fail(w, r, http.StatusRequestEntityTooLarge, partner, fmt.Sprintf("body over %d bytes", c.maxBody))
		return
	}
	id, ts, sig := r.Header.Get(HeaderID), r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)
	var missing []string
	for _, hv := range [][2]string{{HeaderID, id}, {HeaderTimestamp, ts}, {HeaderSignature, sig}} {
		if strings.TrimSpace(hv[1]) == "" {
			missing = append(missing, hv[0])
		}
	}
	if len(missing) > 0 {
		h.fail(w, r, http.StatusUnauthorized, partner, "missing header "+strings.Join(missing, ", "))
		return
	}
	if _, err := CheckTimestamp(ts, c.clock.Now(), c.tolerance); err != nil {
		h.fail(w, r, http.StatusUnauthorized, partner, err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.fail(w, r, http.StatusRequestEntityTooLarge, partner, fmt.Sprintf("body over %d bytes", c.maxBody))
			return
		}
		h.fail(w, r, http.StatusBadRequest, partner, "read body: "+err.Error())
		return
	}
	if err := VerifySignature(keys, id, ts, body, sig); err != nil {
		h.fail(w, r, http.StatusUnauthorized, partner, err.Error())
		return
	}
	// Verified: from here on the content is the partner's.
	if len(id) > maxIDLen || strings.ContainsAny(id, " \t\r\n") {
		h.fail(w, r, http.StatusBadRequest, partner, "webhook-id must be at most 256 characters without spaces")
		return
	}
	ev, err := ParseEvent(body)
	if err != nil {
		var se *SchemaError
		if errors.As(err, &se) {
			c.logger.Warn("partner webhook: invalid event", "source", c.name, "partner", partner, "webhook_id", id, "err", err)
			writeJSON(w, http.StatusBadRequest, se)
			return
		}
		h.fail(w, r, http.StatusBadRequest, partner, err.Error())
		return
	}
	rec := ev.Record(c.name, partner, body, c.clock.Now())
	rec.Meta["webhook_id"] = id
	dup, err := h.sink.Deliver(r.Context(), c.name, partner+":"+id, []feedback.Record{rec})
	if err != nil {
		c.logger.Error("partner webhook: store delivery", "source", c.name, "partner", partner, "webhook_id", id, "err", err)
		writeJSON(w, http.StatusInternalServerError, Response{ID: id, Error: "could not store the delivery; retry later"})
		return
	}
	status := "stored"
	if dup {
		status = "duplicate"
	}
	c.logger.Info("partner webhook", "source", c.name, "partner", partner, "webhook_id", id, "status", status, "type", ev.Type)
	writeJSON(w, http.StatusOK, Response{Status: status, ID: id})
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, code int, partner, msg string) {
	h.c.logger.Warn("partner webhook rejected", "source", h.c.name, "partner", partner, "status", code, "reason", msg,
		"webhook_id", r.Header.Get(HeaderID))
	writeJSON(w, code, Response{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// PartnerFromRequest returns the {partner} path value when the handler is mounted
// with a pattern, else the last non-empty segment of the URL path.
func PartnerFromRequest(r *http.Request) string {
	if p := r.PathValue("partner"); p != "" {
		return p
	}
	path := strings.TrimRight(r.URL.Path, "/")
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}
