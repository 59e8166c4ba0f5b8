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
	"strings"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cloudlog"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/gmailclient"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/syncer"
	"github.com/postfach/postfach/manifests"
)

// serveConfig is the production configuration, read from the environment
// (Cloud Run sets PORT; the rest comes from the service's env vars).
type serveConfig struct {
	Addr                string // ":" + PORT
	BaseURL             string // POSTFACH_BASE_URL: the public URL the deployment points at
	AddonServiceAccount string // POSTFACH_ADDON_SERVICE_ACCOUNT: signer of systemIdTokens
	OAuthClientID       string // POSTFACH_OAUTH_CLIENT_ID: audience of userIdTokens
	Store               storeConfig
	GmailEndpoint       string // POSTFACH_GMAIL_ENDPOINT: Gmail API base URL override
	LogLevel            slog.Level

	// Push sync; enabled when PubSubTopic is set.
	PubSubTopic             string // POSTFACH_PUBSUB_TOPIC: projects/P/topics/T that watches publish to
	PushAudience            string // POSTFACH_PUSH_AUDIENCE: audience of the push subscription's OIDC token (default: the push URL)
	PushServiceAccount      string // POSTFACH_PUSH_SERVICE_ACCOUNT: the push subscription's service account
	SchedulerServiceAccount string // POSTFACH_SCHEDULER_SERVICE_ACCOUNT: Cloud Scheduler's OIDC service account
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
		GmailEndpoint:       getenv("POSTFACH_GMAIL_ENDPOINT"),
		LogLevel:            logLevel(getenv),

		PubSubTopic:             getenv("POSTFACH_PUBSUB_TOPIC"),
		PushAudience:            getenv("POSTFACH_PUSH_AUDIENCE"),
		PushServiceAccount:      getenv("POSTFACH_PUSH_SERVICE_ACCOUNT"),
		SchedulerServiceAccount: getenv("POSTFACH_SCHEDULER_SERVICE_ACCOUNT"),
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
	if c.PubSubTopic != "" {
		if !strings.HasPrefix(c.PubSubTopic, "projects/") || !strings.Contains(c.PubSubTopic, "/topics/") {
			return c, fmt.Errorf("%w: POSTFACH_PUBSUB_TOPIC=%q: want projects/PROJECT/topics/TOPIC", errConfig, c.PubSubTopic)
		}
		if c.PushServiceAccount == "" || c.SchedulerServiceAccount == "" {
			return c, fmt.Errorf("%w: push sync needs POSTFACH_PUSH_SERVICE_ACCOUNT and POSTFACH_SCHEDULER_SERVICE_ACCOUNT", errConfig)
		}
		if c.PushAudience == "" {
			c.PushAudience = strings.TrimSuffix(c.BaseURL, "/") + httpapi.PathPush
		}
	}
	var err error
	if c.Store, err = loadStoreConfig(getenv); err != nil {
		return c, err
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
	store, closeStore, err := openStore(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer closeStore()
	verifier, err := addon.NewVerifier(ctx, addon.VerifierConfig{
		ServiceAccountEmail: cfg.AddonServiceAccount,
		OAuthClientID:       cfg.OAuthClientID,
		PublicBaseURL:       cfg.BaseURL,
		Logger:              log,
	})
	if err != nil {
		return err
	}
	deps := serverDeps{
		store: store, verifier: verifier, baseURL: cfg.BaseURL, gmailEndpoint: cfg.GmailEndpoint, log: log,
		background: ctx,
	}
	if cfg.PubSubTopic != "" {
		tokens, err := addon.NewIDTokens(ctx, nil)
		if err != nil {
			return err
		}
		deps.syncer = newSyncer(store, cfg, log)
		deps.sync = &httpapi.SyncOptions{
			Tokens:                  tokens,
			PushAudience:            cfg.PushAudience,
			PushServiceAccount:      cfg.PushServiceAccount,
			SchedulerServiceAccount: cfg.SchedulerServiceAccount,
		}
	}
	srv, err := newServer(deps)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("serving", "addr", l.Addr().String(), "base_url", cfg.BaseURL, "store", cfg.Store.Kind)
	return srv.Serve(ctx, l)
}

// newSyncer builds the production syncer. Mailbox access without a user
// (domain-wide delegation, stored offline consent) is configured by the
// admin/install feature; until then every mailbox reports that no token
// source is configured, on the mailbox and in the logs.
func newSyncer(store inbox.Store, cfg serveConfig, log *slog.Logger) *syncer.Syncer {
	return syncer.New(syncer.Options{
		Store:  store,
		Gmail:  gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: cfg.GmailEndpoint}),
		Topic:  cfg.PubSubTopic,
		Logger: log.With("component", "syncer"),
	})
}

// serverDeps are what newServer wires together.
type serverDeps struct {
	store         inbox.Store
	verifier      *addon.Verifier
	baseURL       string
	gmailEndpoint string
	transport     http.RoundTripper
	log           *slog.Logger
	// syncer, if set, mirrors sidebar changes to Gmail labels and serves
	// the push and task endpoints configured in sync.
	syncer     *syncer.Syncer
	sync       *httpapi.SyncOptions
	background context.Context
	dev        *httpapi.DevOptions
}

// newServer is the composition shared by serve and dev.
func newServer(d serverDeps) (*httpapi.Server, error) {
	opts := desk.Options{
		Store:  d.store,
		Reader: gmailclient.New(gmailclient.Options{Endpoint: d.gmailEndpoint, Transport: d.transport}),
		Logger: d.log.With("component", "desk"),
	}
	if d.syncer != nil {
		bg := d.background
		opts.OnChange = func(_ context.Context, c inbox.Conversation) {
			// Label the threads after answering the card; the request's
			// context ends with the response.
			d.syncer.ConversationChangedAsync(bg, c)
		}
		if d.sync != nil {
			d.sync.Syncer = d.syncer
			d.sync.Background = d.background
		}
	}
	return httpapi.New(httpapi.Options{
		Verify:  d.verifier.Middleware(),
		Desk:    desk.New(opts),
		BaseURL: d.baseURL,
		Logger:  d.log,
		Sync:    d.sync,
		Dev:     d.dev,
	})
}
