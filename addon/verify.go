package addon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/labstack/echo/v4"
	"google.golang.org/api/idtoken"
	"google.golang.org/api/option"
)

// DefaultMaxBodyBytes is the request body limit used when
// VerifierConfig.MaxBodyBytes is zero.
const DefaultMaxBodyBytes int64 = 1 << 20

// maxTokenBytes bounds the size of an ID token we are willing to parse.
// Google ID tokens are around 1 KiB.
const maxTokenBytes = 16 << 10

// googleIssuers are the accepted "iss" values of Google ID tokens.
var googleIssuers = map[string]bool{
	"https://accounts.google.com": true,
	"accounts.google.com":         true,
}

// ErrInvalidToken is wrapped by every error that rejects an ID token
// (missing, malformed, expired, wrong signer, audience, issuer or email).
var ErrInvalidToken = errors.New("invalid id token")

// User is the verified identity of the Google user behind a request, taken
// from the userIdToken.
type User struct {
	// Subject is the stable Google account ID ("sub"); use it as the key.
	Subject string `json:"subject"`
	// Email is the verified email address, lower-cased.
	Email string `json:"email"`
	// Domain is the Google Workspace primary domain ("hd"); "" for consumer
	// accounts.
	Domain string `json:"domain,omitempty"`
}

// VerifierConfig configures a Verifier. ServiceAccountEmail, OAuthClientID
// and PublicBaseURL are required; they come from
// `gcloud workspace-add-ons get-authorization` and the deployment.
type VerifierConfig struct {
	// ServiceAccountEmail is the add-on system service account whose ID
	// token signs every request, e.g.
	// service-123@gcp-sa-gsuiteaddons.iam.gserviceaccount.com.
	ServiceAccountEmail string
	// OAuthClientID is the audience of the userIdToken.
	OAuthClientID string
	// PublicBaseURL is the externally visible origin (optionally with a path
	// prefix a proxy strips), e.g. https://postfach.example.com. The
	// expected audience of the system token is PublicBaseURL followed by the
	// request URI (path and query) as seen by the server. Host and
	// X-Forwarded-* headers are never consulted.
	PublicBaseURL string
	// HTTPClient, if set, is used to fetch Google's signing keys
	// (GoogleCertsURL). Tests inject a fake trust root here (see package
	// addontest); CertsClient points it at another address.
	HTTPClient *http.Client
	// MaxBodyBytes limits the request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives a WARN record for every rejected request; nil
	// discards.
	Logger *slog.Logger
	// Explain puts the reason of a refusal into the 401 body (e.g. the
	// audience a token has and the one expected). For development only:
	// in production a refusal says no more than "unauthenticated".
	Explain bool
	// TokenCacheSize bounds the number of verified ID tokens remembered
	// until they expire (see IDTokens); 0 means DefaultTokenCacheSize, a
	// negative value turns the cache off.
	TokenCacheSize int
	// Now is the clock the expiry of remembered tokens is checked against;
	// nil means time.Now. For tests.
	Now func() time.Time
}

// Verifier authenticates add-on requests: the system ID token proves the
// request comes from Google for this project and this URL, the user ID token
// identifies the user. A Verifier is safe for concurrent use.
type Verifier struct {
	saEmail  string
	clientID string
	baseURL  string
	maxBody  int64
	logger   *slog.Logger
	tokens   *IDTokens
	explain  bool
}

// NewVerifier validates cfg and returns a Verifier.
func NewVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	if cfg.ServiceAccountEmail == "" || !strings.Contains(cfg.ServiceAccountEmail, "@") {
		return nil, errors.New("new verifier: ServiceAccountEmail must be an email address")
	}
	if cfg.OAuthClientID == "" {
		return nil, errors.New("new verifier: OAuthClientID is required")
	}
	base, err := normalizeBaseURL(cfg.PublicBaseURL)
	if err != nil {
		return nil, fmt.Errorf("new verifier: %w", err)
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, errors.New("new verifier: MaxBodyBytes must not be negative")
	}
	maxBody := cfg.MaxBodyBytes
	if maxBody == 0 {
		maxBody = DefaultMaxBodyBytes
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cacheSize := cfg.TokenCacheSize
	if cacheSize == 0 {
		cacheSize = DefaultTokenCacheSize
	}
	tokens, err := NewIDTokens(ctx, cfg.HTTPClient, WithTokenCacheSize(cacheSize), WithClock(cfg.Now))
	if err != nil {
		return nil, fmt.Errorf("new verifier: %w", err)
	}
	return &Verifier{
		saEmail:  cfg.ServiceAccountEmail,
		clientID: cfg.OAuthClientID,
		baseURL:  base,
		maxBody:  maxBody,
		logger:   logger,
		tokens:   tokens,
		explain:  cfg.Explain,
	}, nil
}

// normalizeBaseURL checks that s is an absolute http(s) URL without query,
// fragment or user info and returns it without a trailing slash.
func normalizeBaseURL(s string) (string, error) {
	if s == "" {
		return "", errors.New("PublicBaseURL is required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("PublicBaseURL: %w", err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("PublicBaseURL %q: scheme must be https or http", s)
	case u.Host == "":
		return "", fmt.Errorf("PublicBaseURL %q: host is required", s)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("PublicBaseURL %q: must not contain user info, query or fragment", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// ExpectedAudience returns the audience the system ID token must carry for
// a request to requestURI (path and query, as url.URL.RequestURI returns).
func (v *Verifier) ExpectedAudience(requestURI string) string {
	return v.baseURL + requestURI
}

// VerifySystemIDToken checks that token is a valid Google ID token for the
// add-on's service account with the exact audience. Errors wrap
// ErrInvalidToken, except failures to fetch Google's keys.
func (v *Verifier) VerifySystemIDToken(ctx context.Context, token, audience string) error {
	if err := v.tokens.VerifyServiceAccount(ctx, token, audience, v.saEmail); err != nil {
		return fmt.Errorf("verify system id token: %w", err)
	}
	return nil
}

// VerifyUserIDToken checks the user's ID token (audience OAuthClientID) and
// returns the identity it asserts. Errors wrap ErrInvalidToken, except
// failures to fetch Google's keys.
func (v *Verifier) VerifyUserIDToken(ctx context.Context, token string) (User, error) {
	p, err := v.tokens.Verify(ctx, token, v.clientID)
	if err != nil {
		return User{}, fmt.Errorf("verify user id token: %w", err)
	}
	email, _ := p.Claims["email"].(string)
	hd, _ := p.Claims["hd"].(string)
	if p.Subject == "" || email == "" {
		return User{}, fmt.Errorf("verify user id token: %w: sub or email claim missing", ErrInvalidToken)
	}
	return User{Subject: p.Subject, Email: strings.ToLower(email), Domain: hd}, nil
}

// isKeyFetchError reports whether err from idtoken is a transport failure
// while fetching the signing keys (as opposed to a bad token).
func isKeyFetchError(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue) || strings.Contains(err.Error(), "unable to retrieve cert")
}

// emailVerified accepts the claim as a JSON bool or the string "true".
func emailVerified(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// redactAudience renders audiences for logs without query strings, which
// may carry secrets.
func redactAudience(aud jwt.Audience) string {
	out := make([]string, len(aud))
	for i, a := range aud {
		if j := strings.IndexAny(a, "?#"); j >= 0 {
			a = a[:j] + "?…"
		}
		if len(a) > 200 {
			a = a[:200] + "…"
		}
		out[i] = a
	}
	return strings.Join(out, ",")
}

// IDTokens verifies Google-signed OIDC ID tokens: the add-on's system and
// user tokens, and the tokens Google services attach on behalf of a service
// account (Pub/Sub authenticated push, Cloud Scheduler OIDC). It is safe for
// concurrent use and caches Google's keys.
//
// It also remembers tokens that passed every check of Verify, keyed by the
// SHA-256 of token and audience, until the token's exp and within a bounded
// number of entries (DefaultTokenCacheSize unless WithTokenCacheSize says
// otherwise): the add-on host sends the same two tokens with every request
// of a card session, and checking an RSA signature twice per request is
// most of the cost of authenticating one. A refused token is never
// remembered, and a token remembered for one audience is still verified
// afresh, and refused, for another.
type IDTokens struct {
	validator *idtoken.Validator
	cache     *tokenCache
	now       func() time.Time
}

// IDTokensOption configures NewIDTokens.
type IDTokensOption func(*idTokensOptions)

type idTokensOptions struct {
	cacheSize int
	now       func() time.Time
}

// WithTokenCacheSize bounds the number of verified tokens remembered; n ≤ 0
// turns the cache off, so every call checks the signature.
func WithTokenCacheSize(n int) IDTokensOption {
	return func(o *idTokensOptions) { o.cacheSize = n }
}

// WithClock sets the clock that the expiry of remembered tokens is checked
// against (default time.Now). Signatures are still checked by package
// idtoken against the real time.
func WithClock(now func() time.Time) IDTokensOption {
	return func(o *idTokensOptions) {
		if now != nil {
			o.now = now
		}
	}
}

// NewIDTokens builds an IDTokens. A nil httpClient fetches Google's real
// keys; tests and development pass the client of their own trust root (see
// addontest.TrustRoot.HTTPClient).
func NewIDTokens(ctx context.Context, httpClient *http.Client, opts ...IDTokensOption) (*IDTokens, error) {
	o := idTokensOptions{cacheSize: DefaultTokenCacheSize, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	var clientOpts []idtoken.ClientOption
	if httpClient != nil {
		clientOpts = append(clientOpts, option.WithHTTPClient(httpClient))
	}
	validator, err := idtoken.NewValidator(ctx, clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("id token validator: %w", err)
	}
	v := &IDTokens{validator: validator, now: o.now}
	if o.cacheSize > 0 {
		v.cache = newTokenCache(o.cacheSize)
	}
	return v, nil
}

// VerifyServiceAccount checks that token is a valid Google ID token with
// exactly this audience, issued for the service account email (verified).
// Errors wrap ErrInvalidToken, except failures to fetch Google's keys.
func (v *IDTokens) VerifyServiceAccount(ctx context.Context, token, audience, email string) error {
	p, err := v.Verify(ctx, token, audience)
	if err != nil {
		return err
	}
	got, _ := p.Claims["email"].(string)
	if !strings.EqualFold(got, email) {
		return fmt.Errorf("%w: email %q is not the expected service account", ErrInvalidToken, got)
	}
	return nil
}

// Verify runs the checks every Google ID token needs: size, RS256 JWT
// structure, exact audience, then signature and expiry (idtoken), then
// issuer and email_verified. It returns the verified payload, which the
// caller may modify; errors wrap ErrInvalidToken, except failures to fetch
// Google's keys.
//
// A token that passed all of them for this audience before and has not
// expired on the IDTokens' clock is accepted from the cache, without
// parsing or checking its signature again; one that has expired is
// refused.
func (v *IDTokens) Verify(ctx context.Context, token, audience string) (*idtoken.Payload, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: missing", ErrInvalidToken)
	}
	if len(token) > maxTokenBytes {
		return nil, fmt.Errorf("%w: %d bytes is too long", ErrInvalidToken, len(token))
	}
	key := newTokenKey(token, audience)
	now := v.now()
	if p, expired := v.cache.get(key, now); p != nil {
		return p, nil
	} else if expired {
		return nil, fmt.Errorf("%w: expired", ErrInvalidToken)
	}
	p, err := v.verify(ctx, token, audience)
	if err != nil {
		return nil, err
	}
	// idtoken checked exp against the real time; the cache checks it
	// against v.now, so the two must agree here too.
	exp := time.Unix(p.Expires, 0)
	if !now.Before(exp) {
		return nil, fmt.Errorf("%w: expired at %s", ErrInvalidToken, exp.UTC().Format(time.RFC3339))
	}
	// Nor is a token valid before it was issued (iat) or before its nbf,
	// should it carry one: such a token was minted by a clock that is
	// wrong, or for later. Allow the skew of two honest clocks.
	notBefore := time.Unix(p.IssuedAt, 0)
	if nbf, ok := p.Claims["nbf"].(float64); ok && time.Unix(int64(nbf), 0).After(notBefore) {
		notBefore = time.Unix(int64(nbf), 0)
	}
	if notBefore.After(now.Add(maxClockSkew)) {
		return nil, fmt.Errorf("%w: not valid before %s", ErrInvalidToken, notBefore.UTC().Format(time.RFC3339))
	}
	v.cache.put(key, p, exp)
	return p, nil
}

// maxClockSkew is how far in the future a token's iat or nbf may lie.
const maxClockSkew = 5 * time.Minute

// verify is Verify without the cache.
func (v *IDTokens) verify(ctx context.Context, token, audience string) (*idtoken.Payload, error) {
	// Parse with go-jose first: it restricts the algorithm to RS256 (what
	// Google uses for ID tokens; idtoken would also try ES256 against the
	// IAP keys) and lets us report audience mismatches usefully. Nothing
	// from these unverified claims is trusted.
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	var unverified jwt.Claims
	if err := parsed.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if len(unverified.Audience) != 1 || unverified.Audience[0] != audience {
		return nil, fmt.Errorf("%w: audience mismatch: got %q, want %q", ErrInvalidToken,
			redactAudience(unverified.Audience), redactAudience(jwt.Audience{audience}))
	}
	p, err := v.validator.Validate(ctx, token, audience)
	if err != nil {
		if isKeyFetchError(err) {
			return nil, fmt.Errorf("fetch google signing keys: %w", err)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if !googleIssuers[p.Issuer] {
		return nil, fmt.Errorf("%w: issuer %q is not Google", ErrInvalidToken, p.Issuer)
	}
	if !emailVerified(p.Claims["email_verified"]) {
		return nil, fmt.Errorf("%w: email not verified", ErrInvalidToken)
	}
	return p, nil
}

// contextKey is the type of the request-context keys set by the middleware.
type contextKey int

const (
	eventKey contextKey = iota
	userKey
)

// Middleware returns echo middleware that authenticates add-on requests:
//
//  1. reads the body up to MaxBodyBytes (larger: 413);
//  2. verifies the system ID token from "Authorization: Bearer" against
//     PublicBaseURL + request URI (invalid: 401); only when the header is
//     absent, authorizationEventObject.systemIdToken is used instead;
//  3. parses the event (malformed: 400);
//  4. verifies authorizationEventObject.userIdToken (missing/invalid: 401).
//
// On success the Event and User are available through EventFrom and
// UserFrom, and the request body can be read again by the handler.
// Failures are returned as *echo.HTTPError with a short message and logged
// at WARN with the reason, path and remote IP; tokens and bodies are never
// logged or echoed.
func (v *Verifier) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ev, user, herr := v.authenticate(c)
			if herr != nil {
				return herr
			}
			req := c.Request()
			ctx := context.WithValue(req.Context(), eventKey, ev)
			ctx = context.WithValue(ctx, userKey, user)
			c.SetRequest(req.WithContext(ctx))
			return next(c)
		}
	}
}

// Failure messages returned to the client.
const (
	msgTooLarge        = "request body too large"
	msgUnauthenticated = "unauthenticated"
	msgMalformed       = "malformed event"
	msgReadFailed      = "cannot read request body"
)

func (v *Verifier) authenticate(c echo.Context) (*Event, User, *echo.HTTPError) {
	req := c.Request()
	ctx := req.Context()

	body, err := v.readBody(req)
	if err != nil {
		if errors.Is(err, errBodyTooLarge) {
			return nil, User{}, v.reject(c, http.StatusRequestEntityTooLarge, msgTooLarge, "body_too_large", err)
		}
		return nil, User{}, v.reject(c, http.StatusBadRequest, msgReadFailed, "body_read_failed", err)
	}
	// Let handlers read the body again.
	req.Body = io.NopCloser(bytes.NewReader(body))

	audience := v.ExpectedAudience(req.URL.RequestURI())
	headerToken, hasHeader, err := bearerToken(req.Header)
	if err != nil {
		return nil, User{}, v.reject(c, http.StatusUnauthorized, msgUnauthenticated, "bad_authorization_header", err)
	}
	if hasHeader {
		if err := v.VerifySystemIDToken(ctx, headerToken, audience); err != nil {
			return nil, User{}, v.reject(c, http.StatusUnauthorized, msgUnauthenticated, tokenReason("system_token", err), err)
		}
	}

	ev, err := ParseEvent(body)
	if err != nil {
		if !hasHeader {
			// Without a header the credentials live in the body; an
			// unparsable body means the caller is unauthenticated.
			return nil, User{}, v.reject(c, http.StatusUnauthorized, msgUnauthenticated, "no_credentials", err)
		}
		return nil, User{}, v.reject(c, http.StatusBadRequest, msgMalformed, "malformed_event", err)
	}
	if !hasHeader {
		// Documented fallback for integrations that only send the body copy.
		if err := v.VerifySystemIDToken(ctx, ev.Auth.SystemIDToken, audience); err != nil {
			return nil, User{}, v.reject(c, http.StatusUnauthorized, msgUnauthenticated, tokenReason("system_token", err), err)
		}
	}

	user, err := v.VerifyUserIDToken(ctx, ev.Auth.UserIDToken)
	if err != nil {
		return nil, User{}, v.reject(c, http.StatusUnauthorized, msgUnauthenticated, tokenReason("user_token", err), err)
	}
	return ev, user, nil
}

// tokenReason names a token failure for logs: "<kind>_invalid", or
// "<kind>_keys_unavailable" when Google's keys could not be fetched (still
// reported to the client as 401, but worth alerting on).
func tokenReason(kind string, err error) string {
	if errors.Is(err, ErrInvalidToken) {
		return kind + "_invalid"
	}
	return kind + "_keys_unavailable"
}

var errBodyTooLarge = errors.New("request body too large")

func (v *Verifier) readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.ContentLength > v.maxBody {
		return nil, fmt.Errorf("%w: content length %d > %d", errBodyTooLarge, req.ContentLength, v.maxBody)
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, v.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(b)) > v.maxBody {
		return nil, fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, v.maxBody)
	}
	return b, nil
}

// bearerToken extracts the token of an "Authorization: Bearer" header.
// present is false when there is no Authorization header at all; a header
// that is present but not a usable bearer token is an error.
func bearerToken(h http.Header) (token string, present bool, err error) {
	vals := h.Values("Authorization")
	switch len(vals) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", true, errors.New("multiple Authorization headers")
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true, errors.New("authorization scheme is not Bearer")
	}
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", true, errors.New("empty bearer token")
	}
	return tok, true, nil
}

func (v *Verifier) reject(c echo.Context, code int, msg, reason string, err error) *echo.HTTPError {
	v.logger.LogAttrs(c.Request().Context(), slog.LevelWarn, "add-on request rejected",
		slog.String("reason", reason),
		slog.Int("status", code),
		slog.String("path", c.Request().URL.Path),
		slog.String("remote_ip", c.RealIP()),
		slog.Any("error", err),
	)
	if v.explain && err != nil {
		// Token errors name claims (audience, issuer, expiry), never the
		// token itself.
		msg += ": " + reason + ": " + err.Error()
	}
	return echo.NewHTTPError(code, msg)
}

// EventFrom returns the verified event stored by Verifier.Middleware, or
// nil if the request did not pass through it.
func EventFrom(c echo.Context) *Event {
	ev, _ := c.Request().Context().Value(eventKey).(*Event)
	return ev
}

// UserFrom returns the verified user stored by Verifier.Middleware, or the
// zero User if the request did not pass through it.
func UserFrom(c echo.Context) User {
	u, _ := UserFromContext(c.Request().Context())
	return u
}

// UserFromContext returns the verified user stored by Verifier.Middleware in
// the request context, for code that only has a context.Context.
func UserFromContext(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey).(User)
	return u, ok
}
