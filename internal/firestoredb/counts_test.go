package firestoredb

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// TestReconcileCountsRepairsDrift writes wrong shards behind the store's
// back (open off by 5, a shard for an owner of no conversation, carol's
// conversation missing from the shards while carol is no longer a member,
// so that only listing the conversations finds her) and checks that
// ReconcileCounts reports the drift, repairs it, and finds none the second
// time.
func TestReconcileCountsRepairsDrift(t *testing.T) {
	t.Parallel()
	s, _ := MustOpenFresh(t)
	ctx := t.Context()
	now := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	const domain, bob, carol = "acme.example", "bob@acme.example", "carol@acme.example"
	ib := inbox.Inbox{TenantID: domain, ID: "support", Address: "support@" + domain, Name: "Support",
		Members:  []inbox.Member{{Email: bob, Role: inbox.RoleAgent}, {Email: carol, Role: inbox.RoleAgent}},
		Settings: inbox.DefaultInboxSettings(), CreatedAt: now}
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: domain, Name: "Acme", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateInbox(ctx, ib); err != nil {
		t.Fatal(err)
	}
	for i, owner := range []string{"", bob, carol} {
		c, created, err := inbox.StartConversation(ib, inbox.Headers{
			MessageID: fmt.Sprintf("<m%d@customer.example>", i), From: "x@customer.example", To: ib.Address, Date: now,
		}.Mail(), now)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateConversation(ctx, c, []string{c.RootMessageID}, created); err != nil {
			t.Fatal(err)
		}
		if owner == "" {
			continue
		}
		ev, err := c.Assign(ib, owner, owner, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateConversation(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
	}
	want := inbox.Counts{Open: 3, Unassigned: 1, Assigned: map[string]int{bob: 1, carol: 1}}
	counts := func() inbox.Counts {
		t.Helper()
		got, err := s.InboxCounts(ctx, domain, "support")
		if err != nil {
			t.Fatalf("InboxCounts: %v", err)
		}
		return got
	}
	if got := counts(); !got.Equal(want) {
		t.Fatalf("InboxCounts before the drift = %+v, want %+v", got, want)
	}

	if _, err := s.UpdateInbox(ctx, domain, "support", func(ib *inbox.Inbox) error {
		ib.Members = slices.DeleteFunc(slices.Clone(ib.Members), func(m inbox.Member) bool { return m.Email == carol })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for k, data := range []map[string]any{
		{"inboxId": "support", "open": firestore.Increment(5)},
		{"inboxId": "support", "assigned": map[string]any{"ghost@acme.example": firestore.Increment(3)}},
		{"inboxId": "support", "assigned": map[string]any{carol: firestore.Increment(-1)}},
	} {
		if _, err := s.countsRef(domain, "support", k).Set(ctx, data, firestore.MergeAll); err != nil {
			t.Fatalf("write shard %d: %v", k, err)
		}
	}
	drifted := counts()
	if wantDrifted := (inbox.Counts{Open: 8, Unassigned: 1, Assigned: map[string]int{bob: 1, "ghost@acme.example": 3}}); !drifted.Equal(wantDrifted) {
		t.Fatalf("InboxCounts after the drift = %+v, want %+v", drifted, wantDrifted)
	}

	r, err := s.ReconcileCounts(ctx, domain, "support")
	if err != nil {
		t.Fatalf("ReconcileCounts: %v", err)
	}
	if !r.Drifted() || !r.Kept.Equal(drifted) || !r.Counted.Equal(want) {
		t.Errorf("ReconcileCounts = %+v, want kept %+v and counted %+v", r, drifted, want)
	}
	if got := counts(); !got.Equal(want) {
		t.Errorf("InboxCounts after ReconcileCounts = %+v, want %+v", got, want)
	}
	if r, err := s.ReconcileCounts(ctx, domain, "support"); err != nil || r.Drifted() {
		t.Errorf("second ReconcileCounts = %+v, %v; want no drift", r, err)
	}
}
