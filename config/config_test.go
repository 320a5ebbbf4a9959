package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadGood(t *testing.T) {
	c, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 5 {
		t.Fatalf("sources = %d", len(c.Sources))
	}
	gh := c.Sources[0].GitHub
	if gh.PollInterval.D() != 2*time.Minute || gh.Repos[0] != "acme/widgets" {
		t.Errorf("github = %+v", gh)
	}
	jira := c.Sources[1].Jira
	if jira.PollInterval.D() != DefaultPollInterval || jira.APIVersion != 3 {
		t.Errorf("jira defaults not applied: %+v", jira)
	}
	im := c.Sources[2].IMAP
	if im.Mailbox != "INBOX" || !*im.IDLE || im.MaxMessageBytes != DefaultMaxMessageBytes {
		t.Errorf("imap defaults not applied: %+v", im)
	}
	if w := c.Sources[3].Webhook; w == nil || w.MaxBodyBytes != 1<<20 || w.Tolerance.D() != 5*time.Minute {
		t.Errorf("webhook defaults not applied: %+v", w)
	}
	if got := c.SLA.Policies[0].WarnAt; len(got) != 2 {
		t.Errorf("warn_at default = %v", got)
	}
	abs, _ := filepath.Abs("testdata")
	if c.Dir() != abs || c.Path("x.db") != filepath.Join(abs, "x.db") {
		t.Errorf("dir = %q", c.Dir())
	}
	if s, ok := c.Source("jira"); !ok || s.Kind != KindJira {
		t.Errorf("Source(jira) = %+v %v", s, ok)
	}
}

func TestDatabaseURLFromEnv(t *testing.T) {
	t.Setenv(EnvDatabaseURL, "postgres://db/hub")
	c, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.URL != "postgres://db/hub" {
		t.Fatalf("url = %q", c.Database.URL)
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in one problem line
	}{
		{"misspelled key", "database:\n  url: sqlite:x.db\nservr:\n  addr: :8080\n",
			[]string{`f.yaml:3:1: `, `unknown key "servr"`}},
		{"nested unknown key", "sources:\n  - name: gh\n    kind: github\n    github:\n      repos: [a/b]\n      pol_interval: 5m\n",
			[]string{`f.yaml:6:7: sources[0].github.pol_interval: unknown key "pol_interval"`}},
		{"wrong type", "server:\n  addr: [1, 2]\n",
			[]string{"f.yaml:2:", "server.addr"}},
		{"bad duration", "sources:\n  - name: gh\n    kind: github\n    github:\n      repos: [a/b]\n      poll_interval: 5 minutes\n",
			[]string{"f.yaml:6:", `bad duration "5 minutes"`}},
		{"unknown kind", "sources:\n  - name: gl\n    kind: gitlab\n",
			[]string{`f.yaml:3:5: sources[0].kind: unknown source kind "gitlab"`}},
		{"duplicate source", "sources:\n  - name: a\n    kind: webhook\n  - name: a\n    kind: webhook\n",
			[]string{`f.yaml:4:5: sources[1].name: duplicate source name "a"`}},
		{"literal secret", "sources:\n  - name: gh\n    kind: github\n    github:\n      repos: [a/b]\n      token: ghp_abc\n",
			[]string{`f.yaml:6:7: sources[0].github.token: literal secrets are not allowed`, "token_env"}},
		{"missing required", "sources:\n  - name: j\n    kind: jira\n    jira:\n      jql: project = FB\n",
			[]string{`f.yaml:4:5: sources[0].jira.base_url: required`}},
		{"bad jira organization field", "sources:\n  - name: j\n    kind: jira\n    jira:\n      base_url: https://acme.atlassian.net\n      jql: project = FB\n      organization_fields: [Organizations]\n",
			[]string{`sources[0].jira.organization_fields[0]: "Organizations" is not a custom field id`}},
		{"missing section", "sources:\n  - name: gh\n    kind: github\n",
			[]string{`sources[0].github: required for a source of kind github`}},
		{"wrong section", "sources:\n  - name: gh\n    kind: webhook\n    jira:\n      jql: x\n",
			[]string{`sources[0].jira: section jira does not belong`}},
		{"tls none off loopback", "sources:\n  - name: m\n    kind: imap\n    imap:\n      addr: mail.example.com:993\n      tls: none\n      username_env: U\n      password_env: P\n",
			[]string{`sources[0].imap.tls: none is only allowed for loopback`}},
		{"bad time zone", "sla:\n  calendars:\n    - name: x\n      timezone: Mars/Olympus\n",
			[]string{`sla.calendars[0].timezone: unknown time zone`}},
		{"syntax error", "database:\n  url: [\n", []string{"f.yaml:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", "/tmp", []byte(tt.yaml))
			var p *Problems
			if !errors.As(err, &p) {
				t.Fatalf("err = %v, want *Problems", err)
			}
			text := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("problems:\n%s\nwant to contain %q", text, w)
				}
			}
		})
	}
}

func TestSeveralProblemsTogether(t *testing.T) {
	_, err := Parse("f.yaml", "/tmp", []byte("sources:\n  - name: a\n    kind: nope\n  - name: B!\n    kind: webhook\n"))
	var p *Problems
	if !errors.As(err, &p) || len(p.List) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
}

func TestEmptyFileGivesDefaults(t *testing.T) {
	c, err := Parse("f.yaml", "/tmp", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.URL != DefaultDatabaseURL || c.Server.Addr != DefaultServerAddr {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "feedbackhub init") {
		t.Fatalf("err = %v", err)
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tok"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default(dir)
	t.Setenv("FH_TEST_TOKEN", "abc")
	if v, err := c.Secret("FH_TEST_TOKEN", ""); err != nil || v != "abc" {
		t.Fatalf("env secret = %q %v", v, err)
	}
	if v, err := c.Secret("", "tok"); err != nil || v != "s3cret" {
		t.Fatalf("file secret = %q %v", v, err)
	}
	_, err := c.Secret("FH_TEST_UNSET_VAR", "")
	if err == nil || !strings.Contains(err.Error(), "FH_TEST_UNSET_VAR") {
		t.Fatalf("unset err = %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "7d": 7 * 24 * time.Hour, "1h30m": 90 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"5 minutes", "-1m", "d", "1.5d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q): want error", in)
		}
	}
}

func TestSLAAndDigestKeys(t *testing.T) {
	good := `sla:
  calendars:
    - name: berlin
      timezone: Europe/Berlin
      hours: {mon: "09:00-17:00"}
  policies:
    - name: partners
      calendar: berlin
      tier_factors: {design-partner: 0.5}
      escalate_after: 30m
      pause_statuses: [deferred]
      pause_labels: [waiting-on-partner, blocked]
      targets:
        high: {first_response: 4h}
    - name: default
      targets:
        low: {resolution: 10d}
notify:
  smtp: {addr: "127.0.0.1:25", from: hub@example.com}
  webhooks:
    - {name: team, url_env: TEAM_HOOK, slack: true}
  digest:
    to: [pm@example.com]
    webhooks: [team]
`
	c, err := Parse("f.yaml", "/tmp", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	p := c.SLA.Policies[0]
	if p.TierFactors["design-partner"] != 0.5 || p.EscalateAfter.D() != 30*time.Minute || len(p.PauseLabels) != 2 {
		t.Errorf("policy = %+v", p)
	}
	d := c.SLA.Policies[1]
	if d.EscalateAfter.D() != DefaultEscalateAfter || d.PauseStatuses[0] != "deferred" || d.PauseLabels[0] != "waiting-on-partner" {
		t.Errorf("defaults not applied: %+v", d)
	}
	if g := c.Notify.Digest; g.Format != "html" || g.Window.D() != 7*24*time.Hour {
		t.Errorf("digest defaults = %+v", g)
	}

	bad := []struct{ yaml, want string }{
		{"sla:\n  policies:\n    - name: p\n      tier_factors: {design-partner: 0}\n", "sla.policies[0].tier_factors.design-partner: 0 must be a positive factor"},
		{"sla:\n  policies:\n    - name: p\n      pause_statuses: [waiting]\n", `sla.policies[0].pause_statuses[0]: unknown cluster status "waiting"`},
		{"notify:\n  digest:\n    format: pdf\n    to: [a@b.c]\n", `notify.digest.format: unknown format "pdf"`},
		{"notify:\n  digest:\n    to: [a@b.c]\n", "notify.digest.to: email delivery needs notify.smtp"},
		{"notify:\n  digest:\n    webhooks: [nope]\n", `notify.digest.webhooks[0]: unknown webhook "nope"`},
		{"notify:\n  digest: {}\n", "notify.digest: needs at least one recipient"},
		{"notify:\n  webhooks:\n    - {name: a, url_env: A}\n    - {name: a, url_env: B}\n", `notify.webhooks[1].name: duplicate webhook name "a"`},
	}
	for _, b := range bad {
		_, err := Parse("f.yaml", "/tmp", []byte(b.yaml))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: err = %v, want %q", b.yaml, err, b.want)
		}
	}
}

func TestSyncKeys(t *testing.T) {
	good := `partners:
  - id: northwind
    webhook_secrets_env: [NW_WHSEC]
    callback_url_env: NW_CALLBACK
sync:
  public_url: https://hub.example.com
  max_attempts: 5
  templates:
    resolved_subject: "Re: {{.Item.Title}}"
    resolved: "Fixed in {{.Ticket.RemoteKey}}"
    update: "{{len .Items}} new reports"
  defaults: {deployment: fb}
  targets:
    - name: fb
      kind: jira
      project: FB
      priorities: {critical: Highest, low: Low}
      components: {deployment: [Deploy, Runtime]}
      authority: {status: remote, severity: hub}
      status_map: {Done: resolved, "In Progress": in_progress}
    - name: gh
      kind: github
      repo: acme/widgets
      priorities: {high: "priority:high"}
      status_map: {closed: resolved}
`
	c, err := Parse("f.yaml", "/tmp", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	fb := c.Sync.Targets[0]
	if fb.Priorities["critical"] != "Highest" || fb.Components["deployment"][1] != "Runtime" || fb.Authority["severity"] != "hub" ||
		fb.StatusMap["In Progress"] != "in_progress" || c.Sync.MaxAttempts != 5 || c.Partners[0].CallbackURLEnv != "NW_CALLBACK" ||
		c.Sync.Templates.Update == "" || c.Sync.PublicURL != "https://hub.example.com" {
		t.Errorf("sync = %+v, partner = %+v", c.Sync, c.Partners[0])
	}
	bad := []struct{ yaml, want string }{
		{"sync:\n  targets:\n    - {name: a, kind: jira, project: A, priorities: {urgent: P1}}\n", `sync.targets[0].priorities.urgent: unknown severity "urgent"`},
		{"sync:\n  targets:\n    - {name: a, kind: github, repo: a/b, components: {x: [y]}}\n", "sync.targets[0].components: only jira targets have components"},
		{"sync:\n  targets:\n    - {name: a, kind: jira, project: A, authority: {status: both}}\n", `sync.targets[0].authority.status: "both" must be hub or remote`},
		{"sync:\n  targets:\n    - {name: a, kind: jira, project: A, authority: {owner: hub}}\n", "sync.targets[0].authority.owner: unknown field"},
		{"sync:\n  targets:\n    - {name: a, kind: jira, project: A, status_map: {Done: finished}}\n", `sync.targets[0].status_map.Done: unknown cluster status "finished"`},
		{"sync:\n  targets:\n    - {name: a, kind: jira, project: A, summary: \"{{.Title\"}\n", "sync.targets[0].summary: bad template"},
		{"sync:\n  templates: {resolved: \"{{if}}\"}\n", "sync.templates.resolved: bad template"},
		{"sync:\n  public_url: hub.example.com\n", "sync.public_url: \"hub.example.com\" must be an http(s) URL"},
		{"sync:\n  max_attempts: -1\n", "sync.max_attempts: must not be negative"},
		{"partners:\n  - {id: nw, callback_url_env: CB}\n", "partners[0].callback_url_env: callbacks are signed"},
	}
	for _, b := range bad {
		_, err := Parse("f.yaml", "/tmp", []byte(b.yaml))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: err = %v, want %q", b.yaml, err, b.want)
		}
	}
}

func TestServerTokensAndJobs(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	good := "server:\n  tokens:\n    - name: ci\n      role: viewer\n      sha256: " + sum + "\n    - name: alice\n      role: triager\n      token_env: FH_TEST_ALICE_TOKEN\n  jobs:\n    step: 10s\n    digest_at: tue 09:30\n"
	c, err := Parse("f.yaml", t.TempDir(), []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Jobs.Step.D() != 10*time.Second || c.Server.Jobs.SLA.D() != DefaultSLAInterval || c.Server.Jobs.Outbox.D() != DefaultOutboxInterval {
		t.Errorf("jobs = %+v", c.Server.Jobs)
	}
	if _, err := c.APITokens(); err == nil || !strings.Contains(err.Error(), "FH_TEST_ALICE_TOKEN") {
		t.Fatalf("unset token_env: err = %v", err)
	}
	t.Setenv("FH_TEST_ALICE_TOKEN", "s3cret-token")
	toks, err := c.APITokens()
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 2 || toks[0].Sum[0] != 0xab || toks[1].Role != RoleTriager {
		t.Fatalf("tokens = %+v", toks)
	}
	wd, off, err := ParseWeeklyAt(c.Server.Jobs.DigestAt)
	if err != nil || wd != time.Tuesday || off != 9*time.Hour+30*time.Minute {
		t.Errorf("digest_at = %v %v %v", wd, off, err)
	}

	tests := []struct{ name, yaml, want string }{
		{"bad role", "server:\n  tokens:\n    - name: x\n      role: root\n      sha256: " + sum + "\n", `server.tokens[0].role: unknown role "root"`},
		{"no hash", "server:\n  tokens:\n    - name: x\n      role: admin\n", "server.tokens[0]: needs sha256"},
		{"bad hash", "server:\n  tokens:\n    - name: x\n      role: admin\n      sha256: abc\n", "server.tokens[0].sha256: must be 64 hex digits"},
		{"both", "server:\n  tokens:\n    - name: x\n      role: admin\n      sha256: " + sum + "\n      token_env: X\n", "not both"},
		{"duplicate", "server:\n  tokens:\n    - name: x\n      role: admin\n      sha256: " + sum + "\n    - name: x\n      role: admin\n      sha256: " + sum + "\n", `duplicate token name "x"`},
		{"literal token", "server:\n  tokens:\n    - name: x\n      role: admin\n      token: abc\n", "literal secrets are not allowed"},
		{"bad digest_at", "server:\n  jobs:\n    digest_at: someday\n", "server.jobs.digest_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", t.TempDir(), []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSourcePollInterval(t *testing.T) {
	c, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources[0].PollInterval(); got != 2*time.Minute {
		t.Errorf("github = %v", got)
	}
	if got := c.Sources[3].PollInterval(); got != 0 {
		t.Errorf("webhook = %v", got)
	}
}
