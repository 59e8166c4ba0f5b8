package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

func setDueCases() []testCase {
	return []testCase{
		{"Moves", testSetDueMoves},
		{"Conflict", testSetDueConflict},
	}
}

// testSetDueMoves: SetDue moves and clears a conversation's due time
// without changing its version, and ListDue follows.
func testSetDueMoves(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	setDue(t, f.s, &c, t0.Add(time.Hour), t0.Add(time.Minute))
	if err := f.s.SetDue(t.Context(), c.TenantID, c.ID, c.Version, t0.Add(5*time.Hour)); err != nil {
		t.Fatalf("SetDue: %v", err)
	}
	c.DueAt = t0.Add(5 * time.Hour)
	wantConversation(t, f.s, c)
	if got, err := f.s.ListDue(t.Context(), t0.Add(4*time.Hour), 10); err != nil || len(got) != 0 {
		t.Errorf("ListDue before the new time = %v, %v; want none", ids(got), err)
	}
	if got, err := f.s.ListDue(t.Context(), t0.Add(5*time.Hour), 10); err != nil || len(got) != 1 {
		t.Errorf("ListDue at the new time = %v, %v; want %s", ids(got), err, c.ID)
	}
	if err := f.s.SetDue(t.Context(), c.TenantID, c.ID, c.Version, time.Time{}); err != nil {
		t.Fatalf("SetDue zero: %v", err)
	}
	c.DueAt = time.Time{}
	wantConversation(t, f.s, c)
	if got, err := f.s.ListDue(t.Context(), t0.Add(24*time.Hour), 10); err != nil || len(got) != 0 {
		t.Errorf("ListDue after clearing = %v, %v; want none", ids(got), err)
	}
}

// testSetDueConflict: SetDue computed from an older version writes
// nothing; an unknown conversation is not found.
func testSetDueConflict(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	old := c.Version
	setDue(t, f.s, &c, t0.Add(time.Hour), t0.Add(time.Minute))
	if err := f.s.SetDue(t.Context(), c.TenantID, c.ID, old, t0.Add(9*time.Hour)); !errors.Is(err, inbox.ErrConflict) {
		t.Errorf("SetDue from an old version = %v, want ErrConflict", err)
	}
	wantConversation(t, f.s, c)
	if err := f.s.SetDue(t.Context(), c.TenantID, "nope", 1, t0); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("SetDue of an unknown conversation = %v, want ErrNotFound", err)
	}
}
