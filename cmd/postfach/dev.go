package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/cloudlog"
	"github.com/postfach/postfach/internal/demo"
	"github.com/postfach/postfach/internal/gmailclient"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/internal/mailboxauth/oauthsim"
	"github.com/postfach/postfach/internal/syncer"
	"golang.org/x/oauth2"
)

// The identities Google would have in production, as dev mode plays them.
const (
	devServiceAccount = "service-000000000000@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
	devOAuthClientID  = "postfach-dev.apps.googleusercontent.com"
	devGmailScope     = "https://www.googleapis.com/auth/gmail.addons.execute https://www.googleapis.com/auth/gmail.addons.current.message.metadata"

	devTopic                   = "projects/postfach-dev/topics/gmail"
	devConnectClientID         = "postfach-dev-web.apps.googleusercontent.com"
	devConnectClientSecret     = "dev-secret"
	devGooglePrefix            = "/dev/google"
	devPushServiceAccount      = "gmail-push@postfach-dev.iam.gserviceaccount.com"
	devSchedulerServiceAccount = "scheduler@postfach-dev.iam.gserviceaccount.com"
)

// devConfig configures `postfach dev`.
type devConfig struct {
	Addr    string // loopback host:port
	DataDir string
	Reset   bool
	Log     *slog.Logger
	Now     func() time.Time // the syncer's clock; time.Now when nil
	// Store is SQLite under DataDir unless told otherwise
	// (--store firestore, with FIRESTORE_EMULATOR_HOST or Google
	// credentials).
	Store storeConfig
}

// devApp is the whole product on one machine; tests start it on port 0.
type devApp struct {
	BaseURL string
	Store   inbox.Store
	close   func() error
	Gmail   *gmailsim.Server
	Root    *addontest.TrustRoot
	Syncer  *syncer.Syncer
	Google  *oauthsim.Server
	pusher  *gmailsim.Pusher
	server  *httpapi.Server
	done    chan error
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := devConfig{}
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "listen address (loopback only)")
	fs.StringVar(&cfg.DataDir, "data", ".data", "directory of the SQLite database")
	fs.BoolVar(&cfg.Reset, "reset", false, "delete the database and start from the demo data")
	fs.StringVar(&cfg.Store.Kind, "store", "sqlite", "sqlite, or firestore (set FIRESTORE_EMULATOR_HOST for the emulator)")
	fs.StringVar(&cfg.Store.ProjectID, "firestore-project", "postfach-dev", "Firestore project for --store firestore")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Log = cloudlog.New(stderr, logLevel(getenv))
	app, err := startDev(ctx, cfg)
	if err != nil {
		return err
	}
	defer app.close()
	fmt.Fprintf(stdout, `Postfach dev is running on %[1]s

  health:   %[1]s/healthz
  tokens:   %[1]s/dev/tokens?email=bob@example.com&url=%[1]s/addon/homepage
  gmail:    %[1]s/gmail/v1/users/me/messages  (Authorization: Bearer <userOAuthToken>)
  deliver:  curl -X POST %[1]s/dev/deliver -d '{"to":"support@example.com","raw":"From: ...\r\n..."}' 
  users:    %[2]s
  data:     %[3]s

Press Ctrl-C to stop.
`, app.BaseURL, strings.Join(demo.Users(), ", "), filepath.Join(cfg.DataDir, "postfach.db"))
	return app.Wait()
}

// startDev opens the store, seeds the demo, starts listening and wires the
// server; Serve then serves until ctx ends.
func startDev(ctx context.Context, cfg devConfig) (*devApp, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dev: --addr %q: %w", cfg.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("dev: --addr %q: dev mode hands out tokens to anyone and listens on loopback only", cfg.Addr)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	dbPath := filepath.Join(cfg.DataDir, "postfach.db")
	if cfg.Reset {
		for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("dev: reset: %w", err)
			}
		}
	}
	sc := cfg.Store
	sc.SQLitePath = dbPath
	if sc.Kind == "" {
		sc.Kind = "sqlite"
	}
	if sc.Kind == "firestore" && sc.ProjectID == "" {
		sc.ProjectID = "postfach-dev"
	}
	store, closeStore, err := openStore(ctx, sc)
	if err != nil {
		return nil, err
	}
	app, err := wireDev(ctx, cfg, store)
	if err != nil {
		closeStore()
		return nil, err
	}
	app.close = closeStore
	return app, nil
}

func wireDev(ctx context.Context, cfg devConfig, store inbox.Store) (*devApp, error) {
	log := cfg.Log
	root, err := addontest.NewTrustRoot()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dev: listen: %w", err)
	}
	base := "http://" + l.Addr().String()
	fail := func(err error) (*devApp, error) {
		l.Close()
		return nil, err
	}

	// Pub/Sub, played by the simulator's pusher: Gmail notifications are
	// POSTed to /gmail/push with an OIDC token of the push service account.
	pusher := gmailsim.NewPusher(gmailsim.PusherOptions{
		Endpoint:     base + httpapi.PathPush,
		Subscription: "projects/postfach-dev/subscriptions/gmail-push",
		Token: func(_ context.Context, audience string) (string, error) {
			return root.SystemIDToken(audience, devPushServiceAccount)
		},
		Logger: log.With("component", "pubsub"),
	})
	var linked atomic.Bool
	// Google's OAuth server, played by oauthsim under /dev/google: the
	// "Connect my mailbox" consent grants the account it is asked for.
	google := oauthsim.New(oauthsim.Options{ClientID: devConnectClientID, ClientSecret: devConnectClientSecret})
	sim := gmailsim.New(gmailsim.Options{
		Authenticate: func(r *http.Request) (string, error) {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				return "", errors.New("no bearer token")
			}
			if email, err := root.VerifyAccessToken(tok); err == nil {
				return email, nil
			}
			return google.Authenticate(r)
		},
		Notify: func(n gmailsim.Notification) {
			// While the mailboxes are being linked (each link syncs its
			// mailbox in full), their notifications say nothing new.
			if linked.Load() {
				pusher.Notify(n)
			}
		},
		Logger: log.With("component", "gmailsim"),
	})
	now := time.Now()
	for _, u := range demo.Users() {
		sim.AddMailbox(u)
	}
	if err := demo.SeedMail(func(raw []byte, to []string) error {
		_, err := sim.Deliver(raw, to...)
		return err
	}, now); err != nil {
		return fail(err)
	}
	seeded, err := demo.SeedStore(ctx, store, now)
	if err != nil {
		return fail(err)
	}

	tokens, err := addon.NewIDTokens(ctx, root.HTTPClient())
	if err != nil {
		return fail(err)
	}
	verifier, err := addon.NewVerifier(ctx, addon.VerifierConfig{
		ServiceAccountEmail: devServiceAccount,
		OAuthClientID:       devOAuthClientID,
		PublicBaseURL:       base,
		HTTPClient:          root.HTTPClient(),
		Logger:              log,
	})
	if err != nil {
		return fail(err)
	}
	keyring, stateKey, err := devKeys()
	if err != nil {
		return fail(err)
	}
	connect := &oauth2.Config{
		ClientID: devConnectClientID, ClientSecret: devConnectClientSecret,
		Endpoint:    oauthsim.Endpoint(base + devGooglePrefix),
		RedirectURL: base + mailboxauth.CallbackPath,
		Scopes:      mailboxauth.Scopes,
	}
	access, err := mailboxauth.NewProvider(mailboxauth.ProviderOptions{
		Store: store, Keyring: keyring, OAuth: connect, Dev: devMailboxTokens{root: root},
		Logger: log.With("component", "mailboxauth"),
	})
	if err != nil {
		return fail(err)
	}
	sync := syncer.New(syncer.Options{
		Store: store,
		Gmail: gmailclient.NewDialer(gmailclient.DialerOptions{
			Endpoint: base + "/",
			Tokens:   access,
			// The simulator enforces no quota in dev mode; Gmail's real
			// budget (the default) would only slow the demo's start.
			UnitsPerSecond: 10000,
		}),
		Topic:  devTopic,
		Now:    cfg.Now,
		Logger: log.With("component", "syncer"),
	})
	srv, err := newServer(serverDeps{
		store: store, verifier: verifier, baseURL: base, gmailEndpoint: base + "/", log: log, syncer: sync,
		background: ctx,
		sync: &httpapi.SyncOptions{
			Tokens:                  tokens,
			PushAudience:            base + httpapi.PathPush,
			PushServiceAccount:      devPushServiceAccount,
			SchedulerServiceAccount: devSchedulerServiceAccount,
		},
		oauth: &mailboxauth.Connector{
			OAuth: connect, RevokeURL: base + devGooglePrefix + oauthsim.PathRevoke,
			Keyring: keyring, Store: store, StateKey: stateKey,
			Link: sync.Link, Unlink: sync.Unlink,
			GmailEndpoint: base + "/",
			Logger:        log.With("component", "connect"),
		},
		dev: &httpapi.DevOptions{
			Tokens: devMinter{root: root},
			Gmail:  sim.Handler(),
			Google: http.StripPrefix(devGooglePrefix, google.Handler()),
			Deliver: func(raw []byte, to string) ([]string, error) {
				return deliver(ctx, store, sim, raw, to)
			},
		},
	})
	if err != nil {
		return fail(err)
	}
	app := &devApp{BaseURL: base, Store: store, Gmail: sim, Root: root, Syncer: sync, Google: google, pusher: pusher, server: srv, done: make(chan error, 1)}
	go func() { app.done <- srv.Serve(ctx, l) }()

	// Link every demo mailbox afresh: the simulator's mailboxes are new on
	// every start, so cursors and label ids from a previous run mean
	// nothing.
	for _, u := range demo.Users() {
		if err := sync.Unlink(ctx, u); err != nil && !errors.Is(err, inbox.ErrNotFound) {
			log.Warn("unlink", "mailbox", u, "error", err)
		}
		m := inbox.Mailbox{Address: u, TenantID: inbox.DomainOf(u), Kind: inbox.MailboxMember, Access: inbox.AccessDev}
		if err := sync.Link(ctx, m); err != nil {
			return nil, fmt.Errorf("dev: link %s: %w", u, err)
		}
	}
	linked.Store(true)
	log.Info("dev ready", "base_url", base, "demo_seeded", seeded)
	return app, nil
}

// deliver plays Gmail's delivery of a mail to an envelope recipient: a
// shared inbox's address is a Google Group that fans out one copy to each
// member; any other address is a mailbox of its own.
func deliver(ctx context.Context, store inbox.Store, sim *gmailsim.Server, raw []byte, to string) ([]string, error) {
	targets := []string{to}
	if ibs, err := store.ListInboxes(ctx, inbox.DomainOf(to)); err == nil {
		for _, ib := range ibs {
			if ib.Address == to {
				targets = targets[:0]
				for _, m := range ib.Members {
					targets = append(targets, m.Email)
				}
			}
		}
	}
	got, err := sim.Deliver(raw, targets...)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(got))
	for i, d := range got {
		out[i] = d.Mailbox
	}
	return out, nil
}

// Wait waits until the server stopped (its context ended).
func (a *devApp) Wait() error {
	err := <-a.done
	a.Syncer.Wait()
	a.pusher.Close()
	return err
}

// devKeys makes the keys of one dev run: the keyring that seals connected
// mailboxes' refresh tokens and the key that signs connect states.
func devKeys() (*mailboxauth.Keyring, []byte, error) {
	k := make([]byte, 64)
	if _, err := rand.Read(k); err != nil {
		return nil, nil, err
	}
	ring, err := mailboxauth.ParseKeyring("dev:" + base64.StdEncoding.EncodeToString(k[:32]))
	return ring, k[32:], err
}

// devMailboxTokens gives the syncer access to the simulated mailboxes, as
// domain-wide delegation would in production.
type devMailboxTokens struct{ root *addontest.TrustRoot }

func (d devMailboxTokens) TokenSource(_ context.Context, mailbox string) (oauth2.TokenSource, error) {
	return oauth2.ReuseTokenSource(nil, tokenFunc(func() (*oauth2.Token, error) {
		tok, err := d.root.AccessToken(mailbox, "https://www.googleapis.com/auth/gmail.modify", time.Hour)
		if err != nil {
			return nil, err
		}
		return &oauth2.Token{AccessToken: tok, TokenType: "Bearer", Expiry: time.Now().Add(55 * time.Minute)}, nil
	})), nil
}

type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

// devMinter plays Google: it mints the tokens of an add-on request.
type devMinter struct{ root *addontest.TrustRoot }

func (m devMinter) Mint(email, endpointURL string) (httpapi.DevTokens, error) {
	sys, err := m.root.SystemIDToken(endpointURL, devServiceAccount)
	if err != nil {
		return httpapi.DevTokens{}, err
	}
	usr, err := m.root.UserIDToken(devOAuthClientID, addon.User{Email: email, Domain: inbox.DomainOf(email)})
	if err != nil {
		return httpapi.DevTokens{}, err
	}
	oauth, err := m.root.AccessToken(email, devGmailScope, time.Hour)
	if err != nil {
		return httpapi.DevTokens{}, err
	}
	return httpapi.DevTokens{SystemIDToken: sys, UserIDToken: usr, UserOAuthToken: oauth}, nil
}
