package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/normalize"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/store/storetest"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// scripted is a connector that returns one scripted result per poll and records the
// cursors it was given.
type scripted struct {
	name    string
	results []connectors.Result
	errs    []error
	seen    *[]string
}

func (s *scripted) Name() string { return s.name }
func (s *scripted) Kind() string { return "github" }
func (s *scripted) Close() error { return nil }
func (s *scripted) Poll(_ context.Context, c feedback.Cursor) (connectors.Result, error) {
	*s.seen = append(*s.seen, c.Value)
	i := len(*s.seen) - 1
	if i < len(s.errs) && s.errs[i] != nil {
		return connectors.Result{Stats: connectors.Stats{Requests: 1}}, s.errs[i]
	}
	if i < len(s.results) {
		return s.results[i], nil
	}
	return connectors.Result{Next: c}, nil
}

func issue(id, rev, title string) feedback.Record {
	return feedback.Record{Source: "gh", ExternalID: id, Revision: rev, Kind: feedback.KindIssue, Title: title,
		Author: "nw-ops", CreatedAt: t0, UpdatedAt: t0}
}

func newPipeline(t testing.TB, s *store.Store, conns map[string]*scripted) *Pipeline {
	cfg := config.Default(t.TempDir())
	cfg.Partners = []config.Partner{{ID: "northwind", Domains: []string{"northwind.example"}, GitHubLogins: []string{"nw-ops"}}}
	reg := connectors.NewRegistry()
	if err := reg.Register("github", func(src config.Source, _ connectors.Env) (connectors.Connector, error) {
		return conns[src.Name], nil
	}); err != nil {
		t.Fatal(err)
	}
	for name := range conns {
		cfg.Sources = append(cfg.Sources, config.Source{Name: name, Kind: "github"})
	}
	return &Pipeline{Store: s, Config: cfg, Registry: reg, Clock: clock.NewFake(t0), Logger: slog.New(slog.DiscardHandler), Redactor: connectors.NewRedactor()}
}

func TestSyncOnceStoresRecordsAndCursorTogether(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var seen []string
		comment := feedback.Record{Source: "gh", ExternalID: "c1", Revision: "1", Kind: feedback.KindComment, ParentExternalID: "1", Body: "same here", CreatedAt: t0, UpdatedAt: t0}
		conn := &scripted{name: "gh", seen: &seen, results: []connectors.Result{
			{Records: []feedback.Record{issue("1", "r1", "Deploy fails"), comment}, Next: feedback.Cursor{Value: "c-1"}, Stats: connectors.Stats{Fetched: 2, Requests: 2}},
			{Records: []feedback.Record{issue("1", "r1", "Deploy fails")}, Next: feedback.Cursor{Value: "c-2"}, Stats: connectors.Stats{Fetched: 1, Requests: 1}},
			{Records: []feedback.Record{issue("1", "r2", "Deploy fails on eu-west")}, Next: feedback.Cursor{Value: "c-3"}},
		}}
		p := newPipeline(t, s, map[string]*scripted{"gh": conn})
		reps, err := p.SyncOnce(ctx, "")
		if err != nil || len(reps) != 1 {
			t.Fatalf("sync: %v %v", reps, err)
		}
		if r := reps[0]; r.New != 2 || r.Items != 1 || r.Messages != 1 || r.Stats.Requests != 2 {
			t.Fatalf("report = %+v", r)
		}
		if !strings.Contains(reps[0].Line(), "fetched=2 new=2 updated=0 requests=2") {
			t.Fatalf("line = %q", reps[0].Line())
		}
		// Repeat: nothing new, cursor advanced.
		reps, _ = p.SyncOnce(ctx, "gh")
		if r := reps[0]; r.New != 0 || r.Items != 0 || r.Updated != 0 {
			t.Fatalf("repeat report = %+v", r)
		}
		// Edit: a new revision updates the item.
		reps, _ = p.SyncOnce(ctx, "gh")
		if r := reps[0]; r.New != 1 || r.Updated != 1 {
			t.Fatalf("edit report = %+v", r)
		}
		if strings.Join(seen, ",") != ",c-1,c-2" {
			t.Fatalf("cursors given to the connector = %q", seen)
		}
		it, err := s.ItemByExternalID(ctx, "gh", "1")
		if err != nil || it.Title != "Deploy fails on eu-west" || it.Partner != "northwind" {
			t.Fatalf("item = %+v, %v", it, err)
		}
		if _, err := p.SyncOnce(ctx, "nope"); err == nil {
			t.Fatal("unknown source accepted")
		}
	})
}

func TestSyncOnceFailureKeepsCursorAndOtherSources(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var seenA, seenB []string
		bad := &scripted{name: "a", seen: &seenA, errs: []error{errors.New("upstream broke")}}
		good := &scripted{name: "b", seen: &seenB, results: []connectors.Result{{Records: []feedback.Record{func() feedback.Record {
			r := issue("9", "1", "x")
			r.Source = "b"
			return r
		}()}, Next: feedback.Cursor{Value: "b-1"}}}}
		p := newPipeline(t, s, map[string]*scripted{"a": bad, "b": good})
		reps, err := p.SyncOnce(ctx, "")
		if err == nil || !strings.Contains(err.Error(), "source a: upstream broke") {
			t.Fatalf("err = %v", err)
		}
		if len(reps) != 2 {
			t.Fatalf("reports = %+v", reps)
		}
		if c, _ := s.Cursor(ctx, "a"); c.Value != "" {
			t.Fatalf("failed source's cursor moved to %q", c.Value)
		}
		if c, _ := s.Cursor(ctx, "b"); c.Value != "b-1" {
			t.Fatalf("healthy source's cursor = %q", c.Value)
		}
	})
}

func TestProcessThreadsQuarantinesAndOrphans(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		first := feedback.Record{Source: "mail", ExternalID: "<a@nw>", Revision: "1", Kind: feedback.KindEmail, Title: "Billing",
			AuthorEmail: "ops@eu.northwind.example", Body: "charged twice", CreatedAt: t0, UpdatedAt: t0}
		reply := feedback.Record{Source: "mail", ExternalID: "<b@nw>", Revision: "1", Kind: feedback.KindEmail, Title: "Re: Billing",
			ThreadRefs: []string{"<a@nw>"}, Body: "any news?", CreatedAt: t0, UpdatedAt: t0}
		auto := feedback.Record{Source: "mail", ExternalID: "<c@x>", Revision: "1", Kind: feedback.KindEmail, Quarantine: "auto-submitted: auto-replied", CreatedAt: t0, UpdatedAt: t0}
		orphan := feedback.Record{Source: "mail", ExternalID: "k1", Revision: "1", Kind: feedback.KindComment, ParentExternalID: "missing", CreatedAt: t0, UpdatedAt: t0}
		if _, err := s.Ingest(ctx, "mail", []feedback.Record{first, reply, auto, orphan}, nil); err != nil {
			t.Fatal(err)
		}
		rep, err := p.Process(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Items != 1 || rep.Messages != 1 || rep.Quarantined != 1 || rep.Orphans != 1 || rep.Records != 4 {
			t.Fatalf("report = %+v", rep)
		}
		items, _ := s.Items(ctx, store.ItemFilter{Source: "mail"})
		if len(items) != 1 || items[0].Partner != "northwind" {
			t.Fatalf("items = %+v", items)
		}
		// A second pass finds nothing left to do.
		if rep, _ := p.Process(ctx); rep.Records != 0 {
			t.Fatalf("second pass = %+v", rep)
		}
	})
}

func TestAttribute(t *testing.T) {
	ps := []feedback.Partner{{ID: "nw", Domains: []string{"northwind.example"}, GitHubLogins: []string{"NW-Ops"}, JiraAccounts: []string{"5b10"}}}
	tests := []struct {
		r    feedback.Record
		want string
	}{
		{feedback.Record{AuthorEmail: "a@northwind.example"}, "nw"},
		{feedback.Record{AuthorEmail: "a@mail.northwind.example"}, "nw"},
		{feedback.Record{AuthorEmail: "a@notnorthwind.example"}, feedback.UnknownPartner},
		{feedback.Record{Author: "nw-ops"}, "nw"},
		{feedback.Record{Author: "5b10"}, "nw"},
		{feedback.Record{Meta: map[string]string{"partner": "nw"}}, "nw"},
		{feedback.Record{Meta: map[string]string{"partner": "acme"}}, feedback.UnknownPartner}, // not configured
		{feedback.Record{Author: "someone"}, feedback.UnknownPartner},
	}
	for _, tt := range tests {
		if got := normalize.Attribute(tt.r, ps); got != tt.want {
			t.Errorf("Attribute(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestThreadingBySubjectAndHubNotice(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := newPipeline(t, s, nil)
		mail := func(id, title, from string, at time.Time, refs ...string) feedback.Record {
			return feedback.Record{Source: "mail", ExternalID: id, Revision: "1", Kind: feedback.KindEmail, Title: title,
				AuthorEmail: from, Author: from, ThreadRefs: refs, Body: "text of " + id, CreatedAt: at, UpdatedAt: at}
		}
		recs := []feedback.Record{
			mail("<a@nw>", "Invoice charged twice", "ops@northwind.example", t0),
			// A reply whose client dropped In-Reply-To: same subject, same domain.
			mail("<b@nw>", "AW: Invoice charged twice", "cfo@northwind.example", t0.Add(24*time.Hour)),
			// Same subject from another company: a new thread.
			mail("<c@ct>", "Re: Invoice charged twice", "ap@contoso.example", t0.Add(25*time.Hour)),
			// Not a reply, same subject: a new report.
			mail("<d@nw>", "Invoice charged twice", "ops@northwind.example", t0.Add(26*time.Hour)),
			// Too late for the subject fallback (over 30 days).
			mail("<e@nw>", "Re: Invoice charged twice", "ops@northwind.example", t0.Add(40*24*time.Hour)),
		}
		ingestAll(t, s, recs...)
		if _, err := p.Process(ctx); err != nil {
			t.Fatal(err)
		}
		first, _ := s.ItemByExternalID(ctx, "mail", "<a@nw>")
		// A partner answers the hub's close-the-loop notice about the first item; only
		// the notice's Message-ID is in its references.
		notice := "<fh-notify.resolved.7." + strconv.FormatInt(first.ID, 10) + "@feedbackhub>"
		ingestAll(t, s, mail("<f@nw>", "Re: [feedbackhub] resolved", "ops@northwind.example", t0.Add(41*24*time.Hour), notice))
		if _, err := p.Process(ctx); err != nil {
			t.Fatal(err)
		}
		items, _ := s.Items(ctx, store.ItemFilter{Source: "mail"})
		var ids []string
		for _, it := range items {
			ids = append(ids, it.ExternalID)
		}
		if strings.Join(ids, " ") != "<a@nw> <c@ct> <d@nw> <e@nw>" {
			t.Fatalf("items = %v; want b and f threaded as messages", ids)
		}
	})
}
