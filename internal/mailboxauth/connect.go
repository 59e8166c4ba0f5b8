package mailboxauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/option"

	"github.com/postfach/postfach/internal/inbox"
)

// Paths of the consent round trip, under the server's base URL. The OAuth
// client's redirect URI is base + CallbackPath.
const (
	ConnectPath  = "/oauth/connect"
	CallbackPath = "/oauth/callback"
)

// GoogleRevokeURL is Google's token revocation endpoint.
const GoogleRevokeURL = "https://oauth2.googleapis.com/revoke"

// Connect errors. Each maps to one answer of the callback.
var (
	// ErrBadCallback: the callback lacks its code (400).
	ErrBadCallback = errors.New("invalid callback")
	// ErrExchange: Google did not exchange the code for a refresh token,
	// or did not answer (502).
	ErrExchange = errors.New("code exchange failed")
	// ErrProfile: Gmail did not tell whose mailbox the token opens (502).
	ErrProfile = errors.New("gmail profile unavailable")
	// ErrWrongAccount: the user consented with another Google account
	// than the one the state names (403).
	ErrWrongAccount = errors.New("consent given by another account")
	// ErrScopeNotGranted: the user left out a scope the sync needs (403).
	ErrScopeNotGranted = errors.New("scope not granted")
	// ErrLinkedElsewhere: the mailbox is linked to another tenant (409).
	ErrLinkedElsewhere = errors.New("mailbox linked to another tenant")
	// ErrNotStarted: the mailbox is connected and its token stored, but
	// Link (the watch and first sync) failed; the error is on the mailbox
	// for the admin, and the sweep retries.
	ErrNotStarted = errors.New("connected, but the sync did not start")
)

// MailboxStore is the part of inbox.Store the Connector uses.
type MailboxStore interface {
	CreateMailbox(ctx context.Context, m inbox.Mailbox) error
	GetMailbox(ctx context.Context, address string) (inbox.Mailbox, error)
	UpdateMailbox(ctx context.Context, address string, fn func(*inbox.Mailbox) error) (inbox.Mailbox, error)
}

// Connector runs "Connect mailbox": a member gives Postfach offline access
// to their own mailbox through Google's consent screen, and Postfach keeps
// the refresh token sealed with the mailbox link. It also disconnects.
//
// The round trip: the sidebar opens ConnectURL, whose signed state names
// the user and tenant and expires after StateTTL; GET ConnectPath checks it
// and redirects to ConsentURL (offline access, forced consent, the user as
// login hint, PKCE); Google redirects to CallbackPath, where Complete checks
// the state again, exchanges the code, asks Gmail whose mailbox the token
// opens (users.getProfile) and accepts it only if that is the state's user,
// then seals the refresh token, stores the link and calls Link.
//
// Nothing is kept between the steps: the state is signed with StateKey,
// and the PKCE verifier is derived from the state's nonce with it. The
// state is not tied to a browser session; the account check makes that
// harmless: whoever completes a consent can only connect the mailbox the
// state names, with that mailbox's own consent, into the tenant the
// sidebar vouched for.
//
// A state is single-use: the link keeps the expiry of the state spent on
// it (Mailbox.ConsentStateExpires), and Complete refuses a state that does
// not expire after it, which is that state or an older one, with
// ErrStateUsed. It checks before exchanging the code, so a replayed
// callback costs no exchange, and again in the store write that stores
// the link, so that of two callbacks with one state only one connects.
// (Disconnect deletes the link and with it that record: until it expires,
// the state that connected the link could connect it once more, with the
// consent of the mailbox's own account.)
type Connector struct {
	// OAuth is the web OAuth client: ClientID, ClientSecret, Endpoint
	// (google.Endpoint, or a local server's in tests), RedirectURL (the
	// base URL + CallbackPath). Scopes default to Scopes.
	OAuth *oauth2.Config
	// RevokeURL defaults to GoogleRevokeURL.
	RevokeURL string
	Keyring   *Keyring
	Store     MailboxStore
	// StateKey signs states; at least 32 random bytes, the same on every
	// instance (a consent may start on one and end on another).
	StateKey []byte
	// Now defaults to time.Now.
	Now func() time.Time
	// Link starts syncing a stored mailbox (syncer.Link: the watch and the
	// first sync). It runs within the callback request: wire an
	// asynchronous one if the first sync may take long.
	Link func(ctx context.Context, m inbox.Mailbox) error
	// Unlink stops the watch and deletes the link with its sealed token
	// (syncer.Unlink).
	Unlink func(ctx context.Context, address string) error
	// GmailEndpoint is the Gmail API base URL for users.getProfile;
	// Google's by default.
	GmailEndpoint string
	// HTTPClient calls the token, revocation and Gmail endpoints. Defaults
	// to a client with a 30-second timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Validate checks the configuration; call it at startup.
func (c *Connector) Validate() error {
	var missing []string
	if c.OAuth == nil || c.OAuth.ClientID == "" || c.OAuth.Endpoint.AuthURL == "" || c.OAuth.Endpoint.TokenURL == "" || c.OAuth.RedirectURL == "" {
		missing = append(missing, "OAuth (ClientID, Endpoint, RedirectURL)")
	}
	if c.Keyring == nil {
		missing = append(missing, "Keyring")
	}
	if c.Store == nil {
		missing = append(missing, "Store")
	}
	if c.Unlink == nil {
		missing = append(missing, "Unlink")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: connector needs %s", errConfig, strings.Join(missing, ", "))
	}
	if len(c.StateKey) < minStateKey {
		return fmt.Errorf("%w: connector StateKey must be at least %d bytes", errConfig, minStateKey)
	}
	return nil
}

func (c *Connector) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Connector) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Connector) client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return defaultClient
}

var defaultClient = &http.Client{Timeout: 30 * time.Second}

// config is c.OAuth with the default scopes.
func (c *Connector) config() *oauth2.Config {
	cfg := *c.OAuth
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = Scopes
	}
	return &cfg
}

// ConnectURL returns the link the sidebar's "Connect mailbox" button opens
// for user (an address of tenant): baseURL + ConnectPath with a signed
// state that expires after StateTTL. The caller has authenticated user.
func (c *Connector) ConnectURL(baseURL, user, tenant string) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	st, err := newState(user, tenant, c.now())
	if err != nil {
		return "", err
	}
	s, err := signState(c.StateKey, st)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(baseURL, "/") + ConnectPath + "?" + url.Values{"state": {s}}.Encode(), nil
}

// VerifyState checks a state's signature and expiry. It returns ErrBadState
// or ErrStateExpired (with the state's content, which is then genuine but
// stale).
func (c *Connector) VerifyState(state string) (State, error) {
	if len(c.StateKey) < minStateKey {
		return State{}, fmt.Errorf("%w: connector StateKey must be at least %d bytes", errConfig, minStateKey)
	}
	return verifyState(c.StateKey, state, c.now())
}

// ConsentURL verifies a state and returns Google's consent URL carrying
// it: offline access (a refresh token), forced consent (a fresh refresh
// token on every connect), the user as login hint and the tenant as hosted
// domain hint, incremental authorization, and a PKCE challenge.
func (c *Connector) ConsentURL(state string) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	st, err := c.VerifyState(state)
	if err != nil {
		return "", err
	}
	return c.config().AuthCodeURL(state,
		oauth2.AccessTypeOffline,
		oauth2.ApprovalForce,
		oauth2.SetAuthURLParam("login_hint", st.Email),
		oauth2.SetAuthURLParam("hd", st.Tenant),
		oauth2.SetAuthURLParam("include_granted_scopes", "true"),
		oauth2.S256ChallengeOption(pkceVerifier(c.StateKey, st.Nonce)),
	), nil
}

// Complete finishes a consent at the callback: it verifies the state,
// exchanges the code, checks the account and the granted scopes, seals the
// refresh token, stores the link (Access oauth; a new link is a member
// mailbox of the state's tenant) and calls Link. It returns the stored
// mailbox, and an error wrapping one of ErrBadState, ErrStateExpired,
// ErrStateUsed, ErrBadCallback, ErrExchange, ErrProfile, ErrWrongAccount,
// ErrScopeNotGranted, ErrLinkedElsewhere or ErrNotStarted (the mailbox is
// stored then), or a store error. Errors never carry codes or tokens.
//
// A consent that is not kept (wrong account, missing scope) is not revoked:
// Google revokes a whole grant, which could end another link of the same
// account.
func (c *Connector) Complete(ctx context.Context, state, code string) (inbox.Mailbox, error) {
	if err := c.Validate(); err != nil {
		return inbox.Mailbox{}, err
	}
	st, err := c.VerifyState(state)
	if err != nil {
		return inbox.Mailbox{}, err
	}
	if code == "" {
		return inbox.Mailbox{}, fmt.Errorf("%w: no code", ErrBadCallback)
	}
	if err := c.unspent(ctx, st); err != nil {
		return inbox.Mailbox{}, err
	}
	hctx := context.WithValue(ctx, oauth2.HTTPClient, c.client())
	cfg := c.config()
	tok, err := cfg.Exchange(hctx, code, oauth2.VerifierOption(pkceVerifier(c.StateKey, st.Nonce)))
	if err != nil {
		return inbox.Mailbox{}, fmt.Errorf("%w for %s: %v", ErrExchange, st.Email, redact(err))
	}
	if tok.RefreshToken == "" {
		return inbox.Mailbox{}, fmt.Errorf("%w for %s: no refresh token in the answer", ErrExchange, st.Email)
	}
	if missing := missingScopes(tok, cfg.Scopes); len(missing) > 0 {
		return inbox.Mailbox{}, fmt.Errorf("%w by %s: %s", ErrScopeNotGranted, st.Email, strings.Join(missing, " "))
	}
	account, err := c.profile(hctx, tok)
	if err != nil {
		return inbox.Mailbox{}, fmt.Errorf("%w for %s: %v", ErrProfile, st.Email, err)
	}
	if account != st.Email {
		return inbox.Mailbox{}, fmt.Errorf("%w: %s consented for %s", ErrWrongAccount, account, st.Email)
	}
	sealed, err := c.Keyring.Seal([]byte(st.Email), []byte(tok.RefreshToken))
	if err != nil {
		return inbox.Mailbox{}, err
	}
	m, err := c.store(ctx, st, sealed)
	if err != nil {
		return inbox.Mailbox{}, err
	}
	if c.Link != nil {
		if err := c.Link(ctx, m); err != nil {
			return m, fmt.Errorf("%w: %s: %v", ErrNotStarted, m.Address, err)
		}
	}
	return m, nil
}

// unspent returns an error wrapping ErrStateUsed if the mailbox st names
// was connected with st or a later state. It reads the link outside the
// write: store checks again.
func (c *Connector) unspent(ctx context.Context, st State) error {
	m, err := c.Store.GetMailbox(ctx, st.Email)
	switch {
	case errors.Is(err, inbox.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("read mailbox %s: %w", st.Email, err)
	}
	return c.refuseSpent(ctx, m, st, "before the code exchange")
}

// refuseSpent returns an error wrapping ErrStateUsed, and logs it, if st
// can no longer connect m.
func (c *Connector) refuseSpent(ctx context.Context, m inbox.Mailbox, st State, when string) error {
	if !m.ConsentStateSpent(st.Expires) {
		return nil
	}
	c.log().WarnContext(ctx, "mailbox connect refused: the consent state was used already",
		"mailbox", st.Email, "tenant", st.Tenant, "checked", when,
		"state_expires", st.Expires, "spent_expires", m.ConsentStateExpires)
	return fmt.Errorf("%w: %s was connected with this state or a later one", ErrStateUsed, st.Email)
}

// store creates or updates the link of a connected mailbox, spending st
// in the same write: it fails with ErrStateUsed if st or a later state
// was spent on the link meanwhile.
func (c *Connector) store(ctx context.Context, st State, sealed []byte) (inbox.Mailbox, error) {
	update := func(m *inbox.Mailbox) error {
		if err := c.refuseSpent(ctx, *m, st, "at the store write"); err != nil {
			return err
		}
		if m.TenantID != st.Tenant {
			return fmt.Errorf("%w: %s is linked to %s, not %s", ErrLinkedElsewhere, m.Address, m.TenantID, st.Tenant)
		}
		m.Access = inbox.AccessOAuth
		m.SealedToken = sealed
		m.ConnectedBy = st.Email
		m.ConsentStateExpires = st.Expires
		// The cause of a "consent revoked" is gone; the next sync says
		// whether anything else is wrong.
		m.LastError, m.Problem, m.ErrorCount = "", "", 0
		return nil
	}
	m, err := c.Store.UpdateMailbox(ctx, st.Email, update)
	if !errors.Is(err, inbox.ErrNotFound) {
		if err != nil {
			return inbox.Mailbox{}, fmt.Errorf("store connected mailbox %s: %w", st.Email, err)
		}
		return m, nil
	}
	m = inbox.Mailbox{
		Address:     st.Email,
		TenantID:    st.Tenant,
		Kind:        inbox.MailboxMember,
		Access:      inbox.AccessOAuth,
		SealedToken: sealed,
		ConnectedBy: st.Email,
		CreatedAt:   c.now(),

		ConsentStateExpires: st.Expires,
	}
	err = c.Store.CreateMailbox(ctx, m)
	if errors.Is(err, inbox.ErrAlreadyExists) {
		// Linked meanwhile, perhaps by another callback with st.
		m, err = c.Store.UpdateMailbox(ctx, st.Email, update)
	}
	if err != nil {
		return inbox.Mailbox{}, fmt.Errorf("store connected mailbox %s: %w", st.Email, err)
	}
	return m, nil
}

// profile returns the address of the mailbox tok opens.
func (c *Connector) profile(ctx context.Context, tok *oauth2.Token) (string, error) {
	base := c.client()
	hc := &http.Client{
		Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok), Base: base.Transport},
		Timeout:   base.Timeout,
	}
	opts := []option.ClientOption{option.WithHTTPClient(hc)}
	if c.GmailEndpoint != "" {
		opts = append(opts, option.WithEndpoint(c.GmailEndpoint))
	}
	svc, err := gmail.NewService(ctx, opts...)
	if err != nil {
		return "", err
	}
	p, err := svc.Users.GetProfile("me").Context(ctx).Do()
	if err != nil {
		return "", fmt.Errorf("users.getProfile: %w", err)
	}
	return inbox.NormalizeEmail(p.EmailAddress), nil
}

// missingScopes returns the wanted scopes the token response says were not
// granted. A response without "scope" is taken as granting what was asked.
func missingScopes(tok *oauth2.Token, want []string) []string {
	s, _ := tok.Extra("scope").(string)
	if s == "" {
		return nil
	}
	granted := strings.Fields(s)
	var missing []string
	for _, w := range want {
		if !slices.Contains(granted, w) {
			missing = append(missing, w)
		}
	}
	return missing
}

// ErrNotRevoked: Disconnect unlinked the mailbox, but Google did not
// confirm the revocation of its refresh token (which Postfach no longer
// stores); its owner can remove Postfach's access in their Google Account
// (Security → Third-party access).
var ErrNotRevoked = errors.New("mailbox unlinked, but its consent was not revoked")

// Disconnect ends a mailbox's link: Unlink (which stops the watch, while
// the token still works, and deletes the link with its sealed token), then,
// for a connected mailbox, revokes the refresh token at Google. A token
// the revocation endpoint calls invalid (already revoked) counts as
// revoked; one that no longer opens (its key is gone) cannot be revoked
// and is dropped with a warning. Returns an error wrapping
// inbox.ErrNotFound for a mailbox that is not linked, the Unlink error
// (nothing is revoked then), or one wrapping ErrNotRevoked. Who may
// disconnect is the caller's decision.
func (c *Connector) Disconnect(ctx context.Context, address string) error {
	if c.Store == nil || c.Unlink == nil || c.Keyring == nil {
		return fmt.Errorf("%w: disconnect needs Store, Keyring and Unlink", errConfig)
	}
	address = inbox.NormalizeEmail(address)
	m, err := c.Store.GetMailbox(ctx, address)
	if err != nil {
		return fmt.Errorf("disconnect %s: %w", address, err)
	}
	var refresh []byte
	if m.Access == inbox.AccessOAuth && len(m.SealedToken) > 0 {
		if refresh, err = c.Keyring.Open([]byte(m.Address), m.SealedToken); err != nil {
			c.log().WarnContext(ctx, "disconnect: the sealed token does not open and cannot be revoked", "mailbox", address, "error", err)
		}
	}
	if err := c.Unlink(ctx, address); err != nil {
		return fmt.Errorf("disconnect %s: %w", address, err)
	}
	if refresh != nil {
		if err := c.revoke(context.WithoutCancel(ctx), string(refresh)); err != nil {
			return fmt.Errorf("disconnect %s: %w: %v", address, ErrNotRevoked, err)
		}
	}
	c.log().InfoContext(ctx, "mailbox disconnected", "mailbox", address, "access", string(m.Access), "revoked", refresh != nil)
	return nil
}

// revoke revokes a token at RevokeURL. A token the endpoint calls invalid
// (already revoked or expired) counts as revoked.
func (c *Connector) revoke(ctx context.Context, token string) error {
	u := c.RevokeURL
	if u == "" {
		u = GoogleRevokeURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client().Do(req)
	if err != nil {
		return fmt.Errorf("revoke: %v", redact(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	if resp.StatusCode == http.StatusBadRequest && e.Error == "invalid_token" {
		return nil
	}
	return fmt.Errorf("revoke: status %d %s", resp.StatusCode, e.Error)
}

// redact drops the request URL from a transport error (a GET's query could
// carry a token; the token and revocation endpoints get theirs in the body,
// but the rule is simpler than the exceptions).
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, hostOf(ue.URL), ue.Err)
	}
	return err
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Scheme + "://" + u.Host + u.Path
	}
	return "endpoint"
}
