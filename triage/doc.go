// Package triage is the triage loop's logic: SLA policies on business calendars and
// the clocks computed from each cluster's append-only SLA event log; warnings,
// breaches and escalation along the routing chain, each fired exactly once through
// idempotency keys the store enforces; notification channels (SMTP email, JSON and
// Slack-compatible webhooks); the cluster state machine and the decisions that move
// it, for the append-only decision log; and the weekly review digest in Markdown and
// HTML.
//
// The package holds no SQL. It reads and writes through small interfaces
// (EventLog, ClockLog, ClusterStore, DecisionLog) that *store.Store satisfies or
// will, and it takes time from an injected clock.
package triage
