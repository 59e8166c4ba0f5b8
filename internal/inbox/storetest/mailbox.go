package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func mailboxCases() []testCase {
	return []testCase{
		{"CreateGet", testMailboxCreateGet},
		{"DuplicateAddress", testMailboxDuplicateAddress},
		{"DuplicateAcrossTenants", testMailboxDuplicateAcrossTenants},
		{"UnknownTenant", testMailboxUnknownTenant},
		{"Invalid", testMailboxInvalid},
		{"NotFound", testMailboxNotFound},
		{"ListSorted", testMailboxListSorted},
		{"WatchExpiringBefore", testMailboxWatchExpiringBefore},
		{"SyncedBefore", testMailboxSyncedBefore},
		{"Update", testMailboxUpdate},
		{"UpdateFnError", testMailboxUpdateFnError},
		{"UpdateKeys", testMailboxUpdateKeys},
		{"Lease", testMailboxLease},
		{"Delete", testMailboxDelete},
		{"DeleteRemovesThreadLinks", testMailboxDeleteRemovesThreadLinks},
	}
}

// newMailbox builds (but does not store) a never-synced mailbox
// local@domain of tenant domain.
func newMailbox(domain, local string, kind inbox.MailboxKind) inbox.Mailbox {
	return inbox.Mailbox{Address: local + "@" + domain, TenantID: domain, Kind: kind, CreatedAt: t0}
}

// mustCreateMailbox stores m.
func mustCreateMailbox(t *testing.T, s inbox.Store, m inbox.Mailbox) inbox.Mailbox {
	t.Helper()
	if err := s.CreateMailbox(t.Context(), m); err != nil {
		t.Fatalf("CreateMailbox(%s): %v", m.Address, err)
	}
	return m
}

// mustUpdateMailbox applies fn through UpdateMailbox and checks that the
// result it returns is the stored one.
func mustUpdateMailbox(t *testing.T, s inbox.Store, address string, fn func(m *inbox.Mailbox) error) inbox.Mailbox {
	t.Helper()
	got, err := s.UpdateMailbox(t.Context(), address, fn)
	if err != nil {
		t.Fatalf("UpdateMailbox(%s): %v", address, err)
	}
	wantMailbox(t, s, got)
	return got
}

// wantMailbox fails unless the stored mailbox equals want.
func wantMailbox(t *testing.T, s inbox.Store, want inbox.Mailbox) {
	t.Helper()
	got, err := s.GetMailbox(t.Context(), want.Address)
	if err != nil {
		t.Fatalf("GetMailbox(%s): %v", want.Address, err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetMailbox(%s) mismatch (-want +got):\n%s", want.Address, diff)
	}
}

// wantMailboxes fails unless a listing returned exactly want, in order.
func wantMailboxes(t *testing.T, op string, got []inbox.Mailbox, err error, want ...inbox.Mailbox) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", op, err)
		return
	}
	if diff := cmp.Diff(addresses(want), addresses(got)); diff != "" {
		t.Errorf("%s order mismatch (-want +got):\n%s", op, diff)
		return
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("%s records mismatch (-want +got):\n%s", op, diff)
	}
}

// addresses returns the addresses of ms, in order.
func addresses(ms []inbox.Mailbox) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Address
	}
	return out
}

func testMailboxCreateGet(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	shared := newMailbox(domainA, "support", inbox.MailboxShared)
	member := newMailbox(domainA, "bob", inbox.MailboxMember)
	for _, m := range []inbox.Mailbox{shared, member} {
		if err := s.CreateMailbox(t.Context(), m); err != nil {
			t.Fatalf("CreateMailbox(%s): %v", m.Address, err)
		}
	}
	wantMailbox(t, s, shared)
	wantMailbox(t, s, member)
}

func testMailboxDuplicateAddress(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	first := mustCreateMailbox(t, s, newMailbox(domainA, "bob", inbox.MailboxMember))

	dup := newMailbox(domainA, "bob", inbox.MailboxShared)
	dup.HistoryID = 42
	err := s.CreateMailbox(t.Context(), dup)
	wantErr(t, "CreateMailbox(linked address)", err, inbox.ErrAlreadyExists)
	wantMailbox(t, s, first)
}

// testMailboxDuplicateAcrossTenants: an address is linked once, globally:
// a push names only the address.
func testMailboxDuplicateAcrossTenants(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	mustCreateTenant(t, s, domainB)
	first := mustCreateMailbox(t, s, newMailbox(domainA, "bob", inbox.MailboxMember))

	dup := first
	dup.TenantID = domainB
	err := s.CreateMailbox(t.Context(), dup)
	wantErr(t, "CreateMailbox(address linked by another tenant)", err, inbox.ErrAlreadyExists)
	wantMailbox(t, s, first)
	got, err := s.ListMailboxes(t.Context(), domainB)
	wantEmptyOrNotFound(t, "ListMailboxes(tenant of the refused create)", len(got), err)
}

func testMailboxUnknownTenant(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	m := newMailbox(domainB, "bob", inbox.MailboxMember)
	err := s.CreateMailbox(t.Context(), m)
	wantErr(t, "CreateMailbox(unknown tenant)", err, inbox.ErrNotFound)
	_, err = s.GetMailbox(t.Context(), m.Address)
	wantErr(t, "GetMailbox(refused mailbox)", err, inbox.ErrNotFound)
}

func testMailboxInvalid(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	for _, tc := range []struct {
		name   string
		change func(m *inbox.Mailbox)
	}{
		{"Zero", func(m *inbox.Mailbox) { *m = inbox.Mailbox{} }},
		{"NoAddress", func(m *inbox.Mailbox) { m.Address = "" }},
		{"UpperCaseAddress", func(m *inbox.Mailbox) { m.Address = "Bob@" + domainA }},
		{"NotAnAddress", func(m *inbox.Mailbox) { m.Address = "bob" }},
		{"NoTenant", func(m *inbox.Mailbox) { m.TenantID = "" }},
		{"UnknownKind", func(m *inbox.Mailbox) { m.Kind = "personal" }},
		{"UnknownAccess", func(m *inbox.Mailbox) { m.Access = "password" }},
		{"AccessCase", func(m *inbox.Mailbox) { m.Access = "OAuth" }},
		{"UnknownProblem", func(m *inbox.Mailbox) { m.LastError, m.Problem = "x", "quota" }},
		{"TokenWithoutAccess", func(m *inbox.Mailbox) { m.SealedToken = []byte{1} }},
		{"TokenWithDelegation", func(m *inbox.Mailbox) { m.Access, m.SealedToken = inbox.AccessDelegation, []byte("sealed") }},
		{"TokenWithDev", func(m *inbox.Mailbox) { m.Access, m.SealedToken = inbox.AccessDev, []byte("sealed") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMailbox(domainA, "bob", inbox.MailboxMember)
			tc.change(&m)
			err := s.CreateMailbox(t.Context(), m)
			wantErr(t, "CreateMailbox", err, inbox.ErrInvalid)
		})
	}
	got, err := s.ListMailboxes(t.Context(), domainA)
	if err != nil {
		t.Fatalf("ListMailboxes: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("invalid creates stored %d mailboxes, want 0", len(got))
	}
}

func testMailboxNotFound(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	mustCreateMailbox(t, s, newMailbox(domainA, "bob", inbox.MailboxMember))
	const missing = "carol@" + domainA

	_, err := s.GetMailbox(t.Context(), missing)
	wantErr(t, "GetMailbox(unknown address)", err, inbox.ErrNotFound)

	called := false
	_, err = s.UpdateMailbox(t.Context(), missing, func(m *inbox.Mailbox) error {
		called = true
		return nil
	})
	wantErr(t, "UpdateMailbox(unknown address)", err, inbox.ErrNotFound)
	if called {
		t.Error("UpdateMailbox(unknown address) called fn; there is no mailbox to give it")
	}
	_, err = s.GetMailbox(t.Context(), missing)
	wantErr(t, "GetMailbox(after the refused update)", err, inbox.ErrNotFound)

	err = s.DeleteMailbox(t.Context(), missing)
	wantErr(t, "DeleteMailbox(unknown address)", err, inbox.ErrNotFound)
}

func testMailboxListSorted(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	mustCreateTenant(t, s, domainB)
	// Created out of order.
	support := mustCreateMailbox(t, s, newMailbox(domainA, "support", inbox.MailboxShared))
	carol := mustCreateMailbox(t, s, newMailbox(domainA, "carol", inbox.MailboxMember))
	other := mustCreateMailbox(t, s, newMailbox(domainB, "bob", inbox.MailboxMember))
	alice := mustCreateMailbox(t, s, newMailbox(domainA, "alice", inbox.MailboxMember))

	got, err := s.ListMailboxes(t.Context(), domainA)
	wantMailboxes(t, "ListMailboxes("+domainA+")", got, err, alice, carol, support)
	got, err = s.ListMailboxes(t.Context(), domainB)
	wantMailboxes(t, "ListMailboxes("+domainB+")", got, err, other)
	got, err = s.ListMailboxes(t.Context(), "initech.example")
	wantEmptyOrNotFound(t, "ListMailboxes(unknown tenant)", len(got), err)
}

// testMailboxWatchExpiringBefore: the renewal sweep lists the watches that
// expire before t, of every tenant, soonest first, never-watched ones
// (zero expiration) first of all; a watch expiring at t is not listed.
func testMailboxWatchExpiringBefore(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	mustCreateTenant(t, s, domainB)
	at := func(local, domain string, exp time.Time) inbox.Mailbox {
		m := newMailbox(domain, local, inbox.MailboxMember)
		m.WatchExpiration = exp
		m.LastSyncAt = t0 // the other sweep's field does not matter
		return mustCreateMailbox(t, s, m)
	}
	now := t0.Add(time.Hour)
	later := at("later", domainA, now.Add(2*time.Hour))
	soon := at("a-soon", domainA, now.Add(-50*time.Minute))
	edge := at("edge", domainA, now)
	old := at("z-old", domainB, now.Add(-3*time.Hour))
	never := at("never", domainA, time.Time{})

	for _, tc := range []struct {
		name   string
		before time.Time
		limit  int
		want   []inbox.Mailbox
	}{
		{"Expiring", now, 10, []inbox.Mailbox{never, old, soon}},
		{"Limit", now, 2, []inbox.Mailbox{never, old}},
		{"LimitOne", now, 1, []inbox.Mailbox{never}},
		{"OnlyNever", old.WatchExpiration, 10, []inbox.Mailbox{never}},
		{"All", now.Add(24 * time.Hour), 10, []inbox.Mailbox{never, old, soon, edge, later}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListMailboxesWatchExpiringBefore(t.Context(), tc.before, tc.limit)
			wantMailboxes(t, fmt.Sprintf("ListMailboxesWatchExpiringBefore(%s, %d)", tc.before.Format(time.RFC3339), tc.limit), got, err, tc.want...)
		})
	}

	// Renewing a watch moves it; a first watch takes the never-watched one
	// out of the front.
	later = mustUpdateMailbox(t, s, later.Address, func(m *inbox.Mailbox) error {
		m.WatchExpiration = now.Add(-2 * time.Hour)
		return nil
	})
	never = mustUpdateMailbox(t, s, never.Address, func(m *inbox.Mailbox) error {
		m.WatchExpiration = now.Add(7 * 24 * time.Hour)
		return nil
	})
	got, err := s.ListMailboxesWatchExpiringBefore(t.Context(), now, 10)
	wantMailboxes(t, "ListMailboxesWatchExpiringBefore(after renewals)", got, err, old, later, soon)
}

// testMailboxSyncedBefore: the safety sweep lists the mailboxes of every
// tenant last synced before t, never-synced ones first, then the oldest.
func testMailboxSyncedBefore(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	mustCreateTenant(t, s, domainB)
	at := func(local, domain string, synced time.Time) inbox.Mailbox {
		m := newMailbox(domain, local, inbox.MailboxShared)
		m.LastSyncAt = synced
		m.WatchExpiration = t0 // the other sweep's field does not matter
		return mustCreateMailbox(t, s, m)
	}
	now := t0.Add(time.Hour)
	fresh := at("fresh", domainA, now.Add(-time.Minute))
	stale := at("a-stale", domainB, now.Add(-2*time.Hour))
	edge := at("edge", domainA, now.Add(-30*time.Minute))
	staler := at("z-staler", domainA, now.Add(-5*time.Hour))
	never := at("never", domainB, time.Time{})

	cutoff := now.Add(-30 * time.Minute)
	for _, tc := range []struct {
		name   string
		before time.Time
		limit  int
		want   []inbox.Mailbox
	}{
		{"Stale", cutoff, 10, []inbox.Mailbox{never, staler, stale}},
		{"Limit", cutoff, 2, []inbox.Mailbox{never, staler}},
		{"All", now, 10, []inbox.Mailbox{never, staler, stale, edge, fresh}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListMailboxesSyncedBefore(t.Context(), tc.before, tc.limit)
			wantMailboxes(t, fmt.Sprintf("ListMailboxesSyncedBefore(%s, %d)", tc.before.Format(time.RFC3339), tc.limit), got, err, tc.want...)
		})
	}

	// A sync moves the mailbox to the back.
	never = mustUpdateMailbox(t, s, never.Address, func(m *inbox.Mailbox) error {
		m.LastSyncAt = now
		return nil
	})
	got, err := s.ListMailboxesSyncedBefore(t.Context(), cutoff, 10)
	wantMailboxes(t, "ListMailboxesSyncedBefore(after a sync)", got, err, staler, stale)
}

// testMailboxUpdate: fn sees the stored mailbox, and what it leaves is
// written and returned.
func testMailboxUpdate(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	stored := newMailbox(domainA, "support", inbox.MailboxShared)
	stored.Labels = map[string]string{"Postfach/Support/Open": "Label_1"}
	mustCreateMailbox(t, s, stored)

	want := stored
	want.HistoryID = 1000
	want.NotifiedHistoryID = 1200
	want.WatchExpiration = t0.Add(7 * 24 * time.Hour)
	want.Labels = map[string]string{"Postfach/Support/Open": "Label_1", "Postfach/Support/Closed": "Label_2"}
	want.Access = inbox.AccessOAuth
	want.SealedToken = []byte("v1:\x00sealed\xff")
	want.ConnectedBy = alice
	want.LastSyncAt = t0.Add(time.Minute)
	want.LastError = "quota exceeded"
	want.Problem = inbox.ProblemGmailDenied
	want.ErrorCount = 3

	got, err := s.UpdateMailbox(t.Context(), stored.Address, func(m *inbox.Mailbox) error {
		if diff := cmp.Diff(stored, *m, cmpOpts); diff != "" {
			return fmt.Errorf("fn was given another mailbox than the stored one (-stored +given):\n%s", diff)
		}
		m.HistoryID = want.HistoryID
		m.NotifiedHistoryID = want.NotifiedHistoryID
		m.WatchExpiration = want.WatchExpiration
		m.Labels = map[string]string{"Postfach/Support/Open": "Label_1", "Postfach/Support/Closed": "Label_2"}
		m.Access, m.SealedToken, m.ConnectedBy = inbox.AccessOAuth, []byte("v1:\x00sealed\xff"), alice
		m.LastSyncAt = want.LastSyncAt
		m.LastError = want.LastError
		m.Problem = want.Problem
		m.ErrorCount = want.ErrorCount
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateMailbox: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("UpdateMailbox returned (-want +got):\n%s", diff)
	}
	wantMailbox(t, s, want)

	// A healthy sync clears the error and its problem; the kind may
	// change too.
	want.LastError, want.Problem, want.ErrorCount, want.Kind = "", "", 0, inbox.MailboxMember
	mustUpdateMailbox(t, s, want.Address, func(m *inbox.Mailbox) error {
		m.LastError, m.Problem, m.ErrorCount, m.Kind = "", "", 0, inbox.MailboxMember
		return nil
	})
	wantMailbox(t, s, want)

	// The admin switches the mailbox to delegation: the token goes.
	want.Access, want.SealedToken, want.ConnectedBy = inbox.AccessDelegation, nil, bob
	mustUpdateMailbox(t, s, want.Address, func(m *inbox.Mailbox) error {
		m.Access, m.SealedToken, m.ConnectedBy = inbox.AccessDelegation, nil, bob
		return nil
	})
	wantMailbox(t, s, want)
}

// errBoom is an error of the caller's, returned by UpdateMailbox's fn.
var errBoom = errors.New("boom")

// testMailboxUpdateFnError: fn's error aborts the update, whatever fn
// changed first, and reaches the caller recognisably.
func testMailboxUpdateFnError(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	stored := newMailbox(domainA, "bob", inbox.MailboxMember)
	stored.HistoryID = 7
	mustCreateMailbox(t, s, stored)

	_, err := s.UpdateMailbox(t.Context(), stored.Address, func(m *inbox.Mailbox) error {
		m.HistoryID = 99
		m.LastError = "half done"
		return fmt.Errorf("sync: %w", errBoom)
	})
	wantErr(t, "UpdateMailbox(fn fails)", err, errBoom)
	wantMailbox(t, s, stored)

	// The lease: fn's ErrLeaseHeld is still ErrLeaseHeld, and ErrConflict.
	stored = mustUpdateMailbox(t, s, stored.Address, func(m *inbox.Mailbox) error {
		return m.Acquire("instance-1", t0, time.Minute)
	})
	_, err = s.UpdateMailbox(t.Context(), stored.Address, func(m *inbox.Mailbox) error {
		return m.Acquire("instance-2", t0.Add(time.Second), time.Minute)
	})
	wantErr(t, "UpdateMailbox(lease held)", err, inbox.ErrLeaseHeld)
	wantErr(t, "UpdateMailbox(lease held)", err, inbox.ErrConflict)
	wantMailbox(t, s, stored)
}

// testMailboxUpdateKeys: fn may not move the mailbox to another address or
// tenant, nor leave it invalid; nothing is written then.
func testMailboxUpdateKeys(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	mustCreateTenant(t, s, domainB)
	stored := mustCreateMailbox(t, s, newMailbox(domainA, "bob", inbox.MailboxMember))

	for _, tc := range []struct {
		name   string
		change func(m *inbox.Mailbox)
	}{
		{"Address", func(m *inbox.Mailbox) { m.Address = "robert@" + domainA }},
		{"AddressCase", func(m *inbox.Mailbox) { m.Address = "Bob@" + domainA }},
		{"Tenant", func(m *inbox.Mailbox) { m.TenantID = domainB }},
		{"UnknownKind", func(m *inbox.Mailbox) { m.Kind = "personal" }},
		{"UnknownAccess", func(m *inbox.Mailbox) { m.Access = "password" }},
		{"TokenWithoutOAuth", func(m *inbox.Mailbox) { m.Access, m.SealedToken = inbox.AccessDelegation, []byte("sealed") }},
		{"UnknownProblem", func(m *inbox.Mailbox) { m.LastError, m.Problem = "x", "Consent_Revoked" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateMailbox(t.Context(), stored.Address, func(m *inbox.Mailbox) error {
				m.HistoryID = 5
				tc.change(m)
				return nil
			})
			wantErr(t, "UpdateMailbox", err, inbox.ErrInvalid)
		})
	}
	wantMailbox(t, s, stored)
	_, err := s.GetMailbox(t.Context(), "robert@"+domainA)
	wantErr(t, "GetMailbox(address fn moved to)", err, inbox.ErrNotFound)
	got, err := s.ListMailboxes(t.Context(), domainB)
	wantEmptyOrNotFound(t, "ListMailboxes(tenant fn moved to)", len(got), err)
}

// testMailboxLease plays one lease through UpdateMailbox: taken, refused
// to another holder, renewed, expired and taken over; the cursor advances
// only for the holder.
func testMailboxLease(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	mb := mustCreateMailbox(t, s, newMailbox(domainA, "support", inbox.MailboxShared))
	const ttl = time.Minute
	update := func(fn func(m *inbox.Mailbox) error) (inbox.Mailbox, error) {
		return s.UpdateMailbox(t.Context(), mb.Address, fn)
	}

	m, err := update(func(m *inbox.Mailbox) error { return m.Acquire("one", t0, ttl) })
	if err != nil {
		t.Fatalf("Acquire(one): %v", err)
	}
	if m.LeaseHolder != "one" || !m.LeaseUntil.Equal(t0.Add(ttl)) {
		t.Fatalf("after Acquire(one): lease %q until %s", m.LeaseHolder, m.LeaseUntil)
	}
	_, err = update(func(m *inbox.Mailbox) error { return m.Acquire("two", t0.Add(30*time.Second), ttl) })
	wantErr(t, "Acquire(two) while one holds the lease", err, inbox.ErrLeaseHeld)

	m, err = update(func(m *inbox.Mailbox) error {
		if err := m.Acquire("one", t0.Add(50*time.Second), ttl); err != nil {
			return err
		}
		return m.Advance("one", 0, 500, t0.Add(50*time.Second))
	})
	if err != nil {
		t.Fatalf("renew and Advance(one): %v", err)
	}
	if m.HistoryID != 500 || !m.LeaseUntil.Equal(t0.Add(50*time.Second+ttl)) {
		t.Fatalf("after renewal: history %d, lease until %s", m.HistoryID, m.LeaseUntil)
	}
	wantMailbox(t, s, m)

	// one's lease runs out; two takes over and moves the cursor.
	takeover := t0.Add(3 * ttl)
	m, err = update(func(m *inbox.Mailbox) error {
		if err := m.Acquire("two", takeover, ttl); err != nil {
			return err
		}
		return m.Advance("two", 500, 800, takeover)
	})
	if err != nil {
		t.Fatalf("take over and Advance(two): %v", err)
	}
	_, err = update(func(m *inbox.Mailbox) error { return m.Advance("one", 500, 600, takeover) })
	wantErr(t, "Advance(one) after losing the lease", err, inbox.ErrConflict)
	wantMailbox(t, s, m)

	m, err = update(func(m *inbox.Mailbox) error { m.Release("two"); return nil })
	if err != nil {
		t.Fatalf("Release(two): %v", err)
	}
	if m.LeaseHolder != "" || !m.LeaseUntil.IsZero() || m.HistoryID != 800 {
		t.Errorf("after Release: lease %q until %s, history %d; want none, zero, 800", m.LeaseHolder, m.LeaseUntil, m.HistoryID)
	}
	wantMailbox(t, s, m)
}

func testMailboxDelete(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	bob := mustCreateMailbox(t, s, newMailbox(domainA, "bob", inbox.MailboxMember))
	carol := mustCreateMailbox(t, s, newMailbox(domainA, "carol", inbox.MailboxMember))

	if err := s.DeleteMailbox(t.Context(), bob.Address); err != nil {
		t.Fatalf("DeleteMailbox: %v", err)
	}
	_, err := s.GetMailbox(t.Context(), bob.Address)
	wantErr(t, "GetMailbox(deleted)", err, inbox.ErrNotFound)
	got, err := s.ListMailboxes(t.Context(), domainA)
	wantMailboxes(t, "ListMailboxes(after delete)", got, err, carol)
	got, err = s.ListMailboxesSyncedBefore(t.Context(), t0, 10)
	wantMailboxes(t, "ListMailboxesSyncedBefore(after delete)", got, err, carol)
	err = s.DeleteMailbox(t.Context(), bob.Address)
	wantErr(t, "DeleteMailbox(deleted)", err, inbox.ErrNotFound)

	// The address may be linked again.
	again := newMailbox(domainA, "bob", inbox.MailboxShared)
	mustCreateMailbox(t, s, again)
	wantMailbox(t, s, again)
}

// testMailboxDeleteRemovesThreadLinks: unlinking a mailbox forgets its
// threads, and only its own.
func testMailboxDeleteRemovesThreadLinks(t *testing.T, h Harness) {
	f := newFixture(t, h)
	bob := mustCreateMailbox(t, f.s, newMailbox(domainA, "bob", inbox.MailboxMember))
	support := mustCreateMailbox(t, f.s, newMailbox(domainA, "support", inbox.MailboxShared))
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	kept := inbox.ThreadLink{TenantID: domainA, ConversationID: c.ID, Mailbox: support.Address, ThreadID: "thread-s"}
	for _, l := range []inbox.ThreadLink{
		{TenantID: domainA, ConversationID: c.ID, Mailbox: bob.Address, ThreadID: "thread-1"},
		{TenantID: domainA, ConversationID: c.ID, Mailbox: bob.Address, ThreadID: "thread-2"},
		kept,
	} {
		mustPutThreadLink(t, f.s, l)
	}

	if err := f.s.DeleteMailbox(t.Context(), bob.Address); err != nil {
		t.Fatalf("DeleteMailbox: %v", err)
	}
	wantThreadLinks(t, f.s, domainA, c.ID, kept)
	for _, thread := range []string{"thread-1", "thread-2"} {
		got, err := f.s.FindThreadLinks(t.Context(), bob.Address, thread)
		wantLinks(t, "FindThreadLinks(deleted mailbox, "+thread+")", got, err)
	}
	got, err := f.s.FindThreadLinks(t.Context(), support.Address, "thread-s")
	wantLinks(t, "FindThreadLinks(other mailbox)", got, err, kept)
}
