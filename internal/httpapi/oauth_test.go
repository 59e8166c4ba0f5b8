package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/gmailclient"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/internal/mailboxauth/oauthsim"
	"github.com/postfach/postfach/internal/sqlitedb"
	"github.com/postfach/postfach/internal/syncer"
)

const (
	tenant   = "example.com"
	alice    = "alice@example.com"
	bob      = "bob@example.com"
	clientID = "postfach-web.apps.googleusercontent.com"
	secret   = "client-secret"
	topic    = "projects/postfach-test/topics/gmail"
)

// clock is a settable time.
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

// logs collects every log line of a world.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// checkNoSecrets fails if a code or token of the local OAuth server was
// logged.
func (l *logs) checkNoSecrets(tb testing.TB) {
	tb.Helper()
	s := l.String()
	if s == "" {
		tb.Fatal("nothing was logged")
	}
	for _, secret := range []string{"sim-code-", "sim-refresh-", "sim-access-"} {
		if i := strings.Index(s, secret); i >= 0 {
			tb.Fatalf("a code or token was logged: …%s…", s[max(0, i-200):min(len(s), i+40)])
		}
	}
}

// world is Postfach's HTTP server with the connect pages, the sync and
// the mailbox access of production, against a local OAuth server, the
// Gmail simulator and a SQLite store.
type world struct {
	BaseURL   string
	OAuth     *oauthsim.Server
	Gmail     *gmailsim.Server
	Store     *sqlitedb.Store
	KeySpec   string
	Keyring   *mailboxauth.Keyring
	Provider  *mailboxauth.Provider
	Connector *mailboxauth.Connector
	Syncer    *syncer.Syncer
	Clock     *clock // the Provider's and the Connector's
	Browser   *http.Client
	Logs      *logs
}

func newWorld(tb testing.TB) *world {
	tb.Helper()
	ctx := context.Background()
	w := &world{Clock: &clock{t: time.Now()}, Logs: &logs{}}
	log := slog.New(slog.NewTextHandler(w.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w.OAuth = oauthsim.New(oauthsim.Options{ClientID: clientID, ClientSecret: secret})
	osrv := httptest.NewServer(w.OAuth.Handler())
	tb.Cleanup(osrv.Close)

	w.Gmail = gmailsim.New(gmailsim.Options{Authenticate: w.OAuth.Authenticate})
	w.Gmail.AddMailbox(alice)
	w.Gmail.AddMailbox(bob)
	gsrv := httptest.NewServer(w.Gmail.Handler())
	tb.Cleanup(gsrv.Close)

	store, err := sqlitedb.Open(ctx, ":memory:")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	for _, d := range []string{tenant, "other.example"} {
		if err := store.CreateTenant(ctx, inbox.Tenant{Domain: d, Name: d, CreatedAt: time.Now()}); err != nil {
			tb.Fatal(err)
		}
	}
	w.Store = store

	var srv *httpapi.Server
	hsrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { srv.ServeHTTP(rw, r) }))
	tb.Cleanup(hsrv.Close)
	w.BaseURL = hsrv.URL

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	w.KeySpec = "k1:" + base64.StdEncoding.EncodeToString(key)
	if w.Keyring, err = mailboxauth.ParseKeyring(w.KeySpec); err != nil {
		tb.Fatal(err)
	}
	cfg := &oauth2.Config{
		ClientID: clientID, ClientSecret: secret,
		Endpoint:    oauthsim.Endpoint(osrv.URL),
		RedirectURL: w.BaseURL + mailboxauth.CallbackPath,
	}
	w.Provider, err = mailboxauth.NewProvider(mailboxauth.ProviderOptions{
		Store: store, Keyring: w.Keyring, OAuth: cfg, Now: w.Clock.Now, Logger: log,
	})
	if err != nil {
		tb.Fatal(err)
	}
	w.Syncer = syncer.New(syncer.Options{
		Store: store,
		Gmail: gmailclient.NewDialer(gmailclient.DialerOptions{
			Endpoint: gsrv.URL + "/", Tokens: w.Provider, UnitsPerSecond: 10000, MaxAttempts: 1,
		}),
		Topic:  topic,
		Logger: log,
	})
	stateKey := make([]byte, 32)
	_, _ = rand.Read(stateKey)
	w.Connector = &mailboxauth.Connector{
		OAuth:         cfg,
		RevokeURL:     osrv.URL + oauthsim.PathRevoke,
		Keyring:       w.Keyring,
		Store:         store,
		StateKey:      stateKey,
		Link:          w.Syncer.Link,
		Unlink:        w.Syncer.Unlink,
		GmailEndpoint: gsrv.URL + "/",
		Now:           w.Clock.Now,
		Logger:        log,
	}
	if err := w.Connector.Validate(); err != nil {
		tb.Fatal(err)
	}
	srv, err = httpapi.New(httpapi.Options{
		Verify:  func(next echo.HandlerFunc) echo.HandlerFunc { return next },
		Desk:    desk.New(desk.Options{Store: store}),
		BaseURL: w.BaseURL,
		OAuth:   &httpapi.OAuthOptions{Connector: w.Connector},
		Logger:  log,
	})
	if err != nil {
		tb.Fatal(err)
	}
	w.Browser = &http.Client{Timeout: 30 * time.Second}
	tb.Cleanup(w.Syncer.Wait)
	return w
}

// page is one answer the browser ends on.
type page struct {
	Status int
	URL    *url.URL
	Header http.Header
	Body   string
}

func (w *world) get(tb testing.TB, c *http.Client, u string) page {
	tb.Helper()
	resp, err := c.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return page{Status: resp.StatusCode, URL: resp.Request.URL, Header: resp.Header, Body: string(b)}
}

// connectLink is the sidebar's "Connect mailbox" link for user.
func (w *world) connectLink(tb testing.TB, user string) string {
	tb.Helper()
	link, err := w.Connector.ConnectURL(w.BaseURL, user, tenant)
	if err != nil {
		tb.Fatal(err)
	}
	return link
}

// TestConnectMailboxEndToEnd: connect → consent → callback → stored sealed
// → syncing with the stored consent → revoked at Google → the admin sees
// "consent revoked" with its fix → reconnect → disconnect.
func TestConnectMailboxEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()

	// The browser follows /oauth/connect → Google → /oauth/callback.
	p := w.get(t, w.Browser, w.connectLink(t, alice))
	if p.Status != http.StatusOK || p.URL.Path != mailboxauth.CallbackPath {
		t.Fatalf("ended on %s with %d:\n%s", p.URL.Path, p.Status, p.Body)
	}
	for _, want := range []string{"Mailbox connected", "close this tab", alice} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("page lacks %q:\n%s", want, p.Body)
		}
	}
	for k, want := range map[string]string{
		"Content-Type":    "text/html; charset=UTF-8",
		"Cache-Control":   "no-store",
		"Referrer-Policy": "no-referrer",
	} {
		if got := p.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	// Stored: sealed, not readable without the key.
	m, err := w.Store.GetMailbox(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if m.Access != inbox.AccessOAuth || m.Kind != inbox.MailboxMember || m.TenantID != tenant || m.ConnectedBy != alice {
		t.Fatalf("stored mailbox = %+v", m)
	}
	rt, err := w.Keyring.Open([]byte(alice), m.SealedToken)
	if err != nil {
		t.Fatal(err)
	}
	if len(rt) == 0 || bytes.Contains(m.SealedToken, rt) {
		t.Fatal("the refresh token is stored in clear")
	}
	otherKey := make([]byte, 32)
	_, _ = rand.Read(otherKey)
	wrong, _ := mailboxauth.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(otherKey))
	if _, err := wrong.Open([]byte(alice), m.SealedToken); err == nil {
		t.Fatal("the stored token opens without the key")
	}

	// Link started the watch and the first sync, with the stored consent
	// (a refresh exchange at the local server).
	if _, ok := w.Gmail.WatchOf(alice); !ok || m.WatchExpiration.IsZero() {
		t.Fatalf("no watch after connecting (mailbox %+v)", m)
	}
	if m.HistoryID == 0 || m.LastError != "" {
		t.Fatalf("first sync did not run: cursor %d, error %q", m.HistoryID, m.LastError)
	}
	if w.OAuth.Refreshes() == 0 {
		t.Fatal("no refresh exchange happened")
	}
	ts, err := w.Provider.TokenSource(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := w.OAuth.Account(tok.AccessToken); err != nil || got != alice {
		t.Fatalf("the provider's token stands for %q (%v), want %s", got, err, alice)
	}
	if _, err := w.Gmail.Deliver([]byte("From: carol@customer.example\r\nTo: alice@example.com\r\nSubject: Invoice\r\nMessage-ID: <1@customer.example>\r\n\r\nHello"), alice); err != nil {
		t.Fatal(err)
	}
	if err := w.Syncer.Sync(ctx, alice); err != nil {
		t.Fatalf("sync with the stored consent: %v", err)
	}

	// Alice removes Postfach from her Google Account.
	w.OAuth.RevokeAccount(alice)
	w.Clock.Add(11 * time.Minute) // past the Provider's token reuse
	if err := w.Syncer.Sync(ctx, alice); err == nil {
		t.Fatal("sync succeeded after the consent was revoked")
	}
	m, err = w.Store.GetMailbox(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.LastError, "consent revoked") {
		t.Fatalf("LastError = %q, want consent revoked", m.LastError)
	}
	if fix := (cards.Builder{}).Fix(m); !strings.Contains(fix, "connect the mailbox again") {
		t.Fatalf("the admin's fix for %q is %q", m.LastError, fix)
	}

	// She connects again: the error is gone, the sync works.
	if p := w.get(t, w.Browser, w.connectLink(t, alice)); p.Status != http.StatusOK {
		t.Fatalf("reconnect: %d\n%s", p.Status, p.Body)
	}
	if m, err = w.Store.GetMailbox(ctx, alice); err != nil || m.LastError != "" {
		t.Fatalf("after reconnecting: %+v, %v", m, err)
	}

	// Disconnect: the watch stops, the link and its secret go, the consent
	// is revoked at Google.
	if err := w.Connector.Disconnect(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Store.GetMailbox(ctx, alice); !errors.Is(err, inbox.ErrNotFound) {
		t.Fatalf("GetMailbox after Disconnect: %v, want ErrNotFound", err)
	}
	if _, ok := w.Gmail.WatchOf(alice); ok {
		t.Fatal("the watch survived Disconnect")
	}
	if w.OAuth.Granted(alice) {
		t.Fatal("the consent survived Disconnect")
	}
	w.Logs.checkNoSecrets(t)
}

func TestConnectPage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	link := w.connectLink(t, alice)
	state := mustQuery(t, link).Get("state")

	p := w.get(t, noRedirect, link)
	if p.Status != http.StatusFound {
		t.Fatalf("connect: %d, want 302\n%s", p.Status, p.Body)
	}
	loc, err := url.Parse(p.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if loc.Path != oauthsim.PathAuth || q.Get("state") != state || q.Get("access_type") != "offline" ||
		q.Get("prompt") != "consent" || q.Get("login_hint") != alice || q.Get("include_granted_scopes") != "true" {
		t.Fatalf("consent redirect = %s", loc)
	}

	expired := *w.Connector
	expired.Now = func() time.Time { return time.Now().Add(-mailboxauth.StateTTL - time.Minute) }
	old, err := expired.ConnectURL(w.BaseURL, alice, tenant)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		url  string
		want int
	}{
		{"NoState", w.BaseURL + mailboxauth.ConnectPath, http.StatusBadRequest},
		{"ForgedState", w.BaseURL + mailboxauth.ConnectPath + "?state=" + url.QueryEscape(forge(state)), http.StatusBadRequest},
		{"ExpiredState", old, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := w.get(t, noRedirect, tc.url)
			if p.Status != tc.want {
				t.Fatalf("status %d, want %d\n%s", p.Status, tc.want, p.Body)
			}
			if !strings.Contains(p.Header.Get("Content-Type"), "text/html") || p.Header.Get("Location") != "" {
				t.Fatalf("want an HTML page, got %v", p.Header)
			}
		})
	}
}

func TestCallbackErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// run drives the browser and returns the page it ends on.
		run  func(t *testing.T, w *world) page
		want int
		text string
	}{
		{
			name: "Denied",
			run: func(t *testing.T, w *world) page {
				w.OAuth.SetConsent(func(url.Values) oauthsim.Decision { return oauthsim.Decision{Deny: "access_denied"} })
				return w.get(t, w.Browser, w.connectLink(t, alice))
			},
			want: http.StatusForbidden, text: "You did not allow Postfach",
		},
		{
			name: "OtherError",
			run: func(t *testing.T, w *world) page {
				w.OAuth.SetConsent(func(url.Values) oauthsim.Decision { return oauthsim.Decision{Deny: "admin_policy_enforced<script>"} })
				return w.get(t, w.Browser, w.connectLink(t, alice))
			},
			want: http.StatusBadRequest, text: "admin_policy_enforcedscript",
		},
		{
			name: "WrongAccount",
			run: func(t *testing.T, w *world) page {
				w.OAuth.SetConsent(func(url.Values) oauthsim.Decision { return oauthsim.Decision{Account: bob} })
				return w.get(t, w.Browser, w.connectLink(t, alice))
			},
			want: http.StatusForbidden, text: "another account",
		},
		{
			name: "ScopeLeftOut",
			run: func(t *testing.T, w *world) page {
				w.OAuth.SetConsent(func(q url.Values) oauthsim.Decision {
					return oauthsim.Decision{Account: q.Get("login_hint"), Scopes: []string{"openid"}}
				})
				return w.get(t, w.Browser, w.connectLink(t, alice))
			},
			want: http.StatusForbidden, text: "permission to read and label",
		},
		{
			name: "ExchangeFails",
			run: func(t *testing.T, w *world) page {
				state := mustQuery(t, w.connectLink(t, alice)).Get("state")
				return w.get(t, w.Browser, w.BaseURL+mailboxauth.CallbackPath+"?"+url.Values{"state": {state}, "code": {"sim-code-forged"}}.Encode())
			},
			want: http.StatusBadGateway, text: "Google did not complete",
		},
		{
			name: "NoCode",
			run: func(t *testing.T, w *world) page {
				state := mustQuery(t, w.connectLink(t, alice)).Get("state")
				return w.get(t, w.Browser, w.BaseURL+mailboxauth.CallbackPath+"?state="+url.QueryEscape(state))
			},
			want: http.StatusBadRequest, text: "opened without Google",
		},
		{
			name: "NoState",
			run: func(t *testing.T, w *world) page {
				return w.get(t, w.Browser, w.BaseURL+mailboxauth.CallbackPath+"?code=sim-code-x")
			},
			want: http.StatusBadRequest, text: "not valid",
		},
		{
			name: "ForgedState",
			run: func(t *testing.T, w *world) page {
				state := mustQuery(t, w.connectLink(t, alice)).Get("state")
				return w.get(t, w.Browser, w.BaseURL+mailboxauth.CallbackPath+"?"+url.Values{"state": {forge(state)}, "code": {"x"}}.Encode())
			},
			want: http.StatusBadRequest, text: "not valid",
		},
		{
			name: "ExpiredDuringConsent",
			run: func(t *testing.T, w *world) page {
				w.OAuth.SetConsent(func(q url.Values) oauthsim.Decision {
					w.Clock.Add(mailboxauth.StateTTL)
					return oauthsim.Decision{Account: q.Get("login_hint")}
				})
				return w.get(t, w.Browser, w.connectLink(t, alice))
			},
			want: http.StatusUnauthorized, text: "expired",
		},
		{
			name: "LinkedToAnotherTenant",
			run: func(t *testing.T, w *world) page {
				if err := w.Store.CreateMailbox(context.Background(), inbox.Mailbox{
					Address: alice, TenantID: "other.example", Kind: inbox.MailboxMember, CreatedAt: time.Now(),
				}); err != nil {
					t.Fatal(err)
				}
				return w.get(t, w.Browser, w.connectLink(t, alice))
			},
			want: http.StatusConflict, text: "another organisation",
		},
		{
			name: "EscapesTheAddress",
			run: func(t *testing.T, w *world) page {
				w.OAuth.SetConsent(func(url.Values) oauthsim.Decision { return oauthsim.Decision{Deny: "access_denied"} })
				return w.get(t, w.Browser, w.connectLink(t, `"<b>x</b>"@example.com`))
			},
			want: http.StatusForbidden, text: "&lt;b&gt;x&lt;/b&gt;@example.com",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			p := tc.run(t, w)
			if p.Status != tc.want {
				t.Fatalf("status %d, want %d\n%s", p.Status, tc.want, p.Body)
			}
			if !strings.Contains(p.Body, tc.text) {
				t.Fatalf("page lacks %q:\n%s", tc.text, p.Body)
			}
			if strings.Contains(p.Body, "<script") || strings.Contains(p.Body, "<b>") {
				t.Fatalf("page shows unescaped input:\n%s", p.Body)
			}
			if m, err := w.Store.GetMailbox(context.Background(), alice); err == nil && m.TenantID == tenant {
				t.Fatalf("a mailbox was linked: %+v", m)
			}
			w.Logs.checkNoSecrets(t)
		})
	}
}

func mustQuery(tb testing.TB, raw string) url.Values {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Query()
}

// forge changes a state's payload, keeping its MAC.
func forge(state string) string {
	payload, mac, _ := strings.Cut(state, ".")
	b, _ := base64.RawURLEncoding.DecodeString(payload)
	b = bytes.Replace(b, []byte(alice), []byte(bob), 1)
	return base64.RawURLEncoding.EncodeToString(b) + "." + mac
}

// TestOAuthPageLanguage: the connect pages speak the browser's language.
func TestOAuthPageLanguage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for accept, want := range map[string]string{
		"":                        "This link is not valid",
		"de-CH,de;q=0.9,en;q=0.5": "Dieser Link ist ungültig",
		"fr-FR,fr;q=0.9":          "This link is not valid",
	} {
		req, err := http.NewRequest(http.MethodGet, w.BaseURL+mailboxauth.ConnectPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		if accept != "" {
			req.Header.Set("Accept-Language", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), want) {
			t.Errorf("Accept-Language %q: %d, want %q in\n%s", accept, resp.StatusCode, want, body)
		}
	}
}
