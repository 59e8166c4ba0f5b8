package firestoredb

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// collAssign holds each inbox's auto-assignment record: assign/{inboxID}.
const collAssign = "assign"

// assignDoc is the stored form of an inbox.AssignState.
type assignDoc struct {
	Last    string   `firestore:"last"`
	Waiting []string `firestore:"waiting"`
}

func (s *Store) assignRef(tenantID, inboxID string) *firestore.DocumentRef {
	return s.tenantRef(tenantID).Collection(collAssign).Doc(docID(inboxID))
}

// AutoAssign implements inbox.Store in one transaction that reads the
// inbox, the count shards, the record and the round's conversations, and
// writes the record with the changes. Every decision of an inbox reads
// and writes its record, so Firestore serialises them: of two concurrent
// ones, the second aborts and reruns (fn included) on the first's result.
// Reading the count shards in the transaction also orders it after every
// write that moved the counts.
func (s *Store) AutoAssign(ctx context.Context, tenantID, inboxID string, ids []string, fn func(*inbox.AssignRound) error) (inbox.AssignRound, error) {
	op := fmt.Sprintf("auto-assign in %s/%s", tenantID, inboxID)
	var out inbox.AssignRound
	err := s.runTxWithin(ctx, s.ingestContention, func(ctx context.Context, tx *txn) error {
		snap, err := s.get(ctx, tx, s.inboxRef(tenantID, inboxID))
		if err != nil {
			return wrap("read inbox", err)
		}
		var d inboxDoc
		if err := snap.DataTo(&d); err != nil {
			return fmt.Errorf("decode inbox: %w", err)
		}
		ib, err := decodeInbox(tenantID, d)
		if err != nil {
			return err
		}
		r := inbox.AssignRound{Inbox: ib}
		if r.Counts, err = s.readCounts(ctx, tx, tenantID, inboxID); err != nil {
			return fmt.Errorf("read counts: %w", err)
		}
		stateRef := s.assignRef(tenantID, inboxID)
		snaps, err := s.getAll(ctx, tx, stateRef)
		if err != nil {
			return fmt.Errorf("read assignment state: %w", err)
		}
		if snaps[0].Exists() {
			var ad assignDoc
			if err := snaps[0].DataTo(&ad); err != nil {
				return fmt.Errorf("decode assignment state: %w", err)
			}
			r.State = inbox.AssignState{Last: ad.Last, Waiting: ad.Waiting}
		}
		roundIDs := inbox.RoundIDs(ids, r.State)
		refs := make([]*firestore.DocumentRef, len(roundIDs))
		for i, id := range roundIDs {
			refs[i] = s.conversationRef(tenantID, id)
		}
		docs := map[string]convDoc{}
		if len(refs) > 0 {
			convSnaps, err := s.getAll(ctx, tx, refs...)
			if err != nil {
				return fmt.Errorf("read conversations: %w", err)
			}
			for _, cs := range convSnaps {
				if !cs.Exists() {
					continue
				}
				c, cd, err := decodeConversation(tenantID, cs)
				if err != nil {
					return err
				}
				if c.InboxID == inboxID {
					r.Conversations = append(r.Conversations, c)
					docs[c.ID] = cd
				}
			}
		}
		if err := fn(&r); err != nil {
			return fnError{err}
		}
		if err := r.ValidateChanges(); err != nil {
			return err
		}
		// Every read before the first write: the recent copies first.
		recents := make([]*recentDoc, len(r.Changes))
		for i, ch := range r.Changes {
			if recents[i], err = s.recentOf(ctx, tx, s.conversationRef(tenantID, ch.Conversation.ID), docs[ch.Conversation.ID]); err != nil {
				return err
			}
		}
		for i, ch := range r.Changes {
			if err := s.writeChange(tx, r, docs[ch.Conversation.ID], recents[i], ch); err != nil {
				return err
			}
		}
		waiting := r.State.Waiting
		if waiting == nil {
			waiting = []string{}
		}
		if err := tx.set(stateRef, assignDoc{Last: r.State.Last, Waiting: waiting}); err != nil {
			return err
		}
		out = r
		return nil
	})
	var fe fnError
	if errors.As(err, &fe) {
		return inbox.AssignRound{}, fe.err
	}
	if err != nil {
		return inbox.AssignRound{}, wrapCommit(op, err)
	}
	return out, nil
}

// writeChange buffers the write of one conversation of a round, read in
// the same transaction (d), with its counts, due entry and entries.
func (s *Store) writeChange(tx *txn, r inbox.AssignRound, d convDoc, recent *recentDoc, ch inbox.AssignChange) error {
	c := ch.Conversation
	var stored inbox.Conversation
	for _, sc := range r.Conversations {
		if sc.ID == c.ID {
			stored = sc
		}
	}
	return s.writeConversation(tx, stored, c, d, recent, ch.Events...)
}
