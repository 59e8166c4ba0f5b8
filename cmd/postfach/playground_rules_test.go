package main

import "testing"

// TestPlaygroundRules: alice writes a rule in the sidebar (Settings →
// Support → Rules → New rule), a VIP customer's mail arrives, and the
// rule has tagged and assigned it, which the card says, naming the rule.
func TestPlaygroundRules(t *testing.T) {
	h, p := openPlayground(t, devConfig{}, "user=alice@example.com")
	p.WaitText("#pg-side-body", "Support · support@example.com")
	p.Click("#pg-side-body", "Settings")
	p.WaitText("#pg-side-body", "Support")
	p.JS(`(() => {
		const w = [...document.querySelectorAll('#pg-side-body [data-widget=decoratedText]')].find(e => e.innerText.includes('support@example.com'));
		const btn = w && w.querySelector('button, [role=button]');
		if (btn) btn.setAttribute('data-pg-edit', '1');
		return !!btn;
	})()`, nil)
	p.Click(`#pg-side-body [data-pg-edit="1"]`, "Edit")
	p.WaitText("#pg-side-body", "Members")
	p.Click("#pg-side-body", "Rules")
	p.WaitText("#pg-side-body", "No rules yet")
	p.Click("#pg-side-body", "New rule")
	p.Type("#pg-side-body", "rule_name", "VIP")
	p.Type("#pg-side-body", "rule_from", "vip.example")
	p.Type("#pg-side-body", "rule_tag", "vip")
	var ok bool
	p.JS(`(() => { const s = document.querySelector('#pg-side-body [name=rule_assign]'); if (!s) return false; s.value = 'alice@example.com'; s.dispatchEvent(new Event('change', {bubbles: true})); return s.value === 'alice@example.com'; })()`, &ok)
	if !ok {
		t.Fatalf("no assignee dropdown: %s", p.Text("#pg-side-body"))
	}
	p.Click("#pg-side-body", "Save rule")
	p.WaitText("#pg-toast", "Rule saved.")
	p.WaitText("#pg-side-body", "If from vip.example: tag vip, assign to Alice")
	p.screenshot("rules")

	// A VIP writes to Support.
	p.Click("#pg-labels", "Inbox")
	p.Click(".pg-top-right", "Deliver a customer mail")
	p.JS(`(() => { for (const n of ['from', 'subject']) document.querySelector('#pg-deliver-form [name=' + n + ']').value = ''; return true; })()`, nil)
	p.Type("#pg-deliver-form", "from", "Vera VIP <vera@vip.example>")
	p.Type("#pg-deliver-form", "subject", "Contract renewal")
	p.Click("#pg-deliver-form", "Deliver")
	p.WaitText("#pg-list", "Contract renewal")
	h.settle()
	p.Click("#pg-list", "Contract renewal")
	p.WaitText("#pg-side-body", "Rule “VIP” assigned this to Alice")
	p.WaitText("#pg-side-body", "vip")
	p.WaitText("#pg-thread-labels", "Support/Mine")
}
