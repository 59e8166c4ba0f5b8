package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/inbox"
)

// settingsCard opens the Settings universal action as user.
func (h *harness) settingsCard(email string) response {
	return h.call(email, h.app.BaseURL+"/addon/settings", addontest.HomepageEvent(addontest.Tokens{}))
}

// TestAdminSetsUpInbox: alice, an admin, creates the inbox "Billing" with bob
// and carol from the sidebar; they see it on their homepages; bob, who is no
// admin, can neither open the settings nor forge their actions.
func TestAdminSetsUpInbox(t *testing.T) {
	t.Parallel()
	h := startHarness(t)
	ctx := context.Background()

	home := h.homepage("alice@example.com")
	st := h.click("alice@example.com", button(t, home.card, "Settings"), nil)
	if st.status != http.StatusOK || st.card.GetName() != "settings" {
		t.Fatalf("settings from the homepage: %d %s", st.status, st.raw)
	}
	if direct := h.settingsCard("alice@example.com"); direct.status != http.StatusOK || direct.card.GetName() != "settings" {
		t.Fatalf("settings universal action: %d %s", direct.status, direct.raw)
	}
	created := h.click("alice@example.com", button(t, st.card, "Create inbox"), map[string][]string{
		"name": {"Billing"}, "address": {"billing@example.com"}, "emails": {"bob@example.com, carol@example.com"},
	})
	if created.status != http.StatusOK || created.card.GetName() != "inbox-settings" || !strings.Contains(created.notification, "Billing") {
		t.Fatalf("create inbox: %d %q %s", created.status, created.notification, created.raw)
	}
	for _, u := range []string{"bob@example.com", "carol@example.com"} {
		if got := cardText(h.homepage(u).card); !strings.Contains(got, "Billing · billing@example.com") {
			t.Errorf("%s's homepage lacks Billing: %s", u, got)
		}
	}
	if got := cardText(h.homepage("dave@example.com").card); strings.Contains(got, "Billing") {
		t.Errorf("dave sees Billing: %s", got)
	}
	billing := ""
	ibs, _ := h.app.Store.ListInboxes(ctx, "example.com")
	for _, ib := range ibs {
		if ib.Address == "billing@example.com" {
			billing = ib.ID
		}
	}
	if !strings.HasPrefix(billing, "billing-") {
		t.Fatalf("billing's id = %q", billing)
	}

	// Bad input is refused with a message, and nothing is written.
	dup := h.click("alice@example.com", button(t, st.card, "Create inbox"), map[string][]string{
		"name": {"Billing 2"}, "address": {"billing@example.com"}, "emails": {""},
	})
	if dup.status != http.StatusOK || !strings.Contains(dup.notification, "exists already") {
		t.Errorf("duplicate inbox: %d %q", dup.status, dup.notification)
	}
	foreign := h.click("alice@example.com", button(t, st.card, "Create inbox"), map[string][]string{
		"name": {"Evil"}, "address": {"evil@example.com"}, "emails": {"eve@other.example"},
	})
	if !strings.Contains(foreign.notification, "not in example.com") {
		t.Errorf("member of another tenant: %q", foreign.notification)
	}

	// Bob is no admin: Settings shows him only his own preferences, the
	// admin screens refuse him, and so do forged actions.
	for _, r := range []response{h.settingsCard("bob@example.com"), h.call("bob@example.com", h.app.BaseURL+"/addon/action",
		addontest.ActionEvent(addontest.Tokens{}, map[string]string{"op": "settings"}, nil))} {
		if r.status != http.StatusOK || r.card.GetName() != "settings" || strings.Contains(cardText(r.card), "Billing") || strings.Contains(cardText(r.card), "Create inbox") {
			t.Errorf("bob opens settings: %d %s", r.status, r.raw)
		}
	}
	for _, params := range []map[string]string{
		{"op": "inbox-settings", "inbox": billing},
		{"op": "admin-delete-inbox", "inbox": billing},
		{"op": "admin-add-admin", "email": "bob@example.com"},
		{"op": "admin-remove-member", "inbox": billing, "email": "carol@example.com"},
		{"op": "admin-create-inbox"},
	} {
		r := h.call("bob@example.com", h.app.BaseURL+"/addon/action", addontest.ActionEvent(addontest.Tokens{}, params,
			map[string][]string{"name": {"X"}, "address": {"x@example.com"}, "emails": {"bob@example.com"}}))
		if r.status != http.StatusForbidden {
			t.Errorf("bob forges %v: %d %s", params, r.status, r.raw)
		}
	}
	// Eve, admin of another tenant, cannot touch example.com's inbox: in
	// her tenant there is no such inbox, and she is told so.
	r := h.call("eve@other.example", h.app.BaseURL+"/addon/action", addontest.ActionEvent(addontest.Tokens{},
		map[string]string{"op": "admin-delete-inbox", "inbox": billing}, nil))
	if r.status != http.StatusOK || !strings.HasPrefix(r.notification, "This inbox does not exist") {
		t.Errorf("eve deletes billing: %d %s", r.status, r.raw)
	}
	ib, err := h.app.Store.GetInbox(ctx, "example.com", billing)
	if err != nil || len(ib.Members) != 2 {
		t.Fatalf("billing after forged actions: %+v %v", ib, err)
	}
	tn, _ := h.app.Store.GetTenant(ctx, "example.com")
	if tn.IsAdmin("bob@example.com") {
		t.Fatal("bob made himself admin")
	}

	// Removing a member unassigns their open conversations, and says so.
	bobCard := h.open("bob@example.com", refund.MessageID(0))
	if r := h.click("bob@example.com", button(t, bobCard.card, "Assign to me"), nil); r.status != http.StatusOK {
		t.Fatal(r.raw)
	}
	sup := h.click("alice@example.com", buttonFor(t, st.card, "Edit", "support"), nil)
	if sup.card.GetName() != "inbox-settings" {
		t.Fatalf("support settings: %s", sup.raw)
	}
	removeBob := buttonFor(t, sup.card, "Remove", "bob@example.com")
	rm := h.click("alice@example.com", removeBob, nil)
	if rm.status != http.StatusOK || !strings.Contains(rm.notification, "unassigned") {
		t.Fatalf("remove bob: %d %q", rm.status, rm.notification)
	}
	c, err := h.app.Store.GetConversation(ctx, "example.com", inbox.ConversationID("support", refund.MessageID(0)))
	if err != nil || c.Assignee != "" || c.UpdatedBy != "alice@example.com" {
		t.Errorf("bob's conversation after his removal: %+v %v", c, err)
	}
	if got := cardText(h.homepage("bob@example.com").card); strings.Contains(got, "Support ·") {
		t.Errorf("bob still sees Support: %s", got)
	}
	_ = time.Second
}
