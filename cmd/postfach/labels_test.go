package main

import (
	"context"
	"net/http"
	"slices"
	"testing"

	gmail "google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/inbox"
)

// labelIDs returns a user's labels by name.
func (h *harness) labelIDs(email string) map[string]string {
	h.t.Helper()
	var ls *gmail.ListLabelsResponse
	ls, err := h.gmailAs(email).Users.Labels.List("me").Do()
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range ls.Labels {
		out[l.Name] = l.Id
	}
	return out
}

// TestLabelLanguage: an admin switches the support inbox's labels to German
// with the inbox settings' "Save options"; the labels in a member's Gmail are
// renamed in place (same ids, so the thread keeps its label) and new mail is
// labelled in German. An inbox created by an admin who uses Postfach in
// German starts with German labels. Before, labels were always English.
func TestLabelLanguage(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := startHarnessWith(t, devConfig{Store: storeConfig{Kind: kind}})
			testLabelLanguage(t, h)
		})
	}
}

func testLabelLanguage(t *testing.T, h *harness) {
	ctx := context.Background()
	h.deliver("support@example.com", "From: Nora <nora@customer.example>\r\nTo: support@example.com\r\nSubject: Broken invoice\r\nMessage-ID: <lang1@customer.example>\r\n\r\nThe invoice is broken.\r\n")
	eventually(t, "labelled Open in bob's mailbox", func() bool {
		return slices.Equal(h.threadLabels("bob@example.com", "lang1@customer.example"), []string{"Postfach/Support/Open"})
	})
	open := h.labelIDs("bob@example.com")["Postfach/Support/Open"]

	st := h.settingsCard("alice@example.com")
	sup := h.click("alice@example.com", buttonFor(t, st.card, "Edit", "support"), nil)
	if sup.card.GetName() != "inbox-settings" {
		t.Fatalf("support settings: %s", sup.raw)
	}
	saved := h.click("alice@example.com", button(t, sup.card, "Save options"), map[string][]string{
		"label_prefix": {"Postfach"}, "reply_status": {"pending"}, "label_language": {"de"},
	})
	if saved.status != http.StatusOK {
		t.Fatalf("save options: %d %s", saved.status, saved.raw)
	}
	if ib, err := h.app.Store.GetInbox(ctx, "example.com", "support"); err != nil || ib.Settings.Language != "de" {
		t.Fatalf("support after saving: %+v %v", ib.Settings, err)
	}
	eventually(t, "the thread's label renamed to Offen in bob's mailbox", func() bool {
		return slices.Equal(h.threadLabels("bob@example.com", "lang1@customer.example"), []string{"Postfach/Support/Offen"})
	})
	// The leaves are renamed one after another (Open, Pending, Closed,
	// Mine): the thread's label can be renamed before the last of them.
	eventually(t, "no English label left in bob's mailbox", func() bool {
		ids := h.labelIDs("bob@example.com")
		for _, old := range []string{"Postfach/Support/Open", "Postfach/Support/Pending", "Postfach/Support/Closed", "Postfach/Support/Mine"} {
			if _, ok := ids[old]; ok {
				return false
			}
		}
		return true
	})
	if ids := h.labelIDs("bob@example.com"); ids["Postfach/Support/Offen"] != open {
		t.Errorf("Offen has id %q, want Open's %q", ids["Postfach/Support/Offen"], open)
	}
	h.deliver("support@example.com", "From: Otto <otto@customer.example>\r\nTo: support@example.com\r\nSubject: Question\r\nMessage-ID: <lang2@customer.example>\r\n\r\nA question.\r\n")
	eventually(t, "new mail labelled Offen in bob's mailbox", func() bool {
		return slices.Equal(h.threadLabels("bob@example.com", "lang2@customer.example"), []string{"Postfach/Support/Offen"})
	})

	// An admin working in German creates an inbox: German labels.
	h.locale = "de-DE"
	r := h.call("alice@example.com", h.app.BaseURL+"/addon/action", addontest.ActionEvent(addontest.Tokens{},
		map[string]string{"op": "admin-create-inbox"},
		map[string][]string{"name": {"Rechnungen"}, "address": {"rechnungen@example.com"}, "emails": {"bob@example.com"}}))
	if r.status != http.StatusOK || r.card.GetName() != "inbox-settings" {
		t.Fatalf("create inbox in German: %d %s", r.status, r.raw)
	}
	ibs, err := h.app.Store.ListInboxes(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ibs, func(ib inbox.Inbox) bool { return ib.Address == "rechnungen@example.com" })
	if i < 0 || ibs[i].Settings.Language != "de" {
		t.Fatalf("inbox created by a German admin: %+v", ibs)
	}
}
