package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/postfach/postfach/internal/mailboxauth"
)

// TestCallbackStateUsed: a "Connect mailbox" link connects once. Its
// callback replayed (the page reloaded), or the link opened again and
// consented to again, ends on a page saying the link was used, in the
// browser's language, and the link stays as the first callback stored it.
func TestCallbackStateUsed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	link := w.connectLink(t, alice)
	first := w.get(t, w.Browser, link)
	if first.Status != http.StatusOK || first.URL.Path != mailboxauth.CallbackPath {
		t.Fatalf("connect: ended on %s with %d:\n%s", first.URL.Path, first.Status, first.Body)
	}
	stored, err := w.Store.GetMailbox(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url, accept, text string
	}{
		{"Reload", first.URL.String(), "", "This link, or a newer one, has already been used"},
		{"FreshConsent", link, "", "This link, or a newer one, has already been used"},
		{"German", link, "de-DE,de;q=0.9", "Dieser Link oder ein neuerer wurde bereits verwendet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.accept != "" {
				req.Header.Set("Accept-Language", tc.accept)
			}
			resp, err := w.Browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Request.URL.Path != mailboxauth.CallbackPath {
				t.Fatalf("ended on %s with %d, want the callback with 400:\n%s", resp.Request.URL.Path, resp.StatusCode, body.String())
			}
			if !strings.Contains(body.String(), tc.text) {
				t.Fatalf("page lacks %q:\n%s", tc.text, body.String())
			}
			m, err := w.Store.GetMailbox(context.Background(), alice)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.SealedToken, stored.SealedToken) || !m.ConsentStateExpires.Equal(stored.ConsentStateExpires) {
				t.Fatal("the refused callback changed the link")
			}
		})
	}
	if logs := w.Logs.String(); !strings.Contains(logs, "consent state was used already") {
		t.Errorf("the refusal was not logged:\n%s", logs)
	}
	w.Logs.checkNoSecrets(t)
	if state := mustQuery(t, link).Get("state"); strings.Contains(w.Logs.String(), state) {
		t.Error("the state was logged")
	}
}
