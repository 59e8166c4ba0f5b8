package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/postfach/postfach/internal/cloudlog"
	"github.com/postfach/postfach/internal/demo"
)

// TestLogsKeepSecrets runs the product as a team uses it, with every log
// at debug level in Cloud Logging's JSON, and then searches the logs for
// every secret the run configured or handled: the sealing, state and
// report keys, the OAuth client secret, the delegation key, every token
// Google (here: dev's stand-ins) sent or issued, and the text of mails and
// notes. None may appear.
func TestLogsKeepSecrets(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	cfg := devConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Log: cloudlog.New(&logs, slog.LevelDebug)}
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
	var minted []string
	h := &harness{t: t, app: app, minted: &minted}
	const bob, carol, dave = "bob@example.com", "carol@example.com", "dave@example.com"
	h.settle()

	// The sidebar: homepage, a mail, an assignment, a note naming carol
	// (which mails her), a reply draft.
	h.homepage(bob)
	rootID := refund.MessageID(0)
	card := h.open(bob, rootID)
	h.click(bob, button(t, card.card, "Assign to me"), nil)
	card = h.open(bob, rootID)
	const note = "@carol the card ending 4242 was charged twice, see ticket 77-ALPHA"
	if r := h.click(bob, button(t, card.card, "Add note"), map[string][]string{"note": {note}}); !strings.Contains(r.notification, "Carol was notified") {
		t.Fatalf("note: %q %s", r.notification, r.raw)
	}
	h.clickOn(bob, rootID, button(t, card.card, "Reply"))
	h.homepage(carol)

	// Dave connects his mailbox by offline consent: a refresh token is
	// issued, sealed and used.
	if err := h.app.Syncer.Unlink(ctx, dave); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(linkOf(t, h.homepage(dave).card, "Connect my mailbox"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("connect: %s", resp.Status)
	}
	// A customer writes; the push and the sync run; the sweep runs.
	h.deliver("support@example.com", "From: Eve Customer <eve@customer.example>\r\nTo: support@example.com\r\nSubject: Invoice\r\nMessage-ID: <secret-run@customer.example>\r\n\r\nMy IBAN is DE89 3704 0044 0532 0130 00, please refund.\r\n")
	h.settle()
	h.slaSweep()
	h.app.Syncer.Wait()

	out := logs.String()
	if !strings.Contains(out, `"severity"`) || len(out) < 1000 {
		t.Fatalf("the run logged too little to judge: %d bytes", len(out))
	}
	secrets := map[string]string{
		"token keys":          strings.TrimPrefix(app.cfg.Access.TokenKeys, "dev:"),
		"state key":           app.cfg.Access.StateKey,
		"report key":          app.cfg.ReportKey,
		"OAuth client secret": app.cfg.Access.ConnectClientSecret,
		"note text":           "77-ALPHA",
		"mail body":           "DE89 3704",
		"demo mail body":      strings.Split(demo.Threads[0].Mails[0].Body, "\n")[1],
	}
	var key struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal([]byte(app.cfg.Access.DelegationKey), &key); err != nil || key.PrivateKey == "" {
		t.Fatalf("delegation key: %v", err)
	}
	// A line of the key's PEM body.
	secrets["delegation key"] = strings.Split(key.PrivateKey, "\n")[2]
	for i, tok := range minted {
		if tok != "" {
			secrets[fmt.Sprintf("token %d sent to the add-on", i)] = tok
		}
	}
	for what, s := range secrets {
		if len(s) < 6 {
			t.Fatalf("%s: %q is too short to search for", what, s)
		}
		if strings.Contains(out, s) {
			t.Errorf("the logs contain the %s", what)
		}
	}
	// Whatever the stand-ins issued: JWTs and the OAuth server's tokens.
	for name, re := range map[string]*regexp.Regexp{
		"a JWT":                 regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`),
		"an OAuth access token": regexp.MustCompile(`sim-access-[A-Za-z0-9_-]{8,}`),
		"a refresh token":       regexp.MustCompile(`sim-refresh-[A-Za-z0-9_-]{8,}`),
	} {
		if m := re.FindString(out); m != "" {
			t.Errorf("the logs contain %s: %.20s…", name, m)
		}
	}
}
