package store

import (
	"fmt"
	"strings"
)

// conds collects the WHERE conditions of a list query and their arguments. The
// condition texts are constants of this package; only values travel as arguments.
type conds struct {
	parts []string
	args  []any
}

// add appends a condition with its placeholder arguments.
func (c *conds) add(cond string, args ...any) {
	c.parts = append(c.parts, cond)
	c.args = append(c.args, args...)
}

// in appends "col IN (?, ?, …)" for the values.
func (c *conds) in(col string, vals []string) {
	if len(vals) == 0 {
		return
	}
	var cond string
	cond, c.args = inList(col, vals, c.args)
	c.parts = append(c.parts, cond)
}

// inList renders "col IN (?, ?, …)" for vals and appends them to args.
func inList[T any](col string, vals []T, args []any) (string, []any) {
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = "?"
		args = append(args, v)
	}
	return col + " IN (" + strings.Join(ph, ", ") + ")", args
}

// idChunk is how many values one IN list carries.
const idChunk = 500

// where renders " WHERE a AND b", or "" without conditions.
func (c *conds) where() string {
	if len(c.parts) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.parts, " AND ")
}

// limit renders " LIMIT n", with def when n is not positive.
func limit(n, def int) string {
	if n <= 0 {
		n = def
	}
	return fmt.Sprintf(" LIMIT %d", n)
}
