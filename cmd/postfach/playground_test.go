package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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
	*browsertest.Page
	t       *testing.T
	browser *browsertest.Browser
}

func newPG(t *testing.T, b *browsertest.Browser) *pg {
	p := &pg{Page: b.Page(t, b.Context()), t: t, browser: b}
	p.Settle = "playground.idle()"
	return p
}

// openPlayground starts a dev server with cfg and a headless browser for
// t, and opens the playground at /?query in the browser's first tab (not
// at all for query ""). When t ends, any JavaScript exception or
// console.error the browser saw, in any of its tabs, fails t.
func openPlayground(t *testing.T, cfg devConfig, query string) (*harness, *pg) {
	t.Helper()
	b := browsertest.New(t)
	h := startHarnessWith(t, cfg)
	t.Cleanup(func() {
		if errs := b.Errors(); len(errs) > 0 {
			t.Errorf("page errors: %q", errs)
		}
	})
	p := newPG(t, b)
	if query != "" {
		p.open(h, query)
	}
	return h, p
}

// open loads the playground of h at /?query in p's tab.
func (p *pg) open(h *harness, query string) {
	p.t.Helper()
	p.Do("open the playground", chromedp.Navigate(h.app.BaseURL+"/?"+query))
}

// newTab opens another tab of p's browser, a session of its own.
func (p *pg) newTab() *pg {
	b := p.browser
	q := &pg{Page: b.Page(p.t, b.NewTab(p.t)), t: p.t, browser: b}
	q.Settle = "playground.idle()"
	return q
}

// switchUser picks another person in the user switcher.
func (p *pg) switchUser(email string) {
	p.t.Helper()
	var ok bool
	p.JS(fmt.Sprintf(`(() => { const s = document.getElementById('pg-user'); s.value = %q; s.dispatchEvent(new Event('change')); return s.value === %q; })()`, email, email), &ok)
	if !ok {
		p.t.Fatalf("no user %s in the switcher", email)
	}
	p.WaitText("#pg-user-email", email)
	p.Idle()
}

// count reads the number a homepage row shows beside its label (e.g.
// "Unassigned") in the section of inbox.
func (p *pg) count(section, label string) int {
	p.t.Helper()
	var s string
	p.JS(fmt.Sprintf(`(() => {
		const w = [...document.querySelectorAll('#pg-side-body [data-widget=decoratedText]')]
			.find(e => (e.closest('[data-widget=section], section, .pf-section')||document.body).innerText.includes(%q) && e.innerText.split('\n').map(s => s.trim()).includes(%q));
		return w ? (w.querySelector('b')||{}).textContent||'' : '';
	})()`, section, label), &s)
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		p.t.Fatalf("no %s count in the %s section: %q\nsidebar: %s", label, section, s, p.Text("#pg-side-body"))
	}
	return n
}

func (p *pg) screenshot(name string) {
	p.t.Helper()
	if *updateScreenshots {
		p.Screenshot(filepath.Join(screenshotDir, name+".png"))
	}
}

// TestPlayground works the demo inbox in a real browser as a team would:
// bob takes a mail, carol sees it, a customer writes, carol assigns from
// mobile Gmail's message card, dave sees nothing of Support.
func TestPlayground(t *testing.T) {
	// Bob opens the playground: who he is shows, and the homepage card.
	_, p := openPlayground(t, devConfig{}, "user=bob@example.com")
	p.WaitText("#pg-user-email", "bob@example.com")
	p.WaitText("#pg-side-body", "Support · support@example.com")
	p.WaitText("#pg-list", "Password reset mail never arrives")
	unassigned := p.count("Support", "Unassigned")
	p.screenshot("desktop-home")

	// He opens a Support mail, takes it, sets it pending and writes a note.
	p.Click("#pg-list", "Password reset mail never arrives")
	p.WaitText("#pg-side-body", "Assign to me")
	p.WaitText("#pg-thread-messages", "Tom Becker")
	p.Click("#pg-side-body", "Assign to me")
	p.WaitText("#pg-side-body", "Unassign")
	p.Click("#pg-side-body", "Mark pending")
	p.WaitText("#pg-side-body", "Mark open")
	note := "Asked Tom for his spam folder; waiting."
	p.Type("#pg-side-body", "note", note)
	p.Click("#pg-side-body", "Add note")
	p.WaitText("#pg-side-body", note)
	// The sync mirrors the state into his Gmail: the thread's labels.
	p.WaitText("#pg-thread-labels", "Support/Pending")
	p.WaitText("#pg-thread-labels", "Support/Mine")
	p.JS(`document.querySelector('#pg-side-body [name=note]').scrollIntoView({block: 'center'})`, nil)
	p.screenshot("message-card")

	// Carol sees all of it: the labels in her left panel, and the card.
	p.switchUser("carol@example.com")
	p.WaitFor("Postfach/Support/Pending in carol's labels", `!!document.querySelector('#pg-labels [data-label-name="Postfach/Support/Pending"]')`)
	p.Click(`#pg-labels [data-label-name="Postfach/Support/Pending"]`, "Pending")
	p.WaitText("#pg-list", "Password reset mail never arrives")
	p.Click("#pg-list", "Password reset mail never arrives")
	p.WaitText("#pg-side-body", note)
	p.WaitText("#pg-side-body", "Bob")
	p.WaitText("#pg-side-body", "Pending")

	// A customer writes to Support: Unassigned goes up.
	p.Click("#pg-thread", "←")
	p.WaitText("#pg-side-body", "Support · support@example.com")
	if got := p.count("Support", "Unassigned"); got != unassigned-1 {
		t.Fatalf("Unassigned after bob took one = %d, want %d", got, unassigned-1)
	}
	p.Click("#pg-labels", "Inbox")
	p.Click(".pg-top-right", "Deliver a customer mail")
	p.JS(`document.querySelector('#pg-deliver-form [name=subject]').value = ''`, nil)
	p.Type("#pg-deliver-form", "subject", "Printer on fire")
	p.Click("#pg-deliver-form", "Deliver")
	p.WaitText("#pg-list", "Printer on fire")
	deadline := time.Now().Add(45 * time.Second)
	for p.count("Support", "Unassigned") != unassigned {
		if time.Now().After(deadline) {
			t.Fatalf("Unassigned stayed at %d after a new mail, want %d", p.count("Support", "Unassigned"), unassigned)
		}
		time.Sleep(300 * time.Millisecond)
		p.Click("#pg-side", "⟳")
	}

	// Mobile Gmail: no homepage; the message card alone assigns.
	p.Click(".pg-device", "Mobile")
	p.WaitFor("mobile layout", `document.body.classList.contains('pg-mobile')`)
	p.WaitText("#pg-list", "SAML SSO setup with Okta")
	p.Idle()
	var homepageShown bool
	p.JS(`!!document.querySelector('#pg-side') && document.querySelector('#pg-side').offsetParent !== null`, &homepageShown)
	if homepageShown {
		t.Fatalf("mobile shows the add-on without an open message: %s", p.Text("#pg-side"))
	}
	p.Click("#pg-list", "SAML SSO setup with Okta")
	p.WaitText("#pg-mobile-addon", "Assign to me")
	p.screenshot("mobile")
	p.Click("#pg-mobile-addon", "Assign to me")
	p.WaitText("#pg-mobile-addon", "Unassign")
	p.WaitText("#pg-thread-labels", "Support/Mine")

	// Dave is in Sales only: nothing of Support anywhere.
	p.Click(".pg-device", "Desktop")
	p.switchUser("dave@example.com")
	p.WaitText("#pg-side-body", "Sales · sales@example.com")
	p.WaitText("#pg-list", "Quote for 50 seats")
	for sel, what := range map[string]string{"#pg-side-body": "Support", "#pg-labels": "Support", "#pg-list": "Password reset"} {
		if s := p.Text(sel); strings.Contains(s, what) {
			t.Errorf("dave sees %q in %s:\n%s", what, sel, s)
		}
	}
}

// TestPlaygroundSettingsAndLinks: the universal "Settings" action from the
// sidebar's menu, and a card's link into Gmail opening the mail here.
func TestPlaygroundSettingsAndLinks(t *testing.T) {
	_, p := openPlayground(t, devConfig{}, "user=alice@example.com")
	p.WaitText("#pg-side-body", "Support · support@example.com")

	p.Click(".pg-side-head", "⋮")
	p.Click("#pg-side-menu-list", "Settings")
	p.WaitText("#pg-side-body", "Sales")
	var depth int
	p.JS(`playground.state.stack.length`, &depth)
	if depth < 1 {
		t.Fatalf("settings pushed nothing")
	}

	// "Open in Gmail" on a message card searches Gmail by Message-ID; the
	// playground opens that mail.
	p.Click("#pg-side-head, .pg-side-head", "⟳")
	p.WaitText("#pg-list", "Refund for order #4411")
	p.Click("#pg-list", "Refund for order #4411")
	p.WaitText("#pg-side-body", "Open in Gmail")
	p.Click("#pg-back", "←")
	p.WaitFor("list again", `!document.getElementById('pg-list').hidden`)
	p.Click("#pg-list", "Can't log in")
	p.WaitText("#pg-side-body", "Open in Gmail")
	p.Click("#pg-side-body", "Open in Gmail")
	p.WaitText("#pg-thread-subject", "Can't log in")
	p.WaitText("#pg-list-title", "rfc822msgid:")
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

// TestPlaygroundInGerman: the language switch words the page and, through
// the userLocale the host sends, the cards.
func TestPlaygroundInGerman(t *testing.T) {
	_, p := openPlayground(t, devConfig{}, "user=bob@example.com&lang=de")
	p.WaitText("#pg-labels", "Posteingang")
	p.WaitText(".pg-top-right", "Kunden-E-Mail zustellen")
	p.WaitText("#pg-side-body", "Gemeinsame Postfächer")
	p.WaitText("#pg-side-body", "Nicht zugewiesen")
	p.Click("#pg-list", "Password reset mail never arrives")
	p.WaitText("#pg-side-body", "Mir zuweisen")
	p.Click("#pg-side-body", "Mir zuweisen")
	p.WaitText("#pg-side-body", "Zuweisung aufheben")
	p.WaitText("#pg-toast", "Bob hat sich das zugewiesen")
	p.screenshot("message-card-de")

	// Back to English with the switch.
	p.JS(`(() => { const s = document.getElementById('pg-lang'); s.value = 'en'; s.dispatchEvent(new Event('change')); return true; })()`, nil)
	p.WaitText("#pg-labels", "Inbox")
	p.WaitText("#pg-side-body", "Shared inboxes")
}

// TestPlaygroundTemplates: bob writes a Support template in the sidebar
// (one tap from the message card), a typo in a placeholder is refused on
// save, and in the reply to the customer the deployment's compose trigger
// inserts it into the draft with the placeholders filled.
func TestPlaygroundTemplates(t *testing.T) {
	_, p := openPlayground(t, devConfig{}, "user=bob@example.com")
	p.WaitText("#pg-list", "Refund for order #4411")
	p.Click("#pg-list", "Refund for order #4411")
	p.WaitText("#pg-side-body", "Templates")
	p.Click("#pg-side-body", "Templates")
	p.WaitText("#pg-side-body", "No templates yet")
	p.Click("#pg-side-body", "New template")
	p.Type("#pg-side-body", "template_name", "Refund sent")
	p.Type("#pg-side-body", "template_body", "Hi {{customer.nickname}}")
	p.Click("#pg-side-body", "Save template")
	p.WaitText("#pg-toast", "Unknown placeholder {{customer.nickname}}")
	p.JS(`(() => { const e = document.querySelector('#pg-side-body [name=template_body]'); e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`, nil)
	p.Type("#pg-side-body", "template_body", "Hi {{customer.name}}, we refunded you. {{agent.name}}, {{inbox.name}}")
	p.Click("#pg-side-body", "Save template")
	p.WaitText("#pg-toast", "Template saved")
	p.WaitText("#pg-side-body", "Refund sent")

	// The reply opens the compose window, which shows the deployment's
	// compose trigger; its card offers Support's template.
	p.Click("#pg-reply", "Reply")
	p.WaitText("#pg-compose-trigger", "Postfach templates")
	p.Click("#pg-compose-trigger", "Postfach templates")
	p.WaitText("#pg-compose-addon", "Refund sent")
	p.Click("#pg-compose-addon", "Insert")
	p.WaitText("#pg-compose-body", "Hi Dana Fischer, we refunded you. Bob, Support")
	p.screenshot("compose-template")
}

// TestPlaygroundClaims: bob and carol, each in a tab of their own, open
// the same Support mail and see each other; bob's Reply opens the
// playground's compose window with his reply draft; carol's card shows him
// replying and she takes over; bob's card tells him; carol sends her draft
// from the compose window, and the sync ends the claim and sets the
// inbox's reply status (Pending) for both.
func TestPlaygroundClaims(t *testing.T) {
	h, bob := openPlayground(t, devConfig{}, "")
	carol := bob.newTab()
	const subject = "Refund for order #4411"
	reload := func(p *pg) { p.t.Helper(); p.Click(".pg-side-head", "⟳") }

	for _, p := range []struct {
		*pg
		email string
	}{{bob, "bob@example.com"}, {carol, "carol@example.com"}} {
		p.open(h, "user="+p.email)
		p.WaitText("#pg-user-email", p.email)
		p.WaitText("#pg-list", subject)
		p.Click("#pg-list", subject)
		p.WaitText("#pg-side-body", "Assign to me")
	}
	// Presence: carol opened second and sees bob; bob sees her after a reload.
	carol.WaitText("#pg-side-body", "Bob is viewing")
	reload(bob)
	bob.WaitText("#pg-side-body", "Carol is viewing")

	// Bob replies: the compose window opens with his draft, to the
	// customer, "Re: " the subject, from him.
	bob.Click("#pg-side-body", "Reply")
	bob.WaitFor("the compose window", `document.getElementById('pg-compose-dialog').open`)
	bob.WaitText("#pg-compose-from", "from Bob <bob@example.com>")
	var draft struct{ To, Subject, From string }
	bob.JS(`(() => { const f = document.getElementById('pg-compose-form'); return {To: f.elements.to.value, Subject: f.elements.subject.value, From: document.getElementById('pg-compose-from').innerText}; })()`, &draft)
	if draft.To != "dana@fischer-design.example" || draft.Subject != "Re: "+subject || !strings.Contains(draft.From, "Bob") {
		t.Errorf("bob's compose window: %+v", draft)
	}
	bob.Click("#pg-compose-dialog", "Close")
	bob.WaitFor("the compose window closed", `!document.getElementById('pg-compose-dialog').open`)
	reload(bob)
	bob.WaitText("#pg-side-body", "You are replying")
	if n := len(h.app.Gmail.DraftsOf("bob@example.com")); n != 1 {
		t.Errorf("bob has %d drafts after closing the compose window, want 1 (closing keeps it)", n)
	}

	// Carol's card shows bob replying and offers Take over.
	reload(carol)
	carol.WaitText("#pg-side-body", "Bob is replying")
	carol.Click("#pg-side-body", "Take over")
	carol.WaitFor("carol's compose window", `document.getElementById('pg-compose-dialog').open`)
	carol.WaitText("#pg-compose-from", "carol@example.com")
	var subj string
	carol.JS(`document.getElementById('pg-compose-form').elements.subject.value`, &subj)
	if subj != "Re: "+subject {
		t.Errorf("carol's draft subject = %q", subj)
	}
	reload(bob)
	bob.WaitText("#pg-side-body", "Carol took over your reply")
	bob.WaitText("#pg-side-body", "Carol is replying")
	bob.screenshot("claims")

	// Carol writes and sends from the compose window: her draft goes out.
	carol.Do("write the reply", chromedp.Click(chromedp.CSS("#pg-compose-body")), chromedp.SendKeys(chromedp.CSS("#pg-compose-body"), "Dana, the refund is on its way."))
	carol.Click("#pg-compose-dialog", "Send")
	carol.WaitText("#pg-toast", "Message sent")
	if n := len(h.app.Gmail.DraftsOf("carol@example.com")); n != 0 {
		t.Errorf("carol has %d drafts after sending hers, want 0 (sent as the draft)", n)
	}
	// What went out: her reply in her copy of the thread, to the customer
	// by name, threaded, with what she wrote.
	root, _ := h.app.Gmail.FindByMessageID("carol@example.com", refund.MessageID(0))
	sent, err := h.gmailAs("carol@example.com").Users.Messages.List("me").Q("in:sent").Do()
	if err != nil || len(sent.Messages) != 1 {
		t.Fatalf("carol's sent mail: %v %v", sent, err)
	}
	m, err := h.gmailAs("carol@example.com").Users.Messages.Get("me", sent.Messages[0].Id).Format("full").Do()
	if err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{}
	for _, hd := range m.Payload.Headers {
		headers[hd.Name] = hd.Value
	}
	if m.ThreadId != root.ThreadID || headers["To"] != "Dana Fischer <dana@fischer-design.example>" ||
		headers["In-Reply-To"] != "<"+refund.MessageID(0)+">" || !strings.Contains(headers["From"], "carol@example.com") ||
		!strings.Contains(m.Snippet, "the refund is on its way") {
		t.Errorf("carol's reply: thread %s (want %s), headers %v, snippet %q", m.ThreadId, root.ThreadID, headers, m.Snippet)
	}
	for _, p := range []*pg{carol, bob} {
		deadline := time.Now().Add(45 * time.Second)
		for {
			reload(p)
			s := p.Text("#pg-side-body")
			if !strings.Contains(s, "is replying") && !strings.Contains(s, "You are replying") && strings.Contains(s, "Mark open") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the claim did not end in Pending:\n%s", s)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
}

// TestPlaygroundNotes works internal notes in a real browser: bob mentions
// carol, edits and deletes his note; carol finds the mention on her
// homepage and the mail in her mailbox; a non-member is refused.
func TestPlaygroundNotes(t *testing.T) {
	h, p := openPlayground(t, devConfig{}, "")
	const subject = "Refund for order #4411"
	openRefund := func() {
		p.t.Helper()
		p.WaitText("#pg-list", subject)
		p.Click("#pg-list", subject)
		p.WaitText("#pg-side-body", "Internal notes")
	}

	p.open(h, "user=bob@example.com")
	p.WaitText("#pg-user-email", "bob@example.com")
	openRefund()

	// A mention of someone outside Support is refused and keeps the text.
	p.Type("#pg-side-body", "note", "@dave can you help?")
	p.Click("#pg-side-body", "Add note")
	p.WaitText("#pg-toast", "@dave is not a member of Support")

	// Bob mentions carol.
	p.JS(`(() => { document.querySelector('#pg-side-body [name=note]').value = ''; })()`, nil)
	note := "@carol please call Dana back about the refund."
	p.Type("#pg-side-body", "note", note)
	p.Click("#pg-side-body", "Add note")
	p.WaitText("#pg-toast", "Carol was notified")
	p.WaitText("#pg-side-body", "Notified: Carol")

	// He corrects it on the note's card; the conversation card shows the
	// new text, edited.
	p.Click("#pg-side-body", note)
	p.WaitText("#pg-side-body", "Save")
	p.JS(`(() => { document.querySelector('#pg-side-body [name=note_edit]').value = ''; })()`, nil)
	edited := "@carol please call Dana back today."
	p.Type("#pg-side-body", "note_edit", edited)
	p.Click("#pg-side-body", "Save")
	p.WaitText("#pg-toast", "Note saved")
	p.WaitText("#pg-side-body", edited)
	p.WaitText("#pg-side-body", "edited")

	// Carol: the mention on her homepage (as it was when she was named),
	// the mail in her mailbox.
	p.switchUser("carol@example.com")
	p.WaitText("#pg-side-body", "Mentions")
	p.WaitText("#pg-side-body", note)
	p.WaitText("#pg-list", "Bob mentioned you: "+subject)
	p.screenshot("mentions")
	p.Click("#pg-side-body", note)
	p.WaitText("#pg-side-body", "Assign to me")
	p.WaitText("#pg-side-body", "Notified: Carol")

	// Her view of bob's note offers no edit.
	p.Click("#pg-side-body", edited)
	p.WaitText("#pg-side-body", "Earlier versions")
	p.WaitText("#pg-side-body", note)
	var canEdit bool
	p.JS(`!!document.querySelector('#pg-side-body [name=note_edit]')`, &canEdit)
	if canEdit {
		t.Error("carol's card of bob's note has an edit field")
	}

	// Bob deletes it.
	p.switchUser("bob@example.com")
	openRefund()
	p.Click("#pg-side-body", edited)
	p.WaitText("#pg-side-body", "Delete")
	p.Click("#pg-side-body", "Delete")
	p.WaitText("#pg-toast", "Note deleted")
	p.WaitText("#pg-side-body", "Bob deleted a note")
}
