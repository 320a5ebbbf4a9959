package file

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// progress draws a one-line bar on a terminal once more than progressThreshold
// records were read. Position is measured in bytes, so no file is read twice to count
// its records first.
type progress struct {
	w       io.Writer
	tty     bool
	total   int64
	done    int64
	n       int
	lastN   int
	visible bool
}

func newProgress(w io.Writer) *progress { return &progress{w: w, tty: isTerminal(w)} }

// isTerminal reports whether w is a character device (a terminal), without a
// dependency on golang.org/x/term.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) bytes(n int64) { p.done += n }

// records updates the bar every 250 records.
func (p *progress) records(n int) {
	p.n = n
	if !p.tty || n <= progressThreshold || n-p.lastN < 250 {
		return
	}
	p.lastN = n
	p.draw()
}

func (p *progress) draw() {
	const width = 30
	frac := 0.0
	if p.total > 0 {
		frac = float64(p.done) / float64(p.total)
	}
	frac = min(max(frac, 0), 1)
	fill := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %d records", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), frac*100, p.n)
	p.visible = true
}

// clear removes the bar so a reject or the summary starts on a clean line.
func (p *progress) clear() {
	if p.visible {
		fmt.Fprint(p.w, "\r\033[K")
		p.visible = false
	}
}
