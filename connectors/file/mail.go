package file

import (
	"context"
	"errors"
	"io"
	"strconv"

	"github.com/feedbackhub/feedbackhub/connectors/mailparse"
)

// readMbox imports every message of an mbox file. Messages are parsed by mailparse
// exactly as the inbox parses them; one that cannot be parsed, and auto-replies and
// bounces, become quarantined records (kept, never items), so nothing is lost.
func (r *run) readMbox(ctx context.Context, path string, rd io.Reader) error {
	mr := mailparse.NewMboxReader(rd)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, line, err := mr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			// The reader cannot go on (not an mbox, or a read error): report the rest
			// of the file as one reject.
			if line == 0 {
				line = 1
			}
			r.reject(path, line, "", "%v", err)
			return nil
		}
		if err := r.emitMail(ctx, path, line, raw); err != nil {
			return err
		}
	}
}

// readEML imports one .eml file as one message.
func (r *run) readEML(ctx context.Context, path string, rd io.Reader) error {
	// Read one byte over the limit so mailparse reports the message as too large.
	raw, err := io.ReadAll(io.LimitReader(rd, mailparse.DefaultMaxBytes+1))
	if err != nil {
		return err
	}
	return r.emitMail(ctx, path, 1, raw)
}

func (r *run) emitMail(ctx context.Context, path string, line int, raw []byte) error {
	rec, _ := mailparse.Convert(r.imp.source, raw, mailparse.Options{}, r.now)
	if rec.Meta == nil {
		rec.Meta = map[string]string{}
	}
	rec.Meta["import_file"] = path
	rec.Meta["import_line"] = strconv.Itoa(line)
	return r.emit(ctx, rec)
}
