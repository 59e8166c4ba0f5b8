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

// AddNote implements inbox.Store: one transaction reads the conversation,
// creates the note and its activity entry and writes both into the
// conversation's recent copy (its field "recent" only: the version and
// every other field stay, so a note never makes a change conflict; two
// writers of one conversation are serialised by the transaction). The note
// must carry a tenant, conversation, id and non-blank body, and ev must
// belong to the same conversation (ErrInvalid otherwise); a note id used
// twice is ErrAlreadyExists.
func (s *Store) AddNote(ctx context.Context, n inbox.Note, ev inbox.Activity) error {
	switch {
	case n.TenantID == "" || n.ConversationID == "" || n.ID == "":
		return fmt.Errorf("add note: %w", invalid("a note needs a tenant, a conversation and an id"))
	case strings.TrimSpace(n.Body) == "":
		return fmt.Errorf("add note: %w", invalid("the note is empty"))
	}
	op := fmt.Sprintf("add note to %s/%s", n.TenantID, n.ConversationID)
	if err := ev.ValidateFor(n.TenantID, n.ConversationID); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	conv := s.conversationRef(n.TenantID, n.ConversationID)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		snap, err := s.get(ctx, tx, conv)
		if err != nil {
			return wrap("look up conversation", err)
		}
		var d convDoc
		if err := snap.DataTo(&d); err != nil {
			return fmt.Errorf("decode conversation: %w", err)
		}
		recent, err := s.recentOf(ctx, tx, conv, d)
		if err != nil {
			return err
		}
		if err := tx.create(conv.Collection(collNotes).Doc(docID(n.ID)), encodeNote(n)); err != nil {
			return err
		}
		if err := s.appendActivity(tx, recent, ev); err != nil {
			return err
		}
		recent.addNote(n)
		return tx.set(conv, map[string]any{fieldRecent: recent}, firestore.Merge([]string{fieldRecent}))
	})
	return wrapCommit(op, err)
}

// ListNotes implements inbox.Store; limit ≤ 0 reads 20 notes.
func (s *Store) ListNotes(ctx context.Context, tenantID, conversationID string, limit int) ([]inbox.Note, error) {
	op := fmt.Sprintf("list notes of %s/%s", tenantID, conversationID)
	if limit <= 0 {
		limit = defaultLimit
	}
	snaps, err := s.query(ctx, nil, historyQuery(s.conversationRef(tenantID, conversationID), collNotes, limit))
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]inbox.Note, 0, len(snaps))
	for _, snap := range snaps {
		var d noteDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("%s: decode %s: %w", op, snap.Ref.ID, err)
		}
		out = append(out, decodeNote(tenantID, conversationID, d))
	}
	return out, nil
}

// ListActivity implements inbox.Store; limit ≤ 0 reads 20 entries.
func (s *Store) ListActivity(ctx context.Context, tenantID, conversationID string, limit int) ([]inbox.Activity, error) {
	op := fmt.Sprintf("list activity of %s/%s", tenantID, conversationID)
	if limit <= 0 {
		limit = defaultLimit
	}
	snaps, err := s.query(ctx, nil, historyQuery(s.conversationRef(tenantID, conversationID), collActivity, limit))
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]inbox.Activity, 0, len(snaps))
	for _, snap := range snaps {
		var d activityDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("%s: decode %s: %w", op, snap.Ref.ID, err)
		}
		out = append(out, decodeActivity(tenantID, conversationID, d))
	}
	return out, nil
}
