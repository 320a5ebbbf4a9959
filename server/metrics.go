package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/feedbackhub/feedbackhub/pipeline"
	fhsync "github.com/feedbackhub/feedbackhub/sync"
	"github.com/feedbackhub/feedbackhub/triage"
)

// Metrics are the Prometheus metrics of one running service, on their own registry
// (so that two instances in one test process do not collide).
type Metrics struct {
	Registry *prometheus.Registry

	RecordsIngested *prometheus.CounterVec   // source, via (poll, webhook)
	SourceRequests  *prometheus.CounterVec   // source
	NotModified     *prometheus.CounterVec   // source
	RateLimitWait   *prometheus.CounterVec   // source, seconds
	PollErrors      *prometheus.CounterVec   // source
	Webhooks        *prometheus.CounterVec   // source, result
	ItemsClustered  prometheus.Counter       //
	AutoLinks       *prometheus.CounterVec   // evidence
	Suggestions     prometheus.Counter       //
	NewClusters     prometheus.Counter       //
	RuleEvaluations *prometheus.CounterVec   // scope
	RuleDecisions   *prometheus.CounterVec   // scope
	RuleErrors      prometheus.Counter       //
	SLAEvents       *prometheus.CounterVec   // kind (warn, breach, escalate)
	SLANotices      *prometheus.CounterVec   // result
	OutboxDepth     *prometheus.GaugeVec     // status
	OutboxDelivered prometheus.Counter       //
	OutboxFailures  *prometheus.CounterVec   // result (retrying, dead)
	JobDuration     *prometheus.HistogramVec // job
	JobErrors       *prometheus.CounterVec   // job
	RulesReloads    *prometheus.CounterVec   // result
	HTTPRequests    *prometheus.CounterVec   // route, code
}

// NewMetrics registers every metric on a new registry, with Go runtime and process
// collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{Registry: r}
	cv := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "feedbackhub", Name: name, Help: help}, labels)
		r.MustRegister(v)
		return v
	}
	c := func(name, help string) prometheus.Counter {
		v := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "feedbackhub", Name: name, Help: help})
		r.MustRegister(v)
		return v
	}
	m.RecordsIngested = cv("records_ingested_total", "Records stored for the first time, by source and path (poll, webhook).", "source", "via")
	m.SourceRequests = cv("source_requests_total", "API requests made to a source by its connector, retries included.", "source")
	m.NotModified = cv("source_not_modified_total", "Source API requests answered 304 Not Modified.", "source")
	m.RateLimitWait = cv("source_rate_limit_wait_seconds_total", "Time spent waiting for rate limits and backoff, by source.", "source")
	m.PollErrors = cv("source_poll_errors_total", "Failed polls, by source.", "source")
	m.Webhooks = cv("webhook_requests_total", "Webhook deliveries by source and outcome (stored, duplicate, rejected).", "source", "result")
	m.ItemsClustered = c("items_clustered_total", "Items assigned to a cluster.")
	m.AutoLinks = cv("cluster_auto_links_total", "Items linked to an existing cluster automatically, by evidence.", "evidence")
	m.Suggestions = c("cluster_suggestions_total", "New clusters that came with merge suggestions for a triager.")
	m.NewClusters = c("clusters_created_total", "Clusters created.")
	m.RuleEvaluations = cv("rule_evaluations_total", "Items and clusters the rules were evaluated on, by scope.", "scope")
	m.RuleDecisions = cv("rule_decisions_total", "Field changes rules made (logged as decisions), by scope; ignored items count under scope=ignored.", "scope")
	m.RuleErrors = c("rule_errors_total", "Rule evaluation errors (the rule is skipped).")
	m.SLAEvents = cv("sla_events_total", "SLA warnings, breaches and escalation steps this instance fired, by kind.", "kind")
	m.SLANotices = cv("sla_notices_total", "SLA notices sent, by result.", "result")
	m.OutboxDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "feedbackhub", Name: "outbox_rows", Help: "Outbox rows by status (pending is the depth, dead the dead letters)."}, []string{"status"})
	r.MustRegister(m.OutboxDepth)
	m.OutboxDelivered = c("outbox_delivered_total", "Outbox rows delivered.")
	m.OutboxFailures = cv("outbox_failures_total", "Failed outbox deliveries, by what became of the row (retrying, dead).", "result")
	m.JobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "feedbackhub", Name: "job_duration_seconds",
		Help: "Duration of background jobs, by job.", Buckets: prometheus.ExponentialBuckets(0.005, 3, 10)}, []string{"job"})
	r.MustRegister(m.JobDuration)
	m.JobErrors = cv("job_errors_total", "Background jobs that returned an error, by job.", "job")
	m.RulesReloads = cv("rules_reloads_total", "Rules reloads by result (ok, error: the old rules stay in use).", "result")
	m.HTTPRequests = cv("http_requests_total", "HTTP requests served, by route and status code.", "route", "code")
	return m
}

// ObservePoll records one source poll.
func (m *Metrics) ObservePoll(r pipeline.SourceReport) {
	m.RecordsIngested.WithLabelValues(r.Source, "poll").Add(float64(r.New))
	m.SourceRequests.WithLabelValues(r.Source).Add(float64(r.Stats.Requests))
	m.NotModified.WithLabelValues(r.Source).Add(float64(r.Stats.NotModified))
	m.RateLimitWait.WithLabelValues(r.Source).Add(r.Stats.Waited.Seconds())
	if r.Err != "" {
		m.PollErrors.WithLabelValues(r.Source).Inc()
	}
}

// ObserveStep records what one clustering/rules pass did.
func (m *Metrics) ObserveStep(s pipeline.StepReport) {
	m.ItemsClustered.Add(float64(s.Cluster.Items))
	m.NewClusters.Add(float64(s.Cluster.NewClusters))
	m.Suggestions.Add(float64(s.Cluster.Suggested))
	for ev, n := range s.Cluster.Linked {
		m.AutoLinks.WithLabelValues(ev).Add(float64(n))
	}
	m.RuleEvaluations.WithLabelValues("item").Add(float64(s.Items.Items))
	m.RuleEvaluations.WithLabelValues("cluster").Add(float64(s.Clusters.Clusters))
	m.RuleDecisions.WithLabelValues("cluster").Add(float64(s.Clusters.Decisions))
	m.RuleDecisions.WithLabelValues("ignored").Add(float64(s.Items.Ignored))
	m.RuleErrors.Add(float64(s.Items.Errors + s.Clusters.Errors))
}

// ObserveSLA records one SLA evaluation run.
func (m *Metrics) ObserveSLA(r triage.RunResult, sendErr error) {
	for _, d := range r.Fired {
		m.SLAEvents.WithLabelValues(d.Event.Kind).Inc()
	}
	m.SLANotices.WithLabelValues("sent").Add(float64(r.Sent))
	if sendErr != nil {
		m.SLANotices.WithLabelValues("failed").Inc()
	}
}

// ObserveDrain records one outbox drain and the outbox's row counts after it.
func (m *Metrics) ObserveDrain(r fhsync.DrainReport, counts map[string]int) {
	m.OutboxDelivered.Add(float64(r.Delivered))
	m.OutboxFailures.WithLabelValues("retrying").Add(float64(r.Retrying))
	m.OutboxFailures.WithLabelValues("dead").Add(float64(r.Dead))
	for st, n := range counts {
		m.OutboxDepth.WithLabelValues(st).Set(float64(n))
	}
}

// ObserveJob records a job's duration and whether it failed.
func (m *Metrics) ObserveJob(job string, d time.Duration, err error) {
	m.JobDuration.WithLabelValues(job).Observe(d.Seconds())
	if err != nil {
		m.JobErrors.WithLabelValues(job).Inc()
	}
}
