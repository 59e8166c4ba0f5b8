package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/inbox"
)

// linkOf finds the open-link button labelled label.
func linkOf(t *testing.T, c *cardpb.Card, label string) string {
	t.Helper()
	for _, s := range c.GetSections() {
		for _, w := range s.GetWidgets() {
			for _, b := range w.GetButtonList().GetButtons() {
				if b.GetText() == label && b.GetOnClick().GetOpenLink() != nil {
					return b.GetOnClick().GetOpenLink().GetUrl()
				}
			}
		}
	}
	t.Fatalf("card %q has no link %q", c.GetName(), label)
	return ""
}

// TestConnectMailbox: dave connects his own mailbox from the homepage
// through the OAuth consent (the local OAuth server of dev mode), the
// refresh token is stored sealed, the mailbox syncs; when he revokes the
// consent, the admins' homepage says so with the fix; he disconnects.
func TestConnectMailbox(t *testing.T) {
	t.Parallel()
	h := startHarness(t)
	ctx := context.Background()
	const dave = "dave@example.com"
	if err := h.app.Syncer.Unlink(ctx, dave); err != nil {
		t.Fatal(err)
	}

	home := h.homepage(dave)
	connect := linkOf(t, home.card, "Connect my mailbox")
	if !strings.HasPrefix(connect, h.app.BaseURL+"/oauth/connect?state=") {
		t.Fatalf("connect link %q", connect)
	}
	// The browser follows: our /oauth/connect → consent → /oauth/callback.
	var hops []string
	browser := &http.Client{CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		hops = append(hops, r.URL.Path)
		return nil
	}}
	resp, err := browser.Get(connect)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "connected") {
		t.Fatalf("connect flow: %d %v %s", resp.StatusCode, hops, page)
	}
	if len(hops) != 2 || hops[0] != "/dev/google/o/oauth2/v2/auth" || hops[1] != "/oauth/callback" {
		t.Errorf("redirects %v, want the consent then the callback", hops)
	}
	m, err := h.app.Store.GetMailbox(ctx, dave)
	if err != nil || m.Access != inbox.AccessOAuth || len(m.SealedToken) == 0 || m.ConnectedBy != dave {
		t.Fatalf("mailbox after connect: %+v %v", m, err)
	}
	if bytes.Contains(m.SealedToken, []byte("refresh")) || bytes.Contains(m.SealedToken, []byte("rt-")) {
		t.Errorf("sealed token shows its content: %q", m.SealedToken)
	}
	// The link synced dave's mailbox with the connected token: his copies
	// of Sales mail carry the labels.
	if m.HistoryID == 0 || m.LastError != "" {
		t.Fatalf("connected mailbox did not sync: %+v", m)
	}
	if got := cardText(h.homepage(dave).card); !strings.Contains(got, "Disconnect my mailbox") {
		t.Errorf("dave's homepage after connecting: %s", got)
	}

	// Dave revokes Postfach's access in his Google account: the next sync
	// fails (Gmail refuses the access token, which drops the cached
	// credentials), the one after learns from the token endpoint that the
	// consent is gone, and the admins see why, with the fix.
	h.app.Google.RevokeAccount(dave)
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := h.app.Syncer.Sync(ctx, dave)
		m, _ = h.app.Store.GetMailbox(ctx, dave)
		if strings.Contains(m.LastError, "consent revoked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked consent not noticed: %+v (%v)", m, err)
		}
		if errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := cardText(h.homepage("alice@example.com").card); !strings.Contains(got, "Needs attention") || !strings.Contains(got, "consent was revoked") {
		t.Errorf("alice's homepage does not show the revoked consent: %s", got)
	}
	if got := cardText(h.homepage(dave).card); !strings.Contains(got, "Connect my mailbox") {
		t.Errorf("dave is not offered to reconnect: %s", got)
	}

	// Dave connects again, then disconnects from the sidebar: Postfach
	// revokes its grant and forgets the link with its sealed token.
	resp, err = browser.Get(linkOf(t, h.homepage(dave).card, "Connect my mailbox"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !h.app.Google.Granted(dave) {
		t.Fatalf("reconnect: %d, granted=%v", resp.StatusCode, h.app.Google.Granted(dave))
	}
	r := h.click(dave, button(t, h.homepage(dave).card, "Disconnect my mailbox"), nil)
	if r.status != http.StatusOK || r.notification != "Mailbox disconnected" {
		t.Fatalf("disconnect: %d %s", r.status, r.raw)
	}
	if _, err := h.app.Store.GetMailbox(ctx, dave); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("mailbox after disconnect: %v", err)
	}
	if h.app.Google.Granted(dave) {
		t.Error("the grant was not revoked")
	}
}
