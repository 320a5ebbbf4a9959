// Package rules loads, lints, tests, explains and evaluates feedbackhub's rules file
// (rules.yaml): an ordered list of classification rules, a routing table and the list
// of categories.
//
// A rule has a scope (item or cluster), a boolean expr-lang expression in `when`,
// effects (category, severity set/raise/lower, labels, owner, ignore with a reason, an
// SLA policy override, auto-accept to a sync target) and an optional `stop`. Every
// expression is compiled once, at load, against a typed environment ([ItemEnv] or
// [ClusterEnv]), so a misspelled field is a lint error and not a silent false at run
// time. A loaded [Set] is identified by a short sha256 of the file content, and every
// effect it produces is attributed to `rule:NAME@HASH`, so the decision log can say
// which rule of which version did what.
//
// Evaluation never overrides a field a human has decided: callers pass the set of
// decided fields, and effects on those fields are reported as suppressed instead of
// applied. A run-time error in one rule skips that rule for that subject and is recorded
// in the [Result]; the other rules still apply.
//
// The environment fields and helper functions are listed in FIELDS.md next to this
// file; `go test ./rules -update` regenerates it from [Fields].
package rules
