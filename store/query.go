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
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = "?"
		c.args = append(c.args, v)
	}
	c.parts = append(c.parts, col+" IN ("+strings.Join(ph, ", ")+")")
}

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
