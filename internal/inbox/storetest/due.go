package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func dueCases() []testCase {
	return []testCase{
		{"ListDue", testDueList},
		{"Cleared", testDueCleared},
		{"FlowRoundTrip", testFlowRoundTrip},
		{"WorkflowRoundTrip", testWorkflowRoundTrip},
	}
}

// setDue writes c with DueAt due through UpdateConversation (a status
// change carries it).
func setDue(t *testing.T, s inbox.Store, c *inbox.Conversation, due time.Time, at time.Time) {
	t.Helper()
	mustChange(t, s, c, func(c *inbox.Conversation) (inbox.Activity, error) {
		c.DueAt = due
		st := inbox.StatusPending
		if c.Status == st {
			st = inbox.StatusOpen
		}
		return c.SetStatus(alice, st, at)
	})
}

// testDueList: ListDue returns the conversations due by t, of every
// tenant, soonest first, up to limit; later and unset ones are not listed.
func testDueList(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	ibB := mustCreateInbox(t, f.s, domainB, "support", "Support")
	c1, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	c2, _ := mustCreateConversation(t, f.s, f.ib, root(2), t0)
	c3, _ := mustCreateConversation(t, f.s, ibB, root(3), t0)
	mustCreateConversation(t, f.s, f.ib, root(4), t0) // never due
	c5, _ := mustCreateConversation(t, f.s, f.ib, root(5), t0)
	setDue(t, f.s, &c1, t0.Add(3*time.Hour), t0.Add(time.Minute))
	setDue(t, f.s, &c2, t0.Add(1*time.Hour), t0.Add(time.Minute))
	setDue(t, f.s, &c3, t0.Add(2*time.Hour), t0.Add(time.Minute))
	setDue(t, f.s, &c5, t0.Add(9*time.Hour), t0.Add(time.Minute))

	for _, tc := range []struct {
		at    time.Time
		limit int
		want  []inbox.Conversation
	}{
		{t0, 10, nil},
		{t0.Add(time.Hour), 10, []inbox.Conversation{c2}},
		{t0.Add(3 * time.Hour), 10, []inbox.Conversation{c2, c3, c1}},
		{t0.Add(3 * time.Hour), 2, []inbox.Conversation{c2, c3}},
		{t0.Add(24 * time.Hour), 10, []inbox.Conversation{c2, c3, c1, c5}},
	} {
		got, err := f.s.ListDue(t.Context(), tc.at, tc.limit)
		if err != nil {
			t.Fatalf("ListDue(%v, %d): %v", tc.at, tc.limit, err)
		}
		if diff := cmp.Diff(tc.want, got, cmpOpts); diff != "" {
			t.Errorf("ListDue(%v, %d) mismatch (-want +got):\n%s", tc.at, tc.limit, diff)
		}
	}
}

// testDueCleared: a conversation whose DueAt moves or is cleared, by an
// update or a new mail, is listed by its new time or not at all.
func testDueCleared(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c1, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	c2, _ := mustCreateConversation(t, f.s, f.ib, root(2), t0)
	setDue(t, f.s, &c1, t0.Add(time.Hour), t0.Add(time.Minute))
	setDue(t, f.s, &c2, t0.Add(time.Hour), t0.Add(time.Minute))
	setDue(t, f.s, &c1, time.Time{}, t0.Add(2*time.Minute))

	// A new mail moves c2's time.
	mail := c2
	mail.LastMessageAt = t0.Add(3 * time.Minute)
	mail.DueAt = t0.Add(5 * time.Hour)
	if err := f.s.AppendMessage(t.Context(), mail, []string{root(20)}, nil); err != nil {
		t.Fatalf("AppendMessage: %v", err)
	}
	got, err := f.s.ListDue(t.Context(), t0.Add(4*time.Hour), 10)
	if err != nil || len(got) != 0 {
		t.Errorf("ListDue after clearing and moving = %v, %v; want none", ids(got), err)
	}
	got, err = f.s.ListDue(t.Context(), t0.Add(5*time.Hour), 10)
	if err != nil || len(got) != 1 || got[0].ID != c2.ID || !got[0].DueAt.Equal(mail.DueAt) {
		t.Errorf("ListDue after moving = %v, %v; want %s at %v", got, err, c2.ID, mail.DueAt)
	}
}

// testFlowRoundTrip: a conversation's Flow and DueAt come back as written,
// from create and from update.
func testFlowRoundTrip(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := newConversation(t, f.ib, root(1), t0)
	c.Flow = inbox.Flow{SnoozedUntil: t0.Add(48 * time.Hour), AssignedAt: t0.Add(time.Minute), AutoAssigned: true}
	c.DueAt = t0.Add(48 * time.Hour)
	if err := f.s.CreateConversation(t.Context(), c, []string{root(1)}, created); err != nil {
		t.Fatalf("CreateConversation: %v", err)
	}
	wantConversation(t, f.s, c)
	mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		c.Flow.SnoozedUntil = time.Time{}
		c.DueAt = time.Time{}
		return c.SetStatus(bob, inbox.StatusPending, t0.Add(time.Hour))
	})
	wantConversation(t, f.s, c)
}

// testWorkflowRoundTrip: an inbox's Workflow comes back as written, from
// create and from update.
func testWorkflowRoundTrip(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ib := newInbox(domainA, "sales", "Sales")
	ib.Settings.Workflow = inbox.Workflow{Rules: []inbox.Rule{
		{ID: "r1", Name: "VIP", Conditions: []inbox.Condition{{Field: inbox.FieldFrom, Value: "vip.example"}}, Actions: []inbox.Action{{Kind: inbox.ActionTag, Value: "vip"}}},
		{ID: "r2", Name: "Billing", Actions: []inbox.Action{{Kind: inbox.ActionStop}}},
	}}
	if err := f.s.CreateInbox(t.Context(), ib); err != nil {
		t.Fatalf("CreateInbox: %v", err)
	}
	got, err := f.s.GetInbox(t.Context(), domainA, "sales")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ib, got, cmpOpts); diff != "" {
		t.Errorf("inbox mismatch (-want +got):\n%s", diff)
	}
	updated, err := f.s.UpdateInbox(t.Context(), domainA, "sales", func(ib *inbox.Inbox) error {
		ib.Settings.Workflow.Rules = ib.Settings.Workflow.Rules[:1]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err = f.s.GetInbox(t.Context(), domainA, "sales"); err != nil || len(got.Settings.Workflow.Rules) != 1 {
		t.Errorf("GetInbox after update: %+v, %v", got.Settings.Workflow, err)
	}
	if diff := cmp.Diff(updated, got, cmpOpts); diff != "" {
		t.Errorf("UpdateInbox result mismatch (-want +got):\n%s", diff)
	}
}
