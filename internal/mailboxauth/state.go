package mailboxauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// State errors.
var (
	// ErrBadState: the state is missing, malformed or not signed by this
	// server (400).
	ErrBadState = errors.New("invalid state")
	// ErrStateExpired: the state was signed by this server but its time is
	// up (401): the user must start again from the sidebar.
	ErrStateExpired = errors.New("state expired")
	// ErrStateUsed: the state, genuine and unexpired, was spent already:
	// it or a later state of the same user connected the mailbox (400).
	// A state is single-use (inbox.Mailbox.ConsentStateSpent).
	ErrStateUsed = errors.New("state already used")
)

// StateTTL is how long a "Connect mailbox" link and its consent round trip
// stay valid.
const StateTTL = 10 * time.Minute

// minStateKey is the shortest StateKey accepted: HMAC-SHA256's block of
// entropy.
const minStateKey = 32

// State is what a signed state carries: who may connect their mailbox, into
// which tenant, until when. Nonce makes every state unique and derives the
// PKCE verifier of its consent. Expires is to the microsecond: it orders
// the states of one user, and the one spent last is kept with the mailbox
// (inbox.Mailbox.ConsentStateExpires) to refuse it and every older one.
type State struct {
	Email   string
	Tenant  string
	Expires time.Time
	Nonce   string
}

// statePayload is the signed JSON; its tags are the wire format. (Before
// states were single-use, the expiry was "exp" in seconds; such a state
// reads as expired in 1970, and its user starts again from the sidebar.)
type statePayload struct {
	Email  string `json:"email"`
	Tenant string `json:"tenant"`
	Exp    int64  `json:"exp_us"` // Unix microseconds
	Nonce  string `json:"nonce"`
}

// MAC contexts keep the state's signature and the PKCE verifier, both
// HMACs under StateKey, from ever standing in for each other.
const (
	macState = "postfach/oauth-state/v1\x00"
	macPKCE  = "postfach/oauth-pkce/v1\x00"
)

// signState returns "payload.mac", both base64url without padding, the MAC
// being HMAC-SHA256 over the encoded payload.
func signState(key []byte, st State) (string, error) {
	b, err := json.Marshal(statePayload{Email: st.Email, Tenant: st.Tenant, Exp: st.Expires.UnixMicro(), Nonce: st.Nonce})
	if err != nil {
		return "", fmt.Errorf("encode state: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(key, macState, payload)), nil
}

// verifyState checks a state's signature, then its expiry against now.
func verifyState(key []byte, s string, now time.Time) (State, error) {
	payload, sig, ok := strings.Cut(s, ".")
	if !ok || payload == "" || len(s) > 2048 {
		return State{}, ErrBadState
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, macState, payload)) {
		return State{}, ErrBadState
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return State{}, ErrBadState
	}
	var p statePayload
	if err := json.Unmarshal(b, &p); err != nil || p.Email == "" || p.Tenant == "" || p.Nonce == "" {
		return State{}, ErrBadState
	}
	st := State{Email: p.Email, Tenant: p.Tenant, Expires: time.UnixMicro(p.Exp).UTC(), Nonce: p.Nonce}
	if !now.Before(st.Expires) {
		return st, ErrStateExpired
	}
	return st, nil
}

func newState(user, tenant string, now time.Time) (State, error) {
	email := inbox.NormalizeEmail(user)
	if email == "" {
		return State{}, fmt.Errorf("%w: user %q is not an e-mail address", inbox.ErrInvalid, user)
	}
	if tenant == "" || tenant != strings.ToLower(strings.TrimSpace(tenant)) {
		return State{}, fmt.Errorf("%w: tenant %q", inbox.ErrInvalid, tenant)
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return State{}, fmt.Errorf("state nonce: %w", err)
	}
	return State{
		Email:   email,
		Tenant:  tenant,
		Expires: now.Add(StateTTL).UTC().Truncate(time.Microsecond),
		Nonce:   base64.RawURLEncoding.EncodeToString(nonce),
	}, nil
}

// pkceVerifier derives the PKCE code verifier of a consent from its state's
// nonce: 43 base64url characters (RFC 7636 §4.1) that only this server can
// compute, so nothing has to be kept between /oauth/connect and
// /oauth/callback, and a code obtained for one state cannot be redeemed
// with another.
func pkceVerifier(key []byte, nonce string) string {
	return base64.RawURLEncoding.EncodeToString(mac(key, macPKCE, nonce))
}

func mac(key []byte, context, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(context))
	h.Write([]byte(msg))
	return h.Sum(nil)
}
