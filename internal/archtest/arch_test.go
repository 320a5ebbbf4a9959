package archtest

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/feedbackhub/feedbackhub"

// allowed maps a package (by path below the module; a trailing "/" matches every
// package under that folder) to the project packages it may import directly. The
// flow is cmd → server → pipeline → sync, triage → rules, normalize, connectors →
// store → feedback; config, clock and migrations are leaves.
var allowed = []struct {
	pkg   string
	may   []string
	label string
}{
	{"feedback", nil, "domain types import none of our packages"},
	{"clock", nil, "leaf"},
	{"migrations", nil, "leaf"},
	{"internal/archtest", nil, "leaf"},
	{"internal/pilotgen", nil, "generator of the bundled pilot data"},
	{"internal/procstat", nil, "leaf: process statistics for measurements"},
	{"config", []string{"feedback"}, ""},
	{"store", []string{"feedback", "migrations"}, ""},
	{"store/storetest", []string{"feedback", "store"}, ""},
	{"connectors", []string{"feedback", "config", "clock"}, ""},
	{"connectors/mailparse", []string{"feedback"}, ""},
	{"connectors/file", []string{"feedback", "config", "clock", "connectors", "connectors/mailparse", "connectors/webhook", "connectors/jira"}, "imports reuse the webhook event schema and Jira's text conversion"},
	{"connectors/", []string{"feedback", "config", "clock", "connectors", "connectors/mailparse", "normalize"}, ""},
	{"normalize", []string{"feedback", "internal/procstat"}, "procstat only in benchmarks"},
	{"normalize/", []string{"feedback", "normalize", "normalize/", "internal/procstat"}, ""},
	{"rules", []string{"feedback"}, ""},
	{"triage", []string{"feedback", "rules", "clock", "config", "store"}, ""},
	{"sync", []string{"feedback", "config", "clock", "store", "connectors", "connectors/", "rules", "triage"}, ""},
	{"pipeline", []string{"feedback", "config", "clock", "store", "connectors", "connectors/", "normalize", "normalize/", "rules", "triage", "sync"}, ""},
	{"server", []string{"feedback", "config", "clock", "store", "connectors", "connectors/", "normalize", "rules", "triage", "sync", "pipeline"}, ""},
	{"configs", nil, "data"},
	{"cmd/", []string{"*"}, "commands may import everything"},
}

func rel(p string) (string, bool) {
	if p == module {
		return "", true
	}
	r, ok := strings.CutPrefix(p, module+"/")
	return r, ok
}

func match(rule, pkg string) bool {
	if strings.HasSuffix(rule, "/") {
		return strings.HasPrefix(pkg, rule)
	}
	return rule == pkg
}

func ruleFor(pkg string) ([]string, bool) {
	// Exact rules win over folder rules.
	for _, a := range allowed {
		if !strings.HasSuffix(a.pkg, "/") && a.pkg == pkg {
			return a.may, true
		}
	}
	for _, a := range allowed {
		if strings.HasSuffix(a.pkg, "/") && match(a.pkg, pkg) {
			return a.may, true
		}
	}
	return nil, false
}

func TestDependenciesPointOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, _ := rel(fields[0])
		may, ok := ruleFor(pkg)
		if !ok {
			t.Errorf("package %s has no dependency rule: add it to allowed in %s", pkg, "internal/archtest/arch_test.go")
			continue
		}
		n++
		for _, imp := range fields[1:] {
			dep, ours := rel(imp)
			if !ours {
				continue
			}
			okDep := false
			for _, m := range may {
				if m == "*" || match(m, dep) {
					okDep = true
					break
				}
			}
			if !okDep {
				t.Errorf("%s imports %s, which the dependency rule does not allow", pkg, dep)
			}
		}
	}
	if n < 5 {
		t.Fatalf("checked only %d packages; go list output looks wrong", n)
	}
}

func TestLibcMatchesSQLite(t *testing.T) {
	ver := func(mod string) string {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", mod).Output()
		if err != nil {
			t.Fatalf("go list -m %s: %v", mod, err)
		}
		return strings.TrimSpace(string(out))
	}
	sq := ver("modernc.org/sqlite")
	have := ver("modernc.org/libc")
	graph, err := exec.Command("go", "mod", "graph").Output()
	if err != nil {
		t.Fatalf("go mod graph: %v", err)
	}
	want := ""
	for _, line := range bytes.Split(graph, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) == 2 && f[0] == "modernc.org/sqlite@"+sq && strings.HasPrefix(f[1], "modernc.org/libc@") {
			want = strings.TrimPrefix(f[1], "modernc.org/libc@")
		}
	}
	if want == "" {
		t.Fatalf("modernc.org/sqlite@%s requires no modernc.org/libc in go mod graph", sq)
	}
	if have != want {
		t.Fatalf("modernc.org/libc is %s but modernc.org/sqlite %s requires exactly %s (see DEPENDENCIES: goose upgrades raise libc)", have, sq, want)
	}
}

func TestPinnedVersions(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{.Version}}",
		"github.com/andygrunwald/go-jira", "github.com/emersion/go-imap/v2", "github.com/pressly/goose/v3", "github.com/google/go-github/v60").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	want := map[string]string{
		"github.com/andygrunwald/go-jira": "v1.17.0",
		"github.com/emersion/go-imap/v2":  "v2.0.0-beta.8",
		"github.com/pressly/goose/v3":     "v3.29.0",
		"github.com/google/go-github/v60": "v60.0.0",
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && want[f[0]] != f[1] {
			t.Errorf("%s is %s, pinned to %s", f[0], f[1], want[f[0]])
		}
	}
}
