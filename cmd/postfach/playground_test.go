package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/postfach/postfach/internal/playground/browsertest"
	"github.com/postfach/postfach/manifests"
)

var updateScreenshots = flag.Bool("screenshots", false, "write the playground screenshots the README shows (internal/playground/screenshots)")

// screenshotDir is where the README's screenshots live, beside the
// playground they show.
const screenshotDir = "../../internal/playground/screenshots"

// pg drives the playground in one browser tab.
type pg struct {
	t   *testing.T
	ctx context.Context
	b   *browsertest.Browser
}

// run runs chromedp actions, failing the test with what the page had
// reported when one fails.
func (p *pg) run(what string, actions ...chromedp.Action) {
	p.t.Helper()
	if err := chromedp.Run(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\npage errors: %q", what, err, p.b.Errors())
	}
}

// js evaluates expr (awaiting a promise) into out.
func (p *pg) js(expr string, out any) {
	p.t.Helper()
	p.run("evaluate "+expr, chromedp.Evaluate(expr, out, func(ep *runtime.EvaluateParams) *runtime.EvaluateParams { return ep.WithAwaitPromise(true) }))
}

// idle waits until the host has no request in flight.
func (p *pg) idle() {
	p.t.Helper()
	var ok bool
	p.js("playground.idle()", &ok)
}

// waitFor polls a JavaScript condition until it is true.
func (p *pg) waitFor(what, cond string) {
	p.t.Helper()
	p.run("wait for "+what, chromedp.Poll(cond, nil, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(45*time.Second)))
}

// text is the visible text of the first element matching selector.
func (p *pg) text(selector string) string {
	p.t.Helper()
	var s string
	p.js(fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||''`, selector), &s)
	return s
}

// waitText waits until the element's visible text contains want.
func (p *pg) waitText(selector, want string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%q in %s", want, selector),
		fmt.Sprintf(`((document.querySelector(%q)||{}).innerText||'').includes(%q)`, selector, want))
}

// click clicks, with a real mouse event, the visible button (or list row)
// inside scope whose text is exactly label, or starts with it when prefix.
func (p *pg) click(scope, label string) {
	p.t.Helper()
	find := fmt.Sprintf(`(() => {
		for (const old of document.querySelectorAll('[data-pgtest]')) old.removeAttribute('data-pgtest');
		const root = document.querySelector(%q);
		if (!root) return false;
		const els = [...root.querySelectorAll('button, [role=button], a')].filter(e => e.offsetParent !== null);
		const norm = s => s.replace(/\s+/g, ' ').trim();
		const hit = els.find(e => norm(e.innerText) === %q) || els.find(e => norm(e.innerText).includes(%q));
		if (!hit) return false;
		hit.setAttribute('data-pgtest', 'target');
		hit.scrollIntoView({block: 'center'});
		return true;
	})()`, scope, label, label)
	p.waitFor(fmt.Sprintf("button %q in %s", label, scope), find)
	p.run("click "+label, chromedp.Click(`[data-pgtest="target"]`, chromedp.ByQuery))
	p.idle()
}

// typeInto types text into the input named name inside scope.
func (p *pg) typeInto(scope, name, text string) {
	p.t.Helper()
	sel := fmt.Sprintf(`%s [name=%q]`, scope, name)
	p.run("type into "+name, chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.SendKeys(sel, text, chromedp.ByQuery))
}

// switchUser picks another person in the user switcher.
func (p *pg) switchUser(email string) {
	p.t.Helper()
	var ok bool
	p.js(fmt.Sprintf(`(() => { const s = document.getElementById('pg-user'); s.value = %q; s.dispatchEvent(new Event('change')); return s.value === %q; })()`, email, email), &ok)
	if !ok {
		p.t.Fatalf("no user %s in the switcher", email)
	}
	p.waitText("#pg-user-email", email)
	p.idle()
}

// count reads the number a homepage row shows beside its label (e.g.
// "Unassigned") in the section of inbox.
func (p *pg) count(section, label string) int {
	p.t.Helper()
	var s string
	p.js(fmt.Sprintf(`(() => {
		const w = [...document.querySelectorAll('#pg-side-body [data-widget=decoratedText]')]
			.find(e => (e.closest('[data-widget=section], section, .pf-section')||document.body).innerText.includes(%q) && e.innerText.split('\n').map(s => s.trim()).includes(%q));
		return w ? (w.querySelector('b')||{}).textContent||'' : '';
	})()`, section, label), &s)
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		p.t.Fatalf("no %s count in the %s section: %q\nsidebar: %s", label, section, s, p.text("#pg-side-body"))
	}
	return n
}

func (p *pg) screenshot(name string) {
	p.t.Helper()
	if !*updateScreenshots {
		return
	}
	var png []byte
	p.run("screenshot", chromedp.CaptureScreenshot(&png))
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// TestPlayground works the demo inbox in a real browser as a team would:
// bob takes a mail, carol sees it, a customer writes, carol assigns from
// mobile Gmail's message card, dave sees nothing of Support.
func TestPlayground(t *testing.T) {
	b := browsertest.New(t)
	h := startHarness(t)
	p := &pg{t: t, ctx: b.Context(), b: b}
	base := h.app.BaseURL

	// Bob opens the playground: who he is shows, and the homepage card.
	p.run("open the playground", chromedp.Navigate(base+"/?user=bob@example.com"))
	p.waitText("#pg-user-email", "bob@example.com")
	p.waitText("#pg-side-body", "Support · support@example.com")
	p.waitText("#pg-list", "Password reset mail never arrives")
	unassigned := p.count("Support", "Unassigned")
	p.screenshot("desktop-home")

	// He opens a Support mail, takes it, sets it pending and writes a note.
	p.click("#pg-list", "Password reset mail never arrives")
	p.waitText("#pg-side-body", "Assign to me")
	p.waitText("#pg-thread-messages", "Tom Becker")
	p.click("#pg-side-body", "Assign to me")
	p.waitText("#pg-side-body", "Unassign")
	p.click("#pg-side-body", "Mark pending")
	p.waitText("#pg-side-body", "Reopen")
	note := "Asked Tom for his spam folder; waiting."
	p.typeInto("#pg-side-body", "note", note)
	p.click("#pg-side-body", "Add note")
	p.waitText("#pg-side-body", note)
	// The sync mirrors the state into his Gmail: the thread's labels.
	p.waitText("#pg-thread-labels", "Support/Pending")
	p.waitText("#pg-thread-labels", "Support/Mine")
	p.screenshot("message-card")
	if got := p.count("", "Unassigned"); got < 0 {
		t.Fatal("unreachable")
	}

	// Carol sees all of it: the labels in her left panel, and the card.
	p.switchUser("carol@example.com")
	p.waitFor("Postfach/Support/Pending in carol's labels", `!!document.querySelector('#pg-labels [data-label-name="Postfach/Support/Pending"]')`)
	p.click(`#pg-labels [data-label-name="Postfach/Support/Pending"]`, "Pending")
	p.waitText("#pg-list", "Password reset mail never arrives")
	p.click("#pg-list", "Password reset mail never arrives")
	p.waitText("#pg-side-body", note)
	p.waitText("#pg-side-body", "Bob")
	p.waitText("#pg-side-body", "Pending")

	// A customer writes to Support: Unassigned goes up.
	p.click("#pg-thread", "←")
	p.waitText("#pg-side-body", "Support · support@example.com")
	if got := p.count("Support", "Unassigned"); got != unassigned-1 {
		t.Fatalf("Unassigned after bob took one = %d, want %d", got, unassigned-1)
	}
	p.click(".pg-top-right", "Deliver a customer mail")
	p.run("fill the mail",
		chromedp.SetValue(`#pg-deliver-form [name=subject]`, "", chromedp.ByQuery),
		chromedp.SendKeys(`#pg-deliver-form [name=subject]`, "Printer on fire", chromedp.ByQuery))
	p.click("#pg-deliver-form", "Deliver")
	p.waitText("#pg-list", "Printer on fire")
	deadline := time.Now().Add(45 * time.Second)
	for p.count("Support", "Unassigned") != unassigned {
		if time.Now().After(deadline) {
			t.Fatalf("Unassigned stayed at %d after a new mail, want %d", p.count("Support", "Unassigned"), unassigned)
		}
		time.Sleep(300 * time.Millisecond)
		p.click("#pg-side", "⟳")
	}

	// Mobile Gmail: no homepage; the message card alone assigns.
	p.click(".pg-device", "Mobile")
	p.waitFor("mobile layout", `document.body.classList.contains('pg-mobile')`)
	p.waitText("#pg-list", "SAML SSO setup with Okta")
	p.idle()
	var homepageShown bool
	p.js(`!!document.querySelector('#pg-side') && document.querySelector('#pg-side').offsetParent !== null`, &homepageShown)
	if homepageShown {
		t.Fatalf("mobile shows the add-on without an open message: %s", p.text("#pg-side"))
	}
	p.click("#pg-list", "SAML SSO setup with Okta")
	p.waitText("#pg-mobile-addon", "Assign to me")
	p.screenshot("mobile")
	p.click("#pg-mobile-addon", "Assign to me")
	p.waitText("#pg-mobile-addon", "Unassign")
	p.waitText("#pg-thread-labels", "Support/Mine")

	// Dave is in Sales only: nothing of Support anywhere.
	p.click(".pg-device", "Desktop")
	p.switchUser("dave@example.com")
	p.waitText("#pg-side-body", "Sales · sales@example.com")
	p.waitText("#pg-list", "Quote for 50 seats")
	for sel, what := range map[string]string{"#pg-side-body": "Support", "#pg-labels": "Support", "#pg-list": "Password reset"} {
		if s := p.text(sel); strings.Contains(s, what) {
			t.Errorf("dave sees %q in %s:\n%s", what, sel, s)
		}
	}

	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("page errors: %q", errs)
	}
}

// TestPlaygroundSettingsAndLinks: the universal "Settings" action from the
// sidebar's menu, and a card's link into Gmail opening the mail here.
func TestPlaygroundSettingsAndLinks(t *testing.T) {
	b := browsertest.New(t)
	h := startHarness(t)
	p := &pg{t: t, ctx: b.Context(), b: b}
	p.run("open the playground", chromedp.Navigate(h.app.BaseURL+"/?user=alice@example.com"))
	p.waitText("#pg-side-body", "Support · support@example.com")

	p.click(".pg-side-head", "⋮")
	p.click("#pg-side-menu-list", "Settings")
	p.waitText("#pg-side-body", "Sales")
	var depth int
	p.js(`playground.state.stack.length`, &depth)
	if depth < 1 {
		t.Fatalf("settings pushed nothing")
	}

	// "Open in Gmail" on a message card searches Gmail by Message-ID; the
	// playground opens that mail.
	p.click("#pg-side-head, .pg-side-head", "⟳")
	p.waitText("#pg-list", "Refund for order #4411")
	p.click("#pg-list", "Refund for order #4411")
	p.waitText("#pg-side-body", "Open in Gmail")
	p.click("#pg-back", "←")
	p.waitFor("list again", `!document.getElementById('pg-list').hidden`)
	p.click("#pg-list", "Can't log in")
	p.waitText("#pg-side-body", "Open in Gmail")
	p.click("#pg-side-body", "Open in Gmail")
	p.waitText("#pg-thread-subject", "Can't log in")
	p.waitText("#pg-list-title", "rfc822msgid:")

	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("page errors: %q", errs)
	}
}

// TestPlaygroundDeployment: the page hosts the deployment `postfach
// manifest` prints for the dev server, so its trigger URLs are the
// server's own. (Routes: TestRoutesAndRefusals; serve has none of them:
// TestServeWiring.)
func TestPlaygroundDeployment(t *testing.T) {
	t.Parallel()
	h := startHarness(t)
	resp, err := http.Get(h.app.BaseURL + "/playground/deployment.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	want, err := manifests.Deployment(h.app.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || string(got) != string(want) {
		t.Errorf("deployment.json: %d\n%s\nwant\n%s", resp.StatusCode, got, want)
	}
}
