package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/demo"
	"github.com/postfach/postfach/internal/inbox"
)

// openIDs opens a message in user's Gmail with the ids the event carries,
// which a test may forge.
func (h *harness) openIDs(email, messageID, threadID string) response {
	h.t.Helper()
	return h.call(email, h.app.BaseURL+"/addon/message-open", addontest.MessageEvent(addontest.Tokens{}, messageID, threadID, "gmail-access-"+messageID))
}

// gmailRequests is the number of Gmail API requests per method made for a
// mailbox so far, whoever made them (the sync or the sidebar).
func (h *harness) gmailRequests(email string) map[string]int {
	_, requests := h.app.Gmail.Usage(email)
	return requests
}

// settle waits until the sync is idle: no push in flight, no sync running,
// and a round of both that made no Gmail request. Counting requests after
// it counts only what the test then does.
func (h *harness) settle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	usage := func() string {
		var b strings.Builder
		for _, u := range demo.Users() {
			fmt.Fprint(&b, u, h.gmailRequests(u))
		}
		return b.String()
	}
	for prev := ""; ; {
		if err := h.app.cfg.dev.pusher.Flush(ctx); err != nil {
			h.t.Fatalf("settle: %v", err)
		}
		h.app.Syncer.Wait()
		now := usage()
		if now == prev {
			return
		}
		prev = now
	}
}

// since returns the requests per method made after before.
func since(before, after map[string]int) map[string]int {
	d := map[string]int{}
	for m, n := range after {
		if n != before[m] {
			d[m] = n - before[m]
		}
	}
	return d
}

// storeReads reads the store's document-read counter, where it has one
// (Firestore).
func (h *harness) storeReads() (int, bool) {
	s, ok := h.app.Store.(interface{ Stats() (reads, writes int) })
	if !ok {
		return 0, false
	}
	r, _ := s.Stats()
	return r, true
}

// convOf returns the conversation the card's buttons act on.
func convOf(c *cardpb.Card) string {
	conv := ""
	eachAction(c, func(_ string, a *cardpb.Action) {
		for _, p := range a.GetParameters() {
			if p.GetKey() == "conv" && conv == "" {
				conv = p.GetValue()
			}
		}
	})
	return conv
}

// decimal writes a Gmail API id in the add-on's "msg-f:"/"thread-f:" form.
func decimal(t *testing.T, prefix, hexID string) string {
	t.Helper()
	n, err := strconv.ParseUint(hexID, 16, 64)
	if err != nil {
		t.Fatalf("Gmail id %q is not hex: %v", hexID, err)
	}
	return prefix + strconv.FormatUint(n, 10)
}

// TestOpenWithoutGmail counts the Gmail requests of message-open through
// the real wiring: none for mail the sync ingested, one for mail it has not
// seen, and forged thread ids show nothing they should not.
func TestOpenWithoutGmail(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testOpenWithoutGmail(t, startHarnessWith(t, devConfig{Store: storeConfig{Kind: kind}}))
		})
	}
}

func testOpenWithoutGmail(t *testing.T, h *harness) {
	ctx := context.Background()
	const bob = "bob@example.com"
	rootID := refund.MessageID(0)
	convID := inbox.ConversationID("support", rootID)
	m, ok := h.app.Gmail.FindByMessageID(bob, rootID)
	if !ok {
		t.Fatalf("%s has no copy of %s", bob, rootID)
	}
	// The demo's mailboxes are linked and synced before startDev returns:
	// bob's copy of the refund mail is ingested and its thread linked.
	links, err := h.app.Store.FindThreadLinks(ctx, bob, m.ThreadID)
	if err != nil || len(links) == 0 {
		t.Fatalf("FindThreadLinks(%s, %s) = %v, %v; want the demo sync's link", bob, m.ThreadID, links, err)
	}
	h.settle()

	t.Run("ingested mail: no Gmail request", func(t *testing.T) {
		const n = 10
		// The budget is per card in steady state: a first card warms
		// the instance's cache of bob's language preference, which then
		// costs no read for a minute (one read when cold; the
		// preference test counts it).
		if r := h.openIDs(bob, m.ID, m.ThreadID); r.status != http.StatusOK {
			t.Fatalf("warm-up open: %d %s", r.status, r.raw)
		}
		before := h.gmailRequests(bob)
		reads0, counted := h.storeReads()
		for i := range n {
			r := h.openIDs(bob, m.ID, m.ThreadID)
			if r.status != http.StatusOK || r.card.GetName() != "conversation" || convOf(r.card) != convID {
				t.Fatalf("open %d: %d %q conv %q, want the conversation card of %s: %s", i, r.status, r.card.GetName(), convOf(r.card), convID, r.raw)
			}
		}
		// The same mail as the add-on guide writes its ids.
		r := h.openIDs(bob, decimal(t, "msg-f:", m.ID), decimal(t, "thread-f:", m.ThreadID))
		if r.status != http.StatusOK || convOf(r.card) != convID {
			t.Fatalf("open with msg-f:/thread-f: ids: %d conv %q, want %s: %s", r.status, convOf(r.card), convID, r.raw)
		}
		if got := since(before, h.gmailRequests(bob)); len(got) != 0 {
			t.Errorf("%d opens of ingested mail made Gmail requests %v, want none", n+1, got)
		}
		if reads1, _ := h.storeReads(); counted {
			// Issue 9's budget, plus issue 12's presence: the thread
			// link, the conversation with its recent history, the inbox,
			// the presence record (no write: bob's entry is fresh after
			// the warm-up).
			if per := float64(reads1-reads0) / float64(n+1); per > 4 {
				t.Errorf("%d opens read %d documents, %.1f per card, want ≤ 4", n+1, reads1-reads0, per)
			}
		}
	})

	t.Run("mail not ingested: one Gmail read, conversation started", func(t *testing.T) {
		// Gmail's notifications are lost from here on: the sync does not
		// see the new mail, as when it lags or the mailbox is not synced.
		h.app.cfg.dev.forward.Store(false)
		raw := "From: Nina <nina@customer.example>\r\nTo: support@example.com\r\nSubject: Broken widget\r\n" +
			"Message-ID: <widget.0@customer.example>\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\n\r\nIt broke.\r\n"
		got, err := h.app.Gmail.Deliver([]byte(raw), bob)
		if err != nil || len(got) != 1 {
			t.Fatalf("deliver: %v %v", got, err)
		}
		h.settle()
		before := h.gmailRequests(bob)
		r := h.openIDs(bob, got[0].ID, got[0].ThreadID)
		want := inbox.ConversationID("support", "widget.0@customer.example")
		if r.status != http.StatusOK || convOf(r.card) != want {
			t.Fatalf("open: %d conv %q, want the new conversation %s: %s", r.status, convOf(r.card), want, r.raw)
		}
		if got, want := since(before, h.gmailRequests(bob)), map[string]int{"messages.get": 1}; !maps.Equal(got, want) {
			t.Errorf("Gmail requests %v, want %v", got, want)
		}
		c, err := h.app.Store.GetConversation(ctx, "example.com", want)
		if err != nil || c.Subject != "Broken widget" || c.Status != inbox.StatusOpen {
			t.Errorf("stored conversation = %+v, %v; want the open conversation the card started", c, err)
		}
	})

	// Another user replays bob's ids: their own mailbox has no such
	// thread, so Gmail is asked with their token, which refuses bob's
	// message, as it did before the thread links were used.
	for _, who := range []string{"dave@example.com", "eve@other.example"} {
		t.Run("bob's ids sent by "+who, func(t *testing.T) {
			bobBefore, before := h.gmailRequests(bob), h.gmailRequests(who)
			r := h.openIDs(who, m.ID, m.ThreadID)
			if r.status != http.StatusOK || r.card.GetName() == "conversation" || convOf(r.card) != "" || strings.Contains(r.raw, refund.Subject) {
				t.Errorf("%d %q: %s; want no conversation and nothing of it", r.status, r.card.GetName(), r.raw)
			}
			if !strings.Contains(cardText(r.card), "Could not read this mail") {
				t.Errorf("card %s, want Gmail's refusal as before", cardText(r.card))
			}
			if got, want := since(before, h.gmailRequests(who)), map[string]int{"messages.get": 1}; !maps.Equal(got, want) {
				t.Errorf("Gmail requests of %s %v, want %v", who, got, want)
			}
			if got := since(bobBefore, h.gmailRequests(bob)); len(got) != 0 {
				t.Errorf("Gmail requests of bob's mailbox %v, want none", got)
			}
		})
	}
}
