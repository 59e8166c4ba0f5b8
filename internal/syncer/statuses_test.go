package syncer_test

import (
	"context"
	"slices"
	"testing"
	"time"

	gmail "google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/inbox"
)

// setStage moves a conversation of ib to a status as a member would, and
// mirrors it.
func (e *env) setStage(ib inbox.Inbox, root, actor, stage string) {
	e.t.Helper()
	ctx := context.Background()
	c := e.conv(ib, root)
	ev, err := c.SetStage(ib, actor, stage, e.clock.Now())
	if err != nil {
		e.t.Fatalf("SetStage %s: %v", stage, err)
	}
	if err := e.store.UpdateConversation(ctx, c, ev); err != nil {
		e.t.Fatal(err)
	}
	if err := e.syncer.ConversationChanged(ctx, c); err != nil {
		e.t.Fatal(err)
	}
	e.settle()
}

// changeInbox stores a change of the support inbox and lets the syncer
// rename (and delete) its labels.
func (e *env) changeInbox(before inbox.Inbox, change func(*inbox.Inbox)) inbox.Inbox {
	e.t.Helper()
	ctx := context.Background()
	after, err := e.store.UpdateInbox(ctx, before.TenantID, before.ID, func(ib *inbox.Inbox) error { change(ib); return nil })
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.syncer.InboxChanged(ctx, before, after); err != nil {
		e.t.Fatalf("InboxChanged: %v", err)
	}
	e.settle()
	return after
}

// TestCustomStatusLabels: the support inbox gets statuses of its own (the
// built-in Pending renamed "Waiting on customer", a second pending status
// "Waiting on supplier"). Each status is a label; a thread carries the label
// of its conversation's status; a member applying a status label in Gmail
// sets that status (and the echo of the relabelling changes nothing more);
// renaming a status renames its label in place (same id, the thread keeps
// it); removing a status deletes its label in every mailbox and its
// conversations, moved to another status, carry that one's label. Before,
// labels were the three built-in ones, paired by position on a rename.
func TestCustomStatusLabels(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		members := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
		e.deliverToGroup(support, mail("Dana <dana@customer.example>", "support@example.com", "", "Refund", "r1@customer.example"))
		e.settle()
		pendingID := e.remembered("bob@example.com")["Postfach/Support/Pending"]
		if pendingID == "" {
			t.Fatal("no Pending label in bob's mailbox")
		}

		ib := e.changeInbox(support, func(ib *inbox.Inbox) {
			ib.Settings.Workflow.Statuses = []inbox.StatusDef{
				{ID: "open", Category: inbox.StatusOpen},
				{ID: "pending", Name: "Waiting on customer", Category: inbox.StatusPending},
				{ID: "closed", Category: inbox.StatusClosed},
				{ID: "supplier", Name: "Waiting on supplier", Category: inbox.StatusPending},
			}
		})
		if got := e.gmailLabels("bob@example.com")["Postfach/Support/Waiting on customer"]; got != pendingID {
			t.Errorf("Waiting on customer has id %q, want Pending's %q", got, pendingID)
		}
		if _, ok := e.gmailLabels("bob@example.com")["Postfach/Support/Pending"]; ok {
			t.Error("Pending is still a label of bob's")
		}

		// A member sets the new status: every thread carries its label.
		e.setStage(ib, "r1@customer.example", "alice@example.com", "supplier")
		for _, m := range members {
			if got, want := e.nestedLabels(m, "r1@customer.example"), []string{"Postfach/Support/Waiting on supplier"}; !slices.Equal(got, want) {
				t.Errorf("%s: thread carries %v, want %v", m, got, want)
			}
		}
		if c := e.conv(ib, "r1@customer.example"); c.Status != inbox.StatusPending || c.Flow.Stage != "supplier" {
			t.Fatalf("after setting the stage: %s/%q", c.Status, c.Flow.Stage)
		}

		// Carol applies "Waiting on customer" in Gmail: that status, by her.
		e.clock.Advance(2 * time.Minute)
		carol := e.gmailAs("carol@example.com")
		m, _ := e.sim.FindByMessageID("carol@example.com", "r1@customer.example")
		if _, err := carol.Users.Threads.Modify("me", m.ThreadID, &gmail.ModifyThreadRequest{AddLabelIds: []string{e.remembered("carol@example.com")["Postfach/Support/Waiting on customer"]}}).Do(); err != nil {
			t.Fatal(err)
		}
		e.settle()
		c := e.conv(ib, "r1@customer.example")
		if c.Status != inbox.StatusPending || c.Flow.Stage != "pending" || c.UpdatedBy != "carol@example.com" {
			t.Fatalf("after carol's label: %s/%q by %s", c.Status, c.Flow.Stage, c.UpdatedBy)
		}
		version := c.Version
		for _, mb := range members {
			if got, want := e.nestedLabels(mb, "r1@customer.example"), []string{"Postfach/Support/Waiting on customer"}; !slices.Equal(got, want) {
				t.Errorf("%s: thread carries %v after carol's label, want %v", mb, got, want)
			}
		}
		acts, err := e.store.ListActivity(ctx, "example.com", c.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if a := acts[0]; a.Kind != inbox.ActStatus || a.From != "pending:Waiting on supplier" || a.To != "pending:Waiting on customer" {
			t.Errorf("last activity = %s %q→%q", a.Kind, a.From, a.To)
		}
		e.clock.Advance(2 * time.Minute)
		e.settle()
		if got := e.conv(ib, "r1@customer.example").Version; got != version {
			t.Errorf("the echo of the relabelling changed the conversation: version %d, want %d", got, version)
		}

		// Rename "Waiting on supplier": its label keeps its id and threads.
		e.setStage(ib, "r1@customer.example", "alice@example.com", "supplier")
		supplierID := e.remembered("bob@example.com")["Postfach/Support/Waiting on supplier"]
		ib = e.changeInbox(ib, func(ib *inbox.Inbox) {
			ib.Settings.Workflow.Statuses[3].Name = "Supplier"
		})
		if got := e.gmailLabels("bob@example.com")["Postfach/Support/Supplier"]; got != supplierID || supplierID == "" {
			t.Errorf("Supplier has id %q, want the renamed label's %q", got, supplierID)
		}
		for _, mb := range members {
			if got, want := e.nestedLabels(mb, "r1@customer.example"), []string{"Postfach/Support/Supplier"}; !slices.Equal(got, want) {
				t.Errorf("%s: thread carries %v after the rename, want %v", mb, got, want)
			}
		}

		// Remove it, its conversation moved to Closed: the label is gone
		// everywhere and the thread carries Closed.
		before := ib
		ib = e.changeInbox(ib, func(ib *inbox.Inbox) {
			ib.Settings.Workflow.Statuses = ib.Settings.Workflow.Statuses[:3]
		})
		e.setStage(ib, "r1@customer.example", "alice@example.com", "closed")
		for _, mb := range members {
			if _, ok := e.gmailLabels(mb)["Postfach/Support/Supplier"]; ok {
				t.Errorf("%s still has the removed status's label", mb)
			}
			if _, ok := e.remembered(mb)["Postfach/Support/Supplier"]; ok {
				t.Errorf("%s still remembers the removed status's label", mb)
			}
			if got, want := e.nestedLabels(mb, "r1@customer.example"), []string{"Postfach/Support/Closed"}; !slices.Equal(got, want) {
				t.Errorf("%s: thread carries %v after the removal, want %v", mb, got, want)
			}
		}
		// A second run is free.
		used := e.usage(members...)
		if err := e.syncer.InboxChanged(ctx, before, ib); err != nil {
			t.Fatal(err)
		}
		for _, mb := range members {
			if u := e.usage(mb)[mb].units; u != used[mb].units {
				t.Errorf("a second InboxChanged cost %d units in %s", u-used[mb].units, mb)
			}
		}
	})
}
