package firestoredb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/postfach/postfach/internal/inbox"
)

// convDoc is the stored form of an inbox.Conversation; its tags are the
// schema.
type convDoc struct {
	ID              string    `firestore:"id"`
	InboxID         string    `firestore:"inboxId"`
	RootMessageID   string    `firestore:"rootMessageId"`
	Subject         string    `firestore:"subject"`
	Customer        string    `firestore:"customer"`
	CustomerName    string    `firestore:"customerName"`
	Status          string    `firestore:"status"`
	Assignee        string    `firestore:"assignee"` // "" = unassigned
	Tags            []string  `firestore:"tags"`
	CreatedAt       time.Time `firestore:"createdAt"`
	LastMessageAt   time.Time `firestore:"lastMessageAt"`
	FirstResponseAt time.Time `firestore:"firstResponseAt"`
	Version         int64     `firestore:"version"`
	UpdatedAt       time.Time `firestore:"updatedAt"`
	UpdatedBy       string    `firestore:"updatedBy"`
	// SortKey orders listings: LastMessageAt, then ID (see timeKey).
	SortKey string `firestore:"sortKey"`
	// Mids is the Message-ID index: midHash of every Message-ID indexed to
	// this conversation.
	Mids []string `firestore:"mids"`
	// Recent is the copy of the newest notes and activity entries that
	// RecentHistory reads; nil in a document written before it existed.
	Recent *recentDoc `firestore:"recent"`
	// Flow is inbox.Flow as JSON; absent in documents written before it
	// existed.
	Flow string `firestore:"flow,omitempty"`
	// DueAt is inbox.Conversation.DueAt, absent when zero; ListDue reads
	// the due collection, which mirrors it (see putDue).
	DueAt *time.Time `firestore:"dueAt,omitempty"`
}

// Field paths that queries use.
const (
	fieldInboxID  = "inboxId"
	fieldStatus   = "status"
	fieldAssignee = "assignee"
	fieldSortKey  = "sortKey"
	fieldMids     = "mids"
)

func encodeConversation(c inbox.Conversation, mids []string, recent *recentDoc) (convDoc, error) {
	flow, err := inbox.EncodeJSON(c.Flow)
	if err != nil {
		return convDoc{}, err
	}
	var due *time.Time
	if !c.DueAt.IsZero() {
		due = &c.DueAt
	}
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	if mids == nil {
		mids = []string{}
	}
	return convDoc{
		Flow:            flow,
		DueAt:           due,
		ID:              c.ID,
		InboxID:         c.InboxID,
		RootMessageID:   c.RootMessageID,
		Subject:         c.Subject,
		Customer:        c.Customer,
		CustomerName:    c.CustomerName,
		Status:          string(c.Status),
		Assignee:        c.Assignee,
		Tags:            tags,
		CreatedAt:       c.CreatedAt,
		LastMessageAt:   c.LastMessageAt,
		FirstResponseAt: c.FirstResponseAt,
		Version:         c.Version,
		UpdatedAt:       c.UpdatedAt,
		UpdatedBy:       c.UpdatedBy,
		SortKey:         sortKey(c.LastMessageAt, c.ID),
		Mids:            mids,
		Recent:          recent,
	}, nil
}

func decodeConversation(tenantID string, snap *firestore.DocumentSnapshot) (inbox.Conversation, convDoc, error) {
	var d convDoc
	if err := snap.DataTo(&d); err != nil {
		return inbox.Conversation{}, convDoc{}, fmt.Errorf("decode conversation %s: %w", snap.Ref.ID, err)
	}
	c := inbox.Conversation{
		TenantID:        tenantID,
		ID:              d.ID,
		InboxID:         d.InboxID,
		RootMessageID:   d.RootMessageID,
		Subject:         d.Subject,
		Customer:        d.Customer,
		CustomerName:    d.CustomerName,
		Status:          inbox.Status(d.Status),
		Assignee:        d.Assignee,
		CreatedAt:       utc(d.CreatedAt),
		LastMessageAt:   utc(d.LastMessageAt),
		FirstResponseAt: utc(d.FirstResponseAt),
		Version:         d.Version,
		UpdatedAt:       utc(d.UpdatedAt),
		UpdatedBy:       d.UpdatedBy,
	}
	if err := inbox.DecodeJSON(d.Flow, &c.Flow); err != nil {
		return inbox.Conversation{}, convDoc{}, fmt.Errorf("conversation %s: %w", snap.Ref.ID, err)
	}
	if d.DueAt != nil {
		c.DueAt = utc(*d.DueAt)
	}
	if len(d.Tags) > 0 {
		c.Tags = d.Tags
	}
	return c, d, nil
}

// activityDoc is the stored form of an inbox.Activity.
type activityDoc struct {
	ID      string    `firestore:"id"`
	Version int64     `firestore:"version"`
	Actor   string    `firestore:"actor"`
	Kind    string    `firestore:"kind"`
	From    string    `firestore:"from"`
	To      string    `firestore:"to"`
	At      time.Time `firestore:"at"`
	SortKey string    `firestore:"sortKey"` // At, then ID
	Via     string    `firestore:"via,omitempty"`
}

// mergeTimes applies the contract's rule for the conversation times that
// are not versioned: a write keeps the latest LastMessageAt and the earliest
// non-zero FirstResponseAt of stored and c (a change computed before a mail
// was recorded must not move them back).
func mergeTimes(c *inbox.Conversation, stored inbox.Conversation) {
	if stored.LastMessageAt.After(c.LastMessageAt) {
		c.LastMessageAt = stored.LastMessageAt
	}
	if !stored.FirstResponseAt.IsZero() && (c.FirstResponseAt.IsZero() || stored.FirstResponseAt.Before(c.FirstResponseAt)) {
		c.FirstResponseAt = stored.FirstResponseAt
	}
}

// appendActivity buffers the creation of ev's document and adds ev to the
// conversation's recent copy (which the caller writes).
func (s *Store) appendActivity(tx *txn, recent *recentDoc, ev inbox.Activity) error {
	ref := s.conversationRef(ev.TenantID, ev.ConversationID).Collection(collActivity).Doc(docID(ev.ID))
	recent.addActivity(ev)
	return tx.create(ref, encodeActivity(ev))
}

// midHash is the index entry of a normalised Message-ID: fixed size
// whatever the id's length.
func midHash(messageID string) string { return hashID(messageID) }

// midHashes normalises messageIDs and returns their index entries, in
// order, without duplicates. Text that is no Message-ID is ErrInvalid.
func midHashes(messageIDs []string) ([]string, error) {
	out := make([]string, 0, len(messageIDs))
	for _, raw := range messageIDs {
		id := inbox.NormalizeMessageID(raw)
		if id == "" {
			return nil, invalid("%q is not a Message-ID", raw)
		}
		if h := midHash(id); !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
}

// takenMids returns which of hashes are indexed to conversations of the
// inbox other than except, inside tx: one read by key per hash of the
// Message-ID index (midDoc), so the transaction locks those entries only.
// (It was an array-contains-any query of the conversations, which Google's
// emulator answers by locking the whole collection: every recording of a
// tenant then waited for every other.)
func (s *Store) takenMids(ctx context.Context, tx *txn, tenantID, inboxID, except string, hashes []string) (map[string]bool, error) {
	taken := map[string]bool{}
	if len(hashes) == 0 {
		return taken, nil
	}
	refs := make([]*firestore.DocumentRef, len(hashes))
	for i, h := range hashes {
		refs[i] = s.midRef(tenantID, h)
	}
	snaps, err := s.getAll(ctx, tx, refs...)
	if err != nil {
		return nil, fmt.Errorf("look up Message-IDs: %w", err)
	}
	for i, snap := range snaps {
		if !snap.Exists() {
			continue
		}
		var d midDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("decode Message-ID %s: %w", snap.Ref.ID, err)
		}
		if id, ok := d.Convs[inboxID]; ok && id != except {
			taken[hashes[i]] = true
		}
	}
	return taken, nil
}

// indexMids records in the Message-ID index that hashes belong to c, in
// tx: one merge per hash, which writes only c's inbox's entry.
func (s *Store) indexMids(tx *txn, c inbox.Conversation, hashes []string) error {
	for _, h := range hashes {
		if err := tx.set(s.midRef(c.TenantID, h), midEntry(map[string]string{c.InboxID: c.ID}), firestore.MergeAll); err != nil {
			return err
		}
	}
	return nil
}

// CreateConversation implements inbox.Store: one transaction checks the
// inbox and which Message-IDs other conversations of the inbox hold, then
// creates the conversation (with its index entries) and its first activity
// entry.
func (s *Store) CreateConversation(ctx context.Context, c inbox.Conversation, messageIDs []string, created inbox.Activity, more ...inbox.Activity) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("create conversation: %w", err)
	}
	op := fmt.Sprintf("create conversation %s/%s", c.TenantID, c.ID)
	if c.Version != 1 {
		return fmt.Errorf("%s: %w", op, invalid("a new conversation has version 1, not %d", c.Version))
	}
	for _, ev := range append([]inbox.Activity{created}, more...) {
		if err := ev.ValidateFor(c.TenantID, c.ID); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	hashes, err := midHashes(messageIDs)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	ref := s.conversationRef(c.TenantID, c.ID)
	retried := false
	err = s.runTxWithin(ctx, s.ingestContention, func(ctx context.Context, tx *txn) error {
		// Racing creates of one conversation (one mail seen through
		// several mailboxes) abort each other; once one has won, the
		// others' next attempts end here without taking any lock.
		if retried {
			if _, err := s.get(ctx, nil, ref); err == nil {
				return fmt.Errorf("the conversation was created meanwhile: %w", inbox.ErrAlreadyExists)
			}
		}
		retried = true
		if _, err := s.get(ctx, tx, s.inboxRef(c.TenantID, c.InboxID)); err != nil {
			return wrap("inbox "+c.InboxID, err)
		}
		taken, err := s.takenMids(ctx, tx, c.TenantID, c.InboxID, c.ID, hashes)
		if err != nil {
			return err
		}
		var mids []string
		for _, h := range hashes {
			if !taken[h] {
				mids = append(mids, h)
			}
		}
		// The conversation first: its create-if-absent precondition
		// refuses the whole commit when the id exists.
		recent := newRecent(created)
		for _, ev := range more {
			recent.addActivity(ev)
		}
		doc, err := encodeConversation(c, mids, recent)
		if err != nil {
			return err
		}
		if err := tx.create(ref, doc); err != nil {
			return err
		}
		if err := s.indexMids(tx, c, mids); err != nil {
			return err
		}
		if err := s.putDue(tx, c, time.Time{}); err != nil {
			return err
		}
		if err := s.addCounts(tx, c.TenantID, c.InboxID, inbox.CountsDelta(nil, c)); err != nil {
			return err
		}
		for _, ev := range append([]inbox.Activity{created}, more...) {
			if err := s.appendActivity(tx, &recentDoc{}, ev); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapCommit(op, err)
}

// AppendMessage implements inbox.Store: one transaction reads the stored
// conversation and the inbox's index, checks (in this order) that the
// conversation exists in c's inbox, that messageIDs[0] is new to the inbox
// and that the version is the expected one, then writes c (message times
// merged, see mergeTimes) with the new index entries and ev.
func (s *Store) AppendMessage(ctx context.Context, c inbox.Conversation, messageIDs []string, ev *inbox.Activity, more ...inbox.Activity) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("append message: %w", err)
	}
	op := fmt.Sprintf("append message to %s/%s", c.TenantID, c.ID)
	evs := more
	if ev != nil {
		evs = append([]inbox.Activity{*ev}, more...)
	}
	for _, e := range evs {
		if err := e.ValidateFor(c.TenantID, c.ID); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	if len(messageIDs) == 0 {
		return fmt.Errorf("%s: %w", op, invalid("the mail's own Message-ID is missing"))
	}
	hashes, err := midHashes(messageIDs)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	own := hashes[0]
	ref := s.conversationRef(c.TenantID, c.ID)
	retried := false
	err = s.runTxWithin(ctx, s.ingestContention, func(ctx context.Context, tx *txn) error {
		// The same mail appended through several mailboxes at once: once
		// one has recorded it, the others' next attempts end here without
		// taking any lock.
		if retried {
			if snap, err := s.get(ctx, nil, ref); err == nil {
				var d convDoc
				if snap.DataTo(&d) == nil && slices.Contains(d.Mids, own) {
					return fmt.Errorf("the mail was recorded meanwhile: %w", inbox.ErrAlreadyExists)
				}
			}
		}
		retried = true
		snap, err := s.get(ctx, tx, ref)
		if err != nil {
			return wrap("read stored conversation", err)
		}
		stored, d, err := decodeConversation(c.TenantID, snap)
		if err != nil {
			return err
		}
		if stored.InboxID != c.InboxID {
			return invalid("the conversation belongs to inbox %s, not %s", stored.InboxID, c.InboxID)
		}
		if slices.Contains(d.Mids, own) {
			return fmt.Errorf("the mail was recorded before: %w", inbox.ErrAlreadyExists)
		}
		var fresh []string
		for _, h := range hashes {
			if !slices.Contains(d.Mids, h) {
				fresh = append(fresh, h)
			}
		}
		taken, err := s.takenMids(ctx, tx, c.TenantID, c.InboxID, c.ID, fresh)
		if err != nil {
			return err
		}
		if taken[own] {
			return fmt.Errorf("the mail is recorded in another conversation: %w", inbox.ErrAlreadyExists)
		}
		want := stored.Version
		if len(evs) > 0 {
			want++
		}
		if c.Version != want {
			return fmt.Errorf("stored version is %d, the mail needs version %d, got %d: %w", stored.Version, want, c.Version, inbox.ErrConflict)
		}
		mids := slices.Clone(d.Mids)
		var added []string
		for _, h := range fresh {
			if !taken[h] {
				added = append(added, h)
			}
		}
		mids = append(mids, added...)
		recent, err := s.recentOf(ctx, tx, ref, d)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := s.appendActivity(tx, recent, e); err != nil {
				return err
			}
		}
		if err := s.addCounts(tx, c.TenantID, c.InboxID, inbox.CountsDelta(&stored, c)); err != nil {
			return err
		}
		merged := c
		mergeTimes(&merged, stored)
		doc, err := encodeConversation(merged, mids, recent)
		if err != nil {
			return err
		}
		if err := s.putDue(tx, merged, stored.DueAt); err != nil {
			return err
		}
		// Writes after every read of the transaction.
		if err := s.indexMids(tx, c, added); err != nil {
			return err
		}
		return tx.set(ref, doc)
	})
	return wrapCommit(op, err)
}

// GetConversation implements inbox.Store.
func (s *Store) GetConversation(ctx context.Context, tenantID, id string) (inbox.Conversation, error) {
	op := fmt.Sprintf("get conversation %s/%s", tenantID, id)
	snap, err := s.get(ctx, nil, s.conversationRef(tenantID, id))
	if err != nil {
		return inbox.Conversation{}, wrap(op, err)
	}
	c, _, err := decodeConversation(tenantID, snap)
	if err != nil {
		return inbox.Conversation{}, fmt.Errorf("%s: %w", op, err)
	}
	return c, nil
}

// FindConversationsByMessageID implements inbox.Store. The Message-ID is
// normalised first, so "<id@host>" finds "id@host"; text that is no
// Message-ID finds nothing. It reads the id's entry of the Message-ID
// index, then the conversations it names (1 read for an unknown id, 1 + n
// for an id of n conversations); while the index may still miss what an
// earlier version wrote (see migrateMessageIDs) it is one array-contains
// query of the tenant's conversations instead.
func (s *Store) FindConversationsByMessageID(ctx context.Context, tenantID, messageID string) ([]inbox.Conversation, error) {
	id := inbox.NormalizeMessageID(messageID)
	if id == "" {
		return nil, nil
	}
	op := fmt.Sprintf("find conversations of Message-ID %s in %s", id, tenantID)
	h := midHash(id)
	var snaps []*firestore.DocumentSnapshot
	if s.midsComplete.Load() {
		entry, err := s.get(ctx, nil, s.midRef(tenantID, h))
		if status.Code(err) == codes.NotFound {
			return nil, nil
		} else if err != nil {
			return nil, wrap(op, err)
		}
		var m midDoc
		if err := entry.DataTo(&m); err != nil {
			return nil, fmt.Errorf("%s: decode its entry: %w", op, err)
		}
		refs := make([]*firestore.DocumentRef, 0, len(m.Convs))
		for _, c := range m.Convs {
			refs = append(refs, s.conversationRef(tenantID, c))
		}
		if len(refs) == 0 {
			return nil, nil
		}
		if snaps, err = s.getAll(ctx, nil, refs...); err != nil {
			return nil, wrap(op, err)
		}
	} else {
		var err error
		snaps, err = s.query(ctx, nil, querySpec{
			coll:    s.conversations(tenantID),
			filters: []filter{{fieldMids, "array-contains", h}},
		})
		if err != nil {
			return nil, wrap(op, err)
		}
	}
	out := make([]inbox.Conversation, 0, len(snaps))
	for _, snap := range snaps {
		if !snap.Exists() {
			continue
		}
		c, d, err := decodeConversation(tenantID, snap)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		// An entry and its conversation's mids are written in one
		// transaction; the check keeps the answer the query's whatever
		// the index says.
		if slices.Contains(d.Mids, h) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b inbox.Conversation) int { return strings.Compare(a.InboxID, b.InboxID) })
	return out, nil
}

// UpdateConversation implements inbox.Store: one transaction that checks
// the stored version and inbox, then writes c (its message times merged
// with the stored ones, see mergeTimes) and appends ev.
func (s *Store) UpdateConversation(ctx context.Context, c inbox.Conversation, ev inbox.Activity) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("update conversation: %w", err)
	}
	op := fmt.Sprintf("update conversation %s/%s", c.TenantID, c.ID)
	if err := ev.ValidateFor(c.TenantID, c.ID); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	ref := s.conversationRef(c.TenantID, c.ID)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		snap, err := s.get(ctx, tx, ref)
		if err != nil {
			return wrap("read stored conversation", err)
		}
		stored, d, err := decodeConversation(c.TenantID, snap)
		if err != nil {
			return err
		}
		switch {
		case stored.InboxID != c.InboxID:
			return invalid("the conversation belongs to inbox %s, not %s", stored.InboxID, c.InboxID)
		case stored.Version != c.Version-1:
			return fmt.Errorf("stored version is %d, the change was computed from %d: %w", stored.Version, c.Version-1, inbox.ErrConflict)
		}
		recent, err := s.recentOf(ctx, tx, ref, d)
		if err != nil {
			return err
		}
		return s.writeConversation(tx, stored, c, d, recent, ev)
	})
	return wrapCommit(op, err)
}

// writeConversation buffers the write of c over stored (its document d, read
// in the same transaction): the activity entries evs, the counts, the due
// entry and the document itself.
func (s *Store) writeConversation(tx *txn, stored, c inbox.Conversation, d convDoc, recent *recentDoc, evs ...inbox.Activity) error {
	for _, ev := range evs {
		if err := s.appendActivity(tx, recent, ev); err != nil {
			return err
		}
	}
	if err := s.addCounts(tx, c.TenantID, c.InboxID, inbox.CountsDelta(&stored, c)); err != nil {
		return err
	}
	merged := c
	mergeTimes(&merged, stored)
	doc, err := encodeConversation(merged, d.Mids, recent)
	if err != nil {
		return err
	}
	if err := s.putDue(tx, merged, stored.DueAt); err != nil {
		return err
	}
	return tx.set(s.conversationRef(c.TenantID, c.ID), doc)
}

// ListConversations implements inbox.Store: one query, newest first by
// sortKey, reading one more than the page to know whether another follows.
func (s *Store) ListConversations(ctx context.Context, q inbox.ConversationQuery) (inbox.ConversationPage, error) {
	spec, err := s.conversationQuery(q)
	if err != nil {
		return inbox.ConversationPage{}, fmt.Errorf("list conversations: %w", err)
	}
	op := fmt.Sprintf("list conversations of %s/%s", q.TenantID, q.InboxID)
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = defaultLimit
	case limit > 100:
		limit = 100
	}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor)
		if err != nil {
			return inbox.ConversationPage{}, fmt.Errorf("%s: %w", op, err)
		}
		spec.filters = append(spec.filters, filter{fieldSortKey, "<", after})
	}
	spec.orders = []order{{fieldSortKey, firestore.Desc}}
	spec.limit = limit + 1
	snaps, err := s.query(ctx, nil, spec)
	if err != nil {
		return inbox.ConversationPage{}, wrap(op, err)
	}
	var page inbox.ConversationPage
	for _, snap := range snaps {
		c, _, err := decodeConversation(q.TenantID, snap)
		if err != nil {
			return inbox.ConversationPage{}, fmt.Errorf("%s: %w", op, err)
		}
		page.Conversations = append(page.Conversations, c)
	}
	if len(page.Conversations) > limit {
		page.Conversations = page.Conversations[:limit]
		last := page.Conversations[limit-1]
		page.NextCursor = encodeCursor(sortKey(last.LastMessageAt, last.ID))
	}
	return page, nil
}

// CountConversations implements inbox.Store with a count aggregation.
func (s *Store) CountConversations(ctx context.Context, q inbox.ConversationQuery) (int, error) {
	spec, err := s.conversationQuery(q)
	if err != nil {
		return 0, fmt.Errorf("count conversations: %w", err)
	}
	n, err := s.count(ctx, spec)
	if err != nil {
		return 0, wrap(fmt.Sprintf("count conversations of %s/%s", q.TenantID, q.InboxID), err)
	}
	return n, nil
}

// conversationQuery turns the filters of q (not Limit and Cursor) into a
// query of the tenant's conversations.
func (s *Store) conversationQuery(q inbox.ConversationQuery) (querySpec, error) {
	if q.TenantID == "" || q.InboxID == "" {
		return querySpec{}, invalid("a conversation query needs a tenant and an inbox")
	}
	spec := querySpec{
		coll:    s.conversations(q.TenantID),
		filters: []filter{{fieldInboxID, "==", q.InboxID}},
	}
	var statuses []string
	for _, st := range q.Statuses {
		if !slices.Contains(inbox.Statuses, st) {
			return querySpec{}, invalid("unknown status %q", st)
		}
		if !slices.Contains(statuses, string(st)) {
			statuses = append(statuses, string(st))
		}
	}
	// Listing every status is no filter.
	switch {
	case len(statuses) == 1:
		spec.filters = append(spec.filters, filter{fieldStatus, "==", statuses[0]})
	case len(statuses) > 1 && len(statuses) < len(inbox.Statuses):
		spec.filters = append(spec.filters, filter{fieldStatus, "in", statuses})
	}
	switch q.Assignee {
	case "":
	case inbox.Unassigned:
		spec.filters = append(spec.filters, filter{fieldAssignee, "==", ""})
	default:
		spec.filters = append(spec.filters, filter{fieldAssignee, "==", q.Assignee})
	}
	return spec, nil
}
