package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/rules"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
	"github.com/feedbackhub/feedbackhub/triage"
)

// TestClusterRuleSeverityReachesSLAClocks: a cluster rule that raises a running
// cluster's severity (a second report joined) retimes its SLA clocks: the log gets
// the severity event, and the clocks are not stopped (a rule is not a response).
func TestClusterRuleSeverityReachesSLAClocks(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		p.Clock.(*clock.Fake).Advance(24 * time.Hour) // after the reports
		set, err := rules.Parse("rules.yaml", []byte(`rules:
  - name: default-medium
    scope: item
    when: 'severity == ""'
    set: {severity: medium}
  - name: second-report
    scope: cluster
    when: 'items_count >= 2'
    raise_severity: 1
`))
		if err != nil {
			t.Fatal(err)
		}
		p.Rules = rules.NewHolder(set)
		h := config.Duration(time.Hour)
		engine, err := triage.NewEngine(config.SLA{Policies: []config.SLAPolicy{{Name: "default", Targets: map[string]map[string]config.Duration{
			"medium": {"first_response": 8 * h, "resolution": 240 * h}, "high": {"first_response": 2 * h, "resolution": 48 * h}}}}}, "")
		if err != nil {
			t.Fatal(err)
		}
		bill := outage()[3]
		ingestAll(t, s, bill)
		if _, err := p.Step(ctx, engine); err != nil {
			t.Fatal(err)
		}
		it, _ := s.ItemByExternalID(ctx, "mail", bill.ExternalID)
		c, _ := s.Cluster(ctx, *it.ClusterID)
		if c.Severity != feedback.SeverityMedium {
			t.Fatalf("severity after one report = %s", c.Severity)
		}
		// The same complaint from a colleague: identical text, it joins the cluster.
		again := bill
		again.ExternalID, again.AuthorEmail = "<m9@contoso.example>", "finance@contoso.example"
		again.CreatedAt, again.UpdatedAt = again.CreatedAt.Add(time.Hour), again.UpdatedAt.Add(time.Hour)
		ingestAll(t, s, again)
		if _, err := p.Step(ctx, engine); err != nil {
			t.Fatal(err)
		}
		c, _ = s.Cluster(ctx, c.ID)
		if c.Severity != feedback.SeverityHigh || c.ItemsCount != 2 {
			t.Fatalf("after the second report: severity %s, %d items", c.Severity, c.ItemsCount)
		}
		log, err := s.SLAEvents(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var sev, stops int
		for _, e := range log {
			switch e.Kind {
			case triage.EventSeverity:
				sev++
			case triage.EventStop:
				stops++
			}
		}
		if sev != 1 || stops != 0 {
			t.Fatalf("SLA log: %d severity events (want 1), %d stops (want 0): %+v", sev, stops, log)
		}
	})
}
