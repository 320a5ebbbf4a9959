package sync

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// ErrInjected is what fault injectors return (Syncer.Faults); a delivery aborted by
// it stops at once, as if the process had died there.
var ErrInjected = errors.New("injected fault")

func isCrash(err error) bool { return errors.Is(err, ErrInjected) }

// New builds a Syncer from the config: one tracker per GitHub or Jira source (with
// that source's base URL and credentials), compiled targets and templates, partners
// with their callbacks, and an SMTP mailer when notify.smtp is set. sla may be nil.
func New(cfg *config.Config, st *store.Store, env connectors.Env, sla *triage.Engine) (*Syncer, error) {
	if env.Redactor == nil {
		env.Redactor = connectors.NewRedactor()
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Syncer{Store: st, Defaults: cfg.Sync.Defaults, Trackers: map[string]Tracker{}, SourceKinds: map[string]string{},
		Partners: map[string]Partner{}, PublicURL: cfg.Sync.PublicURL, MaxAttempts: cfg.Sync.MaxAttempts, Clock: env.Clock,
		Log: env.Logger.With("component", "sync"), SLA: sla}
	var errs []error
	for _, t := range cfg.Sync.Targets {
		ct, err := CompileTarget(t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Targets = append(s.Targets, ct)
	}
	var err error
	if s.Templates, err = CompileTemplates(cfg.Sync.Templates); err != nil {
		errs = append(errs, err)
	}
	for _, src := range cfg.Sources {
		s.SourceKinds[src.Name] = src.Kind
		client := connectors.NewClient(env.HTTPClient, env.Clock, env.Redactor, TrackerPolicy)
		name := src.Name
		client.OnWait = func(reason string, d time.Duration) {
			s.Log.Info("sync request waits", "source", name, "wait", d, "reason", reason)
		}
		switch {
		case src.Kind == config.KindJira && src.Jira != nil:
			auth, err := jiraAuth(cfg, src.Jira, env.Redactor)
			if err != nil {
				errs = append(errs, fmt.Errorf("sync: source %s: %w", src.Name, err))
				continue
			}
			// A personal access token is how the Jira connector tells Data Center from Cloud.
			s.Trackers[src.Name] = &JiraTracker{BaseURL: strings.TrimRight(src.Jira.BaseURL, "/"), Auth: auth, Client: client,
				DataCenter: src.Jira.PATEnv != ""}
		case src.Kind == config.KindGitHub && src.GitHub != nil:
			tok, err := cfg.Secret(src.GitHub.TokenEnv, src.GitHub.TokenFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("sync: source %s: token: %w", src.Name, err))
				continue
			}
			env.Redactor.Add(tok)
			tr, err := NewGitHubTracker(src.GitHub.BaseURL, tok, client)
			if err != nil {
				errs = append(errs, fmt.Errorf("sync: source %s: %w", src.Name, err))
				continue
			}
			s.Trackers[src.Name] = tr
		}
	}
	for _, t := range s.Targets {
		if t.DryRun {
			continue // plan-only: never sent, needs no connection
		}
		if tr, ok := s.Trackers[t.Source]; !ok {
			errs = append(errs, fmt.Errorf("sync: target %s: source %q is not a configured %s source with credentials", t.Name, t.Source, t.Kind))
		} else if tr.Kind() != t.Kind {
			errs = append(errs, fmt.Errorf("sync: target %s is %s but source %q is %s", t.Name, t.Kind, t.Source, tr.Kind()))
		}
	}
	for _, p := range cfg.Partners {
		pp := Partner{ID: p.ID, Name: p.Name}
		if p.CallbackURLEnv != "" {
			u, err := cfg.Secret(p.CallbackURLEnv, "")
			if err != nil {
				errs = append(errs, fmt.Errorf("sync: partner %s: callback_url_env: %w", p.ID, err))
			}
			if len(p.WebhookSecretsEnv) > 0 {
				sec, err := cfg.Secret(p.WebhookSecretsEnv[0], "")
				if err != nil {
					errs = append(errs, fmt.Errorf("sync: partner %s: webhook_secrets_env[0]: %w", p.ID, err))
				}
				env.Redactor.Add(sec)
				pp.Secret = sec
			}
			env.Redactor.Add(u)
			pp.CallbackURL = u
		}
		s.Partners[p.ID] = pp
	}
	s.Callbacks = connectors.NewClient(env.HTTPClient, env.Clock, env.Redactor, connectors.Policy{MaxAttempts: 3})
	if m := cfg.Notify.SMTP; m != nil {
		user, err := cfg.Secret(m.UsernameEnv, "")
		if err != nil {
			errs = append(errs, fmt.Errorf("sync: notify.smtp.username_env: %w", err))
		}
		pass, err := cfg.Secret(m.PasswordEnv, m.PasswordFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("sync: notify.smtp password: %w", err))
		}
		s.Mailer = &SMTPMailer{Addr: m.Addr, From: m.From, Username: user, Password: pass, StartTLS: m.StartTLS, Clock: env.Clock}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// jiraAuth builds the Authorization header the way the Jira connector reads a source:
// a Data Center personal access token, or Cloud email + API token.
func jiraAuth(cfg *config.Config, j *config.JiraSource, red *connectors.Redactor) (string, error) {
	switch {
	case j.PATEnv != "":
		pat, err := cfg.Secret(j.PATEnv, "")
		if err != nil {
			return "", fmt.Errorf("jira.pat_env: %w", err)
		}
		red.Add(pat)
		return "Bearer " + pat, nil
	case j.EmailEnv != "":
		email, err := cfg.Secret(j.EmailEnv, "")
		if err != nil {
			return "", fmt.Errorf("jira.email_env: %w", err)
		}
		tok, err := cfg.Secret(j.TokenEnv, j.TokenFile)
		if err != nil {
			return "", fmt.Errorf("jira.token_env: %w", err)
		}
		basic := base64.StdEncoding.EncodeToString([]byte(email + ":" + tok))
		red.Add(tok, basic)
		return "Basic " + basic, nil
	}
	return "", nil
}
