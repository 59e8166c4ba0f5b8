package storetest

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func roundTripCases() []testCase {
	return []testCase{
		{"Tenant", testRoundTripTenant},
		{"Inbox", testRoundTripInbox},
		{"InboxSettings", testRoundTripInboxSettings},
		{"Conversation", testRoundTripConversation},
		{"ConversationEmptyOptionals", testRoundTripConversationEmptyOptionals},
		{"Note", testRoundTripNote},
		{"Mailbox", testRoundTripMailbox},
		{"MailboxEmptyOptionals", testRoundTripMailboxEmptyOptionals},
		{"MailboxHistoryIDs", testRoundTripMailboxHistoryIDs},
		{"MailboxAccess", testRoundTripMailboxAccess},
		{"MailboxSealedToken", testRoundTripMailboxSealedToken},
		{"TimePrecision", testRoundTripTimePrecision},
	}
}

// Times with sub-millisecond parts, to check that stores keep at least the
// millisecond (the suite compares truncated to it).
var (
	tFine1 = time.Date(2024, time.February, 29, 23, 59, 59, 987_654_321, time.UTC)
	tFine2 = time.Date(2025, time.December, 31, 0, 0, 0, 1_999_999, time.UTC)
	tFine3 = time.Date(2026, time.January, 1, 12, 30, 15, 500_000_001, time.UTC)
	// Mailbox.ConsentStateExpires is kept to the microsecond.
	tMicro1 = time.Date(2026, time.March, 1, 12, 10, 0, 123_456_000, time.UTC)
	tMicro2 = time.Date(2026, time.March, 1, 12, 10, 0, 123_457_000, time.UTC)
)

func testRoundTripTenant(t *testing.T, h Harness) {
	s := newStore(t, h)
	for _, want := range []inbox.Tenant{
		{
			Domain: "xn--mller-kva.example", Name: "Müller & Söhne – “Ünïcødé” 👍", CreatedAt: tFine1,
			// Not sorted: the store keeps the given order.
			Admins: []string{"zoe@xn--mller-kva.example", "adam+it@xn--mller-kva.example", "o'brien@xn--mller-kva.example"},
		},
		{Domain: "bare.example"}, // no name, no admins, zero time
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

// testRoundTripInboxSettings: no settings, the defaults and custom ones
// come back as stored, through every read path.
func testRoundTripInboxSettings(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	var want []inbox.Inbox
	for _, tc := range []struct {
		id       string
		settings inbox.InboxSettings
	}{
		{"a-none", inbox.InboxSettings{}},
		{"b-default", inbox.DefaultInboxSettings()},
		{"c-custom", inbox.InboxSettings{ReplyStatus: inbox.StatusClosed, LabelPrefix: "Équipe 🙂 [Kundendienst] \"DE\""}},
		{"d-prefix-only", inbox.InboxSettings{LabelPrefix: "Helpdesk"}},
		{"e-german", inbox.InboxSettings{ReplyStatus: inbox.StatusPending, LabelPrefix: "Postfach", Language: "de"}},
		{"f-language-only", inbox.InboxSettings{Language: "en"}},
	} {
		ib := newInbox(domainA, tc.id, "Inbox "+tc.id)
		ib.Settings = tc.settings
		if err := s.CreateInbox(t.Context(), ib); err != nil {
			t.Fatalf("CreateInbox(%s): %v", tc.id, err)
		}
		got, err := s.GetInbox(t.Context(), domainA, tc.id)
		if err != nil {
			t.Fatalf("GetInbox(%s): %v", tc.id, err)
		}
		if diff := cmp.Diff(ib, got, cmpOpts); diff != "" {
			t.Errorf("GetInbox(%s) mismatch (-want +got):\n%s", tc.id, diff)
		}
		want = append(want, ib)
	}
	got, err := s.ListInboxes(t.Context(), domainA)
	if err != nil {
		t.Fatalf("ListInboxes: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("ListInboxes mismatch (-want +got):\n%s", diff)
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
	c.FirstResponseAt = tFine2
	if err := f.s.CreateConversation(t.Context(), c, []string{c.RootMessageID}, created); err != nil {
		t.Fatalf("CreateConversation: %v", err)
	}
	check := func(t *testing.T, want inbox.Conversation, log ...inbox.Activity) {
		t.Helper()
		wantConversation(t, f.s, want)
		wantFound(t, f.s, domainA, want.RootMessageID, want)
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
	c.FirstResponseAt = tFine2.Add(-time.Hour) // earlier: it wins (see TestUpdate MessageTimesMerge)
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
	if c.Customer != "" || c.CustomerName != "" || c.Assignee != "" || c.Tags != nil || c.UpdatedBy != "" || !c.FirstResponseAt.IsZero() {
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

// testRoundTripMailbox sets every field of a mailbox, history ids beyond
// the range of a signed 64-bit integer included, and reads it back through
// every read path, then rewrites every field.
func testRoundTripMailbox(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	want := inbox.Mailbox{
		Address:           "kundendienst+de@" + domainA,
		TenantID:          domainA,
		Kind:              inbox.MailboxShared,
		HistoryID:         1<<63 + 12345,
		NotifiedHistoryID: math.MaxUint64,
		Resync:            inbox.Resync{Start: 1<<63 + 7, Since: tFine2, After: "18f3a9c0d1e2 “x”\n"},
		WatchExpiration:   tFine1,
		Labels: map[string]string{
			"Postfach/Kundendienst 🇩🇪/Open": "Label_12",
			"Postfach/Kundendienst 🇩🇪/Mine": "Label_13",
			"we\"ird\\name\n":               "Label_99",
		},
		Access:      inbox.AccessOAuth,
		SealedToken: []byte{0, 1, 2, 0xfe, 0xff, '"', '\\', 0, 'v', '1'},
		ConnectedBy: "zoë+admin@" + domainA,
		LeaseHolder: "instance-7f3a",
		LeaseUntil:  tFine3,
		LastSyncAt:  tFine2,
		LastError:   "gmail: 429 “rate limited”\nretry later",
		Problem:     inbox.ProblemConsentRevoked,
		ErrorCount:  17,
		CreatedAt:   tFine1,

		ConsentStateExpires: tMicro1,
	}
	mustCreateMailbox(t, s, want)
	check := func(t *testing.T, want inbox.Mailbox) {
		t.Helper()
		wantMailbox(t, s, want)
		got, err := s.ListMailboxes(t.Context(), domainA)
		wantMailboxes(t, "ListMailboxes", got, err, want)
		// The suite compares times to the millisecond; this one must
		// come back to the microsecond.
		if m, err := s.GetMailbox(t.Context(), want.Address); err != nil || !m.ConsentStateExpires.Equal(want.ConsentStateExpires) {
			t.Errorf("GetMailbox: ConsentStateExpires = %v (%v), want %v", m.ConsentStateExpires, err, want.ConsentStateExpires)
		}
		for _, m := range got {
			if !m.ConsentStateExpires.Equal(want.ConsentStateExpires) {
				t.Errorf("ListMailboxes: ConsentStateExpires = %v, want %v", m.ConsentStateExpires, want.ConsentStateExpires)
			}
		}
		later := tFine3.Add(24 * time.Hour)
		got, err = s.ListMailboxesWatchExpiringBefore(t.Context(), later, 10)
		wantMailboxes(t, "ListMailboxesWatchExpiringBefore", got, err, want)
		got, err = s.ListMailboxesSyncedBefore(t.Context(), later, 10)
		wantMailboxes(t, "ListMailboxesSyncedBefore", got, err, want)
	}
	check(t, want)

	// An update that changes nothing returns the stored mailbox.
	got, err := s.UpdateMailbox(t.Context(), want.Address, func(*inbox.Mailbox) error { return nil })
	if err != nil {
		t.Fatalf("UpdateMailbox(no change): %v", err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("UpdateMailbox(no change) returned (-want +got):\n%s", diff)
	}
	check(t, want)

	// An update may rewrite every field but the keys.
	want.Kind = inbox.MailboxMember
	want.HistoryID = 1 << 63
	want.NotifiedHistoryID = 1<<63 - 1
	want.Resync = inbox.Resync{} // a resync done
	want.WatchExpiration = tFine2
	want.Labels = map[string]string{"Helpdesk/Inbox/Closed": "Label_1"}
	want.SealedToken = []byte("another sealed token, longer than the first one")
	want.ConnectedBy = carol
	want.LeaseHolder, want.LeaseUntil = "instance-0001", tFine1
	want.LastSyncAt = tFine3
	want.LastError, want.Problem, want.ErrorCount = "", "", 0
	want.CreatedAt = tFine2
	want.ConsentStateExpires = tMicro2
	rewritten := mustUpdateMailbox(t, s, want.Address, func(m *inbox.Mailbox) error {
		*m = want
		m.Labels = map[string]string{"Helpdesk/Inbox/Closed": "Label_1"}
		m.SealedToken = slices.Clone(want.SealedToken)
		return nil
	})
	if diff := cmp.Diff(want, rewritten, cmpOpts); diff != "" {
		t.Errorf("UpdateMailbox(every field) returned (-want +got):\n%s", diff)
	}
	check(t, want)
}

// testRoundTripMailboxEmptyOptionals: a mailbox with nothing but its keys
// comes back so, and emptying its map, token and texts empties them.
func testRoundTripMailboxEmptyOptionals(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	want := inbox.Mailbox{Address: "bob@" + domainA, TenantID: domainA, Kind: inbox.MailboxMember}
	mustCreateMailbox(t, s, want)
	wantMailbox(t, s, want)

	mustUpdateMailbox(t, s, want.Address, func(m *inbox.Mailbox) error {
		m.Labels = map[string]string{"x": "y"}
		m.Access, m.SealedToken, m.ConnectedBy = inbox.AccessOAuth, []byte("sealed"), bob
		m.ConsentStateExpires = tMicro1
		return nil
	})
	got := mustUpdateMailbox(t, s, want.Address, func(m *inbox.Mailbox) error {
		m.Labels = map[string]string{}
		m.Access, m.SealedToken, m.ConnectedBy = "", []byte{}, ""
		m.ConsentStateExpires = time.Time{}
		return nil
	})
	if len(got.Labels) != 0 || len(got.SealedToken) != 0 || got.Access != "" || got.ConnectedBy != "" || !got.ConsentStateExpires.IsZero() {
		t.Errorf("after emptying: labels %v, token %q, access %q, connected by %q, consent state %v; want none",
			got.Labels, got.SealedToken, got.Access, got.ConnectedBy, got.ConsentStateExpires)
	}
	wantMailbox(t, s, want)
}

// testRoundTripMailboxAccess: every access mode comes back as stored,
// through every read path, and may change on update.
func testRoundTripMailboxAccess(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	var want []inbox.Mailbox
	for i, access := range []inbox.MailboxAccess{"", inbox.AccessDelegation, inbox.AccessOAuth, inbox.AccessDev} {
		m := newMailbox(domainA, fmt.Sprintf("m%d", i), inbox.MailboxMember)
		m.Access = access
		m.ConnectedBy = alice
		if access == inbox.AccessOAuth {
			m.SealedToken = []byte("sealed")
		}
		want = append(want, mustCreateMailbox(t, s, m))
		wantMailbox(t, s, m)
	}
	got, err := s.ListMailboxes(t.Context(), domainA)
	wantMailboxes(t, "ListMailboxes", got, err, want...)

	// The owner revokes the consent; the admin delegates instead.
	m := want[2]
	m.Access, m.SealedToken, m.ConnectedBy = inbox.AccessDelegation, nil, carol
	mustUpdateMailbox(t, s, m.Address, func(mb *inbox.Mailbox) error {
		mb.Access, mb.SealedToken, mb.ConnectedBy = inbox.AccessDelegation, nil, carol
		return nil
	})
	wantMailbox(t, s, m)
}

// testRoundTripMailboxSealedToken: the sealed token is opaque bytes, kept
// bit for bit whatever they are (every byte value, NULs and invalid UTF-8
// included, a few KiB long) through every read path.
func testRoundTripMailboxSealedToken(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	var want []inbox.Mailbox
	every := make([]byte, 0, 512)
	for i := range 256 {
		every = append(every, byte(i), byte(255-i))
	}
	long := make([]byte, 8<<10)
	for i := range long {
		long[i] = byte(i*7 + i>>8)
	}
	for i, token := range [][]byte{
		every,
		long,
		{0},
		{0xff, 0xfe, 0xfd},
		[]byte("\xc3\x28 not UTF-8 \x00 after a NUL"),
	} {
		m := newMailbox(domainA, fmt.Sprintf("m%d", i), inbox.MailboxMember)
		m.Access = inbox.AccessOAuth
		m.SealedToken = slices.Clone(token)
		mustCreateMailbox(t, s, m)
		got, err := s.GetMailbox(t.Context(), m.Address)
		if err != nil {
			t.Fatalf("GetMailbox: %v", err)
		}
		if !bytes.Equal(got.SealedToken, token) {
			t.Errorf("token %d: stored %d bytes %x…, read back %d bytes %x…", i, len(token), token[:min(16, len(token))], len(got.SealedToken), got.SealedToken[:min(16, len(got.SealedToken))])
		}
		wantMailbox(t, s, m)
		// Rewritten reversed, through the read-modify-write.
		reversed := slices.Clone(token)
		slices.Reverse(reversed)
		m.SealedToken = reversed
		mustUpdateMailbox(t, s, m.Address, func(mb *inbox.Mailbox) error {
			mb.SealedToken = slices.Clone(reversed)
			return nil
		})
		wantMailbox(t, s, m)
		want = append(want, m)
	}
	got, err := s.ListMailboxes(t.Context(), domainA)
	wantMailboxes(t, "ListMailboxes", got, err, want...)
}

// testRoundTripMailboxHistoryIDs: history ids are uint64 over their whole
// range; a store whose integers are signed must not lose the top bit.
func testRoundTripMailboxHistoryIDs(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	m := mustCreateMailbox(t, s, newMailbox(domainA, "bob", inbox.MailboxMember))
	for _, id := range []uint64{
		0, 1, 1<<31 - 1, 1 << 31, 1<<32 + 1, 1<<53 + 1, 1<<63 - 1,
		1 << 63, 1<<63 + 1, math.MaxUint64 - 1, math.MaxUint64,
	} {
		// The complement puts the other end of the range in the other field.
		mustUpdateMailbox(t, s, m.Address, func(m *inbox.Mailbox) error {
			m.HistoryID, m.NotifiedHistoryID = id, ^id
			return nil
		})
		got, err := s.GetMailbox(t.Context(), m.Address)
		if err != nil {
			t.Fatalf("GetMailbox: %v", err)
		}
		if got.HistoryID != id || got.NotifiedHistoryID != ^id {
			t.Errorf("stored history ids %d and %d, read back %d and %d", id, ^id, got.HistoryID, got.NotifiedHistoryID)
		}
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
	c.FirstResponseAt = tFine3
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
		{"FirstResponseAt", got.FirstResponseAt, tFine3},
	} {
		if tc.got.UnixMilli() != tc.want.UnixMilli() {
			t.Errorf("%s = %s, want %s (to the millisecond)", tc.name, tc.got.Format(time.RFC3339Nano), tc.want.Format(time.RFC3339Nano))
		}
	}
}
