package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/gmailclient"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/internal/syncer"
)

// defaultShutdownGrace stays inside Cloud Run's 10 s between SIGTERM and
// SIGKILL.
const defaultShutdownGrace = 9 * time.Second

// app is one running Postfach server: the composition root that serve, dev
// and the end-to-end tests share. Build it with newApp, then start, then
// stop (or run, which does both around a context).
type app struct {
	cfg        config
	log        *slog.Logger
	listener   net.Listener
	BaseURL    string
	Store      inbox.Store
	closeStore func() error
	// Syncer is nil when push sync is off.
	Syncer *syncer.Syncer
	server *httpapi.Server

	// background bounds what outlives a request: syncs a push kicked off,
	// label mirrors of a sidebar change. stop cancels it last.
	background     context.Context
	stopBackground context.CancelFunc

	ready    atomic.Bool
	started  bool
	served   chan error // Serve's result
	stopOnce sync.Once
	stopErr  error
}

// newApp opens the store and wires every part for cfg; it serves nothing
// until start. l is the listener it will serve on (dev needs its address
// before it can say where its simulators are); nil for a command that only
// uses the wiring (watch renew, check) and never starts it.
func newApp(ctx context.Context, cfg config, l net.Listener, log *slog.Logger) (_ *app, err error) {
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = defaultShutdownGrace
	}
	a := &app{cfg: cfg, log: log, listener: l, BaseURL: strings.TrimSuffix(cfg.BaseURL, "/"), served: make(chan error, 1)}
	a.background, a.stopBackground = context.WithCancel(context.WithoutCancel(ctx))
	a.Store, a.closeStore, err = openStore(ctx, cfg.Store)
	if err != nil {
		a.stopBackground()
		return nil, err
	}
	defer func() {
		if err != nil {
			a.stopBackground()
			a.closeStore()
		}
	}()
	log.Info("store opened", "store", cfg.Store.Kind, "where", cfg.Store.where())
	if cfg.wrapStore != nil {
		a.Store = cfg.wrapStore(a.Store)
	}

	certs := (*http.Client)(nil)
	if cfg.Google.CertsURL != "" {
		if certs, err = addon.CertsClient(cfg.Google.CertsURL); err != nil {
			return nil, fmt.Errorf("%w: POSTFACH_GOOGLE_CERTS_URL: %v", errConfig, err)
		}
	}
	verifier, err := addon.NewVerifier(ctx, addon.VerifierConfig{
		ServiceAccountEmail: cfg.AddonServiceAccount,
		OAuthClientID:       cfg.OAuthClientID,
		PublicBaseURL:       cfg.BaseURL,
		HTTPClient:          certs,
		Logger:              log,
		Explain:             cfg.Explain,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errConfig, err)
	}

	gmailReader := gmailclient.New(gmailclient.Options{Endpoint: cfg.Google.GmailEndpoint})
	deskOpts := desk.Options{
		Now:    cfg.Now, // tests move it (SLA clocks, snoozes)
		Store:  a.Store,
		Reader: gmailReader,
		Drafts: gmailReader,
		Logger: log.With("component", "desk"),
	}
	opts := httpapi.Options{
		Verify:          verifier.Middleware(),
		BaseURL:         cfg.BaseURL,
		Logger:          log,
		Ready:           a.readiness,
		RequestLogLevel: cfg.RequestLogLevel,
		Now:             cfg.Now,
		RateLimit:       cfg.RateLimit,
	}
	if opts.ReportKey, err = reportKey(cfg.ReportKey); err != nil {
		return nil, fmt.Errorf("%w: POSTFACH_REPORT_KEY: %v", errConfig, err)
	}
	if cfg.Sync.Topic != "" {
		tokens, err := addon.NewIDTokens(ctx, certs)
		if err != nil {
			return nil, err
		}
		access, err := newMailboxAccess(a.Store, cfg, log)
		if err != nil {
			return nil, err
		}
		dialer := gmailclient.NewDialer(gmailclient.DialerOptions{
			Endpoint:       cfg.Google.GmailEndpoint,
			Tokens:         access.provider,
			UnitsPerSecond: cfg.Sync.GmailUnitsPerSecond,
		})
		// Reply checks the user's send-as aliases with the sync's access
		// to their mailbox (scope gmail.modify), sharing its quota.
		deskOpts.SendAs = dialer
		// A note's mentions are mailed from the inbox's (or the author's)
		// mailbox with the same access: gmail.modify may send.
		deskOpts.Mailer = dialer
		deskOpts.MentionMail = mentionMail
		deskOpts.SLAMail = slaMail
		a.Syncer = syncer.New(syncer.Options{
			Store:        a.Store,
			Gmail:        dialer,
			Topic:        cfg.Sync.Topic,
			ResyncWindow: cfg.Sync.ResyncWindow,
			LeaseTTL:     cfg.Sync.LeaseTTL,
			Now:          cfg.Now,
			Logger:       log.With("component", "syncer"),
		})
		deskOpts.OnChange = func(_ context.Context, c inbox.Conversation) {
			// Label the threads after answering the card; the request's
			// context ends with the response.
			a.Syncer.ConversationChangedAsync(a.background, c)
		}
		// The sweep writes the labels an action's OnChange may have lost.
		deskOpts.Relabel = a.Syncer.ConversationChanged
		deskOpts.OnInboxChange = func(_ context.Context, before, after inbox.Inbox) {
			a.Syncer.InboxChangedAsync(a.background, before, after) // rename its labels
		}
		opts.Sync = &httpapi.SyncOptions{
			Syncer:                  a.Syncer,
			Tokens:                  tokens,
			PushAudience:            cfg.Sync.PushAudience,
			PushServiceAccount:      cfg.Sync.PushServiceAccount,
			SchedulerServiceAccount: cfg.Sync.SchedulerServiceAccount,
			Background:              a.background,
		}
		if access.connect != nil {
			c := &mailboxauth.Connector{
				OAuth: access.connect, RevokeURL: cfg.Google.RevokeURL,
				Keyring: access.keyring, Store: a.Store, StateKey: access.stateKey,
				Link: a.Syncer.Link, Unlink: a.Syncer.Unlink, GmailEndpoint: cfg.Google.GmailEndpoint,
				Logger: log.With("component", "connect"),
			}
			if err := c.Validate(); err != nil {
				return nil, fmt.Errorf("%w: mailbox connect: %v", errConfig, err)
			}
			opts.OAuth = &httpapi.OAuthOptions{Connector: c}
		}
	}
	if cfg.dev != nil {
		if opts.Dev, err = cfg.dev.routes(a); err != nil {
			return nil, err
		}
	}
	opts.Desk = desk.New(deskOpts)
	if a.server, err = httpapi.New(opts); err != nil {
		return nil, err
	}
	return a, nil
}

// readiness is /readyz: start-up done and the store answering.
func (a *app) readiness(ctx context.Context) error {
	if !a.ready.Load() {
		return errors.New("starting")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return pingStore(ctx, a.Store)
}

// start serves in the background, runs the start-up work (dev: seed and
// link the demo) and returns once the server is ready, or with the reason
// it cannot be. On an error the caller still calls stop.
func (a *app) start(ctx context.Context) error {
	if a.listener == nil {
		return errors.New("start: no listener")
	}
	if a.cfg.dev != nil {
		// The demo's tenants and inboxes exist before the first request:
		// a mail delivered to support@ as soon as the server answers finds
		// its group.
		if err := a.cfg.dev.seed(ctx, a); err != nil {
			return fmt.Errorf("dev: %w", err)
		}
	}
	a.started = true
	go func() { a.served <- a.server.Serve(a.listener) }()
	if a.cfg.dev != nil {
		if err := a.cfg.dev.prepare(ctx, a); err != nil {
			return fmt.Errorf("dev: %w", err)
		}
	}
	if err := pingStore(ctx, a.Store); err != nil {
		return err
	}
	a.ready.Store(true)
	a.log.Info("ready", "version", versionString(), "base_url", a.BaseURL, "addr", a.listener.Addr().String(), "store", a.cfg.Store.Kind,
		"push_sync", a.Syncer != nil, "connect", a.Syncer != nil && a.cfg.Access.ConnectClientID != "",
		"delegation", a.Syncer != nil && a.cfg.Access.DelegationKey != "")
	return nil
}

// wait blocks until ctx ends or the server fails, then stops.
func (a *app) wait(ctx context.Context) error {
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-a.served:
		a.served <- serveErr // for stop
	}
	return errors.Join(serveErr, a.stop())
}

// stop shuts down in reverse order of start-up, within the grace period:
// stop accepting and finish the requests in flight (pushes included), let
// background syncs and label mirrors finish, then cancel what is left and
// wait for it, then close the store. Nothing touches the store after it is
// closed.
func (a *app) stop() error {
	a.stopOnce.Do(func() { a.stopErr = a.shutdown() })
	return a.stopErr
}

func (a *app) shutdown() error {
	deadline := time.Now().Add(a.cfg.ShutdownGrace)
	a.ready.Store(false)
	shut, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var errs []error
	if err := a.server.Shutdown(shut); err != nil {
		errs = append(errs, err)
	}
	if a.started {
		if err := <-a.served; err != nil {
			errs = append(errs, err)
		}
	} else if a.listener != nil {
		a.listener.Close()
	}
	if a.Syncer != nil {
		done := make(chan struct{})
		go func() { a.Syncer.Wait(); close(done) }()
		select {
		case <-done:
		case <-shut.Done():
			a.log.Warn("shutdown grace over: cancelling background syncs")
			a.stopBackground()
			<-done
		}
	}
	a.stopBackground()
	if err := a.closeStore(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	if a.cfg.dev != nil {
		a.cfg.dev.close()
	}
	a.log.Info("stopped")
	return errors.Join(errs...)
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
func newMailboxAccess(store inbox.Store, cfg config, log *slog.Logger) (mailboxAccess, error) {
	var a mailboxAccess
	opts := mailboxauth.ProviderOptions{Store: store, Logger: log.With("component", "mailboxauth")}
	if cfg.Access.DelegationKey != "" {
		opts.Delegation = &mailboxauth.Delegation{KeyJSON: []byte(cfg.Access.DelegationKey), TokenURL: cfg.Google.TokenURL}
	}
	if c := cfg.Access; c.ConnectClientID != "" {
		if c.TokenKeys == "" || c.StateKey == "" || c.ConnectClientSecret == "" {
			return a, fmt.Errorf("%w: POSTFACH_CONNECT_CLIENT_ID needs POSTFACH_CONNECT_CLIENT_SECRET, POSTFACH_TOKEN_KEYS and POSTFACH_OAUTH_STATE_KEY", errConfig)
		}
		ring, err := mailboxauth.ParseKeyring(c.TokenKeys)
		if err != nil {
			return a, fmt.Errorf("%w: POSTFACH_TOKEN_KEYS: %v", errConfig, err)
		}
		stateKey, err := base64.StdEncoding.DecodeString(c.StateKey)
		if err != nil || len(stateKey) < 32 {
			return a, fmt.Errorf("%w: POSTFACH_OAUTH_STATE_KEY: want base64 of at least 32 random bytes", errConfig)
		}
		endpoint := google.Endpoint
		if cfg.Google.AuthURL != "" {
			endpoint.AuthURL = cfg.Google.AuthURL
		}
		if cfg.Google.TokenURL != "" {
			endpoint.TokenURL = cfg.Google.TokenURL
		}
		a.keyring, a.stateKey = ring, stateKey
		a.connect = &oauth2.Config{
			ClientID: c.ConnectClientID, ClientSecret: c.ConnectClientSecret,
			Endpoint:    endpoint,
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

// mentionMail words the mail of a mention in lang (a BCP 47 base; "" or
// an unknown one is English), with the cards' catalogs and links. The
// recipient's time zone is unknown, so the mail names no time.
func mentionMail(lang string, n desk.MentionNotice) (subject, text string) {
	return cards.Builder{}.For(i18n.NewPrinter(i18n.Match(lang), time.UTC)).MentionMail(n)
}

// slaMail words an SLA threshold's mail in a language.
func slaMail(lang string, n desk.SLANotice) (subject, text string) {
	return cards.Builder{}.For(i18n.NewPrinter(i18n.Match(lang), time.UTC)).SLAMail(n)
}
