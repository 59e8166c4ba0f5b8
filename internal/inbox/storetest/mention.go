package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func mentionCases() []testCase {
	return []testCase{
		{"AddList", testMentionAddList},
		{"Order", testMentionOrder},
		{"Limit", testMentionLimit},
		{"UnreadOnly", testMentionUnreadOnly},
		{"TenantWall", testMentionTenantWall},
		{"RecipientWall", testMentionRecipientWall},
		{"MarkRead", testMentionMarkRead},
		{"MarkReadTooMany", testMentionMarkReadTooMany},
		{"Reopen", testMentionReopen},
	}
}

// mustAddNoteMentioning stores a note of author that names mentions (lower
// case, sorted, as Inbox.Mentions returns them) with its activity entry.
func mustAddNoteMentioning(t *testing.T, s inbox.Store, c inbox.Conversation, author, body string, at time.Time, mentions ...string) (inbox.Note, inbox.Activity) {
	t.Helper()
	n, err := inbox.NewNote(c, author, body, at)
	if err != nil {
		t.Fatalf("NewNote: %v", err)
	}
	n.Mentions = mentions
	ev := c.NoteActivity(n)
	if err := s.AddNote(t.Context(), n, ev); err != nil {
		t.Fatalf("AddNote(mentioning %v): %v", mentions, err)
	}
	return n, ev
}

// mustListMentions lists recipient's mentions.
func mustListMentions(t *testing.T, s inbox.Store, tenantID, recipient string, unreadOnly bool, limit int) []inbox.Mention {
	t.Helper()
	got, err := s.ListMentions(t.Context(), tenantID, recipient, unreadOnly, limit)
	if err != nil {
		t.Fatalf("ListMentions(%s, %s, unread only %t, %d): %v", tenantID, recipient, unreadOnly, limit, err)
	}
	return got
}

// wantMentions fails unless ListMentions (limit 100) returns exactly want,
// in order; with unreadOnly, unread ones only.
func wantMentions(t *testing.T, s inbox.Store, tenantID, recipient string, unreadOnly bool, want ...inbox.Mention) {
	t.Helper()
	got := mustListMentions(t, s, tenantID, recipient, unreadOnly, 100)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("ListMentions(%s, %s, unread only %t) mismatch (-want +got):\n%s", tenantID, recipient, unreadOnly, diff)
	}
}

// mustMarkRead marks recipient's mentions of noteIDs read and fails unless
// it reports want changed.
func mustMarkRead(t *testing.T, s inbox.Store, tenantID, recipient string, noteIDs []string, at time.Time, want int) {
	t.Helper()
	n, err := s.MarkMentionsRead(t.Context(), tenantID, recipient, noteIDs, at)
	if err != nil {
		t.Fatalf("MarkMentionsRead(%s, %s, %v): %v", tenantID, recipient, noteIDs, err)
	}
	if n != want {
		t.Errorf("MarkMentionsRead(%s, %s, %v) changed %d, want %d", tenantID, recipient, noteIDs, n, want)
	}
}

// readMention returns m as MarkMentionsRead leaves it.
func readMention(m inbox.Mention, at time.Time) inbox.Mention {
	m.ReadAt = at
	return m
}

// testMentionAddList: a note naming members gives each a Mention with the
// conversation's inbox and subject, the start of the note and its time,
// unread; the author and members it does not name get none. The note
// keeps its Mentions.
func testMentionAddList(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	body := "@bob @carol please call the customer back: " + strings.Repeat("they wrote twice about the refund. ", 10)
	n, noted := mustAddNoteMentioning(t, f.s, c, alice, body, t0.Add(time.Minute), bob, carol)

	for _, r := range []string{bob, carol} {
		m := inbox.NewMention(c, n, r)
		if m.InboxID != f.ib.ID || m.Subject != c.Subject || m.Author != alice || !m.At.Equal(n.CreatedAt) || len([]rune(m.Excerpt)) != inbox.MaxExcerpt || !m.Unread() {
			t.Fatalf("fixture: NewMention = %+v", m)
		}
		wantMentions(t, f.s, domainA, r, false, m)
		wantMentions(t, f.s, domainA, r, true, m)
	}
	wantMentions(t, f.s, domainA, alice, false)
	got, err := f.s.ListNotes(t.Context(), domainA, c.ID, 10)
	if err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	if diff := cmp.Diff([]inbox.Note{n}, got, cmpOpts); diff != "" {
		t.Errorf("ListNotes mismatch (-want +got):\n%s", diff)
	}
	wantActivity(t, f.s, domainA, c.ID, noted, created)

	// A note that does not validate (a mention that is no lower-case
	// address) is refused whole: no note, no entry, no mention.
	bad, err := inbox.NewNote(c, alice, "@Dave", t0.Add(2*time.Minute))
	if err != nil {
		t.Fatalf("NewNote: %v", err)
	}
	bad.Mentions = []string{"Dave@acme.example"}
	wantErr(t, "AddNote(mention not lower case)", f.s.AddNote(t.Context(), bad, c.NoteActivity(bad)), inbox.ErrInvalid)
	wantMentions(t, f.s, domainA, "Dave@acme.example", false)
	wantMentions(t, f.s, domainA, "dave@acme.example", false)
	wantNotes(t, f.s, domainA, c.ID, n)
	wantActivity(t, f.s, domainA, c.ID, noted, created)
}

// testMentionOrder: newest At first; mentions of the same instant by note
// id, descending, whatever the order they were written in.
func testMentionOrder(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c1, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	c2, _ := mustCreateConversation(t, f.s, f.ib, root(2), t0)
	var want []inbox.Mention
	for i, m := range []int{3, 1, 5, 3, 2, 3} {
		c := []inbox.Conversation{c1, c2}[i%2]
		n, _ := mustAddNoteMentioning(t, f.s, c, alice, fmt.Sprintf("note %d", i), t0.Add(time.Duration(m)*time.Minute), bob)
		want = append(want, inbox.NewMention(c, n, bob))
	}
	slices.SortFunc(want, func(a, b inbox.Mention) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(b.NoteID, a.NoteID)
	})
	wantMentions(t, f.s, domainA, bob, false, want...)
	wantMentions(t, f.s, domainA, bob, true, want...)
}

// testMentionLimit: ≤ 0 lists 20, a limit lists that many of the newest,
// and no call lists more than 100.
func testMentionLimit(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	const stored = 103
	var newest []inbox.Mention
	for i := range stored {
		n, _ := mustAddNoteMentioning(t, f.s, c, alice, fmt.Sprintf("note %d", i), t0.Add(time.Duration(i+1)*time.Second), bob)
		newest = append([]inbox.Mention{inbox.NewMention(c, n, bob)}, newest...)
	}
	for _, tc := range []struct {
		limit, want int
	}{{-1, 20}, {0, 20}, {1, 1}, {7, 7}, {100, 100}, {101, 100}, {1000, 100}} {
		for _, unread := range []bool{false, true} {
			got := mustListMentions(t, f.s, domainA, bob, unread, tc.limit)
			if diff := cmp.Diff(newest[:tc.want], got, cmpOpts); diff != "" {
				t.Errorf("ListMentions(limit %d, unread only %t): got %d mentions, want the newest %d (-want +got):\n%s", tc.limit, unread, len(got), tc.want, diff)
			}
		}
	}
}

// testMentionUnreadOnly: unreadOnly leaves out what was read, in the same
// order, and its limit counts unread mentions only.
func testMentionUnreadOnly(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	var all []inbox.Mention // newest first
	for i := range 6 {
		n, _ := mustAddNoteMentioning(t, f.s, c, alice, fmt.Sprintf("note %d", i), t0.Add(time.Duration(i+1)*time.Minute), bob)
		all = append([]inbox.Mention{inbox.NewMention(c, n, bob)}, all...)
	}
	readAt := t0.Add(time.Hour)
	mustMarkRead(t, f.s, domainA, bob, []string{all[0].NoteID, all[2].NoteID, all[3].NoteID}, readAt, 3)
	for _, i := range []int{0, 2, 3} {
		all[i] = readMention(all[i], readAt)
	}
	wantMentions(t, f.s, domainA, bob, false, all...)
	wantMentions(t, f.s, domainA, bob, true, all[1], all[4], all[5])
	got := mustListMentions(t, f.s, domainA, bob, true, 2)
	if diff := cmp.Diff([]inbox.Mention{all[1], all[4]}, got, cmpOpts); diff != "" {
		t.Errorf("ListMentions(unread only, limit 2) (-want +got):\n%s", diff)
	}
}

// testMentionTenantWall: mentions are the tenant's. The same address
// named in another tenant is another list, and marking through another
// tenant changes nothing.
func testMentionTenantWall(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	ibB := mustCreateInbox(t, f.s, domainB, "support", "Support")
	cA, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	cB, _ := mustCreateConversation(t, f.s, ibB, root(1), t0) // the same id in tenant B
	nA, _ := mustAddNoteMentioning(t, f.s, cA, alice, "for carol in A", t0.Add(time.Minute), carol)
	mA := inbox.NewMention(cA, nA, carol)

	wantMentions(t, f.s, domainB, carol, false)
	mustMarkRead(t, f.s, domainB, carol, []string{nA.ID}, t0.Add(time.Hour), 0)
	wantMentions(t, f.s, domainA, carol, true, mA)

	nB, _ := mustAddNoteMentioning(t, f.s, cB, "alice@"+domainB, "for carol in B", t0.Add(2*time.Minute), carol)
	mB := inbox.NewMention(cB, nB, carol)
	wantMentions(t, f.s, domainA, carol, false, mA)
	wantMentions(t, f.s, domainB, carol, false, mB)
	mustMarkRead(t, f.s, domainB, carol, []string{nA.ID, nB.ID}, t0.Add(time.Hour), 1)
	wantMentions(t, f.s, domainA, carol, false, mA)
	wantMentions(t, f.s, domainB, carol, false, readMention(mB, t0.Add(time.Hour)))
}

// testMentionRecipientWall: a member lists and marks only their own
// mentions.
func testMentionRecipientWall(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	toBob, _ := mustAddNoteMentioning(t, f.s, c, alice, "for bob", t0.Add(time.Minute), bob)
	both, _ := mustAddNoteMentioning(t, f.s, c, alice, "for both", t0.Add(2*time.Minute), bob, carol)

	mustMarkRead(t, f.s, domainA, carol, []string{toBob.ID, both.ID}, t0.Add(time.Hour), 1)
	wantMentions(t, f.s, domainA, carol, false, readMention(inbox.NewMention(c, both, carol), t0.Add(time.Hour)))
	wantMentions(t, f.s, domainA, bob, true, inbox.NewMention(c, both, bob), inbox.NewMention(c, toBob, bob))
	wantMentions(t, f.s, domainA, alice, false)
	mustMarkRead(t, f.s, domainA, alice, []string{toBob.ID, both.ID}, t0.Add(time.Hour), 0)
}

// testMentionMarkRead: the count is of mentions changed; marking again
// changes nothing and keeps the first ReadAt; ids without a mention of the
// recipient (unknown, the same id twice) are skipped; no ids is no change.
func testMentionMarkRead(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	var ms []inbox.Mention // oldest first
	for i := range 3 {
		n, _ := mustAddNoteMentioning(t, f.s, c, alice, fmt.Sprintf("note %d", i), t0.Add(time.Duration(i+1)*time.Minute), bob)
		ms = append(ms, inbox.NewMention(c, n, bob))
	}
	first, second := t0.Add(time.Hour), t0.Add(2*time.Hour)
	mustMarkRead(t, f.s, domainA, bob, nil, first, 0)
	mustMarkRead(t, f.s, domainA, bob, []string{ms[0].NoteID, "no-such-note", ms[0].NoteID}, first, 1)
	mustMarkRead(t, f.s, domainA, bob, []string{ms[0].NoteID, ms[2].NoteID}, second, 1)
	mustMarkRead(t, f.s, domainA, bob, []string{ms[0].NoteID, ms[2].NoteID}, second, 0)
	wantMentions(t, f.s, domainA, bob, false, readMention(ms[2], second), ms[1], readMention(ms[0], first))
	wantMentions(t, f.s, domainA, bob, true, ms[1])
}

// testMentionMarkReadTooMany: more than 100 ids is ErrInvalid and marks
// nothing; 100 is allowed.
func testMentionMarkReadTooMany(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	n, _ := mustAddNoteMentioning(t, f.s, c, alice, "for bob", t0.Add(time.Minute), bob)
	m := inbox.NewMention(c, n, bob)
	ids := []string{n.ID}
	for i := range 100 {
		ids = append(ids, fmt.Sprintf("unknown-%d", i))
	}
	_, err := f.s.MarkMentionsRead(t.Context(), domainA, bob, ids, t0.Add(time.Hour))
	wantErr(t, "MarkMentionsRead(101 ids)", err, inbox.ErrInvalid)
	wantMentions(t, f.s, domainA, bob, true, m)
	mustMarkRead(t, f.s, domainA, bob, ids[:100], t0.Add(time.Hour), 1)
	wantMentions(t, f.s, domainA, bob, false, readMention(m, t0.Add(time.Hour)))
}

// testMentionReopen: a note's Mentions and EditedAt and a mention's ReadAt
// are kept: a second store over the same backend reads them.
func testMentionReopen(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("Harness.Reopen is nil: this backend cannot open a second store over the same data")
	}
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	n, _ := mustAddNoteMentioning(t, f.s, c, alice, "@bob first", t0.Add(time.Minute), bob)
	edited, _ := mustEditNote(t, f.s, n, "@bob @carol second", []string{carol}, t0.Add(2*time.Minute))
	readAt := t0.Add(time.Hour)
	mustMarkRead(t, f.s, domainA, bob, []string{n.ID}, readAt, 1)

	s2 := h.Reopen(t, f.s)
	got, err := s2.GetNote(t.Context(), domainA, c.ID, n.ID)
	if err != nil {
		t.Fatalf("GetNote after reopen: %v", err)
	}
	if diff := cmp.Diff(edited, got, cmpOpts); diff != "" {
		t.Errorf("GetNote after reopen (-want +got):\n%s", diff)
	}
	wantNotes(t, s2, domainA, c.ID, edited)
	wantRecent(t, s2, domainA, c.ID)
	wantMentions(t, s2, domainA, bob, false, readMention(inbox.NewMention(c, n, bob), readAt))
	wantMentions(t, s2, domainA, carol, false, inbox.NewMention(c, edited, carol))
}
