package github

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/config"
)

// Tuning that is not configurable: GitHub documents the limits these follow.
const (
	// perPage is the largest page GitHub serves for issue and comment listings.
	perPage = 100
	// sinceOverlap is how far before the newest updated_at seen the next poll's since
	// starts, so that items written late with an earlier timestamp are not missed.
	// Items seen again inside the overlap are dropped by (id, updated_at).
	sinceOverlap = 30 * time.Second
	// maxRounds bounds how often one poll re-queries an endpoint from a newer since
	// (each round catches what changed while the previous one was paging).
	maxRounds = 5
	// maxPageBytes caps one listing response; 100 issues with 65k-character bodies
	// stay well below it.
	maxPageBytes = 64 << 20
	// maxWebhookBytes is GitHub's own cap on webhook payloads (25 MiB); larger
	// bodies are answered 413.
	maxWebhookBytes = 25 << 20
	// tokenRefreshMargin is how long before its expiry an installation token is
	// replaced.
	tokenRefreshMargin = 5 * time.Minute
	// jwtLifetime is the lifetime of the app JWT (GitHub accepts at most 10 minutes);
	// it is backdated by jwtBackdate against clock drift.
	jwtLifetime = 9 * time.Minute
	jwtBackdate = 60 * time.Second
)

// repoRef is one configured repository.
type repoRef struct {
	Owner, Name string
}

// String returns owner/name as configured.
func (r repoRef) String() string { return r.Owner + "/" + r.Name }

// settings is the validated, secret-bearing form of a config.GitHubSource.
type settings struct {
	baseURL      string
	repos        []repoRef
	token        string // personal access token; empty with app auth or none
	appID        int64
	installation int64
	appKey       *rsa.PrivateKey
	secret       []byte // webhook secret; nil means deliveries are not verified
	includePRs   bool
}

// loadSettings reads the GitHub section of src and the secrets it names. cfg may be
// nil (relative secret files then resolve against the working directory).
func loadSettings(src config.Source, cfg *config.Config) (settings, error) {
	g := src.GitHub
	if g == nil {
		return settings{}, errors.New("github: missing github section")
	}
	checked := *g
	if checked.PollInterval == 0 { // defaults are applied by config loading; tests may skip it
		checked.PollInterval = config.Duration(config.DefaultPollInterval)
	}
	if err := checked.Validate(); err != nil {
		return settings{}, fmt.Errorf("github: invalid config: %w", err)
	}
	if cfg == nil {
		cfg = &config.Config{}
	}
	s := settings{
		baseURL:      strings.TrimSpace(g.BaseURL),
		appID:        g.AppID,
		installation: g.InstallationID,
		includePRs:   g.IncludePullRequests,
	}
	seen := map[string]bool{}
	for _, r := range g.Repos {
		owner, name, _ := strings.Cut(strings.TrimSpace(r), "/")
		key := strings.ToLower(owner + "/" + name)
		if seen[key] {
			return settings{}, fmt.Errorf("github: repository %s listed twice", r)
		}
		seen[key] = true
		s.repos = append(s.repos, repoRef{Owner: owner, Name: name})
	}
	var err error
	if s.token, err = cfg.Secret(g.TokenEnv, g.TokenFile); err != nil {
		return settings{}, fmt.Errorf("github: token: %w", err)
	}
	if g.PrivateKeyFile != "" {
		if s.appKey, err = readRSAKey(cfg.Path(g.PrivateKeyFile)); err != nil {
			return settings{}, fmt.Errorf("github: private_key_file: %w", err)
		}
	}
	secret, err := cfg.Secret(g.WebhookSecretEnv, g.WebhookSecretFile)
	if err != nil {
		return settings{}, fmt.Errorf("github: webhook secret: %w", err)
	}
	if secret != "" {
		s.secret = []byte(secret)
	}
	return s, nil
}

// readRSAKey loads a PEM private key as GitHub issues them (PKCS #1), or PKCS #8.
// Errors name the file, never its content.
func readRSAKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: not an RSA private key (PKCS #1 or #8)", path)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: key is %T, want RSA", path, k)
	}
	return rk, nil
}
