package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// TestReassignAfterHours: with "reassign after 2 hours", an auto-assigned
// conversation still open goes to the next agent when the scheduled sweep
// (POST /tasks/sla-sweep with the scheduler's token) finds it due, named
// as the policy's decision; not before, and not once a member chose its
// owner by hand.
func TestReassignAfterHours(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{}
			testReassignAfterHours(t, clock, startHarnessWith(t, devConfig{Now: clock.Now, Store: storeConfig{Kind: kind}}))
		})
	}
}

func testReassignAfterHours(t *testing.T, clock *testClock, h *harness) {
	ctx := context.Background()
	newSalesInbox(t, h)
	setAssignment(t, h, map[string][]string{
		"assign_mode": {"round_robin"}, "assign_agents": {bob, carol}, "assign_reassign": {"2"},
	})
	raw, id := salesMail(1, "Customer <c1@customer.example>", "Where is my order?")
	h.deliver("deals@example.com", raw)
	h.settle()
	c := salesConv(t, h, id)
	first, other := c.Assignee, bob
	if first == bob {
		other = carol
	}
	if first != bob && first != carol || !c.Flow.AutoAssigned || c.DueAt.IsZero() {
		t.Fatalf("after delivery: assignee %q, auto %v, due %v; want bob or carol, auto-assigned, due", first, c.Flow.AutoAssigned, c.DueAt)
	}

	// An hour later it is not due yet.
	clock.Advance(time.Hour)
	if r := h.slaSweep(); r.Reassigned != 0 {
		t.Errorf("sweep after 1 h reassigned %d", r.Reassigned)
	}
	if got := salesConv(t, h, id).Assignee; got != first {
		t.Fatalf("after 1 h: assignee %s, want %s", got, first)
	}

	// Past two hours without a reply it goes to the other agent.
	clock.Advance(90 * time.Minute)
	if r := h.slaSweep(); r.Reassigned != 1 || r.Failed != 0 {
		t.Errorf("sweep after 2.5 h: %+v, want 1 reassigned", r)
	}
	c = salesConv(t, h, id)
	if c.Assignee != other || !c.Flow.AutoAssigned {
		t.Fatalf("after 2.5 h: assignee %s (auto %v), want %s", c.Assignee, c.Flow.AutoAssigned, other)
	}
	acts, err := h.app.Store.ListActivity(ctx, "example.com", c.ID, 1)
	if err != nil || len(acts) != 1 || acts[0].Kind != inbox.ActAssigned || acts[0].Via != inbox.ViaReassign || acts[0].From != first || acts[0].To != other {
		t.Errorf("newest entry = %+v, %v; want assigned %s → %s via %s", acts, err, first, other, inbox.ViaReassign)
	}
	// A second sweep at once does nothing more.
	if r := h.slaSweep(); r.Reassigned != 0 {
		t.Errorf("second sweep reassigned %d", r.Reassigned)
	}

	// The first agent takes it back by hand: a member's choice stays.
	h.settle()
	card := h.open(first, id)
	if r := h.click(first, button(t, card.card, "Assign to me"), nil); r.status != http.StatusOK {
		t.Fatalf("assign to me: %d %s", r.status, r.raw)
	}
	clock.Advance(3 * time.Hour)
	if r := h.slaSweep(); r.Reassigned != 0 {
		t.Errorf("sweep after a manual assignment reassigned %d", r.Reassigned)
	}
	if c = salesConv(t, h, id); c.Assignee != first || c.Flow.AutoAssigned {
		t.Errorf("after the manual assignment: assignee %s (auto %v), want %s by hand", c.Assignee, c.Flow.AutoAssigned, first)
	}
}
