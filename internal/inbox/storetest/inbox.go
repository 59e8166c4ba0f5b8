package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func inboxCases() []testCase {
	return []testCase{
		{"CreateGet", testInboxCreateGet},
		{"ListSorted", testInboxListSorted},
		{"ListEmpty", testInboxListEmpty},
		{"DuplicateID", testInboxDuplicateID},
		{"DuplicateAddress", testInboxDuplicateAddress},
		{"UnknownTenant", testInboxUnknownTenant},
		{"Invalid", testInboxInvalid},
		{"NotFound", testInboxNotFound},
		{"TenantIsolation", testInboxTenantIsolation},
		{"Update", testInboxUpdate},
		{"UpdateFnError", testInboxUpdateFnError},
		{"UpdateKeys", testInboxUpdateKeys},
		{"Delete", testInboxDelete},
		{"DeleteFreesAddress", testInboxDeleteFreesAddress},
		{"DeleteKeepsConversations", testInboxDeleteKeepsConversations},
	}
}

// wantInbox fails unless the stored inbox equals want.
func wantInbox(t *testing.T, s inbox.Store, want inbox.Inbox) {
	t.Helper()
	got, err := s.GetInbox(t.Context(), want.TenantID, want.ID)
	if err != nil {
		t.Fatalf("GetInbox(%s, %s): %v", want.TenantID, want.ID, err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetInbox(%s, %s) mismatch (-want +got):\n%s", want.TenantID, want.ID, diff)
	}
}

// wantInboxes fails unless ListInboxes returns exactly want, in order.
func wantInboxes(t *testing.T, s inbox.Store, tenantID string, want ...inbox.Inbox) {
	t.Helper()
	got, err := s.ListInboxes(t.Context(), tenantID)
	if err != nil {
		t.Fatalf("ListInboxes(%s): %v", tenantID, err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("ListInboxes(%s) mismatch (-want +got):\n%s", tenantID, diff)
	}
}

// mustUpdateInbox applies fn through UpdateInbox and checks that the result
// it returns is the stored one.
func mustUpdateInbox(t *testing.T, s inbox.Store, tenantID, inboxID string, fn func(*inbox.Inbox) error) inbox.Inbox {
	t.Helper()
	got, err := s.UpdateInbox(t.Context(), tenantID, inboxID, fn)
	if err != nil {
		t.Fatalf("UpdateInbox(%s, %s): %v", tenantID, inboxID, err)
	}
	wantInbox(t, s, got)
	return got
}

func testInboxCreateGet(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	want := newInbox(domainA, "support", "Support")
	if err := s.CreateInbox(t.Context(), want); err != nil {
		t.Fatalf("CreateInbox: %v", err)
	}
	got, err := s.GetInbox(t.Context(), domainA, "support")
	if err != nil {
		t.Fatalf("GetInbox: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetInbox mismatch (-want +got):\n%s", diff)
	}
}

func testInboxListSorted(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	// Created out of order; ids sort differently from names, and two
	// share a name, so the id breaks the tie.
	sales := mustCreateInbox(t, s, domainA, "team-a", "Sales")
	support2 := mustCreateInbox(t, s, domainA, "support-2", "Support")
	billing := mustCreateInbox(t, s, domainA, "team-z", "Billing")
	support1 := mustCreateInbox(t, s, domainA, "support-1", "Support")

	got, err := s.ListInboxes(t.Context(), domainA)
	if err != nil {
		t.Fatalf("ListInboxes: %v", err)
	}
	want := []inbox.Inbox{billing, sales, support1, support2}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("ListInboxes mismatch, want sorted by name then id (-want +got):\n%s", diff)
	}
}

func testInboxListEmpty(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	got, err := s.ListInboxes(t.Context(), domainA)
	if err != nil {
		t.Fatalf("ListInboxes: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("ListInboxes of a tenant without inboxes: got %d, want 0", len(got))
	}
}

func testInboxDuplicateID(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	first := mustCreateInbox(t, s, domainA, "support", "Support")

	dup := newInbox(domainA, "support", "Other")
	dup.Address = "other@" + domainA
	err := s.CreateInbox(t.Context(), dup)
	wantErr(t, "CreateInbox(existing id)", err, inbox.ErrAlreadyExists)

	got, err := s.GetInbox(t.Context(), domainA, "support")
	if err != nil {
		t.Fatalf("GetInbox: %v", err)
	}
	if diff := cmp.Diff(first, got, cmpOpts); diff != "" {
		t.Errorf("the refused create changed the inbox (-want +got):\n%s", diff)
	}
}

func testInboxDuplicateAddress(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	mustCreateInbox(t, s, domainA, "support", "Support")

	dup := newInbox(domainA, "helpdesk", "Helpdesk")
	dup.Address = "support@" + domainA
	err := s.CreateInbox(t.Context(), dup)
	wantErr(t, "CreateInbox(existing address)", err, inbox.ErrAlreadyExists)

	_, err = s.GetInbox(t.Context(), domainA, "helpdesk")
	wantErr(t, "GetInbox(refused inbox)", err, inbox.ErrNotFound)
}

func testInboxUnknownTenant(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	err := s.CreateInbox(t.Context(), newInbox(domainB, "support", "Support"))
	wantErr(t, "CreateInbox(unknown tenant)", err, inbox.ErrNotFound)
}

func testInboxInvalid(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	for _, tc := range []struct {
		name   string
		change func(ib *inbox.Inbox)
	}{
		{"Zero", func(ib *inbox.Inbox) { *ib = inbox.Inbox{} }},
		{"BadID", func(ib *inbox.Inbox) { ib.ID = "Support Team" }},
		{"AddressOutsideTenant", func(ib *inbox.Inbox) { ib.Address = "support@" + domainB }},
		{"UpperCaseAddress", func(ib *inbox.Inbox) { ib.Address = "Support@" + domainA }},
		{"NoName", func(ib *inbox.Inbox) { ib.Name = " " }},
		{"UnknownRole", func(ib *inbox.Inbox) { ib.Members[0].Role = "owner" }},
		{"MemberTwice", func(ib *inbox.Inbox) { ib.Members[1].Email = ib.Members[0].Email }},
		{"UnknownReplyStatus", func(ib *inbox.Inbox) { ib.Settings.ReplyStatus = "snoozed" }},
		{"LabelPrefixWithSlash", func(ib *inbox.Inbox) { ib.Settings.LabelPrefix = "Post/fach" }},
		{"LanguageNotACode", func(ib *inbox.Inbox) { ib.Settings.Language = "Deutsch" }},
		{"UnknownReplyFrom", func(ib *inbox.Inbox) { ib.Settings.ReplyFrom = "group" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ib := newInbox(domainA, "support", "Support")
			tc.change(&ib)
			err := s.CreateInbox(t.Context(), ib)
			wantErr(t, "CreateInbox", err, inbox.ErrInvalid)
		})
	}
	got, err := s.ListInboxes(t.Context(), domainA)
	if err != nil {
		t.Fatalf("ListInboxes: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("invalid creates stored %d inboxes, want 0", len(got))
	}
}

func testInboxNotFound(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	for _, tc := range []struct{ name, tenantID, inboxID string }{
		{"unknown id", domainA, "sales"},
		{"other tenant", domainB, "support"},
		{"unknown tenant", "initech.example", "support"},
	} {
		_, err := f.s.GetInbox(t.Context(), tc.tenantID, tc.inboxID)
		wantErr(t, "GetInbox("+tc.name+")", err, inbox.ErrNotFound)
		called := false
		_, err = f.s.UpdateInbox(t.Context(), tc.tenantID, tc.inboxID, func(*inbox.Inbox) error {
			called = true
			return nil
		})
		wantErr(t, "UpdateInbox("+tc.name+")", err, inbox.ErrNotFound)
		if called {
			t.Errorf("UpdateInbox(%s) called fn; there is no inbox to give it", tc.name)
		}
		err = f.s.DeleteInbox(t.Context(), tc.tenantID, tc.inboxID)
		wantErr(t, "DeleteInbox("+tc.name+")", err, inbox.ErrNotFound)
	}
	wantInbox(t, f.s, f.ib)
	wantInboxes(t, f.s, domainB)
}

func testInboxTenantIsolation(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	mustCreateInbox(t, f.s, domainA, "sales", "Sales")

	_, err := f.s.GetInbox(t.Context(), domainB, "support")
	wantErr(t, "GetInbox(other tenant's inbox)", err, inbox.ErrNotFound)
	got, err := f.s.ListInboxes(t.Context(), domainB)
	if err != nil {
		t.Fatalf("ListInboxes(%s): %v", domainB, err)
	}
	if len(got) != 0 {
		t.Errorf("ListInboxes(%s) shows %d inboxes of another tenant, want 0", domainB, len(got))
	}

	// Inbox ids are keys within a tenant: B may use A's id.
	ibB := mustCreateInbox(t, f.s, domainB, "support", "Support B")
	gotB, err := f.s.GetInbox(t.Context(), domainB, "support")
	if err != nil {
		t.Fatalf("GetInbox(%s, support): %v", domainB, err)
	}
	if diff := cmp.Diff(ibB, gotB, cmpOpts); diff != "" {
		t.Errorf("GetInbox(%s, support) mismatch (-want +got):\n%s", domainB, diff)
	}
	gotA, err := f.s.GetInbox(t.Context(), domainA, "support")
	if err != nil {
		t.Fatalf("GetInbox(%s, support): %v", domainA, err)
	}
	if diff := cmp.Diff(f.ib, gotA, cmpOpts); diff != "" {
		t.Errorf("GetInbox(%s, support) changed by the other tenant (-want +got):\n%s", domainA, diff)
	}
	listA, err := f.s.ListInboxes(t.Context(), domainA)
	if err != nil {
		t.Fatalf("ListInboxes(%s): %v", domainA, err)
	}
	if got, want := len(listA), 2; got != want {
		t.Errorf("ListInboxes(%s): got %d inboxes, want %d", domainA, got, want)
	}
}

// testInboxUpdate: fn sees the stored inbox; the name, members (order
// kept) and settings it leaves are written and returned.
func testInboxUpdate(t *testing.T, h Harness) {
	f := newFixture(t, h)
	sales := mustCreateInbox(t, f.s, domainA, "sales", "Sales")
	stored := f.ib

	want := stored
	want.Name = "Customer Care – “Kundendienst” 🙂"
	want.Members = []inbox.Member{
		{Email: carol, Name: "Carol", Role: inbox.RoleAdmin},
		{Email: alice, Role: inbox.RoleAgent},
		{Email: "dave@" + domainA, Name: "Dave", Role: inbox.RoleAgent},
	}
	want.Settings = inbox.InboxSettings{ReplyStatus: inbox.StatusClosed, LabelPrefix: "Care", Language: "de", ReplyFrom: inbox.ReplyFromOwn}
	got, err := f.s.UpdateInbox(t.Context(), domainA, stored.ID, func(ib *inbox.Inbox) error {
		if diff := cmp.Diff(stored, *ib, cmpOpts); diff != "" {
			return fmt.Errorf("fn was given another inbox than the stored one (-stored +given):\n%s", diff)
		}
		ib.Name = want.Name
		ib.Members = slices.Clone(want.Members)
		ib.Settings = want.Settings
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateInbox: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("UpdateInbox returned (-want +got):\n%s", diff)
	}
	wantInbox(t, f.s, want)
	wantInboxes(t, f.s, domainA, want, sales) // sorted by the new name

	// Members and settings may be emptied.
	want.Members, want.Settings = nil, inbox.InboxSettings{}
	mustUpdateInbox(t, f.s, domainA, stored.ID, func(ib *inbox.Inbox) error {
		ib.Members, ib.Settings = []inbox.Member{}, inbox.InboxSettings{}
		return nil
	})
	wantInbox(t, f.s, want)

	// An update that changes nothing returns the stored inbox.
	got, err = f.s.UpdateInbox(t.Context(), domainA, stored.ID, func(*inbox.Inbox) error { return nil })
	if err != nil {
		t.Fatalf("UpdateInbox(no change): %v", err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("UpdateInbox(no change) returned (-want +got):\n%s", diff)
	}
	wantInbox(t, f.s, sales)
}

// testInboxUpdateFnError: fn's error aborts the update, whatever fn
// changed first, and reaches the caller recognisably.
func testInboxUpdateFnError(t *testing.T, h Harness) {
	f := newFixture(t, h)
	_, err := f.s.UpdateInbox(t.Context(), domainA, f.ib.ID, func(ib *inbox.Inbox) error {
		ib.Name = "half done"
		ib.Members = ib.Members[:1]
		return fmt.Errorf("settings: %w", errBoom)
	})
	wantErr(t, "UpdateInbox(fn fails)", err, errBoom)
	wantInbox(t, f.s, f.ib)
}

// testInboxUpdateKeys: fn may not move the inbox to another tenant, id or
// address, nor leave it invalid; nothing is written then, and an address
// fn tried to take stays free.
func testInboxUpdateKeys(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	for _, tc := range []struct {
		name   string
		change func(ib *inbox.Inbox)
	}{
		{"Tenant", func(ib *inbox.Inbox) { ib.TenantID = domainB; ib.Address = "support@" + domainB }},
		{"ID", func(ib *inbox.Inbox) { ib.ID = "helpdesk" }},
		{"Address", func(ib *inbox.Inbox) { ib.Address = "helpdesk@" + domainA }},
		{"AddressCase", func(ib *inbox.Inbox) { ib.Address = "Support@" + domainA }},
		{"NoName", func(ib *inbox.Inbox) { ib.Name = " " }},
		{"UnknownRole", func(ib *inbox.Inbox) { ib.Members[0].Role = "owner" }},
		{"MemberTwice", func(ib *inbox.Inbox) { ib.Members[1].Email = ib.Members[0].Email }},
		{"UnknownReplyStatus", func(ib *inbox.Inbox) { ib.Settings.ReplyStatus = "snoozed" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.s.UpdateInbox(t.Context(), domainA, f.ib.ID, func(ib *inbox.Inbox) error {
				ib.Name = "Changed"
				ib.Members = slices.Clone(ib.Members)
				tc.change(ib)
				return nil
			})
			wantErr(t, "UpdateInbox", err, inbox.ErrInvalid)
		})
	}
	wantInbox(t, f.s, f.ib)
	_, err := f.s.GetInbox(t.Context(), domainA, "helpdesk")
	wantErr(t, "GetInbox(id fn moved to)", err, inbox.ErrNotFound)
	wantInboxes(t, f.s, domainB)
	mustCreateInbox(t, f.s, domainA, "helpdesk", "Helpdesk") // helpdesk@ is free
}

// testInboxDelete: a deleted inbox is gone from every read, once; the
// tenant's other inboxes and another tenant's stay.
func testInboxDelete(t *testing.T, h Harness) {
	f := newFixture(t, h)
	sales := mustCreateInbox(t, f.s, domainA, "sales", "Sales")
	mustCreateTenant(t, f.s, domainB)
	supportB := mustCreateInbox(t, f.s, domainB, "support", "Support B")

	if err := f.s.DeleteInbox(t.Context(), domainA, f.ib.ID); err != nil {
		t.Fatalf("DeleteInbox: %v", err)
	}
	_, err := f.s.GetInbox(t.Context(), domainA, f.ib.ID)
	wantErr(t, "GetInbox(deleted)", err, inbox.ErrNotFound)
	wantInboxes(t, f.s, domainA, sales)
	wantInboxes(t, f.s, domainB, supportB)
	err = f.s.DeleteInbox(t.Context(), domainA, f.ib.ID)
	wantErr(t, "DeleteInbox(deleted)", err, inbox.ErrNotFound)
	_, err = f.s.UpdateInbox(t.Context(), domainA, f.ib.ID, func(*inbox.Inbox) error { return nil })
	wantErr(t, "UpdateInbox(deleted)", err, inbox.ErrNotFound)

	// No conversation starts in a deleted inbox.
	c, created := newConversation(t, f.ib, root(1), t0)
	err = f.s.CreateConversation(t.Context(), c, []string{root(1)}, created)
	wantErr(t, "CreateConversation(deleted inbox)", err, inbox.ErrNotFound)
}

// testInboxDeleteFreesAddress: the address of a deleted inbox may be taken
// by a new one.
func testInboxDeleteFreesAddress(t *testing.T, h Harness) {
	f := newFixture(t, h)
	if err := f.s.DeleteInbox(t.Context(), domainA, f.ib.ID); err != nil {
		t.Fatalf("DeleteInbox: %v", err)
	}
	again := newInbox(domainA, "helpdesk", "Helpdesk")
	again.Address = f.ib.Address
	if err := f.s.CreateInbox(t.Context(), again); err != nil {
		t.Fatalf("CreateInbox(the deleted inbox's address): %v", err)
	}
	wantInbox(t, f.s, again)
	wantInboxes(t, f.s, domainA, again)
}

// testInboxDeleteKeepsConversations: the conversations of a deleted inbox
// stay stored and readable by id, with their notes and activity.
func testInboxDeleteKeepsConversations(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0, "reply@mail.example")
	assigned := mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.Assign(f.ib, alice, bob, t0.Add(time.Minute))
	})
	n, noted := mustAddNote(t, f.s, c, bob, "Before the inbox went.", t0.Add(2*time.Minute))
	sales := mustCreateInbox(t, f.s, domainA, "sales", "Sales")
	other, otherCreated := mustCreateConversation(t, f.s, sales, root(2), t0)

	if err := f.s.DeleteInbox(t.Context(), domainA, f.ib.ID); err != nil {
		t.Fatalf("DeleteInbox: %v", err)
	}
	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, noted, assigned, created)
	notes, err := f.s.ListNotes(t.Context(), domainA, c.ID, 10)
	if err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	if diff := cmp.Diff([]inbox.Note{n}, notes, cmpOpts); diff != "" {
		t.Errorf("ListNotes of a deleted inbox's conversation (-want +got):\n%s", diff)
	}
	wantConversation(t, f.s, other)
	wantActivity(t, f.s, domainA, other.ID, otherCreated)
}
