package storetest

import (
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
	found, err := s2.FindConversationByMessageID(t.Context(), domainA, "reply@mail.example")
	if err != nil {
		t.Fatalf("FindConversationByMessageID: %v", err)
	}
	if found.ID != c.ID {
		t.Errorf("FindConversationByMessageID after reopen = %s, want %s", found.ID, c.ID)
	}
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
	wantActivity(t, s2, domainA, c.ID, noted, assigned, created)

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
}
