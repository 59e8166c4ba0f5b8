package storetest

import (
	"testing"

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
	}
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
	_, err := f.s.GetInbox(t.Context(), domainA, "sales")
	wantErr(t, "GetInbox(unknown id)", err, inbox.ErrNotFound)
	_, err = f.s.GetInbox(t.Context(), domainB, "support")
	wantErr(t, "GetInbox(unknown tenant)", err, inbox.ErrNotFound)
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
