package triage

import (
	"cmp"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// DigestData is everything the weekly review digest shows, as plain values the caller
// fills from the store. Render sorts and classifies; it does no I/O besides writing.
type DigestData struct {
	Title string `json:"title"`
	// From and To bound the window [From, To); the previous window is as long and
	// ends at From.
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	GeneratedAt time.Time `json:"generated_at"`
	// NewClusters were created in the window.
	NewClusters []ClusterSummary `json:"new_clusters"`
	// Activity is per-cluster intake in this and the previous window, for the
	// recurring-versus-one-off section. Clusters without items in the window are skipped.
	Activity []ClusterActivity `json:"activity"`
	// RecurringMinPartners is how many distinct partners in the window make a cluster
	// a recurring pattern (default 2); RecurringMinItems likewise for items (default 3).
	RecurringMinPartners int `json:"recurring_min_partners,omitempty"`
	RecurringMinItems    int `json:"recurring_min_items,omitempty"`
	// Breaches and AtRisk come from SLA state (see SLAEntries).
	Breaches []SLAEntry `json:"breaches"`
	AtRisk   []SLAEntry `json:"at_risk"`
	// Decisions taken in the window, from the decision log.
	Decisions []feedback.Decision `json:"decisions"`
	// Shipped are clusters resolved in the window, LoopClosed those whose reporters
	// were told.
	Shipped    []ClusterSummary `json:"shipped"`
	LoopClosed []ClusterSummary `json:"loop_closed"`
	// UnknownPartners are identities no configured partner claims.
	UnknownPartners []UnknownPartner `json:"unknown_partners"`
	// Sources is intake and health per configured source.
	Sources []SourceHealth `json:"sources"`
	// Weekly is intake by category per week, for the chart (several weeks back).
	Weekly []WeekIntake `json:"weekly"`
}

// ClusterSummary is one cluster as the digest lists it.
type ClusterSummary struct {
	ID       int64             `json:"id"`
	Title    string            `json:"title"`
	Category feedback.Category `json:"category"`
	Severity feedback.Severity `json:"severity"`
	Status   feedback.Status   `json:"status"`
	Owner    string            `json:"owner"`
	Items    int               `json:"items"`
	Partners int               `json:"partners"`
	// Ticket is the remote ticket key, if any.
	Ticket string `json:"ticket,omitempty"`
}

// ClusterActivity is a cluster's intake in the window and in the previous one.
type ClusterActivity struct {
	ClusterSummary
	WindowItems    int `json:"window_items"`
	WindowPartners int `json:"window_partners"`
	PrevItems      int `json:"prev_items"`
}

// SLAEntry is one breached or at-risk SLA metric of a cluster.
type SLAEntry struct {
	ClusterID int64             `json:"cluster_id"`
	Title     string            `json:"title"`
	Metric    string            `json:"metric"`
	Policy    string            `json:"policy"`
	Severity  feedback.Severity `json:"severity"`
	Owner     string            `json:"owner"`
	BreachAt  time.Time         `json:"breach_at"`
	Used      float64           `json:"used"` // fraction of the target used
}

// UnknownPartner is an identity whose feedback no configured partner claims.
type UnknownPartner struct {
	Source   string    `json:"source"`
	Identity string    `json:"identity"` // email domain, GitHub login, Jira account
	Items    int       `json:"items"`
	LastSeen time.Time `json:"last_seen"`
}

// SourceHealth is a source's intake and connector health.
type SourceHealth struct {
	Source      string    `json:"source"`
	Kind        string    `json:"kind"`
	Items       int       `json:"items"`
	PrevItems   int       `json:"prev_items"`
	Healthy     bool      `json:"healthy"`
	LastSuccess time.Time `json:"last_success"`
	LastError   string    `json:"last_error,omitempty"`
}

// WeekIntake counts items of one category in the week starting Week.
type WeekIntake struct {
	Week     time.Time `json:"week"`
	Category string    `json:"category"`
	Items    int       `json:"items"`
}

// SLAEntries turns a cluster's SLA state into digest entries: breached metrics, and
// running ones that used at least risk (e.g. 0.75) of their target.
func SLAEntries(st State, title, owner string, now time.Time, risk float64) (breached, atRisk []SLAEntry) {
	for _, m := range st.Metrics {
		if !m.HasTarget || (!m.Running && !m.Breached) {
			continue
		}
		e := SLAEntry{ClusterID: st.ClusterID, Title: title, Metric: m.Metric, Policy: st.Policy, Severity: st.Severity,
			Owner: owner, BreachAt: m.BreachAt, Used: m.Fraction()}
		switch {
		case m.Breached || (m.Running && !m.BreachAt.IsZero() && !m.BreachAt.After(now)):
			breached = append(breached, e)
		case m.Running && m.Fraction() >= risk:
			atRisk = append(atRisk, e)
		}
	}
	return breached, atRisk
}

// Digest formats.
const (
	FormatMarkdown = "md"
	FormatHTML     = "html"
)

// Render writes the digest as Markdown (md) or HTML (html). The HTML is one
// self-contained page with inline styles and an inline SVG chart: no scripts, no
// external resources.
func Render(w io.Writer, d DigestData, format string) error {
	v := buildView(d)
	var err error
	switch format {
	case FormatMarkdown:
		err = mdTemplate.Execute(w, v)
	case FormatHTML:
		err = htmlTemplate.Execute(w, v)
	default:
		return fmt.Errorf("digest: unknown format %q (want md or html)", format)
	}
	if err != nil {
		return fmt.Errorf("digest: render %s: %w", format, err)
	}
	return nil
}

type pattern struct {
	ClusterActivity
	Trend string
}

type bar struct {
	X, Y, W, H int
	Color      string
	Title      string
}

type legend struct {
	X, Y  int
	Color string
	Name  string
}

type axis struct {
	Y     int
	Label string
}

type chart struct {
	Width, Height int
	Bars          []bar
	Labels        []legend // week labels (X, Y, Name)
	Legend        []legend
	Axis          []axis
	PlotLeft      int
	PlotRight     int
	Base          int
	Empty         bool
	Rows          [][]string // table fallback: week, then count per category
	Categories    []string
}

type view struct {
	DigestData
	Recurring, OneOffs []pattern
	Chart              chart
	Window             string
	TotalItems         int
	TotalPrev          int
}

func buildView(d DigestData) view {
	if d.Title == "" {
		d.Title = "Feedback review"
	}
	if d.RecurringMinPartners <= 0 {
		d.RecurringMinPartners = 2
	}
	if d.RecurringMinItems <= 0 {
		d.RecurringMinItems = 3
	}
	v := view{DigestData: d, Window: d.From.UTC().Format("2006-01-02") + " – " + d.To.UTC().Format("2006-01-02")}
	byID := func(a, b ClusterSummary) int { return cmp.Compare(a.ID, b.ID) }
	v.NewClusters = slices.Clone(d.NewClusters)
	slices.SortFunc(v.NewClusters, func(a, b ClusterSummary) int {
		return cmp.Or(cmp.Compare(b.Severity.Rank(), a.Severity.Rank()), byID(a, b))
	})
	v.Shipped = slices.SortedFunc(slices.Values(d.Shipped), byID)
	v.LoopClosed = slices.SortedFunc(slices.Values(d.LoopClosed), byID)
	for _, a := range d.Activity {
		if a.WindowItems == 0 {
			continue
		}
		p := pattern{ClusterActivity: a, Trend: trend(a.WindowItems, a.PrevItems)}
		if a.WindowPartners >= d.RecurringMinPartners || a.WindowItems >= d.RecurringMinItems {
			v.Recurring = append(v.Recurring, p)
		} else {
			v.OneOffs = append(v.OneOffs, p)
		}
	}
	byActivity := func(a, b pattern) int {
		return cmp.Or(cmp.Compare(b.WindowPartners, a.WindowPartners), cmp.Compare(b.WindowItems, a.WindowItems), cmp.Compare(a.ID, b.ID))
	}
	slices.SortFunc(v.Recurring, byActivity)
	slices.SortFunc(v.OneOffs, byActivity)
	bySLA := func(a, b SLAEntry) int {
		return cmp.Or(a.BreachAt.Compare(b.BreachAt), cmp.Compare(a.ClusterID, b.ClusterID), cmp.Compare(a.Metric, b.Metric))
	}
	v.Breaches = slices.SortedFunc(slices.Values(d.Breaches), bySLA)
	v.AtRisk = slices.SortedFunc(slices.Values(d.AtRisk), bySLA)
	v.Decisions = slices.SortedFunc(slices.Values(d.Decisions), func(a, b feedback.Decision) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
	})
	v.UnknownPartners = slices.SortedFunc(slices.Values(d.UnknownPartners), func(a, b UnknownPartner) int {
		return cmp.Or(cmp.Compare(b.Items, a.Items), cmp.Compare(a.Source, b.Source), cmp.Compare(a.Identity, b.Identity))
	})
	v.Sources = slices.SortedFunc(slices.Values(d.Sources), func(a, b SourceHealth) int { return cmp.Compare(a.Source, b.Source) })
	for _, s := range v.Sources {
		v.TotalItems += s.Items
		v.TotalPrev += s.PrevItems
	}
	v.Chart = buildChart(d.Weekly)
	return v
}

func trend(now, prev int) string {
	switch {
	case prev == 0:
		return "new"
	case now > prev:
		return fmt.Sprintf("↑ +%d", now-prev)
	case now < prev:
		return fmt.Sprintf("↓ −%d", prev-now)
	}
	return "→ same"
}

// palette is colour-blind friendly (Okabe–Ito) and readable on white.
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"}

func buildChart(weekly []WeekIntake) chart {
	c := chart{Width: 640, Height: 260, PlotLeft: 44, Base: 200}
	weeks := map[time.Time]map[string]int{}
	totals := map[string]int{}
	for _, w := range weekly {
		wk := w.Week.UTC()
		if weeks[wk] == nil {
			weeks[wk] = map[string]int{}
		}
		weeks[wk][w.Category] += w.Items
		totals[w.Category] += w.Items
	}
	if len(weeks) == 0 {
		c.Empty = true
		return c
	}
	order := slices.SortedFunc(func(yield func(time.Time) bool) {
		for k := range weeks {
			if !yield(k) {
				return
			}
		}
	}, func(a, b time.Time) int { return a.Compare(b) })
	for cat := range totals {
		c.Categories = append(c.Categories, cat)
	}
	slices.SortFunc(c.Categories, func(a, b string) int { return cmp.Or(cmp.Compare(totals[b], totals[a]), cmp.Compare(a, b)) })
	color := map[string]string{}
	for i, cat := range c.Categories {
		color[cat] = palette[i%len(palette)]
	}
	peak := 0
	for _, wk := range order {
		sum := 0
		for _, n := range weeks[wk] {
			sum += n
		}
		peak = max(peak, sum)
	}
	peak = max(peak, 1)
	plotH := c.Base - 20
	c.PlotRight = c.Width - 12
	slot := (c.PlotRight - c.PlotLeft) / len(order)
	bw := max(slot*3/5, 4)
	for i, wk := range order {
		x := c.PlotLeft + i*slot + (slot-bw)/2
		cum := 0
		row := []string{wk.Format("2006-01-02")}
		for _, cat := range c.Categories {
			n := weeks[wk][cat]
			row = append(row, strconv.Itoa(n))
			if n == 0 {
				continue
			}
			// Heights from cumulative sums, so rounding never drifts the stack.
			bottom := c.Base - cum*plotH/peak
			cum += n
			y := c.Base - cum*plotH/peak
			h := bottom - y
			c.Bars = append(c.Bars, bar{X: x, Y: y, W: bw, H: h, Color: color[cat],
				Title: fmt.Sprintf("week of %s: %d %s", wk.Format("2006-01-02"), n, cat)})
		}
		c.Rows = append(c.Rows, row)
		c.Labels = append(c.Labels, legend{X: x + bw/2, Y: c.Base + 16, Name: wk.Format("Jan 2")})
	}
	for _, f := range []int{0, 1, 2} {
		val := peak * f / 2
		c.Axis = append(c.Axis, axis{Y: c.Base - val*plotH/peak, Label: strconv.Itoa(val)})
	}
	lx := c.PlotLeft
	for _, cat := range c.Categories {
		c.Legend = append(c.Legend, legend{X: lx, Y: c.Height - 14, Color: color[cat], Name: cat})
		lx += 24 + 7*len(cat) + 16
	}
	return c
}

var funcs = map[string]any{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"pct": func(f float64) string { return strconv.Itoa(int(f*100+0.5)) + "%" },
	"sev": func(s feedback.Severity) string {
		if s == feedback.SeverityNone {
			return "—"
		}
		return string(s)
	},
	"dflt": func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	},
	// md escapes text for a Markdown table cell.
	"md": func(s string) string {
		return strings.NewReplacer("|", `\|`, "\n", " ", "\r", "", "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;").Replace(s)
	},
	"health": func(s SourceHealth) string {
		if s.Healthy {
			return "ok"
		}
		if s.LastError != "" {
			return "failing: " + s.LastError
		}
		return "failing"
	},
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + many
	},
}

var mdTemplate = template.Must(template.New("md").Funcs(funcs).Parse(mdText))
var htmlTemplate = htmltemplate.Must(htmltemplate.New("html").Funcs(funcs).Funcs(map[string]any{
	"th": func() htmltemplate.HTMLAttr {
		return `style="text-align:left;border-bottom:2px solid #ccc;padding:4px 8px"`
	},
	"td": func() htmltemplate.HTMLAttr {
		return `style="border-bottom:1px solid #eee;padding:4px 8px;vertical-align:top"`
	},
	"tbl": func() htmltemplate.HTMLAttr { return `style="border-collapse:collapse;margin:0 0 20px;width:100%"` },
}).Parse(htmlText))

const mdText = `# {{.Title}}: {{.Window}}

Generated {{datetime .GeneratedAt}}. {{plural .TotalItems "item" "items"}} came in ({{.TotalPrev}} the window before).

## New clusters ({{len .NewClusters}})
{{if .NewClusters}}
| # | Title | Category | Severity | Items | Partners | Owner |
|---|---|---|---|---|---|---|
{{range .NewClusters}}| {{.ID}} | {{md .Title}} | {{dflt (print .Category) "—"}} | {{sev .Severity}} | {{.Items}} | {{.Partners}} | {{dflt .Owner "—" | md}} |
{{end}}{{else}}
None.
{{end}}
## Recurring patterns ({{len .Recurring}})
{{if .Recurring}}
| # | Title | In the window | Trend |
|---|---|---|---|
{{range .Recurring}}| {{.ID}} | {{md .Title}} | {{plural .WindowItems "item" "items"}} from {{plural .WindowPartners "partner" "partners"}} | {{.Trend}} |
{{end}}{{else}}
None.
{{end}}
## One-offs ({{len .OneOffs}})
{{if .OneOffs}}
{{range .OneOffs}}- #{{.ID}} {{md .Title}}: {{plural .WindowItems "item" "items"}} from {{plural .WindowPartners "partner" "partners"}} ({{.Trend}})
{{end}}{{else}}
None.
{{end}}
## SLA breaches ({{len .Breaches}})
{{if .Breaches}}
| # | Title | Metric | Severity | Policy | Breached | Owner |
|---|---|---|---|---|---|---|
{{range .Breaches}}| {{.ClusterID}} | {{md .Title}} | {{.Metric}} | {{sev .Severity}} | {{.Policy}} | {{datetime .BreachAt}} | {{dflt .Owner "—" | md}} |
{{end}}{{else}}
None.
{{end}}
## At risk ({{len .AtRisk}})
{{if .AtRisk}}
| # | Title | Metric | Used | Breaches at | Owner |
|---|---|---|---|---|---|
{{range .AtRisk}}| {{.ClusterID}} | {{md .Title}} | {{.Metric}} | {{pct .Used}} | {{datetime .BreachAt}} | {{dflt .Owner "—" | md}} |
{{end}}{{else}}
None.
{{end}}
## Decisions ({{len .Decisions}})
{{if .Decisions}}
| When | Who | Action | Target | Change | Reason |
|---|---|---|---|---|---|
{{range .Decisions}}| {{datetime .At}} | {{md .Actor}} | {{.Action}} | {{.Target}} | {{if or .Before .After}}{{dflt .Before "—" | md}} → {{dflt .After "—" | md}}{{end}} | {{md .Reason}} |
{{end}}{{else}}
None.
{{end}}
## Shipped ({{len .Shipped}}) and loop closed ({{len .LoopClosed}})
{{if or .Shipped .LoopClosed}}
{{range .Shipped}}- shipped: #{{.ID}} {{md .Title}}{{if .Ticket}} ({{.Ticket}}){{end}}, {{plural .Partners "partner" "partners"}} waiting to hear
{{end}}{{range .LoopClosed}}- loop closed: #{{.ID}} {{md .Title}}{{if .Ticket}} ({{.Ticket}}){{end}}, {{plural .Partners "partner" "partners"}} told
{{end}}{{else}}
None.
{{end}}
## Unknown partners ({{len .UnknownPartners}})
{{if .UnknownPartners}}
| Source | Identity | Items | Last seen |
|---|---|---|---|
{{range .UnknownPartners}}| {{.Source}} | {{md .Identity}} | {{.Items}} | {{date .LastSeen}} |
{{end}}{{else}}
None.
{{end}}
## Intake and connector health
{{if .Sources}}
| Source | Kind | Items | Previous | Health | Last success |
|---|---|---|---|---|---|
{{range .Sources}}| {{.Source}} | {{.Kind}} | {{.Items}} | {{.PrevItems}} | {{health . | md}} | {{datetime .LastSuccess}} |
{{end}}{{else}}
No sources configured.
{{end}}{{if not .Chart.Empty}}
### Intake by category per week

| Week |{{range .Chart.Categories}} {{.}} |{{end}}
|---|{{range .Chart.Categories}}---|{{end}}
{{range .Chart.Rows}}|{{range .}} {{.}} |{{end}}
{{end}}{{end}}`

const htmlText = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}: {{.Window}}</title>
</head>
<body style="margin:0;padding:24px;background:#ffffff;color:#1a1a1a;font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:14px;line-height:1.45">
<h1 style="font-size:22px;margin:0 0 4px">{{.Title}}</h1>
<p style="margin:0 0 16px;color:#555">{{.Window}} · generated {{datetime .GeneratedAt}} · {{plural .TotalItems "item" "items"}} in ({{.TotalPrev}} the window before)</p>
<h2 style="font-size:17px;margin:20px 0 8px">Intake by category per week</h2>
{{if .Chart.Empty}}<p style="color:#555">No intake recorded.</p>{{else}}{{with .Chart}}
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="Intake by category per week" style="font-family:Helvetica,Arial,sans-serif;font-size:11px">
<rect x="0" y="0" width="{{.Width}}" height="{{.Height}}" fill="#ffffff"/>
{{range .Axis}}<line x1="{{$.Chart.PlotLeft}}" y1="{{.Y}}" x2="{{$.Chart.PlotRight}}" y2="{{.Y}}" stroke="#e0e0e0" stroke-width="1"/>
<text x="{{$.Chart.PlotLeft}}" y="{{.Y}}" dx="-6" dy="4" text-anchor="end" fill="#555">{{.Label}}</text>
{{end}}{{range .Bars}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Color}}"><title>{{.Title}}</title></rect>
{{end}}{{range .Labels}}<text x="{{.X}}" y="{{.Y}}" text-anchor="middle" fill="#333">{{.Name}}</text>
{{end}}{{range .Legend}}<rect x="{{.X}}" y="{{.Y}}" width="12" height="12" fill="{{.Color}}"/><text x="{{.X}}" y="{{.Y}}" dx="16" dy="10" fill="#333">{{.Name}}</text>
{{end}}</svg>
<table {{tbl}}>
<tr><th {{th}}>Week</th>{{range .Categories}}<th {{th}}>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td {{td}}>{{.}}</td>{{end}}</tr>
{{end}}</table>{{end}}{{end}}
<h2 style="font-size:17px;margin:20px 0 8px">New clusters ({{len .NewClusters}})</h2>
{{if .NewClusters}}<table {{tbl}}>
<tr><th {{th}}>#</th><th {{th}}>Title</th><th {{th}}>Category</th><th {{th}}>Severity</th><th {{th}}>Items</th><th {{th}}>Partners</th><th {{th}}>Owner</th></tr>
{{range .NewClusters}}<tr><td {{td}}>{{.ID}}</td><td {{td}}>{{.Title}}</td><td {{td}}>{{dflt (print .Category) "—"}}</td><td {{td}}>{{sev .Severity}}</td><td {{td}}>{{.Items}}</td><td {{td}}>{{.Partners}}</td><td {{td}}>{{dflt .Owner "—"}}</td></tr>
{{end}}</table>{{else}}<p style="color:#555">None.</p>{{end}}
<h2 style="font-size:17px;margin:20px 0 8px">Recurring patterns ({{len .Recurring}}) versus one-offs ({{len .OneOffs}})</h2>
{{if or .Recurring .OneOffs}}<table {{tbl}}>
<tr><th {{th}}>#</th><th {{th}}>Title</th><th {{th}}>Kind</th><th {{th}}>In the window</th><th {{th}}>Trend</th></tr>
{{range .Recurring}}<tr><td {{td}}>{{.ID}}</td><td {{td}}><strong>{{.Title}}</strong></td><td {{td}}>recurring</td><td {{td}}>{{plural .WindowItems "item" "items"}} from {{plural .WindowPartners "partner" "partners"}}</td><td {{td}}>{{.Trend}}</td></tr>
{{end}}{{range .OneOffs}}<tr><td {{td}}>{{.ID}}</td><td {{td}}>{{.Title}}</td><td {{td}}>one-off</td><td {{td}}>{{plural .WindowItems "item" "items"}} from {{plural .WindowPartners "partner" "partners"}}</td><td {{td}}>{{.Trend}}</td></tr>
{{end}}</table>{{else}}<p style="color:#555">None.</p>{{end}}
<h2 style="font-size:17px;margin:20px 0 8px">SLA breaches ({{len .Breaches}}) and clusters at risk ({{len .AtRisk}})</h2>
{{if or .Breaches .AtRisk}}<table {{tbl}}>
<tr><th {{th}}>#</th><th {{th}}>Title</th><th {{th}}>Metric</th><th {{th}}>State</th><th {{th}}>Breach at</th><th {{th}}>Owner</th></tr>
{{range .Breaches}}<tr><td {{td}}>{{.ClusterID}}</td><td {{td}}>{{.Title}}</td><td {{td}}>{{.Metric}} ({{sev .Severity}}, {{.Policy}})</td><td {{td}}><span style="color:#b00020;font-weight:bold">breached</span></td><td {{td}}>{{datetime .BreachAt}}</td><td {{td}}>{{dflt .Owner "—"}}</td></tr>
{{end}}{{range .AtRisk}}<tr><td {{td}}>{{.ClusterID}}</td><td {{td}}>{{.Title}}</td><td {{td}}>{{.Metric}} ({{sev .Severity}}, {{.Policy}})</td><td {{td}}><span style="color:#a15c00">{{pct .Used}} used</span></td><td {{td}}>{{datetime .BreachAt}}</td><td {{td}}>{{dflt .Owner "—"}}</td></tr>
{{end}}</table>{{else}}<p style="color:#555">None.</p>{{end}}
<h2 style="font-size:17px;margin:20px 0 8px">Decisions ({{len .Decisions}})</h2>
{{if .Decisions}}<table {{tbl}}>
<tr><th {{th}}>When</th><th {{th}}>Who</th><th {{th}}>Action</th><th {{th}}>Target</th><th {{th}}>Change</th><th {{th}}>Reason</th></tr>
{{range .Decisions}}<tr><td {{td}}>{{datetime .At}}</td><td {{td}}>{{.Actor}}</td><td {{td}}>{{.Action}}</td><td {{td}}>{{.Target}}</td><td {{td}}>{{if or .Before .After}}{{dflt .Before "—"}} → {{dflt .After "—"}}{{end}}</td><td {{td}}>{{.Reason}}</td></tr>
{{end}}</table>{{else}}<p style="color:#555">None.</p>{{end}}
<h2 style="font-size:17px;margin:20px 0 8px">Shipped ({{len .Shipped}}) and loop closed ({{len .LoopClosed}})</h2>
{{if or .Shipped .LoopClosed}}<ul style="margin:0 0 20px;padding-left:20px">
{{range .Shipped}}<li>shipped: #{{.ID}} {{.Title}}{{if .Ticket}} ({{.Ticket}}){{end}}, {{plural .Partners "partner" "partners"}} waiting to hear</li>
{{end}}{{range .LoopClosed}}<li>loop closed: #{{.ID}} {{.Title}}{{if .Ticket}} ({{.Ticket}}){{end}}, {{plural .Partners "partner" "partners"}} told</li>
{{end}}</ul>{{else}}<p style="color:#555">None.</p>{{end}}
<h2 style="font-size:17px;margin:20px 0 8px">Unknown partners ({{len .UnknownPartners}})</h2>
{{if .UnknownPartners}}<table {{tbl}}>
<tr><th {{th}}>Source</th><th {{th}}>Identity</th><th {{th}}>Items</th><th {{th}}>Last seen</th></tr>
{{range .UnknownPartners}}<tr><td {{td}}>{{.Source}}</td><td {{td}}>{{.Identity}}</td><td {{td}}>{{.Items}}</td><td {{td}}>{{date .LastSeen}}</td></tr>
{{end}}</table>{{else}}<p style="color:#555">None.</p>{{end}}
<h2 style="font-size:17px;margin:20px 0 8px">Intake and connector health</h2>
{{if .Sources}}<table {{tbl}}>
<tr><th {{th}}>Source</th><th {{th}}>Kind</th><th {{th}}>Items</th><th {{th}}>Previous</th><th {{th}}>Health</th><th {{th}}>Last success</th></tr>
{{range .Sources}}<tr><td {{td}}>{{.Source}}</td><td {{td}}>{{.Kind}}</td><td {{td}}>{{.Items}}</td><td {{td}}>{{.PrevItems}}</td><td {{td}}>{{if .Healthy}}<span style="color:#007a3d">ok</span>{{else}}<span style="color:#b00020">{{health .}}</span>{{end}}</td><td {{td}}>{{datetime .LastSuccess}}</td></tr>
{{end}}</table>{{else}}<p style="color:#555">No sources configured.</p>{{end}}
</body>
</html>
`

// WriteDecisions writes decision log entries as a Markdown table (md) for the review
// meeting, or as JSON lines (jsonl) for tools.
func WriteDecisions(w io.Writer, ds []feedback.Decision, format string) error {
	switch format {
	case "jsonl":
		enc := json.NewEncoder(w)
		for _, d := range ds {
			if err := enc.Encode(d); err != nil {
				return fmt.Errorf("decisions: write: %w", err)
			}
		}
		return nil
	case FormatMarkdown:
		t := template.Must(template.New("d").Funcs(funcs).Parse(`| # | When | Who | Action | Target | Change | Reason | Rules |
|---|---|---|---|---|---|---|---|
{{range .}}| {{.ID}} | {{datetime .At}} | {{md .Actor}} | {{.Action}} | {{.Target}} | {{if or .Before .After}}{{dflt .Before "—" | md}} → {{dflt .After "—" | md}}{{end}} | {{md .Reason}} | {{.RulesVersion}} |
{{end}}`))
		if err := t.Execute(w, ds); err != nil {
			return fmt.Errorf("decisions: write: %w", err)
		}
		return nil
	}
	return fmt.Errorf("decisions: unknown format %q (want md or jsonl)", format)
}
