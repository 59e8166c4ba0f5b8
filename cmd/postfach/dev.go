package main

import (
	"context"
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
	"time"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/cloudlog"
	"github.com/postfach/postfach/internal/demo"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/sqlitedb"
)

// The identities Google would have in production, as dev mode plays them.
const (
	devServiceAccount = "service-000000000000@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
	devOAuthClientID  = "postfach-dev.apps.googleusercontent.com"
	devGmailScope     = "https://www.googleapis.com/auth/gmail.addons.execute https://www.googleapis.com/auth/gmail.addons.current.message.metadata"
)

// devConfig configures `postfach dev`.
type devConfig struct {
	Addr    string // loopback host:port
	DataDir string
	Reset   bool
	Log     *slog.Logger
}

// devApp is the whole product on one machine; tests start it on port 0.
type devApp struct {
	BaseURL string
	Store   *sqlitedb.Store
	Gmail   *gmailsim.Server
	Root    *addontest.TrustRoot
	server  *httpapi.Server
	l       net.Listener
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := devConfig{}
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "listen address (loopback only)")
	fs.StringVar(&cfg.DataDir, "data", ".data", "directory of the SQLite database")
	fs.BoolVar(&cfg.Reset, "reset", false, "delete the database and start from the demo data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Log = cloudlog.New(stderr, logLevel(getenv))
	app, err := startDev(ctx, cfg)
	if err != nil {
		return err
	}
	defer app.Store.Close()
	fmt.Fprintf(stdout, `Postfach dev is running on %[1]s

  health:   %[1]s/healthz
  tokens:   %[1]s/dev/tokens?email=bob@example.com&url=%[1]s/addon/homepage
  gmail:    %[1]s/gmail/v1/users/me/messages  (Authorization: Bearer <userOAuthToken>)
  users:    %[2]s
  data:     %[3]s

Press Ctrl-C to stop.
`, app.BaseURL, strings.Join(demo.Users(), ", "), filepath.Join(cfg.DataDir, "postfach.db"))
	return app.Serve(ctx)
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
	store, err := sqlitedb.Open(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	app, err := wireDev(ctx, cfg, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	return app, nil
}

func wireDev(ctx context.Context, cfg devConfig, store *sqlitedb.Store) (*devApp, error) {
	log := cfg.Log
	root, err := addontest.NewTrustRoot()
	if err != nil {
		return nil, err
	}
	sim := gmailsim.New(gmailsim.Options{
		Authenticate: func(r *http.Request) (string, error) {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				return "", errors.New("no bearer token")
			}
			return root.VerifyAccessToken(tok)
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
		return nil, err
	}
	seeded, err := demo.SeedStore(ctx, store, now)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dev: listen: %w", err)
	}
	base := "http://" + l.Addr().String()
	verifier, err := addon.NewVerifier(ctx, addon.VerifierConfig{
		ServiceAccountEmail: devServiceAccount,
		OAuthClientID:       devOAuthClientID,
		PublicBaseURL:       base,
		HTTPClient:          root.HTTPClient(),
		Logger:              log,
	})
	if err != nil {
		l.Close()
		return nil, err
	}
	srv, err := newServer(store, verifier, base, base+"/", http.DefaultTransport, log, &httpapi.DevOptions{
		Tokens: devMinter{root: root},
		Gmail:  sim.Handler(),
	})
	if err != nil {
		l.Close()
		return nil, err
	}
	log.Info("dev ready", "base_url", base, "demo_seeded", seeded)
	return &devApp{BaseURL: base, Store: store, Gmail: sim, Root: root, server: srv, l: l}, nil
}

// Serve serves until ctx ends.
func (a *devApp) Serve(ctx context.Context) error { return a.server.Serve(ctx, a.l) }

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
