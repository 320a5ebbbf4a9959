package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/rules"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// Job kinds, as River stores them.
const (
	KindPoll       = "poll"
	KindStep       = "step"
	KindSLA        = "sla"
	KindOutbox     = "outbox"
	KindStatusPoll = "status_poll"
	KindDigest     = "digest"
)

// PollArgs polls one source. Trigger is "schedule" for the periodic poll (unique per
// source and interval, so it runs once per interval however many instances run) or
// "idle" when the IMAP server announced new mail (at most one waiting per source).
type PollArgs struct {
	Source  string `json:"source"`
	Trigger string `json:"trigger"`
}

// Kind implements river.JobArgs.
func (PollArgs) Kind() string { return KindPoll }

// StepArgs runs records → items, item rules, clustering, cluster rules, SLA starts.
type StepArgs struct{}

// Kind implements river.JobArgs.
func (StepArgs) Kind() string { return KindStep }

// SLAArgs evaluates the SLA clocks of open clusters: warnings, breaches and
// escalation steps, each fired and notified once (the store's dedup key).
type SLAArgs struct{}

// Kind implements river.JobArgs.
func (SLAArgs) Kind() string { return KindSLA }

// OutboxArgs delivers due outbox rows (tickets, updates, reporter notices).
type OutboxArgs struct{}

// Kind implements river.JobArgs.
func (OutboxArgs) Kind() string { return KindOutbox }

// StatusPollArgs polls tickets for status back (installations without webhooks).
type StatusPollArgs struct{}

// Kind implements river.JobArgs.
func (StatusPollArgs) Kind() string { return KindStatusPoll }

// DigestArgs sends the weekly digest of the week that starts at Week (unique, so
// once per week).
type DigestArgs struct {
	Week string `json:"week"`
}

// Kind implements river.JobArgs.
func (DigestArgs) Kind() string { return KindDigest }

// jobs holds what the workers share.
type jobs struct {
	svc *Service
}

// timed runs fn as job kind, recording its latency and outcome.
func (j *jobs) timed(kind string, fn func() error) error {
	start := time.Now()
	err := fn()
	j.svc.Metrics.ObserveJob(kind, time.Since(start), err)
	if err != nil && !isSnooze(err) {
		j.svc.Logger.Error("job failed", "job", kind, "err", j.svc.P.Redactor.Redact(err.Error()))
	}
	return err
}

func isSnooze(err error) bool {
	var s *river.JobSnoozeError
	return errors.As(err, &s)
}

type pollWorker struct {
	river.WorkerDefaults[PollArgs]
	j *jobs
}

func (w *pollWorker) Work(ctx context.Context, job *river.Job[PollArgs]) error {
	return w.j.timed(KindPoll, func() error { return w.j.poll(ctx, job.Args) })
}

func (w *pollWorker) Timeout(*river.Job[PollArgs]) time.Duration { return 30 * time.Minute }

// poll runs one poll of a source under the source's lock (a poll never overlaps
// another poll of the same source, on any instance) and records its outcome for
// `status`. A poll that finds the lock held is skipped when scheduled (the running
// one covers the interval) and retried shortly when IDLE asked for it.
func (j *jobs) poll(ctx context.Context, a PollArgs) error {
	s := j.svc
	release, ok, err := s.P.Store.TryLock(ctx, "poll:"+a.Source)
	if err != nil {
		return err
	}
	if !ok {
		if a.Trigger == "idle" {
			return river.JobSnooze(2 * time.Second)
		}
		s.Logger.Info("poll skipped: the source is being polled", "source", a.Source)
		return nil
	}
	defer release()
	start := s.Clock.Now()
	reports, err := s.P.SyncOnce(ctx, a.Source)
	fin := s.Clock.Now()
	for _, r := range reports {
		s.Metrics.ObservePoll(r)
		if rerr := s.P.Store.RecordPoll(ctx, store.Poll{Source: r.Source, StartedAt: start, FinishedAt: fin, Err: r.Err,
			Requests: r.Stats.Requests, NotModified: r.Stats.NotModified, Fetched: r.Stats.Fetched, New: r.New, Waited: r.Stats.Waited}); rerr != nil {
			s.Logger.Warn("could not record the poll for status", "source", r.Source, "err", rerr)
		}
	}
	if s.OnPoll != nil {
		s.OnPoll(a.Source)
	}
	// A failed poll is recorded and retried at the next interval, not by River now:
	// hammering a failing source helps nobody.
	if err != nil {
		s.Logger.Warn("poll failed; next attempt at the next interval", "source", a.Source, "err", s.P.Redactor.Redact(err.Error()))
	}
	return nil
}

type stepWorker struct {
	river.WorkerDefaults[StepArgs]
	j *jobs
}

func (w *stepWorker) Work(ctx context.Context, _ *river.Job[StepArgs]) error {
	return w.j.timed(KindStep, func() error {
		s := w.j.svc
		rep, err := s.P.Step(ctx, s.Engine)
		s.Metrics.ObserveStep(rep)
		if err != nil {
			return err
		}
		if n := rep.Cluster.Items + rep.Process.Items; n > 0 {
			s.Logger.Info("step", "items", rep.Process.Items, "clustered", rep.Cluster.Items, "new_clusters", rep.Cluster.NewClusters,
				"rule_decisions", rep.Clusters.Decisions, "sla_started", rep.SLA)
		}
		return nil
	})
}

func (w *stepWorker) Timeout(*river.Job[StepArgs]) time.Duration { return 30 * time.Minute }

type slaWorker struct {
	river.WorkerDefaults[SLAArgs]
	j *jobs
}

func (w *slaWorker) Work(ctx context.Context, _ *river.Job[SLAArgs]) error {
	return w.j.timed(KindSLA, func() error {
		s := w.j.svc
		subs, err := s.SLASubjects(ctx)
		if err != nil {
			return err
		}
		ev := &triage.Evaluator{Engine: s.Engine, Log: s.P.Store, Sender: s.Sender, Clock: s.Clock, Logger: s.Logger}
		res, err := ev.Run(ctx, subs)
		s.Metrics.ObserveSLA(res, err)
		// Send failures are logged by the evaluator; the events stay fired (at most
		// once), so retrying the job would not resend them.
		if err != nil && ctx.Err() == nil {
			return nil
		}
		return err
	})
}

// SLASubjects lists the open clusters with SLA clocks and who hears about each: the
// owner, then the escalation chain of the routing rule that matches the cluster.
func (s *Service) SLASubjects(ctx context.Context) ([]triage.Subject, error) {
	clusters, err := s.P.Store.Clusters(ctx, store.ClusterFilter{NonEmpty: true, Limit: 100000})
	if err != nil {
		return nil, err
	}
	var set *rules.Set
	if s.P.Rules != nil {
		set = s.P.Rules.Current()
	}
	partners := map[string]feedback.Partner{}
	for _, p := range s.P.Config.Partners {
		partners[p.ID] = feedback.Partner{ID: p.ID, Name: p.Name, Tier: p.Tier, Domains: p.Domains, GitHubLogins: p.GitHubLogins, JiraAccounts: p.JiraAccounts}
	}
	var out []triage.Subject
	for _, c := range clusters {
		if triage.IsTerminal(c.Status) {
			continue
		}
		sub := triage.Subject{ClusterID: c.ID, Title: c.Title, Chain: []string{c.Owner}}
		if set != nil {
			items, err := s.P.Store.ClusterItems(ctx, c.ID)
			if err != nil {
				return nil, err
			}
			res := set.EvalCluster(rules.NewClusterEnv(rules.ClusterInputFrom(&c, items, partners)), nil)
			if sub.Chain[0] == "" {
				sub.Chain[0] = res.Owner
			}
			sub.Chain = append(sub.Chain, res.EscalateTo...)
		}
		out = append(out, sub)
	}
	return out, nil
}

type outboxWorker struct {
	river.WorkerDefaults[OutboxArgs]
	j *jobs
}

func (w *outboxWorker) Work(ctx context.Context, _ *river.Job[OutboxArgs]) error {
	return w.j.timed(KindOutbox, func() error {
		s := w.j.svc
		if s.Syncer == nil {
			return nil
		}
		rep, err := s.Syncer.Drain(ctx, fhDrainAll)
		counts, cerr := s.P.Store.OutboxCounts(ctx)
		if cerr == nil {
			s.Metrics.ObserveDrain(rep, counts)
		}
		for _, e := range rep.Errors {
			s.Logger.Warn("outbox delivery failed", "err", s.P.Redactor.Redact(e))
		}
		return errors.Join(err, cerr)
	})
}

type statusPollWorker struct {
	river.WorkerDefaults[StatusPollArgs]
	j *jobs
}

func (w *statusPollWorker) Work(ctx context.Context, _ *river.Job[StatusPollArgs]) error {
	return w.j.timed(KindStatusPoll, func() error {
		s := w.j.svc
		if s.Syncer == nil {
			return nil
		}
		_, err := s.Syncer.Poll(ctx)
		return err
	})
}

type digestWorker struct {
	river.WorkerDefaults[DigestArgs]
	j *jobs
}

func (w *digestWorker) Work(ctx context.Context, job *river.Job[DigestArgs]) error {
	return w.j.timed(KindDigest, func() error { return w.j.svc.SendDigest(ctx, job.Args.Week) })
}

// SendDigest renders the review digest and sends it to notify.digest's recipients.
func (s *Service) SendDigest(ctx context.Context, week string) error {
	d := s.P.Config.Notify.Digest
	if d == nil {
		return nil
	}
	data, err := s.P.BuildDigest(ctx, s.Engine, d.Window.D(), s.Clock.Now())
	if err != nil {
		return err
	}
	var body bytes.Buffer
	if err := triage.Render(&body, data, d.Format); err != nil {
		return err
	}
	n, err := triage.NewNotifier(s.P.Config.Notify, s.P.Config.Secret)
	if err != nil {
		return err
	}
	subject := fmt.Sprintf("feedbackhub weekly review %s", week)
	var errs []error
	if len(d.To) > 0 {
		m := triage.Mail{To: d.To, Subject: subject, ID: "digest-" + week}
		if d.Format == "html" {
			var md bytes.Buffer
			_ = triage.Render(&md, data, "md")
			m.Text, m.HTML = md.String(), body.String()
		} else {
			m.Text = body.String()
		}
		if n.Mailer == nil {
			errs = append(errs, errors.New("digest: notify.digest.to needs notify.smtp"))
		} else if err := n.Mailer.Send(ctx, m); err != nil {
			errs = append(errs, fmt.Errorf("digest: mail: %w", err))
		}
	}
	for _, name := range d.Webhooks {
		wh, ok := n.Webhooks[name]
		if !ok {
			errs = append(errs, fmt.Errorf("digest: unknown webhook %q", name))
			continue
		}
		if err := wh.Post(ctx, "digest-"+week, map[string]any{"kind": "digest", "week": week, "subject": subject,
			"format": d.Format, "body": body.String()}); err != nil {
			errs = append(errs, fmt.Errorf("digest: webhook %s: %w", name, err))
		}
	}
	if len(errs) == 0 {
		s.Logger.Info("digest sent", "week", week, "to", strings.Join(d.To, ","), "webhooks", strings.Join(d.Webhooks, ","))
	}
	return errors.Join(errs...)
}

// weekly is a River schedule: every week at a weekday and UTC time of day.
type weekly struct {
	day time.Weekday
	at  time.Duration
}

// Next implements river.PeriodicSchedule.
func (w weekly) Next(t time.Time) time.Time {
	t = t.UTC()
	mid := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	for i := 0; i <= 7; i++ {
		c := mid.AddDate(0, 0, i)
		if c.Weekday() == w.day && c.Add(w.at).After(t) {
			return c.Add(w.at)
		}
	}
	return mid.AddDate(0, 0, 7).Add(w.at)
}

// periodicJobs builds the schedule. Periodic jobs are enqueued by River's elected
// leader only; each is unique per period, so a leader change or a restart inside a
// period does not run it twice.
func (s *Service) periodicJobs() []*river.PeriodicJob {
	cfg := s.P.Config
	every := func(d time.Duration, args river.JobArgs) *river.PeriodicJob {
		return river.NewPeriodicJob(river.PeriodicInterval(d), func() (river.JobArgs, *river.InsertOpts) {
			return args, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: d}}
		}, &river.PeriodicJobOpts{RunOnStart: true})
	}
	var out []*river.PeriodicJob
	for _, src := range cfg.Sources {
		iv := src.PollInterval()
		if !pollableKind(src.Kind) || iv <= 0 {
			continue
		}
		out = append(out, every(iv, PollArgs{Source: src.Name, Trigger: "schedule"}))
	}
	j := cfg.Server.Jobs
	out = append(out, every(j.Step.D(), StepArgs{}), every(j.SLA.D(), SLAArgs{}), every(j.Outbox.D(), OutboxArgs{}))
	if len(cfg.Sync.Targets) > 0 && j.StatusPoll.D() > 0 {
		out = append(out, every(j.StatusPoll.D(), StatusPollArgs{}))
	}
	if cfg.Notify.Digest != nil {
		day, at, err := config.ParseWeeklyAt(j.DigestAt)
		if err == nil {
			sched := weekly{day: day, at: at}
			out = append(out, river.NewPeriodicJob(sched, func() (river.JobArgs, *river.InsertOpts) {
				week := s.Clock.Now().UTC().Format("2006-01-02")
				return DigestArgs{Week: week}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
			}, nil))
		}
	}
	return out
}

func pollableKind(kind string) bool { return kind != config.KindWebhook }
