package file

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// lineCounter turns byte offsets into 1-based line numbers, counting forward only.
type lineCounter struct {
	data []byte
	off  int
	line int
}

func (lc *lineCounter) at(off int) int {
	if off > len(lc.data) {
		off = len(lc.data)
	}
	if off < lc.off {
		lc.off, lc.line = 0, 0
	}
	lc.line += bytes.Count(lc.data[lc.off:off], []byte{'\n'})
	lc.off = off
	return lc.line + 1
}

// elementStart skips whitespace and the separating comma after off.
func elementStart(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// eachElement calls fn with every element of the JSON array that dec is positioned at
// (its '[' not yet read) and the element's line. base is the offset of dec's input in
// data. A syntax error stops the walk; it is returned with its line.
func eachElement(dec *json.Decoder, data []byte, lc *lineCounter, fn func(raw json.RawMessage, line int) error) (line int, err error) {
	tok, err := dec.Token()
	if err != nil {
		return lc.at(int(dec.InputOffset())), fmt.Errorf("invalid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return lc.at(int(dec.InputOffset())), fmt.Errorf("want a JSON array, got %v", tok)
	}
	for dec.More() {
		start := elementStart(data, int(dec.InputOffset()))
		l := lc.at(start)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return l, fmt.Errorf("invalid JSON: %v", err)
		}
		if err := fn(raw, l); err != nil {
			return l, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return lc.at(int(dec.InputOffset())), fmt.Errorf("invalid JSON: %v", err)
	}
	return 0, nil
}

// fatalEntry is returned by element callbacks to stop a walk with an error that is
// not a reject (a failed ingest or a cancelled context).
type fatalEntry struct{ err error }

func (f fatalEntry) Error() string { return f.err.Error() }
