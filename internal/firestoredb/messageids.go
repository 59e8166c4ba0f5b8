package firestoredb

import (
	"context"
	"fmt"
	"time"

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
// those entries; FindConversationsByMessageID reads the entry of the id,
// then the conversations it names. migrateMessageIDs builds the index for
// conversations written before it existed.
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

// midRecheckAfter is how long after the index was first built it is
// built once more, to take in what instances of the earlier version wrote
// meanwhile (a deploy replaces them within minutes).
const midRecheckAfter = time.Hour

// migrateMessageIDs builds the Message-ID index from the mids of every
// conversation and leaves the marker schema/messageIds, once per database;
// a store that opens afterwards reads the marker (one read).
//
// Until the index is known complete, FindConversationsByMessageID queries
// the conversations' mids as it did before the index existed: during a
// deploy, instances of the earlier version go on writing conversations
// without entries. The index is complete when it was built on a database
// without tenants (no earlier version served it), or once a store opens
// midRecheckAfter after the first build and builds it again (the merges
// are idempotent); the marker then says verified and the lookup reads by
// key. A build cut short is done again in full by the next open.
func (s *Store) migrateMessageIDs(ctx context.Context) error {
	marker := s.collection(collSchema).Doc(collMessageIDs)
	snap, err := s.get(ctx, nil, marker)
	again := err == nil
	switch {
	case err == nil:
		var m schemaMarker
		if err := snap.DataTo(&m); err != nil {
			return fmt.Errorf("migrate the Message-ID index: decode the marker: %w", err)
		}
		if m.Verified {
			s.midsComplete.Store(true)
			return nil
		}
		if time.Since(snap.UpdateTime) < s.midRecheck {
			return nil
		}
	case status.Code(err) != codes.NotFound:
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
	// A first build on a database with tenants is verified only by the
	// second; a repeated build (the marker was there) verifies.
	verified := again || len(tenants) == 0
	if _, err := marker.Set(ctx, schemaMarker{Done: true, Verified: verified}); err != nil {
		return fmt.Errorf("migrate the Message-ID index: %w", err)
	}
	s.writes.Add(1)
	s.midsComplete.Store(verified)
	return nil
}

// schemaMarker is the document of collSchema that says a migration ran.
type schemaMarker struct {
	Done bool `firestore:"done"`
	// Verified: the migration's result is known complete (see
	// migrateMessageIDs).
	Verified bool `firestore:"verified,omitempty"`
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
