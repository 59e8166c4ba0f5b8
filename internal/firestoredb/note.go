package firestoredb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// noteDoc is the stored form of an inbox.Note.
type noteDoc struct {
	ID        string    `firestore:"id"`
	Author    string    `firestore:"author"`
	Body      string    `firestore:"body"`
	CreatedAt time.Time `firestore:"createdAt"`
	SortKey   string    `firestore:"sortKey"` // CreatedAt, then ID
}

// AddNote implements inbox.Store: one transaction checks that the
// conversation exists and creates the note and its activity entry; the
// conversation document is not written, so notes never collide with
// changes. The note must carry a tenant, conversation, id and non-blank
// body, and ev must belong to the same conversation (ErrInvalid otherwise);
// a note id used twice is ErrAlreadyExists.
func (s *Store) AddNote(ctx context.Context, n inbox.Note, ev inbox.Activity) error {
	switch {
	case n.TenantID == "" || n.ConversationID == "" || n.ID == "":
		return fmt.Errorf("add note: %w", invalid("a note needs a tenant, a conversation and an id"))
	case strings.TrimSpace(n.Body) == "":
		return fmt.Errorf("add note: %w", invalid("the note is empty"))
	}
	op := fmt.Sprintf("add note to %s/%s", n.TenantID, n.ConversationID)
	if err := checkActivity(ev, n.TenantID, n.ConversationID); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	conv := s.conversationRef(n.TenantID, n.ConversationID)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		if _, err := s.get(ctx, tx, conv); err != nil {
			return wrap("look up conversation", err)
		}
		ref := conv.Collection(collNotes).Doc(docID(n.ID))
		if err := tx.create(ref, noteDoc{ID: n.ID, Author: n.Author, Body: n.Body, CreatedAt: n.CreatedAt, SortKey: sortKey(n.CreatedAt, n.ID)}); err != nil {
			return err
		}
		return s.appendActivity(tx, ev)
	})
	return wrapCommit(op, err)
}

// ListNotes implements inbox.Store; limit ≤ 0 reads 20 notes.
func (s *Store) ListNotes(ctx context.Context, tenantID, conversationID string, limit int) ([]inbox.Note, error) {
	op := fmt.Sprintf("list notes of %s/%s", tenantID, conversationID)
	if limit <= 0 {
		limit = defaultLimit
	}
	snaps, err := s.query(ctx, nil, querySpec{
		coll:   s.conversationRef(tenantID, conversationID).Collection(collNotes),
		orders: []order{{fieldSortKey, firestore.Desc}},
		limit:  limit,
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]inbox.Note, 0, len(snaps))
	for _, snap := range snaps {
		var d noteDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("%s: decode %s: %w", op, snap.Ref.ID, err)
		}
		out = append(out, inbox.Note{
			TenantID:       tenantID,
			ConversationID: conversationID,
			ID:             d.ID,
			Author:         d.Author,
			Body:           d.Body,
			CreatedAt:      utc(d.CreatedAt),
		})
	}
	return out, nil
}

// ListActivity implements inbox.Store; limit ≤ 0 reads 20 entries.
func (s *Store) ListActivity(ctx context.Context, tenantID, conversationID string, limit int) ([]inbox.Activity, error) {
	op := fmt.Sprintf("list activity of %s/%s", tenantID, conversationID)
	if limit <= 0 {
		limit = defaultLimit
	}
	snaps, err := s.query(ctx, nil, querySpec{
		coll:   s.conversationRef(tenantID, conversationID).Collection(collActivity),
		orders: []order{{fieldSortKey, firestore.Desc}},
		limit:  limit,
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]inbox.Activity, 0, len(snaps))
	for _, snap := range snaps {
		var d activityDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("%s: decode %s: %w", op, snap.Ref.ID, err)
		}
		out = append(out, inbox.Activity{
			TenantID:       tenantID,
			ConversationID: conversationID,
			ID:             d.ID,
			Version:        d.Version,
			Actor:          d.Actor,
			Kind:           inbox.ActivityKind(d.Kind),
			From:           d.From,
			To:             d.To,
			At:             utc(d.At),
		})
	}
	return out, nil
}
