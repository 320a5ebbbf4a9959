package rules

import (
	"reflect"
	"strings"
)

// Programs run on a map[string]any copy of the environment rather than on the structs:
// expr reads a map[string]any environment without reflection and without boxing a
// value on every field access, which makes a rule about twice as fast. The structs
// stay the documented, typed API; expressions are type-checked against them, and the
// map has the same keys and value types (a test holds them together).

// mapShape returns a map with the expr-visible fields of a struct type as keys and
// zero values of their types, for compiling against.
func mapShape(t reflect.Type) map[string]any {
	m := map[string]any{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("expr"), ",")
			if name == "" || name == "-" {
				continue
			}
			m[name] = reflect.Zero(f.Type).Interface()
		}
	}
	walk(t)
	return m
}

var (
	itemShape    = mapShape(reflect.TypeOf(ItemEnv{}))
	clusterShape = mapShape(reflect.TypeOf(ClusterEnv{}))
)

func (e *ItemEnv) toMap() map[string]any {
	m := make(map[string]any, len(itemShape))
	m["source"] = e.Source
	m["kind"] = e.Kind
	m["title"] = e.Title
	m["body"] = e.Body
	m["text"] = e.Text
	m["raw_title"] = e.RawTitle
	m["raw_body"] = e.RawBody
	m["partner"] = e.Partner
	m["is_partner"] = e.IsPartner
	m["author"] = e.Author
	m["author_email"] = e.AuthorEmail
	m["author_domain"] = e.AuthorDomain
	m["url"] = e.URL
	m["status"] = e.Status
	m["created_at"] = e.CreatedAt
	m["refs"] = e.Refs
	m["has_signature"] = e.HasSignature
	m["length"] = e.Length
	e.State.store(m)
	return m
}

func (e *ClusterEnv) toMap() map[string]any {
	m := make(map[string]any, len(clusterShape))
	m["title"] = e.Title
	m["items_count"] = e.ItemsCount
	m["partners_count"] = e.PartnersCount
	m["partners"] = e.Partners
	m["partner_tiers"] = e.PartnerTiers
	m["sources"] = e.Sources
	m["first_seen"] = e.FirstSeen
	m["last_seen"] = e.LastSeen
	m["window_days"] = e.WindowDays
	m["max_severity"] = e.MaxSeverity
	m["max_severity_rank"] = e.MaxSeverityRank
	m["categories"] = e.Categories
	e.State.store(m)
	return m
}

// store writes the state fields into an environment map.
func (st *State) store(m map[string]any) {
	m["category"] = st.Category
	m["severity"] = st.Severity
	m["severity_rank"] = st.SeverityRank
	m["owner"] = st.Owner
	m["ignored"] = st.Ignored
	m["labels"] = st.Labels
	m["sla"] = st.SLA
	m["auto_accept"] = st.AutoAccept
}

// storeChanged writes the state fields that differ from before into m.
func (st *State) storeChanged(m map[string]any, before *State) {
	if st.Category != before.Category {
		m["category"] = st.Category
	}
	if st.Severity != before.Severity {
		m["severity"] = st.Severity
		m["severity_rank"] = st.SeverityRank
	}
	if st.Owner != before.Owner {
		m["owner"] = st.Owner
	}
	if st.Ignored != before.Ignored {
		m["ignored"] = st.Ignored
	}
	if len(st.Labels) != len(before.Labels) { // labels only ever grow
		m["labels"] = st.Labels
	}
	if st.SLA != before.SLA {
		m["sla"] = st.SLA
	}
	if st.AutoAccept != before.AutoAccept {
		m["auto_accept"] = st.AutoAccept
	}
}
