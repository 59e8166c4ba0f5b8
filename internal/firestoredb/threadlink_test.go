package firestoredb

import (
	"fmt"
	"slices"
	"testing"

	"github.com/postfach/postfach/internal/inbox"
)

// TestMigrateThreadLinks: links stored in the first layout (one top-level
// collection, queried) are found by both lookups once the store opens
// again, in pages (250 links, pages of 200), with two conversations on one
// thread kept apart; the old documents are gone.
func TestMigrateThreadLinks(t *testing.T) {
	t.Parallel()
	old, ns := MustOpenFresh(t)
	ctx := t.Context()
	var want []inbox.ThreadLink
	for i := range 249 {
		want = append(want, inbox.ThreadLink{TenantID: "acme.example", ConversationID: fmt.Sprintf("c%d", i), Mailbox: fmt.Sprintf("m%d@acme.example", i%3), ThreadID: fmt.Sprintf("t%d", i)})
	}
	// A mail to two inboxes: one thread, two conversations.
	want = append(want, inbox.ThreadLink{TenantID: "acme.example", ConversationID: "c-other", Mailbox: "m0@acme.example", ThreadID: "t0"})
	for _, l := range want {
		if _, err := old.collection(collOldThreadLinks).Doc(hashID(l.TenantID, l.ConversationID, l.Mailbox, l.ThreadID)).Set(ctx, linkDoc(l)); err != nil {
			t.Fatal(err)
		}
	}

	s := MustOpen(t, ns)
	for _, l := range want {
		got, err := s.ListThreadLinks(ctx, l.TenantID, l.ConversationID)
		if err != nil || !slices.Equal(got, []inbox.ThreadLink{l}) {
			t.Fatalf("ListThreadLinks(%s) = %v, %v; want [%v]", l.ConversationID, got, err, l)
		}
	}
	got, err := s.FindThreadLinks(ctx, "m0@acme.example", "t0")
	if err != nil || !slices.Equal(got, []inbox.ThreadLink{want[len(want)-1], want[0]}) {
		t.Fatalf("FindThreadLinks(m0, t0) = %v, %v; want %v and %v (by conversation)", got, err, want[len(want)-1], want[0])
	}
	got, err = s.FindThreadLinks(ctx, "m1@acme.example", "t1")
	if err != nil || !slices.Equal(got, []inbox.ThreadLink{want[1]}) {
		t.Fatalf("FindThreadLinks(m1, t1) = %v, %v; want [%v]", got, err, want[1])
	}
	left, err := s.query(ctx, nil, querySpec{coll: s.collection(collOldThreadLinks)})
	if err != nil || len(left) != 0 {
		t.Fatalf("old thread links left after the move: %d, %v", len(left), err)
	}
}
