package github

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
)

func sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// deliver sends one webhook to the connector's handler, signed or not.
func (h *harness) deliver(t *testing.T, event, id string, body []byte, signed bool, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/hooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	if id != "" {
		req.Header.Set("X-GitHub-Delivery", id)
	}
	if signed {
		req.Header.Set("X-Hub-Signature-256", sign(body, testWebhookSecret))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.conn.WebhookHandler(h.store).ServeHTTP(rec, req)
	return rec
}

// edit changes a payload: f gets it decoded.
func edit(t *testing.T, body []byte, f func(p map[string]any)) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	f(p)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	opened := loadPayload(t, "issues/opened.json")
	tests := []struct {
		name   string
		event  string
		id     string
		body   func(t *testing.T) []byte
		signed bool
		hdr    []string
		status int
		stored int // records stored
	}{
		{"ping", "ping", "p-1", func(t *testing.T) []byte { return loadPayload(t, "ping.json") }, true, nil, http.StatusOK, 0},
		{"issues opened", "issues", "d-1", func(*testing.T) []byte { return opened }, true, nil, http.StatusOK, 1},
		{"issues edited", "issues", "d-2", func(t *testing.T) []byte { return loadPayload(t, "issues/edited.json") }, true, nil, http.StatusOK, 1},
		{"issues labeled", "issues", "d-3", func(t *testing.T) []byte { return loadPayload(t, "issues/labeled.json") }, true, nil, http.StatusOK, 1},
		{"comment created", "issue_comment", "d-4", func(t *testing.T) []byte { return loadPayload(t, "issue_comment/created.json") }, true, nil, http.StatusOK, 2},
		{"bad signature", "issues", "d-5", func(*testing.T) []byte { return opened }, false, []string{"X-Hub-Signature-256", sign(opened, "wrong secret")}, http.StatusUnauthorized, 0},
		{"signature of other body", "issues", "d-6", func(*testing.T) []byte { return opened }, false, []string{"X-Hub-Signature-256", sign([]byte("{}"), testWebhookSecret)}, http.StatusUnauthorized, 0},
		{"sha1 only", "issues", "d-7", func(*testing.T) []byte { return opened }, false, []string{"X-Hub-Signature", "sha1=0000"}, http.StatusUnauthorized, 0},
		{"missing signature", "issues", "d-8", func(*testing.T) []byte { return opened }, false, nil, http.StatusUnauthorized, 0},
		{"missing delivery id", "issues", "", func(*testing.T) []byte { return opened }, true, nil, http.StatusBadRequest, 0},
		{"unknown action", "issues", "d-9", func(t *testing.T) []byte {
			return edit(t, opened, func(p map[string]any) { p["action"] = "typed" })
		}, true, nil, http.StatusAccepted, 0},
		{"unknown event", "star", "d-10", func(*testing.T) []byte { return []byte(`{"action":"created"}`) }, true, nil, http.StatusAccepted, 0},
		{"comment on a pull request", "issue_comment", "d-11", func(t *testing.T) []byte {
			return edit(t, loadPayload(t, "issue_comment/created.json"), func(p map[string]any) {
				p["issue"].(map[string]any)["pull_request"] = map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"}
			})
		}, true, nil, http.StatusAccepted, 0},
		{"malformed JSON", "issues", "d-12", func(*testing.T) []byte { return []byte(`{"action":"opened","issue":`) }, true, nil, http.StatusBadRequest, 0},
		{"oversize body", "issues", "d-13", func(*testing.T) []byte {
			return append(append([]byte(`{"action":"opened","pad":"`), bytes.Repeat([]byte("x"), maxWebhookBytes)...), `"}`...)
		}, true, nil, http.StatusRequestEntityTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			rec := h.deliver(t, tt.event, tt.id, tt.body(t), tt.signed, tt.hdr...)
			if rec.Code != tt.status {
				t.Errorf("status = %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), tt.status)
			}
			if got := len(h.store.stored()); got != tt.stored {
				t.Errorf("stored %d records, want %d", got, tt.stored)
			}
			if tt.stored == 0 && tt.status != http.StatusOK && h.store.calls != 0 {
				t.Errorf("sink called %d times for a rejected or ignored delivery", h.store.calls)
			}
		})
	}
}

func TestWebhookRecords(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if rec := h.deliver(t, "issues", "a", loadPayload(t, "issues/opened.json"), true); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if rec := h.deliver(t, "issue_comment", "b", loadPayload(t, "issue_comment/edited.json"), true); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if rec := h.deliver(t, "issue_comment", "c", loadPayload(t, "issue_comment/deleted.json"), true); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	got := h.store.stored()
	// opened issue; comment edit (its issue record is new: updated later); the
	// deleted comment's issue record repeats the edit's revision and is dropped.
	if len(got) != 4 {
		for _, r := range got {
			t.Logf("%s %s %s", r.Kind, r.ExternalID, r.Revision)
		}
		t.Fatalf("stored %d records, want 4", len(got))
	}
	iss := got[0]
	if iss.ExternalID != "codertocat/hello-world#1" || iss.Title != "Spelling error in the README file" || iss.Author != "Codertocat" ||
		iss.Revision != "2019-05-15T15:20:18Z" || iss.State != "open" || len(iss.Labels) != 1 || iss.Meta["org"] != "Codertocat" {
		t.Errorf("issue = %+v", iss)
	}
	edited, deleted := got[2], got[3]
	if edited.Kind != feedback.KindComment || edited.ExternalID != "codertocat/hello-world#issuecomment-492700400" ||
		edited.ParentExternalID != "codertocat/hello-world#1" || edited.Revision != "2019-05-15T15:20:22Z" ||
		edited.Body != "You are totally right! I'll get this fixed today." || edited.Deleted {
		t.Errorf("edited comment = %+v", edited)
	}
	if deleted.ExternalID != edited.ExternalID || !deleted.Deleted || deleted.Revision != "deleted@2019-05-15T15:20:22Z" {
		t.Errorf("tombstone = %+v", deleted)
	}
}

func TestWebhookDeletedAndTransferredIssue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	opened := loadPayload(t, "issues/opened.json")
	del := edit(t, opened, func(p map[string]any) { p["action"] = "deleted" })
	moved := edit(t, opened, func(p map[string]any) {
		p["action"] = "transferred"
		p["changes"] = map[string]any{
			"new_issue":      map[string]any{"number": 7, "html_url": "https://github.com/Codertocat/Elsewhere/issues/7"},
			"new_repository": map[string]any{"full_name": "Codertocat/Elsewhere"},
		}
	})
	for i, b := range [][]byte{opened, del, moved} {
		if rec := h.deliver(t, "issues", string(rune('a'+i)), b, true); rec.Code != http.StatusOK {
			t.Fatalf("delivery %d: status %d", i, rec.Code)
		}
	}
	got := h.store.stored()
	if len(got) != 3 {
		t.Fatalf("stored %d, want 3", len(got))
	}
	if !got[1].Deleted || got[1].Revision != "deleted@2019-05-15T15:20:18Z" || got[1].ExternalID != got[0].ExternalID {
		t.Errorf("tombstone = %+v", got[1])
	}
	if got[2].URL != "https://github.com/Codertocat/Elsewhere/issues/7" || got[2].Meta["transferred_to"] != "codertocat/elsewhere#7" ||
		got[2].ExternalID != got[0].ExternalID || got[2].Deleted {
		t.Errorf("transferred = %+v", got[2])
	}
}

func TestWebhookDuplicateAndRedelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := loadPayload(t, "issues/opened.json")
	// The store fails: 500, nothing stored, delivery not marked.
	h.store.failDeliveries = 1
	if rec := h.deliver(t, "issues", "guid-1", body, true); rec.Code != http.StatusInternalServerError {
		t.Fatalf("failing store: status %d", rec.Code)
	}
	if len(h.store.stored()) != 0 {
		t.Fatal("records stored although the store failed")
	}
	// GitHub's redelivery keeps the id: processed now.
	if rec := h.deliver(t, "issues", "guid-1", body, true); rec.Code != http.StatusOK {
		t.Fatalf("redelivery: status %d", rec.Code)
	}
	// A second redelivery is a duplicate: 200, processed once.
	rec := h.deliver(t, "issues", "guid-1", body, true)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "duplicate") {
		t.Fatalf("duplicate: status %d %q", rec.Code, rec.Body.String())
	}
	if got := len(h.store.stored()); got != 1 {
		t.Errorf("stored %d records, want 1", got)
	}
}

func TestWebhookWithoutSecretAcceptsUnsigned(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(g *config.GitHubSource) { g.WebhookSecretFile = "" })
	if rec := h.deliver(t, "issues", "x", loadPayload(t, "issues/opened.json"), false); rec.Code != http.StatusOK {
		t.Errorf("status %d", rec.Code)
	}
	if !strings.Contains(h.logs.String(), "not verified") {
		t.Errorf("no warning about unverified deliveries in logs:\n%s", h.logs.String())
	}
}

func FuzzWebhookRecords(f *testing.F) {
	for _, name := range []string{"issues/opened.json", "issues/edited.json", "issue_comment/created.json", "issue_comment/deleted.json"} {
		f.Add(loadPayload(f, name))
	}
	c := &Connector{name: "gh", clock: clock.NewFake(t0)}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ev := range []string{"issues", "issue_comment"} {
			recs, why, err := c.webhookRecords(ev, body)
			if err != nil || why != "" {
				continue
			}
			for i := range recs {
				if err := recs[i].Validate(); err != nil {
					t.Fatalf("%s: invalid record: %v", ev, err)
				}
			}
		}
	})
}
