package firestoredb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// collCounts holds the kept counts of each inbox of a tenant, as
// counterShards documents per inbox (see countsRef).
const collCounts = "counts"

// counterShards is how many documents share an inbox's counts. A
// transaction that changes them increments one shard, at random, as a
// field transform (no read, no lock before its commit), so that writers of
// one inbox spread over the shards instead of queueing on one document:
// Firestore sustains about one write per second per document, and a burst
// of new mail creates conversations in one inbox at tens per second (the
// sync's quota allows ~30 mails/s per mailbox); 16 shards keep that near
// 2 writes/s per shard. Only creates and changes of status or assignee
// write a shard, not every mail. A read is one lookup of the counterShards
// shard documents (see readCounts): counterShards billed reads per inbox,
// whatever the number of conversations. Changing the number keeps the
// counts right only if the shards beyond the new one are summed in first
// (ReconcileCounts then repairs the rest).
const counterShards = 16

// countsDoc is one shard of an inbox's kept counts; the counts are the sum
// of the fields over the shards. A shard's fields may be negative.
type countsDoc struct {
	InboxID    string           `firestore:"inboxId"`
	Open       int64            `firestore:"open"`
	Pending    int64            `firestore:"pending"`
	Closed     int64            `firestore:"closed"`
	Unassigned int64            `firestore:"unassigned"`
	Assigned   map[string]int64 `firestore:"assigned"` // by owner's address
}

// countsRef is shard k of an inbox's counts: counts/{inboxID}:{k}. The
// documents are keyed by the inbox id, not below the inbox document: a
// deleted inbox's conversations keep counting under its id.
func (s *Store) countsRef(tenantID, inboxID string, k int) *firestore.DocumentRef {
	return s.tenantRef(tenantID).Collection(collCounts).Doc(docID(fmt.Sprintf("%s:%d", inboxID, k)))
}

// readCounts sums the shards of an inbox's counts, outside or inside tx:
// one lookup of the counterShards shard documents by key. (A query of the
// shards by inbox would bill only the shards written so far, but on the
// emulator it made the homepage ~8 ms slower at the median than the
// lookup, and a lookup by key needs no index.)
func (s *Store) readCounts(ctx context.Context, tx *txn, tenantID, inboxID string) (inbox.Counts, error) {
	refs := make([]*firestore.DocumentRef, counterShards)
	for k := range refs {
		refs[k] = s.countsRef(tenantID, inboxID, k)
	}
	snaps, err := s.getAll(ctx, tx, refs...)
	if err != nil {
		return inbox.Counts{}, err
	}
	return sumCounts(snaps)
}

// addCounts buffers, in tx, the increment of one random shard of an
// inbox's counts by delta: a field transform, so the transaction neither
// reads nor locks the shard before its commit. A zero delta writes
// nothing.
func (s *Store) addCounts(tx *txn, tenantID, inboxID string, delta inbox.Counts) error {
	if delta.IsZero() {
		return nil
	}
	data := map[string]any{"inboxId": inboxID}
	for field, n := range map[string]int{"open": delta.Open, "pending": delta.Pending, "closed": delta.Closed, "unassigned": delta.Unassigned} {
		if n != 0 {
			data[field] = firestore.Increment(n)
		}
	}
	if len(delta.Assigned) > 0 {
		owners := map[string]any{}
		for owner, n := range delta.Assigned {
			owners[owner] = firestore.Increment(n)
		}
		data["assigned"] = owners
	}
	return tx.set(s.countsRef(tenantID, inboxID, rand.IntN(counterShards)), data, firestore.MergeAll)
}

// sumCounts adds up the shards of an inbox's counts; missing shards count
// zero.
func sumCounts(snaps []*firestore.DocumentSnapshot) (inbox.Counts, error) {
	var c inbox.Counts
	for _, snap := range snaps {
		if !snap.Exists() {
			continue
		}
		var d countsDoc
		if err := snap.DataTo(&d); err != nil {
			return inbox.Counts{}, fmt.Errorf("decode counts %s: %w", snap.Ref.ID, err)
		}
		shard := inbox.Counts{Open: int(d.Open), Pending: int(d.Pending), Closed: int(d.Closed), Unassigned: int(d.Unassigned)}
		for owner, n := range d.Assigned {
			if n != 0 {
				if shard.Assigned == nil {
					shard.Assigned = map[string]int{}
				}
				shard.Assigned[owner] = int(n)
			}
		}
		c = c.Add(shard)
	}
	return c, nil
}

// InboxCounts implements inbox.Store: one lookup of the inbox's
// counterShards shard documents.
func (s *Store) InboxCounts(ctx context.Context, tenantID, inboxID string) (inbox.Counts, error) {
	if tenantID == "" || inboxID == "" {
		return inbox.Counts{}, fmt.Errorf("inbox counts: %w", invalid("counts need a tenant and an inbox"))
	}
	op := fmt.Sprintf("inbox counts of %s/%s", tenantID, inboxID)
	c, err := s.readCounts(ctx, nil, tenantID, inboxID)
	if err != nil {
		return inbox.Counts{}, wrap(op, err)
	}
	return c, nil
}

// ReconcileCounts implements inbox.Store. A read-only transaction (one
// consistent snapshot, no locks: writers are not held up) reads the shards
// and recounts the inbox by count aggregations: by status, unassigned, and
// per owner for the owners the shards name and the inbox's members. When
// the owners' counts and the unassigned do not add up to the open and
// pending conversations, some owner is unknown to both, and the active
// conversations of the snapshot are listed to count them (a read per
// conversation; only on such drift). The difference between the recount
// and the shards of that snapshot is then added to one shard in a
// transaction of its own: an increment, so that changes committed after
// the snapshot, which moved the shards and the conversations alike, stay
// counted.
func (s *Store) ReconcileCounts(ctx context.Context, tenantID, inboxID string) (inbox.CountsRepair, error) {
	if tenantID == "" || inboxID == "" {
		return inbox.CountsRepair{}, fmt.Errorf("reconcile counts: %w", invalid("counts need a tenant and an inbox"))
	}
	op := fmt.Sprintf("reconcile counts of %s/%s", tenantID, inboxID)
	var r inbox.CountsRepair
	err := s.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		var err error
		r, err = s.recount(ctx, &txn{tx: tx}, tenantID, inboxID)
		return err
	}, firestore.ReadOnly)
	if err != nil {
		return inbox.CountsRepair{}, wrap(op, err)
	}
	if !r.Drifted() {
		return r, nil
	}
	delta := r.Counted.Sub(r.Kept)
	err = s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		return s.addCounts(tx, tenantID, inboxID, delta)
	})
	if err != nil {
		return inbox.CountsRepair{}, wrapCommit(op, err)
	}
	return r, nil
}

// recount reads the kept counts and recounts the conversations, both in
// the snapshot of tx.
func (s *Store) recount(ctx context.Context, tx *txn, tenantID, inboxID string) (inbox.CountsRepair, error) {
	var r inbox.CountsRepair
	var err error
	if r.Kept, err = s.readCounts(ctx, tx, tenantID, inboxID); err != nil {
		return r, fmt.Errorf("read counts: %w", err)
	}
	owners := make([]string, 0, len(r.Kept.Assigned))
	for o := range r.Kept.Assigned {
		owners = append(owners, o)
	}
	if snap, err := s.get(ctx, tx, s.inboxRef(tenantID, inboxID)); err == nil {
		var d inboxDoc
		if err := snap.DataTo(&d); err != nil {
			return r, fmt.Errorf("decode inbox: %w", err)
		}
		ib, err := decodeInbox(tenantID, d)
		if err != nil {
			return r, err
		}
		for _, m := range ib.Members {
			if !slices.Contains(owners, m.Email) {
				owners = append(owners, m.Email)
			}
		}
	} else if kindOf(err) != inbox.ErrNotFound {
		return r, fmt.Errorf("read inbox: %w", err)
	}
	slices.Sort(owners)

	active := []inbox.Status{inbox.StatusOpen, inbox.StatusPending}
	count := func(statuses []inbox.Status, assignee string) (int, error) {
		spec, err := s.conversationQuery(inbox.ConversationQuery{TenantID: tenantID, InboxID: inboxID, Statuses: statuses, Assignee: assignee})
		if err != nil {
			return 0, err
		}
		return s.countIn(ctx, tx, spec)
	}
	c := &r.Counted
	for _, q := range []struct {
		n        *int
		statuses []inbox.Status
		assignee string
	}{
		{&c.Open, []inbox.Status{inbox.StatusOpen}, ""},
		{&c.Pending, []inbox.Status{inbox.StatusPending}, ""},
		{&c.Closed, []inbox.Status{inbox.StatusClosed}, ""},
		{&c.Unassigned, active, inbox.Unassigned},
	} {
		if *q.n, err = count(q.statuses, q.assignee); err != nil {
			return r, fmt.Errorf("recount: %w", err)
		}
	}
	owned := 0
	for _, o := range owners {
		n, err := count(active, o)
		if err != nil {
			return r, fmt.Errorf("recount: %w", err)
		}
		owned += n
		*c = c.Add(inbox.Counts{Assigned: map[string]int{o: n}})
	}
	if c.Unassigned+owned == c.Open+c.Pending {
		return r, nil
	}
	// Someone neither the counts nor the inbox name owns conversations:
	// count the owners from the active conversations themselves.
	c.Assigned = nil
	spec, err := s.conversationQuery(inbox.ConversationQuery{TenantID: tenantID, InboxID: inboxID, Statuses: active})
	if err != nil {
		return r, err
	}
	spec.orders = []order{{fieldSortKey, firestore.Desc}}
	docs, err := s.query(ctx, tx, spec)
	if err != nil {
		return r, fmt.Errorf("list active conversations: %w", err)
	}
	for _, snap := range docs {
		conv, _, err := decodeConversation(tenantID, snap)
		if err != nil {
			return r, err
		}
		if conv.Assignee != "" {
			*c = c.Add(inbox.Counts{Assigned: map[string]int{conv.Assignee: 1}})
		}
	}
	return r, nil
}

// countIn runs q as a count aggregation inside tx's snapshot.
func (s *Store) countIn(ctx context.Context, tx *txn, q querySpec) (int, error) {
	fq := s.build(q)
	res, err := fq.NewAggregationQuery().WithCount("n").Transaction(tx.tx).Get(ctx)
	if err != nil {
		s.reads.Add(1)
		return 0, err
	}
	return s.countResult(res)
}

// ListTenants implements inbox.Store: one query of the tenants collection.
func (s *Store) ListTenants(ctx context.Context) ([]inbox.Tenant, error) {
	snaps, err := s.query(ctx, nil, querySpec{coll: s.collection(collTenants)})
	if err != nil {
		return nil, wrap("list tenants", err)
	}
	out := make([]inbox.Tenant, 0, len(snaps))
	for _, snap := range snaps {
		var d tenantDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("list tenants: decode %s: %w", snap.Ref.ID, err)
		}
		t, err := decodeTenant(d.Domain, snap)
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b inbox.Tenant) int { return strings.Compare(a.Domain, b.Domain) })
	return out, nil
}
