package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeGitHub serves one repository with one issue and no comments, with ETags.
func fakeGitHub(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var requests atomic.Int32
	issue := map[string]any{
		"id": 1001, "number": 7, "title": "Helm upgrade fails with immutable field", "body": "spec.selector is immutable",
		"state": "open", "html_url": "https://github.example/acme/widgets/issues/7",
		"url":  "https://api.github.example/repos/acme/widgets/issues/7",
		"user": map[string]any{"login": "nw-ops"}, "labels": []any{map[string]any{"name": "bug"}},
		"created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T11:00:00Z",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get("Authorization") != "token test-token-123456" && r.Header.Get("Authorization") != "Bearer test-token-123456" {
			w.WriteHeader(401)
			return
		}
		var body any
		switch {
		case strings.HasSuffix(r.URL.Path, "/repos/acme/widgets/issues"):
			body = []any{issue}
		case strings.HasSuffix(r.URL.Path, "/repos/acme/widgets/issues/comments"):
			body = []any{}
		default:
			http.NotFound(w, r)
			return
		}
		b, _ := json.Marshal(body)
		etag := fmt.Sprintf(`"%x"`, len(b))
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

func TestSyncOnceGitHubThenItemsList(t *testing.T) {
	srv, requests := fakeGitHub(t)
	dir := t.TempDir()
	t.Setenv("FH_TEST_GH_TOKEN", "test-token-123456")
	writeFile(t, filepath.Join(dir, "feedbackhub.yaml"), fmt.Sprintf(`
sources:
  - name: gh
    kind: github
    github:
      base_url: %s/
      repos: [acme/widgets]
      token_env: FH_TEST_GH_TOKEN
partners:
  - id: northwind
    github_logins: [nw-ops]
`, srv.URL))
	code, out, errOut := runCLI(t, dir, "sync", "--once")
	if code != 0 {
		t.Fatalf("sync exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(out, "gh") || !strings.Contains(out, "fetched=1 new=1 updated=0 requests=2 not-modified=0") {
		t.Fatalf("first sync line = %q", out)
	}
	code, out, _ = runCLI(t, "", "sync", "--once", "--source", "gh")
	if code != 0 || !strings.Contains(out, "fetched=0 new=0 updated=0 requests=2 not-modified=2") {
		t.Fatalf("second sync line = %q", out)
	}
	code, out, _ = runCLI(t, "", "status", "--json")
	if code != 0 || !strings.Contains(out, `"gh"`) || strings.Contains(out, "never") {
		t.Fatalf("status after sync --once: %d %s", code, out)
	}
	if requests.Load() != 4 {
		t.Fatalf("requests = %d, want 4", requests.Load())
	}
	code, out, _ = runCLI(t, "", "items", "list", "--json")
	var items []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &items) != nil || len(items) != 1 {
		t.Fatalf("items: %d %s", code, out)
	}
	it := items[0]
	for _, k := range []string{"id", "source", "kind", "external_id", "url", "title", "author", "partner", "status", "category", "severity", "owner", "labels", "cluster_id", "created_at", "updated_at"} {
		if _, ok := it[k]; !ok {
			t.Errorf("item JSON lacks %q: %v", k, it)
		}
	}
	if it["partner"] != "northwind" || it["source"] != "gh" || it["title"] != "Helm upgrade fails with immutable field" {
		t.Fatalf("item = %v", it)
	}
	// A wrong token is a configuration error naming the source, with no token in it.
	t.Setenv("FH_TEST_GH_TOKEN", "wrong-token-999999")
	code, out, errOut = runCLI(t, "", "sync", "--once")
	if code != 1 || !strings.Contains(errOut, "source gh") || strings.Contains(errOut+out, "wrong-token-999999") {
		t.Fatalf("bad token: exit %d out=%q err=%q", code, out, errOut)
	}
}
