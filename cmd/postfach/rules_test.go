package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/demo"
	"github.com/postfach/postfach/internal/inbox"
)

// Rules and auto-assignment, end to end (issue 13): mail delivered to the
// Gmail simulator, synced through the real gmail/v1 client, rules and
// decisions taken in the store, members acting through signed sidebar
// requests. The clock is the test's.

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
	carol = "carol@example.com"
)

// newSalesInbox stores a second inbox, deals@example.com, whose members
// are alice (admin), bob and carol: nothing of the demo's data in it.
func newSalesInbox(t *testing.T, h *harness) {
	t.Helper()
	ib := inbox.Inbox{
		TenantID: "example.com", ID: "deals", Address: "deals@example.com", Name: "Deals",
		Members: []inbox.Member{
			{Email: alice, Name: "Alice", Role: inbox.RoleAdmin},
			{Email: bob, Name: "Bob", Role: inbox.RoleAgent},
			{Email: carol, Name: "Carol", Role: inbox.RoleAgent},
		},
		Settings: inbox.DefaultInboxSettings(), CreatedAt: time.Now(),
	}
	if err := h.app.Store.CreateInbox(context.Background(), ib); err != nil {
		t.Fatal(err)
	}
}

// rulesCard opens the rules editor of the deals inbox as alice does:
// homepage → Settings → the inbox → Rules.
func rulesCard(t *testing.T, h *harness) response {
	t.Helper()
	// The homepage's Settings button (op settings), clicked without the
	// homepage: on Firestore the homepage's mentions are not served yet.
	settings := h.click(alice, &cardpb.Action{Function: h.app.BaseURL + "/addon/action",
		Parameters: []*cardpb.Action_ActionParameter{{Key: "op", Value: "settings"}}}, nil)
	ibCard := h.click(alice, buttonFor(t, settings.card, "Edit", "deals"), nil)
	r := h.click(alice, button(t, ibCard.card, "Rules"), nil)
	if r.status != http.StatusOK || r.card.GetName() != "rules" {
		t.Fatalf("rules card: %d %s", r.status, r.raw)
	}
	return r
}

// setAssignment saves the auto-assignment form of the rules editor.
func setAssignment(t *testing.T, h *harness, form map[string][]string) {
	t.Helper()
	r := h.click(alice, button(t, rulesCard(t, h).card, "Save auto-assignment"), form)
	if r.status != http.StatusOK || r.notification != "Auto-assignment saved." {
		t.Fatalf("save auto-assignment: %d %q %s", r.status, r.notification, r.raw)
	}
}

// salesMail is customer mail number i to the deals inbox.
func salesMail(i int, from, subject string) (raw, rfcID string) {
	rfcID = fmt.Sprintf("rr%d@customer.example", i)
	return fmt.Sprintf("From: %s\r\nTo: deals@example.com\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\nHello.\r\n", from, subject, rfcID), rfcID
}

func salesConv(t *testing.T, h *harness, rfcID string) inbox.Conversation {
	t.Helper()
	c, err := h.app.Store.GetConversation(context.Background(), "example.com", inbox.ConversationID("deals", rfcID))
	if err != nil {
		t.Fatalf("conversation of %s: %v", rfcID, err)
	}
	return c
}

// TestRoundRobinScenario: round robin over bob and carol with capacity 2,
// over 20 mails, with closes freeing capacity and each agent going away
// and coming back. Every step's decisions are written out by hand.
func TestRoundRobinScenario(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{}
			testRoundRobinScenario(t, clock, startHarnessWith(t, devConfig{Now: clock.Now, Store: storeConfig{Kind: kind}}))
		})
	}
}

func testRoundRobinScenario(t *testing.T, clock *testClock, h *harness) {
	newSalesInbox(t, h)
	setAssignment(t, h, map[string][]string{
		"assign_mode": {"round_robin"}, "assign_agents": {bob, carol}, "assign_capacity": {"2"},
	})
	mail := func(i int) func() {
		return func() {
			clock.Advance(time.Minute)
			raw, _ := salesMail(i, fmt.Sprintf("Customer %d <c%d@customer.example>", i, i), fmt.Sprintf("Question %d", i))
			h.deliver("deals@example.com", raw)
			h.settle()
		}
	}
	closeBy := func(who string, i int) func() {
		return func() {
			clock.Advance(time.Minute)
			card := h.open(who, fmt.Sprintf("rr%d@customer.example", i))
			if r := h.click(who, button(t, card.card, "Close"), nil); r.status != http.StatusOK {
				t.Fatalf("%s closes %d: %d %s", who, i, r.status, r.raw)
			}
			h.settle()
		}
	}
	// Agents mark themselves away on the conversation card (the phone's
	// way; the homepage has the same button), on a mail of theirs.
	toggle := func(who, label string) func() {
		return func() {
			clock.Advance(time.Minute)
			card := h.open(who, "rr1@customer.example")
			r := h.click(who, button(t, card.card, label), nil)
			if r.status != http.StatusOK {
				t.Fatalf("%s %s: %d %s", who, label, r.status, r.raw)
			}
			h.settle()
		}
	}
	away := func(who string) func() { return toggle(who, "I'm away") }
	back := func(who string) func() { return toggle(who, "I'm back") }
	const w = "" // waits in Unassigned
	steps := []struct {
		name string
		do   []func()
		want map[int]string // owner of conversation i after the step
	}{
		{"mail 1", []func(){mail(1)}, map[int]string{1: bob}},
		{"mail 2", []func(){mail(2)}, map[int]string{2: carol}},
		{"mail 3", []func(){mail(3)}, map[int]string{3: bob}},
		{"mail 4", []func(){mail(4)}, map[int]string{4: carol}},
		{"mail 5: both full", []func(){mail(5)}, map[int]string{5: w}},
		{"mail 6 queues behind 5", []func(){mail(6)}, map[int]string{6: w}},
		{"bob closes 1: 5 to bob", []func(){closeBy(bob, 1)}, map[int]string{1: bob, 5: bob, 6: w}},
		{"carol away", []func(){away(carol)}, map[int]string{6: w}},
		{"carol closes 2 while away: 6 still waits", []func(){closeBy(carol, 2)}, map[int]string{6: w}},
		{"mails 7 and 8 wait", []func(){mail(7), mail(8)}, map[int]string{7: w, 8: w}},
		{"carol back: 6 to her, 7 and 8 wait", []func(){back(carol)}, map[int]string{6: carol, 7: w, 8: w}},
		{"bob closes 3: 7 to bob", []func(){closeBy(bob, 3)}, map[int]string{7: bob, 8: w}},
		{"carol closes 4: 8 to carol", []func(){closeBy(carol, 4)}, map[int]string{8: carol}},
		{"bob closes 5", []func(){closeBy(bob, 5)}, nil},
		{"mail 9 to bob", []func(){mail(9)}, map[int]string{9: bob}},
		{"mail 10 waits", []func(){mail(10)}, map[int]string{10: w}},
		{"carol closes 6: 10 to carol", []func(){closeBy(carol, 6)}, map[int]string{10: carol}},
		{"everything closed", []func(){closeBy(bob, 7), closeBy(bob, 9), closeBy(carol, 8), closeBy(carol, 10)}, nil},
		{"mails 11-15", []func(){mail(11), mail(12), mail(13), mail(14), mail(15)}, map[int]string{11: bob, 12: carol, 13: bob, 14: carol, 15: w}},
		{"bob away, mail 16 waits", []func(){away(bob), mail(16)}, map[int]string{15: w, 16: w}},
		{"bob closes 11 while away", []func(){closeBy(bob, 11)}, map[int]string{15: w, 16: w}},
		{"bob back: 15 to him", []func(){back(bob)}, map[int]string{15: bob, 16: w}},
		{"carol closes 12: 16 to carol", []func(){closeBy(carol, 12)}, map[int]string{16: carol}},
		{"mails 17 and 18 wait", []func(){mail(17), mail(18)}, map[int]string{17: w, 18: w}},
		{"bob closes 13: 17 to bob", []func(){closeBy(bob, 13)}, map[int]string{17: bob, 18: w}},
		{"carol closes 14: 18 to carol", []func(){closeBy(carol, 14)}, map[int]string{18: carol}},
		{"mails 19 and 20 wait", []func(){mail(19), mail(20)}, map[int]string{19: w, 20: w}},
		{"carol closes 16: 19 to carol, 20 waits", []func(){closeBy(carol, 16)}, map[int]string{19: carol, 20: w}},
	}
	for _, st := range steps {
		for _, do := range st.do {
			do()
		}
		for i, want := range st.want {
			if got := salesConv(t, h, fmt.Sprintf("rr%d@customer.example", i)).Assignee; got != want {
				t.Fatalf("after %q: conversation %d is %q's, want %q", st.name, i, got, want)
			}
		}
	}
	// Each conversation was assigned at most once, by the policy.
	for i := 1; i <= 20; i++ {
		c := salesConv(t, h, fmt.Sprintf("rr%d@customer.example", i))
		acts, err := h.app.Store.ListActivity(context.Background(), "example.com", c.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range acts {
			if a.Kind == inbox.ActAssigned {
				n++
				if a.Via != inbox.ViaPolicy(inbox.AssignRoundRobin) || a.Actor != "" {
					t.Errorf("conversation %d: assignment %+v not named as the policy's", i, a)
				}
			}
		}
		if want := 1; i == 20 {
			if n != 0 {
				t.Errorf("conversation 20 assigned %d times, want waiting", n)
			}
		} else if n != want {
			t.Errorf("conversation %d assigned %d times, want once", i, n)
		}
	}
	// The decision shows on the card, naming the policy.
	card := h.open(carol, "rr19@customer.example")
	if !strings.Contains(cardText(card.card), "Auto-assignment assigned this to Carol") {
		t.Errorf("card of 19 does not name the policy: %s", cardText(card.card))
	}
}

// TestConcurrentIngestNeverDoubleAssigns: 20 mails delivered at once to
// the group, so that three mailboxes sync and ingest them concurrently:
// each conversation is assigned exactly once, and the turns alternate.
func TestConcurrentIngestNeverDoubleAssigns(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{}
			h := startHarnessWith(t, devConfig{Now: clock.Now, Store: storeConfig{Kind: kind}})
			newSalesInbox(t, h)
			setAssignment(t, h, map[string][]string{"assign_mode": {"round_robin"}, "assign_agents": {bob, carol}})
			var wg sync.WaitGroup
			errs := make([]error, 20)
			for i := range 20 {
				wg.Go(func() {
					raw, _ := salesMail(i+1, "c@customer.example", fmt.Sprintf("Burst %d", i+1))
					body, _ := json.Marshal(map[string]string{"to": "deals@example.com", "raw": raw})
					resp, err := http.Post(h.app.BaseURL+"/dev/deliver", "application/json", bytes.NewReader(body))
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("deliver: %s", resp.Status)
						}
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			h.settle()
			per := map[string]int{}
			for i := 1; i <= 20; i++ {
				c := salesConv(t, h, fmt.Sprintf("rr%d@customer.example", i))
				per[c.Assignee]++
				acts, err := h.app.Store.ListActivity(context.Background(), "example.com", c.ID, 100)
				if err != nil {
					t.Fatal(err)
				}
				if n := slices.IndexFunc(acts, func(a inbox.Activity) bool { return a.Kind == inbox.ActAssigned }); n < 0 ||
					len(slices.DeleteFunc(slices.Clone(acts), func(a inbox.Activity) bool { return a.Kind != inbox.ActAssigned })) != 1 {
					t.Errorf("conversation %d: assignments %+v, want exactly one", i, acts)
				}
			}
			if per[bob] != 10 || per[carol] != 10 {
				t.Errorf("per agent %v, want 10 each", per)
			}
			counts, err := h.app.Store.InboxCounts(context.Background(), "example.com", "deals")
			if err != nil || counts.Mine(bob) != 10 || counts.Mine(carol) != 10 || counts.Unassigned != 0 {
				t.Errorf("counts %+v, %v", counts, err)
			}
		})
	}
}

// TestRulesOncePerMessage: a rule set (VIP domain → tag vip and assign
// alice; subject "invoice" → tag billing), edited in the sidebar, applies
// once per message, also when Gmail forgets the history and every mailbox
// resyncs in full.
func TestRulesOncePerMessage(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{}
			testRulesOncePerMessage(t, clock, startHarnessWith(t, devConfig{Now: clock.Now, Store: storeConfig{Kind: kind}}))
		})
	}
}

func testRulesOncePerMessage(t *testing.T, clock *testClock, h *harness) {
	ctx := context.Background()
	newSalesInbox(t, h)
	// Alice writes the two rules in the editor.
	for _, form := range []map[string][]string{
		{"rule_name": {"VIP"}, "rule_from": {"vip.example"}, "rule_tag": {"vip"}, "rule_assign": {alice}},
		{"rule_name": {"Billing"}, "rule_subject": {"invoice"}, "rule_tag": {"billing"}},
	} {
		edit := h.click(alice, button(t, rulesCard(t, h).card, "New rule"), nil)
		if r := h.click(alice, button(t, edit.card, "Save rule"), form); r.status != http.StatusOK || r.notification != "Rule saved." {
			t.Fatalf("save rule: %d %q %s", r.status, r.notification, r.raw)
		}
	}
	list := rulesCard(t, h)
	if txt := cardText(list.card); !strings.Contains(txt, "If from vip.example: tag vip, assign to Alice") || !strings.Contains(txt, "If subject contains “invoice”: tag billing") {
		t.Fatalf("rules card: %s", txt)
	}

	deliver := func(i int, from, subject, inReplyTo string) {
		clock.Advance(time.Minute)
		raw, _ := salesMail(i, from, subject)
		if inReplyTo != "" {
			raw = strings.Replace(raw, "\r\n\r\n", "\r\nIn-Reply-To: <"+inReplyTo+">\r\nReferences: <"+inReplyTo+">\r\n\r\n", 1)
		}
		h.deliver("deals@example.com", raw)
	}
	deliver(1, "CEO <ceo@vip.example>", "Invoice overdue", "")
	deliver(2, "joe@other.example", "Your invoice copy", "")
	deliver(3, "x@sub.vip.example", "Hello", "")
	deliver(4, "joe@other.example", "Re: Your invoice copy", "rr2@customer.example") // a customer's follow-up
	h.settle()

	type want struct {
		assignee string
		tags     []string
		entries  map[string]int // entries per Via
	}
	vip, billing := "rule:", "rule:"
	rules := salesRules(t, h)
	vip += rules[0].ID + " VIP"
	billing += rules[1].ID + " Billing"
	wants := map[string]want{
		"rr1@customer.example": {alice, []string{"billing", "vip"}, map[string]int{vip: 2, billing: 1}},
		"rr2@customer.example": {"", []string{"billing"}, map[string]int{billing: 1}},
		"rr3@customer.example": {alice, []string{"vip"}, map[string]int{vip: 2}},
	}
	check := func(when string) {
		t.Helper()
		for rfcID, w := range wants {
			c := salesConv(t, h, rfcID)
			if c.Assignee != w.assignee || !slices.Equal(c.Tags, w.tags) {
				t.Errorf("%s: %s is %q's with tags %v, want %q's with %v", when, rfcID, c.Assignee, c.Tags, w.assignee, w.tags)
			}
			acts, err := h.app.Store.ListActivity(ctx, "example.com", c.ID, 100)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, a := range acts {
				if a.Via != "" {
					got[a.Via]++
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(w.entries) {
				t.Errorf("%s: %s has rule entries %v, want %v", when, rfcID, got, w.entries)
			}
		}
	}
	check("after delivery")

	// Postfach was away longer than Gmail keeps history (the stored
	// cursors are old and Gmail forgot what came after them): the next
	// sync of each mailbox is a full resync that reads every mail again.
	before := map[string]int{}
	for _, u := range demo.Users() {
		before[u] = h.gmailRequests(u)["messages.list"]
	}
	for _, m := range []string{alice, bob, carol} {
		if _, err := h.app.Store.UpdateMailbox(ctx, m, func(mb *inbox.Mailbox) error {
			mb.HistoryID = 1
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		p, err := h.gmailAs(m).Users.GetProfile("me").Do()
		if err != nil {
			t.Fatal(err)
		}
		if err := h.app.Gmail.ExpireHistory(m, p.HistoryId); err != nil {
			t.Fatal(err)
		}
	}
	deliver(5, "ann@else.example", "Unrelated", "")
	h.settle()
	for _, m := range []string{alice, bob, carol} {
		if h.gmailRequests(m)["messages.list"] <= before[m] {
			t.Errorf("%s did not resync in full", m)
		}
	}
	check("after the full resync")
	// The rule's change shows on the card, naming the rule.
	card := h.open(alice, "rr1@customer.example")
	if txt := cardText(card.card); !strings.Contains(txt, "Rule “VIP” assigned this to Alice") {
		t.Errorf("card does not name the rule: %s", txt)
	}
}

func salesRules(t *testing.T, h *harness) []inbox.Rule {
	t.Helper()
	ib, err := h.app.Store.GetInbox(context.Background(), "example.com", "deals")
	if err != nil || len(ib.Settings.Workflow.Rules) != 2 {
		t.Fatalf("sales rules: %+v, %v", ib.Settings.Workflow.Rules, err)
	}
	return ib.Settings.Workflow.Rules
}

// TestBodyRuleCost: a rule on the body text reads a customer mail's body
// with one more messages.get (5 quota units) in the mailbox that records
// it; a copy synced after that is a replay and reads nothing more. Copies
// whose syncs overlap (the group's copies arrive at once) may each read it
// before one of them has recorded the mail: at most one read per member
// mailbox. Without such a rule nothing more is read than the headers.
func TestBodyRuleCost(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{}
			h := startHarnessWith(t, devConfig{Now: clock.Now, Store: storeConfig{Kind: kind}})
			newSalesInbox(t, h)
			gets := func() int {
				n := 0
				for _, m := range []string{alice, bob, carol} {
					n += h.gmailRequests(m)["messages.get"]
				}
				return n
			}
			mail := func(i int, body string) int {
				h.settle()
				before := gets()
				clock.Advance(time.Minute)
				raw, _ := salesMail(i, "c@customer.example", "Question")
				h.deliver("deals@example.com", strings.Replace(raw, "Hello.", body, 1))
				h.settle()
				return gets() - before
			}
			plain := mail(1, "This is urgent.")
			edit := h.click(alice, button(t, rulesCard(t, h).card, "New rule"), nil)
			if r := h.click(alice, button(t, edit.card, "Save rule"), map[string][]string{
				"rule_name": {"Urgent"}, "rule_body": {"URGENT"}, "rule_tag": {"urgent"},
			}); r.notification != "Rule saved." {
				t.Fatalf("save rule: %q %s", r.notification, r.raw)
			}
			withRule := mail(2, "This is urgent.")
			if extra := withRule - plain; extra < 1 || extra > 3 {
				t.Errorf("messages.get per mail: %d without a body rule, %d with one; want 1 to 3 more (one per copy at most)", plain, withRule)
			} else {
				t.Logf("body reads for one mail to a group of 3: %d", extra)
			}
			if c := salesConv(t, h, "rr2@customer.example"); !slices.Equal(c.Tags, []string{"urgent"}) {
				t.Errorf("tags %v, want urgent", c.Tags)
			}
			if c := salesConv(t, h, "rr1@customer.example"); len(c.Tags) != 0 {
				t.Errorf("a mail from before the rule was tagged %v", c.Tags)
			}
		})
	}
}
