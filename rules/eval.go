package rules

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/vm"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// Effect is one change a rule or route made (or would have made, when suppressed by a
// human decision), attributed to it.
type Effect struct {
	// Rule is the rule or route name.
	Rule string
	// Actor is "rule:NAME@HASH", the decision-log actor.
	Actor string
	// Field is one of the Field* constants.
	Field string
	// Op is "set", "raise", "lower" or "add" (labels).
	Op string
	// Before and After are the field's value around the effect; a list (escalation
	// chain) is joined with " -> ".
	Before, After string
	// Reason explains an ignore effect.
	Reason string
}

// String formats the effect for people and logs.
func (e Effect) String() string {
	s := fmt.Sprintf("%s %s %q -> %q", e.Field, e.Op, e.Before, e.After)
	if e.Op == "add" {
		s = fmt.Sprintf("%s add %q", e.Field, e.After)
	}
	if e.Reason != "" {
		s += fmt.Sprintf(" (reason: %s)", e.Reason)
	}
	return s + " [" + e.Actor + "]"
}

// RuleError is a run-time error of one rule on one subject: the rule was skipped.
type RuleError struct {
	Rule  string
	Actor string
	Err   string
}

// Result is what a rules set decided for one item or cluster.
type Result struct {
	// RulesVersion is the hash of the rules set that produced the result.
	RulesVersion string
	// Scope is what was evaluated.
	Scope Scope
	// Category, Severity, Owner, EscalateTo, Ignored, IgnoreReason, SLA and AutoAccept
	// are the final values: the rules' where undecided, the human's where decided.
	Category     feedback.Category
	Severity     feedback.Severity
	Owner        string
	EscalateTo   []string
	Ignored      bool
	IgnoreReason string
	SLA          string
	AutoAccept   string
	// Labels lists the labels rules added, in order, without duplicates (the subject's
	// own labels are not repeated here unless a rule added them too).
	Labels []string
	// Matched lists the rules whose condition held, in order; Route is the routing
	// entry that matched, if any.
	Matched []string
	Route   string
	// Effects lists the applied effects in order.
	Effects []Effect
	// Suppressed lists effects not applied because a human decided the field.
	Suppressed []Effect
	// Errors lists rules skipped because of a run-time error.
	Errors []RuleError
}

// EvalItem runs the item-scope rules and then routing on one item. decided holds the
// fields (Field* constants) a human has decided: their values are taken from env
// (from [Current]) and no rule changes them. Undecided fields start empty, so the
// result does not depend on what an older rules version decided.
func (s *Set) EvalItem(env ItemEnv, decided map[string]bool) Result {
	resetUndecided(&env.State, decided, "", env.State.Category, false)
	return s.eval(&env, &env.State, env.toMap(), ScopeItem, decided, nil)
}

// EvalCluster runs the cluster-scope rules and then routing on one cluster. Like
// [Set.EvalItem], but an undecided category starts at the cluster's category derived
// from its items (ClusterInput.Category) and an undecided severity at max_severity.
func (s *Set) EvalCluster(env ClusterEnv, decided map[string]bool) Result {
	resetUndecided(&env.State, decided, env.MaxSeverity, env.State.Category, true)
	return s.eval(&env, &env.State, env.toMap(), ScopeCluster, decided, nil)
}

func resetUndecided(st *State, decided map[string]bool, baseSeverity, baseCategory string, keepCategory bool) {
	if !decided[FieldCategory] {
		st.Category = ""
		if keepCategory {
			st.Category = baseCategory
		}
	}
	if !decided[FieldSeverity] {
		st.Severity = baseSeverity
	}
	st.SeverityRank = max(feedback.Severity(st.Severity).Rank(), 0)
	if !decided[FieldOwner] {
		st.Owner = ""
	}
	if !decided[FieldIgnored] {
		st.Ignored, st.IgnoreReason = false, ""
	}
	if !decided[FieldSLA] {
		st.SLA = ""
	}
	if !decided[FieldAutoAccept] {
		st.AutoAccept = ""
	}
	if !decided[FieldEscalateTo] {
		st.EscalateTo = nil
	}
}

// tracer collects what Explain shows; nil during plain evaluation.
type tracer struct {
	scope Scope
	rules []Trace
}

// eval runs the rules and routes of scope. Programs run on m, the map form of env
// (see envmap.go); st is env's state, kept in step with m after every match; env
// itself is only read by explanations.
func (s *Set) eval(env any, st *State, m map[string]any, scope Scope, decided map[string]bool, tr *tracer) Result {
	res := Result{RulesVersion: s.Hash, Scope: scope, Effects: make([]Effect, 0, 16), Matched: make([]string, 0, 8)}
	v := s.getVM()
	defer s.vms.Put(v)
	ownLabels := false
	stoppedBy := ""
	for _, r := range s.Rules {
		if r.Scope != scope {
			continue
		}
		if stoppedBy != "" {
			tr.add(Trace{Kind: "rule", Name: r.Name, When: r.When, Line: r.Line, Status: StatusSkipped, Reason: "stopped by rule " + stoppedBy})
			continue
		}
		matched, err := run(v, r.program, m)
		var t Trace
		if err != nil {
			err = errors.New(firstLine(err.Error()))
		}
		if tr != nil {
			t = Trace{Kind: "rule", Name: r.Name, When: r.When, Line: r.Line, Terms: explainTerms(r.When, scope, env)}
		}
		if err != nil {
			res.Errors = append(res.Errors, RuleError{Rule: r.Name, Actor: r.Actor, Err: err.Error()})
			t.Status, t.Reason = StatusError, err.Error()
			tr.add(t)
			continue
		}
		if !matched {
			t.Status = StatusNoMatch
			tr.add(t)
			continue
		}
		res.Matched = append(res.Matched, r.Name)
		n0, s0 := len(res.Effects), len(res.Suppressed)
		before := *st
		s.apply(r, st, decided, &res, &ownLabels)
		st.storeChanged(m, &before)
		if r.Stop {
			stoppedBy = r.Name
		}
		t.Status = StatusMatch
		t.Effects = res.Effects[n0:len(res.Effects):len(res.Effects)]
		t.Suppressed = res.Suppressed[s0:len(res.Suppressed):len(res.Suppressed)]
		tr.add(t)
	}
	for _, rt := range s.Routes {
		p := rt.programs[scope]
		if p == nil {
			continue
		}
		if res.Route != "" {
			tr.add(Trace{Kind: "route", Name: rt.Name, When: rt.When, Line: rt.Line, Status: StatusSkipped, Reason: "route " + res.Route + " matched first"})
			continue
		}
		matched, err := run(v, p, m)
		var t Trace
		if err != nil {
			err = errors.New(firstLine(err.Error()))
		}
		if tr != nil {
			t = Trace{Kind: "route", Name: rt.Name, When: rt.When, Line: rt.Line, Terms: explainTerms(rt.When, scope, env)}
		}
		switch {
		case err != nil:
			res.Errors = append(res.Errors, RuleError{Rule: rt.Name, Actor: rt.Actor, Err: err.Error()})
			t.Status, t.Reason = StatusError, err.Error()
		case !matched:
			t.Status = StatusNoMatch
		default:
			res.Route = rt.Name
			n0, s0 := len(res.Effects), len(res.Suppressed)
			before := *st
			s.route(rt, st, decided, &res)
			st.storeChanged(m, &before)
			t.Status = StatusMatch
			t.Effects = res.Effects[n0:len(res.Effects):len(res.Effects)]
			t.Suppressed = res.Suppressed[s0:len(res.Suppressed):len(res.Suppressed)]
			if st.Owner != rt.Owner && !decided[FieldOwner] {
				t.Reason = "owner " + st.Owner + " was set by a rule; the route only adds its escalation chain"
			}
		}
		tr.add(t)
	}
	res.Category = feedback.Category(st.Category)
	res.Severity = feedback.Severity(st.Severity)
	res.Owner = st.Owner
	res.EscalateTo = st.EscalateTo
	res.Ignored, res.IgnoreReason = st.Ignored, st.IgnoreReason
	res.SLA, res.AutoAccept = st.SLA, st.AutoAccept
	return res
}

func (tr *tracer) add(t Trace) {
	if tr != nil {
		tr.rules = append(tr.rules, t)
	}
}

// run evaluates one program; a non-boolean result cannot happen (programs are compiled
// with AsBool) but is reported rather than trusted.
func run(v *vm.VM, p *vm.Program, env any) (bool, error) {
	out, err := v.Run(p, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("when gave %T, not a boolean", out)
	}
	return b, nil
}

// apply applies a matched rule's effects in a fixed order: category, severity, labels,
// owner, ignore, SLA, auto-accept.
func (s *Set) apply(r *Rule, st *State, decided map[string]bool, res *Result, ownLabels *bool) {
	e := &r.Effects
	emit := func(field, op, before, after, reason string) bool {
		ef := Effect{Rule: r.Name, Actor: r.Actor, Field: field, Op: op, Before: before, After: after, Reason: reason}
		if decided[field] {
			res.Suppressed = append(res.Suppressed, ef)
			return false
		}
		res.Effects = append(res.Effects, ef)
		return true
	}
	if e.Category != "" && emit(FieldCategory, "set", st.Category, string(e.Category), "") {
		st.Category = string(e.Category)
	}
	if sev, op, ok := e.severity(feedback.Severity(st.Severity)); ok && emit(FieldSeverity, op, st.Severity, string(sev), "") {
		st.Severity = string(sev)
		st.SeverityRank = max(sev.Rank(), 0)
	}
	for _, lb := range e.Labels {
		if slices.Contains(res.Labels, lb) {
			continue
		}
		if emit(FieldLabels, "add", "", lb, "") {
			res.Labels = append(res.Labels, lb)
			if !slices.Contains(st.Labels, lb) {
				if !*ownLabels {
					st.Labels = slices.Clone(st.Labels)
					*ownLabels = true
				}
				st.Labels = append(st.Labels, lb)
			}
		}
	}
	if e.Owner != "" && emit(FieldOwner, "set", st.Owner, e.Owner, "") {
		st.Owner = e.Owner
	}
	if e.Ignore != "" && emit(FieldIgnored, "set", strconv.FormatBool(st.Ignored), "true", e.Ignore) {
		st.Ignored, st.IgnoreReason = true, e.Ignore
	}
	if e.SLA != "" && emit(FieldSLA, "set", st.SLA, e.SLA, "") {
		st.SLA = e.SLA
	}
	if e.AutoAccept != "" && emit(FieldAutoAccept, "set", st.AutoAccept, e.AutoAccept, "") {
		st.AutoAccept = e.AutoAccept
	}
}

// severity computes the severity effect on cur, if the rule has one.
func (e *Effects) severity(cur feedback.Severity) (feedback.Severity, string, bool) {
	switch {
	case e.Severity != "":
		return e.Severity, "set", true
	case e.RaiseSeverity > 0:
		return cur.Raise(e.RaiseSeverity), "raise", true
	case e.LowerSeverity > 0:
		if cur == feedback.SeverityNone {
			return cur, "lower", true // nothing to lower: an unassessed severity stays so
		}
		return cur.Raise(-e.LowerSeverity), "lower", true
	}
	return "", "", false
}

// route applies a matched routing entry: the owner unless a rule already set one, and
// the escalation chain.
func (s *Set) route(rt *Route, st *State, decided map[string]bool, res *Result) {
	emit := func(field, before, after string) bool {
		ef := Effect{Rule: rt.Name, Actor: rt.Actor, Field: field, Op: "set", Before: before, After: after}
		if decided[field] {
			res.Suppressed = append(res.Suppressed, ef)
			return false
		}
		res.Effects = append(res.Effects, ef)
		return true
	}
	if st.Owner == "" || decided[FieldOwner] {
		if emit(FieldOwner, st.Owner, rt.Owner) {
			st.Owner = rt.Owner
		}
	}
	if len(rt.EscalateTo) > 0 && emit(FieldEscalateTo, strings.Join(st.EscalateTo, " -> "), strings.Join(rt.EscalateTo, " -> ")) {
		st.EscalateTo = slices.Clone(rt.EscalateTo)
	}
}
