package imap

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/feedbackhub/feedbackhub/connectors"
)

// Committed moves the messages of a committed poll to move_processed_to, when that
// is configured; otherwise it does nothing. Call it only after Result.Records and
// Result.Next are durable: a message moved before that could be lost by a crash.
// Quarantined messages (auto-replies, oversize, broken) are moved as well, since
// their records are stored too.
//
// It uses MOVE where the server has it and COPY, STORE +FLAGS.SILENT \Deleted and
// UID EXPUNGE (plain EXPUNGE without UIDPLUS) otherwise, in batches, creating the
// target folder once if the server answers TRYCREATE. Messages whose UIDVALIDITY no
// longer matches the mailbox are left alone. A failed move is reported but not
// retried later: the messages stay in the mailbox, below the cursor, and are not
// fetched again.
func (cn *Connector) Committed(ctx context.Context, res connectors.Result) error {
	if cn.s.moveTo == "" || len(res.Records) == 0 {
		return nil
	}
	byValidity := map[uint32][]goimap.UID{}
	for _, r := range res.Records {
		if r.Meta[MetaMailbox] != cn.s.mailbox {
			continue
		}
		v, err1 := strconv.ParseUint(r.Meta[MetaUIDValidity], 10, 32)
		u, err2 := strconv.ParseUint(r.Meta[MetaUID], 10, 32)
		if err1 != nil || err2 != nil || u == 0 {
			continue
		}
		byValidity[uint32(v)] = append(byValidity[uint32(v)], goimap.UID(u))
	}
	if len(byValidity) == 0 {
		return nil
	}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	move := func() error {
		ss, err := cn.session(ctx)
		if err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { ss.c.Close() })
		defer stop()
		sel, err := cn.selectMailbox(ss)
		if err != nil {
			return err
		}
		var errs []error
		for v, uids := range byValidity {
			if v != sel.UIDValidity {
				cn.logger.Warn("imap: UIDVALIDITY changed since the poll; processed mail not moved",
					"source", cn.s.name, "mailbox", cn.s.mailbox, "messages", len(uids))
				continue
			}
			for i := 0; i < len(uids); i += cn.s.batchSize {
				j := min(i+cn.s.batchSize, len(uids))
				if err := cn.moveBatch(ss, uids[i:j]); err != nil {
					errs = append(errs, err)
					if isConnError(err) {
						return errors.Join(errs...)
					}
				}
			}
		}
		return errors.Join(errs...)
	}
	err := move()
	if err != nil && isConnError(err) && ctx.Err() == nil {
		cn.dropSession()
		err = move()
	}
	return err
}

// moveBatch moves uids, creating the target folder once on TRYCREATE.
func (cn *Connector) moveBatch(ss *session, uids []goimap.UID) error {
	set := goimap.UIDSetNum(uids...)
	err := cn.moveCmd(ss, set)
	var ie *goimap.Error
	if errors.As(err, &ie) && ie.Code == goimap.ResponseCodeTryCreate {
		ss.requests.Add(1)
		if cerr := ss.c.Create(cn.s.moveTo, nil).Wait(); cerr != nil {
			return fmt.Errorf("imap: create %s: %w", cn.s.moveTo, cerr)
		}
		err = cn.moveCmd(ss, set)
	}
	if err != nil {
		return fmt.Errorf("imap: move %d messages to %s: %w", len(uids), cn.s.moveTo, err)
	}
	return nil
}

func (cn *Connector) moveCmd(ss *session, set goimap.UIDSet) error {
	if ss.c.Caps().Has(goimap.CapMove) {
		ss.requests.Add(1)
	} else {
		ss.requests.Add(3) // COPY, STORE, EXPUNGE
	}
	_, err := ss.c.Move(set, cn.s.moveTo).Wait()
	return err
}
