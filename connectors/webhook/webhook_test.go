package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// fakeSink behaves like store.IngestDelivery: a delivery id is marked seen and its
// records stored (unique on source, external id, revision) together, or not at all.
type fakeSink struct {
	mu         sync.Mutex
	deliveries map[string]bool
	records    map[string]feedback.Record
	calls      int
	err        error
}

func newFakeSink() *fakeSink {
	return &fakeSink{deliveries: map[string]bool{}, records: map[string]feedback.Record{}}
}

func (s *fakeSink) Deliver(_ context.Context, source, deliveryID string, recs []feedback.Record) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return false, s.err
	}
	if s.deliveries[source+"\x00"+deliveryID] {
		return true, nil
	}
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			return false, err
		}
	}
	s.deliveries[source+"\x00"+deliveryID] = true
	for _, r := range recs {
		k := r.Source + "\x00" + r.ExternalID + "\x00" + r.Revision
		if _, ok := s.records[k]; !ok {
			s.records[k] = r
		}
	}
	return false, nil
}

func (s *fakeSink) all() []feedback.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []feedback.Record
	for _, r := range s.records {
		out = append(out, r)
	}
	return out
}

var (
	keyOld    = bytes.Repeat([]byte{1}, 32)
	keyNew    = bytes.Repeat([]byte{2}, 32)
	keyGlobex = bytes.Repeat([]byte{3}, 24)
	t0        = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
)

func secret(k []byte) string { return "whsec_" + base64.StdEncoding.EncodeToString(k) }

type bundle struct {
	conn  *Connector
	sink  *fakeSink
	clock *clock.Fake
	srv   http.Handler
}

func setup(t *testing.T) *bundle {
	t.Helper()
	t.Setenv("ACME_WHSEC_OLD", secret(keyOld))
	t.Setenv("ACME_WHSEC_NEW", secret(keyNew))
	t.Setenv("GLOBEX_WHSEC", secret(keyGlobex))
	cfg := &config.Config{Partners: []config.Partner{
		{ID: "acme", WebhookSecretsEnv: []string{"ACME_WHSEC_OLD", "ACME_WHSEC_NEW"}},
		{ID: "globex", WebhookSecretsEnv: []string{"GLOBEX_WHSEC"}},
		{ID: "initech"},
	}}
	fc := clock.NewFake(t0)
	c, err := NewConnector(config.Source{Name: "partners", Kind: config.KindWebhook, Webhook: &config.WebhookSource{}},
		connectors.Env{Config: cfg, Clock: fc, Redactor: connectors.NewRedactor()})
	if err != nil {
		t.Fatal(err)
	}
	sink := newFakeSink()
	mux := http.NewServeMux()
	mux.Handle(PathPattern, c.WebhookHandler(sink))
	return &bundle{conn: c, sink: sink, clock: fc, srv: mux}
}

const validEvent = `{"type":"feedback.created","id":"fb-1","title":"Deploy stuck","body":"Our deploy hangs at 90%",
"severity_hint":"High","reporter":{"email":"ops@acme.example","name":"Ana Ops"},"account":"acme-prod",
"url":"https://partner.acme.example/tickets/77","occurred_at":"2026-03-02T09:58:00Z","metadata":{"ticket_id":"ACME-77","region":"eu"}}`

type req struct {
	partner string
	id      string
	ts      time.Time
	body    string
	sig     string // empty: signed with keys
	keys    [][]byte
	drop    string // header to leave out
}

func (b *bundle) do(t *testing.T, q req) (*httptest.ResponseRecorder, Response) {
	t.Helper()
	if q.partner == "" {
		q.partner = "acme"
	}
	if q.id == "" {
		q.id = "msg_1"
	}
	if q.ts.IsZero() {
		q.ts = t0
	}
	if q.keys == nil {
		q.keys = [][]byte{keyNew}
	}
	sig := q.sig
	if sig == "" {
		var sigs []string
		for _, k := range q.keys {
			sigs = append(sigs, Sign(k, q.id, q.ts.Unix(), []byte(q.body)))
		}
		sig = strings.Join(sigs, " ")
	}
	r := httptest.NewRequest(http.MethodPost, "/hooks/partners/"+q.partner, strings.NewReader(q.body))
	r.Header.Set(HeaderID, q.id)
	r.Header.Set(HeaderTimestamp, strconv.FormatInt(q.ts.Unix(), 10))
	r.Header.Set(HeaderSignature, sig)
	r.Header.Set("Content-Type", "application/json")
	if q.drop != "" {
		r.Header.Del(q.drop)
	}
	w := httptest.NewRecorder()
	b.srv.ServeHTTP(w, r)
	var resp Response
	_ = json.Unmarshal(w.Body.Bytes(), &resp)
	return w, resp
}

func TestSignatureVectors(t *testing.T) {
	flipped := []byte(validEvent)
	flipped[40] ^= 0x01
	tests := []struct {
		name string
		q    req
		// tamper changes the body after signing.
		tamper string
		code   int
	}{
		{name: "valid", q: req{body: validEvent}, code: 200},
		{name: "old key still accepted", q: req{body: validEvent, keys: [][]byte{keyOld}}, code: 200},
		{name: "old and new signatures together", q: req{body: validEvent, keys: [][]byte{keyOld, keyNew}}, code: 200},
		{name: "unknown signature next to a valid one", q: req{body: validEvent, keys: [][]byte{keyGlobex, keyNew}}, code: 200},
		{name: "one flipped byte in the body", q: req{body: validEvent}, tamper: string(flipped), code: 401},
		{name: "timestamp 4 min old", q: req{body: validEvent, ts: t0.Add(-4 * time.Minute)}, code: 200},
		{name: "timestamp 4 min ahead", q: req{body: validEvent, ts: t0.Add(4 * time.Minute)}, code: 200},
		{name: "timestamp exactly 5 min old", q: req{body: validEvent, ts: t0.Add(-5 * time.Minute)}, code: 200},
		{name: "timestamp 6 min old", q: req{body: validEvent, ts: t0.Add(-6 * time.Minute)}, code: 401},
		{name: "timestamp 6 min ahead", q: req{body: validEvent, ts: t0.Add(6 * time.Minute)}, code: 401},
		{name: "another partner's key", q: req{body: validEvent, keys: [][]byte{keyGlobex}}, code: 401},
		{name: "missing webhook-id", q: req{body: validEvent, drop: HeaderID}, code: 401},
		{name: "missing webhook-timestamp", q: req{body: validEvent, drop: HeaderTimestamp}, code: 401},
		{name: "missing webhook-signature", q: req{body: validEvent, drop: HeaderSignature}, code: 401},
		{name: "v1a only", q: req{body: validEvent, sig: "v1a,AAAA"}, code: 401},
		{name: "garbage signature", q: req{body: validEvent, sig: "v1,!!!"}, code: 401},
		{name: "unknown partner", q: req{partner: "nobody", body: validEvent}, code: 404},
		{name: "partner without secrets", q: req{partner: "initech", body: validEvent}, code: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t)
			q := tt.q
			if tt.tamper != "" {
				q.sig = Sign(keyNew, "msg_1", t0.Unix(), []byte(q.body))
				q.body = tt.tamper
			}
			w, resp := b.do(t, q)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d (body %s)", w.Code, tt.code, w.Body)
			}
			n := len(b.sink.all())
			if tt.code == 200 && (n != 1 || resp.Status != "stored") {
				t.Fatalf("stored %d records, status %q; want 1, stored", n, resp.Status)
			}
			if tt.code != 200 && (n != 0 || b.sink.calls != 0) {
				t.Fatalf("rejected delivery reached the sink (%d calls, %d records)", b.sink.calls, n)
			}
			if tt.code != 200 && resp.Error == "" {
				t.Fatalf("no error message in %s", w.Body)
			}
		})
	}
}

func TestRecordFromEvent(t *testing.T) {
	b := setup(t)
	if w, _ := b.do(t, req{body: validEvent, id: "msg_a"}); w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	recs := b.sink.all()
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	want := map[string]string{"partner": "acme", "severity_hint": "high", "account": "acme-prod", "partner_ticket": "ACME-77",
		"event_type": TypeCreated, "webhook_id": "msg_a"}
	for k, v := range want {
		if r.Meta[k] != v {
			t.Errorf("meta[%s] = %q, want %q", k, r.Meta[k], v)
		}
	}
	if r.Source != "partners" || r.ExternalID != "acme:fb-1" || r.Kind != feedback.KindEvent || r.AuthorEmail != "ops@acme.example" ||
		r.Author != "Ana Ops" || r.Title != "Deploy stuck" || !r.CreatedAt.Equal(time.Date(2026, 3, 2, 9, 58, 0, 0, time.UTC)) ||
		string(r.Raw) != validEvent || !r.ReceivedAt.Equal(t0) {
		t.Errorf("record = %+v", r)
	}

	// An update of the same id is a new revision of the same external id.
	upd := strings.Replace(strings.Replace(validEvent, "feedback.created", "feedback.updated", 1), "hangs at 90%", "hangs at 95%", 1)
	if w, _ := b.do(t, req{body: upd, id: "msg_b"}); w.Code != 200 {
		t.Fatalf("update: status %d: %s", w.Code, w.Body)
	}
	// A comment points at its parent, scoped by partner.
	cmt := `{"type":"feedback.comment","id":"c-9","parent_id":"fb-1","body":"still broken","occurred_at":"2026-03-02T09:59:00Z"}`
	if w, _ := b.do(t, req{body: cmt, id: "msg_c"}); w.Code != 200 {
		t.Fatalf("comment: status %d: %s", w.Code, w.Body)
	}
	revs := map[string]bool{}
	var comment *feedback.Record
	for _, r := range b.sink.all() {
		if r.ExternalID == "acme:fb-1" {
			revs[r.Revision] = true
		}
		if r.Kind == feedback.KindComment {
			comment = &r
		}
	}
	if len(revs) != 2 {
		t.Errorf("created+updated gave %d revisions, want 2", len(revs))
	}
	if comment == nil || comment.ParentExternalID != "acme:fb-1" || comment.ExternalID != "acme:c-9" {
		t.Errorf("comment = %+v", comment)
	}
}

func TestReplayIsIdempotent(t *testing.T) {
	b := setup(t)
	for i, want := range []string{"stored", "duplicate", "duplicate"} {
		// Svix-style senders re-sign each attempt: a later timestamp, the same id.
		w, resp := b.do(t, req{body: validEvent, id: "msg_replay", ts: t0.Add(time.Duration(i) * time.Second)})
		if w.Code != 200 || resp.Status != want {
			t.Fatalf("attempt %d: %d %+v, want 200 %s", i, w.Code, resp, want)
		}
	}
	if n := len(b.sink.all()); n != 1 {
		t.Fatalf("%d records after replays, want 1", n)
	}
	// The same id from another partner is another delivery.
	globex := strings.Replace(validEvent, "fb-1", "gx-1", 1)
	if w, resp := b.do(t, req{partner: "globex", body: globex, id: "msg_replay", keys: [][]byte{keyGlobex}}); w.Code != 200 || resp.Status != "stored" {
		t.Fatalf("globex: %d %+v", w.Code, resp)
	}
}

func TestSinkErrorIs500ThenRetryStores(t *testing.T) {
	b := setup(t)
	b.sink.err = errors.New("database is locked")
	if w, _ := b.do(t, req{body: validEvent}); w.Code != 500 || strings.Contains(w.Body.String(), "locked") {
		t.Fatalf("status %d body %s, want 500 without internals", w.Code, w.Body)
	}
	b.sink.err = nil
	if w, resp := b.do(t, req{body: validEvent}); w.Code != 200 || resp.Status != "stored" {
		t.Fatalf("retry: %d %+v", w.Code, resp)
	}
}

func TestBodyLimit(t *testing.T) {
	big := `{"type":"feedback.created","id":"x","title":"t","occurred_at":"2026-03-02T09:58:00Z","body":"` +
		strings.Repeat("a", 2<<20) + `"}`
	t.Run("content-length", func(t *testing.T) {
		b := setup(t)
		if w, _ := b.do(t, req{body: big}); w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", w.Code)
		}
	})
	t.Run("chunked without length", func(t *testing.T) {
		b := setup(t)
		r := httptest.NewRequest(http.MethodPost, "/hooks/partners/acme", io.MultiReader(strings.NewReader(big)))
		r.ContentLength = -1
		r.Header.Set(HeaderID, "msg_big")
		r.Header.Set(HeaderTimestamp, strconv.FormatInt(t0.Unix(), 10))
		r.Header.Set(HeaderSignature, Sign(keyNew, "msg_big", t0.Unix(), []byte(big)))
		w := httptest.NewRecorder()
		b.srv.ServeHTTP(w, r)
		if w.Code != http.StatusRequestEntityTooLarge || len(b.sink.all()) != 0 {
			t.Fatalf("status %d, want 413", w.Code)
		}
	})
}

func TestSchemaErrors(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		fields []string
	}{
		{"not json", `{"type":`, []string{""}},
		{"array", `[1]`, []string{""}},
		{"missing required", `{}`, []string{"id", "occurred_at", "type"}},
		{"bad values", `{"type":"feedback.deleted","id":"a b","occurred_at":"yesterday","severity_hint":"P1",
			"reporter":{"email":"not-an-address","name":7,"phone":"1"},"url":"ftp://x","metadata":[1],"titel":"x"}`,
			[]string{"titel", "reporter.email", "reporter.name", "reporter.phone", "metadata", "type", "id", "severity_hint", "url", "occurred_at"}},
		{"comment without parent", `{"type":"feedback.comment","id":"c1","occurred_at":"2026-03-02T09:58:00Z"}`, []string{"parent_id", "body"}},
		{"created without text", `{"type":"feedback.created","id":"c1","occurred_at":"2026-03-02T09:58:00Z"}`, []string{"title"}},
		{"wrong types", `{"type":1,"id":true,"title":[],"occurred_at":5,"reporter":"me"}`, []string{"type", "id", "title", "occurred_at", "reporter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t)
			w, _ := b.do(t, req{body: tt.body})
			if w.Code != 400 {
				t.Fatalf("status %d, want 400: %s", w.Code, w.Body)
			}
			var se SchemaError
			if err := json.Unmarshal(w.Body.Bytes(), &se); err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, fe := range se.Errors {
				got[fe.Field] = true
				if fe.Message == "" {
					t.Errorf("field %q without message", fe.Field)
				}
			}
			for _, f := range tt.fields {
				if !got[f] {
					t.Errorf("no error for field %q in %s", f, w.Body)
				}
			}
			if len(b.sink.all()) != 0 {
				t.Error("invalid event stored")
			}
		})
	}
}

func TestPartnerFromBarePath(t *testing.T) {
	b := setup(t)
	// Mounted without a pattern: the partner is the last path segment.
	b.srv = http.StripPrefix("", b.conn.WebhookHandler(b.sink))
	if w, _ := b.do(t, req{body: validEvent}); w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if r := b.sink.all(); len(r) != 1 || r[0].Meta["partner"] != "acme" {
		t.Fatalf("records %+v", r)
	}
}

func TestNewRejectsBadSecretsWithoutShowingThem(t *testing.T) {
	t.Setenv("BAD_WHSEC", "whsec_c2hvcnQ=") // "short"
	t.Setenv("NOT_B64", "whsec_***notbase64***")
	cfg := &config.Config{Partners: []config.Partner{
		{ID: "acme", WebhookSecretsEnv: []string{"BAD_WHSEC", "NOT_B64", "UNSET_WHSEC_VAR"}},
	}}
	_, err := New(config.Source{Name: "partners", Kind: "webhook"}, connectors.Env{Config: cfg})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"partners[0].webhook_secrets_env[0]", "BAD_WHSEC", "NOT_B64", "UNSET_WHSEC_VAR", "24–64 bytes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	for _, secret := range []string{"c2hvcnQ", "notbase64"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error shows the secret: %q", msg)
		}
	}
}

func TestPollReturnsCursorUnchanged(t *testing.T) {
	b := setup(t)
	cur := feedback.Cursor{Source: "partners", Value: "x"}
	res, err := b.conn.Poll(context.Background(), cur)
	if err != nil || len(res.Records) != 0 || res.Next != cur {
		t.Fatalf("poll = %+v, %v", res, err)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	b := setup(t)
	w := httptest.NewRecorder()
	b.conn.WebhookHandler(b.sink).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/hooks/partners/acme", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("status %d", w.Code)
	}
}

func ExampleSign() {
	key := bytes.Repeat([]byte{7}, 32)
	fmt.Println(Sign(key, "msg_1", 1700000000, []byte(`{"type":"feedback.created"}`)))
	// Output: v1,R5N6E0u3nBxWepU4tNep6eHKQD6HlIiZkYHR5DVjpuY=
}

// TestSpecVector checks the example of the Standard Webhooks reference libraries.
func TestSpecVector(t *testing.T) {
	key, err := ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	const want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	body := []byte(`{"test": 2432232314}`)
	if got := Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if err := VerifySignature([][]byte{key}, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body, "v1,Zm9v "+want); err != nil {
		t.Fatal(err)
	}
}
