package rules

import (
	"fmt"
	"io"
	"strings"
)

// FieldDoc documents one field of a rule environment.
type FieldDoc struct {
	// Scope is "item", "cluster" or "both".
	Scope string
	// Name is how expressions refer to the field (e.g. "partner.tier").
	Name string
	// Type is the expr type: string, int, float, bool, time, list of strings.
	Type string
	// Doc says what the field holds.
	Doc string
}

// Fields documents every field rule expressions can use. A test keeps it in step with
// the expr tags of [ItemEnv], [ClusterEnv] and [State], and FIELDS.md is generated from
// it.
var Fields = []FieldDoc{
	{"item", "source", "string", "configured source name the item came from (e.g. `github`, `support-mail`)"},
	{"item", "kind", "string", "record kind: `issue`, `comment`, `email` or `event`"},
	{"item", "title", "string", "title, lower-cased"},
	{"item", "body", "string", "cleaned body text (quotes and signatures removed), lower-cased"},
	{"item", "text", "string", "title and body joined by a newline, lower-cased: the usual field to match"},
	{"item", "raw_title", "string", "title as received, for case-sensitive checks"},
	{"item", "raw_body", "string", "body as received, for case-sensitive checks"},
	{"item", "partner.id", "string", "configured partner id, or `unknown`"},
	{"item", "partner.tier", "string", "partner tier as configured, lower-cased (e.g. `design-partner`, `pilot`); empty when unknown"},
	{"item", "partner.name", "string", "partner display name as configured"},
	{"item", "is_partner", "bool", "true when a configured partner claims the item"},
	{"item", "author", "string", "author login or display name, lower-cased"},
	{"item", "author_email", "string", "author email address, lower-cased, when known"},
	{"item", "author_domain", "string", "domain part of author_email, lower-cased"},
	{"item", "url", "string", "link to the item in its source"},
	{"item", "status", "string", "the source's own state of the item (`open`, `closed`, ...), lower-cased"},
	{"item", "created_at", "time", "when the item was created in its source (UTC); compare with `date(\"2025-01-01\")`"},
	{"item", "refs", "list of strings", "cross-references: Jira keys (`FB-123`), GitHub refs (`owner/repo#12`), Message-IDs, URLs, partner ticket ids"},
	{"item", "has_signature", "bool", "true when normalize found an error signature (stack trace, error code) in the item"},
	{"item", "length", "int", "length of `text` in characters"},
	{"cluster", "title", "string", "cluster title, lower-cased"},
	{"cluster", "items_count", "int", "number of items in the cluster"},
	{"cluster", "partners_count", "int", "number of distinct known partners that reported into the cluster"},
	{"cluster", "partners", "list of strings", "distinct partner ids in the cluster (without `unknown`)"},
	{"cluster", "partner_tiers", "list of strings", "distinct tiers of those partners, lower-cased"},
	{"cluster", "sources", "list of strings", "distinct source names of the cluster's items"},
	{"cluster", "first_seen", "time", "creation time of the oldest item (UTC)"},
	{"cluster", "last_seen", "time", "creation time of the newest item (UTC)"},
	{"cluster", "window_days", "float", "last_seen minus first_seen in days, with fractions (0 for a single item)"},
	{"cluster", "max_severity", "string", "highest severity among the cluster's items (`low` … `critical`, or empty)"},
	{"cluster", "max_severity_rank", "int", "max_severity as a number: 0 none, 1 low … 4 critical"},
	{"cluster", "categories", "list of strings", "distinct categories of the cluster's items"},
	{"both", "category", "string", "category so far: empty until a rule sets it (items), or the category derived from the items (clusters); a human's choice when decided"},
	{"both", "severity", "string", "severity so far: empty, `low`, `medium`, `high` or `critical`; clusters start at max_severity"},
	{"both", "severity_rank", "int", "severity as a number: 0 none, 1 low … 4 critical"},
	{"both", "owner", "string", "owner set by an earlier rule (routing runs after all rules)"},
	{"both", "ignored", "bool", "true once an earlier rule ignored the subject"},
	{"both", "labels", "list of strings", "the subject's own labels (lower-cased) plus labels added by earlier rules"},
	{"both", "sla", "string", "SLA policy override set by an earlier rule, empty for the default policy"},
	{"both", "auto_accept", "string", "sync target an earlier rule auto-accepted the subject to, or empty"},
}

// WriteFieldsDoc writes the Markdown reference of the environment (FIELDS.md).
func WriteFieldsDoc(w io.Writer) error {
	var b strings.Builder
	b.WriteString("<!-- Generated from rules.Fields by `go test ./rules -update`; do not edit. -->\n\n")
	b.WriteString("# Rule environment\n\n")
	b.WriteString("Rule `when` expressions (and routing conditions) are [expr-lang](https://expr-lang.org) expressions\n")
	b.WriteString("that must return a boolean. They are compiled once, when the rules file is loaded, against\n")
	b.WriteString("the fields below: a misspelled field is a lint error. Text fields are lower-cased once per\n")
	b.WriteString("item, so match them with lower-case literals (`text contains \"refund\"`); the linter flags an\n")
	b.WriteString("upper-case literal compared with a lower-cased field. `x matches \"regex\"` compiles a constant\n")
	b.WriteString("pattern once at load. `now()` is disabled so that evaluation never depends on the wall clock.\n\n")
	b.WriteString("In YAML, quote expressions (`when: '...'`) or use a block scalar (`when: >-`): in a plain\n")
	b.WriteString("value ` #` starts a comment and silently cuts the expression short.\n")
	for _, sc := range []struct{ scope, title string }{
		{"item", "Item scope (`scope: item`)"},
		{"cluster", "Cluster scope (`scope: cluster`)"},
		{"both", "Both scopes (evaluation state)"},
	} {
		fmt.Fprintf(&b, "\n## %s\n\n| field | type | meaning |\n| --- | --- | --- |\n", sc.title)
		for _, f := range Fields {
			if f.Scope == sc.scope {
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Name, f.Type, f.Doc)
			}
		}
	}
	b.WriteString("\nRules see the state left by the rules before them, in file order; routing conditions\n")
	b.WriteString("see the state after all rules of the scope. A routing entry with `scope: both` (the default)\n")
	b.WriteString("may only use the fields of this last table.\n")
	b.WriteString("\n## Functions\n\n| function | meaning |\n| --- | --- |\n")
	for _, f := range Functions {
		fmt.Fprintf(&b, "| `%s` | %s |\n", f.Signature, f.Doc)
	}
	b.WriteString(fileFormat)
	b.WriteString("\nexpr-lang's builtins (`any`, `all`, `none`, `filter`, `len`, `lower`, `date`, `duration`, ...) and\n")
	b.WriteString("operators (`contains`, `startsWith`, `endsWith`, `matches`, `in`, `and`, `or`, `not`) are available.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

const fileFormat = `
## File format

` + "```yaml" + `
categories: [deployment, billing, connectivity, launch-integration, other]  # "other" is always added
rules:                        # in order; a rule sees what earlier rules decided
  - name: billing-terms       # unique; letters, digits, '.', '_', '-'
    description: free text
    scope: item               # item (default) or cluster
    when: 'has_any(text, ["invoice", "refund"])'   # boolean; quote it
    set:
      category: billing       # must be in categories
      severity: high          # low, medium, high, critical
      labels: [billing]       # added, never removed; lower-case
      owner: team-billing
      sla: launch             # SLA policy name (feedbackhub.yaml)
      auto_accept: jira       # sync target name (feedbackhub.yaml)
    raise_severity: 1         # or lower_severity: 1 (not together with set.severity)
    ignore: reason            # ignore the subject, with a reason
    stop: true                # no further rules of this scope
routing:                      # first match wins; runs after the rules
  - name: billing             # default route-N
    scope: both               # item, cluster or both (default: both; then only shared fields)
    when: 'category == "billing"'
    owner: team-billing       # kept only if no rule set an owner
    escalate_to: [billing-lead, head-of-product]   # no cycles, across all routes
` + "```" + `

Every effect is attributed to ` + "`rule:NAME@HASH`" + `, HASH being the first 12 hex digits of the
sha256 of the file. A field a human decided is never changed; the effect is reported as
suppressed.
`
