package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestPilotRunsTheLoopAndIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, dir, "pilot")
	if code != 0 {
		t.Fatalf("pilot exit %d:\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"mail      imported 1 file(s): read 60, new 60",
		"quarantined 2", // the auto-reply and the bounce
		"items: 159 new",
		"tickets would be created",
		"automatic clustering: 159 items (0 missing)",
		"after simulated review: 159 items (0 missing)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pilot output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"pilot.db", "digest.md", "digest.html", "decisions.md", "data/pilot.yaml"} {
		if st, err := os.Stat(filepath.Join(dir, "pilot-out", f)); err != nil || st.Size() == 0 {
			t.Errorf("pilot-out/%s missing or empty: %v", f, err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(dir, "pilot-out", "digest.html"))
	if !strings.Contains(string(html), "<svg") || strings.Contains(string(html), "<script") {
		t.Error("digest.html must embed an SVG chart and no script")
	}
	// Precision of the reviewed clustering must stay high; the exact figures are in the
	// closing note, this guards against regressions that merge unrelated feedback.
	m := regexp.MustCompile(`after simulated review: .*pairwise P ([0-9.]+) R ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil || m[1] < "0.90" || m[2] < "0.50" {
		t.Errorf("reviewed clustering too weak: %v", m)
	}
	decisions := regexp.MustCompile(`\((\d+) decisions\)`).FindStringSubmatch(out)

	code, out2, errOut := runCLI(t, "", "pilot")
	if code != 0 {
		t.Fatalf("second pilot exit %d: %s", code, errOut)
	}
	for _, want := range []string{"new 0, duplicate 60", "items: 0 new", "merged 0 clusters", "rules auto-accepted 0 clusters"} {
		if !strings.Contains(out2, want) {
			t.Errorf("second run not idempotent, lacks %q:\n%s", want, out2)
		}
	}
	decisions2 := regexp.MustCompile(`\((\d+) decisions\)`).FindStringSubmatch(out2)
	if decisions == nil || decisions2 == nil || decisions[1] != decisions2[1] {
		t.Errorf("decision count changed on the second run: %v → %v", decisions, decisions2)
	}
	// The pilot's database is a normal one: the other commands work on it.
	code, out, _ = runCLI(t, "", "--config", "pilot-out/data/pilot.yaml", "clusters", "list", "--limit", "3")
	if code != 0 || strings.Count(out, "\n") != 4 {
		t.Errorf("clusters list on the pilot db: %d %s", code, out)
	}
	// Its ticket target is in the copied config, plan-only: a dry run plans the
	// tickets, and a real sync sends nothing and leaves them pending (not dead).
	code, out, errOut = runCLI(t, "", "--config", "pilot-out/data/pilot.yaml", "sync", "--once", "--dry-run")
	if code != 0 || !strings.Contains(out, "would create jira ticket in FB") {
		t.Errorf("sync --once --dry-run on the pilot config: %d\n%s\n%s", code, out, errOut)
	}
	// Cluster severities map to the target's Jira priorities: every planned ticket
	// carries one.
	if !regexp.MustCompile(`priority=(Highest|High|Medium|Low)\n`).MatchString(out) || strings.Contains(out, "priority=-") {
		t.Errorf("planned tickets without a priority from the severity:\n%s", out)
	}
	code, out, errOut = runCLI(t, "", "--config", "pilot-out/data/pilot.yaml", "sync", "--once")
	if code != 0 || !strings.Contains(out, "0 delivered, 0 retrying, 0 dead") {
		t.Errorf("sync --once on the pilot config: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "--config", "pilot-out/data/pilot.yaml", "outbox", "list", "--status", "dead")
	if code != 0 || strings.Contains(out, "ticket.create") {
		t.Errorf("dead tickets after a sync of the pilot config: %d\n%s", code, out)
	}
}
