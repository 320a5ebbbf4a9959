package rules

import (
	"slices"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// State holds the fields the rules themselves change while a subject is evaluated.
// Rules see the values left by the rules before them (in file order); routing sees the
// values after all rules of the scope ran. Both environments embed it.
type State struct {
	// Category is the category so far: empty until a rule sets it (or the human's
	// choice, when category is decided). For clusters it starts at the category derived
	// from the cluster's items.
	Category string `expr:"category"`
	// Severity is the severity so far: "", "low", "medium", "high" or "critical". For
	// clusters it starts at max_severity.
	Severity string `expr:"severity"`
	// SeverityRank is Severity as a number: 0 (none), 1 (low) … 4 (critical).
	SeverityRank int `expr:"severity_rank"`
	// Owner is the owner so far, set by a rule (routing runs after the rules).
	Owner string `expr:"owner"`
	// Ignored is true once a rule has ignored the subject.
	Ignored bool `expr:"ignored"`
	// Labels holds the subject's own labels (lower-cased) plus the labels earlier rules
	// added.
	Labels []string `expr:"labels"`
	// SLA is the SLA policy override so far, empty for the default policy.
	SLA string `expr:"sla"`
	// AutoAccept is the sync target the subject is auto-accepted to so far, or empty.
	AutoAccept string `expr:"auto_accept"`

	// IgnoreReason is why the subject is ignored; not visible to expressions.
	IgnoreReason string `expr:"-"`
	// EscalateTo is the escalation chain; set by routing, not visible to expressions.
	EscalateTo []string `expr:"-"`
}

// Partner is the partner an item is attributed to, as rules see it.
type Partner struct {
	// ID is the configured partner id, or "unknown" when no partner claims the item.
	ID string `expr:"id" yaml:"id" json:"id"`
	// Tier is the partner's configured tier (e.g. "design-partner", "pilot"), lower-cased.
	Tier string `expr:"tier" yaml:"tier" json:"tier"`
	// Name is the partner's display name, as configured.
	Name string `expr:"name" yaml:"name" json:"name"`
}

// ItemEnv is the environment item-scope rules are evaluated in. Build it with
// [NewItemEnv], which lower-cases the text fields once so rules can match them
// case-insensitively without calling lower() in every rule.
type ItemEnv struct {
	// Source is the configured source name the item came from (e.g. "github", "support-mail").
	Source string `expr:"source"`
	// Kind is the record kind: "issue", "comment", "email" or "event".
	Kind string `expr:"kind"`
	// Title is the item's title, lower-cased.
	Title string `expr:"title"`
	// Body is the item's cleaned body text, lower-cased.
	Body string `expr:"body"`
	// Text is Title and Body joined by a newline, lower-cased: the usual thing to match.
	Text string `expr:"text"`
	// RawTitle is the title as received, for case-sensitive checks.
	RawTitle string `expr:"raw_title"`
	// RawBody is the body as received, for case-sensitive checks.
	RawBody string `expr:"raw_body"`
	// Partner is the partner the item is attributed to.
	Partner Partner `expr:"partner"`
	// IsPartner is true when the item is attributed to a configured partner.
	IsPartner bool `expr:"is_partner"`
	// Author is the author's login or display name, lower-cased.
	Author string `expr:"author"`
	// AuthorEmail is the author's email address, lower-cased, when known.
	AuthorEmail string `expr:"author_email"`
	// AuthorDomain is the domain part of AuthorEmail, lower-cased.
	AuthorDomain string `expr:"author_domain"`
	// URL links to the item in its source.
	URL string `expr:"url"`
	// Status is the source's own state of the item (open, closed, ...), lower-cased.
	Status string `expr:"status"`
	// CreatedAt is when the item was created in its source (UTC).
	CreatedAt time.Time `expr:"created_at"`
	// Refs holds cross-references found in the item: Jira keys ("FB-123"), GitHub
	// references ("owner/repo#12"), Message-IDs, URLs, partner ticket ids.
	Refs []string `expr:"refs"`
	// HasSignature is true when normalize found an error signature (a stack trace, an
	// error code) in the item.
	HasSignature bool `expr:"has_signature"`
	// Length is the length of Text in characters.
	Length int `expr:"length"`

	State
}

// ClusterEnv is the environment cluster-scope rules are evaluated in. Build it with
// [NewClusterEnv].
type ClusterEnv struct {
	// Title is the cluster's title, lower-cased.
	Title string `expr:"title"`
	// ItemsCount is how many items the cluster holds.
	ItemsCount int `expr:"items_count"`
	// PartnersCount is how many distinct known partners reported into the cluster.
	PartnersCount int `expr:"partners_count"`
	// Partners lists the distinct partner ids in the cluster (without "unknown").
	Partners []string `expr:"partners"`
	// PartnerTiers lists the distinct tiers of those partners.
	PartnerTiers []string `expr:"partner_tiers"`
	// Sources lists the distinct source names of the cluster's items.
	Sources []string `expr:"sources"`
	// FirstSeen is when the oldest item of the cluster was created (UTC).
	FirstSeen time.Time `expr:"first_seen"`
	// LastSeen is when the newest item of the cluster was created (UTC).
	LastSeen time.Time `expr:"last_seen"`
	// WindowDays is LastSeen minus FirstSeen in days, with fractions (0 for one item).
	WindowDays float64 `expr:"window_days"`
	// MaxSeverity is the highest severity among the cluster's items.
	MaxSeverity string `expr:"max_severity"`
	// MaxSeverityRank is MaxSeverity as a number, 0 (none) … 4 (critical).
	MaxSeverityRank int `expr:"max_severity_rank"`
	// Categories lists the distinct categories of the cluster's items.
	Categories []string `expr:"categories"`

	State
}

// ItemInput is an item as callers and test files describe it; [NewItemEnv] turns it
// into an [ItemEnv]. The Category … EscalateTo fields carry the item's current values:
// they are kept for the fields a human has decided and ignored otherwise, because
// rules recompute everything they own.
type ItemInput struct {
	Source       string    `yaml:"source" json:"source"`
	Kind         string    `yaml:"kind" json:"kind"`
	Title        string    `yaml:"title" json:"title"`
	Body         string    `yaml:"body" json:"body"`
	Labels       []string  `yaml:"labels" json:"labels"`
	Partner      Partner   `yaml:"partner" json:"partner"`
	Author       string    `yaml:"author" json:"author"`
	AuthorEmail  string    `yaml:"author_email" json:"author_email"`
	URL          string    `yaml:"url" json:"url"`
	Status       string    `yaml:"status" json:"status"`
	CreatedAt    time.Time `yaml:"created_at" json:"created_at"`
	Refs         []string  `yaml:"refs" json:"refs"`
	HasSignature bool      `yaml:"has_signature" json:"has_signature"`

	Current `yaml:",inline"`
}

// Current holds a subject's current classification, used only for the fields a human
// has decided (see [Set.EvalItem]).
type Current struct {
	Category     string   `yaml:"category" json:"category,omitempty"`
	Severity     string   `yaml:"severity" json:"severity,omitempty"`
	Owner        string   `yaml:"owner" json:"owner,omitempty"`
	Ignored      bool     `yaml:"ignored" json:"ignored,omitempty"`
	IgnoreReason string   `yaml:"ignore_reason" json:"ignore_reason,omitempty"`
	SLA          string   `yaml:"sla" json:"sla,omitempty"`
	AutoAccept   string   `yaml:"auto_accept" json:"auto_accept,omitempty"`
	EscalateTo   []string `yaml:"escalate_to" json:"escalate_to,omitempty"`
}

// ClusterInput is a cluster as callers and test files describe it; [NewClusterEnv]
// turns it into a [ClusterEnv]. Category should be the category derived from the
// cluster's items (or a human's); it is where cluster rules start from. Severity is
// used only when decided; otherwise cluster rules start from MaxSeverity.
type ClusterInput struct {
	Title         string    `yaml:"title" json:"title"`
	ItemsCount    int       `yaml:"items_count" json:"items_count"`
	PartnersCount int       `yaml:"partners_count" json:"partners_count"`
	Partners      []string  `yaml:"partners" json:"partners"`
	PartnerTiers  []string  `yaml:"partner_tiers" json:"partner_tiers"`
	Sources       []string  `yaml:"sources" json:"sources"`
	FirstSeen     time.Time `yaml:"first_seen" json:"first_seen"`
	LastSeen      time.Time `yaml:"last_seen" json:"last_seen"`
	MaxSeverity   string    `yaml:"max_severity" json:"max_severity"`
	Categories    []string  `yaml:"categories" json:"categories"`
	Labels        []string  `yaml:"labels" json:"labels"`

	Current `yaml:",inline"`
}

// NewItemEnv builds the environment for one item, lower-casing the text fields once.
func NewItemEnv(in ItemInput) ItemEnv {
	title := strings.ToLower(in.Title)
	body := strings.ToLower(in.Body)
	text := title
	if body != "" {
		if text != "" {
			text += "\n"
		}
		text += body
	}
	email := strings.ToLower(strings.TrimSpace(in.AuthorEmail))
	var domain string
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		domain = email[i+1:]
	}
	p := Partner{ID: in.Partner.ID, Tier: strings.ToLower(in.Partner.Tier), Name: in.Partner.Name}
	if p.ID == "" {
		p.ID = feedback.UnknownPartner
	}
	return ItemEnv{
		Source:       in.Source,
		Kind:         strings.ToLower(in.Kind),
		Title:        title,
		Body:         body,
		Text:         text,
		RawTitle:     in.Title,
		RawBody:      in.Body,
		Partner:      p,
		IsPartner:    p.ID != feedback.UnknownPartner,
		Author:       strings.ToLower(in.Author),
		AuthorEmail:  email,
		AuthorDomain: domain,
		URL:          in.URL,
		Status:       strings.ToLower(in.Status),
		CreatedAt:    in.CreatedAt.UTC(),
		Refs:         slices.Clone(in.Refs),
		HasSignature: in.HasSignature,
		Length:       len([]rune(text)),
		State:        newState(in.Current, lowerAll(in.Labels)),
	}
}

// NewClusterEnv builds the environment for one cluster.
func NewClusterEnv(in ClusterInput) ClusterEnv {
	first, last := in.FirstSeen.UTC(), in.LastSeen.UTC()
	var window float64
	if !first.IsZero() && last.After(first) {
		window = last.Sub(first).Hours() / 24
	}
	maxSev := feedback.Severity(strings.ToLower(in.MaxSeverity))
	partners := uniq(in.Partners)
	partners = slices.DeleteFunc(partners, func(s string) bool { return s == feedback.UnknownPartner })
	pc := in.PartnersCount
	if pc == 0 {
		pc = len(partners)
	}
	return ClusterEnv{
		Title:           strings.ToLower(in.Title),
		ItemsCount:      in.ItemsCount,
		PartnersCount:   pc,
		Partners:        partners,
		PartnerTiers:    uniq(lowerAll(in.PartnerTiers)),
		Sources:         uniq(in.Sources),
		FirstSeen:       first,
		LastSeen:        last,
		WindowDays:      window,
		MaxSeverity:     string(maxSev),
		MaxSeverityRank: max(maxSev.Rank(), 0),
		Categories:      uniq(lowerAll(in.Categories)),
		State:           newState(in.Current, lowerAll(in.Labels)),
	}
}

// newState carries the current values; evaluation resets the ones that are not decided.
func newState(c Current, labels []string) State {
	st := State{
		Category:     strings.ToLower(c.Category),
		Severity:     strings.ToLower(c.Severity),
		Owner:        c.Owner,
		Ignored:      c.Ignored,
		IgnoreReason: c.IgnoreReason,
		Labels:       labels,
		SLA:          c.SLA,
		AutoAccept:   c.AutoAccept,
		EscalateTo:   slices.Clone(c.EscalateTo),
	}
	st.SeverityRank = max(feedback.Severity(st.Severity).Rank(), 0)
	return st
}

// ItemInputFrom describes a stored item for evaluation: p is the partner the item is
// attributed to (nil when unknown) and refs are its references.
func ItemInputFrom(it *feedback.Item, p *feedback.Partner, refs []feedback.Ref) ItemInput {
	in := ItemInput{
		Source:    it.Source,
		Kind:      string(it.Kind),
		Title:     it.Title,
		Body:      it.Body,
		Labels:    slices.Clone(it.Labels),
		Author:    it.Author,
		URL:       it.URL,
		Status:    it.Status,
		CreatedAt: it.CreatedAt,
		Partner:   Partner{ID: it.Partner},
		Current: Current{
			Category: string(it.Category),
			Severity: string(it.Severity),
			Owner:    it.Owner,
		},
	}
	if p != nil {
		in.Partner = Partner{ID: p.ID, Tier: p.Tier, Name: p.Name}
	}
	for _, r := range refs {
		in.Refs = append(in.Refs, r.Value)
	}
	return in
}

// ClusterInputFrom describes a stored cluster and its items for evaluation. partners
// maps partner ids to their configuration (for tiers). The cluster's starting category
// is its own when set, otherwise the most common category among its items.
func ClusterInputFrom(c *feedback.Cluster, items []feedback.Item, partners map[string]feedback.Partner) ClusterInput {
	in := ClusterInput{
		Title:      c.Title,
		ItemsCount: c.ItemsCount,
		FirstSeen:  c.FirstSeen,
		LastSeen:   c.LastSeen,
		Labels:     slices.Clone(c.Labels),
		Current: Current{
			Category: string(c.Category),
			Severity: string(c.Severity),
			Owner:    c.Owner,
		},
	}
	if in.ItemsCount == 0 {
		in.ItemsCount = len(items)
	}
	counts := map[string]int{}
	var best string
	maxSev := feedback.SeverityNone
	for _, it := range items {
		if it.Partner != "" && it.Partner != feedback.UnknownPartner {
			in.Partners = append(in.Partners, it.Partner)
			if p, ok := partners[it.Partner]; ok && p.Tier != "" {
				in.PartnerTiers = append(in.PartnerTiers, p.Tier)
			}
		}
		in.Sources = append(in.Sources, it.Source)
		if it.Category != "" {
			in.Categories = append(in.Categories, string(it.Category))
			counts[string(it.Category)]++
			if counts[string(it.Category)] > counts[best] {
				best = string(it.Category)
			}
		}
		if it.Severity.Rank() > maxSev.Rank() {
			maxSev = it.Severity
		}
		if in.FirstSeen.IsZero() || it.CreatedAt.Before(in.FirstSeen) {
			in.FirstSeen = it.CreatedAt
		}
		if it.CreatedAt.After(in.LastSeen) {
			in.LastSeen = it.CreatedAt
		}
	}
	in.Partners = uniq(in.Partners)
	in.PartnersCount = len(in.Partners)
	in.MaxSeverity = string(maxSev)
	if in.Category == "" {
		in.Category = best
	}
	return in
}

func lowerAll(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}

// uniq returns the distinct non-empty values of in, in first-seen order.
func uniq(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
