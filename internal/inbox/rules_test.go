package inbox_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

var now = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func workflowInbox(rules []inbox.Rule, a inbox.Assignment) inbox.Inbox {
	ib := inbox.Inbox{
		TenantID: "example.com", ID: "support", Address: "support@example.com", Name: "Support",
		Members: []inbox.Member{
			{Email: "alice@example.com", Role: inbox.RoleAdmin},
			{Email: "bob@example.com", Role: inbox.RoleAgent},
			{Email: "carol@example.com", Role: inbox.RoleAgent},
		},
		Settings: inbox.DefaultInboxSettings(),
	}
	ib.Settings.Workflow = inbox.Workflow{Rules: rules, Assignment: a}
	return ib
}

func customerMail(from, subject string, to ...string) inbox.Mail {
	return inbox.Headers{MessageID: "<m1@x.example>", From: from, To: "support@example.com", Cc: joinAddr(to), Subject: subject}.Mail()
}

func joinAddr(as []string) string {
	out := ""
	for i, a := range as {
		if i > 0 {
			out += ", "
		}
		out += a
	}
	return out
}

var (
	vipRule = inbox.Rule{ID: "r1", Name: "VIP",
		Conditions: []inbox.Condition{{Field: inbox.FieldFrom, Value: "vip.example"}},
		Actions:    []inbox.Action{{Kind: inbox.ActionTag, Value: "vip"}, {Kind: inbox.ActionAssign, Value: "alice@example.com"}}}
	billingRule = inbox.Rule{ID: "r2", Name: "Billing",
		Conditions: []inbox.Condition{{Field: inbox.FieldSubject, Value: "Invoice"}},
		Actions:    []inbox.Action{{Kind: inbox.ActionTag, Value: "billing"}}}
)

func TestApplyRules(t *testing.T) {
	t.Parallel()
	stop := inbox.Rule{ID: "r0", Name: "Stop", Conditions: []inbox.Condition{{Field: inbox.FieldTo, Value: "legal@example.com"}},
		Actions: []inbox.Action{{Kind: inbox.ActionStatus, Value: "pending"}, {Kind: inbox.ActionStop}}}
	body := inbox.Rule{ID: "r3", Name: "Urgent", Conditions: []inbox.Condition{{Field: inbox.FieldBody, Value: "URGENT"}, {Field: inbox.FieldAttachment}},
		Actions: []inbox.Action{{Kind: inbox.ActionTag, Value: "urgent"}, {Kind: inbox.ActionAutoAssign}}}
	tests := []struct {
		name     string
		rules    []inbox.Rule
		mail     inbox.Mail
		content  inbox.Content
		assignee string
		tags     []string
		status   inbox.Status
		vias     []string
		auto     bool
	}{
		{"vip domain and invoice subject", []inbox.Rule{vipRule, billingRule}, customerMail("CEO <ceo@vip.example>", "Your INVOICE"), inbox.Content{},
			"alice@example.com", []string{"billing", "vip"}, inbox.StatusOpen, []string{"rule:r1 VIP", "rule:r1 VIP", "rule:r2 Billing"}, false},
		{"subdomain matches, lookalike does not", []inbox.Rule{vipRule}, customerMail("x@mail.vip.example", "Hi"), inbox.Content{},
			"alice@example.com", []string{"vip"}, inbox.StatusOpen, []string{"rule:r1 VIP", "rule:r1 VIP"}, false},
		{"lookalike domain", []inbox.Rule{vipRule}, customerMail("x@notvip.example", "Hi"), inbox.Content{},
			"", nil, inbox.StatusOpen, nil, false},
		{"stop ends evaluation", []inbox.Rule{stop, billingRule}, customerMail("a@b.example", "invoice", "Legal <legal@example.com>"), inbox.Content{},
			"", nil, inbox.StatusPending, []string{"rule:r0 Stop"}, false},
		{"body and attachment", []inbox.Rule{body}, customerMail("a@b.example", "Hi"), inbox.Content{Text: "this is urgent!", Attachment: true},
			"", []string{"urgent"}, inbox.StatusOpen, []string{"rule:r3 Urgent"}, true},
		{"body without attachment", []inbox.Rule{body}, customerMail("a@b.example", "Hi"), inbox.Content{Text: "urgent"},
			"", nil, inbox.StatusOpen, nil, false},
		{"disabled rule", []inbox.Rule{{ID: "r9", Name: "Off", Disabled: true, Actions: []inbox.Action{{Kind: inbox.ActionTag, Value: "x"}}}}, customerMail("a@b.example", "Hi"), inbox.Content{},
			"", nil, inbox.StatusOpen, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ib := workflowInbox(tc.rules, inbox.Assignment{})
			c, _, err := inbox.StartConversation(ib, tc.mail, now)
			if err != nil {
				t.Fatal(err)
			}
			out := ib.ApplyRules(&c, tc.mail, tc.content, true, false, now)
			var vias []string
			for _, ev := range out.Events {
				vias = append(vias, ev.Via)
				if ev.Version != 1 {
					t.Errorf("entry %+v: version %d, want 1 (the creating write)", ev, ev.Version)
				}
			}
			if c.Version != 1 || c.Assignee != tc.assignee || !slices.Equal(c.Tags, tc.tags) || c.Status != tc.status || !slices.Equal(vias, tc.vias) || out.AutoAssign != tc.auto {
				t.Errorf("got assignee %q tags %v status %s vias %v auto %v version %d; want %q %v %s %v %v 1",
					c.Assignee, c.Tags, c.Status, vias, out.AutoAssign, c.Version, tc.assignee, tc.tags, tc.status, tc.vias, tc.auto)
			}
		})
	}
}

// TestApplyRulesOnAppend: on a later mail the rules' entries share one
// version step with the mail's own, and an owner is never replaced.
func TestApplyRulesOnAppend(t *testing.T) {
	t.Parallel()
	ib := workflowInbox([]inbox.Rule{vipRule, billingRule}, inbox.Assignment{})
	m := customerMail("ceo@vip.example", "Invoice")
	c, _, _ := inbox.StartConversation(ib, m, now)
	c.Assignee = "bob@example.com"
	c.Version = 4
	c.Status = inbox.StatusClosed
	next := c
	ev := next.Receive(ib, m, now) // reopens: version 5
	out := ib.ApplyRules(&next, m, inbox.Content{}, false, ev != nil, now)
	if next.Version != 5 || next.Assignee != "bob@example.com" || len(out.Events) != 2 {
		t.Fatalf("after append: version %d owner %s entries %+v", next.Version, next.Assignee, out.Events)
	}
	for _, e := range out.Events {
		if e.Version != 5 {
			t.Errorf("entry %+v not at version 5", e)
		}
	}
	// Nothing changed by the mail itself: the rules take one step.
	again := next
	out = ib.ApplyRules(&again, customerMail("ceo@vip.example", "Hello"), inbox.Content{}, false, false, now)
	if again.Version != 5 || len(out.Events) != 0 {
		t.Errorf("a mail that changes nothing: version %d entries %v", again.Version, out.Events)
	}
	ib2 := workflowInbox([]inbox.Rule{{ID: "r5", Name: "T", Actions: []inbox.Action{{Kind: inbox.ActionTag, Value: "new"}}}}, inbox.Assignment{})
	third := next
	out = ib2.ApplyRules(&third, m, inbox.Content{}, false, false, now)
	if third.Version != 6 || len(out.Events) != 1 || out.Events[0].Version != 6 {
		t.Errorf("rules alone: version %d entries %+v, want one step to 6", third.Version, out.Events)
	}
}

func TestRuleValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rule inbox.Rule
		ok   bool
	}{
		{"vip", vipRule, true},
		{"no name", inbox.Rule{ID: "a", Actions: []inbox.Action{{Kind: inbox.ActionStop}}}, false},
		{"no action", inbox.Rule{ID: "a", Name: "n"}, false},
		{"bad domain", inbox.Rule{ID: "a", Name: "n", Conditions: []inbox.Condition{{Field: inbox.FieldFrom, Value: "not a domain"}}, Actions: []inbox.Action{{Kind: inbox.ActionStop}}}, false},
		{"to needs an address", inbox.Rule{ID: "a", Name: "n", Conditions: []inbox.Condition{{Field: inbox.FieldTo, Value: "example.com"}}, Actions: []inbox.Action{{Kind: inbox.ActionStop}}}, false},
		{"empty subject", inbox.Rule{ID: "a", Name: "n", Conditions: []inbox.Condition{{Field: inbox.FieldSubject, Value: " "}}, Actions: []inbox.Action{{Kind: inbox.ActionStop}}}, false},
		{"bad tag", inbox.Rule{ID: "a", Name: "n", Actions: []inbox.Action{{Kind: inbox.ActionTag, Value: "<b>"}}}, false},
		{"bad status", inbox.Rule{ID: "a", Name: "n", Actions: []inbox.Action{{Kind: inbox.ActionStatus, Value: "done"}}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.rule.Validate()
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, inbox.ErrInvalid) {
				t.Errorf("Validate = %v, want ok %v", err, tc.ok)
			}
		})
	}
	dup := inbox.Workflow{Rules: []inbox.Rule{vipRule, vipRule}}
	if err := dup.Validate(); !errors.Is(err, inbox.ErrInvalid) {
		t.Errorf("two rules with one id: %v", err)
	}
}

func TestViaRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ via, kind, id, name string }{
		{inbox.ViaRule(vipRule), "rule", "r1", "VIP"},
		{inbox.ViaRule(inbox.Rule{ID: "r2", Name: "Two words"}), "rule", "r2", "Two words"},
		{inbox.ViaPolicy(inbox.AssignRoundRobin), "policy", "round_robin", ""},
		{inbox.ViaReassign, "policy", "reassign", ""},
		{"", "", "", ""},
	} {
		if k, id, n := inbox.ParseVia(tc.via); k != tc.kind || id != tc.id || n != tc.name {
			t.Errorf("ParseVia(%q) = %q %q %q", tc.via, k, id, n)
		}
	}
}
