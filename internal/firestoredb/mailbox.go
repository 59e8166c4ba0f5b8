package firestoredb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// mailboxDoc is the stored form of an inbox.Mailbox; its tags are the
// schema.
type mailboxDoc struct {
	Address  string `firestore:"address"`
	TenantID string `firestore:"tenantId"`
	Kind     string `firestore:"kind"`
	// History ids are uint64; Firestore integers are int64 (and some
	// emulators keep them as doubles), so they are stored as 20-digit
	// zero-padded decimal strings: lossless, and still ordered.
	HistoryID         string     `firestore:"historyId"`
	NotifiedHistoryID string     `firestore:"notifiedHistoryId"`
	WatchExpiration   time.Time  `firestore:"watchExpiration"`
	Labels            []labelDoc `firestore:"labels"` // sorted by name
	Access            string     `firestore:"access"`
	// SealedToken is a Firestore bytes value, kept bit for bit; empty when
	// there is none. (Documents written before it had an "expected" array
	// instead, which decoding ignores and the next write drops.)
	SealedToken []byte    `firestore:"sealedToken"`
	ConnectedBy string    `firestore:"connectedBy"`
	LeaseHolder string    `firestore:"leaseHolder"`
	LeaseUntil  time.Time `firestore:"leaseUntil"`
	LastSyncAt  time.Time `firestore:"lastSyncAt"`
	LastError   string    `firestore:"lastError"`
	Problem     string    `firestore:"problem"`
	ErrorCount  int64     `firestore:"errorCount"`
	CreatedAt   time.Time `firestore:"createdAt"`
	// Resync is inbox.Mailbox.Resync; its Start a history id string as
	// above ("" or zeros: none under way).
	ResyncStart string    `firestore:"resyncStart"`
	ResyncSince time.Time `firestore:"resyncSince"`
	ResyncAfter string    `firestore:"resyncAfter"`
	WatchKey    string    `firestore:"watchKey"` // WatchExpiration, then Address
	SyncKey     string    `firestore:"syncKey"`  // LastSyncAt, then Address

	// ConsentStateExpires is a timestamp, which Firestore keeps to the
	// microsecond, a state's precision. Documents written before it read
	// as the zero time.
	ConsentStateExpires time.Time `firestore:"consentStateExpires"`
}

// labelDoc is one entry of Mailbox.Labels. A list of pairs, not a map:
// label names may be any text, and Firestore map keys may not.
type labelDoc struct {
	Name string `firestore:"name"`
	ID   string `firestore:"id"`
}

// Field paths that mailbox queries use.
const (
	fieldTenantID = "tenantId"
	fieldWatchKey = "watchKey"
	fieldSyncKey  = "syncKey"
)

func historyID(h uint64) string { return fmt.Sprintf("%020d", h) }

func parseHistoryID(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

func encodeMailbox(m inbox.Mailbox) mailboxDoc {
	d := mailboxDoc{
		Address:           m.Address,
		TenantID:          m.TenantID,
		Kind:              string(m.Kind),
		HistoryID:         historyID(m.HistoryID),
		NotifiedHistoryID: historyID(m.NotifiedHistoryID),
		WatchExpiration:   m.WatchExpiration,
		Labels:            []labelDoc{},
		Access:            string(m.Access),
		SealedToken:       m.SealedToken,
		ConnectedBy:       m.ConnectedBy,
		LeaseHolder:       m.LeaseHolder,
		LeaseUntil:        m.LeaseUntil,
		LastSyncAt:        m.LastSyncAt,
		LastError:         m.LastError,
		Problem:           string(m.Problem),
		ErrorCount:        int64(m.ErrorCount),
		CreatedAt:         m.CreatedAt,
		ResyncStart:       historyID(m.Resync.Start),
		ResyncSince:       m.Resync.Since,
		ResyncAfter:       m.Resync.After,
		WatchKey:          sortKey(m.WatchExpiration, m.Address),
		SyncKey:           sortKey(m.LastSyncAt, m.Address),

		ConsentStateExpires: m.ConsentStateExpires,
	}
	for _, name := range slices.Sorted(maps.Keys(m.Labels)) {
		d.Labels = append(d.Labels, labelDoc{Name: name, ID: m.Labels[name]})
	}
	if d.SealedToken == nil {
		d.SealedToken = []byte{} // bytes, not null: the field keeps its type
	}
	return d
}

func decodeMailbox(snap *firestore.DocumentSnapshot) (inbox.Mailbox, error) {
	var d mailboxDoc
	if err := snap.DataTo(&d); err != nil {
		return inbox.Mailbox{}, fmt.Errorf("decode mailbox %s: %w", snap.Ref.ID, err)
	}
	h, err := parseHistoryID(d.HistoryID)
	if err != nil {
		return inbox.Mailbox{}, fmt.Errorf("decode mailbox %s: historyId: %w", snap.Ref.ID, err)
	}
	nh, err := parseHistoryID(d.NotifiedHistoryID)
	if err != nil {
		return inbox.Mailbox{}, fmt.Errorf("decode mailbox %s: notifiedHistoryId: %w", snap.Ref.ID, err)
	}
	rs, err := parseHistoryID(d.ResyncStart)
	if err != nil {
		return inbox.Mailbox{}, fmt.Errorf("decode mailbox %s: resyncStart: %w", snap.Ref.ID, err)
	}
	m := inbox.Mailbox{
		Resync:            inbox.Resync{Start: rs, Since: utc(d.ResyncSince), After: d.ResyncAfter},
		Address:           d.Address,
		TenantID:          d.TenantID,
		Kind:              inbox.MailboxKind(d.Kind),
		HistoryID:         h,
		NotifiedHistoryID: nh,
		WatchExpiration:   utc(d.WatchExpiration),
		Access:            inbox.MailboxAccess(d.Access),
		ConnectedBy:       d.ConnectedBy,
		LeaseHolder:       d.LeaseHolder,
		LeaseUntil:        utc(d.LeaseUntil),
		LastSyncAt:        utc(d.LastSyncAt),
		LastError:         d.LastError,
		Problem:           inbox.MailboxProblem(d.Problem),
		ErrorCount:        int(d.ErrorCount),
		CreatedAt:         utc(d.CreatedAt),

		ConsentStateExpires: utc(d.ConsentStateExpires),
	}
	if len(d.Labels) > 0 {
		m.Labels = make(map[string]string, len(d.Labels))
		for _, l := range d.Labels {
			m.Labels[l.Name] = l.ID
		}
	}
	if len(d.SealedToken) > 0 {
		m.SealedToken = slices.Clone(d.SealedToken) // DataTo aliases the snapshot's bytes
	}
	return m, nil
}

// CreateMailbox implements inbox.Store.
func (s *Store) CreateMailbox(ctx context.Context, m inbox.Mailbox) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("create mailbox: %w", err)
	}
	op := "create mailbox " + m.Address
	ref := s.mailboxRef(m.Address)
	tenant := s.tenantRef(m.TenantID)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		snaps, err := s.getAll(ctx, tx, tenant, ref)
		if err != nil {
			return err
		}
		switch {
		case !snaps[0].Exists():
			return fmt.Errorf("tenant %s: %w", m.TenantID, inbox.ErrNotFound)
		case snaps[1].Exists():
			return fmt.Errorf("address is linked: %w", inbox.ErrAlreadyExists)
		}
		return tx.create(ref, encodeMailbox(m))
	})
	return wrapCommit(op, err)
}

// GetMailbox implements inbox.Store.
func (s *Store) GetMailbox(ctx context.Context, address string) (inbox.Mailbox, error) {
	op := "get mailbox " + address
	snap, err := s.get(ctx, nil, s.mailboxRef(address))
	if err != nil {
		return inbox.Mailbox{}, wrap(op, err)
	}
	m, err := decodeMailbox(snap)
	if err != nil {
		return inbox.Mailbox{}, fmt.Errorf("%s: %w", op, err)
	}
	return m, nil
}

// ListMailboxes implements inbox.Store.
func (s *Store) ListMailboxes(ctx context.Context, tenantID string) ([]inbox.Mailbox, error) {
	out, err := s.listMailboxes(ctx, querySpec{
		coll:    s.collection(collMailboxes),
		filters: []filter{{fieldTenantID, "==", tenantID}},
	})
	if err != nil {
		return nil, wrap("list mailboxes of "+tenantID, err)
	}
	slices.SortFunc(out, func(a, b inbox.Mailbox) int { return strings.Compare(a.Address, b.Address) })
	return out, nil
}

// ListMailboxesWatchExpiringBefore implements inbox.Store; a never-watched
// mailbox has the zero expiration, which sorts first. limit ≤ 0 reads 20.
func (s *Store) ListMailboxesWatchExpiringBefore(ctx context.Context, t time.Time, limit int) ([]inbox.Mailbox, error) {
	out, err := s.listMailboxes(ctx, beforeQuery(s.collection(collMailboxes), fieldWatchKey, t, limit))
	if err != nil {
		return nil, wrap("list mailboxes whose watch expires before "+t.Format(time.RFC3339), err)
	}
	return out, nil
}

// ListMailboxesSyncedBefore implements inbox.Store; a never-synced mailbox
// has the zero sync time, which sorts first. limit ≤ 0 reads 20.
func (s *Store) ListMailboxesSyncedBefore(ctx context.Context, t time.Time, limit int) ([]inbox.Mailbox, error) {
	out, err := s.listMailboxes(ctx, beforeQuery(s.collection(collMailboxes), fieldSyncKey, t, limit))
	if err != nil {
		return nil, wrap("list mailboxes synced before "+t.Format(time.RFC3339), err)
	}
	return out, nil
}

// beforeQuery selects the mailboxes whose key time is before t, soonest
// first (ties by address).
func beforeQuery(coll *firestore.CollectionRef, field string, t time.Time, limit int) querySpec {
	if limit <= 0 {
		limit = defaultLimit
	}
	return querySpec{
		coll:    coll,
		filters: []filter{{field, "<", timeKey(t)}},
		orders:  []order{{field, firestore.Asc}},
		limit:   limit,
	}
}

func (s *Store) listMailboxes(ctx context.Context, q querySpec) ([]inbox.Mailbox, error) {
	snaps, err := s.query(ctx, nil, q)
	if err != nil {
		return nil, err
	}
	out := make([]inbox.Mailbox, 0, len(snaps))
	for _, snap := range snaps {
		m, err := decodeMailbox(snap)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// fnError carries an error of UpdateMailbox's fn through the transaction,
// so that it is returned as is.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// UpdateMailbox implements inbox.Store: read, fn, check and a write on the
// condition that the mailbox did not change since the read (see replace),
// rerun (fn included) when it did. Every push and every sync of a mailbox
// writes its document, so this path must not queue on a lock.
func (s *Store) UpdateMailbox(ctx context.Context, address string, fn func(*inbox.Mailbox) error) (inbox.Mailbox, error) {
	op := "update mailbox " + address
	ref := s.mailboxRef(address)
	var result inbox.Mailbox
	err := s.replace(ctx, ref, func(snap *firestore.DocumentSnapshot) (any, error) {
		stored, err := decodeMailbox(snap)
		if err != nil {
			return nil, err
		}
		m, err := decodeMailbox(snap) // fn's own copy: no slice or map shared with stored
		if err != nil {
			return nil, err
		}
		if err := fn(&m); err != nil {
			return nil, fnError{err}
		}
		if err := m.ValidateUpdate(stored); err != nil {
			return nil, err
		}
		result = m
		return encodeMailbox(m), nil
	})
	var fe fnError
	if errors.As(err, &fe) {
		return inbox.Mailbox{}, fe.err
	}
	if err != nil {
		return inbox.Mailbox{}, wrapCommit(op, err)
	}
	return result, nil
}

// DeleteMailbox implements inbox.Store: the mailbox and its thread links
// (both sides of each) go in one transaction.
func (s *Store) DeleteMailbox(ctx context.Context, address string) error {
	op := "delete mailbox " + address
	ref := s.mailboxRef(address)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		if _, err := s.get(ctx, tx, ref); err != nil {
			return wrap("read stored mailbox", err)
		}
		threads, err := s.query(ctx, tx, querySpec{coll: ref.Collection(collThreads)})
		if err != nil {
			return fmt.Errorf("list thread links: %w", err)
		}
		for _, snap := range threads {
			var d threadDoc
			if err := snap.DataTo(&d); err != nil {
				return fmt.Errorf("decode thread %s: %w", snap.Ref.ID, err)
			}
			for _, l := range d.links() {
				gone := map[string]any{"links": map[string]any{convLinkKey(l): firestore.Delete}}
				if err := tx.set(s.convLinksRef(l.TenantID, l.ConversationID), gone, firestore.MergeAll); err != nil {
					return err
				}
			}
			if err := tx.delete(snap.Ref); err != nil {
				return err
			}
		}
		return tx.delete(ref)
	})
	return wrapCommit(op, err)
}
