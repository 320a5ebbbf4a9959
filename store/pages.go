package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// Page bounds a listing: at most Limit rows (1…1000, default 50) after skipping Offset.
type Page struct {
	Limit  int
	Offset int
}

func (p Page) clause() string {
	l := p.Limit
	if l <= 0 {
		l = 50
	}
	l = min(l, 1000)
	return fmt.Sprintf(" LIMIT %d OFFSET %d", l, max(p.Offset, 0))
}

// where collects filter conditions and their arguments; conditions are constants.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, arg any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, arg)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// ItemQuery filters items for the API; empty fields do not filter.
type ItemQuery struct {
	Source, Partner, Status string
	Category                feedback.Category
	Severity                feedback.Severity
	ClusterID               int64
	Page
}

// ItemsPage lists items in id order with the total number matching the filters.
func (s *Store) ItemsPage(ctx context.Context, q ItemQuery) ([]feedback.Item, int, error) {
	var w where
	if q.Source != "" {
		w.add("source = ?", q.Source)
	}
	if q.Partner != "" {
		w.add("partner = ?", q.Partner)
	}
	if q.Status != "" {
		w.add("status = ?", q.Status)
	}
	if q.Category != "" {
		w.add("category = ?", string(q.Category))
	}
	if q.Severity != "" {
		w.add("severity = ?", string(q.Severity))
	}
	if q.ClusterID != 0 {
		w.add("cluster_id = ?", q.ClusterID)
	}
	var total int
	if err := s.db.GetContext(ctx, &total, s.db.Rebind("SELECT count(*) FROM items"+w.sql()), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: items page: %w", err)
	}
	var rows []itemRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind("SELECT "+itemColumns+" FROM items"+w.sql()+" ORDER BY id"+q.Page.clause()), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: items page: %w", err)
	}
	out := make([]feedback.Item, 0, len(rows))
	for _, r := range rows {
		it, err := r.item()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, it)
	}
	return out, total, nil
}

// ClusterQuery filters clusters for the API; empty fields do not filter.
type ClusterQuery struct {
	Status   feedback.Status
	Category feedback.Category
	Severity feedback.Severity
	Owner    string
	// NonEmpty keeps clusters with at least one item.
	NonEmpty bool
	Page
}

// ClustersPage lists clusters, most recently seen first, with the total matching.
func (s *Store) ClustersPage(ctx context.Context, q ClusterQuery) ([]feedback.Cluster, int, error) {
	var w where
	if q.Status != "" {
		w.add("status = ?", string(q.Status))
	}
	if q.Category != "" {
		w.add("category = ?", string(q.Category))
	}
	if q.Severity != "" {
		w.add("severity = ?", string(q.Severity))
	}
	if q.Owner != "" {
		w.add("owner = ?", q.Owner)
	}
	if q.NonEmpty {
		w.conds = append(w.conds, "items_count > 0")
	}
	var total int
	if err := s.db.GetContext(ctx, &total, s.db.Rebind("SELECT count(*) FROM clusters"+w.sql()), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: clusters page: %w", err)
	}
	var rows []clusterRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind("SELECT "+clusterColumns+" FROM clusters"+w.sql()+" ORDER BY last_seen DESC, id DESC"+q.Page.clause()), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: clusters page: %w", err)
	}
	out := make([]feedback.Cluster, 0, len(rows))
	for _, r := range rows {
		c, err := r.cluster()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	return out, total, nil
}

// DecisionQuery filters the decision log for the API; empty fields do not filter.
type DecisionQuery struct {
	Target, Actor string
	Action        feedback.Action
	Since         time.Time
	Page
}

// DecisionsPage lists decisions in log order with the total matching.
func (s *Store) DecisionsPage(ctx context.Context, q DecisionQuery) ([]feedback.Decision, int, error) {
	var w where
	if q.Target != "" {
		w.add("target = ?", q.Target)
	}
	if q.Actor != "" {
		w.add("actor = ?", q.Actor)
	}
	if q.Action != "" {
		w.add("action = ?", string(q.Action))
	}
	if !q.Since.IsZero() {
		w.add("at >= ?", q.Since.UTC())
	}
	var total int
	if err := s.db.GetContext(ctx, &total, s.db.Rebind("SELECT count(*) FROM decisions"+w.sql()), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: decisions page: %w", err)
	}
	out := []feedback.Decision{}
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT id, at, actor, action, target, before_value, after_value, reason, rules_version
		FROM decisions`+w.sql()+" ORDER BY id"+q.Page.clause()), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: decisions page: %w", err)
	}
	for i := range out {
		out[i].At = out[i].At.UTC()
	}
	return out, total, nil
}

// TicketQuery filters tickets for the API.
type TicketQuery struct {
	Target, Status string
	ClusterID      int64
	Page
}

// TicketsPage lists tickets in id order with the total matching.
func (s *Store) TicketsPage(ctx context.Context, q TicketQuery) ([]TicketRecord, int, error) {
	var w where
	if q.Target != "" {
		w.add("target = ?", q.Target)
	}
	if q.Status != "" {
		w.add("status = ?", q.Status)
	}
	if q.ClusterID != 0 {
		w.add("cluster_id = ?", q.ClusterID)
	}
	var total int
	if err := s.db.GetContext(ctx, &total, s.db.Rebind("SELECT count(*) FROM tickets"+w.sql()), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: tickets page: %w", err)
	}
	var rows []ticketRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind("SELECT "+ticketColumns+" FROM tickets"+w.sql()+" ORDER BY id"+q.Page.clause()), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: tickets page: %w", err)
	}
	out := make([]TicketRecord, 0, len(rows))
	for _, r := range rows {
		t, err := r.ticket()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, nil
}
