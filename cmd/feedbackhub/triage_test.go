package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

func TestDecideDecisionsAndDigest(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, dir, "migrate"); code != 0 {
		t.Fatal(errOut)
	}
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "feedbackhub.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.CreateCluster(context.Background(), feedback.Cluster{Title: "Invoice charged twice", Category: feedback.CategoryBilling, FirstSeen: time.Now()})
	st.Close()
	if err != nil || id != 1 {
		t.Fatalf("cluster %d: %v", id, err)
	}
	if code, _, errOut := runCLI(t, "", "decide", "accept", "cluster:1", "--actor", "ana"); code != 1 || !strings.Contains(errOut, "reason required") {
		t.Fatalf("accept without reason: %d %q", code, errOut)
	}
	code, out, errOut := runCLI(t, "", "decide", "accept", "cluster:1", "--actor", "ana", "--reason", "three partners hit it")
	if code != 0 || !strings.Contains(out, "accept cluster:1: new → accepted") {
		t.Fatalf("accept: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "", "decide", "defer", "cluster:1", "--actor", "ana", "--reason", "later")
	if code != 1 || !strings.Contains(errOut, "invalid transition") || !strings.Contains(errOut, "in_progress") {
		t.Fatalf("defer after accept: %d %q", code, errOut)
	}
	if code, _, errOut = runCLI(t, "", "decide", "severity", "1", "--actor", "ana", "--reason", "outage", "--value", "critical"); code != 0 {
		t.Fatalf("severity: %q", errOut)
	}
	code, out, _ = runCLI(t, "", "decisions", "list", "--json", "--since", "1h")
	var ds []feedback.Decision
	if code != 0 || json.Unmarshal([]byte(out), &ds) != nil || len(ds) != 2 {
		t.Fatalf("decisions list: %d %q", code, out)
	}
	if ds[0].Actor != "ana" || ds[0].Reason != "three partners hit it" || ds[1].After != "critical" {
		t.Fatalf("decisions = %+v", ds)
	}
	code, out, _ = runCLI(t, "", "decisions", "export", "--format", "md")
	if code != 0 || !strings.Contains(out, "three partners hit it") {
		t.Fatalf("export: %q", out)
	}
	html := filepath.Join(dir, "digest.html")
	if code, _, errOut = runCLI(t, "", "digest", "--format", "html", "--out", html); code != 0 {
		t.Fatalf("digest: %q", errOut)
	}
	code, out, _ = runCLI(t, "", "digest", "--since", "2d")
	if code != 0 || !strings.Contains(out, "three partners hit it") {
		t.Fatalf("digest md lacks the decision: %q", out)
	}
	if code, _, _ = runCLI(t, "", "digest", "--since", "soon"); code != 1 {
		t.Fatal("bad --since accepted")
	}
}
