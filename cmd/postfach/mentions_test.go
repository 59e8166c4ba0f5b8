package main

import (
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"testing"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/inbox"
)

// noteAction finds the action of the note on a conversation card whose
// text is body (tapping a note opens its card).
func noteAction(t *testing.T, c *cardpb.Card, body string) *cardpb.Action {
	t.Helper()
	var found *cardpb.Action
	eachAction(c, func(label string, a *cardpb.Action) {
		if strings.HasSuffix(label, "|"+body) && found == nil {
			found = a
		}
	})
	if found == nil {
		t.Fatalf("card %q shows no note %q: %s", c.GetName(), body, cardText(c))
	}
	return found
}

// mentionMails returns the mails in mailbox whose subject starts with
// prefix.
func mentionMails(h *harness, mailbox, prefix string) []gmailsim.Message {
	var out []gmailsim.Message
	for _, m := range h.app.Gmail.MessagesOf(mailbox) {
		if strings.HasPrefix(m.Subject, prefix) {
			out = append(out, m)
		}
	}
	return out
}

// TestMentions walks notes with @mentions, their edits and deletion
// through HTTP with signed tokens: the Mentions list, the mail in the
// simulator, the refusals, and the history the log keeps.
func TestMentions(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testMentions(t, startHarnessWith(t, devConfig{Store: storeConfig{Kind: kind}}))
		})
	}
}

func testMentions(t *testing.T, h *harness) {
	ctx := context.Background()
	const alice, bob, carol, dave = "alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"
	rootID := refund.MessageID(0)
	convID := inbox.ConversationID("support", rootID)
	h.settle()
	conversations := func() int {
		n, err := h.app.Store.CountConversations(ctx, inbox.ConversationQuery{TenantID: "example.com", InboxID: "support"})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := conversations()
	c, err := h.app.Store.GetConversation(ctx, "example.com", convID)
	if err != nil {
		t.Fatal(err)
	}

	unread := func(email string) int {
		ms, err := h.app.Store.ListMentions(ctx, "example.com", email, true, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(ms)
	}
	carolsUnread := unread(carol) // the demo's own

	// Bob mentions carol in a note.
	card := h.open(bob, rootID).card
	const first = "@carol can you check the invoice?"
	r := h.click(bob, button(t, card, "Add note"), map[string][]string{"note": {first}})
	if r.status != http.StatusOK || r.notification != "Note saved; Carol was notified" {
		t.Fatalf("note with a mention: %d %q %s", r.status, r.notification, r.raw)
	}

	// Carol's homepage lists it as unread.
	home := h.homepage(carol).card
	if got := cardText(home); !strings.Contains(got, fmt.Sprintf("Mentions · %d unread", carolsUnread+1)) || !strings.Contains(got, first) {
		t.Errorf("carol's homepage does not list the mention: %s", got)
	}
	// Bob's does not: he wrote it.
	if got := cardText(h.homepage(bob).card); !strings.Contains(got, "No unread mentions") {
		t.Errorf("bob's homepage lists a mention: %s", got)
	}

	// And she got a mail from bob's mailbox (the demo's Support is a
	// group, so there is no shared mailbox to send from) with a link to
	// the conversation.
	mails := mentionMails(h, carol, "Bob mentioned you")
	if len(mails) != 1 {
		t.Fatalf("carol has %d mention mails, want 1", len(mails))
	}
	m, err := mail.ReadMessage(strings.NewReader(string(mails[0].Raw)))
	if err != nil {
		t.Fatal(err)
	}
	if from, err := mail.ParseAddress(m.Header.Get("From")); err != nil || from.Address != bob {
		t.Errorf("mention mail From = %q, want bob", m.Header.Get("From"))
	}
	if got := m.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("mention mail Auto-Submitted = %q", got)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"> " + first, "rfc822msgid:" + rootID, "Bob mentioned you in an internal note"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("mention mail body lacks %q:\n%s", want, body)
		}
	}
	// The sync reads that mail in carol's and bob's mailboxes, and it
	// opens no conversation.
	h.settle()
	if n := conversations(); n != before {
		t.Errorf("the mention mail changed Support's conversations: %d, want %d", n, before)
	}

	// Mentioning dave, who is not in Support, is refused: nothing saved,
	// nothing sent.
	notes, _ := h.app.Store.ListNotes(ctx, "example.com", convID, 50)
	r = h.click(bob, button(t, card, "Add note"), map[string][]string{"note": {"@dave please look"}})
	if r.status != http.StatusOK || !strings.HasPrefix(r.notification, "@dave is not a member of Support") || r.card != nil {
		t.Errorf("mentioning dave: %d %q", r.status, r.notification)
	}
	if after, _ := h.app.Store.ListNotes(ctx, "example.com", convID, 50); len(after) != len(notes) {
		t.Errorf("the refused note was saved: %d notes, want %d", len(after), len(notes))
	}
	if got := mentionMails(h, dave, "Bob mentioned you"); len(got) != 0 {
		t.Errorf("dave got %d mention mails", len(got))
	}

	// Carol opens the mention: the conversation, and it is read.
	open := h.click(carol, noteAction(t, home, "<b>"+first+"</b>"), nil)
	if open.status != http.StatusOK || open.card.GetName() != "conversation" {
		t.Fatalf("open mention: %d %s", open.status, open.raw)
	}
	if n := unread(carol); n != carolsUnread {
		t.Errorf("carol has %d unread mentions after opening one, want %d", n, carolsUnread)
	}

	// Carol may read bob's note card but not edit it, even with a forged
	// click.
	card = h.open(bob, rootID).card
	bobsNote := h.click(bob, noteAction(t, card, first), nil)
	if bobsNote.status != http.StatusOK || bobsNote.card.GetName() != "note" {
		t.Fatalf("bob's note card: %d %s", bobsNote.status, bobsNote.raw)
	}
	carolsView := h.click(carol, noteAction(t, h.open(carol, rootID).card, first), nil)
	if got := cardText(carolsView.card); strings.Contains(got, `"Save"`) || strings.Contains(got, `"Delete"`) {
		t.Errorf("carol's view of bob's note offers to change it: %s", got)
	}
	forged := h.click(carol, button(t, bobsNote.card, "Save"), map[string][]string{"note_edit": {"carol was here"}})
	if forged.status != http.StatusOK || forged.notification != "Only the author of a note can change or delete it" {
		t.Errorf("carol editing bob's note: %d %q", forged.status, forged.notification)
	}
	if forged := h.click(carol, button(t, bobsNote.card, "Delete"), nil); forged.notification != "Only the author of a note can change or delete it" {
		t.Errorf("carol deleting bob's note: %d %q", forged.status, forged.notification)
	}

	// Bob edits it and names alice too: alice is notified, carol not
	// again; the card goes back to the conversation, which shows the
	// new text as edited.
	const second = "@carol @alice please check the invoice today"
	r = h.click(bob, button(t, bobsNote.card, "Save"), map[string][]string{"note_edit": {second}})
	if r.status != http.StatusOK || r.notification != "Note saved; Alice was notified" || r.card.GetName() != "conversation" {
		t.Fatalf("edit: %d %q %s", r.status, r.notification, r.raw)
	}
	if !strings.Contains(r.raw, `{"pop":true}`) {
		t.Errorf("edit does not pop the note card: %s", r.raw)
	}
	if got := cardText(r.card); !strings.Contains(got, second) || !strings.Contains(got, "edited") || strings.Contains(got, first) {
		t.Errorf("conversation after the edit: %s", got)
	}
	if n := len(mentionMails(h, carol, "Bob mentioned you")); n != 1 {
		t.Errorf("carol has %d mention mails after the edit, want still 1", n)
	}
	if n := len(mentionMails(h, alice, "Bob mentioned you")); n != 1 {
		t.Errorf("alice has %d mention mails, want 1", n)
	}
	// The note card keeps the earlier text.
	hist := h.click(bob, noteAction(t, r.card, second), nil)
	if got := cardText(hist.card); !strings.Contains(got, "Earlier versions") || !strings.Contains(got, first) {
		t.Errorf("note history: %s", got)
	}
	// Alice opens the conversation in Gmail: her mention is read.
	h.open(alice, rootID)
	if unread, err := h.app.Store.ListMentions(ctx, "example.com", alice, true, 10); err != nil || len(unread) != 0 {
		t.Errorf("alice's unread mentions after opening the conversation: %v, %v", unread, err)
	}

	// Bob deletes it: gone from the card and from carol's mentions; the
	// log keeps both texts.
	r = h.click(bob, button(t, hist.card, "Delete"), nil)
	if r.status != http.StatusOK || r.notification != "Note deleted" || strings.Contains(cardText(r.card), second) {
		t.Fatalf("delete: %d %q %s", r.status, r.notification, r.raw)
	}
	ms, err := h.app.Store.ListMentions(ctx, "example.com", carol, false, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ConversationID == convID {
			t.Errorf("carol still has a mention of the deleted note: %+v", m)
		}
	}
	acts, err := h.app.Store.ListActivity(ctx, "example.com", convID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, a := range acts {
		if a.Kind == inbox.ActNoteEdited || a.Kind == inbox.ActNoteDeleted {
			kept = append(kept, string(a.Kind)+":"+a.From)
		}
	}
	want := []string{"note_deleted:" + second, "note_edited:" + first}
	if !slices.Equal(kept, want) {
		t.Errorf("note history in the log = %q, want %q", kept, want)
	}
	if got, err := h.app.Store.GetConversation(ctx, "example.com", convID); err != nil || got.Version != c.Version {
		t.Errorf("notes changed the conversation's version: %d, want %d (%v)", got.Version, c.Version, err)
	}
}
