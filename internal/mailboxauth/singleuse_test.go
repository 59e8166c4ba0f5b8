package mailboxauth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/internal/mailboxauth/oauthsim"
)

// tokenCalls counts the requests to the OAuth server's token endpoint (code
// exchanges, here) that pass through it.
type tokenCalls struct{ n atomic.Int64 }

func (c *tokenCalls) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == oauthsim.PathToken {
		c.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// staleStore answers reads of a link as if it were not there yet, the view
// of a callback that read before another one with the same state stored
// the link: GetMailbox finds nothing, and so do the first missUpdates
// UpdateMailbox calls. Writes go to the store.
type staleStore struct {
	mailboxauth.MailboxStore
	missUpdates atomic.Int64
}

func (s *staleStore) GetMailbox(_ context.Context, address string) (inbox.Mailbox, error) {
	return inbox.Mailbox{}, fmt.Errorf("mailbox %s: %w", address, inbox.ErrNotFound)
}

func (s *staleStore) UpdateMailbox(ctx context.Context, address string, fn func(*inbox.Mailbox) error) (inbox.Mailbox, error) {
	if s.missUpdates.Add(-1) >= 0 {
		return inbox.Mailbox{}, fmt.Errorf("mailbox %s: %w", address, inbox.ErrNotFound)
	}
	return s.MailboxStore.UpdateMailbox(ctx, address, fn)
}

// TestCompleteStateSingleUse: a state connects a mailbox once. The same
// state is refused afterwards, with the used code or with a fresh one
// (its user consenting again), and so is any state issued before it; the
// refusal comes before the code exchange, and again from the store write
// when the early read missed the link; a state issued after the connect
// still reconnects.
func TestCompleteStateSingleUse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// run connects alice once (returning the state it spent), then
		// makes the attempt under test.
		run func(t *testing.T, h *harness) (spent string, err error)
		// exchanges is how many code exchanges the attempt may make.
		exchanges int64
		want      error
	}{
		{
			name: "SameStateUsedCode",
			run: func(t *testing.T, h *harness) (string, error) {
				state, answer := h.consent(t, alice)
				mustComplete(t, h.Connector, state, answer.Get("code"))
				return state, complete(h.Connector, state, answer.Get("code"))
			},
			want: mailboxauth.ErrStateUsed,
		},
		{
			name: "SameStateFreshCode",
			run: func(t *testing.T, h *harness) (string, error) {
				state, answer := h.consent(t, alice)
				mustComplete(t, h.Connector, state, answer.Get("code"))
				return state, complete(h.Connector, state, h.answer(t, state).Get("code"))
			},
			want: mailboxauth.ErrStateUsed,
		},
		{
			name: "OlderState",
			run: func(t *testing.T, h *harness) (string, error) {
				older, olderAnswer := h.consent(t, alice)
				newer, newerAnswer := h.consent(t, alice)
				mustComplete(t, h.Connector, newer, newerAnswer.Get("code"))
				return newer, complete(h.Connector, older, olderAnswer.Get("code"))
			},
			want: mailboxauth.ErrStateUsed,
		},
		{
			// The early read misses the link; the store write's own check
			// refuses (the update path).
			name: "StaleReadUpdate",
			run: func(t *testing.T, h *harness) (string, error) {
				state, answer := h.consent(t, alice)
				mustComplete(t, h.Connector, state, answer.Get("code"))
				c := *h.Connector
				c.Store = &staleStore{MailboxStore: h.Store}
				return state, complete(&c, state, h.answer(t, state).Get("code"))
			},
			exchanges: 1,
			want:      mailboxauth.ErrStateUsed,
		},
		{
			// Both reads miss the link: the create finds it taken, and the
			// update that follows refuses.
			name: "StaleReadCreate",
			run: func(t *testing.T, h *harness) (string, error) {
				state, answer := h.consent(t, alice)
				mustComplete(t, h.Connector, state, answer.Get("code"))
				c := *h.Connector
				stale := &staleStore{MailboxStore: h.Store}
				stale.missUpdates.Store(1)
				c.Store = stale
				return state, complete(&c, state, h.answer(t, state).Get("code"))
			},
			exchanges: 1,
			want:      mailboxauth.ErrStateUsed,
		},
		{
			// Connecting again from the sidebar takes a new state, which
			// connects; the one spent before stays spent.
			name: "FreshStateReconnects",
			run: func(t *testing.T, h *harness) (string, error) {
				first, answer := h.consent(t, alice)
				mustComplete(t, h.Connector, first, answer.Get("code"))
				second, answer := h.consent(t, alice)
				err := complete(h.Connector, second, answer.Get("code"))
				if err == nil {
					if err := complete(h.Connector, first, h.answer(t, first).Get("code")); !errors.Is(err, mailboxauth.ErrStateUsed) {
						t.Errorf("the first state after the second connected: %v, want ErrStateUsed", err)
					}
				}
				return second, err
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, oauthsim.Options{})
			calls := &tokenCalls{}
			h.Connector.HTTPClient = &http.Client{Transport: calls}
			var before int64
			var connected inbox.Mailbox
			h.Connector.Link = func(_ context.Context, m inbox.Mailbox) error {
				connected, before = m, calls.n.Load()
				return nil
			}
			spent, err := tc.run(t, h)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Complete error = %v, want %v", err, tc.want)
			}
			if n := calls.n.Load() - before; n != tc.exchanges {
				t.Errorf("%d code exchanges after the last connect, want %d", n, tc.exchanges)
			}
			// The link is the last connect's, spending its state.
			st, err := h.Connector.VerifyState(spent)
			if err != nil {
				t.Fatal(err)
			}
			got, err := h.Store.GetMailbox(context.Background(), alice)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.SealedToken, connected.SealedToken) {
				t.Error("the stored token is not the last connect's")
			}
			if !got.ConsentStateExpires.Equal(st.Expires) {
				t.Errorf("ConsentStateExpires = %v, want the spent state's %v", got.ConsentStateExpires, st.Expires)
			}
		})
	}
}

// TestCompleteStateRace: two callbacks with one state and two codes (its
// user consented twice) at once, on a mailbox not linked yet: one
// connects, the other is refused.
func TestCompleteStateRace(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthsim.Options{})
	state, first := h.consent(t, alice)
	codes := []string{first.Get("code"), h.answer(t, state).Get("code")}
	errs := make([]error, len(codes))
	var wg sync.WaitGroup
	for i, code := range codes {
		wg.Go(func() { errs[i] = complete(h.Connector, state, code) })
	}
	wg.Wait()
	var ok, used int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, mailboxauth.ErrStateUsed):
			used++
		default:
			t.Errorf("Complete: %v", err)
		}
	}
	if ok != 1 || used != 1 {
		t.Fatalf("%d connected, %d refused as used (%v); want 1 and 1", ok, used, errs)
	}
	if got := h.LinkCalls.get(); len(got) != 1 {
		t.Errorf("Link calls = %v, want one", got)
	}
}

func complete(c *mailboxauth.Connector, state, code string) error {
	_, err := c.Complete(context.Background(), state, code)
	return err
}

func mustComplete(t *testing.T, c *mailboxauth.Connector, state, code string) {
	t.Helper()
	if err := complete(c, state, code); err != nil {
		t.Fatalf("Complete: %v", err)
	}
}
