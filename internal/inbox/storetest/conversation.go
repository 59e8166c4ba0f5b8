package storetest

import (
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

func conversationCases() []testCase {
	return []testCase{
		{"CreateGet", testConversationCreateGet},
		{"Duplicate", testConversationDuplicate},
		{"UnknownInbox", testConversationUnknownInbox},
		{"Invalid", testConversationInvalid},
		{"NotFound", testConversationNotFound},
		{"OtherTenant", testConversationOtherTenant},
		{"SameIDInTwoTenants", testConversationSameIDInTwoTenants},
		{"FindByMessageID", testConversationFindByMessageID},
		{"FindByMessageIDPerInbox", testConversationFindByMessageIDPerInbox},
		{"DuplicateMessageIDKeepsFirst", testConversationDuplicateMessageIDKeepsFirst},
	}
}

func testConversationCreateGet(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := newConversation(t, f.ib, root(1), t0)
	if err := f.s.CreateConversation(t.Context(), c, []string{root(1), "reply@mail.example"}, created); err != nil {
		t.Fatalf("CreateConversation: %v", err)
	}
	if got, want := c.Version, int64(1); got != want {
		t.Fatalf("fixture: Version=%d, want %d", got, want)
	}
	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, created)
}

func testConversationDuplicate(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	// The same mail seen again, later, through another member's mailbox.
	again, again0 := newConversation(t, f.ib, root(1), t0.Add(time.Hour))
	again.Subject = "Re: something else"
	err := f.s.CreateConversation(t.Context(), again, []string{root(1), "other@mail.example"}, again0)
	wantErr(t, "CreateConversation(existing id)", err, inbox.ErrAlreadyExists)

	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, created)
	wantFound(t, f.s, domainA, "other@mail.example") // the refused create indexed nothing
}

func testConversationUnknownInbox(t *testing.T, h Harness) {
	f := newFixture(t, h)
	for _, tc := range []struct {
		name string
		ib   inbox.Inbox
	}{
		{"UnknownInbox", newInbox(domainA, "sales", "Sales")},
		{"UnknownTenant", newInbox(domainB, "support", "Support")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, created := newConversation(t, tc.ib, root(1), t0)
			err := f.s.CreateConversation(t.Context(), c, []string{root(1)}, created)
			wantErr(t, "CreateConversation", err, inbox.ErrNotFound)
			_, err = f.s.GetConversation(t.Context(), c.TenantID, c.ID)
			wantErr(t, "GetConversation(refused conversation)", err, inbox.ErrNotFound)
		})
	}
}

func testConversationInvalid(t *testing.T, h Harness) {
	f := newFixture(t, h)
	for _, tc := range []struct {
		name   string
		change func(c *inbox.Conversation)
	}{
		{"Zero", func(c *inbox.Conversation) { *c = inbox.Conversation{} }},
		{"NoID", func(c *inbox.Conversation) { c.ID = "" }},
		{"NoRootMessageID", func(c *inbox.Conversation) { c.RootMessageID = "" }},
		{"UnknownStatus", func(c *inbox.Conversation) { c.Status = "snoozed" }},
		{"VersionZero", func(c *inbox.Conversation) { c.Version = 0 }},
		{"NoTimestamps", func(c *inbox.Conversation) { c.CreatedAt = time.Time{} }},
		{"BadTag", func(c *inbox.Conversation) { c.Tags = []string{"no/slashes"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, created := newConversation(t, f.ib, root(1), t0)
			tc.change(&c)
			err := f.s.CreateConversation(t.Context(), c, []string{root(1)}, created)
			wantErr(t, "CreateConversation", err, inbox.ErrInvalid)
		})
	}
	wantFound(t, f.s, domainA, root(1)) // the refused creates indexed nothing
}

func testConversationNotFound(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateConversation(t, f.s, f.ib, root(1), t0)
	_, err := f.s.GetConversation(t.Context(), domainA, inbox.ConversationID("support", root(2)))
	wantErr(t, "GetConversation(unknown id)", err, inbox.ErrNotFound)
}

func testConversationOtherTenant(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	_, err := f.s.GetConversation(t.Context(), domainB, c.ID)
	wantErr(t, "GetConversation(other tenant's conversation)", err, inbox.ErrNotFound)
}

// testConversationSameIDInTwoTenants: one mail sent to support@ of two
// tenants yields the same conversation id in both (ConversationID hashes
// inbox id and Message-ID only). The two must not collide.
func testConversationSameIDInTwoTenants(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	ibB := mustCreateInbox(t, f.s, domainB, "support", "Support")

	cA, createdA := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	cB, createdB := newConversation(t, ibB, root(1), t0.Add(time.Minute))
	cB.Subject = "Tenant B's copy"
	if err := f.s.CreateConversation(t.Context(), cB, []string{root(1)}, createdB); err != nil {
		t.Fatalf("CreateConversation in the second tenant: %v", err)
	}
	if cA.ID != cB.ID {
		t.Fatalf("fixture: conversation ids differ (%s, %s); the test needs them equal", cA.ID, cB.ID)
	}
	mustChange(t, f.s, &cB, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus("bob@"+domainB, inbox.StatusClosed, t0.Add(2*time.Minute))
	})

	wantConversation(t, f.s, cA)
	wantConversation(t, f.s, cB)
	wantActivity(t, f.s, domainA, cA.ID, createdA)
	for _, c := range []inbox.Conversation{cA, cB} {
		wantFound(t, f.s, c.TenantID, root(1), c)
	}
}

func testConversationFindByMessageID(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	indexed := []string{root(1), "reply-1@mail.example", "Case.Sensitive-2@mail.example"}
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0, indexed[1:]...)
	other, _ := mustCreateConversation(t, f.s, f.ib, root(2), t0.Add(time.Minute))

	// Find returns the current state, not the state at indexing time.
	mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.Assign(f.ib, alice, bob, t0.Add(time.Hour))
	})

	for _, id := range indexed {
		wantFound(t, f.s, domainA, id, c)
	}
	wantFound(t, f.s, domainA, root(2), other)

	// Nothing found is an empty result, not an error.
	for _, tc := range []struct {
		name, tenant, messageID string
	}{
		{"Unknown", domainA, "never-seen@mail.example"},
		{"CaseMatters", domainA, "case.sensitive-2@mail.example"},
		{"OtherTenant", domainB, root(1)},
		{"UnknownTenant", "initech.example", root(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFound(t, f.s, tc.tenant, tc.messageID)
		})
	}
}

// testConversationFindByMessageIDPerInbox: the same mail sent to two shared
// addresses of a tenant is a conversation in each inbox; the Message-ID
// finds both, in inbox id order.
func testConversationFindByMessageIDPerInbox(t *testing.T, h Harness) {
	f := newFixture(t, h)
	billing := mustCreateInbox(t, f.s, domainA, "billing", "Billing")
	mustCreateInbox(t, f.s, domainA, "sales", "Sales") // holds nothing

	// Created in the other order than the one Find returns.
	inSupport, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0, "shared-reply@mail.example")
	inBilling, _ := mustCreateConversation(t, f.s, billing, root(1), t0.Add(time.Minute), "shared-reply@mail.example")
	if inSupport.ID == inBilling.ID {
		t.Fatalf("fixture: both inboxes derived conversation id %s", inSupport.ID)
	}
	// Each inbox's conversation changes on its own.
	mustChange(t, f.s, &inBilling, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus(alice, inbox.StatusClosed, t0.Add(time.Hour))
	})

	wantFound(t, f.s, domainA, root(1), inBilling, inSupport)
	wantFound(t, f.s, domainA, "shared-reply@mail.example", inBilling, inSupport)
	wantConversation(t, f.s, inSupport)
	wantConversation(t, f.s, inBilling)
}

// testConversationDuplicateMessageIDKeepsFirst: a Message-ID already indexed to a
// conversation of the inbox stays with it when another conversation of the
// same inbox names it too; the create does not fail for it.
func testConversationDuplicateMessageIDKeepsFirst(t *testing.T, h Harness) {
	f := newFixture(t, h)
	first, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0, "shared@mail.example")
	second, _ := mustCreateConversation(t, f.s, f.ib, root(2), t0.Add(time.Minute), "shared@mail.example", "own@mail.example")

	wantFound(t, f.s, domainA, "shared@mail.example", first)
	wantFound(t, f.s, domainA, root(2), second)
	wantFound(t, f.s, domainA, "own@mail.example", second)
}
