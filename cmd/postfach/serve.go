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

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cloudlog"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/gmailclient"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/sqlitedb"
	"github.com/postfach/postfach/manifests"
)

// serveConfig is the production configuration, read from the environment
// (Cloud Run sets PORT; the rest comes from the service's env vars).
type serveConfig struct {
	Addr                string // ":" + PORT
	BaseURL             string // POSTFACH_BASE_URL: the public URL the deployment points at
	AddonServiceAccount string // POSTFACH_ADDON_SERVICE_ACCOUNT: signer of systemIdTokens
	OAuthClientID       string // POSTFACH_OAUTH_CLIENT_ID: audience of userIdTokens
	Store               string // POSTFACH_STORE: sqlite (firestore comes with its adapter)
	SQLitePath          string // POSTFACH_SQLITE_PATH
	GmailEndpoint       string // POSTFACH_GMAIL_ENDPOINT: Gmail API base URL override
	LogLevel            slog.Level
}

var errConfig = errors.New("configuration")

func loadServeConfig(getenv func(string) string) (serveConfig, error) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	c := serveConfig{
		Addr:                ":" + env("PORT", "8080"),
		BaseURL:             getenv("POSTFACH_BASE_URL"),
		AddonServiceAccount: getenv("POSTFACH_ADDON_SERVICE_ACCOUNT"),
		OAuthClientID:       getenv("POSTFACH_OAUTH_CLIENT_ID"),
		Store:               env("POSTFACH_STORE", "sqlite"),
		SQLitePath:          env("POSTFACH_SQLITE_PATH", filepath.Join(os.TempDir(), "postfach.db")),
		GmailEndpoint:       getenv("POSTFACH_GMAIL_ENDPOINT"),
		LogLevel:            logLevel(getenv),
	}
	var missing []string
	for k, v := range map[string]string{
		"POSTFACH_BASE_URL":              c.BaseURL,
		"POSTFACH_ADDON_SERVICE_ACCOUNT": c.AddonServiceAccount,
		"POSTFACH_OAUTH_CLIENT_ID":       c.OAuthClientID,
	} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("%w: set %v", errConfig, missing)
	}
	if _, err := manifests.CheckBaseURL(c.BaseURL); err != nil {
		return c, fmt.Errorf("%w: POSTFACH_BASE_URL: %v", errConfig, err)
	}
	if c.Store != "sqlite" {
		return c, fmt.Errorf("%w: POSTFACH_STORE=%q: only sqlite is available in this version", errConfig, c.Store)
	}
	return c, nil
}

func runServe(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadServeConfig(getenv)
	if err != nil {
		return err
	}
	log := cloudlog.New(os.Stdout, cfg.LogLevel)
	store, err := sqlitedb.Open(ctx, cfg.SQLitePath)
	if err != nil {
		return err
	}
	defer store.Close()
	verifier, err := addon.NewVerifier(ctx, addon.VerifierConfig{
		ServiceAccountEmail: cfg.AddonServiceAccount,
		OAuthClientID:       cfg.OAuthClientID,
		PublicBaseURL:       cfg.BaseURL,
		Logger:              log,
	})
	if err != nil {
		return err
	}
	srv, err := newServer(store, verifier, cfg.BaseURL, cfg.GmailEndpoint, http.DefaultTransport, log, nil)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("serving", "addr", l.Addr().String(), "base_url", cfg.BaseURL, "store", cfg.Store)
	return srv.Serve(ctx, l)
}

// newServer is the composition shared by serve and dev.
func newServer(store inbox.Store, verifier *addon.Verifier, baseURL, gmailEndpoint string, transport http.RoundTripper, log *slog.Logger, dev *httpapi.DevOptions) (*httpapi.Server, error) {
	d := desk.New(desk.Options{
		Store:  store,
		Reader: gmailclient.New(gmailclient.Options{Endpoint: gmailEndpoint, Transport: transport}),
		Logger: log.With("component", "desk"),
	})
	return httpapi.New(httpapi.Options{
		Verify:  verifier.Middleware(),
		Desk:    d,
		BaseURL: baseURL,
		Logger:  log,
		Dev:     dev,
	})
}
