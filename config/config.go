// Package config loads feedbackhub.yaml strictly: unknown keys, wrong types, bad
// durations and unknown source kinds fail with FILE:LINE:COL and the dotted path of
// the field; defaults are declared once (defaults.go); every section validates itself;
// secrets come only from environment variables or files named by *_env / *_file keys.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// EnvDatabaseURL overrides database.url when set.
const EnvDatabaseURL = "FEEDBACKHUB_DATABASE_URL"

// Config is the whole feedbackhub.yaml.
type Config struct {
	Database Database  `yaml:"database"`
	Server   Server    `yaml:"server"`
	Sources  []Source  `yaml:"sources"`
	Partners []Partner `yaml:"partners"`
	// Rules is the path of the rules file, relative to the config file's folder.
	Rules  string `yaml:"rules"`
	SLA    SLA    `yaml:"sla"`
	Sync   Sync   `yaml:"sync"`
	Notify Notify `yaml:"notify"`

	file string // the file this was loaded from ("" for built-in defaults)
	dir  string // its folder, for relative paths
}

// Database says where the data lives.
type Database struct {
	// URL is sqlite:PATH (relative to the config folder) or postgres://…
	URL string `yaml:"url"`
	// AutoMigrate lets commands migrate a PostgreSQL schema themselves.
	AutoMigrate bool `yaml:"auto_migrate"`
}

// Server is the HTTP server of `feedbackhub serve`.
type Server struct {
	Addr string `yaml:"addr"`
	// Tokens are the API's bearer tokens (see ServerToken); the webhook endpoints do
	// not use them, they check their senders' signatures.
	Tokens []ServerToken `yaml:"tokens"`
	// Jobs sets how often the background jobs run.
	Jobs Jobs `yaml:"jobs"`
}

// Partner is a design partner and the identities that attribute feedback to it.
type Partner struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	Tier         string   `yaml:"tier"`
	Domains      []string `yaml:"domains"`
	GitHubLogins []string `yaml:"github_logins"`
	JiraAccounts []string `yaml:"jira_accounts"`
	// WebhookSecretsEnv names environment variables holding the partner's Standard
	// Webhooks secrets (whsec_…); several allow key rotation.
	WebhookSecretsEnv []string `yaml:"webhook_secrets_env"`
	// CallbackURLEnv names the environment variable holding the partner's callback URL:
	// when their feedback is resolved, sync POSTs a notice there, signed with Standard
	// Webhooks using the first secret of WebhookSecretsEnv.
	CallbackURLEnv string `yaml:"callback_url_env"`
}

// File is the path this config was loaded from, empty for built-in defaults.
func (c *Config) File() string { return c.file }

// Dir is the folder relative paths in the config resolve against.
func (c *Config) Dir() string { return c.dir }

// Path resolves p against the config file's folder.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// Source returns the source with the given name.
func (c *Config) Source(name string) (Source, bool) {
	for _, s := range c.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return Source{}, false
}

// Default returns the built-in configuration: the embedded SQLite database in dir and
// no sources.
func Default(dir string) *Config {
	c := &Config{dir: dir}
	c.applyDefaults()
	return c
}

// Load reads and validates a config file. All problems come back together as
// *Problems, each with FILE:LINE:COL and a dotted path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config file %s not found (create one with `feedbackhub init`)", path)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return Parse(path, filepath.Dir(abs), data)
}

// Parse validates config text; name is used in error positions and dir resolves
// relative paths.
func Parse(name, dir string, data []byte) (*Config, error) {
	idx, perr := newPosIndex(data)
	if perr != nil {
		return nil, &Problems{List: []Problem{yamlProblem(name, perr, nil)}}
	}
	var probs []Problem
	for _, p := range idx.literalSecrets() {
		probs = append(probs, Problem{File: name, Line: p.line, Col: p.col, Path: p.path,
			Msg: fmt.Sprintf("literal secrets are not allowed in the config file; use %s_env (an environment variable) or %s_file (a file)", p.key, p.key)})
	}
	c := &Config{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.UnmarshalWithOptions(data, c, yaml.Strict()); err != nil {
			probs = append(probs, yamlProblem(name, err, idx))
			return nil, &Problems{List: probs}
		}
	}
	c.file, c.dir = name, dir
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		for _, fe := range flatten(err) {
			line, col := idx.lookup(fe.Path)
			probs = append(probs, Problem{File: name, Line: line, Col: col, Path: fe.Path, Msg: fe.Msg})
		}
	}
	if len(probs) > 0 {
		return nil, &Problems{List: probs}
	}
	if v := os.Getenv(EnvDatabaseURL); v != "" {
		c.Database.URL = v
	}
	return c, nil
}

// Problem is one thing wrong with a config file.
type Problem struct {
	File      string
	Line, Col int
	Path      string
	Msg       string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, p.Col)
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in a config file.
type Problems struct{ List []Problem }

func (p *Problems) Error() string {
	lines := make([]string, len(p.List))
	for i, pr := range p.List {
		lines[i] = pr.String()
	}
	return strings.Join(lines, "\n")
}

// Duration is a time.Duration written as "90s", "5m", "1h30m" or "3d".
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML parses a duration string.
func (d *Duration) UnmarshalYAML(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"'`)
	v, err := ParseDuration(s)
	if err != nil {
		return &valueError{value: s, err: err}
	}
	*d = Duration(v)
	return nil
}

// valueError is a custom decoder's complaint about a scalar; the loader finds where
// that scalar stands in the file, since the decoder does not say.
type valueError struct {
	value string
	err   error
}

func (e *valueError) Error() string { return e.err.Error() }
func (e *valueError) Unwrap() error { return e.err }

// MarshalYAML writes the duration back as text.
func (d Duration) MarshalYAML() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// ParseDuration accepts Go durations plus a whole number of days ("7d").
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && !strings.ContainsAny(n, "hmsµun.") {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && fmt.Sprint(days) == n {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q (want e.g. 90s, 5m, 1h30m, 7d)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("bad duration %q: must not be negative", s)
	}
	return v, nil
}
