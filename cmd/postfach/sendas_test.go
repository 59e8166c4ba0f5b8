package main

import (
	"context"
	"net/http"
	"net/mail"
	"strings"
	"testing"

	gmail "google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/inbox"
)

// replyNow opens the conversation of rfcID as email and presses Reply, or
// Take over when a colleague holds the reply.
func (h *harness) replyNow(email, rfcID string) response {
	h.t.Helper()
	card := h.open(email, rfcID).card
	label := "Reply"
	if strings.Contains(cardText(card), "Take over") {
		label = "Take over"
	}
	return h.clickOn(email, rfcID, button(h.t, card, label))
}

// draftHeader returns the header of draft id in mailbox's simulated
// Gmail, and the thread the simulator put it in.
func (h *harness) draftHeader(mailbox, id string) (mail.Header, string) {
	h.t.Helper()
	for _, d := range h.app.Gmail.DraftsOf(mailbox) {
		if d.ID == id {
			m, err := mail.ReadMessage(strings.NewReader(string(d.Message.Raw)))
			if err != nil {
				h.t.Fatal(err)
			}
			return m.Header, d.Message.ThreadID
		}
	}
	h.t.Fatalf("no draft %s in %s's mailbox", id, mailbox)
	return nil, ""
}

// sendAsCalls is how many users.settings.sendAs requests mailbox got.
func (h *harness) sendAsCalls(mailbox string) int {
	r := h.gmailRequests(mailbox)
	return r["settings.sendAs.get"] + r["settings.sendAs.list"]
}

// TestReplyAsSharedAddress: Reply drafts come from the inbox's address
// when the member's Gmail has it as an accepted send-as alias (checked
// with the server's delegated access, one users.settings.sendAs.get per
// member and address within five minutes); without the alias, or with a
// pending one, the draft is from the member and the card says why; with
// the inbox set to "own address" it is from the member without asking
// Gmail.
func TestReplyAsSharedAddress(t *testing.T) {
	t.Parallel()
	h := startHarness(t)
	ctx := context.Background()
	const alice, bob, carol, shared = "alice@example.com", "bob@example.com", "carol@example.com", "support@example.com"
	rootID := refund.MessageID(0)
	h.settle()
	if err := h.app.Gmail.AddSendAs(bob, gmailsim.SendAs{SendAsEmail: shared, DisplayName: "Support", VerificationStatus: gmailsim.VerificationAccepted}); err != nil {
		t.Fatal(err)
	}
	if err := h.app.Gmail.AddSendAs(alice, gmailsim.SendAs{SendAsEmail: shared, VerificationStatus: gmailsim.VerificationPending}); err != nil {
		t.Fatal(err)
	}
	c, err := h.app.Store.GetConversation(ctx, "example.com", inbox.ConversationID("support", rootID))
	if err != nil {
		t.Fatal(err)
	}

	// Bob may send as support@: the draft is from it, in his thread,
	// answering the customer.
	before := h.sendAsCalls(bob)
	r := h.replyNow(bob, rootID)
	draftID, threadID := openedDraft(t, r)
	if r.notification != "" || strings.Contains(cardText(r.card), "own address") {
		t.Errorf("bob's reply as support@ explains a fallback: %q %s", r.notification, r.raw)
	}
	hd, stored := h.draftHeader(bob, draftID)
	bobCopy, _ := h.app.Gmail.FindByMessageID(bob, rootID)
	if threadID != bobCopy.ThreadID || stored != bobCopy.ThreadID {
		t.Errorf("draft thread = %q (stored %q), want bob's thread %q", threadID, stored, bobCopy.ThreadID)
	}
	if from, err := mail.ParseAddress(hd.Get("From")); err != nil || from.Address != shared || from.Name != "Support" {
		t.Errorf("bob's draft From = %q, want Support <%s>", hd.Get("From"), shared)
	}
	for k, v := range map[string]string{"In-Reply-To": "<" + rootID + ">", "References": "<" + rootID + ">", "Subject": "Re: " + c.Subject} {
		if got := hd.Get(k); got != v {
			t.Errorf("draft %s = %q, want %q", k, got, v)
		}
	}
	if to, err := mail.ParseAddress(hd.Get("To")); err != nil || to.Address != c.Customer {
		t.Errorf("draft To = %q, want the customer %s", hd.Get("To"), c.Customer)
	}
	if n := h.sendAsCalls(bob) - before; n != 1 {
		t.Errorf("first Reply: %d sendAs calls, want 1", n)
	}

	// A second Reply within minutes asks Gmail nothing.
	before = h.sendAsCalls(bob)
	if id2, _ := openedDraft(t, h.replyNow(bob, rootID)); id2 == "" {
		t.Fatal("no second draft")
	}
	if n := h.sendAsCalls(bob) - before; n != 0 {
		t.Errorf("Reply with the answer cached: %d sendAs calls, want 0", n)
	}

	// Sent, it leaves as support@: bob's SENT copy keeps the From.
	sent, err := h.gmailAs(bob).Users.Drafts.Send("me", &gmail.Draft{Id: draftID}).Do()
	if err != nil {
		t.Fatalf("drafts.send: %v", err)
	}
	copyOf := func() string {
		for _, m := range h.app.Gmail.MessagesOf(bob) {
			if m.ID == sent.Id {
				if mm, err := mail.ReadMessage(strings.NewReader(string(m.Raw))); err == nil {
					return mm.Header.Get("From")
				}
			}
		}
		return ""
	}
	if from, err := mail.ParseAddress(copyOf()); err != nil || from.Address != shared {
		t.Errorf("bob's sent reply From = %q, want %s", copyOf(), shared)
	}

	// Carol has no alias: her draft is from her, and the card says why
	// and how an admin fixes it.
	r = h.replyNow(carol, rootID)
	draftID, _ = openedDraft(t, r)
	hd, _ = h.draftHeader(carol, draftID)
	if from, err := mail.ParseAddress(hd.Get("From")); err != nil || from.Address != carol {
		t.Errorf("carol's draft From = %q, want carol", hd.Get("From"))
	}
	const why = "You cannot send as support@example.com yet: a Google Workspace admin adds it as an alias"
	if !strings.Contains(r.notification, why) || !strings.Contains(cardText(r.card), why) {
		t.Errorf("carol is not told why her draft is from her: %q\n%s", r.notification, cardText(r.card))
	}

	// Alice's alias is pending: from her, and the card says it is not
	// verified yet.
	r = h.replyNow(alice, rootID)
	draftID, _ = openedDraft(t, r)
	hd, _ = h.draftHeader(alice, draftID)
	if from, err := mail.ParseAddress(hd.Get("From")); err != nil || from.Address != alice {
		t.Errorf("alice's draft From = %q, want alice", hd.Get("From"))
	}
	if !strings.Contains(r.notification, "support@example.com is not verified in your Gmail yet") {
		t.Errorf("alice is not told her alias is pending: %q", r.notification)
	}

	// The inbox replies from the members' own addresses: bob's draft is
	// from bob, nothing is explained and Gmail is not asked.
	st := h.settingsCard(alice)
	sup := h.click(alice, buttonFor(t, st.card, "Edit", "support"), nil)
	if !strings.Contains(cardText(sup.card), "Replies come from") {
		t.Fatalf("the inbox settings lack the reply address: %s", sup.raw)
	}
	saved := h.click(alice, button(t, sup.card, "Save options"), map[string][]string{
		"label_prefix": {"Postfach"}, "reply_status": {"pending"}, "label_language": {"en"}, "reply_from": {"own"},
	})
	if saved.status != http.StatusOK {
		t.Fatalf("save options: %d %s", saved.status, saved.raw)
	}
	if ib, err := h.app.Store.GetInbox(ctx, "example.com", "support"); err != nil || ib.Settings.ReplyFrom != inbox.ReplyFromOwn {
		t.Fatalf("support after saving: %+v %v", ib.Settings, err)
	}
	before = h.sendAsCalls(bob)
	r = h.replyNow(bob, rootID)
	draftID, _ = openedDraft(t, r)
	hd, _ = h.draftHeader(bob, draftID)
	if from, err := mail.ParseAddress(hd.Get("From")); err != nil || from.Address != bob {
		t.Errorf("bob's draft with replies from own addresses: From = %q, want bob", hd.Get("From"))
	}
	if r.notification != "" {
		t.Errorf("own-address reply explains: %q", r.notification)
	}
	if n := h.sendAsCalls(bob) - before; n != 0 {
		t.Errorf("own-address reply: %d sendAs calls, want 0", n)
	}
}
