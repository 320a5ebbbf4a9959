package connectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
)

// Error is a failed call to an outside service, classified once: Transient errors
// may succeed if tried later (5xx, timeouts, rate limits); permanent ones will not
// (bad credentials, missing resources, rejected input) and must not be retried.
type Error struct {
	Op        string // "GET /repos/acme/widgets/issues"
	Status    int    // HTTP status, 0 for network errors
	Transient bool
	// RetryAt, when set, is when the service said it will accept calls again.
	RetryAt time.Time
	Msg     string
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Msg != "" {
		b.WriteString(": " + e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsTransient reports whether err may succeed on a later try.
func IsTransient(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Transient
	}
	return false
}

// StatusOf returns the HTTP status inside err, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// Class is how a response is handled.
type Class int

// Response classes.
const (
	ClassOK        Class = iota // 2xx, 304
	ClassRateLimit              // wait as told, then retry
	ClassRetry                  // transient: back off and retry
	ClassPermanent              // do not retry
)

// Classify is the one place that maps an HTTP answer to retry or not. 403 counts as a
// rate limit only with a rate-limit sign (Retry-After, remaining 0, or GitHub's
// secondary-limit wording); otherwise it is a permission error.
func Classify(status int, h http.Header, body []byte) Class {
	switch {
	case status >= 200 && status < 300, status == http.StatusNotModified:
		return ClassOK
	case status == http.StatusTooManyRequests:
		return ClassRateLimit
	case status == http.StatusForbidden:
		if h.Get("Retry-After") != "" || h.Get("X-Ratelimit-Remaining") == "0" ||
			bytes.Contains(bytes.ToLower(body), []byte("secondary rate limit")) ||
			bytes.Contains(bytes.ToLower(body), []byte("rate limit exceeded")) {
			return ClassRateLimit
		}
		return ClassPermanent
	case status == http.StatusRequestTimeout, status == http.StatusConflict, status == 425, status >= 500:
		return ClassRetry
	default:
		return ClassPermanent
	}
}

// ParseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// ParseReset reads a rate-limit reset header: epoch seconds (GitHub) or an ISO 8601
// time (Jira's X-RateLimit-Reset).
func ParseReset(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05.000Z0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Policy bounds retries and waits.
type Policy struct {
	// MaxAttempts is the most tries of one request, the first included (default 5).
	MaxAttempts int
	// BaseDelay and MaxDelay bound exponential backoff (defaults 1s and 2m).
	BaseDelay, MaxDelay time.Duration
	// SecondaryMin is the least wait after a rate limit that gives no time (default 60s,
	// as GitHub asks for secondary limits).
	SecondaryMin time.Duration
	// MaxWait is the longest single wait the client accepts; a service asking for
	// longer gets a transient error with RetryAt instead (default 15m).
	MaxWait time.Duration
	// MaxConcurrent bounds requests in flight through one client (default 4).
	MaxConcurrent int
}

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 2 * time.Minute
	}
	if p.SecondaryMin <= 0 {
		p.SecondaryMin = 60 * time.Second
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 15 * time.Minute
	}
	if p.MaxConcurrent <= 0 {
		p.MaxConcurrent = 4
	}
	return p
}

// Client sends HTTP requests with the retry policy, counts what it did, and keeps
// secrets out of its errors. It is safe for concurrent use.
type Client struct {
	HTTP     *http.Client
	Clock    clock.Clock
	Policy   Policy
	Redactor *Redactor
	// OnWait, when set, is told about each wait (for logs and metrics).
	OnWait func(reason string, d time.Duration)

	once  sync.Once
	sem   chan struct{}
	mu    sync.Mutex
	stats Stats
	rnd   *rand.Rand
}

// NewClient returns a client; nil arguments get defaults.
func NewClient(hc *http.Client, clk clock.Clock, red *Redactor, p Policy) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	if clk == nil {
		clk = clock.Real{}
	}
	return &Client{HTTP: hc, Clock: clk, Redactor: red, Policy: p}
}

func (c *Client) init() {
	c.once.Do(func() {
		c.Policy = c.Policy.withDefaults()
		c.sem = make(chan struct{}, c.Policy.MaxConcurrent)
		c.rnd = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
		if c.Clock == nil {
			c.Clock = clock.Real{}
		}
		if c.HTTP == nil {
			c.HTTP = &http.Client{Timeout: 60 * time.Second}
		}
	})
}

// TakeStats returns the counters since the last call and resets them.
func (c *Client) TakeStats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	c.stats = Stats{}
	return s
}

func (c *Client) count(f func(*Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// maxErrBody is how much of an error response is read for the message.
const maxErrBody = 4 << 10

// Do sends req, retrying transient failures and waiting out rate limits per the
// policy. A returned response is 2xx or 304 and its body is the caller's to close;
// every other outcome is an *Error. A request with a body must have GetBody set
// (http.NewRequest does this for common body types) to be retried.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	c.init()
	ctx := req.Context()
	op := req.Method + " " + req.URL.Path
	var last *Error
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			if req.GetBody != nil {
				b, err := req.GetBody()
				if err != nil {
					return nil, &Error{Op: op, Msg: "rewind request body", Err: err}
				}
				req.Body = b
			} else if req.Body != nil && req.Body != http.NoBody {
				return nil, last
			}
		}
		resp, err := c.send(ctx, req)
		c.count(func(s *Stats) {
			s.Requests++
			if attempt > 1 {
				s.Retries++
			}
		})
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, &Error{Op: op, Msg: "canceled", Err: ctx.Err()}
			}
			last = &Error{Op: op, Transient: true, Err: c.Redactor.RedactError(stripURL(err))}
			wait = c.backoff(attempt)
		default:
			var body []byte
			if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotModified {
				body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrBody))
				resp.Body.Close()
			}
			switch Classify(resp.StatusCode, resp.Header, body) {
			case ClassOK:
				if resp.StatusCode == http.StatusNotModified {
					c.count(func(s *Stats) { s.NotModified++ })
				}
				return resp, nil
			case ClassPermanent:
				return nil, &Error{Op: op, Status: resp.StatusCode, Msg: c.Redactor.Redact(snippet(body))}
			case ClassRateLimit:
				now := c.Clock.Now()
				w, retryAt := c.rateLimitWait(resp.Header, now, attempt)
				last = &Error{Op: op, Status: resp.StatusCode, Transient: true, RetryAt: retryAt, Msg: "rate limited: " + c.Redactor.Redact(snippet(body))}
				wait = w
			case ClassRetry:
				last = &Error{Op: op, Status: resp.StatusCode, Transient: true, Msg: c.Redactor.Redact(snippet(body))}
				wait = c.backoff(attempt)
				if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), c.Clock.Now()); ok && d > wait {
					wait = d
				}
			}
		}
		if attempt >= c.Policy.MaxAttempts {
			last.Msg = strings.TrimSpace(last.Msg + fmt.Sprintf(" (gave up after %d attempts)", attempt))
			return nil, last
		}
		if wait > c.Policy.MaxWait {
			if last.RetryAt.IsZero() {
				last.RetryAt = c.Clock.Now().Add(wait)
			}
			last.Msg = strings.TrimSpace(last.Msg + fmt.Sprintf(" (asked to wait %s, more than the %s limit; try again after %s)", wait.Round(time.Second), c.Policy.MaxWait, last.RetryAt.UTC().Format(time.RFC3339)))
			return nil, last
		}
		if c.OnWait != nil {
			c.OnWait(fmt.Sprintf("%s (attempt %d)", last.Error(), attempt), wait)
		}
		if err := c.Clock.Sleep(ctx, wait); err != nil {
			return nil, &Error{Op: op, Msg: "canceled while waiting", Err: err}
		}
		c.count(func(s *Stats) { s.Waited += wait })
	}
}

func (c *Client) send(ctx context.Context, req *http.Request) (*http.Response, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	return c.HTTP.Do(req)
}

// rateLimitWait decides how long to wait after a rate-limit answer: Retry-After first,
// then remaining=0 with a reset time, else at least SecondaryMin growing with attempts.
func (c *Client) rateLimitWait(h http.Header, now time.Time, attempt int) (time.Duration, time.Time) {
	if d, ok := ParseRetryAfter(h.Get("Retry-After"), now); ok {
		return d, now.Add(d)
	}
	if h.Get("X-Ratelimit-Remaining") == "0" || h.Get("X-Ratelimit-Reset") != "" {
		if t, ok := ParseReset(h.Get("X-Ratelimit-Reset")); ok {
			d := t.Sub(now) + time.Second
			if d < time.Second {
				d = time.Second
			}
			return d, t
		}
	}
	d := c.Policy.SecondaryMin << (attempt - 1)
	if d > c.Policy.MaxWait || d <= 0 {
		d = c.Policy.MaxWait
	}
	return d, now.Add(d)
}

// backoff is exponential with full jitter in [d/2, d].
func (c *Client) backoff(attempt int) time.Duration {
	d := c.Policy.BaseDelay << (attempt - 1)
	if d > c.Policy.MaxDelay || d <= 0 {
		d = c.Policy.MaxDelay
	}
	c.mu.Lock()
	j := time.Duration(c.rnd.Int64N(int64(d)/2 + 1))
	c.mu.Unlock()
	return d/2 + j
}

// stripURL drops the URL from *url.Error texts (it may carry tokens in its query).
func stripURL(err error) error {
	var ue interface {
		Unwrap() error
		Timeout() bool
	}
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
