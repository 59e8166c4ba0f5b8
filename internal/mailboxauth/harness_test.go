package mailboxauth_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/internal/mailboxauth/oauthsim"
	"github.com/postfach/postfach/internal/sqlitedb"
)

const (
	tenant   = "example.com"
	alice    = "alice@example.com"
	bob      = "bob@example.com"
	baseURL  = "https://postfach.example.com"
	clientID = "postfach-web.apps.googleusercontent.com"
	secret   = "client-secret"
)

// harness is a local Google (OAuth server and Gmail) and a SQLite store.
type harness struct {
	OAuth      *oauthsim.Server
	OAuthURL   string
	Gmail      *gmailsim.Server
	GmailURL   string
	Store      *sqlitedb.Store
	KeySpec    string
	Keyring    *mailboxauth.Keyring
	StateKey   []byte
	Connector  *mailboxauth.Connector
	LinkCalls  *calls
	noRedirect *http.Client
}

// calls records the addresses a hook was called with.
type calls struct {
	mu   sync.Mutex
	list []string
	err  error // returned by the hook
}

func (c *calls) add(a string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, a)
	return c.err
}

func (c *calls) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.list...)
}

func (c *calls) fail(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

// oauthConfig is the web client's configuration against the simulator.
func (h *harness) oauthConfig() *oauth2.Config {
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: secret,
		Endpoint:     oauthsim.Endpoint(h.OAuthURL),
		RedirectURL:  baseURL + mailboxauth.CallbackPath,
	}
}

func newHarness(tb testing.TB, simOpts oauthsim.Options) *harness {
	tb.Helper()
	ctx := context.Background()
	simOpts.ClientID, simOpts.ClientSecret = clientID, secret
	h := &harness{OAuth: oauthsim.New(simOpts), LinkCalls: &calls{}}
	osrv := httptest.NewServer(h.OAuth.Handler())
	tb.Cleanup(osrv.Close)
	h.OAuthURL = osrv.URL

	h.Gmail = gmailsim.New(gmailsim.Options{Authenticate: h.OAuth.Authenticate})
	h.Gmail.AddMailbox(alice)
	h.Gmail.AddMailbox(bob)
	gsrv := httptest.NewServer(h.Gmail.Handler())
	tb.Cleanup(gsrv.Close)
	h.GmailURL = gsrv.URL + "/"

	store, err := sqlitedb.Open(ctx, ":memory:")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	if err := store.CreateTenant(ctx, inbox.Tenant{Domain: tenant, Name: "Example", CreatedAt: time.Now()}); err != nil {
		tb.Fatal(err)
	}
	if err := store.CreateTenant(ctx, inbox.Tenant{Domain: "other.example", Name: "Other", CreatedAt: time.Now()}); err != nil {
		tb.Fatal(err)
	}
	h.Store = store

	h.KeySpec = "k1:" + newKey(tb)
	h.Keyring = MustKeyring(tb, h.KeySpec)
	h.StateKey = make([]byte, 32)
	_, _ = rand.Read(h.StateKey)
	h.Connector = &mailboxauth.Connector{
		OAuth:         h.oauthConfig(),
		RevokeURL:     osrv.URL + oauthsim.PathRevoke,
		Keyring:       h.Keyring,
		Store:         store,
		StateKey:      h.StateKey,
		Link:          func(_ context.Context, m inbox.Mailbox) error { return h.LinkCalls.add(m.Address) },
		Unlink:        store.DeleteMailbox,
		GmailEndpoint: h.GmailURL,
	}
	h.noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return h
}

// provider builds a Provider on the harness.
func (h *harness) provider(tb testing.TB, o mailboxauth.ProviderOptions) *mailboxauth.Provider {
	tb.Helper()
	o.Store = h.Store
	if o.Keyring == nil {
		o.Keyring = h.Keyring
	}
	if o.OAuth == nil {
		o.OAuth = h.oauthConfig()
	}
	p, err := mailboxauth.NewProvider(o)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// consent plays the browser from the sidebar's link to the callback: it
// returns the state and Google's answer (code or error) for user.
func (h *harness) consent(tb testing.TB, user string) (state string, answer url.Values) {
	tb.Helper()
	link, err := h.Connector.ConnectURL(baseURL, user, tenant)
	if err != nil {
		tb.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil {
		tb.Fatal(err)
	}
	state = u.Query().Get("state")
	return state, h.answer(tb, state)
}

// answer plays the browser from /oauth/connect with state to Google's
// answer (code or error): each call is a fresh consent, with a fresh code.
func (h *harness) answer(tb testing.TB, state string) url.Values {
	tb.Helper()
	consent, err := h.Connector.ConsentURL(state)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := h.noRedirect.Get(consent)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		tb.Fatalf("consent: status %d, want 302", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		tb.Fatal(err)
	}
	return back.Query()
}

// connect runs a whole consent for user and returns the stored mailbox.
func (h *harness) connect(tb testing.TB, user string) inbox.Mailbox {
	tb.Helper()
	state, answer := h.consent(tb, user)
	m, err := h.Connector.Complete(context.Background(), state, answer.Get("code"))
	if err != nil {
		tb.Fatalf("Complete: %v", err)
	}
	return m
}
