package rules

import (
	"fmt"
	"sync/atomic"
)

// Holder holds the current rules set for a running server and swaps it atomically on
// reload. Readers call [Holder.Current] once per unit of work and use that set
// throughout, so one evaluation never mixes two versions.
type Holder struct {
	cur atomic.Pointer[Set]
}

// NewHolder returns a holder serving s (which may be nil until the first Reload).
func NewHolder(s *Set) *Holder {
	h := &Holder{}
	h.cur.Store(s)
	return h
}

// Current returns the set in use, or nil if none was ever loaded.
func (h *Holder) Current() *Set { return h.cur.Load() }

// Reload loads path and, if it is good, makes it current. A bad file leaves the old
// set in place and returns the problems, so a typo on disk never takes classification
// down. Reloading an unchanged file is a no-op.
func (h *Holder) Reload(path string) error {
	s, err := Load(path)
	if err != nil {
		return fmt.Errorf("rules: reload %s (keeping the rules in use): %w", path, err)
	}
	if old := h.cur.Load(); old != nil && old.Hash == s.Hash {
		return nil
	}
	h.cur.Store(s)
	return nil
}
