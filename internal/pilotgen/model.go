package main

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // deterministic time zones on any machine
)

// Person is someone who gives or handles feedback.
type Person struct {
	Name   string
	Email  string
	Role   string
	GitHub string // login, "" when the person has no GitHub account
	GHID   int64
	Jira   string // Jira account id, "" when none
	Phone  string
	// Sig selects the signature style: "full" (-- block), "iphone", "short".
	Sig string
	// Charset overrides the mail charset (e.g. iso-8859-1).
	Charset string
}

// First is the person's first name.
func (p Person) First() string { return strings.Fields(p.Name)[0] }

// Partner is a fictional design partner and the facts its feedback mentions.
type Partner struct {
	ID, Name, Short, Tier, Domain string
	TZ                            string // IANA zone of its people
	Region, Host, Cluster         string // where its workloads run
	Version, Chart, K8s           string // what it runs
	Currency, Amount, Plan        string // billing facts
	IdP, Proxy, GoLive            string // launch and network facts
	Mailer                        string // outlook, gmail, apple, thunderbird
	TicketPrefix                  string // its own helpdesk's ticket prefix
	TicketBase                    int
	Account                       string // its account on feedbackhub
	Webhook                       bool   // sends partner webhook events
	People                        []Person
}

// Cluster is one planted group of feedback: the same problem however and wherever it
// was reported. Its texts are templates; see texts.go.
type Cluster struct {
	Label    string
	Category string
	Severity string // default severity hint / priority
	Summary  string // one line for the README
	// Component and GHLabels describe the area for Jira and GitHub.
	Component string
	GHLabels  []string
	JiraLabel []string
	Titles    []string
	Openings  []string
	Details   []string
	Impacts   []string
	Replies   []string // partner follow-ups: mail replies, event comments
	Tracking  []string // internal write-ups (PM, engineers)
	Updates   []string // feedback.updated notes
	// Sched lists the reports, one a line: SRC WHO PERSON DAY HH:MM [key=value ...].
	// SRC is mail, mailreply, github, jira, partners, update or comment; WHO is a
	// partner id or pm, mara, tobias; PERSON an index into the partner's people or -.
	// Keys: tag (a name for references), ref (tag of an item this one mentions),
	// parent (tag of the item replied to / updated / commented on), for (partner
	// an internal item is about), sev, st (status), via (mail reply quoting: support
	// or self).
	Sched string
}

// Report is one planned item after parsing a schedule line.
type Report struct {
	C        *Cluster
	Src      string
	P        *Partner // the reporter's partner, nil for internal people
	Who      Person
	For      *Partner // the partner an internal item is about
	At       time.Time
	Tag      string
	Ref      string
	Parent   string
	Sev      string
	Status   string
	Via      string
	Idx      int // index among the cluster's items, picks wordings
	ReplyIdx int // index among the cluster's replies and comments
	Seq      int // global sequence, for numbers

	// Assigned identities.
	MsgID     string // mail
	Subject   string // mail
	Number    int    // GitHub issue number
	GHID      int64  // GitHub issue id
	Key       string // Jira key
	JiraID    int
	EventID   string // partner event id
	Ticket    string // partner helpdesk ticket
	SupportID string // Message-ID of the support answer a mail reply quotes
}

// Partner returns the partner the report is attributed to, or nil.
func (r *Report) Partner() *Partner {
	if r.P != nil {
		return r.P
	}
	return r.For
}

// PartnerID is the partner id or "unknown".
func (r *Report) PartnerID() string {
	if p := r.Partner(); p != nil {
		return p.ID
	}
	return "unknown"
}

// Start is the first day of the pilot period (a Monday).
var Start = time.Date(2026, 9, 28, 0, 0, 0, 0, time.UTC)

// Internal people of the fictional vendor.
var (
	PM     = Person{Name: "Priya Raman", Email: "priya.raman@feedbackhub.example", Role: "Product Manager, Partner Program", Jira: "5f8d2c1a9e3b4a0069d1e201"}
	Mara   = Person{Name: "Mara Lindgren", Email: "mara.lindgren@feedbackhub.example", Role: "Staff Engineer", GitHub: "mara-lindgren", GHID: 81234417}
	Tobias = Person{Name: "Tobias Wendt", Email: "tobias.wendt@feedbackhub.example", Role: "Platform Engineer", GitHub: "twendt", GHID: 90455120}
	Bot    = Person{Name: "dependabot[bot]", GitHub: "dependabot[bot]", GHID: 49699333}
	// Support is the sender of the answers partners quote in their replies.
	Support = Person{Name: "FeedbackHub Support", Email: "support@feedbackhub.example"}
)

// Fixed names of the exported project and repository.
const (
	Repo       = "feedbackhub-demo/platform"
	JiraBase   = "https://feedbackhub-demo.atlassian.net"
	JiraProj   = "FB"
	SupportTo  = "support@feedbackhub.example"
	IngestHost = "ingest.feedbackhub.example"
)

func partnerByID(id string) *Partner {
	for i := range Partners {
		if Partners[i].ID == id {
			return &Partners[i]
		}
	}
	return nil
}

// hash64 is a stable number derived from the parts.
func hash64(parts ...string) uint64 {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return binary.BigEndian.Uint64(h[:8])
}

// Plan parses every cluster's schedule, orders the reports by time and assigns
// identities. It fails on a schedule line it cannot read or a dangling reference.
func Plan(clusters []*Cluster) ([]*Report, error) {
	var all []*Report
	for _, c := range clusters {
		idx, ridx := 0, 0
		for n, line := range strings.Split(strings.TrimSpace(c.Sched), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			r, err := parseLine(c, line)
			if err != nil {
				return nil, fmt.Errorf("cluster %s line %d: %w", c.Label, n+1, err)
			}
			switch r.Src {
			case "mailreply", "comment":
				r.ReplyIdx = ridx
				ridx++
			case "update":
				r.ReplyIdx = ridx
				ridx++
			default:
				r.Idx = idx
				idx++
			}
			all = append(all, r)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].At.Before(all[j].At) })
	tags := map[string]*Report{}
	for i, r := range all {
		r.Seq = i
		if r.Tag != "" {
			if _, dup := tags[r.Tag]; dup {
				return nil, fmt.Errorf("duplicate tag %q", r.Tag)
			}
			tags[r.Tag] = r
		}
	}
	for _, r := range all {
		for _, t := range []string{r.Ref, r.Parent} {
			if t == "" {
				continue
			}
			if tags[t] == nil {
				return nil, fmt.Errorf("cluster %s: unknown tag %q", r.C.Label, t)
			}
			if !tags[t].At.Before(r.At) {
				return nil, fmt.Errorf("cluster %s: %s item at %s mentions %q, which comes later (%s)", r.C.Label, r.Src, r.At, t, tags[t].At)
			}
		}
	}
	assignIDs(all, tags)
	return all, nil
}

func parseLine(c *Cluster, line string) (*Report, error) {
	f := strings.Fields(line)
	if len(f) < 5 {
		return nil, fmt.Errorf("want SRC WHO PERSON DAY HH:MM, got %q", line)
	}
	r := &Report{C: c, Src: f[0], Sev: c.Severity}
	switch r.Src {
	case "mail", "mailreply", "github", "jira", "partners", "update", "comment", "pr":
	default:
		return nil, fmt.Errorf("unknown source %q", r.Src)
	}
	tz := "Europe/Berlin"
	switch f[1] {
	case "pm":
		r.Who = PM
	case "mara":
		r.Who = Mara
	case "tobias":
		r.Who = Tobias
	case "bot":
		r.Who, tz = Bot, "UTC"
	default:
		p := partnerByID(f[1])
		if p == nil {
			return nil, fmt.Errorf("unknown partner %q", f[1])
		}
		n, err := strconv.Atoi(f[2])
		if err != nil || n < 0 || n >= len(p.People) {
			return nil, fmt.Errorf("bad person %q for %s", f[2], p.ID)
		}
		r.P, r.Who, tz = p, p.People[n], p.TZ
	}
	day, err := strconv.Atoi(f[3])
	if err != nil {
		return nil, fmt.Errorf("bad day %q", f[3])
	}
	hm, err := time.Parse("15:04", f[4])
	if err != nil {
		return nil, fmt.Errorf("bad time %q", f[4])
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, err
	}
	sec := int(hash64(c.Label, line) % 60)
	d := Start.AddDate(0, 0, day)
	// People rarely write at the weekend: Saturday moves to Friday and Sunday to
	// Monday unless the line says wk=keep.
	if !strings.Contains(line, "wk=keep") {
		switch d.Weekday() {
		case time.Saturday:
			d = d.AddDate(0, 0, -1)
		case time.Sunday:
			d = d.AddDate(0, 0, 1)
		}
	}
	r.At = time.Date(d.Year(), d.Month(), d.Day(), hm.Hour(), hm.Minute(), sec, 0, loc)
	for _, kv := range f[5:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("bad option %q", kv)
		}
		switch k {
		case "tag":
			r.Tag = v
		case "ref":
			r.Ref = v
		case "parent":
			r.Parent = v
		case "for":
			if r.For = partnerByID(v); r.For == nil {
				return nil, fmt.Errorf("unknown partner %q", v)
			}
		case "sev":
			r.Sev = v
		case "st":
			r.Status = v
		case "via":
			r.Via = v
		case "wk":
		default:
			return nil, fmt.Errorf("unknown option %q", k)
		}
	}
	if (r.Src == "mailreply" || r.Src == "update" || r.Src == "comment") && r.Parent == "" {
		return nil, fmt.Errorf("%s needs parent=", r.Src)
	}
	if r.Src == "partners" && (r.P == nil || !r.P.Webhook) {
		return nil, fmt.Errorf("partner events need a partner that sends webhooks")
	}
	return r, nil
}

// assignIDs gives every report its identity in time order.
func assignIDs(all []*Report, tags map[string]*Report) {
	ghNum, jiraNum := 41, 101
	tickets := map[string]int{}
	events := map[string]int{}
	for _, r := range all {
		switch r.Src {
		case "mail", "mailreply":
			r.MsgID = messageID(r)
			if r.Src == "mailreply" {
				if r.Via != "self" {
					r.SupportID = fmt.Sprintf("<fh-support-%x@feedbackhub.example>", hash64("support", r.MsgID)&0xffffffffff)
				}
			}
		case "github", "pr":
			r.Number = ghNum
			r.GHID = 3400000000 + int64(ghNum)*7919 + int64(hash64(r.C.Label)%997)
			ghNum++
		case "jira":
			r.Key = fmt.Sprintf("%s-%d", JiraProj, jiraNum)
			r.JiraID = 10300 + jiraNum
			jiraNum++
		case "partners":
			p := r.P
			r.Ticket = fmt.Sprintf("%s-%d", p.TicketPrefix, p.TicketBase+tickets[p.ID]*7+int(hash64(r.C.Label)%5))
			tickets[p.ID]++
			r.EventID = fmt.Sprintf("fb_%s_%05d", strings.ToLower(p.TicketPrefix), 1200+events[p.ID]*13)
			events[p.ID]++
		case "comment":
			p := r.P
			r.EventID = fmt.Sprintf("cm_%s_%05d", strings.ToLower(p.TicketPrefix), 3100+events[p.ID]*17)
			events[p.ID]++
		case "update":
			parent := tags[r.Parent]
			r.EventID, r.Ticket = parent.EventID, parent.Ticket
		}
	}
}

// messageID makes a Message-ID in the style of the sender's mail system.
func messageID(r *Report) string {
	h := hash64("msgid", r.C.Label, r.Who.Email, r.At.Format(time.RFC3339))
	mailer := "plain"
	if r.P != nil {
		mailer = r.P.Mailer
	}
	switch mailer {
	case "outlook":
		return fmt.Sprintf("<AM%dPR%02dMB%04d%X@AM%dPR%02dMB%04d.eurprd%02d.prod.outlook.com>",
			h%9, h%97, h%9973, h&0xffffffffff, h%9, h%97, h%9973, h%7+1)
	case "gmail":
		return fmt.Sprintf("<CA+%s@mail.gmail.com>", b62(h, 11)+b62(h>>7, 11)+b62(h>>13, 10))
	case "apple":
		return fmt.Sprintf("<%08X-%04X-%04X-%04X-%012X@%s>", h>>32, (h>>16)&0xffff, h&0xffff, (h>>40)&0xffff, h&0xffffffffffff, r.P.Domain)
	default:
		d := "feedbackhub.example"
		if r.P != nil {
			d = r.P.Domain
		}
		return fmt.Sprintf("<%x-%x@%s>", h>>32, h&0xffffffff, d)
	}
}

func b62(n uint64, width int) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b []byte
	for i := 0; i < width; i++ {
		b = append(b, digits[n%62])
		n = n/62 + uint64(i)*2654435761
	}
	return string(b)
}

// Vars are the placeholder values of one report's texts.
func Vars(r *Report) map[string]string {
	v := map[string]string{
		"{ingest}": IngestHost,
		"{n}":      strconv.Itoa(1000 + r.Seq*37%8000),
		"{ts}":     r.At.UTC().Format("2006-01-02T15:04:05Z"),
		"{first}":  r.Who.First(),
		"{name}":   r.Who.Name,
	}
	p := r.Partner()
	if p == nil {
		p = &Partner{Short: "a partner", Name: "a partner", Domain: "partner.example", Region: "eu-central-1",
			Host: "relay.partner.example", Cluster: "prod", Version: "2.14.3", Chart: "3.0.0", K8s: "1.30",
			Currency: "EUR", Amount: "€1,188.00", Plan: "Growth", IdP: "Okta", Proxy: "a proxy", GoLive: "next month"}
	}
	inv := 410 + int(hash64(r.C.Label, p.ID)%180)
	for k, val := range map[string]string{
		"{company}": p.Name, "{short}": p.Short, "{domain}": p.Domain, "{region}": p.Region,
		"{host}": p.Host, "{cluster}": p.Cluster, "{ver}": p.Version, "{chart}": p.Chart, "{k8s}": p.K8s,
		"{cur}": p.Currency, "{amount}": p.Amount, "{plan}": p.Plan, "{idp}": p.IdP, "{proxy}": p.Proxy,
		"{golive}": p.GoLive, "{account}": p.Account,
		"{inv}":  fmt.Sprintf("INV-2026-%04d", inv*7),
		"{inv2}": fmt.Sprintf("INV-2026-%04d", inv*7+1),
		"{ip}":   fmt.Sprintf("10.%d.%d.%d", 20+hash64(p.ID)%200, hash64(p.ID, "b")%250, 10+r.Seq%200),
	} {
		v[k] = val
	}
	return v
}

// fill replaces the placeholders in s.
func fill(s string, vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k, vars[k])
	}
	args = append(args, "§", "`")
	return strings.NewReplacer(args...).Replace(s)
}

// pick returns list[i mod len], or "" for an empty list.
func pick(list []string, i int) string {
	if len(list) == 0 {
		return ""
	}
	return list[((i%len(list))+len(list))%len(list)]
}
