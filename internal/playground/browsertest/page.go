package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Page drives one tab the way a person does: it waits for text to appear,
// clicks buttons by their label with real mouse events and types with real
// key events. Every failure fails the test with the page's errors.
type Page struct {
	t   testing.TB
	ctx context.Context
	b   *Browser
	// Settle, if set, is a JavaScript expression (a promise) awaited after
	// every click: the page's own "nothing in flight" signal.
	Settle string
}

// Page returns a driver for the tab ctx (Context or NewTab).
func (b *Browser) Page(t testing.TB, ctx context.Context) *Page {
	return &Page{t: t, ctx: ctx, b: b}
}

// Context is the tab's chromedp context.
func (p *Page) Context() context.Context { return p.ctx }

// Do runs chromedp actions.
func (p *Page) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\npage errors: %q", what, err, p.b.Errors())
	}
}

// JS evaluates expr, awaiting a promise, and decodes its value into out.
func (p *Page) JS(expr string, out any) {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[json.RawMessage](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v\npage errors: %q", expr, err, p.b.Errors())
	}
	if out == nil {
		return
	}
	if err := json.Unmarshal(v, out); err != nil {
		p.t.Fatalf("evaluate %s: %s: %v", expr, v, err)
	}
}

// WaitFor polls a JavaScript condition until it is truthy (45 s at most:
// a loaded CI machine is slow, and a wait that ends early is not a check).
func (p *Page) WaitFor(what, cond string) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[json.RawMessage](cond,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(45*time.Second)))
	if err != nil {
		p.t.Fatalf("wait for %s: %v\npage errors: %q", what, err, p.b.Errors())
	}
}

// Text is the visible text of the first element matching the CSS
// selector ("" if there is none).
func (p *Page) Text(selector string) string {
	p.t.Helper()
	var s string
	p.JS(fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||''`, selector), &s)
	return s
}

// Visible reports whether the element is rendered.
func (p *Page) Visible(selector string) bool {
	p.t.Helper()
	var ok bool
	p.JS(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.offsetParent !== null; })()`, selector), &ok)
	return ok
}

// WaitText waits until the element's visible text contains want.
func (p *Page) WaitText(selector, want string) {
	p.t.Helper()
	p.WaitFor(fmt.Sprintf("%q in %s", want, selector),
		fmt.Sprintf(`((document.querySelector(%q)||{}).innerText||'').includes(%q)`, selector, want))
}

// Click waits for a visible button, link or [role=button] inside scope
// whose text is label (or, failing that, contains it) and clicks it with
// a real mouse event.
func (p *Page) Click(scope, label string) {
	p.t.Helper()
	find := fmt.Sprintf(`(() => {
		for (const old of document.querySelectorAll('[data-browsertest]')) old.removeAttribute('data-browsertest');
		const root = document.querySelector(%q);
		if (!root) return false;
		const els = [root, ...root.querySelectorAll('button, [role=button], a')].filter(e => e.matches('button, [role=button], a') && e.offsetParent !== null && !e.disabled);
		const norm = s => (s || '').replace(/\s+/g, ' ').trim();
		const hit = els.find(e => norm(e.innerText) === %q || e.title === %q) || els.find(e => norm(e.innerText).includes(%q));
		if (!hit) return false;
		hit.setAttribute('data-browsertest', 'target');
		hit.scrollIntoView({block: 'center'});
		return true;
	})()`, scope, label, label, label)
	p.WaitFor(fmt.Sprintf("button %q in %s", label, scope), find)
	p.Do("click "+label, chromedp.Click(chromedp.CSS(`[data-browsertest="target"]`)))
	p.Idle()
}

// Type types text with key events into the input named name inside
// scope.
func (p *Page) Type(scope, name, text string) {
	p.t.Helper()
	sel := chromedp.CSS(fmt.Sprintf(`%s [name=%q]`, scope, name))
	p.Do("type into "+name, chromedp.WaitVisible(sel), chromedp.SendKeys(sel, text))
}

// Idle awaits the page's Settle expression, if any.
func (p *Page) Idle() {
	p.t.Helper()
	if p.Settle != "" {
		p.JS(p.Settle, nil)
	}
}

// Screenshot writes the visible part of the page as a PNG file.
func (p *Page) Screenshot(path string) {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}
