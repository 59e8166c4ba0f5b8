package addontest

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/postfach/postfach/addon"
)

// GoogleIssuer is the "iss" of minted ID tokens.
const GoogleIssuer = "https://accounts.google.com"

// AccessTokenAudience is the audience of tokens minted by AccessToken. ID
// tokens never carry it, so VerifyAccessToken rejects them.
const AccessTokenAudience = "gmail-simulator"

// accessTokenIssuer is the issuer of access tokens; distinct from
// GoogleIssuer so access tokens are not mistaken for ID tokens either.
const accessTokenIssuer = "https://addontest.invalid/access"

// accessTokenPrefix makes access tokens look like Google's ("ya29.…").
const accessTokenPrefix = "ya29."

// idTokenLifetime is the lifetime of Google ID tokens.
const idTokenLifetime = time.Hour

// TokenOption adjusts a minted token, mostly to produce invalid ones for
// negative tests.
type TokenOption func(*tokenSpec)

type tokenSpec struct {
	claims   map[string]any
	issuedAt time.Time
	expiry   time.Time
	kid      string
}

// WithIssuedAt sets "iat" (default now). Unless WithExpiry is also given,
// "exp" follows as iat + 1h.
func WithIssuedAt(t time.Time) TokenOption {
	return func(s *tokenSpec) { s.issuedAt = t }
}

// WithExpiry sets "exp" (default iat + 1h); a past time yields an expired
// token.
func WithExpiry(t time.Time) TokenOption {
	return func(s *tokenSpec) { s.expiry = t }
}

// WithIssuer sets "iss".
func WithIssuer(iss string) TokenOption {
	return func(s *tokenSpec) { s.claims["iss"] = iss }
}

// WithClaim sets claim k to v, overriding defaults; v == nil removes the
// claim. "iat" and "exp" are controlled by WithIssuedAt and WithExpiry.
func WithClaim(k string, v any) TokenOption {
	return func(s *tokenSpec) {
		if v == nil {
			delete(s.claims, k)
			return
		}
		s.claims[k] = v
	}
}

// WithoutEmailVerified sets "email_verified" to false.
func WithoutEmailVerified() TokenOption {
	return func(s *tokenSpec) { s.claims["email_verified"] = false }
}

// WithKeyID puts kid in the token header instead of the root's key ID,
// e.g. to forge a token that claims another root's key.
func WithKeyID(kid string) TokenOption {
	return func(s *tokenSpec) { s.kid = kid }
}

// SystemIDToken mints the ID token Google sends for the add-on's service
// account: iss Google, aud audience (the endpoint URL), sub and azp a
// numeric account ID, email serviceAccountEmail, email_verified true,
// valid for one hour.
func (r *TrustRoot) SystemIDToken(audience, serviceAccountEmail string, opts ...TokenOption) (string, error) {
	id := numericID(serviceAccountEmail)
	claims := map[string]any{
		"iss":            GoogleIssuer,
		"aud":            audience,
		"sub":            id,
		"azp":            id,
		"email":          serviceAccountEmail,
		"email_verified": true,
	}
	tok, err := r.sign(claims, opts)
	if err != nil {
		return "", fmt.Errorf("mint system id token: %w", err)
	}
	return tok, nil
}

// UserIDToken mints a user's ID token for the add-on's OAuth client: iss
// Google, aud and azp clientID, sub u.Subject (derived from u.Email when
// empty), email u.Email, email_verified true, hd u.Domain when not empty,
// valid for one hour.
func (r *TrustRoot) UserIDToken(clientID string, u addon.User, opts ...TokenOption) (string, error) {
	sub := u.Subject
	if sub == "" {
		sub = numericID(u.Email)
	}
	claims := map[string]any{
		"iss":            GoogleIssuer,
		"aud":            clientID,
		"azp":            clientID,
		"sub":            sub,
		"email":          u.Email,
		"email_verified": true,
	}
	if u.Domain != "" {
		claims["hd"] = u.Domain
	}
	tok, err := r.sign(claims, opts)
	if err != nil {
		return "", fmt.Errorf("mint user id token: %w", err)
	}
	return tok, nil
}

// AccessToken mints a bearer token for a fake Gmail API: it looks like a
// Google access token ("ya29." prefix) but is a JWT signed by r, with
// audience AccessTokenAudience, subject email and the space-separated
// scope, valid for ttl. Check it with VerifyAccessToken.
func (r *TrustRoot) AccessToken(email, scope string, ttl time.Duration, opts ...TokenOption) (string, error) {
	if ttl <= 0 {
		return "", errors.New("mint access token: ttl must be positive")
	}
	now := time.Now()
	claims := map[string]any{
		"iss":   accessTokenIssuer,
		"aud":   AccessTokenAudience,
		"sub":   email,
		"email": email,
		"scope": scope,
	}
	opts = append([]TokenOption{WithIssuedAt(now), WithExpiry(now.Add(ttl))}, opts...)
	tok, err := r.sign(claims, opts)
	if err != nil {
		return "", fmt.Errorf("mint access token: %w", err)
	}
	return accessTokenPrefix + tok, nil
}

// VerifyAccessToken checks a token minted by AccessToken with this root:
// signature, audience, issuer and expiry. It returns the email the token
// was minted for. ID tokens and tokens of other roots are rejected.
func (r *TrustRoot) VerifyAccessToken(tok string) (email string, err error) {
	raw, ok := strings.CutPrefix(tok, accessTokenPrefix)
	if !ok {
		return "", errors.New("verify access token: not an access token")
	}
	parsed, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "", fmt.Errorf("verify access token: %w", err)
	}
	var std jwt.Claims
	var extra struct {
		Email string `json:"email"`
	}
	if err := parsed.Claims(&r.key.PublicKey, &std, &extra); err != nil {
		return "", fmt.Errorf("verify access token: %w", err)
	}
	if std.Expiry == nil {
		return "", errors.New("verify access token: no expiry")
	}
	exp := jwt.Expected{Issuer: accessTokenIssuer, AnyAudience: jwt.Audience{AccessTokenAudience}, Time: time.Now()}
	if err := std.ValidateWithLeeway(exp, 0); err != nil {
		return "", fmt.Errorf("verify access token: %w", err)
	}
	if extra.Email == "" {
		return "", errors.New("verify access token: no email")
	}
	return extra.Email, nil
}

// sign applies opts to claims and signs them with RS256.
func (r *TrustRoot) sign(claims map[string]any, opts []TokenOption) (string, error) {
	s := tokenSpec{claims: claims, kid: r.kid}
	for _, o := range opts {
		o(&s)
	}
	if s.issuedAt.IsZero() {
		s.issuedAt = time.Now()
	}
	if s.expiry.IsZero() {
		s.expiry = s.issuedAt.Add(idTokenLifetime)
	}
	s.claims["iat"] = s.issuedAt.Unix()
	s.claims["exp"] = s.expiry.Unix()

	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: r.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), s.kid),
	)
	if err != nil {
		return "", fmt.Errorf("new signer: %w", err)
	}
	tok, err := jwt.Signed(signer).Claims(s.claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return tok, nil
}

// numericID derives a stable 21-digit account ID from seed, shaped like
// the numeric "sub" of Google accounts and service accounts.
func numericID(seed string) string {
	h := sha256.Sum256([]byte(seed))
	n := binary.BigEndian.Uint64(h[:8]) % 1e19
	return fmt.Sprintf("1%020d", n)
}
