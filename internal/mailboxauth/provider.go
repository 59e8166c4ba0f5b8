package mailboxauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jwt"

	"github.com/postfach/postfach/internal/inbox"
)

// Scopes are the OAuth scopes the background sync needs, and all it asks
// for: gmail.modify. gmail.metadata with gmail.labels is not enough:
// threads.modify and messages.batchModify (applying Postfach's labels)
// accept only gmail.modify or https://mail.google.com/, and messages.list's
// q (the full resync's "after:… -in:spam") is "not available with
// gmail.metadata scope". gmail.modify also covers history.list,
// messages.get, labels.list/create, watch, stop and getProfile.
var Scopes = []string{"https://www.googleapis.com/auth/gmail.modify"}

// Access errors: a mailbox cannot be reached without a human fixing
// something. Each names its inbox.MailboxProblem (inbox.ProblemOf reads
// it from any error wrapping it), which the sync records on the mailbox and
// the admin's homepage turns into the fix.
var (
	// ErrConsentRevoked: the refresh token of a connected mailbox was
	// revoked or expired (invalid_grant): its owner must connect it again.
	ErrConsentRevoked error = &accessKind{"consent revoked", inbox.ProblemConsentRevoked}
	// ErrDelegationMissing: Google refused to let the service account act
	// as the mailbox (unauthorized_client): the tenant's admin has not
	// granted domain-wide delegation with Postfach's scopes.
	ErrDelegationMissing error = &accessKind{"delegation missing", inbox.ProblemDelegationMissing}
	// ErrDelegationRefused: Google refused the delegated token for another
	// reason (invalid_grant: unknown user, suspended account, bad key).
	ErrDelegationRefused error = &accessKind{"delegation refused", inbox.ProblemDelegationRefused}
	// ErrNoAccess: the mailbox has no way in: no access mode, or one this
	// server is not configured for.
	ErrNoAccess error = &accessKind{"no access", inbox.ProblemNoAccess}
)

// accessKind is the type of the access errors: a text and the mailbox
// problem it is.
type accessKind struct {
	text    string
	problem inbox.MailboxProblem
}

func (k *accessKind) Error() string { return k.text }

// MailboxProblem gives inbox.ProblemOf the kind.
func (k *accessKind) MailboxProblem() inbox.MailboxProblem { return k.problem }

// AccessError is a token failure that needs a human. Its text is short and
// names the fix; errors.Is matches its Kind (ErrConsentRevoked,
// ErrDelegationMissing, ErrDelegationRefused) and its cause, typically an
// *oauth2.RetrieveError.
type AccessError struct {
	Mailbox string
	Kind    error
	Detail  string // the token endpoint's error_description
	Err     error
}

func (e *AccessError) Error() string {
	var fix string
	switch e.Kind {
	case ErrConsentRevoked:
		fix = "its owner must connect it again"
	case ErrDelegationMissing:
		fix = "in the Admin console, grant Postfach's service account domain-wide delegation for " + strings.Join(Scopes, ",")
	case ErrDelegationRefused:
		fix = "check that the mailbox exists and the service account key is valid"
	}
	msg := e.Kind.Error() + " for " + e.Mailbox + ": " + fix
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Unwrap gives errors.Is and errors.As both the kind and the cause.
func (e *AccessError) Unwrap() []error { return []error{e.Kind, e.Err} }

// MailboxReader is the part of inbox.Store the Provider uses: it reads the
// mailbox and, after a key rotation or a refresh token rotation, writes
// its new sealed token back.
type MailboxReader interface {
	GetMailbox(ctx context.Context, address string) (inbox.Mailbox, error)
	UpdateMailbox(ctx context.Context, address string, fn func(*inbox.Mailbox) error) (inbox.Mailbox, error)
}

// TokenSources gives token sources for mailboxes; gmailclient.TokenSources
// is the same interface.
type TokenSources interface {
	TokenSource(ctx context.Context, mailbox string) (oauth2.TokenSource, error)
}

// Delegation configures domain-wide delegation: a service account key that
// impersonates mailboxes. Keyless impersonation (IAM signJwt) is not
// supported yet.
type Delegation struct {
	// KeyJSON is the service account's JSON key file.
	KeyJSON []byte
	// TokenURL overrides the key file's token_uri (tests).
	TokenURL string
	// Scopes default to Scopes.
	Scopes []string
}

// ProviderOptions configure a Provider.
type ProviderOptions struct {
	Store MailboxReader
	// Keyring opens the sealed refresh tokens of AccessOAuth mailboxes.
	Keyring *Keyring
	// OAuth is the OAuth client the owners consented to (ClientID,
	// ClientSecret, Endpoint.TokenURL); it refreshes their tokens.
	OAuth *oauth2.Config
	// Delegation, if set, serves AccessDelegation mailboxes.
	Delegation *Delegation
	// Dev, if set, serves AccessDev mailboxes (the development trust
	// root).
	Dev TokenSources
	// HTTPClient calls the token endpoints. Defaults to a client with a
	// 30-second timeout.
	HTTPClient *http.Client
	// MaxTokenAge bounds how long a mailbox's token source is reused;
	// after it, TokenSource fetches a new access token. Google ends the
	// access tokens of a revoked grant at once, but their holder learns of
	// it only at the next refresh: this bounds how long a revoked consent
	// shows as failing Gmail calls before it shows as "consent revoked".
	// Default 10 minutes.
	MaxTokenAge time.Duration
	// Now defaults to time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Provider gives the sync access to mailboxes without a user present, by
// each mailbox's Access: domain-wide delegation, the owner's sealed
// offline consent, or the development trust root. It implements
// gmailclient.TokenSources and is safe for concurrent use.
//
// Token sources are cached per mailbox for up to MaxTokenAge, so access
// tokens are reused across syncs. TokenSource fetches a token before it returns, so a mailbox
// whose access is broken fails there, with an *AccessError, rather than in
// every Gmail call. Along the way it keeps stored tokens current: a token
// sealed under an older key is resealed under the primary one, and a
// refresh token the token endpoint replaced is sealed and stored.
type Provider struct {
	store   MailboxReader
	keyring *Keyring
	oauth   *oauth2.Config
	jwt     *jwt.Config
	dev     TokenSources
	ctx     context.Context // carries the HTTP client for token requests
	maxAge  time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu    sync.Mutex
	cache map[string]*cached
}

type cached struct {
	access  inbox.MailboxAccess
	sum     [32]byte // of the sealed token the source was made from
	ts      oauth2.TokenSource
	created time.Time
}

var errConfig = errors.New("mailboxauth configuration")

// NewProvider builds a Provider. It fails if the delegation key does not
// parse, or if OAuth is set without a Keyring.
func NewProvider(o ProviderOptions) (*Provider, error) {
	if o.Store == nil {
		return nil, fmt.Errorf("%w: Store is required", errConfig)
	}
	if o.OAuth != nil && o.Keyring == nil {
		return nil, fmt.Errorf("%w: OAuth needs a Keyring", errConfig)
	}
	p := &Provider{
		store: o.Store, keyring: o.Keyring, oauth: o.OAuth, dev: o.Dev,
		maxAge: o.MaxTokenAge, now: o.Now, log: o.Logger, cache: map[string]*cached{},
	}
	if p.maxAge <= 0 {
		p.maxAge = 10 * time.Minute
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	client := o.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	p.ctx = context.WithValue(context.Background(), oauth2.HTTPClient, client)
	if d := o.Delegation; d != nil {
		scopes := d.Scopes
		if len(scopes) == 0 {
			scopes = Scopes
		}
		cfg, err := google.JWTConfigFromJSON(d.KeyJSON, scopes...)
		if err != nil {
			return nil, fmt.Errorf("%w: delegation key: %v", errConfig, err)
		}
		if d.TokenURL != "" {
			cfg.TokenURL = d.TokenURL
		}
		p.jwt = cfg
	}
	return p, nil
}

// TokenSource implements gmailclient.TokenSources. It returns an error
// wrapping inbox.ErrNotFound for a mailbox that is not linked, ErrNoAccess
// for one this server cannot reach, and an *AccessError when Google
// refuses the mailbox's credentials.
func (p *Provider) TokenSource(ctx context.Context, address string) (oauth2.TokenSource, error) {
	address = inbox.NormalizeEmail(address)
	m, err := p.store.GetMailbox(ctx, address)
	if err != nil {
		return nil, fmt.Errorf("mailbox %s: %w", address, err)
	}
	var ts oauth2.TokenSource
	switch m.Access {
	case inbox.AccessDev:
		if p.dev == nil {
			return nil, fmt.Errorf("%w to %s: this server has no development token source", ErrNoAccess, address)
		}
		return p.dev.TokenSource(ctx, address)
	case inbox.AccessDelegation:
		if p.jwt == nil {
			return nil, fmt.Errorf("%w to %s: this server has no service account key to impersonate it", ErrNoAccess, address)
		}
		ts, _ = p.source(m, nil, func() (oauth2.TokenSource, error) { return p.delegated(m), nil })
	case inbox.AccessOAuth:
		if p.oauth == nil {
			return nil, fmt.Errorf("%w to %s: this server has no OAuth client for connected mailboxes", ErrNoAccess, address)
		}
		if len(m.SealedToken) == 0 {
			return nil, fmt.Errorf("%w to %s: it was never connected; its owner must connect it", ErrNoAccess, address)
		}
		if ts, err = p.connected(ctx, m); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w to %s: neither an admin's grant nor its owner's consent was set up", ErrNoAccess, address)
	}
	if _, err := ts.Token(); err != nil {
		return nil, err
	}
	return ts, nil
}

// source returns the cached token source of a mailbox if it was made for
// the same access and sealed token less than maxAge ago, else a new one
// from build, cached unless build fails.
func (p *Provider) source(m inbox.Mailbox, sealed []byte, build func() (oauth2.TokenSource, error)) (oauth2.TokenSource, error) {
	sum := sha256.Sum256(sealed)
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.cache[m.Address]; ok && c.access == m.Access && c.sum == sum && now.Sub(c.created) < p.maxAge {
		return c.ts, nil
	}
	ts, err := build()
	if err != nil {
		delete(p.cache, m.Address)
		return nil, err
	}
	p.cache[m.Address] = &cached{access: m.Access, sum: sum, ts: ts, created: now}
	return ts, nil
}

// delegated is the domain-wide delegation source of a mailbox.
func (p *Provider) delegated(m inbox.Mailbox) oauth2.TokenSource {
	cfg := *p.jwt
	cfg.Subject = m.Address
	return &mappedSource{address: m.Address, access: m.Access, src: cfg.TokenSource(p.ctx)}
}

// connected opens a connected mailbox's refresh token and returns its
// source, resealing the token first if an older key sealed it.
func (p *Provider) connected(ctx context.Context, m inbox.Mailbox) (oauth2.TokenSource, error) {
	aad := []byte(m.Address)
	sealed := m.SealedToken
	if id, err := SealedKeyID(sealed); err == nil && id != p.keyring.Primary() {
		resealed, err := p.keyring.Reseal(aad, sealed)
		if err != nil {
			return nil, fmt.Errorf("mailbox %s: refresh token: %w", m.Address, err)
		}
		if err := p.replaceSealed(ctx, m.Address, sealed, resealed); err != nil {
			p.log.WarnContext(ctx, "reseal under the primary key failed", "mailbox", m.Address, "error", err)
		} else {
			p.log.InfoContext(ctx, "refresh token resealed under the primary key", "mailbox", m.Address, "from", id, "to", p.keyring.Primary())
			sealed = resealed
		}
	}
	return p.source(m, sealed, func() (oauth2.TokenSource, error) {
		rt, err := p.keyring.Open(aad, sealed)
		if err != nil {
			return nil, fmt.Errorf("mailbox %s: refresh token: %w", m.Address, err)
		}
		return &refreshSource{
			p: p, address: m.Address, sealed: sealed, refresh: string(rt),
			src: p.oauth.TokenSource(p.ctx, &oauth2.Token{RefreshToken: string(rt)}),
		}, nil
	})
}

// errChanged aborts replaceSealed's update: someone stored another token.
var errChanged = errors.New("sealed token changed meanwhile")

// replaceSealed stores next as the mailbox's sealed token if prev is still
// the stored one.
func (p *Provider) replaceSealed(ctx context.Context, address string, prev, next []byte) error {
	_, err := p.store.UpdateMailbox(context.WithoutCancel(ctx), address, func(m *inbox.Mailbox) error {
		if !bytes.Equal(m.SealedToken, prev) {
			return errChanged
		}
		m.SealedToken = next
		return nil
	})
	return err
}

// refreshSource refreshes a connected mailbox's access token and, if the
// token endpoint hands out a new refresh token, seals and stores it.
type refreshSource struct {
	p       *Provider
	address string
	src     oauth2.TokenSource

	mu      sync.Mutex
	sealed  []byte
	refresh string
}

func (s *refreshSource) Token() (*oauth2.Token, error) {
	tok, err := s.src.Token()
	if err != nil {
		return nil, mapTokenError(s.address, inbox.AccessOAuth, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok.RefreshToken != "" && tok.RefreshToken != s.refresh {
		s.rotate(tok.RefreshToken)
	}
	return tok, nil
}

// rotate stores a refresh token the token endpoint replaced; s.mu is held.
// A failure is logged: the old token may still work, and the next refresh
// tries again.
func (s *refreshSource) rotate(rt string) {
	ctx := s.p.ctx
	next, err := s.p.keyring.Seal([]byte(s.address), []byte(rt))
	if err == nil {
		err = s.p.replaceSealed(ctx, s.address, s.sealed, next)
	}
	if err != nil {
		s.p.log.Warn("storing the rotated refresh token failed", "mailbox", s.address, "error", err)
		return
	}
	s.sealed, s.refresh = next, rt
	sum := sha256.Sum256(next)
	s.p.mu.Lock()
	if c, ok := s.p.cache[s.address]; ok && c.ts == s {
		c.sum = sum
	}
	s.p.mu.Unlock()
	s.p.log.Info("rotated refresh token stored", "mailbox", s.address)
}

// mappedSource turns token endpoint refusals into AccessErrors.
type mappedSource struct {
	address string
	access  inbox.MailboxAccess
	src     oauth2.TokenSource
}

func (s *mappedSource) Token() (*oauth2.Token, error) {
	tok, err := s.src.Token()
	if err != nil {
		return nil, mapTokenError(s.address, s.access, err)
	}
	return tok, nil
}

// mapTokenError classifies a token endpoint error by RFC 6749's error code.
// Codes that do not need a human (server errors, the network) come back as
// they are, with the mailbox named.
func mapTokenError(address string, access inbox.MailboxAccess, err error) error {
	code, desc := oauthError(err)
	var kind error
	switch {
	case access == inbox.AccessOAuth && code == "invalid_grant":
		kind = ErrConsentRevoked
	case access == inbox.AccessDelegation && (code == "unauthorized_client" || code == "access_denied"):
		kind = ErrDelegationMissing
	case access == inbox.AccessDelegation && code == "invalid_grant":
		kind = ErrDelegationRefused
	default:
		return fmt.Errorf("token for %s: %w", address, err)
	}
	return &AccessError{Mailbox: address, Kind: kind, Detail: desc, Err: err}
}

// oauthError returns the error and error_description of a token endpoint's
// answer. The JWT flow does not parse them into the RetrieveError, so the
// body is read here.
func oauthError(err error) (code, desc string) {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return "", ""
	}
	if re.ErrorCode != "" {
		return re.ErrorCode, re.ErrorDescription
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(re.Body, &body) == nil {
		return body.Error, body.Description
	}
	return "", ""
}

// Forget drops the cached token source of a mailbox, so that the next
// TokenSource asks Google afresh. The Gmail client calls it when Gmail
// refuses a token (401): a revoked consent then shows as such at once
// instead of after MaxTokenAge.
func (p *Provider) Forget(address string) {
	p.mu.Lock()
	delete(p.cache, inbox.NormalizeEmail(address))
	p.mu.Unlock()
}
