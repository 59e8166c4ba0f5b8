package syncer_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	gmail "google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/inbox"
)

// statusLeaf is a status label's last level in a language, as the
// catalogs word it.
func statusLeaf(lang string, st inbox.Status) string {
	de := map[inbox.Status]string{inbox.StatusOpen: "Offen", inbox.StatusPending: "Wartend", inbox.StatusClosed: "Erledigt"}
	en := map[inbox.Status]string{inbox.StatusOpen: "Open", inbox.StatusPending: "Pending", inbox.StatusClosed: "Closed"}
	if lang == "de" {
		return de[st]
	}
	return en[st]
}

func mineLeaf(lang string) string {
	if lang == "de" {
		return "Meine"
	}
	return "Mine"
}

// root is the label an inbox's tree hangs from.
func root(ib inbox.Inbox) string { return ib.Settings.LabelPrefix + "/" + ib.Name }

// checkLabels asserts that every linked thread of ib carries exactly the
// labels of its conversation's state, named as ib's settings say.
func (e *env) checkLabels(ib inbox.Inbox) {
	e.t.Helper()
	ctx := context.Background()
	page, err := e.store.ListConversations(ctx, inbox.ConversationQuery{TenantID: ib.TenantID, InboxID: ib.ID, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range page.Conversations {
		links, err := e.store.ListThreadLinks(ctx, c.TenantID, c.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, l := range links {
			want := []string{root(ib) + "/" + statusLeaf(ib.Settings.Language, c.Status)}
			if c.Assignee == l.Mailbox {
				want = append(want, root(ib)+"/"+mineLeaf(ib.Settings.Language))
			}
			slices.Sort(want)
			// Every label of the thread, whatever tree: a label left under
			// an old name shows up here too.
			got := e.nestedLabels(l.Mailbox, c.RootMessageID)
			if !slices.Equal(got, want) {
				e.t.Errorf("%q in %s carries %v, want %v", c.Subject, l.Mailbox, got, want)
			}
		}
	}
}

// nestedLabels returns the names of the nested labels (any tree) on the
// thread of a mail in a mailbox.
func (e *env) nestedLabels(user, rfcID string) []string {
	e.t.Helper()
	return slices.DeleteFunc(e.labelNames(user, rfcID, ""), func(n string) bool { return !strings.Contains(n, "/") })
}

// gmailLabels returns a mailbox's user labels by name, read through the
// real client.
func (e *env) gmailLabels(user string) map[string]string {
	e.t.Helper()
	var ls *gmail.ListLabelsResponse
	if err := patient(func() (err error) { ls, err = e.gmailAs(user).Users.Labels.List("me").Do(); return err }); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range ls.Labels {
		if l.Type == "user" {
			out[l.Name] = l.Id
		}
	}
	return out
}

func (e *env) remembered(user string) map[string]string {
	e.t.Helper()
	mb, err := e.store.GetMailbox(context.Background(), user)
	if err != nil {
		e.t.Fatal(err)
	}
	return mb.Labels
}

// TestInboxChangeRenamesLabels: conversations are labelled in every
// member's mailbox; then the inbox's label language becomes German, then
// the inbox is renamed, then its prefix changes. Each time every label of
// the inbox is patched to its new name in place (one labels.patch per
// label per mailbox, nothing else), keeps its id, every thread keeps its
// labels, Mailbox.Labels follows, a second run is free, and new mail is
// labelled in the new tree. Before, the inbox's labels were always English
// and a rename created a second tree while threads kept the stale one.
func TestInboxChangeRenamesLabels(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		members := []string{"alice@example.com", "bob@example.com", "carol@example.com"}

		e.deliverToGroup(support, mail("Dana <dana@customer.example>", "support@example.com", "", "Refund", "r1@customer.example"))
		e.deliverToGroup(support, mail("Eve <eve@customer.example>", "support@example.com", "", "Invoice", "r2@customer.example"))
		e.deliverToGroup(sales, mail("Finn <finn@customer.example>", "sales@example.com", "", "Offer", "s1@customer.example"))
		e.settle()
		// Bob owns the invoice and has closed it: Mine and Closed in his mailbox.
		c := e.conv(support, "r2@customer.example")
		ev, err := c.Assign(support, "alice@example.com", "bob@example.com", e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.UpdateConversation(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
		if ev, err = c.SetStatus("bob@example.com", inbox.StatusClosed, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if err := e.store.UpdateConversation(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
		if err := e.syncer.ConversationChanged(ctx, e.conv(support, "r2@customer.example")); err != nil {
			t.Fatal(err)
		}
		e.settle()
		e.checkLabels(support)

		steps := []struct {
			name    string
			change  func(*inbox.Inbox)
			patches map[string]int // labels.patch per mailbox
		}{
			// The five leaves (three statuses, Snoozed, Mine); the root and
			// the prefix keep their names.
			{"language de", func(ib *inbox.Inbox) { ib.Settings.Language = "de" }, map[string]int{"alice@example.com": 5, "bob@example.com": 5, "carol@example.com": 5}},
			// The root and the leaves.
			{"rename", func(ib *inbox.Inbox) { ib.Name = "Kundendienst" }, map[string]int{"alice@example.com": 6, "bob@example.com": 6, "carol@example.com": 6}},
			// Alice's prefix label is Sales's too: it stays, Team is
			// created when next needed; Bob's and Carol's is renamed.
			{"prefix", func(ib *inbox.Inbox) { ib.Settings.LabelPrefix = "Team" }, map[string]int{"alice@example.com": 6, "bob@example.com": 7, "carol@example.com": 7}},
		}
		before := support
		for i, step := range steps {
			after, err := e.store.UpdateInbox(ctx, "example.com", "support", func(ib *inbox.Inbox) error { step.change(ib); return nil })
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]map[string]string{}
			for _, m := range members {
				ids[m] = e.gmailLabels(m)
			}
			salesLabels := maps.Clone(e.remembered("alice@example.com"))
			maps.DeleteFunc(salesLabels, func(n, _ string) bool { return !strings.HasPrefix(n, "Postfach/Sales") })
			used := e.usage(append(members, "dave@example.com")...)

			if err := e.syncer.InboxChanged(ctx, before, after); err != nil {
				t.Fatalf("%s: InboxChanged: %v", step.name, err)
			}

			now := e.usage(append(members, "dave@example.com")...)
			for _, m := range members {
				reqs := map[string]int{}
				for k, n := range now[m].requests {
					if d := n - used[m].requests[k]; d > 0 {
						reqs[k] = d
					}
				}
				if want := map[string]int{"labels.patch": step.patches[m]}; !maps.Equal(reqs, want) {
					t.Errorf("%s: Gmail calls in %s = %v, want %v", step.name, m, reqs, want)
				}
				// Same ids under the new names; old names forgotten.
				mine := m != "dave@example.com"
				rem := e.remembered(m)
				oldTree, newTree := tree(before, mine), tree(after, mine)
				for k := range oldTree {
					if oldTree[k] == newTree[k] {
						continue
					}
					if k == 0 && m == "alice@example.com" {
						continue // the shared prefix
					}
					if rem[newTree[k]] == "" || rem[newTree[k]] != ids[m][oldTree[k]] {
						t.Errorf("%s: %s remembers %q as %q, want the id %q of %q", step.name, m, newTree[k], rem[newTree[k]], ids[m][oldTree[k]], oldTree[k])
					}
					if _, ok := rem[oldTree[k]]; ok {
						t.Errorf("%s: %s still remembers %q", step.name, m, oldTree[k])
					}
					if got := e.gmailLabels(m)[newTree[k]]; got != ids[m][oldTree[k]] {
						t.Errorf("%s: in %s's Gmail %q has id %q, want %q", step.name, m, newTree[k], got, ids[m][oldTree[k]])
					}
				}
			}
			if d := now["dave@example.com"].units - used["dave@example.com"].units; d != 0 {
				t.Errorf("%s: dave, not in the inbox, was charged %d units", step.name, d)
			}
			gotSales := e.remembered("alice@example.com")
			maps.DeleteFunc(gotSales, func(n, _ string) bool { return !strings.HasPrefix(n, "Postfach/Sales") })
			if !maps.Equal(gotSales, salesLabels) {
				t.Errorf("%s: Sales's labels in alice's mailbox changed: %v, were %v", step.name, gotSales, salesLabels)
			}
			e.checkLabels(after)

			// A retry, or a second instance, changes nothing and costs nothing.
			again := e.usage(members...)
			if err := e.newSyncer("instance-2").InboxChanged(ctx, before, after); err != nil {
				t.Fatalf("%s: second InboxChanged: %v", step.name, err)
			}
			for _, m := range members {
				if u := e.usage(m)[m].units; u != again[m].units {
					t.Errorf("%s: second InboxChanged cost %d units in %s", step.name, u-again[m].units, m)
				}
			}

			// New mail lands in the new tree.
			id := "n" + string(rune('1'+i)) + "@customer.example"
			e.deliverToGroup(support, mail("Gus <gus@customer.example>", "support@example.com", "", "New "+step.name, id))
			e.settle()
			if got, want := e.nestedLabels("carol@example.com", id), []string{root(after) + "/" + statusLeaf(after.Settings.Language, inbox.StatusOpen)}; !slices.Equal(got, want) {
				t.Errorf("%s: new mail carries %v, want %v", step.name, got, want)
			}
			e.checkLabels(after)
			before = after
		}
		if _, ok := e.gmailLabels("alice@example.com")["Team"]; !ok {
			t.Error("the new prefix label Team was not created in alice's mailbox")
		}
	})
}

// tree is an inbox's label names in a member's mailbox (mine) or a shared
// one, parents first.
func tree(ib inbox.Inbox, mine bool) []string {
	out := []string{ib.Settings.LabelPrefix, root(ib)}
	for _, st := range inbox.Statuses {
		out = append(out, root(ib)+"/"+statusLeaf(ib.Settings.Language, st))
	}
	if mine {
		out = append(out, root(ib)+"/"+mineLeaf(ib.Settings.Language))
	}
	return out
}

// TestInboxChangeAfterASync: the inbox's language changes while a sync
// already labelled a thread with the new settings (creating the German
// labels), the user deleted one of the inbox's labels and created a label
// with one of the new names by hand. The labels Postfach created meanwhile
// give way to the renamed ones, so every thread ends with exactly its
// German label; the deleted label is forgotten and created again when
// needed; the user's label is adopted.
func TestInboxChangeAfterASync(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		e.deliverToGroup(support, mail("Dana <dana@customer.example>", "support@example.com", "", "Refund", "r1@customer.example"))
		e.deliverToGroup(support, mail("Eve <eve@customer.example>", "support@example.com", "", "Invoice", "r2@customer.example"))
		e.settle()
		svc := e.gmailAs("carol@example.com")
		if err := svc.Users.Labels.Delete("me", e.remembered("carol@example.com")["Postfach/Support/Closed"]).Do(); err != nil {
			t.Fatal(err)
		}
		mine, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "Postfach/Support/Wartend"}).Do()
		if err != nil {
			t.Fatal(err)
		}
		m, _ := e.sim.FindByMessageID("carol@example.com", "r2@customer.example")
		if _, err := svc.Users.Messages.Modify("me", m.ID, &gmail.ModifyMessageRequest{AddLabelIds: []string{mine.Id}}).Do(); err != nil {
			t.Fatal(err)
		}
		open := e.remembered("bob@example.com")["Postfach/Support/Open"]

		after, err := e.store.UpdateInbox(ctx, "example.com", "support", func(ib *inbox.Inbox) error { ib.Settings.Language = "de"; return nil })
		if err != nil {
			t.Fatal(err)
		}
		// A sync sees the new settings first: it creates the German labels.
		if err := e.syncer.Sync(ctx, "bob@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.gmailLabels("bob@example.com")["Postfach/Support/Offen"]; !ok {
			t.Fatal("the sync did not create the German labels: no race to test")
		}
		if err := e.syncer.InboxChanged(ctx, support, after); err != nil {
			t.Fatalf("InboxChanged: %v", err)
		}
		e.settle()
		e.checkLabels(after)
		if got := e.remembered("bob@example.com")["Postfach/Support/Offen"]; got != open {
			t.Errorf("bob remembers Offen as %q, want the renamed Open %q", got, open)
		}
		if got := e.remembered("carol@example.com")["Postfach/Support/Wartend"]; got != mine.Id {
			t.Errorf("carol remembers Wartend as %q, want her own label %q", got, mine.Id)
		}
		// Carol's deleted Closed comes back as Erledigt when needed.
		c := e.conv(support, "r2@customer.example")
		ev, err := c.SetStatus("bob@example.com", inbox.StatusClosed, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.UpdateConversation(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
		if err := e.syncer.ConversationChanged(ctx, e.conv(support, "r2@customer.example")); err != nil {
			t.Fatal(err)
		}
		e.settle()
		e.checkLabels(after)
		if _, ok := e.gmailLabels("carol@example.com")["Postfach/Support/Erledigt"]; !ok {
			t.Error("Erledigt was not created again in carol's mailbox")
		}
	})
}
