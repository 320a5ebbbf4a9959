package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/feedback"
)

// Webhook actions turned into records; any other action is answered 202 and
// ignored (GitHub adds actions over time).
var (
	issueActions = map[string]bool{
		"opened": true, "edited": true, "closed": true, "reopened": true, "deleted": true,
		"transferred": true, "labeled": true, "unlabeled": true, "assigned": true,
		"unassigned": true, "milestoned": true, "demilestoned": true, "locked": true,
		"unlocked": true, "pinned": true, "unpinned": true,
	}
	commentActions = map[string]bool{"created": true, "edited": true, "deleted": true}
)

// WebhookHandler returns the handler for /hooks/github. It verifies
// X-Hub-Signature-256 over the raw body before parsing anything, turns issues and
// issue_comment deliveries into records and hands them to sink together with the
// X-GitHub-Delivery id, so a delivery is stored once and a redelivery after a failed
// store is processed. Answers: 200 stored, duplicate or ping; 202 ignored (other
// events, unknown actions, pull requests when they are not included); 400 malformed;
// 401 bad or missing signature; 413 body over 25 MiB; 500 the sink failed.
func (c *Connector) WebhookHandler(sink connectors.Sink) http.Handler {
	if c.set.secret == nil {
		c.log.Warn("github webhook deliveries are not verified: no webhook_secret_env or webhook_secret_file configured")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.serveWebhook(w, r, sink)
	})
}

func (c *Connector) serveWebhook(w http.ResponseWriter, r *http.Request, sink connectors.Sink) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read body failed", http.StatusBadRequest)
		return
	}
	if c.set.secret != nil && !validSignature(r.Header.Get(gh.SHA256SignatureHeader), body, c.set.secret) {
		c.log.Warn("github webhook rejected: bad or missing signature", "delivery", r.Header.Get(gh.DeliveryIDHeader))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	delivery := strings.TrimSpace(r.Header.Get(gh.DeliveryIDHeader))
	if delivery == "" {
		http.Error(w, "missing "+gh.DeliveryIDHeader, http.StatusBadRequest)
		return
	}
	event := r.Header.Get(gh.EventTypeHeader)
	switch event {
	case "ping":
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, "pong")
		return
	case "issues", "issue_comment":
	default:
		ignored(w, "event "+event)
		return
	}
	recs, why, err := c.webhookRecords(event, body)
	if err != nil {
		http.Error(w, "malformed payload", http.StatusBadRequest)
		c.log.Warn("github webhook malformed", "delivery", delivery, "event", event, "err", err)
		return
	}
	if why != "" {
		ignored(w, why)
		return
	}
	dup, err := sink.Deliver(r.Context(), c.name, delivery, recs)
	if err != nil {
		c.log.Error("github webhook not stored", "delivery", delivery, "event", event, "err", err)
		http.Error(w, "not stored, please redeliver", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	if dup {
		fmt.Fprintln(w, "duplicate delivery")
		return
	}
	fmt.Fprintln(w, "stored")
}

func ignored(w http.ResponseWriter, why string) {
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintln(w, "ignored: "+why)
}

// validSignature checks "sha256=<hex HMAC-SHA256(secret, body)>" in constant time.
func validSignature(header string, body, secret []byte) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// hookPayload is the part of issues and issue_comment payloads used here; Issue and
// Comment stay raw so records keep them verbatim.
type hookPayload struct {
	Action       string           `json:"action"`
	Issue        json.RawMessage  `json:"issue"`
	Comment      json.RawMessage  `json:"comment"`
	Repository   *gh.Repository   `json:"repository"`
	Organization *gh.Organization `json:"organization"`
	Changes      *struct {
		NewIssue      *gh.Issue      `json:"new_issue"`
		NewRepository *gh.Repository `json:"new_repository"`
	} `json:"changes"`
}

// webhookRecords parses a verified body. A non-empty why means "ignore, for this
// reason" (unknown action, pull request).
func (c *Connector) webhookRecords(event string, body []byte) (recs []feedback.Record, why string, err error) {
	var p hookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, "", fmt.Errorf("decode %s payload: %w", event, err)
	}
	if event == "issues" && !issueActions[p.Action] || event == "issue_comment" && !commentActions[p.Action] {
		return nil, fmt.Sprintf("%s action %q", event, p.Action), nil
	}
	if len(p.Issue) == 0 {
		return nil, "", fmt.Errorf("%s payload without issue", event)
	}
	var iss gh.Issue
	if err := json.Unmarshal(p.Issue, &iss); err != nil {
		return nil, "", fmt.Errorf("decode issue: %w", err)
	}
	if iss.Number == nil || iss.GetUpdatedAt().IsZero() {
		return nil, "", errors.New("issue without number or updated_at")
	}
	if iss.IsPullRequest() && !c.set.includePRs {
		return nil, "pull request", nil
	}
	repoName := p.Repository.GetFullName()
	if repoName == "" {
		repoName = repoOfIssue(&iss, repoRef{})
	}
	if repoName == "/" || repoName == "" {
		return nil, "", errors.New("payload names no repository")
	}
	org := p.Organization.GetLogin()
	if org == "" {
		org = p.Repository.GetOwner().GetLogin()
	}
	issue := c.issueRecord(&iss, p.Issue, repoName, org)
	if event == "issues" {
		switch p.Action {
		case "deleted":
			issue.Deleted = true
			issue.Revision = "deleted@" + issue.Revision
		case "transferred":
			issue.Revision = "transferred@" + issue.Revision
			if p.Changes != nil && p.Changes.NewIssue != nil {
				ni := p.Changes.NewIssue
				if ni.GetHTMLURL() != "" {
					issue.URL = ni.GetHTMLURL()
				}
				newRepo := p.Changes.NewRepository.GetFullName()
				if newRepo == "" {
					newRepo = repoOfIssue(ni, repoRef{})
				}
				issue.Meta["transferred_to"] = issueExternalID(newRepo, ni.GetNumber())
			}
		}
		return []feedback.Record{issue}, "", nil
	}
	if len(p.Comment) == 0 {
		return nil, "", errors.New("issue_comment payload without comment")
	}
	var cm gh.IssueComment
	if err := json.Unmarshal(p.Comment, &cm); err != nil {
		return nil, "", fmt.Errorf("decode comment: %w", err)
	}
	if cm.ID == nil || cm.GetUpdatedAt().IsZero() {
		return nil, "", errors.New("comment without id or updated_at")
	}
	comment := c.commentRecord(&cm, p.Comment, repoName, iss.GetNumber(), org)
	if p.Action == "deleted" {
		comment.Deleted = true
		comment.Revision = "deleted@" + comment.Revision
	}
	// The issue rides along (same revision as a poll would store), so the comment's
	// parent exists even before the first poll.
	return []feedback.Record{issue, comment}, "", nil
}
