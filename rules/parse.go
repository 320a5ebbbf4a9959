package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/expr-lang/expr/vm"
	"github.com/goccy/go-yaml"
	yast "github.com/goccy/go-yaml/ast"
	yparser "github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// The YAML shapes of a rules file. Decoding is strict: an unknown key is a problem.

type ruleDoc struct {
	Name          string  `yaml:"name"`
	Description   string  `yaml:"description"`
	Scope         string  `yaml:"scope"`
	When          string  `yaml:"when"`
	Set           setDoc  `yaml:"set"`
	RaiseSeverity int     `yaml:"raise_severity"`
	LowerSeverity int     `yaml:"lower_severity"`
	Ignore        *string `yaml:"ignore"`
	Stop          bool    `yaml:"stop"`
}

type setDoc struct {
	Category   string   `yaml:"category"`
	Severity   string   `yaml:"severity"`
	Labels     []string `yaml:"labels"`
	Owner      string   `yaml:"owner"`
	SLA        string   `yaml:"sla"`
	AutoAccept string   `yaml:"auto_accept"`
}

type routeDoc struct {
	Name       string   `yaml:"name"`
	Scope      string   `yaml:"scope"`
	When       string   `yaml:"when"`
	Owner      string   `yaml:"owner"`
	EscalateTo []string `yaml:"escalate_to"`
}

var (
	nameRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	categoryRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	labelRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9:._/-]*$`)
)

// defaultCategories is used when a file has no categories section.
var defaultCategories = []feedback.Category{
	feedback.CategoryDeployment, feedback.CategoryBilling, feedback.CategoryConnectivity,
	feedback.CategoryLaunchIntegration, feedback.CategoryOther,
}

type loader struct {
	file  string
	lines []string // the file's lines, for hints
	set   *Set
	probs Problems
	names map[string]int // rule and route names → line first defined
	// escalation is the graph of escalation steps seen so far, for cycle checks.
	escalation map[string][]string
}

func (l *loader) add(line, col int, where, format string, args ...any) {
	p := Problem{File: l.file, Line: line, Col: col, Where: where, Msg: fmt.Sprintf(format, args...)}
	if !slices.Contains(l.probs, p) { // a route of scope both is checked twice
		l.probs = append(l.probs, p)
	}
}

func (l *loader) addAt(n yast.Node, where, format string, args ...any) {
	line, col := nodePos(n)
	l.add(line, col, where, format, args...)
}

func parse(name string, data []byte) (*Set, Problems) {
	l := &loader{file: name, set: &Set{File: name, Hash: HashOf(data)}, names: map[string]int{},
		lines: strings.Split(string(data), "\n")}
	f, err := parseYAML(data)
	if err != nil {
		l.yamlProblem("", err, nil)
		return nil, l.probs
	}
	var body yast.Node
	for i, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if body != nil {
			l.addAt(d.Body, "", "only one YAML document is allowed (document %d)", i+1)
			continue
		}
		body = d.Body
	}
	if body == nil {
		l.add(1, 1, "", "empty rules file (want categories, rules and routing)")
		return nil, l.probs
	}
	top, ok := mappingValues(body)
	if !ok {
		l.addAt(body, "", "the rules file must be a mapping with categories, rules and routing")
		return nil, l.probs
	}
	var cats, rules, routing yast.Node
	for _, mv := range top {
		switch keyName(mv) {
		case "categories":
			cats = mv.Value
		case "rules":
			rules = mv.Value
		case "routing":
			routing = mv.Value
		default:
			l.addAt(mv.Key, "", "unknown key %q (want categories, rules or routing)", keyName(mv))
		}
	}
	l.categories(cats)
	l.rules(rules)
	l.routing(routing)
	if len(l.probs) > 0 {
		sortProblems(l.probs)
		return nil, l.probs
	}
	return l.set, nil
}

// parseYAML shields callers from a panic inside the YAML parser on hostile input.
func parseYAML(data []byte) (f *yast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("yaml parser failed: %v", r)
		}
	}()
	return yparser.ParseBytes(data, 0)
}

// decodeNode decodes one node strictly (unknown keys fail), shielding callers from a
// panic inside the decoder.
func decodeNode(n yast.Node, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml decoder failed: %v", r)
		}
	}()
	return yaml.NodeToValue(n, v, yaml.Strict())
}

func (l *loader) categories(n yast.Node) {
	if n == nil || isNull(n) {
		l.set.Categories = slices.Clone(defaultCategories)
		return
	}
	var cats []string
	if err := decodeNode(n, &cats); err != nil {
		l.yamlProblem("categories", err, n)
		return
	}
	seq, _ := unwrap(n).(*yast.SequenceNode)
	for i, c := range cats {
		var el yast.Node = n
		if seq != nil && i < len(seq.Values) {
			el = seq.Values[i]
		}
		switch {
		case !categoryRe.MatchString(c):
			l.addAt(el, "categories", "category %q must be lower-case letters, digits, '-' or '_'", c)
		case slices.Contains(l.set.Categories, feedback.Category(c)):
			l.addAt(el, "categories", "duplicate category %q", c)
		default:
			l.set.Categories = append(l.set.Categories, feedback.Category(c))
		}
	}
	if !slices.Contains(l.set.Categories, feedback.CategoryOther) {
		l.set.Categories = append(l.set.Categories, feedback.CategoryOther)
	}
}

func (l *loader) categoryList() string {
	s := make([]string, len(l.set.Categories))
	for i, c := range l.set.Categories {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func (l *loader) claimName(name string, n yast.Node, where string) {
	line, _ := nodePos(n)
	if first, dup := l.names[name]; dup {
		l.addAt(n, where, "duplicate name %q (first used at line %d)", name, first)
		return
	}
	l.names[name] = line
}

func (l *loader) rules(n yast.Node) {
	if n == nil || isNull(n) {
		return
	}
	seq, ok := unwrap(n).(*yast.SequenceNode)
	if !ok {
		l.addAt(n, "", "rules must be a list")
		return
	}
	for i, el := range seq.Values {
		where := fmt.Sprintf("rule #%d", i+1)
		vals, ok := mappingValues(el)
		if !ok {
			l.addAt(el, where, "a rule must be a mapping with name, scope, when and effects")
			continue
		}
		if nm := scalarValue(vals, "name"); nm != "" {
			where = "rule " + nm
		}
		var d ruleDoc
		if err := decodeNode(el, &d); err != nil {
			l.yamlProblem(where, err, el)
			continue
		}
		line, col := nodePos(firstKey(vals, el))
		r := &Rule{Name: d.Name, Description: d.Description, Scope: Scope(d.Scope), When: d.When, Stop: d.Stop, Line: line, Col: col}
		at := func(path ...string) yast.Node { return lookup(vals, el, path...) }
		switch {
		case d.Name == "":
			l.addAt(el, where, "name is required")
		case !nameRe.MatchString(d.Name):
			l.addAt(at("name"), where, "name %q may only hold letters, digits, '.', '_' and '-'", d.Name)
		default:
			l.claimName(d.Name, at("name"), where)
		}
		r.Actor = Actor(r.Name, l.set.Hash)
		switch r.Scope {
		case "":
			r.Scope = ScopeItem
		case ScopeItem, ScopeCluster:
		default:
			l.addAt(at("scope"), where, "scope must be item or cluster, not %q", d.Scope)
			r.Scope = ""
		}
		if strings.TrimSpace(d.When) == "" {
			l.addAt(at("when"), where, "when is required (write 'true' to match everything)")
		} else if r.Scope != "" {
			r.program = l.compile(d.When, r.Scope, at("when"), where, "")
		}
		l.effects(r, d, at, where)
		l.set.Rules = append(l.set.Rules, r)
	}
}

func (l *loader) effects(r *Rule, d ruleDoc, at func(...string) yast.Node, where string) {
	e := &r.Effects
	if c := d.Set.Category; c != "" {
		if !l.set.HasCategory(feedback.Category(c)) {
			l.addAt(at("set", "category"), where, "unknown category %q (known: %s)", c, l.categoryList())
		}
		e.Category = feedback.Category(c)
	}
	if d.Set.Severity != "" {
		sev, err := feedback.ParseSeverity(d.Set.Severity)
		if err != nil {
			l.addAt(at("set", "severity"), where, "set.severity: %v", err)
		}
		e.Severity = sev
	}
	for _, k := range []struct {
		key string
		n   int
		dst *int
	}{{"raise_severity", d.RaiseSeverity, &e.RaiseSeverity}, {"lower_severity", d.LowerSeverity, &e.LowerSeverity}} {
		if k.n < 0 || k.n > len(feedback.Severities)-1 {
			l.addAt(at(k.key), where, "%s must be between 1 and %d, not %d", k.key, len(feedback.Severities)-1, k.n)
		}
		*k.dst = k.n
	}
	switch {
	case d.RaiseSeverity != 0 && d.LowerSeverity != 0:
		l.addAt(at("lower_severity"), where, "raise_severity and lower_severity together make no sense")
	case d.Set.Severity != "" && (d.RaiseSeverity != 0 || d.LowerSeverity != 0):
		l.addAt(at("set", "severity"), where, "set.severity and raise_severity/lower_severity together make no sense")
	}
	for i, lb := range d.Set.Labels {
		if !labelRe.MatchString(lb) {
			l.addAt(at("set", "labels", fmt.Sprint(i)), where, "label %q must be lower-case, without spaces", lb)
		}
	}
	e.Labels = d.Set.Labels
	e.Owner = strings.TrimSpace(d.Set.Owner)
	e.SLA = strings.TrimSpace(d.Set.SLA)
	e.AutoAccept = strings.TrimSpace(d.Set.AutoAccept)
	if d.Ignore != nil {
		e.Ignore = strings.TrimSpace(*d.Ignore)
		if e.Ignore == "" {
			l.addAt(at("ignore"), where, "ignore needs a reason (ignore: \"why\")")
		}
	}
	if e.Category == "" && e.Severity == "" && e.RaiseSeverity == 0 && e.LowerSeverity == 0 && len(e.Labels) == 0 &&
		e.Owner == "" && d.Ignore == nil && e.SLA == "" && e.AutoAccept == "" && !r.Stop {
		l.addAt(at(), where, "rule has no effect (want set, raise_severity, lower_severity, ignore or stop)")
	}
}

func (l *loader) routing(n yast.Node) {
	if n == nil || isNull(n) {
		return
	}
	seq, ok := unwrap(n).(*yast.SequenceNode)
	if !ok {
		l.addAt(n, "", "routing must be a list")
		return
	}
	for i, el := range seq.Values {
		where := fmt.Sprintf("route route-%d", i+1)
		vals, ok := mappingValues(el)
		if !ok {
			l.addAt(el, where, "a route must be a mapping with when, owner and escalate_to")
			continue
		}
		if nm := scalarValue(vals, "name"); nm != "" {
			where = "route " + nm
		}
		var d routeDoc
		if err := decodeNode(el, &d); err != nil {
			l.yamlProblem(where, err, el)
			continue
		}
		at := func(path ...string) yast.Node { return lookup(vals, el, path...) }
		line, col := nodePos(firstKey(vals, el))
		rt := &Route{Name: d.Name, Scope: Scope(d.Scope), When: d.When, Owner: strings.TrimSpace(d.Owner), EscalateTo: d.EscalateTo,
			Line: line, Col: col, programs: map[Scope]*vm.Program{}}
		if rt.Name == "" {
			rt.Name = fmt.Sprintf("route-%d", i+1)
		}
		if !nameRe.MatchString(rt.Name) {
			l.addAt(at("name"), where, "name %q may only hold letters, digits, '.', '_' and '-'", rt.Name)
		} else {
			l.claimName(rt.Name, at("name"), where)
		}
		rt.Actor = Actor(rt.Name, l.set.Hash)
		var scopes []Scope
		switch rt.Scope {
		case "", ScopeBoth:
			rt.Scope = ScopeBoth
			scopes = []Scope{ScopeItem, ScopeCluster}
		case ScopeItem, ScopeCluster:
			scopes = []Scope{rt.Scope}
		default:
			l.addAt(at("scope"), where, "scope must be item, cluster or both, not %q", d.Scope)
		}
		if strings.TrimSpace(d.When) == "" {
			l.addAt(at("when"), where, "when is required (write 'true' for a catch-all route)")
		} else {
			for i, sc := range scopes {
				hint := ""
				if i > 0 {
					hint = fmt.Sprintf("; add scope: %s if the route is only for %ss", scopes[0], scopes[0])
				}
				if p := l.compile(d.When, sc, at("when"), where, hint); p != nil {
					rt.programs[sc] = p
				} else {
					break // one report per route is enough
				}
			}
		}
		if rt.Owner == "" {
			l.addAt(at("owner"), where, "owner is required")
		}
		for j, step := range rt.EscalateTo {
			if strings.TrimSpace(step) == "" {
				l.addAt(at("escalate_to", fmt.Sprint(j)), where, "empty escalation step")
			}
		}
		l.set.Routes = append(l.set.Routes, rt)
		l.checkCycle(rt, at)
	}
}

// checkCycle adds rt's chain (owner → step 1 → step 2 …) to the escalation graph built
// from the routes before it, and reports an edge that would close a cycle: escalation
// must always lead upwards, whichever route it started from.
func (l *loader) checkCycle(rt *Route, at func(...string) yast.Node) {
	if l.escalation == nil {
		l.escalation = map[string][]string{}
	}
	chain := append([]string{rt.Owner}, rt.EscalateTo...)
	for i := 0; i+1 < len(chain); i++ {
		u, v := chain[i], chain[i+1]
		if u == "" || v == "" {
			continue
		}
		if path := findPath(l.escalation, v, u); path != nil {
			cycle := append([]string{u}, path...)
			l.addAt(at("escalate_to", fmt.Sprint(i)), "route "+rt.Name, "cyclic escalation chain: %s", strings.Join(cycle, " -> "))
			continue
		}
		l.escalation[u] = append(l.escalation[u], v)
	}
}

// findPath returns a path from → … → to in g (both ends included), or nil.
func findPath(g map[string][]string, from, to string) []string {
	seen := map[string]bool{}
	var walk func(n string) []string
	walk = func(n string) []string {
		if n == to {
			return []string{n}
		}
		if seen[n] {
			return nil
		}
		seen[n] = true
		for _, m := range g[n] {
			if p := walk(m); p != nil {
				return append([]string{n}, p...)
			}
		}
		return nil
	}
	return walk(from)
}

// yamlProblem turns a goccy parse or decode error into a problem with a position.
func (l *loader) yamlProblem(where string, err error, fallback yast.Node) {
	if ye, ok := errorsAs[yaml.Error](err); ok {
		msg := strings.TrimSpace(ye.GetMessage())
		msg = strings.Replace(msg, "unknown field", "unknown key", 1)
		if tk := ye.GetToken(); tk != nil {
			l.add(tk.Position.Line, tk.Position.Column, where, "%s", cleanYAMLMsg(msg))
			return
		}
		err = fmt.Errorf("%s", msg)
	}
	line, col := 1, 1
	if fallback != nil {
		line, col = nodePos(fallback)
	}
	l.add(line, col, where, "%s", cleanYAMLMsg(err.Error()))
}

var goFieldRe = regexp.MustCompile(`(?:Go struct field )?(?:rules\.)?(?:ruleDoc|setDoc|routeDoc|testCaseDoc|expectDoc|ItemInput|ClusterInput|Current|Partner)\.(\w+)`)

// cleanYAMLMsg rewrites Go type and field names in decoder messages into the YAML
// keys a user wrote.
func cleanYAMLMsg(msg string) string {
	msg = goFieldRe.ReplaceAllStringFunc(msg, func(m string) string {
		return snakeCase(goFieldRe.FindStringSubmatch(m)[1])
	})
	r := strings.NewReplacer(
		"[]string", "list of strings",
		"*string", "string",
		"*[]string", "list of strings",
		"*bool", "bool",
		"time.Time", "time (RFC 3339, e.g. 2025-03-01T09:00:00Z)",
	)
	return r.Replace(msg)
}

// snakeCase turns a Go field name into its YAML key: RaiseSeverity → raise_severity,
// SLA → sla.
func snakeCase(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		up := unicode.IsUpper(r)
		if up && i > 0 && (!unicode.IsUpper(rs[i-1]) || (i+1 < len(rs) && !unicode.IsUpper(rs[i+1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// --- AST helpers -----------------------------------------------------------------

func unwrap(n yast.Node) yast.Node {
	for {
		switch v := n.(type) {
		case *yast.TagNode:
			n = v.Value
		case *yast.AnchorNode:
			n = v.Value
		default:
			return n
		}
	}
}

func isNull(n yast.Node) bool {
	_, ok := unwrap(n).(*yast.NullNode)
	return ok
}

func mappingValues(n yast.Node) ([]*yast.MappingValueNode, bool) {
	switch v := unwrap(n).(type) {
	case *yast.MappingNode:
		return v.Values, true
	case *yast.MappingValueNode:
		return []*yast.MappingValueNode{v}, true
	}
	return nil, false
}

func keyName(mv *yast.MappingValueNode) string {
	if s, ok := mv.Key.(*yast.StringNode); ok {
		return s.Value
	}
	return strings.Trim(mv.Key.String(), `"'`)
}

func scalarValue(vals []*yast.MappingValueNode, key string) string {
	for _, mv := range vals {
		if keyName(mv) == key && mv.Value != nil {
			if sc, ok := unwrap(mv.Value).(yast.ScalarNode); ok && !isNull(sc) {
				return fmt.Sprint(sc.GetValue())
			}
		}
	}
	return ""
}

func firstKey(vals []*yast.MappingValueNode, fallback yast.Node) yast.Node {
	if len(vals) > 0 {
		return vals[0].Key
	}
	return fallback
}

// lookup returns the value node at a key path below a mapping (a number steps into a
// list), or the deepest node found on the way; with no path it returns the mapping's
// first key.
func lookup(vals []*yast.MappingValueNode, el yast.Node, path ...string) yast.Node {
	cur := firstKey(vals, el)
	curVals := vals
	for _, p := range path {
		var next yast.Node
		if curVals != nil {
			for _, mv := range curVals {
				if keyName(mv) == p {
					next = mv.Value
					if next == nil {
						next = mv.Key
					}
				}
			}
		} else if seq, ok := unwrap(cur).(*yast.SequenceNode); ok {
			var i int
			if _, err := fmt.Sscan(p, &i); err == nil && i >= 0 && i < len(seq.Values) {
				next = seq.Values[i]
			}
		}
		if next == nil {
			return cur
		}
		cur = next
		curVals, _ = mappingValues(next)
	}
	return cur
}

func nodePos(n yast.Node) (int, int) {
	if n == nil {
		return 0, 0
	}
	if mv, ok := n.(*yast.MappingValueNode); ok {
		n = mv.Key
	}
	if m, ok := n.(*yast.MappingNode); ok && len(m.Values) > 0 {
		n = m.Values[0].Key
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

// exprPos maps a rune offset inside an expression to its line and column in the YAML
// file, given the scalar node the expression came from.
func exprPos(n yast.Node, from int) (int, int) {
	n = unwrap(n)
	if lit, ok := n.(*yast.LiteralNode); ok && lit.Start != nil && lit.Value != nil {
		tk := lit.Value.GetToken()
		line := lit.Start.Position.Line + 1
		if tk == nil {
			return lit.Start.Position.Line, lit.Start.Position.Column
		}
		sep := 1 // "\n" for literal, " " for folded: one rune either way
		for i, src := range strings.Split(tk.Origin, "\n") {
			text := strings.TrimLeft(src, " ")
			indent := len(src) - len(text)
			n := len([]rune(text))
			if text == "" && i > 0 {
				continue
			}
			if from <= n {
				return line + i, indent + 1 + from
			}
			from -= n + sep
		}
		return line, 1
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	col := tk.Position.Column + from
	if tk.Type == token.SingleQuoteType || tk.Type == token.DoubleQuoteType {
		col++
	}
	return tk.Position.Line, col
}
