package connectors

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
)

type fakeConn struct{ name string }

func (f fakeConn) Name() string { return f.name }
func (fakeConn) Kind() string   { return "fake" }
func (fakeConn) Poll(context.Context, feedback.Cursor) (Result, error) {
	return Result{}, nil
}
func (fakeConn) Close() error { return nil }

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	f := func(src config.Source, env Env) (Connector, error) { return fakeConn{src.Name}, nil }
	if err := r.Register("fake", f); err != nil {
		t.Fatal(err)
	}
	if err := r.Register("fake", f); err == nil {
		t.Fatal("duplicate kind accepted")
	}
	c, err := r.Build(config.Source{Name: "x", Kind: "fake"}, Env{})
	if err != nil || c.Name() != "x" {
		t.Fatalf("build = %v, %v", c, err)
	}
	if _, err := r.Build(config.Source{Name: "y", Kind: "gitlab"}, Env{}); err == nil || !strings.Contains(err.Error(), `"gitlab"`) {
		t.Fatalf("unknown kind err = %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if d, ok := ParseRetryAfter("30", now); !ok || d != 30*time.Second {
		t.Errorf("seconds = %v %v", d, ok)
	}
	if d, ok := ParseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); !ok || d != 90*time.Second {
		t.Errorf("date = %v %v", d, ok)
	}
	if _, ok := ParseRetryAfter("soon", now); ok {
		t.Error("garbage accepted")
	}
	if tm, ok := ParseReset("1764072000"); !ok || tm.Unix() != 1764072000 {
		t.Errorf("epoch reset = %v", tm)
	}
	if tm, ok := ParseReset("2026-11-25T12:00:07.000Z"); !ok || !tm.Equal(now.Add(7*time.Second)) {
		t.Errorf("iso reset = %v %v", tm, ok)
	}
}

func TestClassify(t *testing.T) {
	h := http.Header{}
	tests := []struct {
		status int
		h      http.Header
		body   string
		want   Class
	}{
		{200, h, "", ClassOK},
		{304, h, "", ClassOK},
		{429, h, "", ClassRateLimit},
		{403, http.Header{"Retry-After": {"5"}}, "", ClassRateLimit},
		{403, http.Header{"X-Ratelimit-Remaining": {"0"}}, "", ClassRateLimit},
		{403, h, `{"message":"You have exceeded a secondary rate limit"}`, ClassRateLimit},
		{403, h, `{"message":"Resource not accessible by integration"}`, ClassPermanent},
		{401, h, "", ClassPermanent},
		{404, h, "", ClassPermanent},
		{410, h, "", ClassPermanent},
		{500, h, "", ClassRetry},
		{503, h, "", ClassRetry},
		{408, h, "", ClassRetry},
	}
	for _, tt := range tests {
		if got := Classify(tt.status, tt.h, []byte(tt.body)); got != tt.want {
			t.Errorf("Classify(%d, %v, %q) = %v, want %v", tt.status, tt.h, tt.body, got, tt.want)
		}
	}
}

// script serves the given responses in order, then 200s.
func script(t *testing.T, steps ...func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(steps) {
			steps[i](w)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func status(code int, hdr ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, `{"message":"nope"}`)
	}
}

func newTestClient(clk clock.Clock) *Client {
	return NewClient(nil, clk, NewRedactor(), Policy{MaxAttempts: 4})
}

func get(t *testing.T, c *Client, url string) (*http.Response, error) {
	req, _ := http.NewRequest("GET", url, nil)
	resp, err := c.Do(req)
	if resp != nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func TestClientRetryAfter(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	srv, n := script(t, status(403, "Retry-After", "30"))
	c := newTestClient(clk)
	if _, err := get(t, c, srv.URL); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 || clk.Slept() < 30*time.Second {
		t.Fatalf("requests=%d slept=%v, want 2 and >=30s", n.Load(), clk.Slept())
	}
	st := c.TakeStats()
	if st.Requests != 2 || st.Retries != 1 || st.Waited < 30*time.Second {
		t.Fatalf("stats = %+v", st)
	}
}

func TestClientRateLimitReset(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(now)
	reset := strconv.FormatInt(now.Add(5*time.Minute).Unix(), 10)
	srv, _ := script(t, status(429, "X-Ratelimit-Remaining", "0", "X-Ratelimit-Reset", reset))
	if _, err := get(t, newTestClient(clk), srv.URL); err != nil {
		t.Fatal(err)
	}
	if s := clk.Slept(); s < 5*time.Minute || s > 5*time.Minute+2*time.Second {
		t.Fatalf("slept %v, want the reset (5m)", s)
	}
}

func TestClientSecondaryLimitWithoutHeaders(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	srv, n := script(t, status(429), status(429), status(429), status(429), status(429))
	_, err := get(t, newTestClient(clk), srv.URL)
	if err == nil || !IsTransient(err) || !strings.Contains(err.Error(), "gave up after 4 attempts") {
		t.Fatalf("err = %v, want a transient give-up", err)
	}
	sl := clk.Sleeps()
	if len(sl) != 3 || sl[0] < 60*time.Second || sl[1] <= sl[0] {
		t.Fatalf("sleeps = %v, want >=60s growing", sl)
	}
	if n.Load() != 4 {
		t.Fatalf("requests = %d, want 4", n.Load())
	}
}

func TestClientServerErrorThenSuccess(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv, n := script(t, status(500), status(502))
	if _, err := get(t, newTestClient(clk), srv.URL); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 || len(clk.Sleeps()) != 2 {
		t.Fatalf("requests=%d sleeps=%v", n.Load(), clk.Sleeps())
	}
}

func TestClientPermanentNoRetry(t *testing.T) {
	clk := clock.NewFake(time.Now())
	for _, code := range []int{401, 404, 403} {
		srv, n := script(t, status(code))
		_, err := get(t, newTestClient(clk), srv.URL)
		if err == nil || IsTransient(err) || StatusOf(err) != code {
			t.Fatalf("%d: err = %v", code, err)
		}
		if n.Load() != 1 {
			t.Fatalf("%d: %d requests, want 1 (no retry storm)", code, n.Load())
		}
	}
}

func TestClientTooLongWaitReturnsRetryAt(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv, n := script(t, status(429, "Retry-After", "7200"))
	_, err := get(t, newTestClient(clk), srv.URL)
	var e *Error
	if !errors.As(err, &e) || !e.Transient || e.RetryAt.IsZero() {
		t.Fatalf("err = %v", err)
	}
	if n.Load() != 1 || clk.Slept() != 0 {
		t.Fatalf("requests=%d slept=%v: must not sleep for two hours", n.Load(), clk.Slept())
	}
}

func TestClientResendsBody(t *testing.T) {
	var bodies []string
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		n++
		if n == 1 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	c := newTestClient(clock.NewFake(time.Now()))
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(`{"a":1}`))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(bodies) != 2 || bodies[1] != `{"a":1}` {
		t.Fatalf("bodies = %q", bodies)
	}
}

func TestClientNetworkErrorIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := get(t, newTestClient(clock.NewFake(time.Now())), url)
	if err == nil || !IsTransient(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestSecretNeverInErrorsOrLogs(t *testing.T) {
	const token = "ghp_SuperSecretToken1234567890"
	red := NewRedactor()
	red.Add(token)
	// A server that echoes the Authorization header back in its error body.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		io.WriteString(w, `{"message":"Bad credentials for `+r.Header.Get("Authorization")+` at `+r.URL.String()+`"}`)
	}))
	defer srv.Close()
	c := NewClient(nil, clock.NewFake(time.Now()), red, Policy{})
	req, _ := http.NewRequest("GET", srv.URL+"/x?access_token="+token, nil)
	req.Header.Set("Authorization", "token "+token)
	_, err := c.Do(req)
	if err == nil {
		t.Fatal("want error")
	}
	if strings.Contains(err.Error(), token) {
		t.Fatalf("token in error: %v", err)
	}
	// Network error path: the URL with the token must not leak either.
	srv.Close()
	req, _ = http.NewRequest("GET", srv.URL+"/x?access_token="+token, nil)
	_, err = NewClient(nil, clock.NewFake(time.Now()), red, Policy{MaxAttempts: 1}).Do(req)
	if err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("network err = %v", err)
	}

	var buf bytes.Buffer
	log := slog.New(RedactingHandler(slog.NewJSONHandler(&buf, nil), red))
	log.With("auth", "Bearer "+token).Info("calling with "+token, "err", errors.New("failed: "+token), "group", slog.GroupValue(slog.String("t", token)), "n", 3)
	if strings.Contains(buf.String(), token) {
		t.Fatalf("token in log line: %s", buf.String())
	}
	if !strings.Contains(buf.String(), Redacted) || !strings.Contains(buf.String(), `"n":3`) {
		t.Fatalf("log line lost content: %s", buf.String())
	}
	wrapped := red.RedactError(errors.Join(context.Canceled, errors.New(token)))
	if strings.Contains(wrapped.Error(), token) || !errors.Is(wrapped, context.Canceled) {
		t.Fatalf("RedactError = %v", wrapped)
	}
}
