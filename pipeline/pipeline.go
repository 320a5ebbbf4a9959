// Package pipeline wires feedbackhub's stages together: connectors → intake (store) →
// projection into items → (normalize, rules, triage as they land) → outbox. It owns
// no SQL and no source protocol; it decides what runs in which order.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/connectors/mailparse"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/normalize"
	"github.com/feedbackhub/feedbackhub/rules"
	"github.com/feedbackhub/feedbackhub/store"
)

// Pipeline holds what every stage needs.
type Pipeline struct {
	Store    *store.Store
	Config   *config.Config
	Registry *connectors.Registry
	Clock    clock.Clock
	Logger   *slog.Logger
	Redactor *connectors.Redactor
	// Rules classifies items and clusters; nil means no rules file.
	Rules *rules.Holder

	dedupOnce sync.Mutex
	dd        *dedup
	// replyMark is the newest message id whose cluster StartSLAs has looked at
	// (partner replies restart next_response; see Store.ClustersWithPartnerReplies).
	replyMu   sync.Mutex
	replyMark int64
	// lastPass is when the last cluster-rules pass under rules lastPassHash began.
	lastPass     time.Time
	lastPassHash string

	// serialClustering stores each chunk of a clustering pass before deciding the
	// next (tests compare it with the overlapped default); analyzeHook runs before
	// each item's analysis (tests inject failures).
	serialClustering bool
	analyzeHook      func(feedback.Item)
	// sliceTime is how long a clustering pass holds the lock at a time (0:
	// defaultSliceTime; negative: the whole pass); tests shorten it.
	sliceTime time.Duration
}

// SourceReport is what one source's poll did.
type SourceReport struct {
	Source   string           `json:"source"`
	Kind     string           `json:"kind"`
	Stats    connectors.Stats `json:"stats"`
	New      int              `json:"new"`      // records stored for the first time
	Items    int              `json:"items"`    // items created
	Updated  int              `json:"updated"`  // items or messages changed by a new revision
	Messages int              `json:"messages"` // comments/replies created
	Err      string           `json:"error,omitempty"`
}

// Line renders the report as one line for `sync --once`.
func (r SourceReport) Line() string {
	s := fmt.Sprintf("%-16s fetched=%d new=%d updated=%d requests=%d not-modified=%d waited=%s",
		r.Source, r.Stats.Fetched, r.Items+r.Messages, r.Updated, r.Stats.Requests, r.Stats.NotModified, r.Stats.Waited.Round(time.Millisecond))
	if r.Err != "" {
		s += " error=" + r.Err
	}
	return s
}

// Pollable reports whether sources of this kind are polled (webhook sources only receive).
func Pollable(kind string) bool { return kind != config.KindWebhook }

// SyncOnce polls each configured source (or only the named one) once, stores what it
// found together with the new cursor, and projects the new records into items. One
// failing source does not stop the others; the joined error lists every failure.
func (p *Pipeline) SyncOnce(ctx context.Context, only string) ([]SourceReport, error) {
	var reports []SourceReport
	var errs []error
	found := only == ""
	for _, src := range p.Config.Sources {
		if only != "" && src.Name != only {
			continue
		}
		found = true
		if !Pollable(src.Kind) {
			continue
		}
		rep, err := p.pollSource(ctx, src)
		if err != nil {
			rep.Err = p.Redactor.Redact(err.Error())
			errs = append(errs, fmt.Errorf("source %s: %w", src.Name, p.Redactor.RedactError(err)))
			p.Logger.Error("poll failed", "source", src.Name, "err", err)
		}
		reports = append(reports, rep)
	}
	if !found {
		return nil, fmt.Errorf("no source named %q in %s", only, p.Config.File())
	}
	return reports, errors.Join(errs...)
}

func (p *Pipeline) pollSource(ctx context.Context, src config.Source) (SourceReport, error) {
	rep := SourceReport{Source: src.Name, Kind: src.Kind}
	conn, err := p.Registry.Build(src, p.env())
	if err != nil {
		return rep, err
	}
	defer conn.Close()
	for round := 0; ; round++ {
		cur, err := p.Store.Cursor(ctx, src.Name)
		if err != nil {
			return rep, err
		}
		res, err := conn.Poll(ctx, cur)
		rep.Stats.Add(res.Stats)
		if err != nil {
			return rep, err
		}
		next := res.Next
		next.Source = src.Name
		in, err := p.Store.Ingest(ctx, src.Name, res.Records, &next)
		if err != nil {
			return rep, err
		}
		rep.New += in.New
		if ac, ok := conn.(connectors.AfterCommit); ok {
			if err := ac.Committed(ctx, res); err != nil {
				p.Logger.Warn("after-commit step failed; records are stored", "source", src.Name, "err", err)
			}
		}
		if mp, ok := conn.(connectors.MorePoller); !ok || !mp.More() || round >= 1000 {
			break
		}
	}
	pr, err := p.Process(ctx)
	rep.Items, rep.Updated, rep.Messages = pr.Items, pr.Updated, pr.Messages
	return rep, err
}

func (p *Pipeline) env() connectors.Env {
	return connectors.Env{Config: p.Config, Clock: p.Clock, Logger: p.Logger, Redactor: p.Redactor}
}

// Sink stores webhook deliveries through the store, for connectors' receivers.
type Sink struct{ Store *store.Store }

// Deliver implements connectors.Sink.
func (s Sink) Deliver(ctx context.Context, source, deliveryID string, recs []feedback.Record) (bool, error) {
	_, dup, err := s.Store.IngestDelivery(ctx, source, deliveryID, recs)
	return dup, err
}

// ProcessReport counts what a projection pass did.
type ProcessReport struct {
	Records     int
	Items       int
	Updated     int
	Messages    int
	Quarantined int
	Orphans     int
}

// Process turns stored, unprocessed records into items (issues, first emails, partner
// events) and messages (comments, replies), attributing partners. Quarantined records
// stay records only. It repeats until no unprocessed record is left.
func (p *Pipeline) Process(ctx context.Context) (ProcessReport, error) {
	var rep ProcessReport
	partners := p.partners()
	for {
		recs, err := p.Store.UnprocessedRecords(ctx, 500)
		if err != nil {
			return rep, err
		}
		if len(recs) == 0 {
			return rep, nil
		}
		// Which records' items exist already, read once per chunk; project adds the
		// items it creates, so later revisions in the chunk see them.
		keys := make([]store.ItemKey, 0, len(recs))
		for _, r := range recs {
			keys = append(keys, store.ItemKey{Source: r.Source, ExternalID: r.ExternalID})
		}
		existing, err := p.Store.ExistingItems(ctx, keys)
		if err != nil {
			return rep, err
		}
		pr := &projection{existing: existing}
		ids := make([]int64, 0, len(recs))
		for _, r := range recs {
			if err := p.project(ctx, r, partners, pr, &rep); err != nil {
				return rep, err
			}
			ids = append(ids, r.ID)
		}
		if err := p.flushItems(ctx, pr); err != nil {
			return rep, err
		}
		rep.Records += len(recs)
		if err := p.Store.MarkProcessed(ctx, ids); err != nil {
			return rep, err
		}
	}
}

// projection is the state of Process over one chunk of records.
type projection struct {
	// existing holds the keys of the items that exist, or will once pending is
	// stored.
	existing map[store.ItemKey]bool
	// pending are item upserts not stored yet: they are written in one transaction
	// per 100, and before any record that looks items up.
	pending []feedback.Item
}

// flushItems stores the pending item upserts.
func (p *Pipeline) flushItems(ctx context.Context, pr *projection) error {
	if len(pr.pending) == 0 {
		return nil
	}
	_, err := p.Store.UpsertItems(ctx, pr.pending)
	pr.pending = pr.pending[:0]
	return err
}

// project turns one record into an item or a message.
func (p *Pipeline) project(ctx context.Context, r feedback.Record, partners []feedback.Partner, pr *projection, rep *ProcessReport) error {
	if r.Quarantine != "" {
		rep.Quarantined++
		return nil
	}
	if r.ParentExternalID != "" || r.Kind == feedback.KindEmail || r.Kind == feedback.KindComment {
		// Threading looks items up: they must see every item projected before.
		if err := p.flushItems(ctx, pr); err != nil {
			return err
		}
	}
	parent := r.ParentExternalID
	if parent == "" && r.Kind == feedback.KindEmail {
		parent = p.threadParent(ctx, r)
	}
	if r.Kind == feedback.KindComment || parent != "" {
		it, err := p.Store.ItemByExternalID(ctx, r.Source, parent)
		if errors.Is(err, store.ErrNotFound) {
			if r.Kind == feedback.KindComment {
				rep.Orphans++
				p.Logger.Warn("comment on an unknown item; kept as a record only", "source", r.Source, "record", r.ID, "parent", parent)
				return nil
			}
		} else if err != nil {
			return err
		} else {
			existed := p.messageExists(ctx, r)
			if _, err := p.Store.UpsertMessage(ctx, feedback.Message{ItemID: it.ID, Source: r.Source, ExternalID: r.ExternalID,
				Author: r.Author, Partner: normalize.Attribute(r, partners), Body: r.Body, RecordID: r.ID, Deleted: r.Deleted, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}); err != nil {
				return err
			}
			if existed {
				rep.Updated++
			} else {
				rep.Messages++
			}
			return nil
		}
	}
	key := store.ItemKey{Source: r.Source, ExternalID: r.ExternalID}
	existed := pr.existing[key]
	status := r.State
	if status == "" {
		status = "open"
	}
	pr.pending = append(pr.pending, feedback.Item{
		Source: r.Source, Kind: r.Kind, ExternalID: r.ExternalID, URL: r.URL, Title: r.Title, Body: r.Body,
		Author: r.Author, Partner: normalize.Attribute(r, partners), Status: status, Labels: r.Labels, RecordID: r.ID,
		Deleted: r.Deleted, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	})
	pr.existing[key] = true
	if len(pr.pending) >= 100 {
		if err := p.flushItems(ctx, pr); err != nil {
			return err
		}
	}
	if existed {
		rep.Updated++
	} else {
		rep.Items++
	}
	return nil
}

func (p *Pipeline) messageExists(ctx context.Context, r feedback.Record) bool {
	recs, err := p.Store.Records(ctx, store.RecordFilter{Source: r.Source, ExternalID: r.ExternalID, Limit: 2})
	return err == nil && len(recs) > 1
}

// threadParent finds the item an email replies to: through In-Reply-To/References
// (an item's own Message-ID, or a notice the hub sent about an item); failing that, a
// reply ("Re:", "AW:", …) whose normalized subject matches an email item from the same
// sender domain in the last 30 days.
func (p *Pipeline) threadParent(ctx context.Context, r feedback.Record) string {
	for _, ref := range r.ThreadRefs {
		if ref == r.ExternalID {
			continue
		}
		if it, err := p.Store.ItemByExternalID(ctx, r.Source, ref); err == nil {
			return it.ExternalID
		}
		if m := hubNoticeRE.FindStringSubmatch(ref); m != nil {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			if it, err := p.Store.Item(ctx, id); err == nil && it.Source == r.Source {
				return it.ExternalID
			}
		}
	}
	subject := mailparse.NormalizeSubject(r.Title)
	if subject == "" || strings.EqualFold(strings.TrimSpace(r.Title), subject) {
		return "" // not a reply: a new thread may share a subject with an old one
	}
	domain := domainOf(r.AuthorEmail)
	if domain == "" {
		return ""
	}
	since := r.CreatedAt.AddDate(0, 0, -30)
	items, err := p.Store.RecentItems(ctx, r.Source, feedback.KindEmail, since, 500)
	if err != nil {
		return ""
	}
	for _, it := range items {
		if it.ExternalID == r.ExternalID || it.CreatedAt.After(r.CreatedAt) {
			continue
		}
		if strings.EqualFold(mailparse.NormalizeSubject(it.Title), subject) && domainOf(it.Author) == domain {
			return it.ExternalID
		}
	}
	return ""
}

// hubNoticeRE matches the Message-ID of a close-the-loop notice the hub sent about an
// item (see sync's messageID): <fh-notify.resolved.CLUSTER.ITEM@feedbackhub>.
var hubNoticeRE = regexp.MustCompile(`^<fh-notify\.resolved\.\d+\.(\d+)@feedbackhub>$`)

func domainOf(addr string) string {
	if i := strings.LastIndex(addr, "@"); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}

func (p *Pipeline) partners() []feedback.Partner {
	out := make([]feedback.Partner, 0, len(p.Config.Partners))
	for _, cp := range p.Config.Partners {
		out = append(out, feedback.Partner{ID: cp.ID, Name: cp.Name, Tier: cp.Tier, Domains: cp.Domains,
			GitHubLogins: cp.GitHubLogins, JiraAccounts: cp.JiraAccounts})
	}
	return out
}

// lockClustering takes the clustering lock, held by a clustering pass for each slice
// of its run and by merges and unmerges, waiting until ctx ends: a move made during a pass
// would be undone by the pass's chunks, whichever in-memory state either holds (a
// pass may rebuild it). It is the store's named lock, so on PostgreSQL it also
// excludes the passes and moves of the other instances on the database.
func (p *Pipeline) lockClustering(ctx context.Context) (unlock func(), err error) {
	unlock, err = p.Store.Lock(ctx, "clustering")
	if err != nil {
		return nil, fmt.Errorf("waiting for the clustering pass: %w", err)
	}
	return unlock, nil
}
