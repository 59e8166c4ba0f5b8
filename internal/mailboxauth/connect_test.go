package mailboxauth_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/internal/mailboxauth/oauthsim"
)

func TestConnectURLAndState(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	c := newHarness(t, oauthsim.Options{}).Connector
	c.Now = func() time.Time { return clock }
	link, err := c.ConnectURL(baseURL+"/", " Alice@Example.com ", tenant)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Scheme+"://"+u.Host+u.Path, baseURL+mailboxauth.ConnectPath; got != want {
		t.Fatalf("ConnectURL = %s, want under %s", link, want)
	}
	state := u.Query().Get("state")
	st, err := c.VerifyState(state)
	if err != nil {
		t.Fatal(err)
	}
	if st.Email != alice || st.Tenant != tenant || !st.Expires.Equal(now.Add(mailboxauth.StateTTL)) || st.Nonce == "" {
		t.Fatalf("state = %+v", st)
	}
	other, _ := c.ConnectURL(baseURL, alice, tenant)
	if other == link {
		t.Fatal("two links for one user are equal; the nonce is missing")
	}

	payload, mac, _ := strings.Cut(state, ".")
	forged := strings.Replace(payload, "a", "b", 1) + "." + mac
	otherKey := *c
	otherKey.StateKey = bytes.Repeat([]byte{8}, 32)
	for _, tc := range []struct {
		name  string
		c     *mailboxauth.Connector
		state string
		at    time.Time
		want  error
	}{
		{"Valid", c, state, now, nil},
		{"LastSecond", c, state, now.Add(mailboxauth.StateTTL - time.Second), nil},
		{"Expired", c, state, now.Add(mailboxauth.StateTTL), mailboxauth.ErrStateExpired},
		{"OtherKey", &otherKey, state, now, mailboxauth.ErrBadState},
		{"TamperedPayload", c, forged, now, mailboxauth.ErrBadState},
		{"TamperedMAC", c, payload + "." + strings.Repeat("A", len(mac)), now, mailboxauth.ErrBadState},
		{"NoMAC", c, payload, now, mailboxauth.ErrBadState},
		{"Empty", c, "", now, mailboxauth.ErrBadState},
		{"Garbage", c, "not.a.state", now, mailboxauth.ErrBadState},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := *tc.c
			cc.Now = func() time.Time { return tc.at }
			_, err := cc.VerifyState(tc.state)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("VerifyState error = %v, want %v", err, tc.want)
			}
			_, err = cc.ConsentURL(tc.state)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("ConsentURL error = %v, want %v", err, tc.want)
			}
		})
	}

	for _, tc := range []struct{ name, user, tenant string }{
		{"NoUser", "", tenant},
		{"NotAnAddress", "alice", tenant},
		{"NoTenant", alice, ""},
		{"UpperCaseTenant", alice, "Example.com"},
	} {
		t.Run("Invalid"+tc.name, func(t *testing.T) {
			if _, err := c.ConnectURL(baseURL, tc.user, tc.tenant); !errors.Is(err, inbox.ErrInvalid) {
				t.Fatalf("ConnectURL error = %v, want ErrInvalid", err)
			}
		})
	}
	short := *c
	short.StateKey = []byte("short")
	if _, err := short.ConnectURL(baseURL, alice, tenant); err == nil {
		t.Fatal("ConnectURL with a short StateKey succeeded")
	}
	if err := short.Validate(); err == nil {
		t.Fatal("Validate accepted a short StateKey")
	}
}

func TestConsentURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthsim.Options{})
	state, answer := h.consent(t, alice)
	if answer.Get("state") != state || answer.Get("code") == "" {
		t.Fatalf("Google's answer = %v", answer)
	}
	reqs := h.OAuth.AuthRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d authorization requests, want 1", len(reqs))
	}
	q := reqs[0]
	for k, want := range map[string]string{
		"client_id":              clientID,
		"redirect_uri":           baseURL + mailboxauth.CallbackPath,
		"response_type":          "code",
		"scope":                  strings.Join(mailboxauth.Scopes, " "),
		"access_type":            "offline",
		"prompt":                 "consent",
		"login_hint":             alice,
		"hd":                     tenant,
		"include_granted_scopes": "true",
		"code_challenge_method":  "S256",
		"state":                  state,
	} {
		if got := q.Get(k); got != want {
			t.Errorf("consent URL %s = %q, want %q", k, got, want)
		}
	}
	if q.Get("code_challenge") == "" {
		t.Error("consent URL has no PKCE challenge")
	}
}

func TestComplete(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthsim.Options{})
	ctx := context.Background()
	m := h.connect(t, alice)
	if m.Address != alice || m.TenantID != tenant || m.Kind != inbox.MailboxMember || m.Access != inbox.AccessOAuth || m.ConnectedBy != alice {
		t.Fatalf("stored mailbox = %+v", m)
	}
	stored, err := h.Store.GetMailbox(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored.SealedToken, m.SealedToken) || len(stored.SealedToken) == 0 {
		t.Fatal("the sealed token is not stored")
	}
	if got := h.LinkCalls.get(); len(got) != 1 || got[0] != alice {
		t.Fatalf("Link calls = %v, want [%s]", got, alice)
	}
	rt, err := h.Keyring.Open([]byte(alice), stored.SealedToken)
	if err != nil || !strings.HasPrefix(string(rt), "sim-refresh-") {
		t.Fatalf("sealed token opens to %q, %v", rt, err)
	}
	if bytes.Contains(stored.SealedToken, rt) {
		t.Fatal("the stored token contains the refresh token in clear")
	}
	if _, err := MustKeyring(t, "k1:"+newKey(t)).Open([]byte(alice), stored.SealedToken); err == nil {
		t.Fatal("the stored token opens without the key")
	}
}

// TestCompleteReconnect: connecting a linked mailbox replaces its token
// and clears the error, keeping the link's other fields.
func TestCompleteReconnect(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthsim.Options{})
	ctx := context.Background()
	if err := h.Store.CreateMailbox(ctx, inbox.Mailbox{
		Address: alice, TenantID: tenant, Kind: inbox.MailboxShared, Access: inbox.AccessDelegation,
		HistoryID: 42, CreatedAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.UpdateMailbox(ctx, alice, func(m *inbox.Mailbox) error {
		m.LastError, m.ErrorCount = "delegation missing for alice@example.com", 3
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	first := h.connect(t, alice)
	second := h.connect(t, alice)
	if bytes.Equal(first.SealedToken, second.SealedToken) {
		t.Fatal("reconnecting kept the old token")
	}
	got, err := h.Store.GetMailbox(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if got.Access != inbox.AccessOAuth || got.Kind != inbox.MailboxShared || got.HistoryID != 42 || got.LastError != "" || got.ErrorCount != 0 {
		t.Fatalf("reconnected mailbox = %+v", got)
	}
	if !bytes.Equal(got.SealedToken, second.SealedToken) {
		t.Fatal("the newest token is not the stored one")
	}
}

func TestCompleteErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// setup prepares the harness; complete runs the callback.
		setup    func(t *testing.T, h *harness)
		complete func(t *testing.T, h *harness) error
		want     error
		stored   bool // the mailbox is linked afterwards
	}{
		{
			name: "WrongAccount",
			setup: func(t *testing.T, h *harness) {
				h.OAuth.SetConsent(func(url.Values) oauthsim.Decision { return oauthsim.Decision{Account: bob} })
			},
			want: mailboxauth.ErrWrongAccount,
		},
		{
			name: "ScopeNotGranted",
			setup: func(t *testing.T, h *harness) {
				h.OAuth.SetConsent(func(q url.Values) oauthsim.Decision {
					return oauthsim.Decision{Account: q.Get("login_hint"), Scopes: []string{"openid"}}
				})
			},
			want: mailboxauth.ErrScopeNotGranted,
		},
		{
			// carol has no Gmail mailbox: getProfile fails.
			name: "NoGmail",
			complete: func(t *testing.T, h *harness) error {
				state, answer := h.consent(t, "carol@example.com")
				_, err := h.Connector.Complete(context.Background(), state, answer.Get("code"))
				return err
			},
			want: mailboxauth.ErrProfile,
		},
		{
			name: "BadCode",
			complete: func(t *testing.T, h *harness) error {
				state, _ := h.consent(t, alice)
				_, err := h.Connector.Complete(context.Background(), state, "sim-code-forged")
				return err
			},
			want: mailboxauth.ErrExchange,
		},
		{
			// The state is spent: refused before the code is exchanged.
			name: "CallbackReplayed",
			complete: func(t *testing.T, h *harness) error {
				state, answer := h.consent(t, alice)
				if _, err := h.Connector.Complete(context.Background(), state, answer.Get("code")); err != nil {
					t.Fatal(err)
				}
				_, err := h.Connector.Complete(context.Background(), state, answer.Get("code"))
				return err
			},
			want:   mailboxauth.ErrStateUsed,
			stored: true,
		},
		{
			// Google refuses a used code itself: once the link (and the
			// record of its spent state) is gone, the replay reaches the
			// exchange, which fails.
			name: "CodeReused",
			complete: func(t *testing.T, h *harness) error {
				state, answer := h.consent(t, alice)
				if _, err := h.Connector.Complete(context.Background(), state, answer.Get("code")); err != nil {
					t.Fatal(err)
				}
				if err := h.Store.DeleteMailbox(context.Background(), alice); err != nil {
					t.Fatal(err)
				}
				_, err := h.Connector.Complete(context.Background(), state, answer.Get("code"))
				return err
			},
			want: mailboxauth.ErrExchange,
		},
		{
			// A code obtained with one state's PKCE challenge does not
			// redeem with another state.
			name: "CodeOfAnotherState",
			complete: func(t *testing.T, h *harness) error {
				_, answer := h.consent(t, alice)
				other, _ := h.consent(t, alice)
				_, err := h.Connector.Complete(context.Background(), other, answer.Get("code"))
				return err
			},
			want: mailboxauth.ErrExchange,
		},
		{
			name: "NoCode",
			complete: func(t *testing.T, h *harness) error {
				state, _ := h.consent(t, alice)
				_, err := h.Connector.Complete(context.Background(), state, "")
				return err
			},
			want: mailboxauth.ErrBadCallback,
		},
		{
			name: "ExpiredState",
			complete: func(t *testing.T, h *harness) error {
				state, answer := h.consent(t, alice)
				h.Connector.Now = func() time.Time { return time.Now().Add(mailboxauth.StateTTL + time.Second) }
				_, err := h.Connector.Complete(context.Background(), state, answer.Get("code"))
				return err
			},
			want: mailboxauth.ErrStateExpired,
		},
		{
			name: "LinkedToAnotherTenant",
			setup: func(t *testing.T, h *harness) {
				if err := h.Store.CreateMailbox(context.Background(), inbox.Mailbox{
					Address: alice, TenantID: "other.example", Kind: inbox.MailboxMember, Access: inbox.AccessDelegation, CreatedAt: time.Now(),
				}); err != nil {
					t.Fatal(err)
				}
			},
			want:   mailboxauth.ErrLinkedElsewhere,
			stored: true, // the other tenant's link, untouched
		},
		{
			name:   "LinkFails",
			setup:  func(t *testing.T, h *harness) { h.LinkCalls.fail(errors.New("users.watch: topic missing")) },
			want:   mailboxauth.ErrNotStarted,
			stored: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, oauthsim.Options{})
			if tc.setup != nil {
				tc.setup(t, h)
			}
			complete := tc.complete
			if complete == nil {
				complete = func(t *testing.T, h *harness) error {
					state, answer := h.consent(t, alice)
					_, err := h.Connector.Complete(context.Background(), state, answer.Get("code"))
					return err
				}
			}
			err := complete(t, h)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Complete error = %v, want %v", err, tc.want)
			}
			for _, secret := range []string{"sim-code-", "sim-refresh-", "sim-access-"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q shows a code or token", err)
				}
			}
			m, gerr := h.Store.GetMailbox(context.Background(), alice)
			if stored := gerr == nil; stored != tc.stored {
				t.Fatalf("mailbox stored = %v (%v), want %v", stored, gerr, tc.stored)
			}
			if tc.want == mailboxauth.ErrLinkedElsewhere && (m.TenantID != "other.example" || len(m.SealedToken) > 0) {
				t.Fatalf("the other tenant's link changed: %+v", m)
			}
		})
	}
}

func TestDisconnect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("Connected", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthsim.Options{})
		h.connect(t, alice)
		if !h.OAuth.Granted(alice) {
			t.Fatal("no grant after connecting")
		}
		if err := h.Connector.Disconnect(ctx, "Alice@Example.com"); err != nil {
			t.Fatal(err)
		}
		if h.OAuth.Granted(alice) {
			t.Fatal("the grant survived Disconnect")
		}
		if _, err := h.Store.GetMailbox(ctx, alice); !errors.Is(err, inbox.ErrNotFound) {
			t.Fatalf("GetMailbox after Disconnect: %v, want ErrNotFound", err)
		}
	})
	t.Run("AlreadyRevoked", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthsim.Options{})
		h.connect(t, alice)
		h.OAuth.RevokeAccount(alice)
		if err := h.Connector.Disconnect(ctx, alice); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Store.GetMailbox(ctx, alice); !errors.Is(err, inbox.ErrNotFound) {
			t.Fatalf("GetMailbox after Disconnect: %v, want ErrNotFound", err)
		}
	})
	t.Run("RevokeFails", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthsim.Options{})
		h.connect(t, alice)
		down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		}))
		defer down.Close()
		h.Connector.RevokeURL = down.URL
		if err := h.Connector.Disconnect(ctx, alice); !errors.Is(err, mailboxauth.ErrNotRevoked) {
			t.Fatalf("Disconnect error = %v, want ErrNotRevoked", err)
		}
		if _, err := h.Store.GetMailbox(ctx, alice); !errors.Is(err, inbox.ErrNotFound) {
			t.Fatalf("GetMailbox after Disconnect: %v, want ErrNotFound", err)
		}
	})
	t.Run("UnlinkFails", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthsim.Options{})
		h.connect(t, alice)
		h.Connector.Unlink = func(context.Context, string) error { return errors.New("store down") }
		if err := h.Connector.Disconnect(ctx, alice); err == nil {
			t.Fatal("Disconnect succeeded although Unlink failed")
		}
		if !h.OAuth.Granted(alice) {
			t.Fatal("the consent was revoked although the mailbox stays linked")
		}
	})
	t.Run("KeyLost", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthsim.Options{})
		h.connect(t, alice)
		h.Connector.Keyring = MustKeyring(t, "k2:"+newKey(t))
		if err := h.Connector.Disconnect(ctx, alice); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Store.GetMailbox(ctx, alice); !errors.Is(err, inbox.ErrNotFound) {
			t.Fatalf("GetMailbox after Disconnect: %v, want ErrNotFound", err)
		}
	})
	t.Run("Delegated", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthsim.Options{})
		if err := h.Store.CreateMailbox(ctx, inbox.Mailbox{Address: bob, TenantID: tenant, Kind: inbox.MailboxMember, Access: inbox.AccessDelegation, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := h.Connector.Disconnect(ctx, bob); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Store.GetMailbox(ctx, bob); !errors.Is(err, inbox.ErrNotFound) {
			t.Fatalf("GetMailbox after Disconnect: %v, want ErrNotFound", err)
		}
	})
	t.Run("NotLinked", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthsim.Options{})
		if err := h.Connector.Disconnect(ctx, alice); !errors.Is(err, inbox.ErrNotFound) {
			t.Fatalf("Disconnect error = %v, want ErrNotFound", err)
		}
	})
}
