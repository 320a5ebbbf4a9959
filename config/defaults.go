package config

import "time"

// Every default lives here, once.
const (
	DefaultDatabaseURL      = "sqlite:feedbackhub.db"
	DefaultServerAddr       = "127.0.0.1:8080"
	DefaultRulesFile        = "rules.yaml"
	DefaultPollInterval     = 5 * time.Minute
	DefaultIMAPMailbox      = "INBOX"
	DefaultIMAPTLS          = "implicit"
	DefaultMaxMessageBytes  = 25 << 20
	DefaultWebhookBodyBytes = 1 << 20
	DefaultWebhookTolerance = 5 * time.Minute
	DefaultJiraAPIVersion   = 3
	DefaultEscalateAfter    = time.Hour
	DefaultDigestWindow     = 7 * 24 * time.Hour
	DefaultDigestFormat     = "html"
)

// DefaultPauseStatuses are the cluster statuses that pause SLA clocks.
var DefaultPauseStatuses = []string{"deferred"}

// DefaultPauseLabels are the cluster labels that pause SLA clocks (waiting on the partner).
var DefaultPauseLabels = []string{"waiting-on-partner"}

// DefaultWarnAt are the fractions of an SLA target at which warnings fire.
var DefaultWarnAt = []float64{0.75, 0.9}

func (c *Config) applyDefaults() {
	if c.Database.URL == "" {
		c.Database.URL = DefaultDatabaseURL
	}
	if c.Server.Addr == "" {
		c.Server.Addr = DefaultServerAddr
	}
	c.Server.Jobs.applyDefaults()
	if c.Rules == "" {
		c.Rules = DefaultRulesFile
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.Kind == KindWebhook && s.Webhook == nil {
			s.Webhook = &WebhookSource{}
		}
		if g := s.GitHub; g != nil && g.PollInterval == 0 {
			g.PollInterval = Duration(DefaultPollInterval)
		}
		if j := s.Jira; j != nil {
			if j.PollInterval == 0 {
				j.PollInterval = Duration(DefaultPollInterval)
			}
			if j.APIVersion == 0 {
				j.APIVersion = DefaultJiraAPIVersion
			}
		}
		if m := s.IMAP; m != nil {
			if m.PollInterval == 0 {
				m.PollInterval = Duration(DefaultPollInterval)
			}
			if m.Mailbox == "" {
				m.Mailbox = DefaultIMAPMailbox
			}
			if m.TLS == "" {
				m.TLS = DefaultIMAPTLS
			}
			if m.IDLE == nil {
				t := true
				m.IDLE = &t
			}
			if m.SkipListMail == nil {
				t := true
				m.SkipListMail = &t
			}
			if m.MaxMessageBytes == 0 {
				m.MaxMessageBytes = DefaultMaxMessageBytes
			}
		}
		if w := s.Webhook; w != nil {
			if w.MaxBodyBytes == 0 {
				w.MaxBodyBytes = DefaultWebhookBodyBytes
			}
			if w.Tolerance == 0 {
				w.Tolerance = Duration(DefaultWebhookTolerance)
			}
		}
		if f := s.File; f != nil && f.PollInterval == 0 {
			f.PollInterval = Duration(DefaultPollInterval)
		}
	}
	for i := range c.SLA.Policies {
		p := &c.SLA.Policies[i]
		if len(p.WarnAt) == 0 {
			p.WarnAt = append([]float64(nil), DefaultWarnAt...)
		}
		if p.EscalateAfter == 0 {
			p.EscalateAfter = Duration(DefaultEscalateAfter)
		}
		if p.PauseStatuses == nil {
			p.PauseStatuses = append([]string(nil), DefaultPauseStatuses...)
		}
		if p.PauseLabels == nil {
			p.PauseLabels = append([]string(nil), DefaultPauseLabels...)
		}
	}
	if d := c.Notify.Digest; d != nil {
		if d.Window == 0 {
			d.Window = Duration(DefaultDigestWindow)
		}
		if d.Format == "" {
			d.Format = DefaultDigestFormat
		}
	}
}
