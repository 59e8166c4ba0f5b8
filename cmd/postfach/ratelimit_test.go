package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/inbox"
)

// TestRateLimit: a member who fires card actions faster than their limit
// gets, with HTTP 200, a card that says how long to wait, in their
// language, and nothing is written; another member is not slowed by it,
// the homepage still answers, and the allowance refills with the clock
// (moved by hand: no sleeps).
func TestRateLimit(t *testing.T) {
	t.Parallel()
	clock := &slaClock{}
	clock.Set(time.Now())
	var counted *countingStore
	h := startHarnessWith(t, devConfig{
		Now:       clock.Now,
		RateLimit: httpapi.RateLimit{Burst: 3, PerSecond: 0.25}, // one action per 4 s after the first 3
		WrapStore: func(s inbox.Store) inbox.Store { counted = &countingStore{Store: s}; return counted },
	})
	h.settle()
	conv := inbox.ConversationID("support", refund.MessageID(0))
	note := func(email, locale, text string) response {
		t.Helper()
		ev := addontest.ActionEvent(addontest.Tokens{}, map[string]string{cards.ParamOp: "note", cards.ParamConv: conv, cards.ParamVer: "1"},
			map[string][]string{cards.InputNote: {text}})
		ev.Common.UserLocale = locale
		return h.call(email, h.app.BaseURL+"/addon/action", ev)
	}
	notes := func() int {
		t.Helper()
		ns, err := h.app.Store.ListNotes(t.Context(), "example.com", conv, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(ns)
	}
	accepted := func(r response) bool { return r.status == http.StatusOK && r.card.GetName() == "conversation" }
	limited := func(what string, r response, want ...string) {
		t.Helper()
		if r.status != http.StatusOK || r.card.GetName() != cards.NameRateLimited || r.nav != "pushCard" {
			t.Fatalf("%s: %d %s, want 200 with the rate-limited card", what, r.status, r.raw)
		}
		for _, w := range want {
			if !strings.Contains(cardText(r.card), w) {
				t.Errorf("%s: the card does not say %q: %s", what, w, cardText(r.card))
			}
		}
	}

	for i := range 3 {
		if r := note("bob@example.com", "en-US", "burst"); !accepted(r) {
			t.Fatalf("bob's note %d within the burst: %d %s", i+1, r.status, r.raw)
		}
	}
	before := notes()
	w0 := counted.writes.Load()
	limited("bob's 4th note", note("bob@example.com", "en-US", "too fast"), "You are going too fast", "try again in 4 seconds")
	limited("bob's 5th note, in German", note("bob@example.com", "de-DE", "zu schnell"), "Sie sind zu schnell", "versuchen Sie es in 4 Sekunden erneut")
	if w := counted.writes.Load() - w0; w != 0 || notes() != before {
		t.Errorf("refused actions wrote %d times; notes %d, want %d", w, notes(), before)
	}

	// Carol has her own allowance; bob's homepage is no action.
	if r := note("carol@example.com", "en-US", "carol's"); !accepted(r) {
		t.Errorf("carol's note while bob is limited: %d %s", r.status, r.raw)
	}
	if r := h.homepage("bob@example.com"); r.status != http.StatusOK || r.card.GetName() != "home" {
		t.Errorf("bob's homepage while limited: %d %s", r.status, r.raw)
	}

	// One action per 4 s: after 3 s still refused (1 s to go), after 4 s
	// one goes through, and the next is refused again. The refused
	// attempts took nothing from the allowance.
	clock.Set(clock.Now().Add(3 * time.Second))
	limited("bob after 3 s", note("bob@example.com", "en-US", "early"), "try again in 1 second.")
	clock.Set(clock.Now().Add(time.Second))
	if r := note("bob@example.com", "en-US", "refilled"); !accepted(r) {
		t.Fatalf("bob after the refill: %d %s", r.status, r.raw)
	}
	limited("bob right after", note("bob@example.com", "en-US", "again"), "try again in 4 seconds")
	if got, want := notes(), before+2; got != want {
		t.Errorf("%d notes, want %d (carol's and bob's after the refill)", got, want)
	}
}
