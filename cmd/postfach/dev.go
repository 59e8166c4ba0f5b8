package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/cloudlog"
	"github.com/postfach/postfach/internal/demo"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/internal/mailboxauth/oauthsim"
	"github.com/postfach/postfach/internal/playground"
	"github.com/postfach/postfach/manifests"
)

// The identities Google would have in production, as dev mode plays them.
const (
	devServiceAccount = "service-000000000000@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
	devOAuthClientID  = "postfach-dev.apps.googleusercontent.com"
	devGmailScope     = "https://www.googleapis.com/auth/gmail.addons.execute https://www.googleapis.com/auth/gmail.addons.current.message.metadata"

	devTopic                   = "projects/postfach-dev/topics/gmail"
	devConnectClientID         = "postfach-dev-web.apps.googleusercontent.com"
	devConnectClientSecret     = "dev-secret"
	devDelegationAccount       = "postfach-sync@postfach-dev.iam.gserviceaccount.com"
	devGooglePrefix            = "/dev/google"
	devCertsPath               = "/oauth2/v3/certs"
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
	// WrapStore, if set, decorates the store (loadtest counts calls).
	WrapStore func(inbox.Store) inbox.Store
	// RateLimit bounds each user's card actions; off when zero (the
	// playground and the tests click faster than any person).
	RateLimit httpapi.RateLimit
}

// devApp is the whole product on one machine: the app serve runs, plus the
// simulators that play Google. Tests start it on port 0.
type devApp struct {
	*app
	Gmail  *gmailsim.Server
	Root   *addontest.TrustRoot
	Google *oauthsim.Server
	stop   context.CancelFunc
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("dev", "", "Run the whole product on this machine, offline: an embedded store, a Gmail simulator, "+
		"Google's token and OAuth endpoints played locally, and a demo tenant. Loopback only.", concat(settingsLog, settingsStore[len(settingsStore)-1:]), stdout)
	cfg := devConfig{}
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "listen address (loopback only)")
	fs.StringVar(&cfg.DataDir, "data", ".data", "directory of the SQLite database")
	fs.BoolVar(&cfg.Reset, "reset", false, "delete the database and start from the demo data")
	fs.StringVar(&cfg.Store.Kind, "store", "sqlite", "sqlite, or firestore (set FIRESTORE_EMULATOR_HOST for the emulator)")
	fs.StringVar(&cfg.Store.ProjectID, "firestore-project", "postfach-dev", "Firestore project for --store firestore")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg.Store.EmulatorHost = getenv("FIRESTORE_EMULATOR_HOST")
	cfg.Log = cloudlog.New(stderr, logLevel(getenv))
	app, err := startDev(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `Postfach dev is running on %[1]s

  Open %[1]s in a browser: the playground, Gmail with Postfach's sidebar,
  as any demo user, on desktop or mobile.

  ready:    %[1]s/readyz
  tokens:   %[1]s/dev/tokens?email=bob@example.com&url=%[1]s/addon/homepage
  gmail:    %[1]s/gmail/v1/users/me/messages  (Authorization: Bearer <userOAuthToken>)
  deliver:  curl -X POST %[1]s/dev/deliver -d '{"to":"support@example.com","raw":"From: ...\r\n..."}'
  users:    %[2]s
  store:    %[3]s (%[4]s)

Request logs are at debug level (LOG_LEVEL=debug shows them). Press Ctrl-C to stop.
`, app.BaseURL, strings.Join(demo.Users(), ", "), cfg.Store.Kind, app.cfg.Store.where())
	<-ctx.Done()
	return app.Wait()
}

// startDev starts the simulators, builds the configuration that points the
// one wiring at them, and starts it: it returns once the demo mailboxes
// are linked and the server is ready.
func startDev(ctx context.Context, cfg devConfig) (*devApp, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dev: --addr %q: %w", cfg.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%w: dev: --addr %q: dev mode hands out tokens to anyone and listens on loopback only", errUsage, cfg.Addr)
	}
	sc := cfg.Store
	switch sc.Kind {
	case "", "sqlite":
		sc.Kind = "sqlite"
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("dev: %w", err)
		}
		sc.SQLitePath = filepath.Join(cfg.DataDir, "postfach.db")
		if cfg.Reset {
			for _, p := range []string{sc.SQLitePath, sc.SQLitePath + "-wal", sc.SQLitePath + "-shm"} {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, fmt.Errorf("dev: reset: %w", err)
				}
			}
		}
	case "firestore":
		sc.ProjectID = cmp.Or(sc.ProjectID, "postfach-dev")
	default:
		return nil, fmt.Errorf("%w: dev: --store %q: want sqlite or firestore", errUsage, sc.Kind)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dev: listen: %w", err)
	}
	base := "http://" + l.Addr().String()
	// Google's stand-ins listen on a port of their own, as Google is
	// elsewhere in production: they outlive the server's shutdown, so
	// background syncs can finish during it.
	gl, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("dev: listen: %w", err)
	}
	world, err := newDevWorld(base, "http://"+gl.Addr().String(), log)
	if err != nil {
		l.Close()
		gl.Close()
		return nil, err
	}
	world.serve(gl)
	keys := make([]byte, 96)
	if _, err := rand.Read(keys); err != nil {
		l.Close()
		return nil, err
	}
	google := world.googleURL + devGooglePrefix
	conf := config{
		Addr:                l.Addr().String(),
		BaseURL:             base,
		AddonServiceAccount: devServiceAccount,
		OAuthClientID:       devOAuthClientID,
		Store:               sc,
		Google: googleConfig{
			GmailEndpoint: world.googleURL + "/",
			AuthURL:       google + oauthsim.PathAuth,
			TokenURL:      google + oauthsim.PathToken,
			RevokeURL:     google + oauthsim.PathRevoke,
			CertsURL:      google + devCertsPath,
		},
		Sync: syncConfig{
			Topic:                   devTopic,
			PushAudience:            base + httpapi.PathPush,
			PushServiceAccount:      devPushServiceAccount,
			SchedulerServiceAccount: devSchedulerServiceAccount,
			// The simulator enforces no quota in dev mode; Gmail's real
			// budget would only slow the demo's start.
			GmailUnitsPerSecond: 10000,
		},
		Access: accessConfig{
			TokenKeys:           "dev:" + base64.StdEncoding.EncodeToString(keys[:32]),
			StateKey:            base64.StdEncoding.EncodeToString(keys[32:64]),
			ConnectClientID:     devConnectClientID,
			ConnectClientSecret: devConnectClientSecret,
			DelegationKey:       string(world.delegationKey),
		},
		ReportKey:       base64.StdEncoding.EncodeToString(keys[64:]),
		RequestLogLevel: slog.LevelDebug,
		Explain:         true,
		Now:             cfg.Now,
		RateLimit:       cfg.RateLimit,
		wrapStore:       cfg.WrapStore,
		dev:             world,
	}
	a, err := newApp(ctx, conf, l, log)
	if err != nil {
		world.close()
		l.Close()
		return nil, err
	}
	dctx, stop := context.WithCancel(ctx)
	d := &devApp{app: a, Gmail: world.sim, Root: world.root, Google: world.google, stop: stop}
	if err := a.start(dctx); err != nil {
		stop()
		return nil, errors.Join(err, a.stop())
	}
	return d, nil
}

// Wait stops the dev server (if its context has not ended yet) and waits
// until everything it started has ended and the store is closed.
func (d *devApp) Wait() error {
	d.stop()
	return d.app.stop()
}

// devWorld is what dev adds to the wiring: Google played locally. The
// Gmail simulator serves Gmail's REST API with a Pub/Sub pusher; oauthsim
// serves Google's OAuth endpoints (consent, tokens, revocation, and
// domain-wide delegation for the demo mailboxes); the trust root signs the
// tokens Google would send and its keys are served where Google's are.
type devWorld struct {
	base          string // the Postfach server
	googleURL     string // where Google's stand-ins listen
	googleSrv     *http.Server
	root          *addontest.TrustRoot
	sim           *gmailsim.Server
	google        *oauthsim.Server
	pusher        *gmailsim.Pusher
	delegationKey []byte
	seededAt      time.Time
	// forward is off while the demo's mail is put into the simulator:
	// those notifications would reach mailboxes of a previous run.
	forward atomic.Bool
	// store is the app's, once open: it says which addresses are groups.
	store atomic.Pointer[inbox.Store]
	log   *slog.Logger
}

func newDevWorld(base, googleURL string, log *slog.Logger) (*devWorld, error) {
	root, err := addontest.NewTrustRoot()
	if err != nil {
		return nil, err
	}
	w := &devWorld{base: base, googleURL: googleURL, root: root, log: log, seededAt: time.Now()}
	// Pub/Sub, played by the simulator's pusher: Gmail notifications are
	// POSTed to /gmail/push with an OIDC token of the push service account.
	w.pusher = gmailsim.NewPusher(gmailsim.PusherOptions{
		Endpoint:     base + httpapi.PathPush,
		Subscription: "projects/postfach-dev/subscriptions/gmail-push",
		Token: func(_ context.Context, audience string) (string, error) {
			return root.SystemIDToken(audience, devPushServiceAccount)
		},
		Logger: log.With("component", "pubsub"),
	})
	w.google = oauthsim.New(oauthsim.Options{ClientID: devConnectClientID, ClientSecret: devConnectClientSecret})
	w.delegationKey, err = w.google.ServiceAccountKey(devDelegationAccount, googleURL+devGooglePrefix+oauthsim.PathToken)
	if err != nil {
		return nil, err
	}
	w.google.GrantDelegation(devDelegationAccount, mailboxauth.Scopes...)
	w.sim = gmailsim.New(gmailsim.Options{
		Authenticate: w.google.AuthenticateWith(root.VerifyAccessToken),
		Notify: func(n gmailsim.Notification) {
			if w.forward.Load() {
				w.pusher.Notify(n)
			}
		},
		// A mail a simulated mailbox sends reaches a shared inbox's
		// members, as a Google Group fans it out.
		Route: func(address string) []string {
			st := w.store.Load()
			if st == nil {
				return []string{address}
			}
			return recipients(context.Background(), *st, address)
		},
		Logger: log.With("component", "gmailsim"),
	})
	for _, u := range demo.Users() {
		w.sim.AddMailbox(u)
	}
	if err := demo.SeedMail(func(raw []byte, to []string) error {
		// The demo's mail arrived when its Date header says, so Gmail's
		// lists order and date it as it claims.
		var at time.Time
		if m, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
			at, _ = m.Header.Date()
		}
		_, err := w.sim.DeliverAt(at, raw, to...)
		return err
	}, w.seededAt); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// googleHandler serves Google's OAuth endpoints and ID-token keys, played
// by oauthsim and the trust root, under devGooglePrefix.
func (w *devWorld) googleHandler() http.Handler {
	mux := http.NewServeMux()
	jwks := w.root.JWKS()
	mux.HandleFunc("GET "+devCertsPath, func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		rw.Header().Set("Cache-Control", "public, max-age=3600")
		rw.Write(jwks)
	})
	mux.Handle("/", w.google.Handler())
	return http.StripPrefix(devGooglePrefix, mux)
}

// serve serves Google's stand-ins on l: the Gmail API and the OAuth
// endpoints, at the same paths as on the Postfach server.
func (w *devWorld) serve(l net.Listener) {
	mux := http.NewServeMux()
	mux.Handle("/gmail/v1/", w.sim.Handler())
	mux.Handle("/upload/gmail/v1/", w.sim.Handler())
	mux.Handle(devGooglePrefix+"/", w.googleHandler())
	w.googleSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go w.googleSrv.Serve(l)
}

// routes are the dev routes of the Postfach server: tokens on demand,
// delivery, and, for people and curl, the same stand-ins as on their own
// port.
func (w *devWorld) routes(a *app) (*httpapi.DevOptions, error) {
	w.store.Store(&a.Store)
	pg, err := w.playground()
	if err != nil {
		return nil, err
	}
	return &httpapi.DevOptions{
		Playground: pg,
		Tokens:     devMinter{root: w.root},
		Gmail:      w.sim.Handler(),
		Google:     w.googleHandler(),
		Baseline:   true,
		Deliver: func(raw []byte, to string) ([]string, error) {
			return deliver(context.Background(), a.Store, w.sim, raw, to)
		},
	}, nil
}

// playground is the browser playground over the demo: its users of every
// tenant, its shared addresses, and the deployment `postfach manifest`
// prints for this server.
func (w *devWorld) playground() (http.Handler, error) {
	deployment, err := manifests.Deployment(w.base)
	if err != nil {
		return nil, fmt.Errorf("dev: playground: %w", err)
	}
	o := playground.Options{Deployment: deployment}
	seen := map[string]bool{}
	for _, ib := range demo.Inboxes {
		o.Inboxes = append(o.Inboxes, playground.Inbox{Address: ib.Address, Name: ib.Name})
		for _, m := range ib.Members {
			if seen[m.Email] {
				continue
			}
			seen[m.Email] = true
			u := playground.User{Email: m.Email, Name: m.Name, Tenant: ib.TenantID, TenantName: ib.TenantID}
			for _, t := range demo.Tenants {
				if t.Domain == ib.TenantID {
					u.TenantName = t.Name
				}
			}
			o.Users = append(o.Users, u)
		}
	}
	return playground.Handler(o)
}

// prepare links every demo mailbox afresh (the
// simulator's mailboxes are new on every start, so cursors and label ids of
// a previous run mean nothing), by domain-wide delegation as production
// would. Notifications flow from the first link on, so mail that arrives
// while a mailbox is being linked is synced as soon as its link is done.
func (w *devWorld) prepare(ctx context.Context, a *app) error {
	for _, u := range demo.Users() {
		if err := a.Syncer.Unlink(ctx, u); err != nil && !errors.Is(err, inbox.ErrNotFound) {
			a.log.Warn("unlink", "mailbox", u, "error", err)
		}
	}
	w.forward.Store(true)
	for _, u := range demo.Users() {
		m := inbox.Mailbox{Address: u, TenantID: inbox.DomainOf(u), Kind: inbox.MailboxMember, Access: inbox.AccessDelegation}
		if err := a.Syncer.Link(ctx, m); err != nil {
			return fmt.Errorf("link %s: %w", u, err)
		}
	}
	a.log.Info("demo linked", "mailboxes", len(demo.Users()))
	return nil
}

// seed writes the demo tenants, inboxes and conversations unless a previous
// run did; it runs before the server answers anything.
func (w *devWorld) seed(ctx context.Context, a *app) error {
	seeded, err := demo.SeedStore(ctx, a.Store, w.seededAt)
	if err != nil {
		return err
	}
	a.log.Info("demo seeded", "written", seeded)
	return nil
}

// close stops the stand-ins; the app calls it once its store is closed.
func (w *devWorld) close() {
	w.pusher.Close()
	if w.googleSrv != nil {
		w.googleSrv.Close()
	}
}

// deliver plays Gmail's delivery of a mail to an envelope recipient: a
// shared inbox's address is a Google Group that fans out one copy to each
// member; any other address is a mailbox of its own.
func deliver(ctx context.Context, store inbox.Store, sim *gmailsim.Server, raw []byte, to string) ([]string, error) {
	got, err := sim.Deliver(raw, recipients(ctx, store, to)...)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(got))
	for i, d := range got {
		out[i] = d.Mailbox
	}
	return out, nil
}

// recipients are the mailboxes a mail to address reaches: the members of
// the shared inbox of that address, or the address itself.
func recipients(ctx context.Context, store inbox.Store, address string) []string {
	ibs, err := store.ListInboxes(ctx, inbox.DomainOf(address))
	if err != nil {
		return []string{address}
	}
	for _, ib := range ibs {
		if ib.Address == address {
			var out []string
			for _, m := range ib.Members {
				out = append(out, m.Email)
			}
			return out
		}
	}
	return []string{address}
}

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
