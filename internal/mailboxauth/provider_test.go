package mailboxauth_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/postfach/postfach/internal/gmailclient"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/internal/mailboxauth/oauthsim"
)

var _ gmailclient.TokenSources = (*mailboxauth.Provider)(nil)

const (
	serviceAccount = "postfach-dwd@postfach-test.iam.gserviceaccount.com"
	gmailModify    = "https://www.googleapis.com/auth/gmail.modify"
)

// profile reads a mailbox's history id through the production Gmail
// client, with the provider's tokens.
func profile(h *harness, p *mailboxauth.Provider, address string) (uint64, error) {
	d := gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: h.GmailURL, Tokens: p, MaxAttempts: 1})
	g, err := d.Mailbox(context.Background(), address)
	if err != nil {
		return 0, err
	}
	return g.HistoryID(context.Background())
}

// clock is a settable time for the Provider's cache.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func createMailbox(tb testing.TB, h *harness, m inbox.Mailbox) {
	tb.Helper()
	if m.TenantID == "" {
		m.TenantID = tenant
	}
	if m.Kind == "" {
		m.Kind = inbox.MailboxMember
	}
	m.CreatedAt = time.Now()
	if err := h.Store.CreateMailbox(context.Background(), m); err != nil {
		tb.Fatal(err)
	}
}

func TestProviderDelegation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		granted []string // the admin's delegation entry; nil: none
		want    error
	}{
		{"Granted", []string{gmailModify}, nil},
		{"GrantedMore", []string{"https://www.googleapis.com/auth/gmail.readonly", gmailModify}, nil},
		{"NotGranted", nil, mailboxauth.ErrDelegationMissing},
		{"OtherScopeOnly", []string{"https://www.googleapis.com/auth/gmail.readonly"}, mailboxauth.ErrDelegationMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, oauthsim.Options{})
			// The key file's token_uri leads nowhere: TokenURL overrides it.
			key, err := h.OAuth.ServiceAccountKey(serviceAccount, "http://127.0.0.1:1/token")
			if err != nil {
				t.Fatal(err)
			}
			if tc.granted != nil {
				h.OAuth.GrantDelegation(serviceAccount, tc.granted...)
			}
			createMailbox(t, h, inbox.Mailbox{Address: alice, Access: inbox.AccessDelegation})
			p := h.provider(t, mailboxauth.ProviderOptions{
				Delegation: &mailboxauth.Delegation{KeyJSON: key, TokenURL: h.OAuthURL + oauthsim.PathToken},
			})
			_, err = profile(h, p, alice)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			as := h.OAuth.Assertions()
			if len(as) != 1 {
				t.Fatalf("%d assertions reached the token endpoint, want 1", len(as))
			}
			a := as[0]
			if a.Issuer != serviceAccount || a.Subject != alice || a.Scope != gmailModify || a.Audience != h.OAuthURL+oauthsim.PathToken {
				t.Fatalf("assertion = %+v", a)
			}
			if tc.want == nil {
				return
			}
			if msg := err.Error(); !strings.Contains(msg, "delegation missing") || strings.Contains(msg, "revoked") {
				t.Fatalf("error text %q: want it to say delegation missing (and nothing about revocation)", msg)
			}
			var ae *mailboxauth.AccessError
			if !errors.As(err, &ae) || ae.Mailbox != alice {
				t.Fatalf("error %v is not an AccessError for %s", err, alice)
			}
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) {
				t.Fatalf("error %v does not carry the token endpoint's answer", err)
			}
		})
	}
}

func TestProviderConnected(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthsim.Options{})
	h.connect(t, alice)
	now := &clock{t: time.Now()}
	p := h.provider(t, mailboxauth.ProviderOptions{Now: now.Now})

	if _, err := profile(h, p, alice); err != nil {
		t.Fatalf("Gmail with the connected mailbox's token: %v", err)
	}
	if _, err := profile(h, p, alice); err != nil {
		t.Fatal(err)
	}
	if got := h.OAuth.Refreshes(); got != 1 {
		t.Fatalf("%d refreshes for two syncs, want 1 (the token is reused)", got)
	}

	// The owner revokes Postfach at myaccount.google.com.
	h.OAuth.RevokeAccount(alice)
	now.Add(11 * time.Minute)
	_, err := profile(h, p, alice)
	if !errors.Is(err, mailboxauth.ErrConsentRevoked) {
		t.Fatalf("error after revocation = %v, want ErrConsentRevoked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "consent revoked") || !strings.Contains(msg, alice) {
		t.Fatalf("error text %q: want consent revoked for %s", msg, alice)
	}
}

func TestProviderAccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthsim.Options{})
	sealedForBob, err := h.Keyring.Seal([]byte(bob), []byte("sim-refresh-of-bob"))
	if err != nil {
		t.Fatal(err)
	}
	createMailbox(t, h, inbox.Mailbox{Address: "none@example.com"})
	createMailbox(t, h, inbox.Mailbox{Address: "dev@example.com", Access: inbox.AccessDev})
	createMailbox(t, h, inbox.Mailbox{Address: "dwd@example.com", Access: inbox.AccessDelegation})
	createMailbox(t, h, inbox.Mailbox{Address: "never@example.com", Access: inbox.AccessOAuth})
	createMailbox(t, h, inbox.Mailbox{Address: "moved@example.com", Access: inbox.AccessOAuth, SealedToken: sealedForBob})
	dev := tokenSources(func(_ context.Context, m string) (oauth2.TokenSource, error) {
		return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "dev-" + m}), nil
	})
	for _, tc := range []struct {
		name    string
		opts    mailboxauth.ProviderOptions
		address string
		want    error
		text    string
	}{
		{"NotLinked", mailboxauth.ProviderOptions{}, "unknown@example.com", inbox.ErrNotFound, ""},
		{"NoAccessMode", mailboxauth.ProviderOptions{}, "none@example.com", mailboxauth.ErrNoAccess, "no access"},
		{"DevNotConfigured", mailboxauth.ProviderOptions{}, "dev@example.com", mailboxauth.ErrNoAccess, "no access"},
		{"Dev", mailboxauth.ProviderOptions{Dev: dev}, "dev@example.com", nil, ""},
		{"DelegationNotConfigured", mailboxauth.ProviderOptions{}, "dwd@example.com", mailboxauth.ErrNoAccess, "no access"},
		{"NeverConnected", mailboxauth.ProviderOptions{}, "never@example.com", mailboxauth.ErrNoAccess, "connect"},
		{"TokenOfAnotherMailbox", mailboxauth.ProviderOptions{}, "moved@example.com", mailboxauth.ErrSealBroken, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := h.provider(t, tc.opts)
			ts, err := p.TokenSource(context.Background(), tc.address)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("TokenSource error = %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error text %q, want it to contain %q", err, tc.text)
			}
			if err == nil {
				if tok, err := ts.Token(); err != nil || tok.AccessToken != "dev-"+tc.address {
					t.Fatalf("Token = %v, %v", tok, err)
				}
			}
		})
	}
}

type tokenSources func(context.Context, string) (oauth2.TokenSource, error)

func (f tokenSources) TokenSource(ctx context.Context, m string) (oauth2.TokenSource, error) {
	return f(ctx, m)
}

func TestNewProviderErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthsim.Options{})
	for _, tc := range []struct {
		name string
		opts mailboxauth.ProviderOptions
	}{
		{"NoStore", mailboxauth.ProviderOptions{}},
		{"OAuthWithoutKeyring", mailboxauth.ProviderOptions{Store: h.Store, OAuth: h.oauthConfig()}},
		{"BadKey", mailboxauth.ProviderOptions{Store: h.Store, Delegation: &mailboxauth.Delegation{KeyJSON: []byte(`{"type":"authorized_user"}`)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := mailboxauth.NewProvider(tc.opts); err == nil {
				t.Fatal("NewProvider succeeded")
			}
		})
	}
}

// TestProviderResealsUnderPrimary: after a key rotation, a token sealed
// under the old key still works and is resealed under the new one.
func TestProviderResealsUnderPrimary(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthsim.Options{})
	before := h.connect(t, alice)
	newSpec := "k2:" + newKey(t)
	p := h.provider(t, mailboxauth.ProviderOptions{Keyring: MustKeyring(t, newSpec+","+h.KeySpec)})
	if _, err := profile(h, p, alice); err != nil {
		t.Fatal(err)
	}
	after, err := h.Store.GetMailbox(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := mailboxauth.SealedKeyID(after.SealedToken); id != "k2" {
		t.Fatalf("stored token sealed under %q, want k2", id)
	}
	old, _ := h.Keyring.Open([]byte(alice), before.SealedToken)
	rotated, err := MustKeyring(t, newSpec).Open([]byte(alice), after.SealedToken)
	if err != nil || !bytes.Equal(old, rotated) {
		t.Fatalf("resealed token opens to another token (%v)", err)
	}
	// The old key can go.
	p2 := h.provider(t, mailboxauth.ProviderOptions{Keyring: MustKeyring(t, newSpec)})
	if _, err := profile(h, p2, alice); err != nil {
		t.Fatalf("after dropping the old key: %v", err)
	}
}

// TestProviderStoresRotatedRefreshToken: a refresh token the token
// endpoint replaces is sealed and stored; the old one no longer works.
func TestProviderStoresRotatedRefreshToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthsim.Options{RotateRefreshTokens: true})
	before := h.connect(t, alice)
	p := h.provider(t, mailboxauth.ProviderOptions{})
	if _, err := profile(h, p, alice); err != nil {
		t.Fatal(err)
	}
	after, err := h.Store.GetMailbox(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before.SealedToken, after.SealedToken) {
		t.Fatal("the rotated refresh token was not stored")
	}
	// The same process goes on without refreshing: its cache follows the
	// token it stored.
	if _, err := profile(h, p, alice); err != nil {
		t.Fatal(err)
	}
	if got := h.OAuth.Refreshes(); got != 1 {
		t.Fatalf("%d refreshes, want 1", got)
	}
	// Another process works with what is stored, and rotates it again.
	other := h.provider(t, mailboxauth.ProviderOptions{})
	if _, err := profile(h, other, alice); err != nil {
		t.Fatalf("with the stored token: %v", err)
	}
	// The first process notices the stored token changed and uses it
	// rather than its own, which the endpoint retired.
	if _, err := profile(h, p, alice); err != nil {
		t.Fatalf("after another process rotated the token: %v", err)
	}
	if got := h.OAuth.Refreshes(); got != 3 {
		t.Fatalf("%d refreshes, want 3", got)
	}
}
