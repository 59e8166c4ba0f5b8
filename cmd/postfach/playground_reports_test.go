package main

import "testing"

// TestPlaygroundReports: alice, Support's admin, opens its report from the
// homepage; the card shows the figures and the chart image loads from its
// signed link; the 30 days replace it.
func TestPlaygroundReports(t *testing.T) {
	_, p := openPlayground(t, devConfig{}, "user=alice@example.com")
	p.WaitText("#pg-side-body", "Support · support@example.com")
	p.JS(`(() => {
		const sec = [...document.querySelectorAll('#pg-side-body .pf-section, #pg-side-body section, #pg-side-body [data-widget=section]')]
			.find(s => s.innerText.includes('Support · support@example.com'));
		const btn = [...(sec || document).querySelectorAll('button, [role=button], .pf-button')].find(e => e.innerText.trim() === 'Report');
		btn.click();
		return true;
	})()`, nil)
	p.WaitText("#pg-side-body", "Report · Support")
	p.WaitText("#pg-side-body", "Conversations received")
	p.WaitFor("the chart image loaded", `(() => { const i = document.querySelector('#pg-side-body img.pf-image'); return !!i && i.complete && i.naturalWidth === 600; })()`)
	p.screenshot("report")
	p.Click("#pg-side-body", "Last 30 days")
	p.WaitText("#pg-side-body", "✓ Last 30 days")
	p.WaitFor("the month's chart loaded", `(() => { const i = document.querySelector('#pg-side-body img.pf-image'); return !!i && i.complete && i.naturalWidth === 600; })()`)
}
