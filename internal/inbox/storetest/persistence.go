package storetest

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func persistenceCases() []testCase {
	return []testCase{
		{"Reopen", testPersistenceReopen},
	}
}

// testPersistenceReopen writes through one store and reads everything back
// through a second one over the same backend, then the other way round.
func testPersistenceReopen(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("Harness.Reopen is nil: this backend cannot open a second store over the same data")
	}
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0, "reply@mail.example")
	assigned := mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.Assign(f.ib, alice, bob, t0.Add(time.Minute))
	})
	n, noted := mustAddNote(t, f.s, c, bob, "Persisted?", t0.Add(2*time.Minute))
	f.tenant = mustUpdateTenant(t, f.s, domainA, func(tn *inbox.Tenant) error {
		tn.Admins = []string{carol, alice}
		return nil
	})
	mb := newMailbox(domainA, "bob", inbox.MailboxMember)
	mb.HistoryID = math.MaxUint64 - 7
	mb.Labels = map[string]string{"Postfach/Support/Open": "Label_3"}
	mb.Access, mb.SealedToken, mb.ConnectedBy = inbox.AccessOAuth, []byte{0, 0xff, 's', 0}, bob
	mb.WatchExpiration = t0.Add(time.Hour)
	gone := mustCreateInbox(t, f.s, domainA, "gone", "Gone")
	if err := f.s.DeleteInbox(t.Context(), domainA, gone.ID); err != nil {
		t.Fatalf("DeleteInbox: %v", err)
	}
	mustCreateMailbox(t, f.s, mb)
	link := inbox.ThreadLink{TenantID: domainA, ConversationID: c.ID, Mailbox: mb.Address, ThreadID: "18a11"}
	mustPutThreadLink(t, f.s, link)

	s2 := h.Reopen(t, f.s)
	if s2 == nil {
		t.Fatal("Harness.Reopen returned nil")
	}

	gotTenant, err := s2.GetTenant(t.Context(), domainA)
	if err != nil {
		t.Fatalf("GetTenant: %v", err)
	}
	if diff := cmp.Diff(f.tenant, gotTenant, cmpOpts); diff != "" {
		t.Errorf("GetTenant after reopen mismatch (-want +got):\n%s", diff)
	}
	gotInboxes, err := s2.ListInboxes(t.Context(), domainA)
	if err != nil {
		t.Fatalf("ListInboxes: %v", err)
	}
	if diff := cmp.Diff([]inbox.Inbox{f.ib}, gotInboxes, cmpOpts); diff != "" {
		t.Errorf("ListInboxes after reopen mismatch (-want +got):\n%s", diff)
	}
	wantConversation(t, s2, c)
	wantFound(t, s2, domainA, "reply@mail.example", c)
	p, err := s2.ListConversations(t.Context(), inbox.ConversationQuery{TenantID: domainA, InboxID: "support", Assignee: bob})
	if err != nil {
		t.Fatalf("ListConversations: %v", err)
	}
	if diff := cmp.Diff([]inbox.Conversation{c}, p.Conversations, cmpOpts); diff != "" {
		t.Errorf("ListConversations after reopen mismatch (-want +got):\n%s", diff)
	}
	notes, err := s2.ListNotes(t.Context(), domainA, c.ID, 10)
	if err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	if diff := cmp.Diff([]inbox.Note{n}, notes, cmpOpts); diff != "" {
		t.Errorf("ListNotes after reopen mismatch (-want +got):\n%s", diff)
	}
	wantActivity(t, s2, domainA, c.ID, noted, assigned, created) // and RecentHistory
	wantMailbox(t, s2, mb)
	expiring, err := s2.ListMailboxesWatchExpiringBefore(t.Context(), t0.Add(2*time.Hour), 10)
	wantMailboxes(t, "ListMailboxesWatchExpiringBefore after reopen", expiring, err, mb)
	wantThreadLinks(t, s2, domainA, c.ID, link)
	links, err := s2.FindThreadLinks(t.Context(), mb.Address, "18a11")
	wantLinks(t, "FindThreadLinks after reopen", links, err, link)

	// A change through the second store is seen by the first, and the
	// version check spans both.
	closed := mustChange(t, s2, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus(bob, inbox.StatusClosed, t0.Add(3*time.Minute))
	})
	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, closed, noted, assigned, created)
	stale := c
	stale.Version-- // computed from version 2, which s2 already replaced
	ev, err := stale.SetStatus(alice, inbox.StatusOpen, t0.Add(4*time.Minute))
	if err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
	wantErr(t, "UpdateConversation(stale, through the first store)", f.s.UpdateConversation(t.Context(), stale, ev), inbox.ErrConflict)

	// An inbox changed through one store is seen through the other; the
	// deleted inbox's address was freed for both.
	f.ib = mustUpdateInbox(t, s2, domainA, f.ib.ID, func(ib *inbox.Inbox) error {
		ib.Name, ib.Members = "Support (2nd level)", ib.Members[:2]
		return nil
	})
	wantInbox(t, f.s, f.ib)
	again := newInbox(domainA, "gone-too", "Gone too")
	again.Address = gone.Address
	if err := s2.CreateInbox(t.Context(), again); err != nil {
		t.Fatalf("CreateInbox(a deleted inbox's address) through the second store: %v", err)
	}
	wantInbox(t, f.s, again)

	// A lease taken through one store holds against the other; a mail
	// recorded through one is seen through the other.
	if _, err := s2.UpdateMailbox(t.Context(), mb.Address, func(m *inbox.Mailbox) error {
		return m.Acquire("instance-2", t0, time.Minute)
	}); err != nil {
		t.Fatalf("UpdateMailbox(Acquire) through the second store: %v", err)
	}
	_, err = f.s.UpdateMailbox(t.Context(), mb.Address, func(m *inbox.Mailbox) error {
		return m.Acquire("instance-1", t0.Add(time.Second), time.Minute)
	})
	wantErr(t, "UpdateMailbox(Acquire) through the first store", err, inbox.ErrLeaseHeld)

	m := reply(customer, "reply-2@mail.example", "reply@mail.example", root(1), t0.Add(5*time.Minute))
	reopened := mustAppend(t, s2, f.ib, &c, m, t0.Add(5*time.Minute))
	if reopened == nil {
		t.Fatal("fixture: the customer's reply did not reopen the closed conversation")
	}
	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, *reopened, closed, noted, assigned, created)
	wantFound(t, f.s, domainA, "reply-2@mail.example", c)
}
