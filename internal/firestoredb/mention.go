package firestoredb

import (
	"context"
	"fmt"
	"slices"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// A member's mentions live below the tenant, one collection per
// recipient (tenants/{domain}/users/{email}/mentions/{noteID}), so that
// listing them is a query of that collection alone, whose cost is the
// mentions it returns. The users/{email} document itself is never
// written.
const (
	collUsers    = "users"
	collMentions = "mentions"
	// fieldUnread is true while the mention is unread: the unread listing
	// filters on it (readAt alone would need an inequality on the zero
	// time, which cannot share an index with the order by sortKey).
	fieldUnread = "unread"
)

// maxMentionIDs bounds ListMentions and MarkMentionsRead, as the
// contract does.
const maxMentionIDs = 100

// mentionDoc is the stored form of an inbox.Mention; its tags are the
// schema. The tenant, recipient and note id are the document's path.
type mentionDoc struct {
	NoteID         string    `firestore:"noteId"`
	ConversationID string    `firestore:"conversationId"`
	InboxID        string    `firestore:"inboxId"`
	Author         string    `firestore:"author"`
	Subject        string    `firestore:"subject"`
	Excerpt        string    `firestore:"excerpt"`
	At             time.Time `firestore:"at"`
	ReadAt         time.Time `firestore:"readAt"` // zero while unread
	Unread         bool      `firestore:"unread"`
	SortKey        string    `firestore:"sortKey"` // At, then NoteID: the listing order
}

func encodeMention(m inbox.Mention) mentionDoc {
	return mentionDoc{
		NoteID: m.NoteID, ConversationID: m.ConversationID, InboxID: m.InboxID, Author: m.Author,
		Subject: m.Subject, Excerpt: m.Excerpt, At: m.At, ReadAt: m.ReadAt, Unread: m.Unread(),
		SortKey: sortKey(m.At, m.NoteID),
	}
}

func decodeMention(tenantID, recipient string, snap *firestore.DocumentSnapshot) (inbox.Mention, error) {
	var d mentionDoc
	if err := snap.DataTo(&d); err != nil {
		return inbox.Mention{}, fmt.Errorf("decode mention %s: %w", snap.Ref.ID, err)
	}
	return inbox.Mention{
		TenantID: tenantID, Recipient: recipient, NoteID: d.NoteID, ConversationID: d.ConversationID,
		InboxID: d.InboxID, Author: d.Author, Subject: d.Subject, Excerpt: d.Excerpt,
		At: utc(d.At), ReadAt: utc(d.ReadAt),
	}, nil
}

func (s *Store) mentions(tenantID, recipient string) *firestore.CollectionRef {
	return s.tenantRef(tenantID).Collection(collUsers).Doc(docID(recipient)).Collection(collMentions)
}

func (s *Store) mentionRef(tenantID, recipient, noteID string) *firestore.DocumentRef {
	return s.mentions(tenantID, recipient).Doc(docID(noteID))
}

// createMentions buffers in tx the Mention of note n of conversation c
// for each of recipients, and returns their references.
func (s *Store) createMentions(tx *txn, c inbox.Conversation, n inbox.Note, recipients []string) ([]*firestore.DocumentRef, error) {
	refs := make([]*firestore.DocumentRef, 0, len(recipients))
	for _, r := range recipients {
		ref := s.mentionRef(n.TenantID, r, n.ID)
		if err := tx.create(ref, encodeMention(inbox.NewMention(c, n, r))); err != nil {
			return nil, err
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// ListMentions implements inbox.Store: one query of the recipient's
// mentions, newest sortKey first, reading the mentions it returns (the
// unread ones through the composite index unread, sortKey).
func (s *Store) ListMentions(ctx context.Context, tenantID, recipient string, unreadOnly bool, limit int) ([]inbox.Mention, error) {
	op := fmt.Sprintf("list mentions of %s in %s", recipient, tenantID)
	if limit <= 0 {
		limit = defaultLimit
	}
	q := querySpec{
		coll:   s.mentions(tenantID, recipient),
		orders: []order{{fieldSortKey, firestore.Desc}},
		limit:  min(limit, maxMentionIDs),
	}
	if unreadOnly {
		q.filters = []filter{{fieldUnread, "==", true}}
	}
	snaps, err := s.query(ctx, nil, q)
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]inbox.Mention, 0, len(snaps))
	for _, snap := range snaps {
		m, err := decodeMention(tenantID, recipient, snap)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// MarkMentionsRead implements inbox.Store: one transaction looks the
// mentions up (one read per distinct id) and writes those unread.
func (s *Store) MarkMentionsRead(ctx context.Context, tenantID, recipient string, noteIDs []string, at time.Time) (int, error) {
	op := fmt.Sprintf("mark mentions of %s in %s read", recipient, tenantID)
	if len(noteIDs) > maxMentionIDs {
		return 0, fmt.Errorf("%s: %w", op, invalid("%d ids, at most %d", len(noteIDs), maxMentionIDs))
	}
	ids := slices.Compact(slices.Sorted(slices.Values(noteIDs)))
	if len(ids) == 0 {
		return 0, nil
	}
	refs := make([]*firestore.DocumentRef, len(ids))
	for i, id := range ids {
		refs[i] = s.mentionRef(tenantID, recipient, id)
	}
	var changed int
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		changed = 0
		snaps, err := s.getAll(ctx, tx, refs...)
		if err != nil {
			return err
		}
		for _, snap := range snaps {
			if !snap.Exists() {
				continue
			}
			var d mentionDoc
			if err := snap.DataTo(&d); err != nil {
				return fmt.Errorf("decode mention %s: %w", snap.Ref.ID, err)
			}
			if !d.Unread {
				continue
			}
			if err := tx.set(snap.Ref, map[string]any{"readAt": at, fieldUnread: false}, firestore.MergeAll); err != nil {
				return err
			}
			changed++
		}
		return nil
	})
	if err != nil {
		return 0, wrapCommit(op, err)
	}
	return changed, nil
}
