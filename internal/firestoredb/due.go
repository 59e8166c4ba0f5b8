package firestoredb

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// collDue holds one document per conversation whose DueAt is set, keyed by
// tenant and conversation id: the sweep's worklist across tenants. A
// collection-group query on conversations would cross namespaces (and the
// adapter issues none); this collection is namespaced like every other,
// and its one-field query needs no composite index.
const collDue = "due"

// dueDoc is one entry of the due collection.
type dueDoc struct {
	TenantID       string    `firestore:"tenantId"`
	ConversationID string    `firestore:"conversationId"`
	DueAt          time.Time `firestore:"dueAt"`
}

const fieldDueAt = "dueAt"

func (s *Store) dueRef(tenantID, conversationID string) *firestore.DocumentRef {
	return s.collection(collDue).Doc(docID(tenantID + " " + conversationID))
}

// putDue mirrors c.DueAt into the due collection inside tx, when it differs
// from what was stored (was): set, moved or deleted. Writes only on a
// change, so conversations without a due time cost nothing more.
func (s *Store) putDue(tx *txn, c inbox.Conversation, was time.Time) error {
	if c.DueAt.Equal(was) {
		return nil
	}
	ref := s.dueRef(c.TenantID, c.ID)
	if c.DueAt.IsZero() {
		return tx.delete(ref)
	}
	return tx.set(ref, dueDoc{TenantID: c.TenantID, ConversationID: c.ID, DueAt: c.DueAt})
}

// ListDue implements inbox.Store: one query on the due collection, then
// the conversations by key. An entry whose conversation says otherwise
// (it moved on since) is skipped.
func (s *Store) ListDue(ctx context.Context, t time.Time, limit int) ([]inbox.Conversation, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	op := fmt.Sprintf("list conversations due by %v", t)
	snaps, err := s.query(ctx, nil, querySpec{
		coll:    s.collection(collDue),
		filters: []filter{{fieldDueAt, "<=", t}},
		orders:  []order{{fieldDueAt, firestore.Asc}},
		limit:   limit,
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	var out []inbox.Conversation
	for _, snap := range snaps {
		var d dueDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("%s: decode %s: %w", op, snap.Ref.ID, err)
		}
		csnap, err := s.get(ctx, nil, s.conversationRef(d.TenantID, d.ConversationID))
		if err != nil {
			return nil, wrap(op, err)
		}
		c, _, err := decodeConversation(d.TenantID, csnap)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if c.DueAt.IsZero() || c.DueAt.After(t) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// SetDue implements inbox.Store: the conversation is read and, if its
// version is still version, its dueAt field and the due entry written, in
// one transaction.
func (s *Store) SetDue(ctx context.Context, tenantID, id string, version int64, due time.Time) error {
	op := fmt.Sprintf("set due time of %s/%s", tenantID, id)
	ref := s.conversationRef(tenantID, id)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		snap, err := s.get(ctx, tx, ref)
		if err != nil {
			return wrap("read stored conversation", err)
		}
		stored, _, err := decodeConversation(tenantID, snap)
		if err != nil {
			return err
		}
		if stored.Version != version {
			return fmt.Errorf("stored version is %d, not %d: %w", stored.Version, version, inbox.ErrConflict)
		}
		next := stored
		next.DueAt = due
		if err := s.putDue(tx, next, stored.DueAt); err != nil {
			return err
		}
		var v any = firestore.Delete
		if !due.IsZero() {
			v = due
		}
		return tx.set(ref, map[string]any{"dueAt": v}, firestore.MergeAll)
	})
	return wrapCommit(op, err)
}
