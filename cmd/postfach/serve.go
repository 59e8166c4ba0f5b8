package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cloudlog"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/gmailclient"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
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
	PubSubTopic             string        // POSTFACH_PUBSUB_TOPIC: projects/P/topics/T that watches publish to
	PushAudience            string        // POSTFACH_PUSH_AUDIENCE: audience of the push subscription's OIDC token (default: the push URL)
	PushServiceAccount      string        // POSTFACH_PUSH_SERVICE_ACCOUNT: the push subscription's service account
	SchedulerServiceAccount string        // POSTFACH_SCHEDULER_SERVICE_ACCOUNT: Cloud Scheduler's OIDC service account
	ResyncWindow            time.Duration // POSTFACH_RESYNC_WINDOW: how far back a full resync reads (default 720h)

	// Mailbox access without a user present (secrets: set them from
	// Secret Manager with gcloud run deploy --set-secrets).
	TokenKeys           string // POSTFACH_TOKEN_KEYS: "kid:base64(32 bytes),…", first seals
	StateKey            string // POSTFACH_OAUTH_STATE_KEY: base64 of ≥32 random bytes, signs connect states
	ConnectClientID     string // POSTFACH_CONNECT_CLIENT_ID: the web OAuth client of "Connect my mailbox"
	ConnectClientSecret string // POSTFACH_CONNECT_CLIENT_SECRET
	DelegationKey       string // POSTFACH_DELEGATION_KEY: service account key JSON with domain-wide delegation
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

		TokenKeys:           getenv("POSTFACH_TOKEN_KEYS"),
		StateKey:            getenv("POSTFACH_OAUTH_STATE_KEY"),
		ConnectClientID:     getenv("POSTFACH_CONNECT_CLIENT_ID"),
		ConnectClientSecret: getenv("POSTFACH_CONNECT_CLIENT_SECRET"),
		DelegationKey:       getenv("POSTFACH_DELEGATION_KEY"),
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
	if w := getenv("POSTFACH_RESYNC_WINDOW"); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("%w: POSTFACH_RESYNC_WINDOW=%q: want a duration such as 720h", errConfig, w)
		}
		c.ResyncWindow = d
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
		access, err := newMailboxAccess(store, cfg, log)
		if err != nil {
			return err
		}
		deps.syncer = newSyncer(store, cfg, access.provider, log)
		if access.connect != nil {
			deps.oauth = &mailboxauth.Connector{
				OAuth: access.connect, Keyring: access.keyring, Store: store, StateKey: access.stateKey,
				Link: deps.syncer.Link, Unlink: deps.syncer.Unlink, GmailEndpoint: cfg.GmailEndpoint,
				Logger: log.With("component", "connect"),
			}
			if err := deps.oauth.Validate(); err != nil {
				return fmt.Errorf("%w: mailbox connect: %v", errConfig, err)
			}
		}
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

// newSyncer builds the production syncer over the mailbox access.
func newSyncer(store inbox.Store, cfg serveConfig, tokens gmailclient.TokenSources, log *slog.Logger) *syncer.Syncer {
	return syncer.New(syncer.Options{
		Store:        store,
		Gmail:        gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: cfg.GmailEndpoint, Tokens: tokens}),
		Topic:        cfg.PubSubTopic,
		ResyncWindow: cfg.ResyncWindow,
		Logger:       log.With("component", "syncer"),
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
	oauth      *mailboxauth.Connector
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
		OAuth:   oauthOptions(d.oauth),
		Dev:     d.dev,
	})
}

func oauthOptions(c *mailboxauth.Connector) *httpapi.OAuthOptions {
	if c == nil {
		return nil
	}
	return &httpapi.OAuthOptions{Connector: c}
}

// mailboxAccess is how the server reaches mailboxes without a user.
type mailboxAccess struct {
	provider *mailboxauth.Provider
	keyring  *mailboxauth.Keyring
	connect  *oauth2.Config // nil: "Connect my mailbox" is off
	stateKey []byte
}

// newMailboxAccess builds the token sources from configuration: domain-wide
// delegation if a delegation key is set, per-user offline consent if the
// connect client, the token keys and the state key are set. Neither is an
// error: mailboxes then report "no access" to the admins.
func newMailboxAccess(store inbox.Store, cfg serveConfig, log *slog.Logger) (mailboxAccess, error) {
	var a mailboxAccess
	opts := mailboxauth.ProviderOptions{Store: store, Logger: log.With("component", "mailboxauth")}
	if cfg.DelegationKey != "" {
		opts.Delegation = &mailboxauth.Delegation{KeyJSON: []byte(cfg.DelegationKey)}
	}
	if cfg.ConnectClientID != "" {
		if cfg.TokenKeys == "" || cfg.StateKey == "" || cfg.ConnectClientSecret == "" {
			return a, fmt.Errorf("%w: POSTFACH_CONNECT_CLIENT_ID needs POSTFACH_CONNECT_CLIENT_SECRET, POSTFACH_TOKEN_KEYS and POSTFACH_OAUTH_STATE_KEY", errConfig)
		}
		ring, err := mailboxauth.ParseKeyring(cfg.TokenKeys)
		if err != nil {
			return a, fmt.Errorf("%w: POSTFACH_TOKEN_KEYS: %v", errConfig, err)
		}
		stateKey, err := base64.StdEncoding.DecodeString(cfg.StateKey)
		if err != nil || len(stateKey) < 32 {
			return a, fmt.Errorf("%w: POSTFACH_OAUTH_STATE_KEY: want base64 of at least 32 random bytes", errConfig)
		}
		a.keyring, a.stateKey = ring, stateKey
		a.connect = &oauth2.Config{
			ClientID: cfg.ConnectClientID, ClientSecret: cfg.ConnectClientSecret,
			Endpoint:    google.Endpoint,
			RedirectURL: strings.TrimSuffix(cfg.BaseURL, "/") + mailboxauth.CallbackPath,
			Scopes:      mailboxauth.Scopes,
		}
		opts.Keyring, opts.OAuth = ring, a.connect
	}
	p, err := mailboxauth.NewProvider(opts)
	if err != nil {
		return a, fmt.Errorf("%w: mailbox access: %v", errConfig, err)
	}
	a.provider = p
	return a, nil
}
