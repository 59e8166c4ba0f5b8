package storetest

import (
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

func updateCases() []testCase {
	return []testCase{
		{"OK", testUpdateOK},
		{"StaleVersion", testUpdateStaleVersion},
		{"VersionAhead", testUpdateVersionAhead},
		{"NotFound", testUpdateNotFound},
		{"OtherTenant", testUpdateOtherTenant},
		{"ChangeInbox", testUpdateChangeInbox},
		{"Invalid", testUpdateInvalid},
		{"MessageTimesMerge", testUpdateMessageTimesMerge},
	}
}

// testUpdateMessageTimesMerge: LastMessageAt and FirstResponseAt are not
// versioned, so a write computed before a mail was recorded must not move
// them back: the latest LastMessageAt and the earliest non-zero
// FirstResponseAt win, on UpdateConversation and on AppendMessage.
func testUpdateMessageTimesMerge(t *testing.T, h Harness) {
	f := newFixture(t, h)
	base, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	// A mail is recorded (no state change): LastMessageAt and
	// FirstResponseAt move, the version stays.
	withMail := base
	withMail.LastMessageAt = t0.Add(time.Hour)
	withMail.FirstResponseAt = t0.Add(30 * time.Minute)
	if err := f.s.AppendMessage(t.Context(), withMail, []string{"later@mail.example"}, nil); err != nil {
		t.Fatalf("AppendMessage: %v", err)
	}
	// A sidebar change computed from the record read before that mail.
	stale := base
	ev, err := stale.Assign(f.ib, alice, bob, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatalf("Assign: %v", err)
	}
	if err := f.s.UpdateConversation(t.Context(), stale, ev); err != nil {
		t.Fatalf("UpdateConversation: %v", err)
	}
	want := stale
	want.LastMessageAt = withMail.LastMessageAt
	want.FirstResponseAt = withMail.FirstResponseAt
	wantConversation(t, f.s, want)

	// Another copy recorded with an older date and a later first response
	// changes neither.
	older := want
	older.LastMessageAt = t0.Add(time.Minute)
	older.FirstResponseAt = t0.Add(50 * time.Minute)
	if err := f.s.AppendMessage(t.Context(), older, []string{"older@mail.example"}, nil); err != nil {
		t.Fatalf("AppendMessage: %v", err)
	}
	wantConversation(t, f.s, want)
}

func testUpdateOK(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	assigned := mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.Assign(f.ib, alice, bob, t0.Add(time.Minute))
	})
	if got, want := c.Version, int64(2); got != want {
		t.Fatalf("fixture: Version=%d after one change, want %d", got, want)
	}
	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, assigned, created)

	closed := mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus(bob, inbox.StatusClosed, t0.Add(2*time.Minute))
	})
	tagged := mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.AddTag(bob, "Billing", t0.Add(3*time.Minute))
	})
	if got, want := c.Version, int64(4); got != want {
		t.Fatalf("fixture: Version=%d after three changes, want %d", got, want)
	}
	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, tagged, closed, assigned, created)
}

// testUpdateStaleVersion: two people change the same version; the second
// write is refused and leaves no trace.
func testUpdateStaleVersion(t *testing.T, h Harness) {
	f := newFixture(t, h)
	base, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	first := base
	won := mustChange(t, f.s, &first, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.Assign(f.ib, alice, alice, t0.Add(time.Minute))
	})

	second := base
	ev, err := second.SetStatus(bob, inbox.StatusClosed, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
	err = f.s.UpdateConversation(t.Context(), second, ev)
	wantErr(t, "UpdateConversation(computed from a stale version)", err, inbox.ErrConflict)

	wantConversation(t, f.s, first)
	wantActivity(t, f.s, domainA, base.ID, won, created)
}

// testUpdateVersionAhead: a version that skips one is as wrong as a stale
// one: the stored version must be exactly c.Version-1.
func testUpdateVersionAhead(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	stored := c

	ev, err := c.SetStatus(bob, inbox.StatusPending, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
	c.Version++ // 3, while the store holds 1
	ev.Version = c.Version
	err = f.s.UpdateConversation(t.Context(), c, ev)
	wantErr(t, "UpdateConversation(version skips one)", err, inbox.ErrConflict)

	wantConversation(t, f.s, stored)
	wantActivity(t, f.s, domainA, c.ID, created)
}

func testUpdateNotFound(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateConversation(t, f.s, f.ib, root(1), t0)

	c, _ := newConversation(t, f.ib, root(2), t0) // never stored
	ev, err := c.Assign(f.ib, alice, bob, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("Assign: %v", err)
	}
	err = f.s.UpdateConversation(t.Context(), c, ev)
	wantErr(t, "UpdateConversation(unknown conversation)", err, inbox.ErrNotFound)
	_, err = f.s.GetConversation(t.Context(), domainA, c.ID)
	wantErr(t, "GetConversation(after the refused update)", err, inbox.ErrNotFound)
}

// testUpdateOtherTenant: tenant B cannot write A's conversation by naming
// its id, even with a matching inbox id and version.
func testUpdateOtherTenant(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	mustCreateInbox(t, f.s, domainB, "support", "Support")
	stored, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	c := stored
	c.TenantID = domainB
	ev, err := c.SetStatus("bob@"+domainB, inbox.StatusClosed, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
	err = f.s.UpdateConversation(t.Context(), c, ev)
	wantErr(t, "UpdateConversation(other tenant's conversation)", err, inbox.ErrNotFound)

	wantConversation(t, f.s, stored)
	wantActivity(t, f.s, domainA, stored.ID, created)
}

func testUpdateChangeInbox(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateInbox(t, f.s, domainA, "sales", "Sales")
	stored, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	for _, inboxID := range []string{"sales", "nowhere"} {
		t.Run(inboxID, func(t *testing.T) {
			c := stored
			c.InboxID = inboxID
			ev, err := c.SetStatus(alice, inbox.StatusClosed, t0.Add(time.Minute))
			if err != nil {
				t.Fatalf("SetStatus: %v", err)
			}
			err = f.s.UpdateConversation(t.Context(), c, ev)
			wantErr(t, "UpdateConversation(inbox changed)", err, inbox.ErrInvalid)
		})
	}
	wantConversation(t, f.s, stored)
	wantActivity(t, f.s, domainA, stored.ID, created)
}

func testUpdateInvalid(t *testing.T, h Harness) {
	f := newFixture(t, h)
	stored, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	for _, tc := range []struct {
		name   string
		change func(c *inbox.Conversation)
	}{
		{"UnknownStatus", func(c *inbox.Conversation) { c.Status = "snoozed" }},
		{"NoRootMessageID", func(c *inbox.Conversation) { c.RootMessageID = "" }},
		{"BadTag", func(c *inbox.Conversation) { c.Tags = []string{"no/slashes"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := stored
			ev, err := c.Assign(f.ib, alice, bob, t0.Add(time.Minute))
			if err != nil {
				t.Fatalf("Assign: %v", err)
			}
			tc.change(&c)
			err = f.s.UpdateConversation(t.Context(), c, ev)
			wantErr(t, "UpdateConversation", err, inbox.ErrInvalid)
		})
	}
	wantConversation(t, f.s, stored)
	wantActivity(t, f.s, domainA, stored.ID, created)
}
