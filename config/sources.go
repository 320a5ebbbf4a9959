package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// Source kinds.
const (
	KindGitHub  = "github"
	KindJira    = "jira"
	KindIMAP    = "imap"
	KindWebhook = "webhook"
	KindFile    = "file"
)

// Kinds lists the known source kinds.
var Kinds = []string{KindGitHub, KindJira, KindIMAP, KindWebhook, KindFile}

// Source is one configured feedback source: a name, a kind, and the section of that
// kind (only that one).
type Source struct {
	Name    string         `yaml:"name"`
	Kind    string         `yaml:"kind"`
	GitHub  *GitHubSource  `yaml:"github"`
	Jira    *JiraSource    `yaml:"jira"`
	IMAP    *IMAPSource    `yaml:"imap"`
	Webhook *WebhookSource `yaml:"webhook"`
	File    *FileSource    `yaml:"file"`
}

// GitHubSource polls GitHub (or GitHub Enterprise Server) issues and comments.
type GitHubSource struct {
	// BaseURL is empty for github.com, else the GHES or test server URL.
	BaseURL string   `yaml:"base_url"`
	Repos   []string `yaml:"repos"`
	// Personal access token, or a GitHub App installation.
	TokenEnv       string `yaml:"token_env"`
	TokenFile      string `yaml:"token_file"`
	AppID          int64  `yaml:"app_id"`
	InstallationID int64  `yaml:"installation_id"`
	PrivateKeyFile string `yaml:"private_key_file"`

	WebhookSecretEnv    string   `yaml:"webhook_secret_env"`
	WebhookSecretFile   string   `yaml:"webhook_secret_file"`
	PollInterval        Duration `yaml:"poll_interval"`
	IncludePullRequests bool     `yaml:"include_pull_requests"`
}

// JiraSource runs an incremental JQL sync against Jira Cloud or Data Center.
type JiraSource struct {
	BaseURL string `yaml:"base_url"`
	// JQL is the base filter, e.g. "project = FB".
	JQL string `yaml:"jql"`
	// Cloud: account email + API token. Server/Data Center: a personal access token.
	EmailEnv          string   `yaml:"email_env"`
	TokenEnv          string   `yaml:"token_env"`
	TokenFile         string   `yaml:"token_file"`
	PATEnv            string   `yaml:"pat_env"`
	APIVersion        int      `yaml:"api_version"`
	WebhookSecretEnv  string   `yaml:"webhook_secret_env"`
	WebhookSecretFile string   `yaml:"webhook_secret_file"`
	PollInterval      Duration `yaml:"poll_interval"`
	// Projects are the project keys whose issue keys count as references (FB-123).
	Projects []string `yaml:"projects"`
	// OrganizationFields are custom field ids (customfield_10002) holding the reporting
	// organization, e.g. Jira Service Management's Organizations field; their names
	// are kept for partner attribution. The search endpoint returns only the fields
	// asked for, so these must be named.
	OrganizationFields []string `yaml:"organization_fields"`
}

// IMAPSource reads a support inbox.
type IMAPSource struct {
	Addr            string   `yaml:"addr"`
	TLS             string   `yaml:"tls"` // implicit, starttls, none (loopback only)
	UsernameEnv     string   `yaml:"username_env"`
	PasswordEnv     string   `yaml:"password_env"`
	PasswordFile    string   `yaml:"password_file"`
	Mailbox         string   `yaml:"mailbox"`
	PollInterval    Duration `yaml:"poll_interval"`
	IDLE            *bool    `yaml:"idle"`
	MoveProcessedTo string   `yaml:"move_processed_to"`
	MaxMessageBytes int64    `yaml:"max_message_bytes"`
	// SkipListMail treats mail with a List-Id header as not feedback (default true).
	SkipListMail *bool `yaml:"skip_list_mail"`
}

// WebhookSource receives signed partner webhooks (Standard Webhooks) at
// /hooks/partners/{partner}; secrets are per partner (partners[].webhook_secrets_env).
type WebhookSource struct {
	// MaxBodyBytes caps a request body (default 1 MiB; larger → 413).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Tolerance is how far webhook-timestamp may be from now, either way (default 5m).
	Tolerance Duration `yaml:"tolerance"`
}

// FileSource imports exports from files or watched drop folders.
type FileSource struct {
	Paths        []string   `yaml:"paths"`
	Format       string     `yaml:"format"` // mbox, eml, jsonl, csv, github-json, jira-json
	CSV          *CSVFormat `yaml:"csv"`
	PollInterval Duration   `yaml:"poll_interval"`
}

// CSVFormat maps CSV columns to feedback fields.
type CSVFormat struct {
	Delimiter string `yaml:"delimiter"`
	// Columns maps a field (id, title, body, author, email, created_at, url, labels,
	// partner, severity_hint) to a column header.
	Columns map[string]string `yaml:"columns"`
}

// FileFormats lists the import formats.
var FileFormats = []string{"mbox", "eml", "jsonl", "csv", "github-json", "jira-json"}

var sourceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Validate checks one source.
func (s *Source) Validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, fieldErr("name", "required"))
	} else if !sourceNameRE.MatchString(s.Name) {
		errs = append(errs, fieldErr("name", "%q must be lower-case letters, digits, - or _ (at most 63)", s.Name))
	}
	sections := map[string]bool{
		KindGitHub: s.GitHub != nil, KindJira: s.Jira != nil, KindIMAP: s.IMAP != nil,
		KindWebhook: s.Webhook != nil, KindFile: s.File != nil,
	}
	switch {
	case s.Kind == "":
		errs = append(errs, fieldErr("kind", "required (one of %s)", strings.Join(Kinds, ", ")))
	case !contains(Kinds, s.Kind):
		errs = append(errs, fieldErr("kind", "unknown source kind %q (want one of %s)", s.Kind, strings.Join(Kinds, ", ")))
	}
	for _, k := range Kinds {
		if sections[k] && k != s.Kind {
			errs = append(errs, fieldErr(k, "section %s does not belong to a source of kind %q", k, s.Kind))
		}
	}
	switch s.Kind {
	case KindGitHub:
		errs = append(errs, need(s.GitHub != nil, KindGitHub), under(KindGitHub, validPtr(s.GitHub)))
	case KindJira:
		errs = append(errs, need(s.Jira != nil, KindJira), under(KindJira, validPtr(s.Jira)))
	case KindIMAP:
		errs = append(errs, need(s.IMAP != nil, KindIMAP), under(KindIMAP, validPtr(s.IMAP)))
	case KindWebhook:
		errs = append(errs, under(KindWebhook, validPtr(s.Webhook)))
	case KindFile:
		errs = append(errs, need(s.File != nil, KindFile), under(KindFile, validPtr(s.File)))
	}
	return errors.Join(errs...)
}

type validator interface{ Validate() error }

// validPtr validates v unless it is a nil pointer.
func validPtr[T any, P interface {
	*T
	validator
}](v P) error {
	if v == nil {
		return nil
	}
	return v.Validate()
}

func need(ok bool, section string) error {
	if ok {
		return nil
	}
	return fieldErr(section, "required for a source of kind %s", section)
}

// Validate checks the GitHub section.
func (g *GitHubSource) Validate() error {
	var errs []error
	if g.BaseURL != "" {
		errs = append(errs, validURL("base_url", g.BaseURL))
	}
	if len(g.Repos) == 0 {
		errs = append(errs, fieldErr("repos", "required: list repositories as owner/name"))
	}
	for i, r := range g.Repos {
		parts := strings.Split(r, "/")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			errs = append(errs, fieldErr(fmt.Sprintf("repos[%d]", i), "%q is not owner/name", r))
		}
	}
	app := g.AppID != 0 || g.InstallationID != 0 || g.PrivateKeyFile != ""
	pat := g.TokenEnv != "" || g.TokenFile != ""
	switch {
	case app && pat:
		errs = append(errs, fieldErr("token_env", "use either token_env/token_file or app_id+installation_id+private_key_file, not both"))
	case app:
		if g.AppID == 0 {
			errs = append(errs, fieldErr("app_id", "required with installation_id and private_key_file"))
		}
		if g.InstallationID == 0 {
			errs = append(errs, fieldErr("installation_id", "required with app_id"))
		}
		if g.PrivateKeyFile == "" {
			errs = append(errs, fieldErr("private_key_file", "required with app_id"))
		}
	}
	errs = append(errs, onlyOne("token_env", g.TokenEnv, "token_file", g.TokenFile),
		onlyOne("webhook_secret_env", g.WebhookSecretEnv, "webhook_secret_file", g.WebhookSecretFile),
		minInterval("poll_interval", g.PollInterval))
	return errors.Join(errs...)
}

// Validate checks the Jira section.
func (j *JiraSource) Validate() error {
	var errs []error
	if j.BaseURL == "" {
		errs = append(errs, fieldErr("base_url", "required"))
	} else {
		errs = append(errs, validURL("base_url", j.BaseURL))
	}
	if strings.TrimSpace(j.JQL) == "" {
		errs = append(errs, fieldErr("jql", `required: the base filter, e.g. "project = FB"`))
	}
	cloud := j.EmailEnv != "" || j.TokenEnv != "" || j.TokenFile != ""
	switch {
	case cloud && j.PATEnv != "":
		errs = append(errs, fieldErr("pat_env", "use either email_env+token_env (Cloud) or pat_env (Server/Data Center), not both"))
	case cloud && j.EmailEnv == "":
		errs = append(errs, fieldErr("email_env", "required with token_env (Jira Cloud API tokens need the account email)"))
	case cloud && j.TokenEnv == "" && j.TokenFile == "":
		errs = append(errs, fieldErr("token_env", "required with email_env"))
	}
	if j.APIVersion != 2 && j.APIVersion != 3 {
		errs = append(errs, fieldErr("api_version", "must be 2 or 3, not %d", j.APIVersion))
	}
	for i, p := range j.Projects {
		if !regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`).MatchString(p) {
			errs = append(errs, fieldErr(fmt.Sprintf("projects[%d]", i), "%q is not a Jira project key", p))
		}
	}
	for i, f := range j.OrganizationFields {
		if !customFieldRE.MatchString(f) {
			errs = append(errs, fieldErr(fmt.Sprintf("organization_fields[%d]", i), "%q is not a custom field id like customfield_10002", f))
		}
	}
	errs = append(errs, onlyOne("token_env", j.TokenEnv, "token_file", j.TokenFile),
		onlyOne("webhook_secret_env", j.WebhookSecretEnv, "webhook_secret_file", j.WebhookSecretFile),
		minInterval("poll_interval", j.PollInterval))
	return errors.Join(errs...)
}

var customFieldRE = regexp.MustCompile(`^customfield_[0-9]+$`)

// Validate checks the IMAP section.
func (m *IMAPSource) Validate() error {
	var errs []error
	host, _, err := net.SplitHostPort(m.Addr)
	if m.Addr == "" {
		errs = append(errs, fieldErr("addr", "required (host:port)"))
	} else if err != nil {
		errs = append(errs, fieldErr("addr", "%q is not host:port", m.Addr))
	}
	switch m.TLS {
	case "implicit", "starttls":
	case "none":
		if err == nil && !isLoopback(host) {
			errs = append(errs, fieldErr("tls", "none is only allowed for loopback addresses, not %q", host))
		}
	default:
		errs = append(errs, fieldErr("tls", "unknown mode %q (want implicit, starttls or none)", m.TLS))
	}
	if m.UsernameEnv == "" {
		errs = append(errs, fieldErr("username_env", "required"))
	}
	if m.PasswordEnv == "" && m.PasswordFile == "" {
		errs = append(errs, fieldErr("password_env", "required (or password_file)"))
	}
	if m.MaxMessageBytes <= 0 {
		errs = append(errs, fieldErr("max_message_bytes", "must be positive"))
	}
	errs = append(errs, onlyOne("password_env", m.PasswordEnv, "password_file", m.PasswordFile),
		minInterval("poll_interval", m.PollInterval))
	return errors.Join(errs...)
}

// Validate checks the webhook section.
func (w *WebhookSource) Validate() error {
	var errs []error
	if w.MaxBodyBytes <= 0 {
		errs = append(errs, fieldErr("max_body_bytes", "must be positive"))
	}
	if w.Tolerance.D() <= 0 {
		errs = append(errs, fieldErr("tolerance", "must be positive"))
	}
	return errors.Join(errs...)
}

// Validate checks the file section.
func (f *FileSource) Validate() error {
	var errs []error
	if len(f.Paths) == 0 {
		errs = append(errs, fieldErr("paths", "required: files or folders to import"))
	}
	if !contains(FileFormats, f.Format) {
		errs = append(errs, fieldErr("format", "unknown format %q (want one of %s)", f.Format, strings.Join(FileFormats, ", ")))
	}
	if f.Format == "csv" && (f.CSV == nil || len(f.CSV.Columns) == 0) {
		errs = append(errs, fieldErr("csv.columns", "required for format csv: map id, title, body, … to column headers"))
	}
	if f.CSV != nil && len([]rune(f.CSV.Delimiter)) > 1 {
		errs = append(errs, fieldErr("csv.delimiter", "must be one character"))
	}
	return errors.Join(errs...)
}

func validURL(path, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fieldErr(path, "%q is not an http(s) URL", raw)
	}
	return nil
}

func onlyOne(a, av, b, bv string) error {
	if av != "" && bv != "" {
		return fieldErr(a, "set %s or %s, not both", a, b)
	}
	return nil
}

func minInterval(path string, d Duration) error {
	if d.D() < 10e9 {
		return fieldErr(path, "%s is too short (at least 10s)", d.D())
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
