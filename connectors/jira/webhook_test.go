package jira

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

const testWebhookSecret = "whsec-jira-test-secret"

// hookSetup returns a connector with a webhook secret (unless unsigned) and its handler
// over a fresh memStore.
func hookSetup(t *testing.T, unsigned bool) (*Connector, *memStore, http.Handler, *fakeJira) {
	t.Helper()
	f := newFakeJira(t, time.UTC)
	t.Setenv("FH_TEST_JIRA_WHSEC", testWebhookSecret)
	c, _ := setup(t, f, t0, func(j *config.JiraSource) {
		if !unsigned {
			j.WebhookSecretEnv = "FH_TEST_JIRA_WHSEC"
		}
	})
	st := newMemStore()
	return c, st, c.WebhookHandler(st), f
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/fixtures/webhooks/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func deliver(h http.Handler, body []byte, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/hooks/jira", bytes.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func signed(body []byte, id string) map[string]string {
	h := map[string]string{SignatureHeader: Sign([]byte(testWebhookSecret), body)}
	if id != "" {
		h[DeliveryHeader] = id
	}
	return h
}

func TestWebhookSignature(t *testing.T) {
	body := fixture(t, "issue/created.json")
	flipped := append([]byte(nil), body...)
	flipped[len(flipped)/2] ^= 1
	tests := []struct {
		name string
		body []byte
		hdr  map[string]string
		want int
	}{
		{"missing", body, map[string]string{DeliveryHeader: "d1"}, http.StatusUnauthorized},
		{"wrong secret", body, map[string]string{SignatureHeader: Sign([]byte("other"), body), DeliveryHeader: "d1"}, http.StatusUnauthorized},
		{"flipped byte", flipped, signed(body, "d1"), http.StatusUnauthorized},
		{"sha256-prefix missing", body, map[string]string{SignatureHeader: strings.TrimPrefix(Sign([]byte(testWebhookSecret), body), "sha256="), DeliveryHeader: "d1"}, http.StatusUnauthorized},
		{"not hex", body, map[string]string{SignatureHeader: "sha256=zz", DeliveryHeader: "d1"}, http.StatusUnauthorized},
		{"bad signature before bad JSON", []byte("{not json"), map[string]string{SignatureHeader: "sha256=00"}, http.StatusUnauthorized},
		{"valid", body, signed(body, "d1"), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, st, h, _ := hookSetup(t, false)
			w := deliver(h, tt.body, tt.hdr)
			if w.Code != tt.want {
				t.Fatalf("status = %d (%s), want %d", w.Code, w.Body, tt.want)
			}
			stored := st.count("", "")
			if tt.want == http.StatusUnauthorized && (stored != 0 || len(st.deliveries) != 0) {
				t.Errorf("rejected delivery stored %d records", stored)
			}
			if tt.want == http.StatusOK && stored != 1 {
				t.Errorf("stored %d records, want 1", stored)
			}
		})
	}
}

func TestWebhookSameIdentifierAppliedOnce(t *testing.T) {
	_, st, h, _ := hookSetup(t, false)
	body := fixture(t, "issue/updated/commented.json")
	for i := 0; i < 2; i++ {
		hdr := signed(body, "b3f1c0de-0000-4000-8000-000000000001")
		if i == 1 {
			hdr["X-Atlassian-Webhook-Retry"] = "1"
		}
		if w := deliver(h, body, hdr); w.Code != http.StatusOK {
			t.Fatalf("delivery %d: %d %s", i, w.Code, w.Body)
		}
	}
	if len(st.deliveries) != 1 || st.count(feedback.KindIssue, "BBCOM-956") != 1 || st.count(feedback.KindComment, "comment:31023") != 1 {
		t.Errorf("deliveries %d, records %d", len(st.deliveries), st.count("", ""))
	}
}

func TestWebhookDerivedIDWhenHeaderMissing(t *testing.T) {
	_, st, h, _ := hookSetup(t, false)
	body := fixture(t, "issue/updated/status-changed.json")
	for i := 0; i < 2; i++ {
		if w := deliver(h, body, signed(body, "")); w.Code != http.StatusOK {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	if len(st.deliveries) != 1 {
		t.Fatalf("deliveries = %v, want one derived id", st.deliveries)
	}
	for id := range st.deliveries {
		if !strings.HasPrefix(id, "derived:") {
			t.Errorf("id %q", id)
		}
	}
}

func TestWebhookUnknownEventAccepted(t *testing.T) {
	_, st, h, _ := hookSetup(t, false)
	body := []byte(`{"timestamp":1700000000000,"webhookEvent":"sprint_started","sprint":{"id":1}}`)
	w := deliver(h, body, signed(body, "u1"))
	if w.Code != http.StatusAccepted || st.count("", "") != 0 || len(st.deliveries) != 0 {
		t.Fatalf("status %d, stored %d", w.Code, st.count("", ""))
	}
}

func TestWebhookEvents(t *testing.T) {
	tests := []struct {
		fixture string
		want    []string // kind/external id/parent
	}{
		{"issue/created.json", []string{"issue/BBCOM-1398/"}},
		{"issue/updated/commented.json", []string{"issue/BBCOM-956/", "comment/comment:31023/BBCOM-956"}},
		{"issue/updated/description-update.json", []string{"issue/INDEV-131/"}},
		{"issue/updated/status-changed.json", []string{"issue/INDEV-6/"}},
		{"comment/updated.json", []string{"comment/comment:10757/INDEV-28"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			c, _, _, _ := hookSetup(t, false)
			var got []string
			sink := sinkFunc(func(recs []feedback.Record) {
				for _, r := range recs {
					got = append(got, string(r.Kind)+"/"+r.ExternalID+"/"+r.ParentExternalID)
					if r.Revision == "" || !strings.HasSuffix(r.Revision, "Z") || len(r.Raw) == 0 {
						t.Errorf("record %s: revision %q raw %d", r.ExternalID, r.Revision, len(r.Raw))
					}
				}
			})
			body := fixture(t, tt.fixture)
			if w := deliver(c.WebhookHandler(sink), body, signed(body, "id-"+tt.fixture)); w.Code != http.StatusOK {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("records %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWebhookStatusChangeRecord(t *testing.T) {
	_, st, h, _ := hookSetup(t, false)
	body := fixture(t, "issue/updated/status-changed.json")
	deliver(h, body, signed(body, "s1"))
	for _, r := range st.recs {
		if r.State != "In Progress" {
			t.Errorf("state = %q", r.State)
		}
		if r.Revision != "2019-01-30T12:51:33.199Z" {
			t.Errorf("revision = %q, want the UTC form of 2019-01-30T15:51:33.199+0300", r.Revision)
		}
	}
}

func TestWebhookCommentWithoutIssueLooksUpKey(t *testing.T) {
	c, st, h, f := hookSetup(t, false)
	f.add("BBCOM-956", t0, 0).ID = "26313"
	body := fixture(t, "comment/created.json") // has no issue, only comment.self …/issue/26313/…
	if w := deliver(h, body, signed(body, "c1")); w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if st.count(feedback.KindComment, "comment:31039") != 1 {
		t.Fatalf("comment not stored")
	}
	for _, r := range st.recs {
		if r.ParentExternalID != "BBCOM-956" || r.Author != "ii_ivanov" || r.Body != "12345" {
			t.Errorf("record = %+v", r)
		}
	}
	if got := c.pollHTTP.TakeStats().Requests; got != 0 {
		t.Errorf("webhook look-up counted against polls: %d", got)
	}
}

func TestWebhookDeletesAreTombstones(t *testing.T) {
	_, st, h, _ := hookSetup(t, false)
	issue := fixture(t, "issue/created.json")
	del := bytes.Replace(issue, []byte(`"jira:issue_created"`), []byte(`"jira:issue_deleted"`), 1)
	del = bytes.Replace(del, []byte(`"timestamp": "2018-1-11 13:08:04,225"`), []byte(`"timestamp": 1700000000000`), 1)
	comment := fixture(t, "comment/updated.json")
	cdel := bytes.Replace(comment, []byte(`"comment_updated"`), []byte(`"comment_deleted"`), 1)
	for i, b := range [][]byte{issue, del, comment, cdel} {
		if w := deliver(h, b, signed(b, string(rune('a'+i)))); w.Code != http.StatusOK {
			t.Fatalf("delivery %d: %d %s", i, w.Code, w.Body)
		}
	}
	var tomb []feedback.Record
	for _, r := range st.recs {
		if r.Deleted {
			tomb = append(tomb, r)
		}
	}
	if len(tomb) != 2 || st.count("", "BBCOM-1398") != 2 || st.count("", "comment:10757") != 2 {
		t.Fatalf("tombstones %d; records %v", len(tomb), st.order)
	}
	for _, r := range tomb {
		if !strings.HasPrefix(r.Revision, "deleted@") {
			t.Errorf("tombstone revision %q", r.Revision)
		}
		if r.ExternalID == "BBCOM-1398" && r.Revision != "deleted@2023-11-14T22:13:20.000Z" {
			t.Errorf("issue tombstone revision %q", r.Revision)
		}
	}
}

func TestWebhookSinkErrorIs500AndRetryIsApplied(t *testing.T) {
	_, st, h, _ := hookSetup(t, false)
	body := fixture(t, "issue/created.json")
	st.fail = errors.New("database is locked")
	if w := deliver(h, body, signed(body, "r1")); w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", w.Code)
	}
	st.fail = nil
	if w := deliver(h, body, signed(body, "r1")); w.Code != http.StatusOK || st.count("", "") != 1 {
		t.Fatalf("retry: status %d, stored %d", w.Code, st.count("", ""))
	}
}

func TestWebhookLimitsAndMethods(t *testing.T) {
	c, st, h, _ := hookSetup(t, false)
	c.set.maxBodyBytes = 1024
	big := bytes.Repeat([]byte("x"), 2048)
	if w := deliver(h, big, signed(big, "big")); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("big body: %d", w.Code)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/hooks/jira", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", w.Code)
	}
	bad := []byte(`{"webhookEvent":"jira:issue_updated"}`)
	if w := deliver(h, bad, signed(bad, "x")); w.Code != http.StatusBadRequest {
		t.Errorf("issue event without issue: %d", w.Code)
	}
	if st.count("", "") != 0 {
		t.Errorf("stored %d", st.count("", ""))
	}
}

func TestWebhookUnsignedWhenNoSecret(t *testing.T) {
	_, st, h, _ := hookSetup(t, true)
	body := fixture(t, "issue/created.json")
	if w := deliver(h, body, map[string]string{DeliveryHeader: "n1"}); w.Code != http.StatusOK || st.count("", "") != 1 {
		t.Fatalf("status %d stored %d", w.Code, st.count("", ""))
	}
}

// sinkFunc collects records without deduplication.
type sinkFunc func([]feedback.Record)

func (f sinkFunc) Deliver(_ context.Context, _, _ string, recs []feedback.Record) (bool, error) {
	f(recs)
	return false, nil
}

// FuzzWebhookBody feeds arbitrary bodies to the parser behind a valid signature.
func FuzzWebhookBody(f *testing.F) {
	for _, name := range []string{"issue/created.json", "comment/created.json", "issue/updated/commented.json"} {
		b, err := os.ReadFile("testdata/fixtures/webhooks/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"webhookEvent":"comment_deleted","comment":{"id":"1"}}`))
	f.Add([]byte(`{"webhookEvent":"comment_created","comment":{"id":"1","self":"x/issue/9/comment/1","created":"2020-01-01T00:00:00.000+0000"}}`))
	// Look-ups go to a transport that always fails.
	src := config.Source{Name: "jira", Kind: config.KindJira, Jira: &config.JiraSource{
		BaseURL: "http://jira.invalid", JQL: "project = FB", APIVersion: 2, PollInterval: config.Duration(time.Minute),
	}}
	offline, err := NewConnector(src, connectors.Env{Config: config.Default(f.TempDir()), Clock: clock.NewFake(t0),
		HTTPClient: &http.Client{Transport: failingTransport{}}})
	if err != nil {
		f.Fatal(err)
	}
	offline.set.webhookSecret = []byte("k")
	f.Fuzz(func(t *testing.T, body []byte) {
		h := offline.WebhookHandler(sinkFunc(func(recs []feedback.Record) {
			for _, r := range recs {
				if err := r.Validate(); err != nil {
					t.Fatalf("invalid record from %q: %v", body, err)
				}
			}
		}))
		req := httptest.NewRequest(http.MethodPost, "/hooks/jira", bytes.NewReader(body))
		req.Header.Set(SignatureHeader, Sign([]byte("k"), body))
		h.ServeHTTP(httptest.NewRecorder(), req)
	})
}

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("offline")
}
