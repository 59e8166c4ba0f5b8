package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/demo"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
)

// slaClock is the harness's controllable clock.
type slaClock struct{ ns atomic.Int64 }

func (c *slaClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *slaClock) Set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func newSLAClock(t time.Time) *slaClock { c := &slaClock{}; c.Set(t); return c }

// sweep calls POST /tasks/sla-sweep as Cloud Scheduler does, with its OIDC
// token for that URL.
func (h *harness) slaSweep() desk.SweepResult {
	h.t.Helper()
	url := h.app.BaseURL + "/tasks/sla-sweep"
	tok, err := h.app.Root.SystemIDToken(url, devSchedulerServiceAccount)
	if err != nil {
		h.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("sla sweep: %s", resp.Status)
	}
	var res desk.SweepResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		h.t.Fatal(err)
	}
	return res
}

// TestSLAScenario: a customer writes on the Thursday before Easter 2024
// at 15:00 in Berlin; with Good Friday and Easter Monday off (and the
// clocks changing on the Sunday), a first-response target of 4 business
// hours is at risk (75 %) on Tuesday at 10:00 and breached at 11:00, a
// resolution target of 16 hours at risk on Wednesday at 11:00 and
// breached at 15:00. Each threshold mails the inbox's admin (nobody owns
// the conversation) exactly once, however often the sweep runs.
func TestSLAScenario(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			berlin, err := time.LoadLocation("Europe/Berlin")
			if err != nil {
				t.Fatal(err)
			}
			at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2024, m, d, hh, mm, 0, 0, berlin) }
			clock := newSLAClock(at(3, 28, 15, 0))
			h := startHarnessWith(t, devConfig{Store: storeConfig{Kind: kind}, Now: clock.Now})
			testSLAScenario(t, h, clock, at)
		})
	}
}

func testSLAScenario(t *testing.T, h *harness, clock *slaClock, at func(time.Month, int, int, int) time.Time) {
	ctx := context.Background()
	const alice, bob = "alice@example.com", "bob@example.com"
	h.settle()
	hours := inbox.OfficeHours("Europe/Berlin")
	hours.Holidays = []string{"2024-03-29", "2024-04-01"}
	if _, err := h.app.Store.UpdateInbox(ctx, "example.com", "support", func(ib *inbox.Inbox) error {
		ib.Settings.Workflow.SLA = inbox.SLAPolicy{FirstResponse: 4 * time.Hour, Resolution: 16 * time.Hour, Hours: hours}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	raw := "From: Nina <nina@customer.example>\r\nTo: support@example.com\r\nSubject: Easter order\r\n" +
		"Message-ID: <easter.0@customer.example>\r\nDate: " + clock.Now().Format(time.RFC1123Z) + "\r\n\r\nWhere is it?\r\n"
	if _, err := h.app.Gmail.Deliver([]byte(raw), bob); err != nil {
		t.Fatal(err)
	}
	h.settle()
	convID := inbox.ConversationID("support", "easter.0@customer.example")
	c, err := h.app.Store.GetConversation(ctx, "example.com", convID)
	if err != nil {
		t.Fatalf("the mail was not ingested: %v", err)
	}
	if !c.DueAt.Equal(at(4, 2, 10, 0)) {
		t.Errorf("DueAt = %v, want Tuesday 10:00", c.DueAt.In(at(1, 1, 0, 0).Location()))
	}
	mails := func(prefix string) int { return len(mentionMails(h, alice, prefix)) }
	steps := []struct {
		at                      time.Time
		marked                  int
		atRisk, breached, kinds int
	}{
		{at(3, 28, 17, 0), 0, 0, 0, 0},
		{at(4, 2, 9, 59), 0, 0, 0, 0},
		{at(4, 2, 10, 0), 1, 1, 0, 0},
		{at(4, 2, 10, 30), 0, 1, 0, 0}, // again: nothing new, no second mail
		{at(4, 2, 11, 0), 1, 1, 1, 0},
		{at(4, 3, 10, 59), 0, 1, 1, 0},
		{at(4, 3, 11, 0), 1, 2, 1, 0},
		{at(4, 3, 15, 0), 1, 2, 2, 0},
		{at(4, 4, 9, 0), 0, 2, 2, 0},
	}
	for _, s := range steps {
		clock.Set(s.at)
		res := h.slaSweep()
		res2 := h.slaSweep() // a retried run changes and sends nothing
		if res.Marked != s.marked || res2.Marked != 0 || res2.Notified != 0 {
			t.Errorf("sweep at %v: %+v then %+v, want %d marked then none", s.at, res, res2, s.marked)
		}
		if got, want := [2]int{mails("At risk:"), mails("Breached:")}, [2]int{s.atRisk, s.breached}; got != want {
			t.Errorf("after the sweep at %v (%+v): alice has %v SLA mails (at risk, breached), want %v", s.at, res, got, want)
		}
	}
	if n := len(mentionMails(h, bob, "At risk:")) + len(mentionMails(h, bob, "Breached:")); n != 0 {
		t.Errorf("bob (an agent, not the owner) got %d SLA mails", n)
	}
	acts, err := h.app.Store.ListActivity(ctx, "example.com", convID, 20)
	if err != nil {
		t.Fatal(err)
	}
	marks := map[string]time.Time{}
	for _, a := range acts {
		if a.Kind == inbox.ActSLAAtRisk || a.Kind == inbox.ActSLABreached {
			marks[string(a.Kind)+" "+a.To] = a.At
		}
	}
	want := map[string]time.Time{
		"sla_at_risk first_response": at(4, 2, 10, 0), "sla_breached first_response": at(4, 2, 11, 0),
		"sla_at_risk resolution": at(4, 3, 11, 0), "sla_breached resolution": at(4, 3, 15, 0),
	}
	for k, w := range want {
		if !marks[k].Equal(w) {
			t.Errorf("%s logged at %v, want %v", k, marks[k], w)
		}
	}
	if len(marks) != len(want) {
		t.Errorf("SLA entries %v, want %v", marks, want)
	}
}

// slaWalkMail is the Support mail seedWorkflowScreens delivers once the
// inbox has an SLA policy, so that its card shows the SLA clocks.
const slaWalkMail = "sla-walk@okafor.example"

// seedWorkflowScreens gives TestEveryScreen's walk the workflow cards: an
// SLA policy on Support (its screen is reached from the inbox settings), a
// Support conversation that started under it (the clocks on its card, with
// the snooze presets and picker), and the Sales mail dave opens snoozed (the
// Snoozed section with Unsnooze).
func seedWorkflowScreens(t *testing.T, h *harness) {
	t.Helper()
	ctx := context.Background()
	if _, err := h.app.Store.UpdateInbox(ctx, "example.com", "support", func(ib *inbox.Inbox) error {
		ib.Settings.Workflow.SLA = inbox.SLAPolicy{FirstResponse: 4 * time.Hour, Resolution: 16 * time.Hour, Hours: inbox.OfficeHours("Europe/Berlin")}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.deliver("support@example.com", "From: Ben Okafor <ben@okafor.example>\r\nTo: support@example.com\r\nSubject: Parcel 4711\r\n"+
		"Message-ID: <"+slaWalkMail+">\r\n\r\nParcel 4711?\r\n")
	h.settle()
	quote := demo.Threads[13].MessageID(0)
	card := h.open("dave@example.com", quote)
	if r := h.clickOn("dave@example.com", quote, button(t, card.card, "Tomorrow 9:00")); r.status != http.StatusOK {
		t.Fatalf("snooze the quote: %d %s", r.status, r.raw)
	}
	h.settle()
}

// checkWorkflowScreens checks that the walk showed what
// seedWorkflowScreens set up, in the walk's language: the SLA screen, the
// clocks and snooze presets on bob's cards, the Snoozed section on dave's.
func checkWorkflowScreens(t *testing.T, texts map[string]string, p *i18n.Printer) {
	t.Helper()
	for card, ids := range map[string][]string{
		"alice@example.com sla":         {"sla.screen_title", "sla.first_hours", "sla.day_1", "sla.holidays", "sla.save"},
		"bob@example.com conversation":  {"sla.clock.first_response", "sla.clock.resolution", "snooze.tomorrow", "snooze.monday", "snooze.button"},
		"dave@example.com conversation": {"snooze.title", "snooze.unsnooze"},
	} {
		for _, id := range ids {
			if w := p.T(id); !strings.Contains(texts[card], w) {
				t.Errorf("the walk's %s card never showed %q (%s)", card, w, id)
			}
		}
	}
}
