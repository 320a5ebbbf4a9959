package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"

	"github.com/feedbackhub/feedbackhub/connectors/webhook"
)

// maxJSONLLine caps one JSONL line; a longer line is rejected.
const maxJSONLLine = 10 << 20

// readJSONL imports one partner event per line, validated with the webhook schema
// (webhook.ParseEvent). Blank lines are ignored. The partner is metadata.partner,
// which must be a configured partner id; without it the event is attributed by its
// reporter's email domain like any other record.
func (r *run) readJSONL(ctx context.Context, path string, rd io.Reader) error {
	br := bufio.NewReaderSize(rd, 64<<10)
	line := 0
	for {
		if line%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b, tooLong, err := readLine(br, maxJSONLLine)
		if len(b) > 0 || tooLong || err == nil {
			line++
		}
		if tooLong {
			r.reject(path, line, "", "line longer than %d bytes", maxJSONLLine)
		} else if t := bytes.TrimSpace(b); len(t) > 0 {
			if err := r.jsonlLine(ctx, path, line, t); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readLine reads up to and without the next newline; a line over max is consumed
// and reported as tooLong.
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, isPrefix, err := br.ReadLine()
		if !tooLong {
			line = append(line, chunk...)
			if len(line) > max {
				tooLong, line = true, nil
			}
		}
		if err != nil || !isPrefix {
			return line, tooLong, err
		}
	}
}

func (r *run) jsonlLine(ctx context.Context, path string, line int, b []byte) error {
	ev, err := webhook.ParseEvent(b)
	if err != nil {
		r.reject(path, line, string(b), "%v", err)
		return nil
	}
	partner := ""
	if raw, ok := ev.Metadata["partner"]; ok {
		if json.Unmarshal(raw, &partner) != nil || partner == "" {
			r.reject(path, line, string(b), "metadata.partner: must be a partner id")
			return nil
		}
		if !r.imp.partners[partner] {
			r.reject(path, line, string(b), "metadata.partner: unknown partner %q", partner)
			return nil
		}
	}
	rec := ev.Record(r.imp.source, partner, append([]byte(nil), b...), r.now)
	if partner == "" {
		// No partner: plain ids, and no meta partner so attribution falls back to the
		// reporter's email domain.
		delete(rec.Meta, "partner")
		rec.ExternalID = ev.ID
		if rec.ParentExternalID != "" {
			rec.ParentExternalID = ev.ParentID
		}
	}
	rec.Meta["import_file"] = path
	rec.Meta["import_line"] = strconv.Itoa(line)
	return r.emit(ctx, rec)
}
