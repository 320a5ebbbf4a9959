package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// API roles, from least to most allowed: a viewer reads, a triager also decides, an
// admin also operates (outbox retry, rules reload).
const (
	RoleViewer  = "viewer"
	RoleTriager = "triager"
	RoleAdmin   = "admin"
)

// Roles lists the API roles, least allowed first.
var Roles = []string{RoleViewer, RoleTriager, RoleAdmin}

// Job interval defaults.
const (
	DefaultStepInterval       = 30 * time.Second
	DefaultSLAInterval        = time.Minute
	DefaultOutboxInterval     = 30 * time.Second
	DefaultStatusPollInterval = 5 * time.Minute
	DefaultDigestAt           = "mon 08:00"
)

// ServerToken is one bearer token of the JSON API. The config never holds the token
// itself: either SHA256 is its hex SHA-256 digest (`printf %s "$TOKEN" | sha256sum`),
// or TokenEnv names an environment variable holding it, hashed when the server starts.
type ServerToken struct {
	// Name says whose token it is; it is the actor of decisions taken with it.
	Name string `yaml:"name"`
	// Role is viewer, triager or admin.
	Role     string `yaml:"role"`
	SHA256   string `yaml:"sha256"`
	TokenEnv string `yaml:"token_env"`
}

// Jobs sets the intervals of the scheduled jobs of `feedbackhub serve`. Source polls
// use each source's own poll_interval.
type Jobs struct {
	// Step is how often new records are turned into clustered, classified items.
	Step Duration `yaml:"step"`
	// SLA is how often SLA clocks are evaluated (warnings, breaches, escalations).
	SLA Duration `yaml:"sla"`
	// Outbox is how often due outbox rows (tickets, updates, notices) are delivered.
	Outbox Duration `yaml:"outbox"`
	// StatusPoll is how often ticket status is polled back from the trackers.
	StatusPoll Duration `yaml:"status_poll"`
	// DigestAt is when the weekly digest goes out (notify.digest), "mon 08:00", UTC.
	DigestAt string `yaml:"digest_at"`
}

func (j *Jobs) applyDefaults() {
	for _, d := range []struct {
		v   *Duration
		def time.Duration
	}{{&j.Step, DefaultStepInterval}, {&j.SLA, DefaultSLAInterval}, {&j.Outbox, DefaultOutboxInterval}, {&j.StatusPoll, DefaultStatusPollInterval}} {
		if *d.v == 0 {
			*d.v = Duration(d.def)
		}
	}
	if j.DigestAt == "" {
		j.DigestAt = DefaultDigestAt
	}
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (s *Server) validateTokensAndJobs() error {
	var errs []error
	names := map[string]bool{}
	for i, t := range s.Tokens {
		p := fmt.Sprintf("tokens[%d]", i)
		if t.Name == "" {
			errs = append(errs, fieldErr(p+".name", "required"))
		} else if names[t.Name] {
			errs = append(errs, fieldErr(p+".name", "duplicate token name %q", t.Name))
		}
		names[t.Name] = true
		if !contains(Roles, t.Role) {
			errs = append(errs, fieldErr(p+".role", "unknown role %q (want %s)", t.Role, strings.Join(Roles, ", ")))
		}
		switch {
		case t.SHA256 != "" && t.TokenEnv != "":
			errs = append(errs, fieldErr(p+".sha256", "use either sha256 or token_env, not both"))
		case t.SHA256 == "" && t.TokenEnv == "":
			errs = append(errs, fieldErr(p, "needs sha256 (the token's hex SHA-256) or token_env"))
		case t.SHA256 != "" && !sha256RE.MatchString(strings.ToLower(t.SHA256)):
			errs = append(errs, fieldErr(p+".sha256", "must be 64 hex digits (the SHA-256 of the token)"))
		}
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"step", s.Jobs.Step}, {"sla", s.Jobs.SLA}, {"outbox", s.Jobs.Outbox}, {"status_poll", s.Jobs.StatusPoll}} {
		if d.v.D() < 0 {
			errs = append(errs, fieldErr("jobs."+d.name, "must be positive"))
		}
	}
	if _, _, err := ParseWeeklyAt(s.Jobs.DigestAt); s.Jobs.DigestAt != "" && err != nil {
		errs = append(errs, fieldErr("jobs.digest_at", "%v", err))
	}
	return errors.Join(errs...)
}

// TokenHash is a resolved API token: who, which role, and the token's SHA-256.
type TokenHash struct {
	Name, Role string
	Sum        [sha256.Size]byte
}

// APITokens resolves server.tokens: digests are decoded, token_env variables read and
// hashed. The tokens themselves are not kept. Errors name the variable, never a value.
func (c *Config) APITokens() ([]TokenHash, error) {
	var out []TokenHash
	var errs []error
	for i, t := range c.Server.Tokens {
		th := TokenHash{Name: t.Name, Role: t.Role}
		if t.TokenEnv != "" {
			v, err := c.Secret(t.TokenEnv, "")
			if err != nil {
				errs = append(errs, fmt.Errorf("server.tokens[%d].token_env: %w", i, err))
				continue
			}
			th.Sum = sha256.Sum256([]byte(v))
		} else {
			b, err := hex.DecodeString(strings.ToLower(t.SHA256))
			if err != nil || len(b) != sha256.Size {
				errs = append(errs, fmt.Errorf("server.tokens[%d].sha256: must be 64 hex digits", i))
				continue
			}
			copy(th.Sum[:], b)
		}
		out = append(out, th)
	}
	return out, errors.Join(errs...)
}

var weekdayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ParseWeeklyAt reads "mon 08:00" (weekday and UTC time of day) into a weekday and
// the offset from midnight.
func ParseWeeklyAt(s string) (time.Weekday, time.Duration, error) {
	day, hm, ok := strings.Cut(strings.TrimSpace(strings.ToLower(s)), " ")
	wd, known := weekdayNames[day]
	if !ok || !known {
		return 0, 0, fmt.Errorf("%q: want a weekday and a UTC time, e.g. \"mon 08:00\"", s)
	}
	t, err := time.Parse("15:04", strings.TrimSpace(hm))
	if err != nil {
		return 0, 0, fmt.Errorf("%q: want a weekday and a UTC time, e.g. \"mon 08:00\"", s)
	}
	return wd, time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// PollInterval returns how often a source is polled (0 for sources that only receive).
func (s Source) PollInterval() time.Duration {
	switch {
	case s.GitHub != nil:
		return s.GitHub.PollInterval.D()
	case s.Jira != nil:
		return s.Jira.PollInterval.D()
	case s.IMAP != nil:
		return s.IMAP.PollInterval.D()
	case s.File != nil:
		return s.File.PollInterval.D()
	}
	return 0
}
