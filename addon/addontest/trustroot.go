// Package addontest fakes Google's side of the add-on protocol: a trust
// root that signs ID and access tokens and serves its public key in place
// of Google's certificate endpoint, plus builders for add-on events and
// requests. It is used by tests and by local development mode, where an
// addon.Verifier is configured with TrustRoot.HTTPClient instead of the
// network.
//
// Nothing here touches the network.
package addontest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"

	"github.com/go-jose/go-jose/v4"

	"github.com/postfach/postfach/addon"
)

// Certificate URLs served by TrustRoot.HTTPClient.
const (
	// GoogleCertsURL is where Google publishes its RS256 ID token keys.
	GoogleCertsURL = addon.GoogleCertsURL
	// IAPCertsURL is where Google publishes its ES256 (IAP) keys; the fake
	// serves an empty key set there.
	IAPCertsURL = "https://www.gstatic.com/iap/verify/public_key-jwk"
)

// TrustRoot is a stand-in for Google's token signing infrastructure: an
// RSA-2048 key with a key ID. Tokens it mints verify only against its own
// key set. A TrustRoot is safe for concurrent use.
type TrustRoot struct {
	key  *rsa.PrivateKey
	kid  string
	jwks []byte
}

// NewTrustRoot generates a fresh RSA-2048 key.
func NewTrustRoot() (*TrustRoot, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("new trust root: generate key: %w", err)
	}
	return NewTrustRootFromKey(key)
}

// NewTrustRootFromKey uses an existing key, e.g. one persisted by a local
// development server so tokens survive restarts. The key ID is the key's
// RFC 7638 thumbprint, so it is stable for a given key.
func NewTrustRootFromKey(key *rsa.PrivateKey) (*TrustRoot, error) {
	if key == nil {
		return nil, fmt.Errorf("new trust root: nil key")
	}
	if key.N.BitLen() < 2048 {
		return nil, fmt.Errorf("new trust root: key has %d bits, want at least 2048", key.N.BitLen())
	}
	tp, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("new trust root: key thumbprint: %w", err)
	}
	kid := hex.EncodeToString(tp[:20]) // 40 hex digits, like Google's key IDs
	jwks, err := json.Marshal(jwkSet{Keys: []jwk{{
		Kid: kid,
		Kty: "RSA",
		Alg: "RS256",
		Use: "sig",
		N:   base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}}})
	if err != nil {
		return nil, fmt.Errorf("new trust root: encode jwks: %w", err)
	}
	return &TrustRoot{key: key, kid: kid, jwks: jwks}, nil
}

// jwkSet and jwk mirror the document served at GoogleCertsURL.
type jwkSet struct {
	Keys []jwk `json:"keys"`
}

type jwk struct {
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// KeyID returns the key ID ("kid") put in the header of minted tokens.
func (r *TrustRoot) KeyID() string { return r.kid }

// JWKS returns the public key set in the format of GoogleCertsURL. The
// caller may modify the returned slice.
func (r *TrustRoot) JWKS() []byte { return bytes.Clone(r.jwks) }

// HTTPClient returns a client whose transport answers GET GoogleCertsURL
// with JWKS and GET IAPCertsURL with an empty key set; every other request
// fails without touching the network. Pass it as
// addon.VerifierConfig.HTTPClient.
func (r *TrustRoot) HTTPClient() *http.Client {
	return &http.Client{Transport: certsTransport{jwks: r.jwks}}
}

// certsTransport is the http.RoundTripper behind TrustRoot.HTTPClient.
type certsTransport struct {
	jwks []byte
}

func (t certsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close() // RoundTrippers must close the body.
	}
	if req.Method != http.MethodGet {
		return nil, fmt.Errorf("addontest: unexpected %s %s (only GET of the certs URLs is served)", req.Method, req.URL.Redacted())
	}
	var body []byte
	switch req.URL.String() {
	case GoogleCertsURL:
		body = t.jwks
	case IAPCertsURL:
		body = []byte(`{"keys":[]}`)
	default:
		return nil, fmt.Errorf("addontest: unexpected request to %s (only the Google certs URLs are served)", req.URL.Redacted())
	}
	h := make(http.Header)
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Cache-Control", "public, max-age=3600, must-revalidate, no-transform")
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}
