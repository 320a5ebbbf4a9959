package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// List is the body of every API listing: one page of Data, the Total matching the
// filters, and NextOffset (absent on the last page).
type List[T any] struct {
	Data       []T  `json:"data"`
	Total      int  `json:"total"`
	Limit      int  `json:"limit"`
	Offset     int  `json:"offset"`
	NextOffset *int `json:"next_offset,omitempty"`
}

func newList[T any](data []T, total int, pg store.Page) List[T] {
	if data == nil {
		data = []T{}
	}
	l := List[T]{Data: data, Total: total, Limit: pg.Limit, Offset: pg.Offset}
	if next := pg.Offset + len(data); next < total && len(data) > 0 {
		l.NextOffset = &next
	}
	return l
}

func (s *Server) mountAPI() {
	v, tr, ad := config.RoleViewer, config.RoleTriager, config.RoleAdmin
	s.route("GET /api/v1/items", "api_items", s.require(v, s.listItems))
	s.route("GET /api/v1/items/{id}", "api_item", s.require(v, s.getItem))
	s.route("GET /api/v1/clusters", "api_clusters", s.require(v, s.listClusters))
	s.route("GET /api/v1/clusters/{id}", "api_cluster", s.require(v, s.getCluster))
	s.route("GET /api/v1/decisions", "api_decisions", s.require(v, s.listDecisions))
	s.route("POST /api/v1/decisions", "api_decide", s.require(tr, s.decide))
	s.route("GET /api/v1/sla", "api_sla", s.require(v, s.listSLA))
	s.route("GET /api/v1/tickets", "api_tickets", s.require(v, s.listTickets))
	s.route("GET /api/v1/status", "api_status", s.require(v, s.getStatus))
	s.route("POST /api/v1/outbox/{id}/retry", "api_outbox_retry", s.require(ad, s.retryOutbox))
	s.route("POST /api/v1/rules/reload", "api_rules_reload", s.require(ad, s.reloadRules))
	s.route("/api/", "api_unknown", s.require(v, func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	}))
}

// query reads filters and the page from a request, collecting every bad parameter.
type query struct {
	r    *http.Request
	errs []string
}

func (q *query) str(name string) string { return strings.TrimSpace(q.r.URL.Query().Get(name)) }

func (q *query) int64(name string) int64 {
	v := q.str(name)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		q.errs = append(q.errs, fmt.Sprintf("%s: %q is not a non-negative integer", name, v))
	}
	return n
}

func (q *query) since(name string, now time.Time) time.Time {
	v := q.str(name)
	if v == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t
	}
	d, err := config.ParseDuration(v)
	if err != nil {
		q.errs = append(q.errs, fmt.Sprintf("%s: %q is neither RFC 3339 nor a duration like 7d", name, v))
		return time.Time{}
	}
	return now.Add(-d)
}

func (q *query) page() store.Page {
	pg := store.Page{Limit: int(q.int64("limit")), Offset: int(q.int64("offset"))}
	if pg.Limit == 0 {
		pg.Limit = 50
	}
	if pg.Limit > 1000 {
		q.errs = append(q.errs, "limit: at most 1000")
	}
	return pg
}

// ok writes the 400 for bad parameters and reports whether there were none.
func (q *query) ok(s *Server, w http.ResponseWriter) bool {
	if len(q.errs) == 0 {
		return true
	}
	s.fail(w, http.StatusBadRequest, "bad query: %s", strings.Join(q.errs, "; "))
	return false
}

func pathID(s *Server, w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, http.StatusBadRequest, "bad id %q", r.PathValue("id"))
		return 0, false
	}
	return id, true
}

func (s *Server) listItems(w http.ResponseWriter, r *http.Request) {
	q := &query{r: r}
	iq := store.ItemQuery{Source: q.str("source"), Partner: q.str("partner"), Status: q.str("status"),
		Category: feedback.Category(q.str("category")), Severity: feedback.Severity(q.str("severity")), ClusterID: q.int64("cluster"), Page: q.page()}
	if !q.ok(s, w) {
		return
	}
	items, total, err := s.P.Store.ItemsPage(r.Context(), iq)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(items, total, iq.Page))
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(s, w, r)
	if !ok {
		return
	}
	it, err := s.P.Store.Item(r.Context(), id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (s *Server) listClusters(w http.ResponseWriter, r *http.Request) {
	q := &query{r: r}
	cq := store.ClusterQuery{Status: feedback.Status(q.str("status")), Category: feedback.Category(q.str("category")),
		Severity: feedback.Severity(q.str("severity")), Owner: q.str("owner"), NonEmpty: q.str("all") != "true", Page: q.page()}
	if !q.ok(s, w) {
		return
	}
	cs, total, err := s.P.Store.ClustersPage(r.Context(), cq)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(cs, total, cq.Page))
}

// getCluster answers the cluster with its items, why each is in it, and its decisions.
func (s *Server) getCluster(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(s, w, r)
	if !ok {
		return
	}
	v, err := s.P.ClusterView(r.Context(), id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) listDecisions(w http.ResponseWriter, r *http.Request) {
	q := &query{r: r}
	dq := store.DecisionQuery{Target: q.str("target"), Actor: q.str("actor"), Action: feedback.Action(q.str("action")),
		Since: q.since("since", s.Clock.Now()), Page: q.page()}
	if !q.ok(s, w) {
		return
	}
	ds, total, err := s.P.Store.DecisionsPage(r.Context(), dq)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(ds, total, dq.Page))
}

// DecideRequest is the body of POST /api/v1/decisions. The actor is the token's name.
type DecideRequest struct {
	Action string `json:"action"`
	Target string `json:"target"` // cluster:ID, or item:ID to unmerge one item
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	var req DecideRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.fail(w, http.StatusBadRequest, "bad body: %v", err)
		return
	}
	if strings.TrimSpace(req.Reason) == "" {
		s.fail(w, http.StatusBadRequest, "reason: required (every decision says why)")
		return
	}
	tr := triage.Request{Action: feedback.Action(req.Action), Target: req.Target, Value: req.Value, Reason: req.Reason, Actor: p.Name}
	if err := tr.Validate(); err != nil {
		s.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	ch, err := s.applyDecision(r, tr)
	if err != nil {
		var te *triage.TransitionError
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrStaleCluster) || errors.As(err, &te) {
			s.failErr(w, r, err)
			return
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			// Waiting for a clustering pass (merges) outlasted the request.
			s.fail(w, http.StatusServiceUnavailable, "%v", err)
			return
		}
		s.fail(w, http.StatusUnprocessableEntity, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, ch)
}

// applyDecision accepts through the syncer when sync targets exist (the decision and
// the ticket's outbox row in one transaction), and everything else through the
// pipeline, which moves items on merge and unmerge.
func (s *Server) applyDecision(r *http.Request, tr triage.Request) (triage.Change, error) {
	if tr.Action == feedback.ActionAccept && s.Syncer != nil && len(s.Syncer.Targets) > 0 {
		id, err := triage.ParseClusterTarget(tr.Target)
		if err != nil {
			return triage.Change{}, err
		}
		res, err := s.Syncer.Accept(r.Context(), id, tr.Actor, tr.Reason)
		return res.Change, err
	}
	svc := &triage.Service{Clusters: s.P.Store, Decisions: s.P.Store, SLA: s.P.Store, Engine: s.Engine, Clock: s.Clock}
	return s.P.Decide(r.Context(), svc, tr)
}

// SLAStatus is one open cluster's SLA state for the API.
type SLAStatus struct {
	ClusterID int64                `json:"cluster_id"`
	Title     string               `json:"title"`
	Status    feedback.Status      `json:"status"`
	Policy    string               `json:"policy"`
	Paused    bool                 `json:"paused"`
	Breached  []triage.SLAEntry    `json:"breached,omitempty"`
	AtRisk    []triage.SLAEntry    `json:"at_risk,omitempty"`
	Metrics   []triage.MetricState `json:"metrics"`
}

// listSLA answers the SLA state of open clusters; ?risk=true keeps only breached and
// at-risk ones.
func (s *Server) listSLA(w http.ResponseWriter, r *http.Request) {
	q := &query{r: r}
	pg := q.page()
	onlyRisk := q.str("risk") == "true"
	if !q.ok(s, w) {
		return
	}
	now := s.Clock.Now()
	all, err := s.openClusterSLA(r, now)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	var out []SLAStatus
	for _, st := range all {
		if onlyRisk && len(st.Breached) == 0 && len(st.AtRisk) == 0 {
			continue
		}
		out = append(out, st)
	}
	total := len(out)
	lo := min(pg.Offset, total)
	hi := min(lo+pg.Limit, total)
	writeJSON(w, http.StatusOK, newList(out[lo:hi], total, pg))
}

func (s *Server) openClusterSLA(r *http.Request, now time.Time) ([]SLAStatus, error) {
	clusters, err := s.P.Store.Clusters(r.Context(), store.ClusterFilter{NonEmpty: true, Limit: 100000})
	if err != nil {
		return nil, err
	}
	var out []SLAStatus
	for _, c := range clusters {
		if triage.IsTerminal(c.Status) {
			continue
		}
		evs, err := s.P.Store.SLAEvents(r.Context(), c.ID)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			continue
		}
		st, err := s.Engine.State(c.ID, evs, now)
		if err != nil {
			return nil, err
		}
		b, a := triage.SLAEntries(st, c.Title, c.Owner, now, 0.75)
		out = append(out, SLAStatus{ClusterID: c.ID, Title: c.Title, Status: c.Status, Policy: st.Policy, Paused: st.Paused(),
			Breached: b, AtRisk: a, Metrics: st.Metrics})
	}
	return out, nil
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	q := &query{r: r}
	tq := store.TicketQuery{Target: q.str("target"), Status: q.str("status"), ClusterID: q.int64("cluster"), Page: q.page()}
	if !q.ok(s, w) {
		return
	}
	ts, total, err := s.P.Store.TicketsPage(r.Context(), tq)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(ts, total, tq.Page))
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	rep, err := BuildStatus(r.Context(), s.P, s.Engine, s.Clock.Now())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) retryOutbox(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(s, w, r)
	if !ok {
		return
	}
	row, err := s.P.Store.RetryOutbox(r.Context(), id)
	if errors.Is(err, store.ErrNotDead) {
		s.fail(w, http.StatusConflict, "outbox %d: %v", id, err)
		return
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, row)
}

func (s *Server) reloadRules(w http.ResponseWriter, r *http.Request) {
	if err := s.ReloadRules(); err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded", "rules_version": s.rulesVersion()})
}

// ReloadRules reloads the rules file; a bad file keeps the rules in use. Both
// outcomes are logged and counted.
func (s *Server) ReloadRules() error {
	if s.P.Rules == nil {
		s.Metrics.RulesReloads.WithLabelValues("error").Inc()
		return errors.New("no rules file was loaded at start; restart to pick one up")
	}
	before := s.rulesVersion()
	if err := s.P.Rules.Reload(s.RulesPath); err != nil {
		s.Metrics.RulesReloads.WithLabelValues("error").Inc()
		s.Logger.Error("rules reload failed; keeping the rules in use", "file", s.RulesPath, "version", before, "err", err)
		return err
	}
	s.Metrics.RulesReloads.WithLabelValues("ok").Inc()
	if after := s.rulesVersion(); after != before {
		s.Logger.Info("rules reloaded", "file", s.RulesPath, "from", before, "to", after)
	}
	return nil
}

func (s *Server) rulesVersion() string {
	if s.P.Rules == nil || s.P.Rules.Current() == nil {
		return ""
	}
	return s.P.Rules.Current().Hash
}
