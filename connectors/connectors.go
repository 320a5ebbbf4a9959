// Package connectors defines how feedback sources plug into feedbackhub: the Connector
// interface (poll since a cursor → records and the next cursor), the optional webhook
// receiver, an explicit Registry value of connector factories (no init() side
// effects), and the HTTP helpers every connector and sync share: retries with
// exponential backoff and jitter, Retry-After and rate-limit headers, a
// transient/permanent error type, and secret redaction.
package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// Stats is what one poll cost and found.
type Stats struct {
	// Fetched counts records returned by the source (before intake dedup).
	Fetched int
	// Requests counts HTTP (or protocol) requests made, retries included.
	Requests int
	// NotModified counts requests answered 304 Not Modified.
	NotModified int
	// Waited is the time spent waiting for rate limits and backoff.
	Waited time.Duration
	// Retries counts repeated attempts.
	Retries int
}

// Add adds o to s.
func (s *Stats) Add(o Stats) {
	s.Fetched += o.Fetched
	s.Requests += o.Requests
	s.NotModified += o.NotModified
	s.Waited += o.Waited
	s.Retries += o.Retries
}

// Result is what one poll returns: the records and the cursor to store with them.
type Result struct {
	Records []feedback.Record
	// Next is the cursor to persist in the same transaction as Records.
	Next  feedback.Cursor
	Stats Stats
}

// Connector fetches records from one configured source.
type Connector interface {
	// Name is the configured source name.
	Name() string
	// Kind is the source kind (github, jira, imap, webhook, file).
	Kind() string
	// Poll fetches what changed since cursor. It must not advance anything itself: the
	// caller stores Records and Next in one transaction, and only then is the cursor
	// moved. Returning an error leaves the stored cursor where it was.
	Poll(ctx context.Context, cursor feedback.Cursor) (Result, error)
	// Close releases connections.
	Close() error
}

// AfterCommit is implemented by connectors that act on the source once their records
// are durable (the inbox moves processed mail): the caller calls Committed after the
// transaction that stored Result.Records and Result.Next has committed.
type AfterCommit interface {
	Committed(ctx context.Context, res Result) error
}

// MorePoller is implemented by connectors whose Poll stops at a budget; while More
// reports true after a committed poll, the caller polls again.
type MorePoller interface {
	More() bool
}

// Sink is where webhook receivers put what they verified and parsed: the records of
// one delivery, stored in the same transaction that marks the delivery id seen.
type Sink interface {
	// Deliver stores recs and marks deliveryID seen for source, atomically. duplicate
	// is true (and nothing stored) when the id was seen before.
	Deliver(ctx context.Context, source, deliveryID string, recs []feedback.Record) (duplicate bool, err error)
}

// WebhookReceiver is implemented by connectors that accept pushes.
type WebhookReceiver interface {
	// WebhookHandler returns the handler for the connector's endpoint; verified
	// deliveries go to sink.
	WebhookHandler(sink Sink) http.Handler
}

// Env is what factories get besides their source's config.
type Env struct {
	Config *config.Config
	Clock  clock.Clock
	Logger *slog.Logger
	// HTTPClient is the base client (tests point it at httptest servers); nil means a
	// client with sane timeouts.
	HTTPClient *http.Client
	// Redactor collects the secrets connectors load so logs and errors never show them.
	Redactor *Redactor
}

// Factory builds a connector for a configured source.
type Factory func(src config.Source, env Env) (Connector, error)

// Registry maps source kinds to factories. Build one explicitly where the program is
// wired; nothing registers itself.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]Factory{}} }

// Register adds a factory for kind; registering a kind twice is an error.
func (r *Registry) Register(kind string, f Factory) error {
	if kind == "" || f == nil {
		return fmt.Errorf("connectors: register: empty kind or nil factory")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[kind]; dup {
		return fmt.Errorf("connectors: kind %q registered twice", kind)
	}
	r.m[kind] = f
	return nil
}

// Kinds lists the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Build makes the connector for src.
func (r *Registry) Build(src config.Source, env Env) (Connector, error) {
	r.mu.RLock()
	f, ok := r.m[src.Kind]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("connectors: source %s: no connector for kind %q (have %v)", src.Name, src.Kind, r.Kinds())
	}
	if env.Clock == nil {
		env.Clock = clock.Real{}
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.Redactor == nil {
		env.Redactor = NewRedactor()
	}
	c, err := f(src, env)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src.Name, err)
	}
	return c, nil
}
