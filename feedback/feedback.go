// Package feedback holds the domain types every other feedbackhub package speaks:
// raw source records, normalized items and their messages, references, clusters and
// their links, decisions, tickets, cursors and partners. It performs no I/O and imports
// none of the project's packages, so it can sit at the bottom of the dependency graph.
package feedback

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Kind is what a source record describes.
type Kind string

// Record kinds.
const (
	KindIssue   Kind = "issue"   // a tracker issue (GitHub, Jira)
	KindComment Kind = "comment" // a comment on an issue
	KindEmail   Kind = "email"   // a message from the support inbox or an mbox import
	KindEvent   Kind = "event"   // a partner webhook event or a JSONL/CSV row
)

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindIssue, KindComment, KindEmail, KindEvent:
		return true
	}
	return false
}

// Record is one immutable observation of a source object, exactly as a connector
// fetched or received it. Records are unique on (Source, ExternalID, Revision): storing
// the same revision twice is a no-op, and an edit arrives as a new revision.
type Record struct {
	ID         int64  `json:"id" db:"id"`
	Source     string `json:"source" db:"source"`           // configured source name
	ExternalID string `json:"external_id" db:"external_id"` // id in the source system (issue id, Message-ID, webhook event id)
	Revision   string `json:"revision" db:"revision"`       // updated-at, UID or event revision
	Kind       Kind   `json:"kind" db:"kind"`
	// ParentExternalID names the item a comment or reply belongs to, empty for items.
	ParentExternalID string   `json:"parent_external_id,omitempty" db:"parent_external_id"`
	Author           string   `json:"author,omitempty" db:"author"`
	AuthorEmail      string   `json:"author_email,omitempty" db:"author_email"`
	Title            string   `json:"title,omitempty" db:"title"`
	Body             string   `json:"body,omitempty" db:"body"`
	URL              string   `json:"url,omitempty" db:"url"`
	State            string   `json:"state,omitempty" db:"state"`
	Labels           []string `json:"labels,omitempty" db:"-"`
	Links            []string `json:"links,omitempty" db:"-"`
	// ThreadRefs holds thread identifiers (Message-ID, In-Reply-To, References).
	ThreadRefs []string          `json:"thread_refs,omitempty" db:"-"`
	Meta       map[string]string `json:"meta,omitempty" db:"-"`
	CreatedAt  time.Time         `json:"created_at" db:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at" db:"updated_at"`
	// Deleted marks a tombstone: the source object was deleted.
	Deleted bool `json:"deleted,omitempty" db:"deleted"`
	// Quarantine, when set, says why this record is kept but never becomes an item
	// (broken MIME, oversize, auto-reply, bounce, schema error).
	Quarantine string          `json:"quarantine,omitempty" db:"quarantine"`
	Raw        json.RawMessage `json:"raw,omitempty" db:"-"`
	ReceivedAt time.Time       `json:"received_at" db:"received_at"`
}

// Validate checks the fields intake depends on.
func (r *Record) Validate() error {
	var missing []string
	if r.Source == "" {
		missing = append(missing, "source")
	}
	if r.ExternalID == "" {
		missing = append(missing, "external_id")
	}
	if r.Revision == "" {
		missing = append(missing, "revision")
	}
	if len(missing) > 0 {
		return fmt.Errorf("record: missing %s", strings.Join(missing, ", "))
	}
	if !r.Kind.Valid() {
		return fmt.Errorf("record %s/%s: unknown kind %q", r.Source, r.ExternalID, r.Kind)
	}
	// Identities are stored as given (text fields are cleaned): a NUL byte, which
	// PostgreSQL text refuses, is rejected here on every database alike.
	for _, f := range []struct{ name, v string }{{"source", r.Source}, {"external_id", r.ExternalID}, {"revision", r.Revision}, {"parent_external_id", r.ParentExternalID}} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return fmt.Errorf("record %s/%q: %s contains a NUL byte", r.Source, r.ExternalID, f.name)
		}
	}
	return nil
}

// Severity orders how urgent a cluster or item is.
type Severity string

// Severities, lowest first. The empty severity means "not assessed".
const (
	SeverityNone     Severity = ""
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Severities lists the assessed severities from lowest to highest.
var Severities = []Severity{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// Rank returns 0 for no severity and 1..4 for low..critical; -1 for an unknown value.
func (s Severity) Rank() int {
	if s == SeverityNone {
		return 0
	}
	for i, v := range Severities {
		if v == s {
			return i + 1
		}
	}
	return -1
}

// Valid reports whether s is empty or a known severity.
func (s Severity) Valid() bool { return s.Rank() >= 0 }

// Raise returns the severity n steps higher (lower for negative n), clamped to the
// known range. Raising an unassessed severity starts from low.
func (s Severity) Raise(n int) Severity {
	r := s.Rank()
	if r <= 0 {
		r = 1
		if n > 0 {
			n--
		}
	}
	r += n
	if r < 1 {
		r = 1
	}
	if r > len(Severities) {
		r = len(Severities)
	}
	return Severities[r-1]
}

// ParseSeverity accepts a severity name, case-insensitively.
func ParseSeverity(s string) (Severity, error) {
	v := Severity(strings.ToLower(strings.TrimSpace(s)))
	if !v.Valid() {
		return "", fmt.Errorf("unknown severity %q (want one of low, medium, high, critical)", s)
	}
	return v, nil
}

// Category is what a piece of feedback is about (deployment, billing, ...). The set of
// categories is configured in the rules file; Other is always present.
type Category string

// Well-known categories used by the starter rules.
const (
	CategoryNone              Category = ""
	CategoryDeployment        Category = "deployment"
	CategoryBilling           Category = "billing"
	CategoryConnectivity      Category = "connectivity"
	CategoryLaunchIntegration Category = "launch-integration"
	CategoryOther             Category = "other"
)

// Status is where a cluster stands in the triage loop.
type Status string

// Cluster states.
const (
	StatusNew        Status = "new"
	StatusTriaged    Status = "triaged"
	StatusAccepted   Status = "accepted"
	StatusDeclined   Status = "declined"
	StatusDeferred   Status = "deferred"
	StatusMerged     Status = "merged"
	StatusInProgress Status = "in_progress"
	StatusResolved   Status = "resolved"
	StatusLoopClosed Status = "loop_closed"
)

// Item is the current, normalized state of one source object (an issue, an email
// thread's first message, a partner event). Comments and replies are Messages on it.
type Item struct {
	ID         int64    `json:"id" db:"id"`
	Source     string   `json:"source" db:"source"`
	Kind       Kind     `json:"kind" db:"kind"`
	ExternalID string   `json:"external_id" db:"external_id"`
	URL        string   `json:"url" db:"url"`
	Title      string   `json:"title" db:"title"`
	Body       string   `json:"body" db:"body"` // visible text after cleanup
	Author     string   `json:"author" db:"author"`
	Partner    string   `json:"partner" db:"partner"` // partner id or "unknown"
	Status     string   `json:"status" db:"status"`   // the source's own state (open, closed, ...)
	Category   Category `json:"category" db:"category"`
	Severity   Severity `json:"severity" db:"severity"`
	Owner      string   `json:"owner" db:"owner"`
	Labels     []string `json:"labels" db:"-"`
	ClusterID  *int64   `json:"cluster_id" db:"cluster_id"`
	// RecordID is the newest record this item was built from.
	RecordID  int64     `json:"record_id" db:"record_id"`
	Deleted   bool      `json:"deleted,omitempty" db:"deleted"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
	UpdatedAt time.Time `json:"updated_at" db:"updated_at"`
}

// Message is a comment or reply on an item.
type Message struct {
	ID         int64  `json:"id" db:"id"`
	ItemID     int64  `json:"item_id" db:"item_id"`
	Source     string `json:"source" db:"source"`
	ExternalID string `json:"external_id" db:"external_id"`
	Author     string `json:"author" db:"author"`
	// Partner is the partner the message came from, attributed as items are.
	Partner   string    `json:"partner,omitempty" db:"partner"`
	Body      string    `json:"body" db:"body"`
	RecordID  int64     `json:"record_id" db:"record_id"`
	Deleted   bool      `json:"deleted,omitempty" db:"deleted"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
	UpdatedAt time.Time `json:"updated_at" db:"updated_at"`
}

// RefKind says what a reference points at.
type RefKind string

// Reference kinds.
const (
	RefJiraKey   RefKind = "jira_key"   // FB-123
	RefGitHub    RefKind = "github"     // owner/repo#N
	RefMessageID RefKind = "message_id" // <id@host>
	RefURL       RefKind = "url"
	RefPartner   RefKind = "partner_ticket" // a partner's own ticket id
)

// Ref is a cross-reference found in an item.
type Ref struct {
	ItemID int64   `json:"item_id" db:"item_id"`
	Kind   RefKind `json:"kind" db:"kind"`
	Value  string  `json:"value" db:"value"`
}

// Cluster is the unit a triager works on: a group of items about one problem.
type Cluster struct {
	ID            int64     `json:"id" db:"id"`
	Title         string    `json:"title" db:"title"`
	Status        Status    `json:"status" db:"status"`
	Category      Category  `json:"category" db:"category"`
	Severity      Severity  `json:"severity" db:"severity"`
	Owner         string    `json:"owner" db:"owner"`
	Labels        []string  `json:"labels" db:"-"`
	ItemsCount    int       `json:"items_count" db:"items_count"`
	PartnersCount int       `json:"partners_count" db:"partners_count"`
	FirstSeen     time.Time `json:"first_seen" db:"first_seen"`
	LastSeen      time.Time `json:"last_seen" db:"last_seen"`
	CreatedAt     time.Time `json:"created_at" db:"created_at"`
	UpdatedAt     time.Time `json:"updated_at" db:"updated_at"`
}

// ClusterLink ties an item to a cluster and says why ("why grouped").
type ClusterLink struct {
	ClusterID int64     `json:"cluster_id" db:"cluster_id"`
	ItemID    int64     `json:"item_id" db:"item_id"`
	Evidence  string    `json:"evidence" db:"evidence"` // identity, reference, signature, similarity, manual
	Score     float64   `json:"score" db:"score"`
	Detail    string    `json:"detail" db:"detail"` // JSON breakdown of the score and shared terms
	LinkedBy  string    `json:"linked_by" db:"linked_by"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
}

// Action is what a decision did.
type Action string

// Decision actions.
const (
	ActionAccept   Action = "accept"
	ActionDecline  Action = "decline"
	ActionDefer    Action = "defer"
	ActionMerge    Action = "merge"
	ActionUnmerge  Action = "unmerge"
	ActionSeverity Action = "severity"
	ActionAssign   Action = "assign"
	ActionEscalate Action = "escalate"
	ActionAck      Action = "ack"
	ActionReopen   Action = "reopen"
	ActionNote     Action = "note"
	ActionCategory Action = "category"
	ActionLabel    Action = "label"
	ActionNotify   Action = "notify"
	ActionStatus   Action = "status"
)

// Decision is one entry of the append-only decision log.
type Decision struct {
	ID           int64     `json:"id" db:"id"`
	At           time.Time `json:"at" db:"at"`
	Actor        string    `json:"actor" db:"actor"` // a person, "rule:NAME@HASH" or "system"
	Action       Action    `json:"action" db:"action"`
	Target       string    `json:"target" db:"target"` // "cluster:12", "item:40"
	Before       string    `json:"before" db:"before_value"`
	After        string    `json:"after" db:"after_value"`
	Reason       string    `json:"reason" db:"reason"`
	RulesVersion string    `json:"rules_version" db:"rules_version"`
}

// Ticket links a cluster to a remote ticket created by sync.
type Ticket struct {
	ID         int64     `json:"id" db:"id"`
	ClusterID  int64     `json:"cluster_id" db:"cluster_id"`
	Target     string    `json:"target" db:"target"` // sync target name
	Kind       string    `json:"kind" db:"kind"`     // jira or github
	RemoteKey  string    `json:"remote_key" db:"remote_key"`
	URL        string    `json:"url" db:"url"`
	Status     string    `json:"status" db:"status"`
	CreatedAt  time.Time `json:"created_at" db:"created_at"`
	UpdatedAt  time.Time `json:"updated_at" db:"updated_at"`
	LastSyncAt time.Time `json:"last_sync_at" db:"last_sync_at"`
}

// Cursor is a connector's position in its source. Value is opaque to everyone but the
// connector that wrote it (typically JSON).
type Cursor struct {
	Source    string    `json:"source" db:"source"`
	Value     string    `json:"value" db:"value"`
	UpdatedAt time.Time `json:"updated_at" db:"updated_at"`
}

// Partner is a design partner as configured.
type Partner struct {
	ID           string   `json:"id" db:"id"`
	Name         string   `json:"name" db:"name"`
	Tier         string   `json:"tier" db:"tier"`
	Domains      []string `json:"domains" db:"-"`
	GitHubLogins []string `json:"github_logins" db:"-"`
	JiraAccounts []string `json:"jira_accounts" db:"-"`
}

// UnknownPartner is the partner id of feedback no configured partner claims.
const UnknownPartner = "unknown"
