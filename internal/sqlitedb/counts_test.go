package sqlitedb

import (
	"context"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// seedCounts stores tenant acme.example with inbox support and, in it, 2
// open conversations (one bob's), 1 pending one of carol's and 1 closed one.
func seedCounts(t *testing.T, s *Store) inbox.Counts {
	t.Helper()
	ctx := t.Context()
	now := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	ib := inbox.Inbox{TenantID: "acme.example", ID: "support", Address: "support@acme.example", Name: "Support",
		Members: []inbox.Member{
			{Email: "bob@acme.example", Role: inbox.RoleAgent},
			{Email: "carol@acme.example", Role: inbox.RoleAgent},
		}, Settings: inbox.DefaultInboxSettings(), CreatedAt: now}
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: ib.TenantID, Name: "Acme", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateInbox(ctx, ib); err != nil {
		t.Fatal(err)
	}
	changes := []func(c *inbox.Conversation) (inbox.Activity, error){
		nil,
		func(c *inbox.Conversation) (inbox.Activity, error) {
			return c.Assign(ib, "bob@acme.example", "bob@acme.example", now)
		},
		func(c *inbox.Conversation) (inbox.Activity, error) {
			if _, err := c.Assign(ib, "carol@acme.example", "carol@acme.example", now); err != nil {
				return inbox.Activity{}, err
			}
			return c.SetStatus("carol@acme.example", inbox.StatusPending, now)
		},
		func(c *inbox.Conversation) (inbox.Activity, error) {
			return c.SetStatus("bob@acme.example", inbox.StatusClosed, now)
		},
	}
	for i, change := range changes {
		c, created, err := inbox.StartConversation(ib, inbox.Headers{
			MessageID: "<m" + string(rune('a'+i)) + "@customer.example>", From: "x@customer.example", To: ib.Address, Date: now,
		}.Mail(), now)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateConversation(ctx, c, []string{c.RootMessageID}, created); err != nil {
			t.Fatal(err)
		}
		if change == nil {
			continue
		}
		// A change of two steps stores the second with the first's version
		// bump included: UpdateConversation wants exactly one.
		stored := c
		ev, err := change(&c)
		if err != nil {
			t.Fatal(err)
		}
		c.Version = stored.Version + 1
		ev.Version = c.Version
		if err := s.UpdateConversation(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
	}
	return inbox.Counts{Open: 2, Pending: 1, Closed: 1, Unassigned: 1,
		Assigned: map[string]int{"bob@acme.example": 1, "carol@acme.example": 1}}
}

func mustInboxCounts(t *testing.T, s *Store) inbox.Counts {
	t.Helper()
	got, err := s.InboxCounts(t.Context(), "acme.example", "support")
	if err != nil {
		t.Fatalf("InboxCounts: %v", err)
	}
	return got
}

// TestReconcileCountsRepairsDrift writes wrong counts behind the store's
// back (a bucket off by 5, an owner's bucket gone, one for an owner of no
// conversation) and checks that ReconcileCounts reports the drift, repairs
// it, and finds none the second time.
func TestReconcileCountsRepairsDrift(t *testing.T) {
	t.Parallel()
	s, _ := MustOpenTemp(t)
	want := seedCounts(t, s)
	if got := mustInboxCounts(t, s); !got.Equal(want) {
		t.Fatalf("InboxCounts before the drift = %+v, want %+v", got, want)
	}
	for _, stmt := range []string{
		`UPDATE inbox_counts SET n = n + 5 WHERE bucket = 'open'`,
		`DELETE FROM inbox_counts WHERE bucket = 'assigned:carol@acme.example'`,
		`INSERT INTO inbox_counts VALUES ('acme.example', 'support', 'assigned:ghost@acme.example', 3)`,
	} {
		if _, err := s.write.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	drifted := mustInboxCounts(t, s)
	if drifted.Equal(want) {
		t.Fatal("the drift did not show in InboxCounts")
	}
	r, err := s.ReconcileCounts(t.Context(), "acme.example", "support")
	if err != nil {
		t.Fatalf("ReconcileCounts: %v", err)
	}
	if !r.Drifted() || !r.Kept.Equal(drifted) || !r.Counted.Equal(want) {
		t.Errorf("ReconcileCounts = %+v, want kept %+v and counted %+v", r, drifted, want)
	}
	if got := mustInboxCounts(t, s); !got.Equal(want) {
		t.Errorf("InboxCounts after ReconcileCounts = %+v, want %+v", got, want)
	}
	if r, err := s.ReconcileCounts(t.Context(), "acme.example", "support"); err != nil || r.Drifted() {
		t.Errorf("second ReconcileCounts = %+v, %v; want no drift", r, err)
	}
}

// TestMigrate0005 takes a database back to schema 4 (no inbox_counts) with
// conversations in it and reopens it: the migration counts them.
func TestMigrate0005(t *testing.T) {
	t.Parallel()
	s, path := MustOpenTemp(t)
	want := seedCounts(t, s)
	rewind(t, s, 4)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if got := mustInboxCounts(t, s2); !got.Equal(want) {
		t.Errorf("InboxCounts after migrating = %+v, want %+v", got, want)
	}
}
