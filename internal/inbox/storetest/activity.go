package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func activityCases() []testCase {
	return []testCase{
		{"Order", testActivityOrder},
		{"Limit", testActivityLimit},
		{"SameTimeByID", testActivitySameTimeByID},
		{"PerConversation", testActivityPerConversation},
	}
}

// logFixture stores a conversation and four more entries, one minute apart:
// assigned, status, note, tagged. It returns the log newest first.
func logFixture(t *testing.T, f *fixture) (inbox.Conversation, []inbox.Activity) {
	t.Helper()
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	assigned := mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.Assign(f.ib, alice, bob, t0.Add(1*time.Minute))
	})
	status := mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus(bob, inbox.StatusPending, t0.Add(2*time.Minute))
	})
	_, noted := mustAddNote(t, f.s, c, bob, "Waiting for the invoice.", t0.Add(3*time.Minute))
	tagged := mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.AddTag(bob, "invoice", t0.Add(4*time.Minute))
	})
	return c, []inbox.Activity{tagged, noted, status, assigned, created}
}

func testActivityOrder(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, want := logFixture(t, f)
	wantActivity(t, f.s, domainA, c.ID, want...)
}

func testActivityLimit(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, log := logFixture(t, f)
	for _, limit := range []int{1, 2, 5, 6} {
		got, err := f.s.ListActivity(t.Context(), domainA, c.ID, limit)
		if err != nil {
			t.Fatalf("ListActivity(limit %d): %v", limit, err)
		}
		want := log[:min(limit, len(log))]
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("ListActivity(limit %d) mismatch (-want +got):\n%s", limit, diff)
		}
	}
}

// testActivitySameTimeByID: entries of the same instant are ordered by id,
// descending.
func testActivitySameTimeByID(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	log := []inbox.Activity{created}
	for _, st := range []inbox.Status{inbox.StatusPending, inbox.StatusClosed, inbox.StatusOpen, inbox.StatusPending} {
		log = append(log, mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
			return c.SetStatus(alice, st, t0)
		}))
	}
	slices.SortFunc(log, func(a, b inbox.Activity) int { return strings.Compare(b.ID, a.ID) })
	wantActivity(t, f.s, domainA, c.ID, log...)
}

func testActivityPerConversation(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c1, created1 := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	c2, created2 := mustCreateConversation(t, f.s, f.ib, root(2), t0)
	ev := mustChange(t, f.s, &c2, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.Assign(f.ib, alice, alice, t0.Add(time.Minute))
	})
	wantActivity(t, f.s, domainA, c1.ID, created1)
	wantActivity(t, f.s, domainA, c2.ID, ev, created2)
}
