package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func threadLinkCases() []testCase {
	return []testCase{
		{"PutList", testThreadLinkPutList},
		{"Idempotent", testThreadLinkIdempotent},
		{"Find", testThreadLinkFind},
		{"FindNone", testThreadLinkFindNone},
		{"Invalid", testThreadLinkInvalid},
		{"TenantIsolation", testThreadLinkTenantIsolation},
	}
}

// mustPutThreadLink stores l.
func mustPutThreadLink(t *testing.T, s inbox.Store, l inbox.ThreadLink) {
	t.Helper()
	if err := s.PutThreadLink(t.Context(), l); err != nil {
		t.Fatalf("PutThreadLink(%+v): %v", l, err)
	}
}

// wantLinks fails unless a listing returned exactly want, in order.
func wantLinks(t *testing.T, op string, got []inbox.ThreadLink, err error, want ...inbox.ThreadLink) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", op, err)
		return
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", op, diff)
	}
}

// wantThreadLinks fails unless the conversation's links are exactly want,
// in order.
func wantThreadLinks(t *testing.T, s inbox.Store, tenantID, conversationID string, want ...inbox.ThreadLink) {
	t.Helper()
	got, err := s.ListThreadLinks(t.Context(), tenantID, conversationID)
	wantLinks(t, "ListThreadLinks("+tenantID+", "+conversationID+")", got, err, want...)
}

// linkFixture is tenant A's support inbox with a member mailbox of bob's
// and the shared mailbox support@.
type linkFixture struct {
	*fixture
	bob, support inbox.Mailbox
}

func newLinkFixture(t *testing.T, h Harness) *linkFixture {
	t.Helper()
	f := newFixture(t, h)
	return &linkFixture{
		fixture: f,
		bob:     mustCreateMailbox(t, f.s, newMailbox(domainA, "bob", inbox.MailboxMember)),
		support: mustCreateMailbox(t, f.s, newMailbox(domainA, "support", inbox.MailboxShared)),
	}
}

// testThreadLinkPutList: a conversation's links come back sorted by mailbox,
// then thread id, whatever the order they were put in; another
// conversation's links are not among them.
func testThreadLinkPutList(t *testing.T, h Harness) {
	f := newLinkFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	other, _ := mustCreateConversation(t, f.s, f.ib, root(2), t0)
	link := func(c inbox.Conversation, mailbox inbox.Mailbox, thread string) inbox.ThreadLink {
		return inbox.ThreadLink{TenantID: domainA, ConversationID: c.ID, Mailbox: mailbox.Address, ThreadID: thread}
	}
	// Gmail split the conversation into two threads in bob's mailbox.
	supportA := link(c, f.support, "18c0a")
	bobB := link(c, f.bob, "18f00")
	bobA := link(c, f.bob, "18a11")
	for _, l := range []inbox.ThreadLink{supportA, bobB, link(other, f.bob, "18a12"), bobA} {
		mustPutThreadLink(t, f.s, l)
	}
	if f.bob.Address > f.support.Address {
		t.Fatalf("fixture: %s sorts after %s", f.bob.Address, f.support.Address)
	}
	wantThreadLinks(t, f.s, domainA, c.ID, bobA, bobB, supportA)
	wantThreadLinks(t, f.s, domainA, other.ID, link(other, f.bob, "18a12"))

	got, err := f.s.ListThreadLinks(t.Context(), domainA, inbox.ConversationID("support", root(3)))
	wantEmptyOrNotFound(t, "ListThreadLinks(unknown conversation)", len(got), err)
}

// testThreadLinkIdempotent: putting a link again (every sync sees the
// thread anew) keeps one link.
func testThreadLinkIdempotent(t *testing.T, h Harness) {
	f := newLinkFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	l := inbox.ThreadLink{TenantID: domainA, ConversationID: c.ID, Mailbox: f.bob.Address, ThreadID: "18a11"}
	for range 3 {
		mustPutThreadLink(t, f.s, l)
	}
	wantThreadLinks(t, f.s, domainA, c.ID, l)
	got, err := f.s.FindThreadLinks(t.Context(), l.Mailbox, l.ThreadID)
	wantLinks(t, "FindThreadLinks", got, err, l)
}

// testThreadLinkFind: one Gmail thread of a member's mailbox can carry the
// conversations of several inboxes (a mail sent to two shared addresses);
// the links come back sorted by conversation id.
func testThreadLinkFind(t *testing.T, h Harness) {
	f := newLinkFixture(t, h)
	sales := mustCreateInbox(t, f.s, domainA, "sales", "Sales")
	billing := mustCreateInbox(t, f.s, domainA, "billing", "Billing")
	var links []inbox.ThreadLink
	for _, ib := range []inbox.Inbox{f.ib, sales, billing} {
		c, _ := mustCreateConversation(t, f.s, ib, root(1), t0)
		l := inbox.ThreadLink{TenantID: domainA, ConversationID: c.ID, Mailbox: f.bob.Address, ThreadID: "18a11"}
		mustPutThreadLink(t, f.s, l)
		links = append(links, l)
		// The same conversation in other threads and mailboxes.
		mustPutThreadLink(t, f.s, inbox.ThreadLink{TenantID: domainA, ConversationID: c.ID, Mailbox: f.bob.Address, ThreadID: "18a12"})
		mustPutThreadLink(t, f.s, inbox.ThreadLink{TenantID: domainA, ConversationID: c.ID, Mailbox: f.support.Address, ThreadID: "18a11"})
	}
	slices.SortFunc(links, func(a, b inbox.ThreadLink) int { return strings.Compare(a.ConversationID, b.ConversationID) })

	got, err := f.s.FindThreadLinks(t.Context(), f.bob.Address, "18a11")
	wantLinks(t, "FindThreadLinks", got, err, links...)
}

func testThreadLinkFindNone(t *testing.T, h Harness) {
	f := newLinkFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	mustPutThreadLink(t, f.s, inbox.ThreadLink{TenantID: domainA, ConversationID: c.ID, Mailbox: f.bob.Address, ThreadID: "18a11"})

	for _, tc := range []struct{ name, mailbox, thread string }{
		{"UnknownThread", f.bob.Address, "18a12"},
		{"OtherMailbox", f.support.Address, "18a11"},
		{"UnknownMailbox", "nobody@" + domainA, "18a11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.s.FindThreadLinks(t.Context(), tc.mailbox, tc.thread)
			wantLinks(t, "FindThreadLinks("+tc.mailbox+", "+tc.thread+")", got, err)
		})
	}
}

func testThreadLinkInvalid(t *testing.T, h Harness) {
	f := newLinkFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	valid := inbox.ThreadLink{TenantID: domainA, ConversationID: c.ID, Mailbox: f.bob.Address, ThreadID: "18a11"}
	for _, tc := range []struct {
		name   string
		change func(l *inbox.ThreadLink)
	}{
		{"Zero", func(l *inbox.ThreadLink) { *l = inbox.ThreadLink{} }},
		{"NoTenant", func(l *inbox.ThreadLink) { l.TenantID = "" }},
		{"NoConversation", func(l *inbox.ThreadLink) { l.ConversationID = "" }},
		{"NoMailbox", func(l *inbox.ThreadLink) { l.Mailbox = "" }},
		{"NoThread", func(l *inbox.ThreadLink) { l.ThreadID = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := valid
			tc.change(&l)
			err := f.s.PutThreadLink(t.Context(), l)
			wantErr(t, "PutThreadLink", err, inbox.ErrInvalid)
		})
	}
	wantThreadLinks(t, f.s, domainA, c.ID)
	got, err := f.s.FindThreadLinks(t.Context(), f.bob.Address, "18a11")
	wantLinks(t, "FindThreadLinks", got, err)
}

// testThreadLinkTenantIsolation: a conversation's links are listed under
// its tenant only, even where another tenant has a conversation with the
// same id.
func testThreadLinkTenantIsolation(t *testing.T, h Harness) {
	f := newLinkFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	ibB := mustCreateInbox(t, f.s, domainB, "support", "Support")
	mbB := mustCreateMailbox(t, f.s, newMailbox(domainB, "bob", inbox.MailboxMember))
	cA, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	cB, _ := mustCreateConversation(t, f.s, ibB, root(1), t0)
	if cA.ID != cB.ID {
		t.Fatalf("fixture: conversation ids differ (%s, %s); the test needs them equal", cA.ID, cB.ID)
	}
	lA := inbox.ThreadLink{TenantID: domainA, ConversationID: cA.ID, Mailbox: f.bob.Address, ThreadID: "18a11"}
	lB := inbox.ThreadLink{TenantID: domainB, ConversationID: cB.ID, Mailbox: mbB.Address, ThreadID: "18a11"}
	mustPutThreadLink(t, f.s, lA)

	got, err := f.s.ListThreadLinks(t.Context(), domainB, cA.ID)
	wantEmptyOrNotFound(t, "ListThreadLinks(other tenant's conversation)", len(got), err)

	mustPutThreadLink(t, f.s, lB)
	wantThreadLinks(t, f.s, domainA, cA.ID, lA)
	wantThreadLinks(t, f.s, domainB, cB.ID, lB)
	got, err = f.s.FindThreadLinks(t.Context(), f.bob.Address, "18a11")
	wantLinks(t, "FindThreadLinks(A's mailbox)", got, err, lA)
	got, err = f.s.FindThreadLinks(t.Context(), mbB.Address, "18a11")
	wantLinks(t, "FindThreadLinks(B's mailbox)", got, err, lB)
}
