package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// ghIssue is the part of a GitHub REST issue an import uses.
type ghIssue struct {
	ID                int64                   `json:"id"`
	Number            int                     `json:"number"`
	Title             string                  `json:"title"`
	Body              *string                 `json:"body"`
	User              *struct{ Login string } `json:"user"`
	Labels            []ghLabel               `json:"labels"`
	State             string                  `json:"state"`
	HTMLURL           string                  `json:"html_url"`
	RepositoryURL     string                  `json:"repository_url"`
	CreatedAt         time.Time               `json:"created_at"`
	UpdatedAt         time.Time               `json:"updated_at"`
	PullRequest       json.RawMessage         `json:"pull_request"`
	AuthorAssociation string                  `json:"author_association"`
}

// ghLabel accepts a label object ({"name": ...}) or a bare string.
type ghLabel string

// UnmarshalJSON implements json.Unmarshaler.
func (l *ghLabel) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*l = ghLabel(s)
		return nil
	}
	var o struct{ Name string }
	if err := json.Unmarshal(b, &o); err != nil {
		return errors.New("label is neither a string nor an object with a name")
	}
	*l = ghLabel(o.Name)
	return nil
}

// readGitHub imports a JSON array of REST issues (GET /repos/{o}/{r}/issues pages
// concatenated). Pull requests are skipped. External ids and revisions are the ones
// the github connector uses: "owner/repo#N" and updated_at.
func (r *run) readGitHub(ctx context.Context, path string, rd io.Reader) error {
	data, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	lc := &lineCounter{data: data}
	dec := json.NewDecoder(bytes.NewReader(data))
	line, err := eachElement(dec, data, lc, func(raw json.RawMessage, line int) error {
		if err := ctx.Err(); err != nil {
			return fatalEntry{err}
		}
		if err := r.githubIssue(ctx, path, line, raw); err != nil {
			return fatalEntry{err}
		}
		return nil
	})
	var fe fatalEntry
	if errors.As(err, &fe) {
		return fe.err
	}
	if err != nil {
		r.reject(path, line, "", "%v; rest of the file skipped", err)
	}
	return nil
}

func (r *run) githubIssue(ctx context.Context, path string, line int, raw json.RawMessage) error {
	var iss ghIssue
	if err := json.Unmarshal(raw, &iss); err != nil {
		r.reject(path, line, "", "not a GitHub issue: %v", err)
		return nil
	}
	if len(iss.PullRequest) > 0 && string(iss.PullRequest) != "null" {
		r.skip()
		return nil
	}
	var problems []string
	if iss.Number <= 0 {
		problems = append(problems, "number: missing")
	}
	if iss.UpdatedAt.IsZero() {
		problems = append(problems, "updated_at: missing")
	}
	repo := repoOf(iss.RepositoryURL, iss.HTMLURL)
	if repo == "" {
		problems = append(problems, "repository_url/html_url: cannot tell the repository")
	}
	if len(problems) > 0 {
		r.reject(path, line, "", "%s", strings.Join(problems, "; "))
		return nil
	}
	var labels []string
	for _, l := range iss.Labels {
		if l != "" {
			labels = append(labels, string(l))
		}
	}
	rec := feedback.Record{
		Source:     r.imp.source,
		ExternalID: strings.ToLower(repo) + "#" + strconv.Itoa(iss.Number),
		Revision:   iss.UpdatedAt.UTC().Format(time.RFC3339),
		Kind:       feedback.KindIssue,
		Title:      iss.Title,
		URL:        iss.HTMLURL,
		State:      iss.State,
		Labels:     labels,
		Meta: map[string]string{"repo": repo, "number": strconv.Itoa(iss.Number), "import_file": path,
			"import_line": strconv.Itoa(line)},
		CreatedAt: iss.CreatedAt.UTC(),
		UpdatedAt: iss.UpdatedAt.UTC(),
		Raw:       append(json.RawMessage(nil), raw...),
	}
	if iss.Body != nil {
		rec.Body = *iss.Body
	}
	if iss.User != nil {
		rec.Author = iss.User.Login
	}
	if iss.ID != 0 {
		rec.Meta["issue_id"] = strconv.FormatInt(iss.ID, 10)
	}
	if iss.AuthorAssociation != "" {
		rec.Meta["author_association"] = iss.AuthorAssociation
	}
	if org, _, ok := strings.Cut(repo, "/"); ok {
		rec.Meta["org"] = org
	}
	return r.emit(ctx, rec)
}

// repoOf reads "owner/name" from an API repository_url or an issue's html_url.
func repoOf(repositoryURL, htmlURL string) string {
	if _, rest, ok := strings.Cut(repositoryURL, "/repos/"); ok {
		parts := strings.Split(strings.Trim(rest, "/"), "/")
		if len(parts) == 2 && parts[0] != "" && parts[1] != "" {
			return parts[0] + "/" + parts[1]
		}
	}
	if u, err := url.Parse(htmlURL); err == nil {
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(parts) >= 2 && parts[0] != "" && parts[1] != "" {
			return parts[0] + "/" + parts[1]
		}
	}
	return ""
}
