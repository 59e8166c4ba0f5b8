package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func roundTripCases() []testCase {
	return []testCase{
		{"Tenant", testRoundTripTenant},
		{"Inbox", testRoundTripInbox},
		{"Conversation", testRoundTripConversation},
		{"ConversationEmptyOptionals", testRoundTripConversationEmptyOptionals},
		{"Note", testRoundTripNote},
		{"TimePrecision", testRoundTripTimePrecision},
	}
}

// Times with sub-millisecond parts, to check that stores keep at least the
// millisecond (the suite compares truncated to it).
var (
	tFine1 = time.Date(2024, time.February, 29, 23, 59, 59, 987_654_321, time.UTC)
	tFine2 = time.Date(2025, time.December, 31, 0, 0, 0, 1_999_999, time.UTC)
	tFine3 = time.Date(2026, time.January, 1, 12, 30, 15, 500_000_001, time.UTC)
)

func testRoundTripTenant(t *testing.T, h Harness) {
	s := newStore(t, h)
	for _, want := range []inbox.Tenant{
		{Domain: "xn--mller-kva.example", Name: "Müller & Söhne – “Ünïcødé” 👍", CreatedAt: tFine1},
		{Domain: "bare.example"}, // no name, zero time
	} {
		if err := s.CreateTenant(t.Context(), want); err != nil {
			t.Fatalf("CreateTenant(%s): %v", want.Domain, err)
		}
		got, err := s.GetTenant(t.Context(), want.Domain)
		if err != nil {
			t.Fatalf("GetTenant(%s): %v", want.Domain, err)
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("GetTenant(%s) mismatch (-want +got):\n%s", want.Domain, diff)
		}
	}
}

func testRoundTripInbox(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	for _, want := range []inbox.Inbox{
		{
			TenantID: domainA,
			ID:       "support-de-2",
			Address:  "kundendienst+de@" + domainA,
			Name:     "Kundendienst 🇩🇪 \"DE\"",
			// Not sorted: the store keeps the given order.
			Members: []inbox.Member{
				{Email: "zoe@" + domainA, Name: "Zoë d'Arc", Role: inbox.RoleAgent},
				{Email: "adam@" + domainA, Role: inbox.RoleAdmin},
				{Email: "mia@" + domainA, Name: "Mia", Role: inbox.RoleAgent},
			},
			CreatedAt: tFine2,
		},
		{TenantID: domainA, ID: "empty", Address: "empty@" + domainA, Name: "No members"},
	} {
		if err := s.CreateInbox(t.Context(), want); err != nil {
			t.Fatalf("CreateInbox(%s): %v", want.ID, err)
		}
		got, err := s.GetInbox(t.Context(), domainA, want.ID)
		if err != nil {
			t.Fatalf("GetInbox(%s): %v", want.ID, err)
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("GetInbox(%s) mismatch (-want +got):\n%s", want.ID, diff)
		}
	}
}

// testRoundTripConversation sets every field, on create and on update, and
// reads it back through every read path.
func testRoundTripConversation(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created, err := inbox.NewConversation(f.ib,
		"<CAF=Xy+9_abc.DEF@mail.gmail.com>",
		"  Réclamation: facture n° 42 — “urgent” 🧾  ",
		"Jean-Luc Picard <JL.Picard@Enterprise.example>", "Jean-Luc Picard",
		tFine1, tFine2)
	if err != nil {
		t.Fatalf("NewConversation: %v", err)
	}
	// Tags out of order: the store keeps the given order.
	c.Tags = []string{"vip", "billing", "à traiter"}
	c.UpdatedBy = carol
	if err := f.s.CreateConversation(t.Context(), c, []string{c.RootMessageID}, created); err != nil {
		t.Fatalf("CreateConversation: %v", err)
	}
	check := func(t *testing.T, want inbox.Conversation, log ...inbox.Activity) {
		t.Helper()
		wantConversation(t, f.s, want)
		got, err := f.s.FindConversationByMessageID(t.Context(), domainA, want.RootMessageID)
		if err != nil {
			t.Fatalf("FindConversationByMessageID: %v", err)
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("FindConversationByMessageID mismatch (-want +got):\n%s", diff)
		}
		p, err := f.s.ListConversations(t.Context(), inbox.ConversationQuery{TenantID: domainA, InboxID: "support"})
		if err != nil {
			t.Fatalf("ListConversations: %v", err)
		}
		if diff := cmp.Diff([]inbox.Conversation{want}, p.Conversations, cmpOpts); diff != "" {
			t.Errorf("ListConversations mismatch (-want +got):\n%s", diff)
		}
		wantActivity(t, f.s, domainA, want.ID, log...)
	}
	check(t, c, created)

	// An update may rewrite every field but the keys.
	ev, err := c.Assign(f.ib, alice, "Bob@Acme.example", tFine3)
	if err != nil {
		t.Fatalf("Assign: %v", err)
	}
	c.Subject = "Re: " + c.Subject
	c.CustomerName = "J.-L. Picard"
	c.Status = inbox.StatusPending
	c.Tags = []string{"zzz", "aaa"}
	c.LastMessageAt = tFine3.Add(time.Hour)
	if err := f.s.UpdateConversation(t.Context(), c, ev); err != nil {
		t.Fatalf("UpdateConversation: %v", err)
	}
	if ev.Actor != alice || ev.From != "" || ev.To != bob || ev.Version != 2 {
		t.Fatalf("fixture: assign activity %+v lacks fields", ev)
	}
	check(t, c, ev, created)
}

func testRoundTripConversationEmptyOptionals(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created, err := inbox.NewConversation(f.ib, "<bare@mail.example>", "", "", "", t0, t0)
	if err != nil {
		t.Fatalf("NewConversation: %v", err)
	}
	if c.Customer != "" || c.CustomerName != "" || c.Assignee != "" || c.Tags != nil || c.UpdatedBy != "" {
		t.Fatalf("fixture: %+v has optional fields set", c)
	}
	if err := f.s.CreateConversation(t.Context(), c, []string{c.RootMessageID}, created); err != nil {
		t.Fatalf("CreateConversation: %v", err)
	}
	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, created)

	// Removing the last tag and the owner empties them again.
	mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) { return c.AddTag("", "x", t0) })
	mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) { return c.Assign(f.ib, "", bob, t0) })
	mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) { return c.RemoveTag("", "x", t0) })
	mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) { return c.Unassign("", t0) })
	if len(c.Tags) != 0 || c.Assignee != "" {
		t.Fatalf("fixture: %+v still has tags or an owner", c)
	}
	wantConversation(t, f.s, c)
}

func testRoundTripNote(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	n, err := inbox.NewNote(c, carol, "Line one\nLine two:\t“quoted” 🙂\n\n<b>not html</b> & more", tFine3)
	if err != nil {
		t.Fatalf("NewNote: %v", err)
	}
	if err := f.s.AddNote(t.Context(), n, c.NoteActivity(n)); err != nil {
		t.Fatalf("AddNote: %v", err)
	}
	got, err := f.s.ListNotes(t.Context(), domainA, c.ID, 10)
	if err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	if diff := cmp.Diff([]inbox.Note{n}, got, cmpOpts); diff != "" {
		t.Errorf("ListNotes mismatch (-want +got):\n%s", diff)
	}
}

// testRoundTripTimePrecision states the millisecond promise on its own, with
// a failure message that names it.
func testRoundTripTimePrecision(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created, err := inbox.NewConversation(f.ib, "<"+root(1)+">", "s", "", "", tFine1, tFine2)
	if err != nil {
		t.Fatalf("NewConversation: %v", err)
	}
	if err := f.s.CreateConversation(t.Context(), c, nil, created); err != nil {
		t.Fatalf("CreateConversation: %v", err)
	}
	got := mustGetConversation(t, f.s, domainA, c.ID)
	for _, tc := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, tFine1},
		{"LastMessageAt", got.LastMessageAt, tFine1},
		{"UpdatedAt", got.UpdatedAt, tFine2},
	} {
		if tc.got.UnixMilli() != tc.want.UnixMilli() {
			t.Errorf("%s = %s, want %s (to the millisecond)", tc.name, tc.got.Format(time.RFC3339Nano), tc.want.Format(time.RFC3339Nano))
		}
	}
}
