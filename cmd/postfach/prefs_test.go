package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/inbox"
)

// prefReads counts the store's GetUserPrefs calls; countingStore, wrapped
// around it, counts every other read.
type prefReads struct {
	inbox.Store
	n atomic.Int64
}

func (p *prefReads) GetUserPrefs(ctx context.Context, tenantID, email string) (inbox.UserPrefs, error) {
	p.n.Add(1)
	return p.Store.GetUserPrefs(ctx, tenantID, email)
}

// meteredHarness is a harness whose store is counted, started over dataDir
// (SQLite) or namespace (Firestore) so that a second one can start over
// the same data: an app restart.
type meteredHarness struct {
	*harness
	counted *countingStore
	prefs   *prefReads
	stop    func()
}

// reads returns the store reads so far, GetUserPrefs included.
func (m *meteredHarness) reads() int64 { return m.counted.reads.Load() + m.prefs.n.Load() }

func startMetered(t *testing.T, kind, dataDir, namespace string) *meteredHarness {
	t.Helper()
	m := &meteredHarness{}
	cfg := devConfig{Store: storeConfig{Kind: kind}, DataDir: dataDir, Addr: "127.0.0.1:0", Log: slog.New(slog.DiscardHandler)}
	if kind == "firestore" {
		cfg.Store.ProjectID, cfg.Store.Namespace = "postfach-test", namespace
	}
	cfg.WrapStore = func(s inbox.Store) inbox.Store {
		m.prefs = &prefReads{Store: s}
		m.counted = &countingStore{Store: m.prefs}
		return m.counted
	}
	ctx, cancel := context.WithCancel(context.Background())
	app, err := startDev(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stopped := false
	m.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := app.Wait(); err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(m.stop)
	m.harness = &harness{t: t, app: app}
	return m
}

// TestLanguagePreference: a de-DE user chooses English in the settings and
// gets English cards although Gmail says German, until they follow Gmail
// again; the choice is theirs alone (not another user's, not a user of
// another tenant with the same local part), any user may make it while
// admin actions stay admin-only, it survives a restart, and it costs no
// store read per card once cached.
func TestLanguagePreference(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testLanguagePreference(t, kind)
		})
	}
}

func testLanguagePreference(t *testing.T, kind string) {
	const (
		bob      = "bob@example.com"   // no admin
		alice    = "alice@example.com" // admin
		carol    = "carol@example.com"
		otherBob = "bob@other.example" // same local part, other tenant
	)
	dir, ns := t.TempDir(), fmt.Sprintf("e2e-prefs-%d", time.Now().UnixNano())
	m := startMetered(t, kind, dir, ns)
	h := m.harness
	h.locale, h.zone = "de-DE", &addon.TimeZone{ID: "Europe/Berlin", Offset: 3600000}
	rootID := refund.MessageID(0)

	german := func(who, what string, r response) {
		t.Helper()
		if r.status != http.StatusOK || r.card == nil {
			t.Fatalf("%s, %s: %d %s", who, what, r.status, r.raw)
		}
		if txt := visibleText(r.card); strings.Contains(txt, "Assign to me") || strings.Contains(txt, "Settings") || strings.Contains(txt, "Your preferences") || strings.Contains(txt, "My inboxes") {
			t.Errorf("%s, %s: English on a card that should be German:\n%s", who, what, txt)
		}
	}
	english := func(who, what string, r response) {
		t.Helper()
		if r.status != http.StatusOK || r.card == nil {
			t.Fatalf("%s, %s: %d %s", who, what, r.status, r.raw)
		}
		if txt := visibleText(r.card); strings.Contains(txt, "Mir zuweisen") || strings.Contains(txt, "Einstellungen") || strings.Contains(txt, "Meine Postfächer") {
			t.Errorf("%s, %s: German on a card that should be English:\n%s", who, what, txt)
		}
	}

	// Gmail says German: bob's cards are German.
	conv := h.open(bob, rootID)
	german(bob, "message", conv)
	button(t, conv.card, "Mir zuweisen")

	// Bob, no admin, opens the Settings universal action: his
	// preferences, nothing of the admin screens.
	st := h.settingsCard(bob)
	german(bob, "settings", st)
	if st.card.GetName() != "settings" || !strings.Contains(visibleText(st.card), "Ihre Einstellungen") {
		t.Fatalf("bob's settings: %s", st.raw)
	}
	if txt := visibleText(st.card); strings.Contains(txt, "Admins") || strings.Contains(txt, "Postfach anlegen") {
		t.Errorf("bob's settings show the admin screens:\n%s", txt)
	}
	// Alice, admin, sees her preferences first and the admin screens below.
	ast := h.settingsCard(alice)
	if ast.status != http.StatusOK || ast.card.GetSections()[0].GetHeader() != "Ihre Einstellungen" || !strings.Contains(visibleText(ast.card), "Postfach anlegen") {
		t.Errorf("alice's settings: %d %s", ast.status, ast.raw)
	}

	// Bob chooses English: the card comes back in English, and so does
	// the notice.
	saved := h.click(bob, button(t, st.card, "Speichern"), map[string][]string{"language": {"en"}})
	if saved.status != http.StatusOK || saved.nav != "updateCard" || saved.notification != "Preferences saved" {
		t.Fatalf("save English: %d %q %s", saved.status, saved.notification, saved.raw)
	}
	english(bob, "settings after saving", saved)
	if got := selected(saved.card); got != "en" {
		t.Errorf("language selected after saving = %q, want en", got)
	}

	// Every card of bob's is English now, though Gmail says German.
	english(bob, "message", h.open(bob, rootID))
	english(bob, "homepage", h.homepage(bob))
	button(t, h.open(bob, rootID).card, "Assign to me")

	// No one else's: carol, alice, and bob of another tenant stay German.
	german(carol, "message", h.open(carol, rootID))
	german(alice, "homepage", h.homepage(alice))
	german(otherBob, "homepage", h.homepage(otherBob))
	// And bob of the other tenant choosing German under an English Gmail
	// changes nothing for bob of example.com.
	he := *h
	he.locale, he.zone = "en-US", nil
	ost := he.settingsCard(otherBob)
	if r := he.click(otherBob, button(t, ost.card, "Save"), map[string][]string{"language": {"de"}}); r.notification != "Einstellungen gespeichert" {
		t.Fatalf("bob@other.example chooses German: %d %q %s", r.status, r.notification, r.raw)
	}
	german(otherBob, "homepage under en-US", he.homepage(otherBob))
	english(bob, "homepage after bob@other.example chose German", h.homepage(bob))

	// Bob still may not do what admins do.
	for _, params := range []map[string]string{
		{"op": "inbox-settings", "inbox": "support"},
		{"op": "admin-add-admin", "email": bob},
		{"op": "admin-remove-member", "inbox": "support", "email": carol},
	} {
		r := h.call(bob, h.app.BaseURL+"/addon/action", addontest.ActionEvent(addontest.Tokens{}, params, map[string][]string{"emails": {bob}}))
		if r.status != http.StatusForbidden {
			t.Errorf("bob forges %v: %d %s, want 403", params, r.status, r.raw)
		}
	}
	if tn, err := h.app.Store.GetTenant(t.Context(), "example.com"); err != nil || tn.IsAdmin(bob) {
		t.Fatalf("tenant after bob's forged actions: %+v %v", tn, err)
	}
	// A language Postfach does not speak is refused, and nothing changes.
	if r := h.click(bob, button(t, saved.card, "Save"), map[string][]string{"language": {"fr"}}); r.status != http.StatusBadRequest {
		t.Errorf("save French: %d %s, want 400", r.status, r.raw)
	}

	// Steady state: the preference costs no store read per card.
	h.open(bob, rootID)
	reads0, prefs0 := m.reads(), m.prefs.n.Load()
	const n = 5
	for range n {
		english(bob, "message", h.open(bob, rootID))
	}
	if got := m.prefs.n.Load() - prefs0; got != 0 {
		t.Errorf("%d cards read the preference %d times, want 0 (cached)", n, got)
	}
	t.Logf("%s: message-open, preference cached: %.1f store reads per card", kind, float64(m.reads()-reads0)/n)

	// The preference is stored: it survives a restart, whose cache is
	// empty (one read on the first card, none after).
	m.stop()
	m2 := startMetered(t, kind, dir, ns)
	h2 := m2.harness
	h2.locale, h2.zone = h.locale, h.zone
	reads0, prefs0 = m2.reads(), m2.prefs.n.Load()
	again := h2.open(bob, rootID)
	english(bob, "message after a restart", again)
	if got := m2.prefs.n.Load() - prefs0; got != 1 {
		t.Errorf("first card after a restart read the preference %d times, want 1", got)
	}
	t.Logf("%s: message-open, cold cache: %d store reads", kind, m2.reads()-reads0)

	// Follow Gmail again: German, the notice too.
	st = h2.settingsCard(bob)
	english(bob, "settings after a restart", st)
	back := h2.click(bob, button(t, st.card, "Save"), map[string][]string{"language": {"gmail"}})
	if back.status != http.StatusOK || back.notification != "Einstellungen gespeichert" {
		t.Fatalf("follow Gmail: %d %q %s", back.status, back.notification, back.raw)
	}
	german(bob, "settings after following Gmail", back)
	if got := selected(back.card); got != "gmail" {
		t.Errorf("language selected = %q, want gmail", got)
	}
	german(bob, "message", h2.open(bob, rootID))
	p, err := h2.app.Store.GetUserPrefs(t.Context(), "example.com", bob)
	if err != nil || p.Language != "" {
		t.Errorf("stored preferences = %+v, %v; want none chosen", p, err)
	}
}

// selected is the value of the selected item of a card's language dropdown.
func selected(c *cardpb.Card) string {
	for _, s := range c.GetSections() {
		for _, w := range s.GetWidgets() {
			if in := w.GetSelectionInput(); in != nil && in.GetName() == "language" {
				for _, it := range in.GetItems() {
					if it.GetSelected() {
						return it.GetValue()
					}
				}
			}
		}
	}
	return ""
}
