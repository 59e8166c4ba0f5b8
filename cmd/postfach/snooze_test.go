package main

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/demo"
	"github.com/postfach/postfach/internal/inbox"
)

// pickOn clicks a message card's button with the card's date-time picker
// set to at, as Gmail sends a DATE_AND_TIME input.
func (h *harness) pickOn(email, rfcID string, a *cardpb.Action, input string, at time.Time) response {
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
	ev.Common.FormInputs = map[string]addon.FormInput{input: {DateTimeInput: &addon.DateTimeInput{
		MsSinceEpoch: addon.Int64(at.UnixMilli()), HasDate: true, HasTime: true}}}
	ev.Gmail = addontest.MessageEvent(addontest.Tokens{}, m.ID, m.ThreadID, "gmail-access-"+m.ID).Gmail
	return h.call(email, a.GetFunction(), ev)
}

// openList opens an inbox's list, as its button on the homepage does, and
// returns its card's text.
func (h *harness) openList(email, inboxID, filter string) string {
	h.t.Helper()
	r := h.click(email, actionWith(h, cards.ParamOp, cards.OpList, cards.ParamInbox, inboxID, cards.ParamFilter, filter), nil)
	if r.status != http.StatusOK || r.card.GetName() != "list" {
		h.t.Fatalf("list %s/%s: %d %s", inboxID, filter, r.status, r.raw)
	}
	return visibleText(r.card)
}

// gmailIDs are the simulator's ids of every copy of a mail, by mailbox.
func (h *harness) gmailIDs(rfcID string) map[string]string {
	out := map[string]string{}
	for _, u := range demo.Users() {
		for _, m := range h.app.Gmail.MessagesOf(u) {
			if m.MessageID == rfcID {
				out[u] = m.ID + "/" + m.ThreadID
			}
		}
	}
	return out
}

// TestSnooze snoozes conversations from the message card through HTTP with
// signed tokens, on both stores: with a preset and with the date-time
// picker. A snoozed conversation is pending, so it leaves the Open list,
// and its threads carry Postfach/Support/Snoozed in every member's Gmail.
// It wakes at its time through POST /tasks/sla-sweep (the scheduler's
// token), or at once when the customer writes; Unsnooze ends it by hand.
// Gmail's message ids never change: the label is added and removed, the
// message is never re-created.
func TestSnooze(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			// Monday 2 June 2025, 10:00 in Los Angeles (the test events' zone).
			clock := newSLAClock(time.Date(2025, 6, 2, 17, 0, 0, 0, time.UTC))
			h := startHarnessWith(t, devConfig{Store: storeConfig{Kind: kind}, Now: clock.Now})
			testSnooze(t, h, clock)
		})
	}
}

func testSnooze(t *testing.T, h *harness, clock *slaClock) {
	ctx := context.Background()
	const bob = "bob@example.com"
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	mail := func(id, subject string, refs ...string) string {
		raw := "From: Nina <nina@customer.example>\r\nTo: support@example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" + id + ">\r\n"
		if len(refs) > 0 {
			raw += "In-Reply-To: <" + refs[len(refs)-1] + ">\r\nReferences: <" + strings.Join(refs, "> <") + ">\r\n"
		}
		return raw + "Date: " + clock.Now().Format(time.RFC1123Z) + "\r\n\r\nHello.\r\n"
	}
	const timed, replied = "snooze-timed@customer.example", "snooze-reply@customer.example"
	h.deliver("support@example.com", mail(timed, "Parcel tracking"))
	h.deliver("support@example.com", mail(replied, "Wrong colour"))
	h.settle()
	conv := func(rfcID string) inbox.Conversation {
		t.Helper()
		c, err := h.app.Store.GetConversation(ctx, "example.com", inbox.ConversationID("support", rfcID))
		if err != nil {
			t.Fatalf("conversation of %s: %v", rfcID, err)
		}
		return c
	}
	labels := func(rfcID string) []string { return h.threadLabels(bob, rfcID) }
	snoozedLabels := []string{"Postfach/Support/Pending", "Postfach/Support/Snoozed"}
	openLabels := []string{"Postfach/Support/Open"}
	if got := labels(timed); !slices.Equal(got, openLabels) {
		t.Fatalf("labels before the snooze: %v", got)
	}
	ids := map[string]map[string]string{timed: h.gmailIDs(timed), replied: h.gmailIDs(replied)}
	if len(ids[timed]) != 3 || len(ids[replied]) != 3 {
		t.Fatalf("copies in the members' mailboxes: %v", ids)
	}
	if open := h.openList(bob, "support", "open"); !strings.Contains(open, "Parcel tracking") || !strings.Contains(open, "Wrong colour") {
		t.Fatalf("the Open list lacks the new mail:\n%s", open)
	}

	// A preset: tomorrow 9:00 in the user's zone.
	card := h.open(bob, timed)
	r := h.clickOn(bob, timed, button(t, card.card, "Tomorrow 9:00"))
	if r.status != http.StatusOK || r.card == nil {
		t.Fatalf("snooze tomorrow: %d %s", r.status, r.raw)
	}
	tomorrow := time.Date(2025, 6, 3, 9, 0, 0, 0, la)
	if c := conv(timed); !c.Flow.SnoozedUntil.Equal(tomorrow) || c.Status != inbox.StatusPending {
		t.Fatalf("after the preset: status %s, snoozed until %v, want pending until %v", c.Status, c.Flow.SnoozedUntil, tomorrow)
	}
	if txt := visibleText(r.card); !strings.Contains(txt, "Snoozed") || !strings.Contains(txt, "Unsnooze") {
		t.Errorf("the card does not show the snooze:\n%s", txt)
	}

	// The date-time picker: Thursday 14:30 in Los Angeles.
	picked := time.Date(2025, 6, 5, 14, 30, 0, 0, la)
	card = h.open(bob, replied)
	r = h.pickOn(bob, replied, button(t, card.card, "Snooze"), cards.InputSnoozeUntil, picked)
	if r.status != http.StatusOK {
		t.Fatalf("snooze picked: %d %s", r.status, r.raw)
	}
	if c := conv(replied); !c.Flow.SnoozedUntil.Equal(picked) || c.Status != inbox.StatusPending {
		t.Fatalf("after the picker: status %s, snoozed until %v, want pending until %v", c.Status, c.Flow.SnoozedUntil, picked)
	}
	h.settle()
	for _, id := range []string{timed, replied} {
		for _, u := range []string{"alice@example.com", bob, "carol@example.com"} {
			if got := h.threadLabels(u, id); !slices.Equal(got, snoozedLabels) {
				t.Errorf("%s's labels of %s while snoozed: %v, want %v", u, id, got, snoozedLabels)
			}
		}
	}
	if open := h.openList(bob, "support", "open"); strings.Contains(open, "Parcel tracking") || strings.Contains(open, "Wrong colour") {
		t.Errorf("the Open list still shows a snoozed conversation:\n%s", open)
	}

	// The sweep wakes the first at its time, not a minute before.
	clock.Set(tomorrow.Add(-time.Minute))
	if res := h.slaSweep(); res.Woke != 0 {
		t.Errorf("sweep a minute early woke %d", res.Woke)
	}
	clock.Set(tomorrow)
	if res := h.slaSweep(); res.Woke != 1 {
		t.Errorf("sweep on time: %+v, want one woken", res)
	}
	if res := h.slaSweep(); res.Woke != 0 {
		t.Errorf("a second sweep woke %d again", res.Woke)
	}
	h.settle()
	if c := conv(timed); c.Snoozed() || c.Status != inbox.StatusOpen {
		t.Errorf("after its time: status %s, snoozed until %v", c.Status, c.Flow.SnoozedUntil)
	}
	if got := labels(timed); !slices.Equal(got, openLabels) {
		t.Errorf("labels after waking on time: %v, want %v", got, openLabels)
	}
	if c := conv(replied); !c.Snoozed() {
		t.Errorf("the sweep woke the conversation snoozed until Thursday")
	}

	// The customer writes: the second wakes at once, long before Thursday.
	clock.Set(tomorrow.Add(2 * time.Hour))
	const reply = "snooze-reply.2@customer.example"
	h.deliver("support@example.com", mail(reply, "Re: Wrong colour", replied))
	h.settle()
	if c := conv(replied); c.Snoozed() || c.Status != inbox.StatusOpen {
		t.Errorf("after the customer's reply: status %s, snoozed until %v", c.Status, c.Flow.SnoozedUntil)
	}
	if got := labels(replied); !slices.Equal(got, openLabels) {
		t.Errorf("labels after the reply: %v, want %v", got, openLabels)
	}
	if open := h.openList(bob, "support", "open"); !strings.Contains(open, "Parcel tracking") || !strings.Contains(open, "Wrong colour") {
		t.Errorf("the Open list lacks a woken conversation:\n%s", open)
	}

	// Unsnooze: snoozed until next Monday, then ended by hand.
	card = h.open(bob, timed)
	r = h.clickOn(bob, timed, button(t, card.card, "Next Monday 9:00"))
	if c := conv(timed); r.status != http.StatusOK || !c.Flow.SnoozedUntil.Equal(time.Date(2025, 6, 9, 9, 0, 0, 0, la)) {
		t.Fatalf("snooze until Monday: %d, snoozed until %v", r.status, c.Flow.SnoozedUntil)
	}
	r = h.clickOn(bob, timed, button(t, r.card, "Unsnooze"))
	if c := conv(timed); r.status != http.StatusOK || c.Snoozed() || c.Status != inbox.StatusOpen {
		t.Fatalf("unsnooze: %d, status %s, snoozed until %v", r.status, c.Status, c.Flow.SnoozedUntil)
	}
	h.settle()
	if got := labels(timed); !slices.Equal(got, openLabels) {
		t.Errorf("labels after Unsnooze: %v, want %v", got, openLabels)
	}
	if c := conv(timed); c.Status != inbox.StatusOpen {
		t.Errorf("after Unsnooze and the sync of its labels' echo: status %s, want open (the echo of the snooze's Pending label taken for a user's change)", c.Status)
	}

	// What the log says, and the messages Gmail holds: the same ones.
	kinds := func(rfcID string) []string {
		acts, err := h.app.Store.ListActivity(ctx, "example.com", inbox.ConversationID("support", rfcID), 50)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range acts {
			switch a.Kind {
			case inbox.ActSnoozed, inbox.ActUnsnoozed:
				out = append(out, string(a.Kind))
			case inbox.ActWoke:
				out = append(out, string(a.Kind)+" "+a.From)
			}
		}
		slices.Reverse(out) // oldest first
		return out
	}
	if got, want := kinds(timed), []string{"snoozed", "woke time", "snoozed", "unsnoozed"}; !slices.Equal(got, want) {
		t.Errorf("log of %s: %v, want %v", timed, got, want)
	}
	if got, want := kinds(replied), []string{"snoozed", "woke reply"}; !slices.Equal(got, want) {
		t.Errorf("log of %s: %v, want %v", replied, got, want)
	}
	for id, before := range ids {
		if after := h.gmailIDs(id); !maps.Equal(before, after) {
			t.Errorf("Gmail ids of %s changed: %v, now %v", id, before, after)
		}
	}
}
