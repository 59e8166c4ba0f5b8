package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

func appendCases() []testCase {
	return []testCase{
		{"NoChange", testAppendNoChange},
		{"Reopens", testAppendReopens},
		{"TeamReply", testAppendTeamReply},
		{"DuplicateLaterIDsKeepFirst", testAppendDuplicateLaterIDsKeepFirst},
		{"OtherInbox", testAppendOtherInbox},
		{"Conflict", testAppendConflict},
		{"NotFound", testAppendNotFound},
		{"OtherTenant", testAppendOtherTenant},
		{"ChangeInbox", testAppendChangeInbox},
		{"Invalid", testAppendInvalid},
		{"DuplicateMessage", testAppendDuplicateMessage},
		{"DuplicateOfOtherConversation", testAppendDuplicateOfOtherConversation},
		{"DuplicateAfterChange", testAppendDuplicateAfterChange},
	}
}

const customer = "customer@example.org"

// reply builds a mail with Message-ID id that answers parent (and, through
// References, the thread's root), sent by from to the support inbox of
// tenant A at time at.
func reply(from, id, parent, root string, at time.Time) inbox.Mail {
	return inbox.Headers{
		MessageID:  "<" + id + ">",
		InReplyTo:  "<" + parent + ">",
		References: "<" + root + "> <" + parent + ">",
		Subject:    "Re: Subject of " + root,
		From:       from,
		To:         "support@" + domainA,
		Date:       at,
	}.Mail()
}

// sentBy marks m as the copy Gmail labels SENT in the sender's own
// mailbox: only such a copy counts as the team's reply.
func sentBy(m inbox.Mail, mailbox string) inbox.Mail {
	m.Mailbox, m.Sent = mailbox, true
	return m
}

// receive applies m to c with the domain rules of ib and returns the
// Message-IDs AppendMessage indexes (the mail's own first) and the activity
// entry, if any.
func receive(c *inbox.Conversation, ib inbox.Inbox, m inbox.Mail, now time.Time) ([]string, *inbox.Activity) {
	ev := c.Receive(ib, m, now)
	return m.Thread.All(), ev
}

// mustAppend records m in c through AppendMessage and returns the activity
// entry it appended, if any.
func mustAppend(t *testing.T, s inbox.Store, ib inbox.Inbox, c *inbox.Conversation, m inbox.Mail, now time.Time) *inbox.Activity {
	t.Helper()
	ids, ev := receive(c, ib, m, now)
	if err := s.AppendMessage(t.Context(), *c, ids, ev); err != nil {
		t.Fatalf("AppendMessage(%s, %v): %v", c.ID, ids, err)
	}
	return ev
}

// testAppendNoChange: a customer's mail to an open conversation changes no
// state: the version stays, no activity is logged, but the conversation is
// written (LastMessageAt) and every Message-ID of the mail is indexed.
func testAppendNoChange(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	m := reply(customer, "reply-1@mail.example", root(1), root(1), t0.Add(time.Hour))
	ids, ev := receive(&c, f.ib, m, t0.Add(time.Hour))
	if ev != nil || c.Version != 1 || !c.LastMessageAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("fixture: Receive gave activity %v, version %d, LastMessageAt %s; want none, 1, +1h", ev, c.Version, c.LastMessageAt)
	}
	if err := f.s.AppendMessage(t.Context(), c, ids, nil); err != nil {
		t.Fatalf("AppendMessage: %v", err)
	}
	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, created)
	wantFound(t, f.s, domainA, "reply-1@mail.example", c)
	wantFound(t, f.s, domainA, root(1), c)

	// A second mail, again without a change of state.
	mustAppend(t, f.s, f.ib, &c, reply(customer, "reply-2@mail.example", "reply-1@mail.example", root(1), t0.Add(2*time.Hour)), t0.Add(2*time.Hour))
	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, created)
	wantFound(t, f.s, domainA, "reply-2@mail.example", c)
}

// testAppendReopens: a customer's mail to a pending conversation reopens
// it: the version moves by one and the entry is logged with the write.
func testAppendReopens(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	pending := mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus(bob, inbox.StatusPending, t0.Add(time.Minute))
	})

	m := reply(customer, "reply-1@mail.example", root(1), root(1), t0.Add(time.Hour))
	ev := mustAppend(t, f.s, f.ib, &c, m, t0.Add(time.Hour))
	if ev == nil || ev.Kind != inbox.ActReopened || c.Version != 3 || c.Status != inbox.StatusOpen {
		t.Fatalf("fixture: Receive gave activity %+v, version %d, status %s; want %s, 3, open", ev, c.Version, c.Status, inbox.ActReopened)
	}
	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, *ev, pending, created)
	wantFound(t, f.s, domainA, "reply-1@mail.example", c)
}

// testAppendTeamReply: the team's first reply records the first response
// time and moves the conversation to the inbox's reply status.
func testAppendTeamReply(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	at := t0.Add(90 * time.Minute)
	ev := mustAppend(t, f.s, f.ib, &c, sentBy(reply("Bob <"+bob+">", "answer@acme.example", root(1), root(1), at), bob), at)
	if ev == nil || c.FirstResponseAt.IsZero() || c.Status != f.ib.Settings.ReplyStatus {
		t.Fatalf("fixture: Receive gave activity %+v, first response %s, status %s; want an entry, a time, %s", ev, c.FirstResponseAt, c.Status, f.ib.Settings.ReplyStatus)
	}
	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, *ev, created)

	// A second reply keeps the first response time and changes nothing.
	if ev := mustAppend(t, f.s, f.ib, &c, sentBy(reply(bob, "answer-2@acme.example", "answer@acme.example", root(1), at.Add(time.Hour)), bob), at.Add(time.Hour)); ev != nil {
		t.Fatalf("fixture: the second reply logged %+v", ev)
	}
	got := mustGetConversation(t, f.s, domainA, c.ID)
	if !got.FirstResponseAt.Equal(at) {
		t.Errorf("FirstResponseAt after the second reply = %s, want %s", got.FirstResponseAt, at)
	}
	wantConversation(t, f.s, c)
}

// testAppendDuplicateLaterIDsKeepFirst: Message-IDs after the first that are
// already indexed to another conversation of the inbox stay with it, like
// on CreateConversation; new ones are indexed to c.
func testAppendDuplicateLaterIDsKeepFirst(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	other, _ := mustCreateConversation(t, f.s, f.ib, root(2), t0, "elsewhere@mail.example")

	ids := []string{"mine@mail.example", "elsewhere@mail.example", "fresh@mail.example", root(2)}
	c.LastMessageAt = t0.Add(time.Hour)
	if err := f.s.AppendMessage(t.Context(), c, ids, nil); err != nil {
		t.Fatalf("AppendMessage: %v", err)
	}
	wantFound(t, f.s, domainA, "mine@mail.example", c)
	wantFound(t, f.s, domainA, "fresh@mail.example", c)
	wantFound(t, f.s, domainA, "elsewhere@mail.example", other)
	wantFound(t, f.s, domainA, root(2), other)
	wantConversation(t, f.s, c)
	wantConversation(t, f.s, other)
}

// testAppendOtherInbox: the index is per inbox. A mail already recorded in
// another inbox of the tenant (sent to both shared addresses) is appended
// to this inbox's conversation too.
func testAppendOtherInbox(t *testing.T, h Harness) {
	f := newFixture(t, h)
	sales := mustCreateInbox(t, f.s, domainA, "sales", "Sales")
	inSupport, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	inSales, _ := mustCreateConversation(t, f.s, sales, root(1), t0)

	m := reply(customer, "reply-1@mail.example", root(1), root(1), t0.Add(time.Hour))
	mustAppend(t, f.s, sales, &inSales, m, t0.Add(time.Hour))
	mustAppend(t, f.s, f.ib, &inSupport, m, t0.Add(time.Hour))

	wantFound(t, f.s, domainA, "reply-1@mail.example", inSales, inSupport)
	wantConversation(t, f.s, inSupport)
	wantConversation(t, f.s, inSales)
}

// testAppendConflict: the stored version must be c.Version without an
// activity entry and c.Version-1 with one; otherwise nothing is written,
// the mail's Message-IDs included.
func testAppendConflict(t *testing.T, h Harness) {
	f := newFixture(t, h)
	stored, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	assigned := mustChange(t, f.s, &stored, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.Assign(f.ib, alice, bob, t0.Add(time.Minute))
	}) // version 2

	// withEvent returns c moved to pending (version +1) and the entry.
	withEvent := func(t *testing.T, c inbox.Conversation) (inbox.Conversation, *inbox.Activity) {
		t.Helper()
		ev, err := c.SetStatus("", inbox.StatusPending, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("SetStatus: %v", err)
		}
		return c, &ev
	}
	for _, tc := range []struct {
		name  string
		build func(t *testing.T) (inbox.Conversation, *inbox.Activity)
	}{
		{"NoEventStale", func(t *testing.T) (inbox.Conversation, *inbox.Activity) {
			c := stored
			c.Version = 1
			return c, nil
		}},
		{"NoEventAhead", func(t *testing.T) (inbox.Conversation, *inbox.Activity) {
			c := stored
			c.Version = 3
			return c, nil
		}},
		{"EventStale", func(t *testing.T) (inbox.Conversation, *inbox.Activity) {
			c := stored
			c.Version = 1
			return withEvent(t, c) // version 2, computed from 1
		}},
		{"EventNotBumped", func(t *testing.T) (inbox.Conversation, *inbox.Activity) {
			c, ev := withEvent(t, stored)
			c.Version, ev.Version = 2, 2 // the stored version, not one more
			return c, ev
		}},
		{"EventAhead", func(t *testing.T) (inbox.Conversation, *inbox.Activity) {
			c, ev := withEvent(t, stored)
			c.Version, ev.Version = 4, 4
			return c, ev
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ev := tc.build(t)
			c.LastMessageAt = t0.Add(time.Hour)
			id := tc.name + "@mail.example"
			err := f.s.AppendMessage(t.Context(), c, []string{id}, ev)
			wantErr(t, fmt.Sprintf("AppendMessage(version %d over 2, activity %t)", c.Version, ev != nil), err, inbox.ErrConflict)
			wantFound(t, f.s, domainA, id)
		})
	}
	wantConversation(t, f.s, stored)
	wantActivity(t, f.s, domainA, stored.ID, assigned, created)
}

func testAppendNotFound(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateConversation(t, f.s, f.ib, root(1), t0)

	c, _ := newConversation(t, f.ib, root(2), t0) // never stored
	m := reply(customer, "reply@mail.example", root(2), root(2), t0.Add(time.Hour))
	ids, ev := receive(&c, f.ib, m, t0.Add(time.Hour))
	err := f.s.AppendMessage(t.Context(), c, ids, ev)
	wantErr(t, "AppendMessage(unknown conversation)", err, inbox.ErrNotFound)
	wantFound(t, f.s, domainA, "reply@mail.example")
	_, err = f.s.GetConversation(t.Context(), domainA, c.ID)
	wantErr(t, "GetConversation(after the refused append)", err, inbox.ErrNotFound)
}

// testAppendOtherTenant: tenant B cannot append to A's conversation by
// naming its id.
func testAppendOtherTenant(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	mustCreateInbox(t, f.s, domainB, "support", "Support")
	stored, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	c := stored
	c.TenantID = domainB
	c.LastMessageAt = t0.Add(time.Hour)
	err := f.s.AppendMessage(t.Context(), c, []string{"reply@mail.example"}, nil)
	wantErr(t, "AppendMessage(other tenant's conversation)", err, inbox.ErrNotFound)

	wantConversation(t, f.s, stored)
	wantActivity(t, f.s, domainA, stored.ID, created)
	wantFound(t, f.s, domainA, "reply@mail.example")
	wantFound(t, f.s, domainB, "reply@mail.example")
}

func testAppendChangeInbox(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateInbox(t, f.s, domainA, "sales", "Sales")
	stored, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	for _, inboxID := range []string{"sales", "nowhere"} {
		t.Run(inboxID, func(t *testing.T) {
			c := stored
			c.InboxID = inboxID
			c.LastMessageAt = t0.Add(time.Hour)
			err := f.s.AppendMessage(t.Context(), c, []string{inboxID + "@mail.example"}, nil)
			wantErr(t, "AppendMessage(inbox changed)", err, inbox.ErrInvalid)
			wantFound(t, f.s, domainA, inboxID+"@mail.example")
		})
	}
	wantConversation(t, f.s, stored)
	wantActivity(t, f.s, domainA, stored.ID, created)
}

func testAppendInvalid(t *testing.T, h Harness) {
	f := newFixture(t, h)
	stored, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	for _, tc := range []struct {
		name   string
		change func(c *inbox.Conversation)
		ids    []string
	}{
		{"UnknownStatus", func(c *inbox.Conversation) { c.Status = "snoozed" }, []string{"a@mail.example"}},
		{"NoRootMessageID", func(c *inbox.Conversation) { c.RootMessageID = "" }, []string{"b@mail.example"}},
		{"BadTag", func(c *inbox.Conversation) { c.Tags = []string{"no/slashes"} }, []string{"c@mail.example"}},
		{"NilMessageIDs", func(c *inbox.Conversation) {}, nil},
		{"NoMessageIDs", func(c *inbox.Conversation) {}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := stored
			c.LastMessageAt = t0.Add(time.Hour)
			tc.change(&c)
			err := f.s.AppendMessage(t.Context(), c, tc.ids, nil)
			wantErr(t, "AppendMessage", err, inbox.ErrInvalid)
			for _, id := range tc.ids {
				wantFound(t, f.s, domainA, id)
			}
		})
	}
	wantConversation(t, f.s, stored)
	wantActivity(t, f.s, domainA, stored.ID, created)
}

// testAppendDuplicateMessage: a mail recorded before (a replay, or its copy
// in another member's mailbox) is ErrAlreadyExists and writes nothing, with
// or without an activity entry.
func testAppendDuplicateMessage(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	m := reply(customer, "reply-1@mail.example", root(1), root(1), t0.Add(time.Hour))
	mustAppend(t, f.s, f.ib, &c, m, t0.Add(time.Hour))

	// The copy, seen later, computed from the stored state.
	again := mustGetConversation(t, f.s, domainA, c.ID)
	ids, ev := receive(&again, f.ib, m, t0.Add(2*time.Hour))
	again.Subject = "must not be written"
	err := f.s.AppendMessage(t.Context(), again, ids, ev)
	wantErr(t, "AppendMessage(recorded mail, no activity)", err, inbox.ErrAlreadyExists)

	// The same with a change of state: a replay of the customer's mail
	// after the team set the conversation to pending.
	pending := mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus(bob, inbox.StatusPending, t0.Add(3*time.Hour))
	})
	again = c
	ids, ev = receive(&again, f.ib, m, t0.Add(4*time.Hour))
	if ev == nil {
		t.Fatal("fixture: the replay on a pending conversation logged nothing")
	}
	err = f.s.AppendMessage(t.Context(), again, ids, ev)
	wantErr(t, "AppendMessage(recorded mail, with activity)", err, inbox.ErrAlreadyExists)

	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, pending, created)
}

// testAppendDuplicateOfOtherConversation: the mail's own Message-ID is
// indexed to another conversation of the inbox: the mail was recorded
// there, and is not recorded twice.
func testAppendDuplicateOfOtherConversation(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	other, _ := mustCreateConversation(t, f.s, f.ib, root(2), t0)

	changed := c
	changed.LastMessageAt = t0.Add(time.Hour)
	err := f.s.AppendMessage(t.Context(), changed, []string{root(2), "new@mail.example"}, nil)
	wantErr(t, "AppendMessage(Message-ID of another conversation)", err, inbox.ErrAlreadyExists)

	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, created)
	wantFound(t, f.s, domainA, root(2), other)
	wantFound(t, f.s, domainA, "new@mail.example")
}

// testAppendDuplicateAfterChange: a replay computed from a version that is
// no longer stored is still ErrAlreadyExists, not ErrConflict: the caller
// learns that the mail is recorded instead of retrying it.
func testAppendDuplicateAfterChange(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	stale := c
	m := reply(customer, "reply-1@mail.example", root(1), root(1), t0.Add(time.Hour))
	mustAppend(t, f.s, f.ib, &c, m, t0.Add(time.Hour))
	assigned := mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.Assign(f.ib, alice, alice, t0.Add(2*time.Hour))
	})

	ids, ev := receive(&stale, f.ib, m, t0.Add(3*time.Hour)) // version 1; 2 is stored
	err := f.s.AppendMessage(t.Context(), stale, ids, ev)
	wantErr(t, "AppendMessage(recorded mail, stale version)", err, inbox.ErrAlreadyExists)

	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, assigned, created)
}
