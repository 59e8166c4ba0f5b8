package firestoredb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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

// AddNote implements inbox.Store. A note is its own document, and saving it
// must not depend on winning the conversation document, which every change,
// mail and note of the conversation writes. So it takes three steps:
//
//  1. a plain read checks that the conversation exists (conversations are
//     never deleted, so no lock is needed to keep it so);
//  2. a transaction creates the note and its activity entry, new
//     documents that nothing else writes: this is the save;
//  3. a second transaction (refreshRecent) adds both to the conversation's
//     recent copy, retried on contention like every transaction.
//
// Every writer of the copy (step 3, UpdateConversation, AppendMessage)
// derives it from the copy it read plus its own entries, so once each
// note's step 3 has committed the copy holds the newest entries whatever
// the order of the commits. When step 3 cannot commit in time the note and
// its entry are deleted again and AddNote returns inbox.ErrUnavailable, so
// RecentHistory never misses a saved note. The version and every other
// field of the conversation stay: a note never makes a change conflict.
// The note must carry a tenant, conversation, id and non-blank body, and ev
// must belong to the same conversation (ErrInvalid otherwise); a note id
// used twice is ErrAlreadyExists.
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
	if _, err := s.get(ctx, nil, conv); err != nil {
		return wrap(op+": look up conversation", err)
	}
	noteRef := conv.Collection(collNotes).Doc(docID(n.ID))
	evRef := conv.Collection(collActivity).Doc(docID(ev.ID))
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		if err := tx.create(noteRef, encodeNote(n)); err != nil {
			return err
		}
		return tx.create(evRef, encodeActivity(ev))
	})
	if err != nil {
		return wrapCommit(op, err)
	}
	if err := s.refreshRecent(ctx, conv, &n, ev); err != nil {
		// Take the note back so that nothing is saved; the deletes touch
		// only the two new documents, so they meet no contention. They
		// run even when ctx has ended, within a bound of their own.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := s.runTx(dctx, func(ctx context.Context, tx *txn) error {
			if err := tx.delete(noteRef); err != nil {
				return err
			}
			return tx.delete(evRef)
		}); derr != nil {
			return fmt.Errorf("%s: the note is saved but not in the recent history (%w), and taking it back failed: %w", op, err, derr)
		}
		return wrapCommit(op+": update the recent history", err)
	}
	return nil
}

// refreshRecent adds note n (if not nil) and entry ev, both saved, to the recent copy
// of the conversation at conv. It reads the copy and writes the field
// "recent" back on the condition that the document has not changed since
// (a compare-and-set, retried like an aborted transaction): unlike a
// transaction it holds no lock between the read and the write, so notes
// racing on one conversation settle in milliseconds instead of waiting out
// each other's locks. A conversation without a copy yet is filled from the
// subcollections in a transaction.
func (s *Store) refreshRecent(ctx context.Context, conv *firestore.DocumentRef, n *inbox.Note, ev inbox.Activity) error {
	return s.retry(ctx, s.contention, func(time.Time) error {
		snap, err := s.get(ctx, nil, conv)
		if err != nil {
			return wrap("look up conversation", err)
		}
		var d convDoc
		if err := snap.DataTo(&d); err != nil {
			return fmt.Errorf("decode conversation: %w", err)
		}
		if d.Recent == nil {
			return s.runTx(ctx, func(ctx context.Context, tx *txn) error {
				snap, err := s.get(ctx, tx, conv)
				if err != nil {
					return wrap("look up conversation", err)
				}
				var d convDoc
				if err := snap.DataTo(&d); err != nil {
					return fmt.Errorf("decode conversation: %w", err)
				}
				// A copy filled from the subcollections already holds n
				// and ev; adding them again changes nothing.
				recent, err := s.recentOf(ctx, tx, conv, d)
				if err != nil {
					return err
				}
				if n != nil {
					recent.addNote(*n)
				}
				recent.addActivity(ev)
				return tx.set(conv, map[string]any{fieldRecent: recent}, firestore.Merge([]string{fieldRecent}))
			})
		}
		recent, _ := s.recentOf(ctx, nil, conv, d) // a copy of d.Recent: no I/O
		if n != nil {
			recent.addNote(*n)
		}
		recent.addActivity(ev)
		_, err = conv.Update(ctx, []firestore.Update{{Path: fieldRecent, Value: recent}}, firestore.LastUpdateTime(snap.UpdateTime))
		if status.Code(err) == codes.FailedPrecondition {
			// Written since the read: read again (retry backs off first).
			return status.Error(codes.Aborted, "the conversation changed while its recent history was updated")
		}
		if err == nil {
			s.writes.Add(1)
		}
		return err
	})
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
