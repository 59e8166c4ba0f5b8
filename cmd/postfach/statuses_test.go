package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/inbox"
)

// TestCustomStatuses: alice, an admin, adds the status "Waiting on
// supplier" (a kind of pending) to the support inbox from its settings;
// bob sets a conversation to it on the message card and its thread gets
// the status's label; alice renames the status (the label is renamed in
// place, same id) and then removes it, moving its conversations to
// Closed: the conversation is closed, logged, its thread labelled Closed,
// and the status's label is deleted. Bob, no admin, can neither open the
// statuses screen nor forge its actions.
func TestCustomStatuses(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := startHarnessWith(t, devConfig{Store: storeConfig{Kind: kind}})
			testCustomStatuses(t, h)
		})
	}
}

func testCustomStatuses(t *testing.T, h *harness) {
	ctx := context.Background()
	const rfc = "st1@customer.example"
	h.deliver("support@example.com", "From: Nora <nora@customer.example>\r\nTo: support@example.com\r\nSubject: Missing part\r\nMessage-ID: <"+rfc+">\r\n\r\nA part is missing.\r\n")
	eventually(t, "labelled Open in bob's mailbox", func() bool {
		return slices.Equal(h.threadLabels("bob@example.com", rfc), []string{"Postfach/Support/Open"})
	})

	// Bob is no admin: no screen, no action, nothing written.
	if r := h.call("bob@example.com", h.app.BaseURL+"/addon/action", addontest.ActionEvent(addontest.Tokens{},
		map[string]string{"op": "inbox-statuses", "inbox": "support"}, nil)); r.card == nil || r.card.GetName() == "inbox-statuses" {
		t.Fatalf("bob opened the statuses screen: %d %s", r.status, r.raw)
	}
	h.call("bob@example.com", h.app.BaseURL+"/addon/action", addontest.ActionEvent(addontest.Tokens{},
		map[string]string{"op": "admin-status-add", "inbox": "support"}, map[string][]string{"status_name": {"Forged"}, "status_category": {"open"}}))
	if ib, err := h.app.Store.GetInbox(ctx, "example.com", "support"); err != nil || len(ib.Settings.Workflow.Statuses) != 0 {
		t.Fatalf("after bob's forged action: %+v %v", ib.Settings.Workflow.Statuses, err)
	}

	// Alice adds the status.
	st := h.settingsCard("alice@example.com")
	sup := h.click("alice@example.com", buttonFor(t, st.card, "Edit", "support"), nil)
	sts := h.click("alice@example.com", button(t, sup.card, "Statuses"), nil)
	if sts.status != http.StatusOK || sts.card.GetName() != "inbox-statuses" {
		t.Fatalf("statuses screen: %d %s", sts.status, sts.raw)
	}
	if r := h.click("alice@example.com", button(t, sts.card, "Add"), map[string][]string{"status_name": {"A/B"}, "status_category": {"pending"}}); !strings.Contains(r.notification, "/") || r.card != nil {
		t.Fatalf("a name with a slash: %q %s", r.notification, r.raw)
	}
	added := h.click("alice@example.com", button(t, sts.card, "Add"), map[string][]string{"status_name": {" Waiting on  supplier "}, "status_category": {"pending"}})
	if added.status != http.StatusOK || added.card.GetName() != "inbox-statuses" || !strings.Contains(added.notification, "Waiting on supplier") {
		t.Fatalf("add status: %d %q %s", added.status, added.notification, added.raw)
	}
	ib, err := h.app.Store.GetInbox(ctx, "example.com", "support")
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := ib.StatusDef("waiting-on-supplier"); !ok || d.Name != "Waiting on supplier" || d.Category != inbox.StatusPending || len(ib.StatusDefs()) != 4 {
		t.Fatalf("statuses after adding: %+v", ib.Settings.Workflow.Statuses)
	}

	// Saving the inbox's options keeps its statuses (they used to be
	// replaced with the rest of the settings).
	if r := h.call("alice@example.com", h.app.BaseURL+"/addon/action", addontest.ActionEvent(addontest.Tokens{},
		map[string]string{"op": "admin-set-options", "inbox": "support"},
		map[string][]string{"label_prefix": {"Postfach"}, "reply_status": {"pending"}, "label_language": {"en"}})); r.status != http.StatusOK {
		t.Fatalf("save options: %d %s", r.status, r.raw)
	}
	if ib, err = h.app.Store.GetInbox(ctx, "example.com", "support"); err != nil || len(ib.StatusDefs()) != 4 {
		t.Fatalf("statuses after saving the options: %+v %v", ib.Settings.Workflow.Statuses, err)
	}

	// Bob sets the conversation to it on the message card.
	card := h.open("bob@example.com", rfc)
	set := h.click("bob@example.com", button(t, card.card, "Waiting on supplier"), nil)
	if set.status != http.StatusOK || !strings.Contains(cardText(set.card), "Waiting on supplier") {
		t.Fatalf("set status: %d %s", set.status, set.raw)
	}
	eventually(t, "labelled Waiting on supplier in bob's mailbox", func() bool {
		return slices.Equal(h.threadLabels("bob@example.com", rfc), []string{"Postfach/Support/Waiting on supplier"})
	})
	labelID := h.labelIDs("bob@example.com")["Postfach/Support/Waiting on supplier"]

	// Alice renames it: same label, new name.
	renamed := h.click("alice@example.com", buttonFor(t, added.card, "Rename", "waiting-on-supplier"), map[string][]string{"status_name_waiting-on-supplier": {"Supplier"}})
	if renamed.status != http.StatusOK || !strings.Contains(renamed.notification, "Supplier") {
		t.Fatalf("rename status: %d %q %s", renamed.status, renamed.notification, renamed.raw)
	}
	eventually(t, "the label renamed in bob's mailbox", func() bool {
		return slices.Equal(h.threadLabels("bob@example.com", rfc), []string{"Postfach/Support/Supplier"})
	})
	if got := h.labelIDs("bob@example.com")["Postfach/Support/Supplier"]; got != labelID {
		t.Errorf("Supplier has id %q, want %q", got, labelID)
	}

	// Alice removes it, moving its conversations to Closed.
	confirm := h.click("alice@example.com", buttonFor(t, renamed.card, "Remove…", "waiting-on-supplier"), nil)
	if confirm.card.GetName() != "status-remove" {
		t.Fatalf("remove confirmation: %s", confirm.raw)
	}
	removed := h.click("alice@example.com", button(t, confirm.card, "Remove and move"), map[string][]string{"status_target": {"closed"}})
	id := inbox.ConversationID("support", rfc)
	if removed.status != http.StatusOK || removed.card.GetName() != "inbox-statuses" || !strings.Contains(removed.notification, "1 conversation moved") {
		// "0 conversations moved" was the stale label echo (see
		// syncer.mirror): the log shows who moved it out of the status.
		acts, _ := h.app.Store.ListActivity(ctx, "example.com", id, 50)
		t.Fatalf("remove status: %d %q %s\nactivity: %+v", removed.status, removed.notification, removed.raw, acts)
	}
	c, err := h.app.Store.GetConversation(ctx, "example.com", id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != inbox.StatusClosed || c.Flow.Stage != "closed" || c.UpdatedBy != "alice@example.com" {
		t.Errorf("after the removal: %s/%q by %s", c.Status, c.Flow.Stage, c.UpdatedBy)
	}
	acts, err := h.app.Store.ListActivity(ctx, "example.com", id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if a := acts[0]; a.Kind != inbox.ActStatus || a.From != "pending:Supplier" || a.To != "closed" {
		t.Errorf("last activity = %s %q→%q, want status pending:Supplier→closed", a.Kind, a.From, a.To)
	}
	eventually(t, "the thread labelled Closed and the label deleted in bob's mailbox", func() bool {
		_, left := h.labelIDs("bob@example.com")["Postfach/Support/Supplier"]
		return !left && slices.Equal(h.threadLabels("bob@example.com", rfc), []string{"Postfach/Support/Closed"})
	})
}
