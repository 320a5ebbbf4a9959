package jira

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
)

// Tunables with no config key; they are fields of settings so tests can change them.
const (
	// DefaultPageSize is maxResults per search page. Jira Cloud serves at most 100
	// issues a page when fields are requested (5000 only for ids).
	DefaultPageSize = 100
	// DefaultOverlap is how far before the cursor each search starts again, so issues
	// that reach the search index late, or share the cursor's millisecond, are not
	// missed. Issues seen in the window are skipped by (key, updated).
	DefaultOverlap = 5 * time.Minute
	// DefaultMaxRecords bounds the records one poll returns; the cursor still moves
	// forward (the search is ordered by updated), so the next poll continues.
	DefaultMaxRecords = 5000
	// DefaultMaxBodyBytes caps a webhook body; larger requests get 413.
	DefaultMaxBodyBytes = 10 << 20
)

// deployment says which search API the site has.
type deployment string

const (
	// cloud has /rest/api/{2,3}/search/jql with nextPageToken; /search answers 410.
	cloud deployment = "cloud"
	// dataCenter (Server/Data Center, authenticated by a personal access token) has no
	// /search/jql and no API v3; it keeps /rest/api/2/search with startAt paging.
	dataCenter deployment = "datacenter"
)

// settings is the resolved configuration of one Jira source: defaults applied and
// secrets loaded.
type settings struct {
	name          string
	baseURL       string // without trailing slash
	jql           string // base filter with any ORDER BY removed
	apiVersion    int
	deployment    deployment
	authHeader    string // full Authorization header value, "" for anonymous
	webhookSecret []byte
	orgFields     []string
	pageSize      int
	overlap       time.Duration
	maxRecords    int
	maxBodyBytes  int64
}

// loadSettings resolves src into settings and registers the secrets with red.
func loadSettings(src config.Source, cfg *config.Config, red *connectors.Redactor) (settings, error) {
	if src.Kind != config.KindJira || src.Jira == nil {
		return settings{}, fmt.Errorf("jira: source %q is of kind %q, not jira", src.Name, src.Kind)
	}
	j := src.Jira
	if err := j.Validate(); err != nil {
		return settings{}, fmt.Errorf("jira: %w", err)
	}
	if cfg == nil {
		cfg = config.Default(".")
	}
	s := settings{
		name:         src.Name,
		baseURL:      strings.TrimRight(j.BaseURL, "/"),
		jql:          stripOrderBy(j.JQL),
		apiVersion:   j.APIVersion,
		deployment:   cloud,
		orgFields:    append([]string(nil), j.OrganizationFields...),
		pageSize:     DefaultPageSize,
		overlap:      DefaultOverlap,
		maxRecords:   DefaultMaxRecords,
		maxBodyBytes: DefaultMaxBodyBytes,
	}
	if s.apiVersion == 0 {
		s.apiVersion = config.DefaultJiraAPIVersion
	}
	var errs []error
	switch {
	case j.PATEnv != "":
		pat, err := cfg.Secret(j.PATEnv, "")
		if err != nil {
			errs = append(errs, fmt.Errorf("jira.pat_env: %w", err))
		}
		red.Add(pat)
		s.authHeader = "Bearer " + pat
		s.deployment = dataCenter
		// Data Center has only API v2.
		s.apiVersion = 2
	case j.EmailEnv != "":
		email, err := cfg.Secret(j.EmailEnv, "")
		if err != nil {
			errs = append(errs, fmt.Errorf("jira.email_env: %w", err))
		}
		tok, err := cfg.Secret(j.TokenEnv, j.TokenFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("jira.token_env: %w", err))
		}
		basic := base64.StdEncoding.EncodeToString([]byte(email + ":" + tok))
		red.Add(tok, basic)
		s.authHeader = "Basic " + basic
	}
	secret, err := cfg.Secret(j.WebhookSecretEnv, j.WebhookSecretFile)
	if err != nil {
		errs = append(errs, fmt.Errorf("jira.webhook_secret_env: %w", err))
	}
	red.Add(secret)
	if secret != "" {
		s.webhookSecret = []byte(secret)
	}
	if err := errors.Join(errs...); err != nil {
		return settings{}, fmt.Errorf("jira: %w", err)
	}
	return s, nil
}

// authorize sets the Authorization header on req.
func (s *settings) authorize(req *http.Request) {
	if s.authHeader != "" {
		req.Header.Set("Authorization", s.authHeader)
	}
}

// apiPath returns the REST path for p under the configured API version.
func (s *settings) apiPath(p string) string {
	return fmt.Sprintf("rest/api/%d/%s", s.apiVersion, strings.TrimLeft(p, "/"))
}

// browseURL is the human link to an issue.
func (s *settings) browseURL(key string) string {
	return s.baseURL + "/browse/" + key
}
