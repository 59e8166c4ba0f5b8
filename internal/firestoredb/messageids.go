package firestoredb

import (
	"context"
	"fmt"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The Message-ID index by key: a document per indexed Message-ID of a
// tenant, naming the conversation of each inbox it belongs to,
//
//	tenants/{t}/messageIds/{midHash}   convs{inboxID}: conversationID
//
// written in the transaction that adds the id to its conversation's mids.
// CreateConversation and AppendMessage read it by key to learn which ids
// another conversation of the inbox holds, so their transactions lock only
// those entries; FindConversationsByMessageID still queries the mids of
// the conversations (one read for what it finds). migrateMessageIDs
// builds the index for conversations written before it existed.
const (
	collMessageIDs = "messageIds"
	// collSchema holds the markers of the migrations a database has had.
	collSchema = "schema"
)

// midDoc is one entry of the Message-ID index.
type midDoc struct {
	Convs map[string]string `firestore:"convs"`
}

func (s *Store) midRef(tenantID, hash string) *firestore.DocumentRef {
	return s.tenantRef(tenantID).Collection(collMessageIDs).Doc(hash)
}

// midEntry is the merge that adds convs (inbox id → conversation id) to
// an entry, leaving the other inboxes' as they are.
func midEntry(convs map[string]string) map[string]any {
	m := make(map[string]any, len(convs))
	for ib, c := range convs {
		m[ib] = c
	}
	return map[string]any{"convs": m}
}

// migrateMessageIDs builds the Message-ID index from the mids of every
// conversation, once per database: the marker schema/messageIds says it
// was done. A store that opens afterwards reads the marker (one read). A
// build cut short is done again in full by the next open (the merges are
// idempotent). Conversations an instance of an earlier version writes
// during a deploy stay out of the index: the lookup that finds a mail's
// conversation queries the conversations themselves, so only the
// transaction's guard against a concurrent claim of the same id misses
// them.
func (s *Store) migrateMessageIDs(ctx context.Context) error {
	marker := s.collection(collSchema).Doc(collMessageIDs)
	if _, err := s.get(ctx, nil, marker); err == nil {
		return nil
	} else if status.Code(err) != codes.NotFound {
		return fmt.Errorf("migrate the Message-ID index: %w", err)
	}
	tenants, err := s.query(ctx, nil, querySpec{coll: s.collection(collTenants)})
	if err != nil {
		return fmt.Errorf("migrate the Message-ID index: %w", err)
	}
	for _, t := range tenants {
		if err := s.indexTenantMids(ctx, undocID(t.Ref.ID)); err != nil {
			return fmt.Errorf("migrate the Message-ID index of %s: %w", undocID(t.Ref.ID), err)
		}
	}
	if _, err := marker.Set(ctx, map[string]any{"done": true}); err != nil {
		return fmt.Errorf("migrate the Message-ID index: %w", err)
	}
	s.writes.Add(1)
	return nil
}

// indexTenantMids writes the index entries of a tenant's conversations, a
// page of 500 conversations per BulkWriter (which writes a document once:
// the entries of one page are merged first).
func (s *Store) indexTenantMids(ctx context.Context, tenantID string) error {
	var after *firestore.DocumentSnapshot
	for {
		q := s.conversations(tenantID).Select(fieldInboxID, fieldMids).OrderBy(firestore.DocumentID, firestore.Asc).Limit(500)
		if after != nil {
			q = q.StartAfter(after)
		}
		snaps, err := q.Documents(ctx).GetAll()
		s.reads.Add(int64(max(1, len(snaps))))
		if err != nil {
			return err
		}
		if len(snaps) == 0 {
			return nil
		}
		entries := map[string]map[string]string{}
		for _, snap := range snaps {
			var d convDoc
			if err := snap.DataTo(&d); err != nil {
				return fmt.Errorf("decode conversation %s: %w", snap.Ref.ID, err)
			}
			for _, h := range d.Mids {
				if entries[h] == nil {
					entries[h] = map[string]string{}
				}
				entries[h][d.InboxID] = undocID(snap.Ref.ID)
			}
		}
		err = s.runBulk(ctx, func(b *bulk) error {
			for h, convs := range entries {
				if err := b.set(s.midRef(tenantID, h), midEntry(convs), firestore.MergeAll); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		after = snaps[len(snaps)-1]
	}
}
