package github

import (
	"io"
	"log/slog"
)

// newTestLogger logs text to w with no redaction of its own, so a test sees exactly
// what the connector put in its log lines.
func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
