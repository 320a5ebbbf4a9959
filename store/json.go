package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// jsonText marshals v for a JSON column (TEXT on SQLite, JSONB on PostgreSQL).
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// stringsJSON encodes a string list, never as null.
//
// NUL bytes are dropped from the values, as clean does for text columns: PostgreSQL
// refuses the \u0000 escape in JSONB, and one such value would fail its whole batch.
func stringsJSON(v []string) string {
	if v == nil {
		return "[]"
	}
	if slices.ContainsFunc(v, hasNUL) {
		c := make([]string, len(v))
		for i, x := range v {
			c[i] = clean(x)
		}
		v = c
	}
	s, _ := jsonText(v) // a []string always marshals
	return s
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// mapJSON encodes a string map, never as null.
// NUL bytes are dropped from keys and values (see stringsJSON).
func mapJSON(v map[string]string) string {
	if v == nil {
		return "{}"
	}
	for k, x := range v {
		if hasNUL(k) || hasNUL(x) {
			c := make(map[string]string, len(v))
			for k, x := range v {
				c[clean(k)] = clean(x)
			}
			v = c
			break
		}
	}
	s, _ := jsonText(v) // a map[string]string always marshals
	return s
}

func decodeStrings(s, field string) ([]string, error) {
	if s == "" || s == "null" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("store: decode %s: %w", field, err)
	}
	return out, nil
}

func decodeMap(s, field string) (map[string]string, error) {
	if s == "" || s == "null" || s == "{}" {
		return nil, nil
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("store: decode %s: %w", field, err)
	}
	return out, nil
}

// rawJSON returns raw as JSON text for the raw column: valid JSON is kept as is, and
// anything else is kept as a JSON string, so no payload is ever lost or rejected.
func rawJSON(raw []byte) string {
	if len(raw) == 0 {
		return "null"
	}
	if json.Valid(raw) {
		return string(raw)
	}
	b, _ := json.Marshal(string(raw)) // a string always marshals
	return string(b)
}

// flexTime scans a time that SQLite returns as text from an aggregate (min/max lose
// the column's declared type) as well as a real time value.
type flexTime struct {
	Time  time.Time
	Valid bool
}

var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05-07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05",
}

// Scan implements sql.Scanner.
func (f *flexTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		f.Valid = false
		return nil
	case time.Time:
		f.Time, f.Valid = x.UTC(), true
		return nil
	case []byte:
		return f.Scan(string(x))
	case string:
		for _, l := range sqliteTimeLayouts {
			if t, err := time.Parse(l, x); err == nil {
				f.Time, f.Valid = t.UTC(), true
				return nil
			}
		}
		return fmt.Errorf("store: cannot read time %q", x)
	}
	return fmt.Errorf("store: cannot read time from %T", v)
}
