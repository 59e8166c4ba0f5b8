// Package oauthsim is a local stand-in for Google's OAuth 2.0 server, for
// the tests of mailbox access (and, if wired, local development). It
// serves:
//
//   - GET PathAuth: the authorization endpoint. There is no consent screen:
//     the consent is decided by Options.Consent (by default the login_hint
//     account grants the requested scopes) and the browser is redirected
//     to redirect_uri with code and state, or with error=access_denied.
//   - POST PathToken: the token endpoint, with the grants
//     authorization_code (PKCE S256 checked when a challenge was sent; a
//     refresh token only with access_type=offline), refresh_token
//     (invalid_grant "Token has been expired or revoked." once revoked) and
//     urn:ietf:params:oauth:grant-type:jwt-bearer (domain-wide delegation:
//     the assertion is verified with the service account's key, and a
//     subject needs a GrantDelegation covering the scopes, else
//     unauthorized_client, as Google answers).
//   - POST PathRevoke: revocation of a refresh or access token, which, as
//     at Google, ends the whole grant; an unknown token is 400
//     invalid_token.
//
// Access tokens stand for an account: Authenticate maps a request's bearer
// token to it, for gmailsim.Options.Authenticate. Client authentication is
// accepted in the form body or with HTTP Basic. Errors use RFC 6749's JSON.
// The server is safe for concurrent use.
package oauthsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// Paths served by Handler.
const (
	PathAuth   = "/o/oauth2/v2/auth"
	PathToken  = "/token"
	PathRevoke = "/revoke"
)

// JWTBearer is the grant type of a service account's assertion.
const JWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// Decision is the outcome of a consent.
type Decision struct {
	// Account is who consents (the signed-in Google account).
	Account string
	// Scopes are the scopes granted; nil grants all requested.
	Scopes []string
	// Deny, if set, is the error the consent ends with (access_denied).
	Deny string
}

// Options configure a Server.
type Options struct {
	ClientID     string
	ClientSecret string
	// AccessTTL is an access token's lifetime. Default one hour.
	AccessTTL time.Duration
	// RotateRefreshTokens makes every refresh return a new refresh token
	// and retire the old one (Google does not; some servers do).
	RotateRefreshTokens bool
	// Consent decides an authorization request; by default the login_hint
	// account grants the requested scopes.
	Consent func(q url.Values) Decision
	// Now defaults to time.Now.
	Now func() time.Time
}

// Assertion is a verified JWT-bearer grant request.
type Assertion struct {
	Issuer   string
	Subject  string
	Scope    string
	Audience string
	KeyID    string
}

// Server is the simulated OAuth server.
type Server struct {
	o Options

	mu          sync.Mutex
	codes       map[string]*authCode
	grants      []*grant
	access      map[string]*accessToken
	refresh     map[string]*grant
	keys        map[string]*rsa.PublicKey // service account email → key
	keyIDs      map[string]string
	delegations map[string][]string // service account email → scopes
	assertions  []Assertion
	authReqs    []url.Values
	refreshes   int
}

type authCode struct {
	clientID, redirect, account, challenge string
	scopes                                 []string
	offline                                bool
	expires                                time.Time
}

type grant struct {
	account string
	scopes  []string
	revoked bool
}

type accessToken struct {
	grant   *grant // nil for delegated tokens
	account string
	scopes  []string
	expires time.Time
}

// New builds a Server.
func New(o Options) *Server {
	if o.AccessTTL <= 0 {
		o.AccessTTL = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Server{
		o:           o,
		codes:       map[string]*authCode{},
		access:      map[string]*accessToken{},
		refresh:     map[string]*grant{},
		keys:        map[string]*rsa.PublicKey{},
		keyIDs:      map[string]string{},
		delegations: map[string][]string{},
	}
}

// Endpoint is the oauth2 endpoint of the server mounted at base.
func Endpoint(base string) oauth2.Endpoint {
	base = strings.TrimSuffix(base, "/")
	return oauth2.Endpoint{AuthURL: base + PathAuth, TokenURL: base + PathToken, AuthStyle: oauth2.AuthStyleInParams}
}

// Handler serves the endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathAuth, s.authorize)
	mux.HandleFunc("POST "+PathToken, s.token)
	mux.HandleFunc("POST "+PathRevoke, s.revoke)
	return mux
}

// SetConsent replaces Options.Consent.
func (s *Server) SetConsent(f func(q url.Values) Decision) {
	s.mu.Lock()
	s.o.Consent = f
	s.mu.Unlock()
}

// AuthRequests returns the query of every authorization request so far.
func (s *Server) AuthRequests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.authReqs)
}

// Assertions returns every verified JWT-bearer assertion so far.
func (s *Server) Assertions() []Assertion {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.assertions)
}

// Refreshes counts the successful refresh_token grants.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// RevokeAccount ends every grant of an account, as a user removing the app
// at myaccount.google.com does.
func (s *Server) RevokeAccount(account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.grants {
		if g.account == account {
			g.revoked = true
		}
	}
}

// Granted reports whether account has a live (unrevoked) grant.
func (s *Server) Granted(account string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.grants {
		if g.account == account && !g.revoked {
			return true
		}
	}
	return false
}

// ServiceAccountKey creates a service account and returns its JSON key
// file, with token_uri pointing at tokenURL.
func (s *Server) ServiceAccountKey(email, tokenURL string) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	kid := randomToken("kid")
	s.mu.Lock()
	s.keys[email] = &key.PublicKey
	s.keyIDs[email] = kid
	s.mu.Unlock()
	return json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "postfach-test",
		"private_key_id": kid,
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   email,
		"client_id":      "1000000000000000000",
		"token_uri":      tokenURL,
	})
}

// GrantDelegation plays the admin's domain-wide delegation entry: the
// service account may act as any user with these scopes.
func (s *Server) GrantDelegation(serviceAccount string, scopes ...string) {
	s.mu.Lock()
	s.delegations[serviceAccount] = slices.Clone(scopes)
	s.mu.Unlock()
}

// Authenticate maps a request's bearer token to the account it stands for;
// use it as gmailsim.Options.Authenticate.
func (s *Server) Authenticate(r *http.Request) (string, error) {
	return s.AuthenticateWith(nil)(r)
}

// AuthenticateWith is Authenticate for a Google that issues access tokens
// elsewhere too: a bearer token that first (if first is not nil) maps to
// an account is that account's; any other must be this server's. dev and
// the chaos run pass their trust root's, whose tokens the add-on's events
// carry.
func (s *Server) AuthenticateWith(first func(accessToken string) (string, error)) func(*http.Request) (string, error) {
	return func(r *http.Request) (string, error) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return "", errors.New("no bearer token")
		}
		tok = strings.TrimSpace(tok)
		if first != nil {
			if account, err := first(tok); err == nil {
				return account, nil
			}
		}
		return s.Account(tok)
	}
}

// Account returns the account an access token stands for, if it is live.
func (s *Server) Account(accessToken string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.access[accessToken]
	switch {
	case !ok:
		return "", errors.New("unknown access token")
	case a.grant != nil && a.grant.revoked:
		return "", errors.New("access token revoked")
	case !s.o.Now().Before(a.expires):
		return "", errors.New("access token expired")
	}
	return a.account, nil
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.authReqs = append(s.authReqs, q)
	consent := s.o.Consent
	s.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("client_id") != s.o.ClientID || err != nil || !redirect.IsAbs() {
		http.Error(w, "Error 400: invalid_request (client_id or redirect_uri)", http.StatusBadRequest)
		return
	}
	back := func(v url.Values) {
		v.Set("state", q.Get("state"))
		redirect.RawQuery = v.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	}
	if m := q.Get("code_challenge_method"); q.Get("code_challenge") != "" && m != "S256" {
		back(url.Values{"error": {"invalid_request"}})
		return
	}
	d := Decision{Account: q.Get("login_hint")}
	if consent != nil {
		d = consent(q)
	}
	if d.Deny != "" {
		back(url.Values{"error": {d.Deny}})
		return
	}
	scopes := d.Scopes
	if scopes == nil {
		scopes = strings.Fields(q.Get("scope"))
	}
	code := randomToken("code")
	s.mu.Lock()
	s.codes[code] = &authCode{
		clientID: q.Get("client_id"), redirect: q.Get("redirect_uri"), account: d.Account,
		challenge: q.Get("code_challenge"), scopes: scopes, offline: q.Get("access_type") == "offline",
		expires: s.o.Now().Add(10 * time.Minute),
	}
	s.mu.Unlock()
	back(url.Values{"code": {code}})
}

// oauthErr answers an RFC 6749 error.
func oauthErr(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (s *Server) clientOK(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return id == s.o.ClientID && secret == s.o.ClientSecret
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthErr(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		s.exchange(w, r)
	case "refresh_token":
		s.refreshGrant(w, r)
	case JWTBearer:
		s.jwtGrant(w, r)
	default:
		oauthErr(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+gt)
	}
}

func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	if !s.clientOK(r) {
		oauthErr(w, http.StatusUnauthorized, "invalid_client", "Unauthorized")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[f.Get("code")]
	delete(s.codes, f.Get("code")) // one use, even a failed one
	switch {
	case !ok || !s.o.Now().Before(c.expires):
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "Malformed auth code.")
		return
	case c.redirect != f.Get("redirect_uri"):
		oauthErr(w, http.StatusBadRequest, "redirect_uri_mismatch", "Bad Request")
		return
	case c.challenge != "" && s256(f.Get("code_verifier")) != c.challenge:
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "Invalid code verifier.")
		return
	}
	g := &grant{account: c.account, scopes: c.scopes}
	s.grants = append(s.grants, g)
	resp := s.issue(g)
	if c.offline {
		rt := randomToken("refresh")
		s.refresh[rt] = g
		resp["refresh_token"] = rt
	}
	writeJSON(w, resp)
}

func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request) {
	if !s.clientOK(r) {
		oauthErr(w, http.StatusUnauthorized, "invalid_client", "Unauthorized")
		return
	}
	rt := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.refresh[rt]
	if !ok || g.revoked {
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
		return
	}
	s.refreshes++
	resp := s.issue(g)
	if s.o.RotateRefreshTokens {
		delete(s.refresh, rt)
		next := randomToken("refresh")
		s.refresh[next] = g
		resp["refresh_token"] = next
	}
	writeJSON(w, resp)
}

// issue mints an access token of g; s.mu is held.
func (s *Server) issue(g *grant) map[string]any {
	at := randomToken("access")
	s.access[at] = &accessToken{grant: g, account: g.account, scopes: g.scopes, expires: s.o.Now().Add(s.o.AccessTTL)}
	return map[string]any{
		"access_token": at,
		"token_type":   "Bearer",
		"expires_in":   int(s.o.AccessTTL.Seconds()),
		"scope":        strings.Join(g.scopes, " "),
	}
}

// jwtClaims are the claims of a service account assertion.
type jwtClaims struct {
	jwt.Claims
	Scope string `json:"scope"`
}

func (s *Server) jwtGrant(w http.ResponseWriter, r *http.Request) {
	tok, err := jwt.ParseSigned(r.PostForm.Get("assertion"), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	var unverified jwtClaims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT.")
		return
	}
	s.mu.Lock()
	key, ok := s.keys[unverified.Issuer]
	kid := s.keyIDs[unverified.Issuer]
	scopes, delegated := s.delegations[unverified.Issuer]
	s.mu.Unlock()
	var c jwtClaims
	if !ok || tok.Claims(key, &c) != nil {
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	if len(tok.Headers) == 0 || tok.Headers[0].KeyID != kid {
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: key id.")
		return
	}
	// The audience is the token endpoint's URL as the client called it:
	// the request URI keeps a prefix the server is mounted under
	// (http.StripPrefix changes only r.URL).
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if path == "" {
		path = PathToken
	}
	tokenURL := "http://" + r.Host + path
	if err := c.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{tokenURL}, Time: s.o.Now()}, time.Minute); err != nil || c.IssuedAt == nil || c.Expiry == nil {
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
		return
	}
	requested := strings.Fields(c.Scope)
	if len(requested) == 0 {
		oauthErr(w, http.StatusBadRequest, "invalid_scope", "Empty or missing scope not allowed.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assertions = append(s.assertions, Assertion{Issuer: c.Issuer, Subject: c.Subject, Scope: c.Scope, Audience: strings.Join(c.Audience, " "), KeyID: tok.Headers[0].KeyID})
	account := c.Issuer
	if c.Subject != "" {
		for _, sc := range requested {
			if !delegated || !slices.Contains(scopes, sc) {
				oauthErr(w, http.StatusUnauthorized, "unauthorized_client",
					"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
				return
			}
		}
		account = c.Subject
	}
	at := randomToken("access")
	s.access[at] = &accessToken{account: account, scopes: requested, expires: s.o.Now().Add(s.o.AccessTTL)}
	writeJSON(w, map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(s.o.AccessTTL.Seconds())})
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthErr(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	t := r.Form.Get("token")
	s.mu.Lock()
	defer s.mu.Unlock()
	var g *grant
	if rg, ok := s.refresh[t]; ok {
		g = rg
	} else if a, ok := s.access[t]; ok && a.grant != nil {
		g = a.grant
	}
	if g == nil || g.revoked {
		oauthErr(w, http.StatusBadRequest, "invalid_token", "Token expired or revoked")
		return
	}
	g.revoked = true
	w.WriteHeader(http.StatusOK)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func randomToken(kind string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return fmt.Sprintf("sim-%s-%s", kind, base64.RawURLEncoding.EncodeToString(b))
}
