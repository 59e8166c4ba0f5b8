package firestoredb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// recentDoc is the conversation document's bounded copy of its newest
// notes (at most inbox.MaxRecentNotes) and activity entries (at most
// inbox.MaxRecentActivity), each newest first by sortKey exactly as
// ListNotes and ListActivity order the subcollections. Every transaction
// that writes a note or an activity entry rewrites it from the copy it
// read, so RecentHistory is one document read. A conversation document
// written before the copy existed has no "recent" field; the first write
// that finds it so fills it from the subcollections (see recentOf).
type recentDoc struct {
	Notes    []noteDoc     `firestore:"notes"`
	Activity []activityDoc `firestore:"activity"`
	// Deleted are the ids of the notes DeleteNote removed last (at most
	// maxDeletedKept, oldest first), so that AddNote's third step, when it
	// commits after a DeleteNote of its note, does not put the note back
	// (see refreshRecent).
	Deleted []string `firestore:"deleted,omitempty"`
}

// maxDeletedKept bounds recentDoc.Deleted. AddNote's third step follows
// its save by milliseconds, so only the last few deletions matter.
const maxDeletedKept = 20

// noteDeleted records in the copy that note id was deleted.
func (r *recentDoc) noteDeleted(id string) {
	d := append(slices.DeleteFunc(slices.Clone(r.Deleted), func(e string) bool { return e == id }), id)
	r.Deleted = d[max(0, len(d)-maxDeletedKept):]
}

// fieldRecent is the conversation document's field that holds recentDoc.
const fieldRecent = "recent"

func encodeNote(n inbox.Note) noteDoc {
	mentions := n.Mentions
	if mentions == nil {
		mentions = []string{}
	}
	return noteDoc{ID: n.ID, Author: n.Author, Body: n.Body, Mentions: mentions,
		CreatedAt: n.CreatedAt, EditedAt: n.EditedAt, SortKey: sortKey(n.CreatedAt, n.ID)}
}

func decodeNote(tenantID, conversationID string, d noteDoc) inbox.Note {
	return inbox.Note{
		TenantID:       tenantID,
		ConversationID: conversationID,
		ID:             d.ID,
		Author:         d.Author,
		Body:           d.Body,
		Mentions:       d.Mentions,
		CreatedAt:      utc(d.CreatedAt),
		EditedAt:       utc(d.EditedAt),
	}
}

func encodeActivity(ev inbox.Activity) activityDoc {
	return activityDoc{
		ID:      ev.ID,
		Version: ev.Version,
		Actor:   ev.Actor,
		Kind:    string(ev.Kind),
		From:    ev.From,
		To:      ev.To,
		At:      ev.At,
		SortKey: sortKey(ev.At, ev.ID),
		Via:     ev.Via,
	}
}

func decodeActivity(tenantID, conversationID string, d activityDoc) inbox.Activity {
	return inbox.Activity{
		TenantID:       tenantID,
		ConversationID: conversationID,
		ID:             d.ID,
		Version:        d.Version,
		Actor:          d.Actor,
		Kind:           inbox.ActivityKind(d.Kind),
		From:           d.From,
		To:             d.To,
		At:             utc(d.At),
		Via:            d.Via,
	}
}

// newestFirst inserts x into list (newest first by key, ids unique) and
// keeps the newest max entries. The copy holds the true newest entries
// after every insert: an entry it drops or never takes is older than every
// entry it keeps.
func newestFirst[T any](list []T, x T, key func(T) string, max int) []T {
	out := slices.DeleteFunc(slices.Clone(list), func(e T) bool { return key(e) == key(x) })
	i, _ := slices.BinarySearchFunc(out, key(x), func(e T, k string) int { return strings.Compare(k, key(e)) })
	out = slices.Insert(out, i, x)
	return out[:min(len(out), max)]
}

// addNote puts n, new or edited, into the copy. A copy that holds a later
// edit of n keeps it: AddNote's third step, which adds the note as it was
// written, may commit after an UpdateNote of the same note.
func (r *recentDoc) addNote(n inbox.Note) {
	d := encodeNote(n)
	if i := slices.IndexFunc(r.Notes, func(e noteDoc) bool { return e.SortKey == d.SortKey }); i >= 0 && r.Notes[i].EditedAt.After(d.EditedAt) {
		return
	}
	r.Notes = newestFirst(r.Notes, d, func(d noteDoc) string { return d.SortKey }, inbox.MaxRecentNotes)
}

func (r *recentDoc) addActivity(ev inbox.Activity) {
	r.Activity = newestFirst(r.Activity, encodeActivity(ev), func(d activityDoc) string { return d.SortKey }, inbox.MaxRecentActivity)
}

// newRecent is the copy of a new conversation: its first activity entry.
func newRecent(created inbox.Activity) *recentDoc {
	r := &recentDoc{Notes: []noteDoc{}, Activity: []activityDoc{}}
	r.addActivity(created)
	return r
}

// recentOf returns the copy of the stored conversation d at ref, to be
// updated and written back by tx. A document written before the copy
// existed has none: it is filled from the subcollections, inside tx (two
// queries, once per such conversation).
func (s *Store) recentOf(ctx context.Context, tx *txn, ref *firestore.DocumentRef, d convDoc) (*recentDoc, error) {
	if d.Recent != nil {
		r := *d.Recent
		r.Notes = slices.Clone(r.Notes)
		r.Activity = slices.Clone(r.Activity)
		r.Deleted = slices.Clone(r.Deleted)
		return &r, nil
	}
	r := &recentDoc{Notes: []noteDoc{}, Activity: []activityDoc{}}
	notes, err := s.query(ctx, tx, historyQuery(ref, collNotes, inbox.MaxRecentNotes))
	if err != nil {
		return nil, fmt.Errorf("fill the recent notes: %w", err)
	}
	for _, snap := range notes {
		var n noteDoc
		if err := snap.DataTo(&n); err != nil {
			return nil, fmt.Errorf("decode note %s: %w", snap.Ref.ID, err)
		}
		r.Notes = append(r.Notes, n)
	}
	acts, err := s.query(ctx, tx, historyQuery(ref, collActivity, inbox.MaxRecentActivity))
	if err != nil {
		return nil, fmt.Errorf("fill the recent activity: %w", err)
	}
	for _, snap := range acts {
		var a activityDoc
		if err := snap.DataTo(&a); err != nil {
			return nil, fmt.Errorf("decode activity %s: %w", snap.Ref.ID, err)
		}
		r.Activity = append(r.Activity, a)
	}
	return r, nil
}

// historyQuery selects the newest limit entries of a conversation's notes
// or activity subcollection.
func historyQuery(conv *firestore.DocumentRef, coll string, limit int) querySpec {
	return querySpec{
		coll:   conv.Collection(coll),
		orders: []order{{fieldSortKey, firestore.Desc}},
		limit:  limit,
	}
}

// RecentHistory implements inbox.Store with one document read: the
// conversation's copy of its newest entries (see recentDoc). A conversation
// stored before the copy existed, and not written since, is served by
// ListNotes and ListActivity instead. Limits ≤ 0 return no entries of that
// kind (and with both so, nothing is read); unknown conversations give
// empty results.
func (s *Store) RecentHistory(ctx context.Context, tenantID, conversationID string, notes, activity int) ([]inbox.Note, []inbox.Activity, error) {
	notes, activity = min(notes, inbox.MaxRecentNotes), min(activity, inbox.MaxRecentActivity)
	if notes <= 0 && activity <= 0 {
		return nil, nil, nil
	}
	op := fmt.Sprintf("recent history of %s/%s", tenantID, conversationID)
	snap, err := s.get(ctx, nil, s.conversationRef(tenantID, conversationID))
	if kindOf(err) == inbox.ErrNotFound {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	var d convDoc
	if err := snap.DataTo(&d); err != nil {
		return nil, nil, fmt.Errorf("%s: decode: %w", op, err)
	}
	ns, as, err := s.historyOf(ctx, tenantID, conversationID, d, notes, activity)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	return ns, as, nil
}

// GetConversationHistory implements inbox.Store with one document read:
// the conversation document holds the copy RecentHistory serves, so both
// come from one snapshot (a conversation stored before the copy existed
// and not written since reads its subcollections as well).
func (s *Store) GetConversationHistory(ctx context.Context, tenantID, id string, notes, activity int) (inbox.Conversation, []inbox.Note, []inbox.Activity, error) {
	notes, activity = min(notes, inbox.MaxRecentNotes), min(activity, inbox.MaxRecentActivity)
	op := fmt.Sprintf("get conversation %s/%s with its history", tenantID, id)
	snap, err := s.get(ctx, nil, s.conversationRef(tenantID, id))
	if err != nil {
		return inbox.Conversation{}, nil, nil, wrap(op, err)
	}
	c, d, err := decodeConversation(tenantID, snap)
	if err != nil {
		return inbox.Conversation{}, nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	if notes <= 0 && activity <= 0 {
		return c, nil, nil, nil
	}
	ns, as, err := s.historyOf(ctx, tenantID, id, d, notes, activity)
	if err != nil {
		return inbox.Conversation{}, nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	return c, ns, as, nil
}

// historyOf returns the newest notes and activity entries of the stored
// conversation d from its recent copy, or from the subcollections when it
// has none. The limits are capped already.
func (s *Store) historyOf(ctx context.Context, tenantID, conversationID string, d convDoc, notes, activity int) ([]inbox.Note, []inbox.Activity, error) {
	if d.Recent == nil {
		return s.listHistory(ctx, tenantID, conversationID, notes, activity)
	}
	var ns []inbox.Note
	for _, n := range d.Recent.Notes[:min(max(notes, 0), len(d.Recent.Notes))] {
		ns = append(ns, decodeNote(tenantID, conversationID, n))
	}
	var as []inbox.Activity
	for _, a := range d.Recent.Activity[:min(max(activity, 0), len(d.Recent.Activity))] {
		as = append(as, decodeActivity(tenantID, conversationID, a))
	}
	return ns, as, nil
}

// listHistory is RecentHistory from the subcollections.
func (s *Store) listHistory(ctx context.Context, tenantID, conversationID string, notes, activity int) ([]inbox.Note, []inbox.Activity, error) {
	var ns []inbox.Note
	var as []inbox.Activity
	var err error
	if notes > 0 {
		if ns, err = s.ListNotes(ctx, tenantID, conversationID, notes); err != nil {
			return nil, nil, err
		}
	}
	if activity > 0 {
		if as, err = s.ListActivity(ctx, tenantID, conversationID, activity); err != nil {
			return nil, nil, err
		}
	}
	return ns, as, nil
}
