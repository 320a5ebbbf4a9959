package store

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/feedbackhub/feedbackhub/feedback"
)

// ClusterTx writes the results of one clustering pass over a chunk of items inside a
// single transaction: the same writes as ReplaceRefs, CreateCluster and LinkItem, but
// the counts and seen times of the clusters it touches are recomputed once, just
// before the commit, instead of after every link.
type ClusterTx struct {
	s       *Store
	q       *txq
	touched []int64
	seen    map[int64]bool
}

// ClusterBatch runs fn with a ClusterTx, refreshes every cluster fn linked an item
// into or out of, and commits. If fn or any write fails, nothing fn wrote is stored.
// fn must write through b only: on SQLite the transaction holds the one connection,
// so any other call on the store would wait for it forever.
func (s *Store) ClusterBatch(ctx context.Context, fn func(b *ClusterTx) error) error {
	s.prepare(ctx, append([]string{deleteRefsSQL, insertRefSQL, createClusterSQL}, linkQueries...)...)
	return s.tx(ctx, "cluster-batch", func(tx *sqlx.Tx) error {
		b := &ClusterTx{s: s, q: s.txq(ctx, tx), seen: map[int64]bool{}}
		if err := fn(b); err != nil {
			return err
		}
		for _, id := range b.touched {
			if err := s.refreshCluster(b.q, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReplaceRefs sets the references found in an item (see Store.ReplaceRefs).
func (b *ClusterTx) ReplaceRefs(itemID int64, refs []feedback.Ref) error {
	return b.s.replaceRefs(b.q, itemID, refs)
}

// CreateCluster inserts a cluster and returns its id (see Store.CreateCluster).
func (b *ClusterTx) CreateCluster(c feedback.Cluster) (int64, error) {
	return b.s.createCluster(c, b.q.queryRow)
}

// LinkItem puts an item into a cluster, moving it out of any other, and records why
// (see Store.LinkItem); both clusters are refreshed at the end of the batch.
func (b *ClusterTx) LinkItem(l feedback.ClusterLink) error {
	old, err := b.s.linkItem(b.q, l)
	if err != nil {
		return err
	}
	b.touch(l.ClusterID)
	if old.Valid && old.Int64 != l.ClusterID {
		b.touch(old.Int64)
	}
	return nil
}

func (b *ClusterTx) touch(id int64) {
	if !b.seen[id] {
		b.seen[id] = true
		b.touched = append(b.touched, id)
	}
}
