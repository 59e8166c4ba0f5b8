package addontest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
)

const (
	aud     = "https://postfach.example.com/addon/homepage"
	sa      = "service-123@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
	oclient = "123-abc.apps.googleusercontent.com"
)

func mustRoot(t testing.TB) *addontest.TrustRoot {
	t.Helper()
	r, err := addontest.NewTrustRoot()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func validator(t testing.TB, r *addontest.TrustRoot) *idtoken.Validator {
	t.Helper()
	v, err := idtoken.NewValidator(context.Background(), option.WithHTTPClient(r.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	r := mustRoot(t)
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(r.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("got %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	for field, want := range map[string]string{"kid": r.KeyID(), "kty": "RSA", "alg": "RS256", "use": "sig", "e": "AQAB"} {
		if k[field] != want {
			t.Errorf("%s = %q, want %q", field, k[field], want)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(r.KeyID()) {
		t.Errorf("kid = %q, want 40 hex digits", r.KeyID())
	}
	n, err := base64.RawURLEncoding.DecodeString(k["n"])
	if err != nil {
		t.Fatal(err)
	}
	if bits := new(big.Int).SetBytes(n).BitLen(); bits != 2048 {
		t.Errorf("modulus has %d bits, want 2048", bits)
	}
	b := r.JWKS()
	b[0] = 'X'
	if r.JWKS()[0] == 'X' {
		t.Error("JWKS returns shared memory")
	}
}

func TestHTTPClient(t *testing.T) {
	t.Parallel()
	r := mustRoot(t)
	c := r.HTTPClient()
	get := func(url string) (int, string, error) {
		resp, err := c.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	status, body, err := get(addontest.GoogleCertsURL)
	if err != nil || status != http.StatusOK || body != string(r.JWKS()) {
		t.Errorf("GET certs = %d %q %v, want 200 with the JWKS", status, body, err)
	}
	status, body, err = get(addontest.IAPCertsURL)
	if err != nil || status != http.StatusOK || body != `{"keys":[]}` {
		t.Errorf("GET IAP certs = %d %q %v, want 200 with an empty key set", status, body, err)
	}
	for _, url := range []string{"https://www.googleapis.com/oauth2/v1/certs", "https://example.com/", "http://127.0.0.1:1/"} {
		if _, _, err := get(url); err == nil {
			t.Errorf("GET %s succeeded, want error", url)
		}
	}
	if resp, err := c.Post(addontest.GoogleCertsURL, "text/plain", strings.NewReader("x")); err == nil {
		resp.Body.Close()
		t.Error("POST certs succeeded, want error")
	}
}

func TestSystemIDToken(t *testing.T) {
	t.Parallel()
	r := mustRoot(t)
	v := validator(t, r)
	tok, err := r.SystemIDToken(aud, sa)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Validate(context.Background(), tok, aud)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if p.Issuer != "https://accounts.google.com" || p.Audience != aud || p.Claims["email"] != sa || p.Claims["email_verified"] != true {
		t.Errorf("unexpected claims %v", p.Claims)
	}
	if !regexp.MustCompile(`^1[0-9]{20}$`).MatchString(p.Subject) || p.Claims["azp"] != p.Subject {
		t.Errorf("sub = %q, azp = %v, want the same 21-digit id", p.Subject, p.Claims["azp"])
	}
	if got := p.Expires - p.IssuedAt; got != 3600 {
		t.Errorf("lifetime = %ds, want 3600", got)
	}
	if d := time.Since(time.Unix(p.IssuedAt, 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("iat is %v from now", d)
	}
}

func TestUserIDToken(t *testing.T) {
	t.Parallel()
	r := mustRoot(t)
	v := validator(t, r)
	tests := []struct {
		name   string
		user   addon.User
		wantHD any
	}{
		{"workspace", addon.User{Subject: "1001", Email: "a@acme.example", Domain: "acme.example"}, "acme.example"},
		{"consumer", addon.User{Subject: "1002", Email: "b@gmail.example"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok, err := r.UserIDToken(oclient, tc.user)
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.Validate(context.Background(), tok, oclient)
			if err != nil {
				t.Fatal(err)
			}
			if p.Subject != tc.user.Subject || p.Claims["email"] != tc.user.Email || p.Claims["hd"] != tc.wantHD ||
				p.Claims["azp"] != oclient || p.Claims["email_verified"] != true {
				t.Errorf("unexpected claims %v", p.Claims)
			}
		})
	}
}

func TestTokenOptions(t *testing.T) {
	t.Parallel()
	r := mustRoot(t)
	v := validator(t, r)
	iat := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	tests := []struct {
		name    string
		opts    []addontest.TokenOption
		wantErr bool
		check   func(*idtoken.Payload) bool
	}{
		{"issued at", []addontest.TokenOption{addontest.WithIssuedAt(iat)}, false,
			func(p *idtoken.Payload) bool {
				return p.IssuedAt == iat.Unix() && p.Expires == iat.Add(time.Hour).Unix()
			}},
		{"expired", []addontest.TokenOption{addontest.WithExpiry(time.Now().Add(-time.Second))}, true, nil},
		{"expired via old iat", []addontest.TokenOption{addontest.WithIssuedAt(time.Now().Add(-2 * time.Hour))}, true, nil},
		{"issuer", []addontest.TokenOption{addontest.WithIssuer("https://evil.example")}, false,
			func(p *idtoken.Payload) bool { return p.Issuer == "https://evil.example" }},
		{"claim override", []addontest.TokenOption{addontest.WithClaim("email", "x@y.example")}, false,
			func(p *idtoken.Payload) bool { return p.Claims["email"] == "x@y.example" }},
		{"claim removal", []addontest.TokenOption{addontest.WithClaim("email", nil)}, false,
			func(p *idtoken.Payload) bool { _, ok := p.Claims["email"]; return !ok }},
		{"unverified email", []addontest.TokenOption{addontest.WithoutEmailVerified()}, false,
			func(p *idtoken.Payload) bool { return p.Claims["email_verified"] == false }},
		{"unknown key id", []addontest.TokenOption{addontest.WithKeyID("nope")}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok, err := r.SystemIDToken(aud, sa, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.Validate(context.Background(), tok, aud)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.check != nil && !tc.check(p) {
				t.Errorf("unexpected payload %+v", p)
			}
		})
	}
}

func TestIndependentRootsDoNotTrustEachOther(t *testing.T) {
	t.Parallel()
	a, b := mustRoot(t), mustRoot(t)
	if a.KeyID() == b.KeyID() {
		t.Fatal("two roots share a key id")
	}
	va := validator(t, a)
	for name, opts := range map[string][]addontest.TokenOption{
		"own kid":    nil,
		"forged kid": {addontest.WithKeyID(a.KeyID())},
	} {
		tok, err := b.SystemIDToken(aud, sa, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := va.Validate(context.Background(), tok, aud); err == nil {
			t.Errorf("%s: root A accepted a token of root B", name)
		}
	}
	at, err := b.AccessToken("a@acme.example", "scope", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifyAccessToken(at); err == nil {
		t.Error("root A accepted an access token of root B")
	}
}

func TestNewTrustRootFromKey(t *testing.T) {
	t.Parallel()
	if _, err := addontest.NewTrustRootFromKey(nil); err == nil {
		t.Error("nil key accepted")
	}
}

func TestAccessToken(t *testing.T) {
	t.Parallel()
	r := mustRoot(t)
	tok, err := r.AccessToken("alice@acme.example", "https://www.googleapis.com/auth/gmail.readonly", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "ya29.") {
		t.Errorf("access token %q does not look like a Google access token", tok)
	}
	email, err := r.VerifyAccessToken(tok)
	if err != nil || email != "alice@acme.example" {
		t.Fatalf("VerifyAccessToken = %q, %v; want alice@acme.example", email, err)
	}

	idTok, err := r.UserIDToken(oclient, addon.User{Subject: "1", Email: "alice@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := r.AccessToken("alice@acme.example", "s", time.Hour, addontest.WithExpiry(time.Now().Add(-time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"empty":                  "",
		"garbage":                "ya29.garbage",
		"id token":               idTok,
		"id token with prefix":   "ya29." + idTok,
		"expired":                expired,
		"tampered":               tok[:len(tok)-4] + "AAAA",
		"system token as access": "ya29." + mustSys(t, r),
	} {
		if _, err := r.VerifyAccessToken(bad); err == nil {
			t.Errorf("%s: VerifyAccessToken accepted it", name)
		}
	}
	if _, err := r.AccessToken("a@b", "s", 0); err == nil {
		t.Error("AccessToken with zero ttl succeeded")
	}
}

func mustSys(t *testing.T, r *addontest.TrustRoot) string {
	t.Helper()
	tok, err := r.SystemIDToken(addontest.AccessTokenAudience, sa)
	if err != nil {
		t.Fatal(err)
	}
	return tok // has the access-token audience but the wrong issuer
}

func TestEventBuilders(t *testing.T) {
	t.Parallel()
	tk := addontest.Tokens{System: "sys", User: "usr", OAuth: "ya29.o"}
	wantAuth := func(ev *addon.Event) {
		t.Helper()
		if ev.Auth.SystemIDToken != "sys" || ev.Auth.UserIDToken != "usr" || ev.Auth.UserOAuthToken != "ya29.o" || len(ev.Auth.AuthorizedScopes) == 0 {
			t.Errorf("auth = %+v", ev.Auth)
		}
		if ev.Common.HostApp != "GMAIL" || ev.Common.Platform != "WEB" {
			t.Errorf("common = %+v", ev.Common)
		}
	}

	home := addontest.HomepageEvent(tk)
	wantAuth(home)
	if home.Gmail != nil {
		t.Errorf("homepage event has gmail object %+v", home.Gmail)
	}

	msg := addontest.MessageEvent(tk, "msg-f:1", "thread-f:2", "gat")
	wantAuth(msg)
	if diff := cmp.Diff(&addon.GmailEvent{MessageID: "msg-f:1", ThreadID: "thread-f:2", AccessToken: "gat"}, msg.Gmail); diff != "" {
		t.Errorf("gmail (-want +got):\n%s", diff)
	}

	compose := addontest.ComposeEvent(tk, []string{"to@x"}, nil, []string{"bcc@x"})
	wantAuth(compose)
	if compose.Gmail == nil || compose.Gmail.ToRecipients[0] != "to@x" || compose.Gmail.BccRecipients[0] != "bcc@x" {
		t.Errorf("compose gmail = %+v", compose.Gmail)
	}

	params := map[string]string{"op": "assign"}
	form := map[string][]string{"assignee": {"bob@x"}, "tags": {"a", "b"}}
	act := addontest.ActionEvent(tk, params, form)
	wantAuth(act)
	params["op"] = "mutated"
	form["tags"][0] = "mutated"
	if act.Common.Param("op") != "assign" || act.Common.FormValue("assignee") != "bob@x" ||
		!cmp.Equal(act.Common.FormValues("tags"), []string{"a", "b"}) {
		t.Errorf("action common = %+v", act.Common)
	}

	// Every builder must produce JSON that ParseEvent reads back.
	for _, ev := range []*addon.Event{home, msg, compose, act} {
		b, err := ev.JSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := addon.ParseEvent(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ev, back); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestNewRequest(t *testing.T) {
	t.Parallel()
	ev := addontest.HomepageEvent(addontest.Tokens{System: "s", User: "u"})
	req := addontest.NewRequest(http.MethodPost, "https://postfach.example.com/addon/homepage?x=1", ev, "tok")
	if req.Method != http.MethodPost || req.URL.RequestURI() != "/addon/homepage?x=1" {
		t.Errorf("request = %s %s", req.Method, req.URL)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer tok" {
		t.Errorf("Authorization = %q", got)
	}
	if got := req.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := addon.ParseEvent(b); err != nil || back.Auth.UserIDToken != "u" {
		t.Errorf("body = %s (%v)", b, err)
	}
	if req.ContentLength != int64(len(b)) || req.GetBody == nil {
		t.Errorf("ContentLength = %d, GetBody set %v", req.ContentLength, req.GetBody != nil)
	}

	bare := addontest.NewRequest(http.MethodGet, "http://x/", nil, "")
	if bare.Body != nil || bare.Header.Get("Authorization") != "" {
		t.Errorf("bare request has body %v / auth %q", bare.Body, bare.Header.Get("Authorization"))
	}

	defer func() {
		if recover() == nil {
			t.Error("NewRequest with an invalid URL did not panic")
		}
	}()
	addontest.NewRequest(http.MethodPost, "://bad", nil, "")
}
