package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestPlaygroundSLAAndSnooze: alice, an admin, sets Support's SLA policy on
// its screen (inbox settings → SLA policy); a customer mail that arrives
// afterwards shows its SLA clocks on the message card. She snoozes it from
// the card: the thread gets the Snoozed label in her Gmail; Unsnooze takes
// it off again.
func TestPlaygroundSLAAndSnooze(t *testing.T) {
	_, p := openPlayground(t, devConfig{}, "user=alice@example.com")
	p.WaitText("#pg-side-body", "Support · support@example.com")

	// The SLA screen, from Support's settings.
	p.Click(".pg-side-head", "⋮")
	p.Click("#pg-side-menu-list", "Settings")
	p.WaitText("#pg-side-body", "Support")
	// Support's row is the second; its Edit button.
	p.WaitFor("Support's Edit button", `(() => {
		const row = [...document.querySelectorAll('#pg-side-body [data-widget=decoratedText]')].find(e => e.innerText.includes('support@example.com'));
		const b = row && [...row.querySelectorAll('button, [role=button]')].find(e => e.innerText.trim() === 'Edit');
		if (b) b.setAttribute('data-browsertest', 'target');
		return !!b;
	})()`)
	p.Do("click Support's Edit", chromedp.Click(chromedp.CSS(`[data-browsertest="target"]`)))
	p.Idle()
	p.WaitText("#pg-side-body", "support@example.com")
	p.Click("#pg-side-body", "SLA policy")
	p.WaitText("#pg-side-body", "Business hours")
	p.Type("#pg-side-body", "sla_first", "4")
	p.Type("#pg-side-body", "sla_resolution", "16")
	p.Click("#pg-side-body", "Save SLA policy")
	p.WaitText("#pg-toast", "SLA policy saved")

	// A customer mail that starts under the policy: its card has the clocks.
	p.Click("#pg-labels", "Inbox")
	p.Click(".pg-top-right", "Deliver a customer mail")
	p.JS(`document.querySelector('#pg-deliver-form [name=subject]').value = ''`, nil)
	p.Type("#pg-deliver-form", "subject", "Parcel 4711 lost")
	p.Click("#pg-deliver-form", "Deliver")
	p.WaitText("#pg-list", "Parcel 4711 lost")
	p.Click("#pg-list", "Parcel 4711 lost")
	p.WaitText("#pg-side-body", "First response")
	p.WaitText("#pg-side-body", "Resolution")
	p.WaitText("#pg-side-body", "business hours")

	// Snooze it from the card, then Unsnooze.
	p.Click("#pg-side-body", "Tomorrow 9:00")
	p.WaitText("#pg-side-body", "Unsnooze")
	p.WaitText("#pg-thread-labels", "Support/Snoozed")
	p.Click("#pg-side-body", "Unsnooze")
	p.WaitText("#pg-side-body", "Tomorrow 9:00")
	p.WaitFor("the Snoozed label gone", `!(document.querySelector('#pg-thread-labels')||{}).innerText.includes('Support/Snoozed')`)
	p.WaitText("#pg-thread-labels", "Support/Open")
}
