package sync

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

// TicketData is what summary, description and update templates see.
type TicketData struct {
	Cluster  feedback.Cluster
	Items    []feedback.Item // every item of the cluster (for updates: the new ones)
	Partners []string        // partner names affected, sorted
	Counts   Counts
	SLA      string // one line: the policy and when resolution is due, or "none"
	HubURL   string // the cluster in the hub, "" without sync.public_url
	Ticket   store.TicketRecord
}

// Counts are the numbers a ticket shows.
type Counts struct {
	Items, Partners, Sources int
}

// NoticeData is what reporter notice templates see.
type NoticeData struct {
	Cluster feedback.Cluster
	Ticket  store.TicketRecord
	Item    feedback.Item
	HubURL  string
}

// Built-in templates; sync.templates and the target's summary/description replace them.
const (
	DefaultSummary     = `{{.Cluster.Title}}`
	DefaultDescription = `{{.Counts.Items}} reports from {{.Counts.Partners}} partner(s){{if .Partners}}: {{join .Partners ", "}}{{end}}.
Severity: {{or .Cluster.Severity "not assessed"}}. Category: {{or .Cluster.Category "none"}}.
SLA: {{.SLA}}.
First seen {{date .Cluster.FirstSeen}}, last seen {{date .Cluster.LastSeen}}.{{if .HubURL}}
In feedbackhub: {{.HubURL}}{{end}}

Reports:
{{range .Items}}- [{{.Source}} {{.ExternalID}}] {{.Title}} (partner: {{.Partner}}){{if .URL}} {{.URL}}{{end}}
{{end}}`
	DefaultUpdate = `{{len .Items}} new report(s) joined this issue in feedbackhub (now {{.Counts.Items}} from {{.Counts.Partners}} partner(s)):
{{range .Items}}- [{{.Source}} {{.ExternalID}}] {{.Title}} (partner: {{.Partner}}){{if .URL}} {{.URL}}{{end}}
{{end}}`
	DefaultResolvedSubject = `{{if .Item.Title}}Re: {{.Item.Title}}{{else}}Your feedback is resolved{{end}}`
	DefaultResolved        = `Hello,

the problem you reported{{if .Item.Title}} ("{{.Item.Title}}"){{end}} has been resolved{{if .Ticket.RemoteKey}} (tracked as {{.Ticket.RemoteKey}}){{end}}.
Thank you for telling us. If it still happens, reply and we will reopen it.`
)

var funcs = template.FuncMap{
	"join":  strings.Join,
	"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"upper": strings.ToUpper,
}

func parseTemplate(name, text, fallback string) (*template.Template, error) {
	if strings.TrimSpace(text) == "" {
		text = fallback
	}
	t, err := template.New(name).Funcs(funcs).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return t, nil
}

func execute(t *template.Template, data any) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", permanent("template %s: %v", t.Name(), err)
	}
	return strings.TrimSpace(b.String()), nil
}

// ticketData gathers what the templates show about a cluster.
func ticketData(c feedback.Cluster, items []feedback.Item, partnerNames map[string]string, sla, hub string) TicketData {
	d := TicketData{Cluster: c, Items: items, SLA: sla, HubURL: hub}
	seen := map[string]bool{}
	sources := map[string]bool{}
	for _, it := range items {
		sources[it.Source] = true
		if it.Partner == "" || it.Partner == feedback.UnknownPartner || seen[it.Partner] {
			continue
		}
		seen[it.Partner] = true
		name := it.Partner
		if n := partnerNames[it.Partner]; n != "" {
			name = n
		}
		d.Partners = append(d.Partners, name)
	}
	sort.Strings(d.Partners)
	d.Counts = Counts{Items: len(items), Partners: len(d.Partners), Sources: len(sources)}
	if d.SLA == "" {
		d.SLA = "none"
	}
	return d
}
