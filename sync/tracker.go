package sync

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/feedbackhub/feedbackhub/connectors"
)

// Marker is the text that identifies a cluster's ticket on the remote side: the GitHub
// issue body carries it in an HTML comment and the Jira remote link uses it as
// globalId. Looking for it before every create is what keeps delivery exactly-once
// when the process dies between the remote create and the local commit.
func Marker(clusterID int64) string { return "feedbackhub:cluster:" + strconv.FormatInt(clusterID, 10) }

// MarkerLabel is the Jira label that marks a cluster's ticket (Jira labels cannot hold
// the colons of Marker).
func MarkerLabel(clusterID int64) string { return "fh-cluster-" + strconv.FormatInt(clusterID, 10) }

// HubLabel is put on every ticket sync creates.
const HubLabel = "feedbackhub"

// Place says where in a tracker a ticket lives: a Jira project or a GitHub repository.
type Place struct {
	Project   string // Jira project key
	Repo      string // GitHub owner/name
	IssueType string // Jira issue type name (default Task)
}

// Issue is a ticket to create.
type Issue struct {
	ClusterID   int64
	Summary     string
	Description string // plain text; Jira gets it as ADF paragraphs
	Labels      []string
	Priority    string // Jira priority name, or a GitHub label
	Components  []string
	HubURL      string // link back to the hub
}

// Remote is a ticket as the tracker knows it.
type Remote struct {
	Key      string `json:"key"` // FB-12, or owner/repo#3
	URL      string `json:"url"`
	Status   string `json:"status"`
	Priority string `json:"priority,omitempty"`
}

// Tracker is a remote ticket system reached through one configured source (its base
// URL and credentials). Every call goes through connectors.Client, so rate limits and
// transient failures are retried there; what comes back failed is final for this
// attempt, and a *connectors.Error says whether a later attempt may succeed.
type Tracker interface {
	// Kind is jira or github.
	Kind() string
	// Find returns the ticket carrying clusterID's marker in place, or nil.
	Find(ctx context.Context, p Place, clusterID int64) (*Remote, error)
	// Create makes a ticket carrying the issue's marker.
	Create(ctx context.Context, p Place, is Issue) (Remote, error)
	// LinkBack links the ticket to the hub idempotently (Jira: a remote link keyed by
	// globalId; GitHub: the marker in the body already does).
	LinkBack(ctx context.Context, key string, is Issue) error
	// Comment posts text on a ticket or issue; marker, when set, is embedded so
	// HasComment can find the comment after a crash.
	Comment(ctx context.Context, key, text, marker string) error
	// HasComment reports whether a comment carrying marker exists.
	HasComment(ctx context.Context, key, marker string) (bool, error)
	// SetPriority replaces the ticket's priority (old is what the hub last wrote, for
	// GitHub's label swap).
	SetPriority(ctx context.Context, key, old, priority string) error
	// Get reads a ticket's status and priority (the poll path of status back).
	Get(ctx context.Context, key string) (Remote, error)
	// Reopen moves a closed ticket back to an open status and returns that status;
	// before, when set, is called with that status just before the ticket is moved
	// (and its error stops the move).
	Reopen(ctx context.Context, key string, before func(to string) error) (string, error)
}

// commentOnce posts text with marker on a ticket or issue unless, on a retry, a
// comment carrying the marker is there already (an earlier attempt posted it and
// failed later). before, when set, runs right before posting.
func commentOnce(ctx context.Context, tr Tracker, key, text, marker string, retry bool, before func() error) error {
	if retry {
		done, err := tr.HasComment(ctx, key, marker)
		if err != nil || done {
			return err
		}
	}
	if before != nil {
		if err := before(); err != nil {
			return err
		}
	}
	return tr.Comment(ctx, key, text, marker)
}

// jiraLabel turns a label into one Jira accepts: no spaces ("needs triage" →
// "needs-triage").
func jiraLabel(s string) string {
	return strings.Join(strings.Fields(strings.TrimSpace(s)), "-")
}

// ghKeyRE matches "owner/repo#N".
var ghKeyRE = regexp.MustCompile(`^([^/\s#]+)/([^/\s#]+)#([0-9]+)$`)

// parseGitHubKey splits "owner/repo#N".
func parseGitHubKey(key string) (owner, repo string, n int, err error) {
	m := ghKeyRE.FindStringSubmatch(strings.TrimSpace(key))
	if m == nil {
		return "", "", 0, fmt.Errorf("github: %q is not owner/repo#number", key)
	}
	n, _ = strconv.Atoi(m[3])
	return m[1], m[2], n, nil
}

// GitHubKey formats a GitHub issue as a ticket key, in lower case like the GitHub
// connector's external ids, so webhook records match stored tickets.
func GitHubKey(repo string, n int) string {
	return strings.ToLower(repo) + "#" + strconv.Itoa(n)
}

// errPermanent marks failures no retry can fix (a missing target, a bad template).
var errPermanent = errors.New("permanent")

func permanent(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errPermanent, fmt.Sprintf(format, args...))
}

// isPermanent reports whether err will fail again however often it is retried.
func isPermanent(err error) bool {
	if errors.Is(err, errPermanent) {
		return true
	}
	var ce *connectors.Error
	if errors.As(err, &ce) {
		return !ce.Transient
	}
	return false
}
