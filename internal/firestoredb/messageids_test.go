package firestoredb

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// TestMigrateMessageIDs: conversations written before the Message-ID
// index existed (their mids only, no entries, no marker) get their entries
// when the store opens again, across pages (501 conversations, pages of
// 500), an id in two inboxes with both; and the index then guards as it
// does for new mail: a conversation created afterwards is not given an id
// another conversation of its inbox holds.
func TestMigrateMessageIDs(t *testing.T) {
	t.Parallel()
	old, ns := MustOpenFresh(t)
	ctx := t.Context()
	const tenant = "acme.example"
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := old.CreateTenant(ctx, inbox.Tenant{Domain: tenant, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	var ibs []inbox.Inbox
	for _, id := range []string{"support", "sales"} {
		ib := inbox.Inbox{TenantID: tenant, ID: id, Address: id + "@" + tenant, Name: id,
			Members: []inbox.Member{{Email: "bob@" + tenant, Role: inbox.RoleAgent}}, CreatedAt: now}
		if err := old.CreateInbox(ctx, ib); err != nil {
			t.Fatal(err)
		}
		ibs = append(ibs, ib)
	}
	create := func(s *Store, ib inbox.Inbox, root string, ids ...string) (inbox.Conversation, error) {
		c, ev, err := inbox.NewConversation(ib, "<"+root+">", "Subject", "Customer <c@example.org>", "Customer", now, now)
		if err != nil {
			t.Fatal(err)
		}
		return c, s.CreateConversation(ctx, c, append([]string{root}, ids...), ev)
	}
	want := map[string]map[string]string{} // Message-ID → inbox → conversation
	for i := range 501 {
		root := fmt.Sprintf("m%d@customer.example", i)
		c, err := create(old, ibs[0], root)
		if err != nil {
			t.Fatal(err)
		}
		want[root] = map[string]string{"support": c.ID}
	}
	c, err := create(old, ibs[1], "m0@customer.example")
	if err != nil {
		t.Fatal(err)
	}
	want["m0@customer.example"]["sales"] = c.ID
	// Back to before the index: no entries, no marker.
	entries, err := old.query(ctx, nil, querySpec{coll: old.tenantRef(tenant).Collection(collMessageIDs)})
	if err != nil || len(entries) < 501 {
		t.Fatalf("index entries written: %d, %v; want one per Message-ID", len(entries), err)
	}
	for _, e := range entries {
		if _, err := e.Ref.Delete(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.collection(collSchema).Doc(collMessageIDs).Delete(ctx); err != nil {
		t.Fatal(err)
	}

	s := MustOpen(t, ns)
	for id, convs := range want {
		snap, err := s.get(ctx, nil, s.midRef(tenant, midHash(id)))
		if err != nil {
			t.Fatalf("entry of %s after the migration: %v", id, err)
		}
		var d midDoc
		if err := snap.DataTo(&d); err != nil || !maps.Equal(d.Convs, convs) {
			t.Fatalf("entry of %s = %v, %v; want %v", id, d.Convs, err, convs)
		}
	}
	// The guard: m1 belongs to the conversation it started, so a new
	// conversation of support that also names m1 indexes only its own id.
	n, err := create(s, ibs[0], "new@customer.example", "m1@customer.example")
	if err != nil {
		t.Fatal(err)
	}
	found, err := s.FindConversationsByMessageID(ctx, tenant, "m1@customer.example")
	if err != nil || len(found) != 1 || found[0].ID != want["m1@customer.example"]["support"] {
		t.Fatalf("m1 is indexed to %v, %v; want only %s (not the new %s)", found, err, want["m1@customer.example"]["support"], n.ID)
	}
	if _, err := create(s, ibs[0], "m2@customer.example"); !errors.Is(err, inbox.ErrAlreadyExists) {
		t.Fatalf("a second conversation started by m2 = %v, want ErrAlreadyExists", err)
	}

	// A deploy: an instance of the earlier version writes a conversation
	// without its entry after the build. Until the index is built again
	// the lookup queries the conversations, so it finds it.
	late, err := create(old, ibs[1], "late@customer.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.midRef(tenant, midHash("late@customer.example")).Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if s.midsComplete.Load() {
		t.Fatal("the index is trusted right after its first build on a database with tenants")
	}
	findLate := func(s *Store, how string) {
		t.Helper()
		found, err := s.FindConversationsByMessageID(ctx, tenant, "<late@customer.example>")
		if err != nil || len(found) != 1 || found[0].ID != late.ID {
			t.Fatalf("%s: the conversation written without its entry is found as %v, %v; want %s", how, found, err, late.ID)
		}
	}
	findLate(s, "before the second build")
	if !queriesMids(s) {
		t.Fatal("the lookup before the second build did not query the mids")
	}
	// Within midRecheck of the first build an open builds nothing more.
	if err := s.migrateMessageIDs(ctx); err != nil || s.midsComplete.Load() {
		t.Fatalf("an open right after the first build: %v, trusted %v; want nothing done", err, s.midsComplete.Load())
	}
	// Past it, the next open builds the index again and trusts it; so
	// does every open after that, and the lookup then reads by key.
	s.midRecheck = 0
	if err := s.migrateMessageIDs(ctx); err != nil || !s.midsComplete.Load() {
		t.Fatalf("the second build: %v, trusted %v; want trusted", err, s.midsComplete.Load())
	}
	later := MustOpen(t, ns)
	if !later.midsComplete.Load() {
		t.Fatal("a store opened after the second build does not trust the index")
	}
	findLate(later, "after the second build")
	for id, convs := range want {
		found, err := later.FindConversationsByMessageID(ctx, tenant, id)
		if err != nil || len(found) != len(convs) {
			t.Fatalf("%s is found as %v, %v; want %v", id, found, err, convs)
		}
		for _, c := range found {
			if convs[c.InboxID] != c.ID {
				t.Fatalf("%s is found in %s as %s, want %s", id, c.InboxID, c.ID, convs[c.InboxID])
			}
		}
	}
	if found, err := later.FindConversationsByMessageID(ctx, tenant, "never@customer.example"); err != nil || len(found) != 0 {
		t.Fatalf("an unknown id is found as %v, %v; want nothing", found, err)
	}
	if queriesMids(later) {
		t.Fatal("the lookup queried the mids although the index is complete")
	}
}

// TestFreshDatabaseTrustsTheIndex: a database opened without tenants
// has nothing an earlier version wrote, so its lookups read the
// Message-ID index by key from the start.
func TestFreshDatabaseTrustsTheIndex(t *testing.T) {
	t.Parallel()
	s, ns := MustOpenFresh(t)
	if !s.midsComplete.Load() || !MustOpen(t, ns).midsComplete.Load() {
		t.Fatal("a fresh database does not trust its Message-ID index")
	}
}

// queriesMids says whether s has queried the conversations' mids.
func queriesMids(s *Store) bool {
	for _, sh := range s.recordedShapes() {
		if slices.Contains(sh.Equality, fieldMids+" CONTAINS") {
			return true
		}
	}
	return false
}
