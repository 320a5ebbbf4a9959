package mailparse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// MboxReader iterates the messages of an mbox file (mboxrd or mboxo). Messages are
// separated by lines starting with "From "; a separator is recognised at the start of
// the file, after a blank line, or when it carries a time of day as mbox writers put
// it, so a stray "From " line inside a body rarely splits a message. Lines that read
// ">From ", ">>From ", ... lose one ">" (mboxrd unescaping; for mboxo files this also
// unescapes a ">>From " the author wrote, a known mbox ambiguity).
type MboxReader struct {
	br      *bufio.Reader
	line    int    // lines consumed so far
	next    []byte // a separator line already read, if any
	nextAt  int
	started bool
	done    bool
}

// NewMboxReader returns a reader over the mbox content in r.
func NewMboxReader(r io.Reader) *MboxReader {
	return &MboxReader{br: bufio.NewReaderSize(r, 64<<10)}
}

var fromTimeRe = regexp.MustCompile(`^From \S+ .*\d{1,2}:\d{2}`)

// Next returns the next message without its "From " line, and the 1-based line number
// of that "From " line in the file. It returns io.EOF after the last message. Line
// endings (LF or CRLF) are kept as they are in the file; the blank line mbox writers
// put before the next separator is removed.
func (m *MboxReader) Next() (raw []byte, line int, err error) {
	if m.done {
		return nil, 0, io.EOF
	}
	if !m.started {
		m.started = true
		for {
			l, err := m.readLine()
			if len(l) == 0 && err != nil {
				m.done = true
				if errors.Is(err, io.EOF) {
					return nil, 0, io.EOF
				}
				return nil, 0, fmt.Errorf("mbox: line %d: %w", m.line+1, err)
			}
			if len(bytes.TrimSpace(l)) == 0 {
				if err != nil {
					m.done = true
					return nil, 0, io.EOF
				}
				continue
			}
			if !bytes.HasPrefix(l, []byte("From ")) {
				m.done = true
				return nil, 0, fmt.Errorf("mbox: line %d: expected a \"From \" separator line, got %q", m.line, clip(string(trimEOL(l)), 60))
			}
			m.next, m.nextAt = l, m.line
			break
		}
	}
	if m.next == nil {
		m.done = true
		return nil, 0, io.EOF
	}
	start := m.nextAt
	m.next = nil
	var buf bytes.Buffer
	prevBlank := false
	for {
		l, rerr := m.readLine()
		if len(l) > 0 {
			body := trimEOL(l)
			if bytes.HasPrefix(body, []byte("From ")) && (prevBlank || fromTimeRe.Match(body)) {
				m.next, m.nextAt = l, m.line
				break
			}
			if isEscapedFrom(body) {
				l = l[1:]
			}
			buf.Write(l)
			prevBlank = len(bytes.TrimSpace(body)) == 0
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				return nil, start, fmt.Errorf("mbox: line %d: %w", m.line, rerr)
			}
			m.done = true
			break
		}
	}
	out := buf.Bytes()
	// Drop the one blank line that separates this message from the next.
	if m.next != nil {
		switch {
		case bytes.HasSuffix(out, []byte("\r\n\r\n")):
			out = out[:len(out)-2]
		case bytes.HasSuffix(out, []byte("\n\n")):
			out = out[:len(out)-1]
		}
	}
	return out, start, nil
}

// readLine reads one line including its newline and counts it.
func (m *MboxReader) readLine() ([]byte, error) {
	l, err := m.br.ReadBytes('\n')
	if len(l) > 0 {
		m.line++
	}
	return l, err
}

func trimEOL(l []byte) []byte {
	l = bytes.TrimSuffix(l, []byte("\n"))
	return bytes.TrimSuffix(l, []byte("\r"))
}

// isEscapedFrom reports whether a line is ">From " with one or more ">".
func isEscapedFrom(l []byte) bool {
	i := 0
	for i < len(l) && l[i] == '>' {
		i++
	}
	return i > 0 && bytes.HasPrefix(l[i:], []byte("From "))
}
