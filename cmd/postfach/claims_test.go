package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/mail"
	"strings"
	"testing"

	gmail "google.golang.org/api/gmail/v1"
	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/inbox"
)

// clickOn follows a button of a message card: Gmail's action event then
// carries the open message's ids and access token, as message-open did.
func (h *harness) clickOn(email, rfcID string, a *cardpb.Action) response {
	h.t.Helper()
	m, ok := h.app.Gmail.FindByMessageID(email, rfcID)
	if !ok {
		h.t.Fatalf("%s has no copy of %s", email, rfcID)
	}
	params := map[string]string{}
	for _, p := range a.GetParameters() {
		params[p.GetKey()] = p.GetValue()
	}
	ev := addontest.ActionEvent(addontest.Tokens{}, params, nil)
	ev.Gmail = addontest.MessageEvent(addontest.Tokens{}, m.ID, m.ThreadID, "gmail-access-"+m.ID).Gmail
	return h.call(email, a.GetFunction(), ev)
}

// openedDraft returns the draft id and thread id of an
// openCreatedDraftActionMarkup response.
func openedDraft(t *testing.T, r response) (string, string) {
	t.Helper()
	var env struct {
		RenderActions struct {
			HostAppAction struct {
				GmailAction struct {
					Open *struct {
						DraftID       string `json:"draftId"`
						DraftThreadID string `json:"draftThreadId"`
					} `json:"openCreatedDraftActionMarkup"`
				} `json:"gmailAction"`
			} `json:"hostAppAction"`
		} `json:"renderActions"`
	}
	if err := json.Unmarshal([]byte(r.raw), &env); err != nil || env.RenderActions.HostAppAction.GmailAction.Open == nil {
		t.Fatalf("not an openCreatedDraftActionMarkup response: %d %s", r.status, r.raw)
	}
	o := env.RenderActions.HostAppAction.GmailAction.Open
	return o.DraftID, o.DraftThreadID
}

// TestReplyClaims walks presence, the reply claim, the draft, take-over
// and flagged replies through HTTP with signed tokens, the simulator and
// the sync.
func TestReplyClaims(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testReplyClaims(t, startHarnessWith(t, devConfig{Store: storeConfig{Kind: kind}}))
		})
	}
}

func testReplyClaims(t *testing.T, h *harness) {
	ctx := context.Background()
	const bob, carol = "bob@example.com", "carol@example.com"
	rootID := refund.MessageID(0)
	convID := inbox.ConversationID("support", rootID)
	h.settle()

	// Bob and carol open the conversation: each sees the other.
	h.open(bob, rootID)
	carolCard := h.open(carol, rootID)
	if got := cardText(carolCard.card); !strings.Contains(got, "Bob is viewing") {
		t.Errorf("carol's card does not show bob viewing: %s", got)
	}
	bobCard := h.open(bob, rootID)
	if got := cardText(bobCard.card); !strings.Contains(got, "Carol is viewing") {
		t.Errorf("bob's card does not show carol viewing: %s", got)
	}

	// Bob presses Reply: a draft in his own copy of the thread, threaded
	// and addressed to the customer.
	r := h.clickOn(bob, rootID, button(t, bobCard.card, "Reply"))
	draftID, threadID := openedDraft(t, r)
	bobCopy, _ := h.app.Gmail.FindByMessageID(bob, rootID)
	if threadID != bobCopy.ThreadID {
		t.Errorf("draft thread = %q, want bob's thread %q", threadID, bobCopy.ThreadID)
	}
	var draftRaw []byte
	for _, d := range h.app.Gmail.DraftsOf(bob) {
		if d.ID == draftID {
			draftRaw = d.Message.Raw
			if d.Message.ThreadID != bobCopy.ThreadID {
				t.Errorf("stored draft thread = %q, want %q", d.Message.ThreadID, bobCopy.ThreadID)
			}
		}
	}
	if draftRaw == nil {
		t.Fatalf("no draft %s in bob's mailbox", draftID)
	}
	dm, err := mail.ReadMessage(strings.NewReader(string(draftRaw)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := h.app.Store.GetConversation(ctx, "example.com", convID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"In-Reply-To": "<" + rootID + ">",
		"References":  "<" + rootID + ">",
		"Subject":     "Re: " + c.Subject,
	}
	for k, v := range want {
		if got := dm.Header.Get(k); got != v {
			t.Errorf("draft %s = %q, want %q", k, got, v)
		}
	}
	if to, err := mail.ParseAddress(dm.Header.Get("To")); err != nil || to.Address != c.Customer {
		t.Errorf("draft To = %q, want the customer %s", dm.Header.Get("To"), c.Customer)
	}
	if from, err := mail.ParseAddress(dm.Header.Get("From")); err != nil || from.Address != bob {
		t.Errorf("draft From = %q, want bob", dm.Header.Get("From"))
	}

	// Bob presses Reply again: Gmail opens the same draft, not a second
	// one. Once he discards it, Reply starts a new one.
	again := h.clickOn(bob, rootID, button(t, bobCard.card, "Reply"))
	if id, _ := openedDraft(t, again); id != draftID {
		t.Errorf("bob's second Reply opened draft %s, want his first, %s", id, draftID)
	}
	if n := len(h.app.Gmail.DraftsOf(bob)); n != 1 {
		t.Errorf("bob has %d drafts after pressing Reply twice, want 1", n)
	}
	if err := h.gmailAs(bob).Users.Drafts.Delete("me", draftID).Do(); err != nil {
		t.Fatalf("drafts.delete: %v", err)
	}
	fresh := h.clickOn(bob, rootID, button(t, bobCard.card, "Reply"))
	if draftID, _ = openedDraft(t, fresh); len(h.app.Gmail.DraftsOf(bob)) != 1 || h.app.Gmail.DraftsOf(bob)[0].ID != draftID {
		t.Errorf("after discarding: Reply opened %s; bob's drafts %v", draftID, h.app.Gmail.DraftsOf(bob))
	}

	// Carol's Reply, from the card she had, is refused: bob is replying.
	refused := h.clickOn(carol, rootID, button(t, carolCard.card, "Reply"))
	if refused.status != http.StatusOK || !strings.HasPrefix(refused.notification, "Bob is replying") {
		t.Fatalf("carol's reply: %d %q %s", refused.status, refused.notification, refused.raw)
	}
	if got := cardText(refused.card); !strings.Contains(got, "Bob is replying") {
		t.Errorf("carol's card after refusal: %s", got)
	}
	if n := len(h.app.Gmail.DraftsOf(carol)); n != 0 {
		t.Errorf("carol has %d drafts after a refused Reply", n)
	}

	// Bob sends his draft: the sync ends the claim and applies the
	// inbox's reply status.
	if _, err := h.gmailAs(bob).Users.Drafts.Send("me", &gmail.Draft{Id: draftID}).Do(); err != nil {
		t.Fatalf("drafts.send: %v", err)
	}
	eventually(t, "bob's claim ended by his sent reply", func() bool {
		p, err := h.app.Store.GetPresence(ctx, "example.com", convID)
		return err == nil && p.Claim.Holder == "" && p.LastReply.By == bob
	})
	if c, _ := h.app.Store.GetConversation(ctx, "example.com", convID); c.Status != inbox.StatusPending {
		t.Errorf("status after bob's reply = %s, want pending (the inbox's reply status)", c.Status)
	}

	// Bob claims again; carol answers from her own Gmail meanwhile: flagged.
	bobCard = h.open(bob, rootID)
	openedDraft(t, h.clickOn(bob, rootID, button(t, bobCard.card, "Reply")))
	raw := "From: Carol <carol@example.com>\r\nTo: " + c.Customer + "\r\nSubject: Re: " + c.Subject +
		"\r\nMessage-ID: <carol-reply@example.com>\r\nIn-Reply-To: <" + rootID + ">\r\nReferences: <" + rootID + ">\r\n\r\nDone.\r\n"
	if _, err := h.gmailAs(carol).Users.Messages.Send("me", &gmail.Message{Raw: base64.URLEncoding.EncodeToString([]byte(raw))}).Do(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "carol's reply flagged", func() bool {
		acts, err := h.app.Store.ListActivity(ctx, "example.com", convID, 10)
		return err == nil && len(acts) > 0 && acts[0].Kind == inbox.ActRepliedDuringClaim && acts[0].Actor == carol && acts[0].From == bob
	})
	if got := cardText(h.open(carol, rootID).card); !strings.Contains(got, "Answered twice") || !strings.Contains(got, "Carol replied while Bob was replying") {
		t.Errorf("carol's card does not flag her reply: %s", got)
	}

	// Carol takes over bob's live claim: logged, and bob's next card says so.
	carolCard = h.open(carol, rootID)
	_, _ = openedDraft(t, h.clickOn(carol, rootID, button(t, carolCard.card, "Take over")))
	if n := len(h.app.Gmail.DraftsOf(carol)); n != 1 {
		t.Errorf("carol has %d drafts after Take over, want 1", n)
	}
	acts, err := h.app.Store.ListActivity(ctx, "example.com", convID, 10)
	if err != nil || acts[0].Kind != inbox.ActReplyTakenOver || acts[0].Actor != carol || acts[0].From != bob {
		t.Errorf("take-over not logged first: %+v %v", acts, err)
	}
	if got := cardText(h.open(bob, rootID).card); !strings.Contains(got, "Carol took over your reply") || !strings.Contains(got, "Carol is replying") {
		t.Errorf("bob is not told of the take-over: %s", got)
	}
}

// TestPresenceCost counts store calls per message-open with presence: the
// first open of a conversation by a user reads 4 (thread link,
// conversation with history, inbox, presence) and writes 1 (the viewer's
// entry); opening it again while the entry is fresh reads 4 and writes
// nothing.
func TestPresenceCost(t *testing.T) {
	t.Parallel()
	var counted *countingStore
	h := startHarnessWith(t, devConfig{WrapStore: func(s inbox.Store) inbox.Store {
		counted = &countingStore{Store: s}
		return counted
	}})
	h.settle()
	h.homepage("bob@example.com") // caches bob's language preference (one read, not presence's)
	rootID := refund.MessageID(0)
	for i, want := range []struct{ reads, writes int64 }{{4, 1}, {4, 0}, {4, 0}} {
		r0, w0 := counted.reads.Load(), counted.writes.Load()
		if r := h.open("bob@example.com", rootID); r.status != http.StatusOK {
			t.Fatalf("open: %d %s", r.status, r.raw)
		}
		if r, w := counted.reads.Load()-r0, counted.writes.Load()-w0; r != want.reads || w != want.writes {
			t.Errorf("open %d: %d reads, %d writes; want %d, %d", i+1, r, w, want.reads, want.writes)
		}
	}
}
