package syncer_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/postfach/postfach/internal/inbox"
)

// TestCountsAfterResync ingests mail, assigns and closes conversations,
// expires the history so that the next sync is a full resync, and checks
// on both stores that every inbox's kept counts equal a recount by
// CountConversations afterwards, and that the scheduled reconciliation
// finds nothing to repair.
func TestCountsAfterResync(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		for i := range 3 {
			e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Before", fmt.Sprintf("before%d@customer.example", i)))
		}
		e.settle()
		c := e.conv(support, "before0@customer.example")
		ev, err := c.Assign(support, "alice@example.com", "carol@example.com", e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.UpdateConversation(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
		closed := e.conv(support, "before1@customer.example")
		if ev, err = closed.SetStatus("alice@example.com", inbox.StatusClosed, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if err := e.store.UpdateConversation(ctx, closed, ev); err != nil {
			t.Fatal(err)
		}
		e.take()
		for i := range 2 {
			e.deliverToGroup(support, mail("d@customer.example", "support@example.com", "", "During", fmt.Sprintf("during%d@customer.example", i)))
		}
		notes := e.take()
		for _, m := range mailboxes {
			if err := e.sim.ExpireHistory(m, notes[len(notes)-1].HistoryID); err != nil {
				t.Fatal(err)
			}
		}
		e.push(e.syncer, notes)
		e.settle()

		for _, ib := range []inbox.Inbox{support, sales} {
			got, err := e.store.InboxCounts(ctx, "example.com", ib.ID)
			if err != nil {
				t.Fatal(err)
			}
			count := func(q inbox.ConversationQuery) int {
				q.TenantID, q.InboxID = "example.com", ib.ID
				n, err := e.store.CountConversations(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			active := []inbox.Status{inbox.StatusOpen, inbox.StatusPending}
			want := inbox.Counts{
				Open:       count(inbox.ConversationQuery{Statuses: []inbox.Status{inbox.StatusOpen}}),
				Pending:    count(inbox.ConversationQuery{Statuses: []inbox.Status{inbox.StatusPending}}),
				Closed:     count(inbox.ConversationQuery{Statuses: []inbox.Status{inbox.StatusClosed}}),
				Unassigned: count(inbox.ConversationQuery{Statuses: active, Assignee: inbox.Unassigned}),
			}
			if n := count(inbox.ConversationQuery{Statuses: active, Assignee: "carol@example.com"}); n > 0 {
				want.Assigned = map[string]int{"carol@example.com": n}
			}
			if !got.Equal(want) {
				t.Errorf("InboxCounts(%s) after the resync = %+v, a recount gives %+v", ib.ID, got, want)
			}
			if ib.ID == support.ID && (want.Open != 4 || want.Closed != 1 || want.Assigned["carol@example.com"] != 1) {
				t.Errorf("support after the resync: %+v, want 4 open (one carol's) and 1 closed", want)
			}
		}
		rep, err := e.syncer.ReconcileCounts(ctx)
		if err != nil || len(rep.Repaired) != 0 || len(rep.Failed) != 0 || rep.Inboxes != 2 {
			t.Errorf("ReconcileCounts after the resync = %+v, %v; want 2 inboxes, nothing repaired", rep, err)
		}
	})
}
