package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/demo"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
)

// harness runs `postfach dev` on a free port and plays Google against it.
type harness struct {
	t   *testing.T
	app *devApp
	// locale and zone, if set, go into every event as Gmail sends them
	// (userLocale, timeZone); the events of package addontest say en-US.
	locale string
	zone   *addon.TimeZone
	// minted, if set, collects every token the harness sends (for tests
	// that check the logs keep them).
	minted *[]string
}

func startHarness(t *testing.T) *harness {
	return startHarnessWith(t, devConfig{})
}

// storeKinds are the stores the end-to-end tests of the core loop and the
// sync run on: SQLite always, Firestore when its emulator is up (CI starts
// it and requires the run).
func storeKinds(t *testing.T) []string {
	t.Helper()
	kinds := []string{"sqlite"}
	switch {
	case os.Getenv("FIRESTORE_EMULATOR_HOST") != "":
		kinds = append(kinds, "firestore")
	case os.Getenv("POSTFACH_REQUIRE_FIRESTORE") == "1":
		t.Fatal("POSTFACH_REQUIRE_FIRESTORE=1 but FIRESTORE_EMULATOR_HOST is not set")
	default:
		t.Log("Firestore emulator not running (FIRESTORE_EMULATOR_HOST unset, see .ci/run): Firestore variant skipped")
	}
	return kinds
}

func startHarnessWith(t *testing.T, cfg devConfig) *harness {
	t.Helper()
	if cfg.Store.Kind == "firestore" {
		cfg.Store.ProjectID = "postfach-test"
		cfg.Store.Namespace = fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Addr, cfg.DataDir, cfg.Log = "127.0.0.1:0", t.TempDir(), slog.New(slog.DiscardHandler)
	app, err := startDev(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := app.Wait(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &harness{t: t, app: app}
}

// tokens fetches the tokens Google would send for user at endpoint.
func (h *harness) tokens(email, endpoint string) httpapi.DevTokens {
	h.t.Helper()
	resp, err := http.Get(h.app.BaseURL + "/dev/tokens?" + url.Values{"email": {email}, "url": {endpoint}}.Encode())
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("/dev/tokens: %s", resp.Status)
	}
	var tok httpapi.DevTokens
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		h.t.Fatal(err)
	}
	if h.minted != nil {
		*h.minted = append(*h.minted, tok.SystemIDToken, tok.UserIDToken, tok.UserOAuthToken)
	}
	return tok
}

// response is a decoded add-on response.
type response struct {
	status       int
	card         *cardpb.Card // pushCard or updateCard, strictly parsed
	nav          string       // "pushCard" or "updateCard"
	notification string
	raw          string
}

// call POSTs ev to endpoint as Google would for user: fresh tokens minted
// for that exact URL, the system token in the Authorization header.
func (h *harness) call(email, endpoint string, ev *addon.Event) response {
	h.t.Helper()
	tok := h.tokens(email, endpoint)
	if h.locale != "" {
		ev.Common.UserLocale, ev.Common.TimeZone = h.locale, h.zone
	}
	ev.Auth.SystemIDToken = tok.SystemIDToken
	ev.Auth.UserIDToken = tok.UserIDToken
	ev.Auth.UserOAuthToken = tok.UserOAuthToken
	return h.send(addontest.NewRequest(http.MethodPost, endpoint, ev, tok.SystemIDToken))
}

func (h *harness) send(req *http.Request) response {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	r := response{status: resp.StatusCode, raw: string(body)}
	var env struct {
		Action        *actionJSON `json:"action"`
		RenderActions *struct {
			Action *actionJSON `json:"action"`
		} `json:"renderActions"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		h.t.Fatalf("response is not JSON: %v: %s", err, body)
	}
	a := env.Action
	if env.RenderActions != nil {
		a = env.RenderActions.Action
	}
	if a == nil {
		return r
	}
	if a.Notification != nil {
		r.notification = a.Notification.Text
	}
	for _, n := range a.Navigations {
		for name, raw := range map[string]json.RawMessage{"pushCard": n.PushCard, "updateCard": n.UpdateCard} {
			if raw == nil {
				continue
			}
			var c cardpb.Card
			if err := (protojson.UnmarshalOptions{}).Unmarshal(raw, &c); err != nil {
				h.t.Fatalf("%s does not parse strictly as google.apps.card.v1.Card: %v\n%s", name, err, raw)
			}
			r.card, r.nav = &c, name
		}
	}
	return r
}

type actionJSON struct {
	Navigations []struct {
		PushCard   json.RawMessage `json:"pushCard"`
		UpdateCard json.RawMessage `json:"updateCard"`
	} `json:"navigations"`
	Notification *struct {
		Text string `json:"text"`
	} `json:"notification"`
}

// click follows a card button exactly as Google does: a POST to its
// action.function with its parameters and the card's form inputs.
func (h *harness) click(email string, a *cardpb.Action, form map[string][]string) response {
	h.t.Helper()
	params := map[string]string{}
	for _, p := range a.GetParameters() {
		params[p.GetKey()] = p.GetValue()
	}
	return h.call(email, a.GetFunction(), addontest.ActionEvent(addontest.Tokens{}, params, form))
}

func (h *harness) homepage(email string) response {
	return h.call(email, h.app.BaseURL+"/addon/homepage", addontest.HomepageEvent(addontest.Tokens{}))
}

// open opens, in user's Gmail, their copy of the demo mail with the given
// RFC 5322 Message-ID.
func (h *harness) open(email, rfcID string) response {
	h.t.Helper()
	m, ok := h.app.Gmail.FindByMessageID(email, rfcID)
	if !ok {
		h.t.Fatalf("%s has no copy of %s", email, rfcID)
	}
	return h.call(email, h.app.BaseURL+"/addon/message-open", addontest.MessageEvent(addontest.Tokens{}, m.ID, m.ThreadID, "gmail-access-"+m.ID))
}

// button finds the action of the button labelled label.
func button(t *testing.T, c *cardpb.Card, label string) *cardpb.Action {
	t.Helper()
	var found *cardpb.Action
	eachAction(c, func(text string, a *cardpb.Action) {
		if text == label && found == nil {
			found = a
		}
	})
	if found == nil {
		t.Fatalf("card %q has no button %q", c.GetName(), label)
	}
	return found
}

// buttonFor finds the button labelled label whose action names email.
func buttonFor(t *testing.T, c *cardpb.Card, label, email string) *cardpb.Action {
	t.Helper()
	var found *cardpb.Action
	eachAction(c, func(text string, a *cardpb.Action) {
		for _, p := range a.GetParameters() {
			if text == label && p.GetValue() == email && found == nil {
				found = a
			}
		}
	})
	if found == nil {
		t.Fatalf("card %q has no button %q for %s", c.GetName(), label, email)
	}
	return found
}

// eachAction calls f with every clickable action of a card and its label.
func eachAction(c *cardpb.Card, f func(label string, a *cardpb.Action)) {
	for _, s := range c.GetSections() {
		for _, w := range s.GetWidgets() {
			if dt := w.GetDecoratedText(); dt != nil {
				if a := dt.GetOnClick().GetAction(); a != nil {
					f(dt.GetTopLabel()+"|"+dt.GetText(), a)
				}
				if a := dt.GetButton().GetOnClick().GetAction(); a != nil {
					f(dt.GetButton().GetText(), a)
				}
			}
			for _, b := range w.GetButtonList().GetButtons() {
				if a := b.GetOnClick().GetAction(); a != nil {
					f(b.GetText(), a)
				}
			}
		}
	}
}

// widgetText returns the text of the decorated text with the top label.
func widgetText(c *cardpb.Card, top string) string {
	for _, s := range c.GetSections() {
		for _, w := range s.GetWidgets() {
			if dt := w.GetDecoratedText(); dt != nil && dt.GetTopLabel() == top {
				return dt.GetText()
			}
		}
	}
	return ""
}

func cardText(c *cardpb.Card) string {
	b, _ := protojson.Marshal(c)
	return string(b)
}

var refund = demo.Threads[0] // an open, unassigned Support mail

func TestCoreLoop(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testCoreLoop(t, startHarnessWith(t, devConfig{Store: storeConfig{Kind: kind}}))
		})
	}
}

func testCoreLoop(t *testing.T, h *harness) {
	ctx := context.Background()
	rootID := refund.MessageID(0)

	// Bob's homepage lists Support with the counts the store holds.
	home := h.homepage("bob@example.com")
	if home.status != http.StatusOK || home.nav != "pushCard" {
		t.Fatalf("homepage: %d %s", home.status, home.raw)
	}
	if got := cardText(home.card); !strings.Contains(got, "Support · support@example.com") || strings.Contains(got, "Sales") {
		t.Fatalf("bob's homepage should list Support only: %s", got)
	}
	q := inbox.ConversationQuery{TenantID: "example.com", InboxID: "support", Statuses: []inbox.Status{inbox.StatusOpen, inbox.StatusPending}, Assignee: inbox.Unassigned}
	unassigned, err := h.app.Store.CountConversations(ctx, q)
	if err != nil || unassigned == 0 {
		t.Fatalf("count: %d %v", unassigned, err)
	}
	if got, want := widgetText(home.card, "Unassigned"), fmt.Sprintf("<b>%d</b>", unassigned); got != want {
		t.Errorf("Unassigned = %q, want %q", got, want)
	}

	// Carol opens the mail first: her card shows version 1, unassigned.
	carolCard := h.open("carol@example.com", rootID)
	if carolCard.status != http.StatusOK || !strings.Contains(widgetText(carolCard.card, "Owner"), "Unassigned") {
		t.Fatalf("carol's card: %d %s", carolCard.status, carolCard.raw)
	}

	// Bob opens his own copy (other Gmail ids) and assigns it to himself.
	bobCard := h.open("bob@example.com", rootID)
	if bobCard.status != http.StatusOK || bobCard.card.GetName() != "conversation" {
		t.Fatalf("bob's card: %d %s", bobCard.status, bobCard.raw)
	}
	assigned := h.click("bob@example.com", button(t, bobCard.card, "Assign to me"), nil)
	if assigned.status != http.StatusOK || assigned.nav != "updateCard" {
		t.Fatalf("assign to me: %d %s", assigned.status, assigned.raw)
	}
	if got := widgetText(assigned.card, "Owner"); got != "<b>Bob</b> (you)" {
		t.Errorf("owner after assign = %q", got)
	}
	if assigned.notification == "" {
		t.Error("no notification after assign")
	}

	// Carol's next message-open shows Bob as owner.
	if got := widgetText(h.open("carol@example.com", rootID).card, "Owner"); got != "<b>Bob</b>" {
		t.Errorf("carol sees owner %q, want Bob", got)
	}
	// Carol acting on her stale card is refused and told why.
	late := h.click("carol@example.com", button(t, carolCard.card, "Assign to me"), nil)
	if late.status != http.StatusOK || !strings.HasPrefix(late.notification, "Not saved: Bob assigned this to themselves") {
		t.Fatalf("stale action: %d %q %s", late.status, late.notification, late.raw)
	}
	if !strings.Contains(cardText(late.card), "Not saved") || !strings.Contains(cardText(late.card), "Bob assigned this to themselves · just now") {
		t.Errorf("stale card does not explain the collision: %s", cardText(late.card))
	}
	c, err := h.app.Store.GetConversation(ctx, "example.com", inbox.ConversationID("support", rootID))
	if err != nil || c.Assignee != "bob@example.com" || c.Version != 2 {
		t.Fatalf("stored = %+v, %v; want bob's state at version 2", c, err)
	}

	// With the reloaded card, Carol can act: status, tag, note.
	fresh := late.card
	r := h.click("carol@example.com", button(t, fresh, "Mark pending"), nil)
	if r.status != http.StatusOK || !strings.Contains(widgetText(r.card, "Status"), "Pending") {
		t.Fatalf("mark pending: %d %s", r.status, r.raw)
	}
	r = h.click("carol@example.com", button(t, r.card, "Add tag"), map[string][]string{"tag": {"Billing"}})
	if !strings.Contains(cardText(r.card), "✕ billing") {
		t.Fatalf("add tag: %s", r.raw)
	}
	r = h.click("carol@example.com", button(t, r.card, "Add note"), map[string][]string{"note": {"Refund approved <b>by</b> finance"}})
	if !strings.Contains(cardText(r.card), "Refund approved &lt;b&gt;by") {
		t.Fatalf("note missing or unescaped: %s", cardText(r.card))
	}
	r = h.click("carol@example.com", button(t, r.card, "Add note"), map[string][]string{"note": {"   "}})
	if r.status != http.StatusOK || r.notification != "The note is empty" || r.card != nil {
		t.Fatalf("empty note: %d %q %s", r.status, r.notification, r.raw)
	}
}

func TestTenancyWall(t *testing.T) {
	t.Parallel()
	h := startHarness(t)
	ctx := context.Background()
	rootID := refund.MessageID(0)
	convID := inbox.ConversationID("support", rootID)
	bobCard := h.open("bob@example.com", rootID)
	assign := button(t, bobCard.card, "Assign to me")

	for _, who := range []string{"dave@example.com", "eve@other.example"} {
		t.Run(who, func(t *testing.T) {
			// Replaying bob's button: forged parameters, fresh valid tokens.
			if r := h.click(who, assign, nil); r.status != http.StatusForbidden {
				t.Errorf("assign: %d %s, want 403", r.status, r.raw)
			}
			for _, params := range []map[string]string{
				{"op": "detail", "conv": convID},
				{"op": "reload", "conv": convID},
				{"op": "note", "conv": convID, "v": "1"},
				{"op": "status", "conv": convID, "v": "1", "value": "closed"},
				{"op": "list", "inbox": "support", "filter": "open"},
			} {
				r := h.call(who, h.app.BaseURL+"/addon/action", addontest.ActionEvent(addontest.Tokens{}, params, map[string][]string{"note": {"x"}}))
				if r.status != http.StatusForbidden {
					t.Errorf("%v: %d %s, want 403", params, r.status, r.raw)
				}
				if strings.Contains(r.raw, "Refund") {
					t.Errorf("%v leaked the conversation: %s", params, r.raw)
				}
			}
		})
	}
	c, err := h.app.Store.GetConversation(ctx, "example.com", convID)
	if err != nil || c.Version != 1 || c.Assignee != "" {
		t.Fatalf("conversation changed by refused requests: %+v %v", c, err)
	}
	notes, _ := h.app.Store.ListNotes(ctx, "example.com", convID, 10)
	if len(notes) != 0 {
		t.Errorf("refused note was stored: %+v", notes)
	}
}

func TestRequestVerification(t *testing.T) {
	t.Parallel()
	h := startHarness(t)
	endpoint := h.app.BaseURL + "/addon/homepage"
	good := h.tokens("bob@example.com", endpoint)
	other, err := addontest.NewTrustRoot()
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := other.SystemIDToken(endpoint, devServiceAccount)
	expired, _ := h.app.Root.SystemIDToken(endpoint, devServiceAccount, addontest.WithIssuedAt(time.Now().Add(-2*time.Hour)), addontest.WithExpiry(time.Now().Add(-time.Hour)))
	foreignSA, _ := h.app.Root.SystemIDToken(endpoint, "service-999@gcp-sa-gsuiteaddons.iam.gserviceaccount.com")
	wrongAud := h.tokens("bob@example.com", h.app.BaseURL+"/addon/action").SystemIDToken
	userExpired, _ := h.app.Root.UserIDToken(devOAuthClientID, addon.User{Email: "bob@example.com", Domain: "example.com"}, addontest.WithIssuedAt(time.Now().Add(-2*time.Hour)), addontest.WithExpiry(time.Now().Add(-time.Hour)))
	userForeignClient, _ := h.app.Root.UserIDToken("other-client.apps.googleusercontent.com", addon.User{Email: "bob@example.com", Domain: "example.com"})

	ev := func(user string) *addon.Event {
		return addontest.HomepageEvent(addontest.Tokens{User: user, OAuth: good.UserOAuthToken})
	}
	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"valid", addontest.NewRequest(http.MethodPost, endpoint, ev(good.UserIDToken), good.SystemIDToken), http.StatusOK},
		{"no token", addontest.NewRequest(http.MethodPost, endpoint, ev(good.UserIDToken), ""), http.StatusUnauthorized},
		{"expired", addontest.NewRequest(http.MethodPost, endpoint, ev(good.UserIDToken), expired), http.StatusUnauthorized},
		{"wrong audience", addontest.NewRequest(http.MethodPost, endpoint, ev(good.UserIDToken), wrongAud), http.StatusUnauthorized},
		{"wrong signer", addontest.NewRequest(http.MethodPost, endpoint, ev(good.UserIDToken), forged), http.StatusUnauthorized},
		{"foreign service account", addontest.NewRequest(http.MethodPost, endpoint, ev(good.UserIDToken), foreignSA), http.StatusUnauthorized},
		{"no user token", addontest.NewRequest(http.MethodPost, endpoint, ev(""), good.SystemIDToken), http.StatusUnauthorized},
		{"expired user token", addontest.NewRequest(http.MethodPost, endpoint, ev(userExpired), good.SystemIDToken), http.StatusUnauthorized},
		{"user token of another client", addontest.NewRequest(http.MethodPost, endpoint, ev(userForeignClient), good.SystemIDToken), http.StatusUnauthorized},
		{"system token as user token", addontest.NewRequest(http.MethodPost, endpoint, ev(good.SystemIDToken), good.SystemIDToken), http.StatusUnauthorized},
	}
	malformed, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(`{"commonEventObject": [`))
	malformed.Header.Set("Authorization", "Bearer "+good.SystemIDToken)
	tests = append(tests, struct {
		name string
		req  *http.Request
		want int
	}{"malformed body", malformed, http.StatusBadRequest})
	huge, _ := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(bytes.Repeat([]byte(" "), 2<<20)))
	huge.Header.Set("Authorization", "Bearer "+good.SystemIDToken)
	tests = append(tests, struct {
		name string
		req  *http.Request
		want int
	}{"body too large", huge, http.StatusRequestEntityTooLarge})

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
		})
	}
}

func TestMalformedActions(t *testing.T) {
	t.Parallel()
	h := startHarness(t)
	convID := inbox.ConversationID("support", refund.MessageID(0))
	for _, params := range []map[string]string{
		{},
		{"op": "explode"},
		{"op": "assign-me"},
		{"op": "assign-me", "conv": convID},
		{"op": "assign-me", "conv": convID, "v": "one"},
		{"op": "assign-me", "conv": convID, "v": "-3"},
		{"op": "list", "inbox": "support", "filter": "everything"},
	} {
		r := h.call("bob@example.com", h.app.BaseURL+"/addon/action", addontest.ActionEvent(addontest.Tokens{}, params, nil))
		if r.status != http.StatusBadRequest {
			t.Errorf("%v: %d %s, want 400", params, r.status, r.raw)
		}
	}
	// A message-open event without a gmail object.
	r := h.call("bob@example.com", h.app.BaseURL+"/addon/message-open", addontest.HomepageEvent(addontest.Tokens{}))
	if r.status != http.StatusBadRequest {
		t.Errorf("message-open without gmail: %d %s", r.status, r.raw)
	}
	// A message that is not in bob's mailbox: Gmail says 404, the sidebar says so.
	r = h.call("bob@example.com", h.app.BaseURL+"/addon/message-open", addontest.MessageEvent(addontest.Tokens{}, "ffffffffffffffff", "", ""))
	if r.status != http.StatusOK || !strings.Contains(cardText(r.card), "Could not read this mail") {
		t.Errorf("unknown message: %d %s", r.status, r.raw)
	}
}

// TestEveryScreen walks the sidebar from each user's homepage and from a
// message, following every navigation button, and checks every card parses
// strictly (send does) and stays within Google's limits; once for an
// en-US user and once for a de-DE one in Auckland: no screen of one speaks
// the other's language, and times are in the user's zone.
func TestEveryScreen(t *testing.T) {
	t.Parallel()
	h := startHarness(t)
	auckland, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Fatal(err)
	}
	seedWorkflowScreens(t, h)
	// The rate-limited card is reached by going too fast: a server that
	// allows one action per 100 s shows it on the second.
	slow := startHarnessWith(t, devConfig{RateLimit: httpapi.RateLimit{Burst: 1, PerSecond: 0.01}})
	en, de := catalogWords(t, "en"), catalogWords(t, "de")
	for _, tc := range []struct {
		locale  string
		zone    *time.Location
		foreign map[string]bool // words of the other catalog only
		lang    i18n.Lang
	}{
		{"en-US", time.UTC, minus(de, en), i18n.English},
		{"de-DE", auckland, minus(en, de), i18n.German},
	} {
		t.Run(tc.locale, func(t *testing.T) {
			hl := *h
			hl.t = t
			hl.locale = tc.locale
			_, offset := time.Now().In(tc.zone).Zone()
			hl.zone = &addon.TimeZone{ID: tc.zone.String(), Offset: addon.Int64(offset * 1000)}
			texts := walkScreens(t, &hl)
			hs := *slow
			hs.t, hs.locale, hs.zone = t, hl.locale, hl.zone
			texts["bob@example.com "+cards.NameRateLimited] = visibleText(rateLimitedCard(t, &hs, "bob@example.com"))
			allowed := dataWords()
			for card, text := range texts {
				for _, w := range words(text) {
					if tc.foreign[w] && !allowed[w] {
						t.Errorf("%s: card %s shows %q, a word of the other language:\n%s", tc.locale, card, w, text)
						break
					}
				}
			}
			checkWorkflowScreens(t, texts, i18n.NewPrinter(tc.lang, tc.zone))
			// The conversation card dates its activity in the user's
			// zone: the entry of the refund's creation, as that user's
			// Printer says it (a second either side, for the clock).
			acts, err := h.app.Store.ListActivity(t.Context(), "example.com", inbox.ConversationID("support", refund.MessageID(0)), 50)
			if err != nil || len(acts) == 0 {
				t.Fatalf("activity: %v %v", acts, err)
			}
			p := i18n.NewPrinter(tc.lang, tc.zone)
			card := cardText(hl.open("bob@example.com", refund.MessageID(0)).card)
			var at string
			for _, now := range []time.Time{time.Now(), time.Now().Add(-time.Second), time.Now().Add(time.Second)} {
				if s := p.At(now, acts[len(acts)-1].At); strings.Contains(card, s) {
					at = s
				}
			}
			if at == "" {
				t.Errorf("%s: the conversation card does not date %v as %q in %s:\n%s", tc.locale, acts[len(acts)-1].At, p.At(time.Now(), acts[len(acts)-1].At), tc.zone, card)
			}
		})
	}
}

// rateLimitedCard fires card actions as email until the server refuses
// one for going too fast, and returns that card.
func rateLimitedCard(t *testing.T, h *harness, email string) *cardpb.Card {
	t.Helper()
	for range 2 {
		r := h.call(email, h.app.BaseURL+"/addon/action", addontest.ActionEvent(addontest.Tokens{}, map[string]string{cards.ParamOp: cards.OpHome}, nil))
		if r.status != http.StatusOK || r.card == nil {
			t.Fatalf("action: %d %s", r.status, r.raw)
		}
		if r.card.GetName() == cards.NameRateLimited {
			return r.card
		}
	}
	t.Fatal("two actions within a 1-action burst were not refused")
	return nil
}

// walkScreens visits every screen reachable by navigation from each demo
// user's homepage and from two messages, and returns each card's visible
// text by card name and user.
func walkScreens(t *testing.T, h *harness) map[string]string {
	t.Helper()
	navOps := map[string]bool{"note-card": true, "mentions": true, "mention": true, "home": true, "inboxes": true, "list": true, "detail": true, "reload": true, "settings": true, "inbox-settings": true, "confirm-delete": true, "templates": true, "template-edit": true, "report": true, "inbox-statuses": true, "status-remove-confirm": true, "rules": true, "rule-edit": true, "sla": true}
	seen := map[string]bool{}
	names := map[string]bool{}
	texts := map[string]string{}
	var queue []struct {
		email string
		a     *cardpb.Action
	}
	visit := func(email string, r response) {
		if r.status != http.StatusOK || r.card == nil {
			t.Fatalf("%s: %d %s", email, r.status, r.raw)
		}
		names[r.card.GetName()] = true
		texts[email+" "+r.card.GetName()] += visibleText(r.card) + "\n"
		widgets := 0
		for _, s := range r.card.GetSections() {
			widgets += len(s.GetWidgets())
		}
		if widgets > 100 {
			t.Errorf("card %s has %d widgets", r.card.GetName(), widgets)
		}
		eachAction(r.card, func(_ string, a *cardpb.Action) {
			p := map[string]string{}
			for _, kv := range a.GetParameters() {
				p[kv.GetKey()] = kv.GetValue()
			}
			key := email + fmt.Sprint(p)
			if navOps[p["op"]] && !seen[key] {
				seen[key] = true
				queue = append(queue, struct {
					email string
					a     *cardpb.Action
				}{email, a})
			}
		})
	}
	for _, u := range demo.Users() {
		visit(u, h.homepage(u))
	}
	visit("bob@example.com", h.open("bob@example.com", refund.MessageID(0)))
	visit("dave@example.com", h.open("dave@example.com", demo.Threads[13].MessageID(0)))
	visit("bob@example.com", h.open("bob@example.com", slaWalkMail))
	for _, u := range demo.Users() {
		visit(u, h.compose(u, "", "support@example.com"))
	}
	for i := 0; i < len(queue) && i < 400; i++ {
		visit(queue[i].email, h.click(queue[i].email, queue[i].a, nil))
	}
	for _, want := range []string{"home", "list", "conversation", "settings", "inbox-settings", "templates", "template-edit", "compose", "note", "mentions", "report", "inbox-statuses", "sla"} {
		if !names[want] {
			t.Errorf("walk never reached a %q card (saw %v)", want, names)
		}
	}
	if len(seen) < 20 {
		t.Errorf("walk followed only %d buttons", len(seen))
	}
	return texts
}

// visibleText is every text of a card a user reads: header, section
// headers, labels, texts, buttons, input labels and hints, items.
func visibleText(c *cardpb.Card) string {
	var b strings.Builder
	add := func(ss ...string) {
		for _, s := range ss {
			if s != "" {
				b.WriteString(s + "\n")
			}
		}
	}
	add(c.GetHeader().GetTitle(), c.GetHeader().GetSubtitle())
	for _, s := range c.GetSections() {
		add(s.GetHeader())
		for _, w := range s.GetWidgets() {
			d := w.GetDecoratedText()
			add(d.GetTopLabel(), d.GetText(), d.GetBottomLabel(), d.GetButton().GetText())
			add(w.GetTextParagraph().GetText())
			for _, bt := range w.GetButtonList().GetButtons() {
				add(bt.GetText())
			}
			add(w.GetTextInput().GetLabel(), w.GetTextInput().GetHintText())
			add(w.GetSelectionInput().GetLabel())
			for _, it := range w.GetSelectionInput().GetItems() {
				add(it.GetText())
			}
		}
	}
	return b.String()
}

var wordRE = regexp.MustCompile(`\p{L}{3,}`)

// words are the lower-cased words of a text, markup and entities left
// out.
func words(s string) []string {
	s = regexp.MustCompile(`<[^>]*>|&[#a-z0-9]+;|\{\{[^}]*\}\}`).ReplaceAllString(s, " ")
	var out []string
	for _, w := range wordRE.FindAllString(s, -1) {
		out = append(out, strings.ToLower(w))
	}
	return out
}

// catalogWords are the words of a language's catalogs.
func catalogWords(t *testing.T, lang string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../../internal/i18n/catalog/*." + lang + ".json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s catalogs: %v", lang, err)
	}
	out := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, v := range m {
			for _, w := range words(fmt.Sprint(v)) {
				out[w] = true
			}
		}
	}
	return out
}

func minus(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for w := range a {
		if !b[w] {
			out[w] = true
		}
	}
	return out
}

// dataWords are the words of the demo's data (names, subjects, notes,
// tags, addresses): a screen shows them in whatever language they were
// written.
func dataWords() map[string]bool {
	out := map[string]bool{}
	for _, w := range words(fmt.Sprintf("%+v %+v %+v", demo.Threads, demo.Inboxes, demo.Tenants)) {
		out[w] = true
	}
	return out
}
