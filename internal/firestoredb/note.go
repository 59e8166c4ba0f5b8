package firestoredb

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	Mentions  []string  `firestore:"mentions"` // absent in notes written before mentions existed
	CreatedAt time.Time `firestore:"createdAt"`
	EditedAt  time.Time `firestore:"editedAt"` // zero until the first edit
	SortKey   string    `firestore:"sortKey"`  // CreatedAt, then ID
}

// AddNote implements inbox.Store. A note is its own document, and saving it
// must not depend on winning the conversation document, which every change,
// mail and note of the conversation writes. So it takes three steps:
//
//  1. a plain read checks that the conversation exists (conversations are
//     never deleted, so no lock is needed to keep it so) and gives the
//     inbox and subject its mentions carry;
//  2. a transaction creates the note, its activity entry and a mention
//     document per address it names, new documents that nothing else
//     writes: this is the save;
//  3. a second transaction (refreshRecent) adds note and entry to the
//     conversation's recent copy, retried on contention like every
//     transaction.
//
// Every writer of the copy (step 3, UpdateConversation, AppendMessage,
// UpdateNote, DeleteNote) derives it from the copy it read plus its own
// entries, so once each note's step 3 has committed the copy holds the
// newest entries whatever the order of the commits. When step 3 cannot
// commit in time the note, its entry and its mentions are deleted again
// and AddNote returns inbox.ErrUnavailable, so RecentHistory never misses
// a saved note. The version and every other field of the conversation
// stay: a note never makes a change conflict. A note that does not
// validate (inbox.Note.Validate), or an entry of another conversation, is
// ErrInvalid; a note id used twice is ErrAlreadyExists.
func (s *Store) AddNote(ctx context.Context, n inbox.Note, ev inbox.Activity) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("add note: %w", err)
	}
	op := fmt.Sprintf("add note to %s/%s", n.TenantID, n.ConversationID)
	if err := ev.ValidateFor(n.TenantID, n.ConversationID); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	conv := s.conversationRef(n.TenantID, n.ConversationID)
	snap, err := s.get(ctx, nil, conv)
	if err != nil {
		return wrap(op+": look up conversation", err)
	}
	c, _, err := decodeConversation(n.TenantID, snap)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	noteRef := s.noteRef(n.TenantID, n.ConversationID, n.ID)
	evRef := conv.Collection(collActivity).Doc(docID(ev.ID))
	var mentionRefs []*firestore.DocumentRef
	err = s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		if err := tx.create(noteRef, encodeNote(n)); err != nil {
			return err
		}
		if err := tx.create(evRef, encodeActivity(ev)); err != nil {
			return err
		}
		mentionRefs, err = s.createMentions(tx, c, n, n.Mentions)
		return err
	})
	if err != nil {
		return wrapCommit(op, err)
	}
	if err := s.refreshRecent(ctx, conv, &n, ev); err != nil {
		// Take the note back so that nothing is saved; the deletes touch
		// only the new documents, so they meet no contention. They run
		// even when ctx has ended, within a bound of their own.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := s.runTx(dctx, func(ctx context.Context, tx *txn) error {
			for _, ref := range append([]*firestore.DocumentRef{noteRef, evRef}, mentionRefs...) {
				if err := tx.delete(ref); err != nil {
					return err
				}
			}
			return nil
		}); derr != nil {
			return fmt.Errorf("%s: the note is saved but not in the recent history (%w), and taking it back failed: %w", op, err, derr)
		}
		return wrapCommit(op+": update the recent history", err)
	}
	return nil
}

func (s *Store) noteRef(tenantID, conversationID, noteID string) *firestore.DocumentRef {
	return s.conversationRef(tenantID, conversationID).Collection(collNotes).Doc(docID(noteID))
}

// GetNote implements inbox.Store: one document read.
func (s *Store) GetNote(ctx context.Context, tenantID, conversationID, noteID string) (inbox.Note, error) {
	op := fmt.Sprintf("get note %s of %s/%s", noteID, tenantID, conversationID)
	if tenantID == "" || conversationID == "" || noteID == "" {
		return inbox.Note{}, fmt.Errorf("%s: %w", op, inbox.ErrNotFound)
	}
	snap, err := s.get(ctx, nil, s.noteRef(tenantID, conversationID, noteID))
	if err != nil {
		return inbox.Note{}, wrap(op, err)
	}
	n, err := decodeNoteSnap(tenantID, conversationID, snap)
	if err != nil {
		return inbox.Note{}, fmt.Errorf("%s: %w", op, err)
	}
	return n, nil
}

func decodeNoteSnap(tenantID, conversationID string, snap *firestore.DocumentSnapshot) (inbox.Note, error) {
	var d noteDoc
	if err := snap.DataTo(&d); err != nil {
		return inbox.Note{}, fmt.Errorf("decode note %s: %w", snap.Ref.ID, err)
	}
	return decodeNote(tenantID, conversationID, d), nil
}

// noteAndConversation reads, in tx, a note and its conversation: the
// stored note, the conversation and its document. A note that does not
// exist (or a conversation that does not) is ErrNotFound.
func (s *Store) noteAndConversation(ctx context.Context, tx *txn, tenantID, conversationID, noteID string) (inbox.Note, inbox.Conversation, convDoc, error) {
	conv, ref := s.conversationRef(tenantID, conversationID), s.noteRef(tenantID, conversationID, noteID)
	snaps, err := s.getAll(ctx, tx, conv, ref)
	if err != nil {
		return inbox.Note{}, inbox.Conversation{}, convDoc{}, err
	}
	if !snaps[0].Exists() || !snaps[1].Exists() {
		return inbox.Note{}, inbox.Conversation{}, convDoc{}, fmt.Errorf("note: %w", inbox.ErrNotFound)
	}
	c, d, err := decodeConversation(tenantID, snaps[0])
	if err != nil {
		return inbox.Note{}, inbox.Conversation{}, convDoc{}, err
	}
	n, err := decodeNoteSnap(tenantID, conversationID, snaps[1])
	if err != nil {
		return inbox.Note{}, inbox.Conversation{}, convDoc{}, err
	}
	return n, c, d, nil
}

// UpdateNote implements inbox.Store. Edits are rare, so one transaction
// reads the conversation and the note, runs fn and checks its result,
// and writes the note, the entry, a mention document per address the edit
// adds, and the conversation's recent copy with the new text (merging the
// field recent alone: the version stays). fn runs again when the
// transaction is retried.
func (s *Store) UpdateNote(ctx context.Context, tenantID, conversationID, noteID string, fn func(*inbox.Note) (inbox.Activity, error)) (inbox.Note, error) {
	op := fmt.Sprintf("update note %s of %s/%s", noteID, tenantID, conversationID)
	conv, ref := s.conversationRef(tenantID, conversationID), s.noteRef(tenantID, conversationID, noteID)
	var out inbox.Note
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		stored, c, d, err := s.noteAndConversation(ctx, tx, tenantID, conversationID, noteID)
		if err != nil {
			return err
		}
		n := stored
		n.Mentions = slices.Clone(stored.Mentions)
		ev, err := fn(&n)
		if err != nil {
			return fnError{err}
		}
		added, err := checkNoteUpdate(stored, n)
		if err != nil {
			return err
		}
		if err := ev.ValidateFor(tenantID, conversationID); err != nil {
			return err
		}
		recent, err := s.recentOf(ctx, tx, conv, d)
		if err != nil {
			return err
		}
		recent.addNote(n)
		recent.addActivity(ev)
		if err := tx.set(ref, encodeNote(n)); err != nil {
			return err
		}
		if err := tx.create(conv.Collection(collActivity).Doc(docID(ev.ID)), encodeActivity(ev)); err != nil {
			return err
		}
		if _, err := s.createMentions(tx, c, n, added); err != nil {
			return err
		}
		out = n
		return tx.set(conv, map[string]any{fieldRecent: recent}, firestore.Merge([]string{fieldRecent}))
	})
	var fe fnError
	if errors.As(err, &fe) {
		return inbox.Note{}, fe.err
	}
	if err != nil {
		return inbox.Note{}, wrapCommit(op, err)
	}
	return out, nil
}

// checkNoteUpdate checks what an UpdateNote fn made of stored and returns
// the addresses it added to Mentions.
func checkNoteUpdate(stored, n inbox.Note) ([]string, error) {
	if n.TenantID != stored.TenantID || n.ConversationID != stored.ConversationID || n.ID != stored.ID ||
		n.Author != stored.Author || !n.CreatedAt.Equal(stored.CreatedAt) {
		return nil, invalid("a note's keys, author and creation time cannot change")
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	for _, m := range stored.Mentions {
		if !slices.Contains(n.Mentions, m) {
			return nil, invalid("%s cannot be taken out of the note's mentions", m)
		}
	}
	var added []string
	for _, m := range n.Mentions {
		if !slices.Contains(stored.Mentions, m) && !slices.Contains(added, m) {
			added = append(added, m)
		}
	}
	return added, nil
}

// DeleteNote implements inbox.Store. One transaction reads the
// conversation and the note, runs fn, and deletes the note and its
// mention documents, appends the entry and rewrites the recent copy. When
// the note was in the copy, the copy's notes are read again from the
// notes subcollection (the newest inbox.MaxRecentNotes+1 of them, in the
// transaction), so that the next older note takes its place.
func (s *Store) DeleteNote(ctx context.Context, tenantID, conversationID, noteID string, fn func(inbox.Note) (inbox.Activity, error)) error {
	op := fmt.Sprintf("delete note %s of %s/%s", noteID, tenantID, conversationID)
	conv, ref := s.conversationRef(tenantID, conversationID), s.noteRef(tenantID, conversationID, noteID)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		stored, _, d, err := s.noteAndConversation(ctx, tx, tenantID, conversationID, noteID)
		if err != nil {
			return err
		}
		ev, err := fn(stored)
		if err != nil {
			return fnError{err}
		}
		if err := ev.ValidateFor(tenantID, conversationID); err != nil {
			return err
		}
		recent, err := s.recentOf(ctx, tx, conv, d)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(recent.Notes, func(e noteDoc) bool { return e.ID == noteID }) {
			if err := s.refillRecentNotes(ctx, tx, conv, recent, noteID); err != nil {
				return err
			}
		}
		recent.noteDeleted(noteID)
		recent.addActivity(ev)
		if err := tx.delete(ref); err != nil {
			return err
		}
		for _, m := range stored.Mentions {
			if err := tx.delete(s.mentionRef(tenantID, m, noteID)); err != nil {
				return err
			}
		}
		if err := tx.create(conv.Collection(collActivity).Doc(docID(ev.ID)), encodeActivity(ev)); err != nil {
			return err
		}
		return tx.set(conv, map[string]any{fieldRecent: recent}, firestore.Merge([]string{fieldRecent}))
	})
	var fe fnError
	if errors.As(err, &fe) {
		return fe.err
	}
	return wrapCommit(op, err)
}

// refillRecentNotes replaces the notes of recent by the newest of the
// conversation at conv but the one being deleted, read in tx.
func (s *Store) refillRecentNotes(ctx context.Context, tx *txn, conv *firestore.DocumentRef, recent *recentDoc, deleted string) error {
	snaps, err := s.query(ctx, tx, historyQuery(conv, collNotes, inbox.MaxRecentNotes+1))
	if err != nil {
		return fmt.Errorf("refill the recent notes: %w", err)
	}
	notes := make([]noteDoc, 0, inbox.MaxRecentNotes)
	for _, snap := range snaps {
		var n noteDoc
		if err := snap.DataTo(&n); err != nil {
			return fmt.Errorf("decode note %s: %w", snap.Ref.ID, err)
		}
		if n.ID != deleted && len(notes) < inbox.MaxRecentNotes {
			notes = append(notes, n)
		}
	}
	recent.Notes = notes
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
		if n != nil && slices.Contains(recent.Deleted, n.ID) {
			// The note was deleted since its save, or this is a new note
			// under a deleted note's id: its document tells which (one
			// read, only in this rare case).
			_, err := s.get(ctx, nil, conv.Collection(collNotes).Doc(docID(n.ID)))
			switch {
			case kindOf(err) == inbox.ErrNotFound:
				n = nil
			case err != nil:
				return wrap("look up note", err)
			default:
				recent.Deleted = slices.DeleteFunc(recent.Deleted, func(id string) bool { return id == n.ID })
			}
		}
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
