package addon_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
)

const (
	publicBase = "https://postfach.example.com"
	saEmail    = "service-123456789012@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
	clientID   = "123456789012-abc123.apps.googleusercontent.com"
)

// workspaceUser is the identity minted into user tokens; Email is mixed
// case on purpose (the verifier lower-cases it).
var workspaceUser = addon.User{Subject: "104729000000000000001", Email: "Alice@Acme-Support.example", Domain: "acme-support.example"}

// echoed is what the test handler returns.
type echoed struct {
	User      addon.User `json:"user"`
	HostApp   string     `json:"hostApp"`
	Op        string     `json:"op"`
	MessageID string     `json:"messageId"`
	BodyBytes int        `json:"bodyBytes"`
	CtxUser   addon.User `json:"ctxUser"`
}

// harness is an echo server with the middleware, reachable over real HTTP.
type harness struct {
	root     *addontest.TrustRoot
	other    *addontest.TrustRoot // an independent, untrusted root
	verifier *addon.Verifier
	srv      *httptest.Server
	e        *echo.Echo
	logs     *syncBuffer
}

func newHarness(t *testing.T, maxBody int64, client *http.Client) *harness {
	t.Helper()
	root, err := addontest.NewTrustRoot()
	if err != nil {
		t.Fatal(err)
	}
	other, err := addontest.NewTrustRoot()
	if err != nil {
		t.Fatal(err)
	}
	if client == nil {
		client = root.HTTPClient()
	}
	logs := new(syncBuffer)
	v, err := addon.NewVerifier(context.Background(), addon.VerifierConfig{
		ServiceAccountEmail: saEmail,
		OAuthClientID:       clientID,
		PublicBaseURL:       publicBase + "/", // trailing slash is tolerated
		HTTPClient:          client,
		MaxBodyBytes:        maxBody,
		Logger:              slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	g := e.Group("/addon", v.Middleware())
	handler := func(c echo.Context) error {
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		ev := addon.EventFrom(c)
		if ev == nil {
			return errors.New("no event in context")
		}
		out := echoed{User: addon.UserFrom(c), HostApp: ev.Common.HostApp, Op: ev.Common.Param("op"), BodyBytes: len(body)}
		out.CtxUser, _ = addon.UserFromContext(c.Request().Context())
		if ev.Gmail != nil {
			out.MessageID = ev.Gmail.MessageID
		}
		return c.JSON(http.StatusOK, out)
	}
	g.POST("/homepage", handler)
	g.POST("/action", handler)
	g.POST("/message-open", handler)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &harness{root: root, other: other, verifier: v, srv: srv, e: e, logs: logs}
}

func (h *harness) sysToken(t *testing.T, uri string, opts ...addontest.TokenOption) string {
	t.Helper()
	tok, err := h.root.SystemIDToken(publicBase+uri, saEmail, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (h *harness) userToken(t *testing.T, opts ...addontest.TokenOption) string {
	t.Helper()
	tok, err := h.root.UserIDToken(clientID, workspaceUser, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tokens returns a valid token set for a request to uri.
func (h *harness) tokens(t *testing.T, uri string) addontest.Tokens {
	return addontest.Tokens{System: h.sysToken(t, uri), User: h.userToken(t), OAuth: "ya29.oauth"}
}

// do sends req to the server and returns status and body.
func (h *harness) do(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	// Requests are built against "http://server"; point them at the test server.
	u := *req.URL
	u.Scheme, u.Host = "http", strings.TrimPrefix(h.srv.URL, "http://")
	req.URL = &u
	req.Host = ""
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func post(uri string, ev *addon.Event, systemToken string) *http.Request {
	return addontest.NewRequest(http.MethodPost, "http://server"+uri, ev, systemToken)
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0, nil)
	const (
		home   = "/addon/homepage"
		action = "/addon/action?op=save&ticket=T-1"
		msg    = "/addon/message-open"
	)
	past := time.Now().Add(-2 * time.Hour)

	tests := []struct {
		name       string
		req        func(t *testing.T) *http.Request
		wantStatus int
		want       *echoed // checked on 200
	}{
		{
			name: "valid homepage",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				return post(home, addontest.HomepageEvent(tk), tk.System)
			},
			wantStatus: http.StatusOK,
			want:       &echoed{User: addon.User{Subject: workspaceUser.Subject, Email: "alice@acme-support.example", Domain: "acme-support.example"}, HostApp: "GMAIL"},
		},
		{
			name: "valid action with query",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, action)
				return post(action, addontest.ActionEvent(tk, map[string]string{"op": "assign"}, map[string][]string{"assignee": {"bob@x.example"}}), tk.System)
			},
			wantStatus: http.StatusOK,
			want:       &echoed{User: addon.User{Subject: workspaceUser.Subject, Email: "alice@acme-support.example", Domain: "acme-support.example"}, HostApp: "GMAIL", Op: "assign"},
		},
		{
			name: "valid message open, consumer account without hd",
			req: func(t *testing.T) *http.Request {
				ut, err := h.root.UserIDToken(clientID, addon.User{Subject: "42", Email: "bob@gmail.example"})
				if err != nil {
					t.Fatal(err)
				}
				tk := addontest.Tokens{System: h.sysToken(t, msg), User: ut}
				return post(msg, addontest.MessageEvent(tk, "msg-f:1", "thread-f:1", "gmail-at"), tk.System)
			},
			wantStatus: http.StatusOK,
			want:       &echoed{User: addon.User{Subject: "42", Email: "bob@gmail.example"}, HostApp: "GMAIL", MessageID: "msg-f:1"},
		},
		{
			name: "email_verified as string, short issuer, SA email in other case",
			req: func(t *testing.T) *http.Request {
				sys, err := h.root.SystemIDToken(publicBase+home, strings.ToUpper(saEmail),
					addontest.WithClaim("email_verified", "true"), addontest.WithIssuer("accounts.google.com"))
				if err != nil {
					t.Fatal(err)
				}
				tk := addontest.Tokens{System: sys, User: h.userToken(t, addontest.WithClaim("email_verified", "true"))}
				return post(home, addontest.HomepageEvent(tk), sys)
			},
			wantStatus: http.StatusOK,
			want:       &echoed{User: addon.User{Subject: workspaceUser.Subject, Email: "alice@acme-support.example", Domain: "acme-support.example"}, HostApp: "GMAIL"},
		},
		{
			name: "header absent: falls back to body systemIdToken",
			req: func(t *testing.T) *http.Request {
				return post(home, addontest.HomepageEvent(h.tokens(t, home)), "")
			},
			wantStatus: http.StatusOK,
			want:       &echoed{User: addon.User{Subject: workspaceUser.Subject, Email: "alice@acme-support.example", Domain: "acme-support.example"}, HostApp: "GMAIL"},
		},

		// System token failures.
		{
			name: "no Authorization header and no body token",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				tk.System = ""
				return post(home, addontest.HomepageEvent(tk), "")
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "header absent: invalid body token",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				tk.System = h.sysToken(t, home, addontest.WithExpiry(past))
				return post(home, addontest.HomepageEvent(tk), "")
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "header absent: malformed body",
			req: func(t *testing.T) *http.Request {
				req := post(home, nil, "")
				req.Body = io.NopCloser(strings.NewReader("{not json"))
				return req
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "invalid header token: no fallback to valid body token",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				return post(home, addontest.HomepageEvent(tk), h.sysToken(t, "/addon/other"))
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "expired system token",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				return post(home, addontest.HomepageEvent(tk), h.sysToken(t, home, addontest.WithIssuedAt(past)))
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "system token issued in the future",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				return post(home, addontest.HomepageEvent(tk), h.sysToken(t, home, addontest.WithIssuedAt(time.Now().Add(time.Hour))))
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "system token not valid before (nbf) a future time",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				return post(home, addontest.HomepageEvent(tk), h.sysToken(t, home, addontest.WithClaim("nbf", time.Now().Add(time.Hour).Unix())))
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "user token issued in the future",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				tk.User = h.userToken(t, addontest.WithIssuedAt(time.Now().Add(time.Hour)))
				return post(home, addontest.HomepageEvent(tk), tk.System)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong audience: other path",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				return post(home, addontest.HomepageEvent(tk), h.sysToken(t, msg))
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong audience: other query",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, action)
				return post("/addon/action?op=delete&ticket=T-1", addontest.HomepageEvent(tk), tk.System)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong audience: query dropped",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, action)
				return post("/addon/action", addontest.HomepageEvent(tk), tk.System)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong audience: other host, spoofed Host and X-Forwarded headers",
			req: func(t *testing.T) *http.Request {
				sys, err := h.root.SystemIDToken("https://evil.example"+home, saEmail)
				if err != nil {
					t.Fatal(err)
				}
				tk := addontest.Tokens{System: sys, User: h.userToken(t)}
				req := post(home, addontest.HomepageEvent(tk), sys)
				req.Header.Set("X-Forwarded-Host", "evil.example")
				req.Header.Set("X-Forwarded-Proto", "https")
				req.Header.Set("Forwarded", "host=evil.example;proto=https")
				return req
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong signer",
			req: func(t *testing.T) *http.Request {
				sys, err := h.other.SystemIDToken(publicBase+home, saEmail)
				if err != nil {
					t.Fatal(err)
				}
				return post(home, addontest.HomepageEvent(addontest.Tokens{System: sys, User: h.userToken(t)}), sys)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong signer claiming the trusted key id",
			req: func(t *testing.T) *http.Request {
				sys, err := h.other.SystemIDToken(publicBase+home, saEmail, addontest.WithKeyID(h.root.KeyID()))
				if err != nil {
					t.Fatal(err)
				}
				return post(home, addontest.HomepageEvent(addontest.Tokens{System: sys, User: h.userToken(t)}), sys)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong service account email",
			req: func(t *testing.T) *http.Request {
				sys, err := h.root.SystemIDToken(publicBase+home, "service-999@gcp-sa-gsuiteaddons.iam.gserviceaccount.com")
				if err != nil {
					t.Fatal(err)
				}
				return post(home, addontest.HomepageEvent(addontest.Tokens{System: sys, User: h.userToken(t)}), sys)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "system email not verified",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				return post(home, addontest.HomepageEvent(tk), h.sysToken(t, home, addontest.WithoutEmailVerified()))
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "system email_verified claim absent",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				return post(home, addontest.HomepageEvent(tk), h.sysToken(t, home, addontest.WithClaim("email_verified", nil)))
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "system email claim absent",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				return post(home, addontest.HomepageEvent(tk), h.sysToken(t, home, addontest.WithClaim("email", nil)))
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong issuer",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				return post(home, addontest.HomepageEvent(tk), h.sysToken(t, home, addontest.WithIssuer("https://evil.example")))
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "user id token sent as system token",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				return post(home, addontest.HomepageEvent(tk), tk.User)
			},
			wantStatus: http.StatusUnauthorized,
		},

		// User token failures.
		{
			name: "user token missing",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				tk.User = ""
				return post(home, addontest.HomepageEvent(tk), tk.System)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "user token expired",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				tk.User = h.userToken(t, addontest.WithExpiry(time.Now().Add(-time.Second)))
				return post(home, addontest.HomepageEvent(tk), tk.System)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "user token for another client id",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				ut, err := h.root.UserIDToken("other-client.apps.googleusercontent.com", workspaceUser)
				if err != nil {
					t.Fatal(err)
				}
				tk.User = ut
				return post(home, addontest.HomepageEvent(tk), tk.System)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "user token from wrong signer",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				ut, err := h.other.UserIDToken(clientID, workspaceUser)
				if err != nil {
					t.Fatal(err)
				}
				tk.User = ut
				return post(home, addontest.HomepageEvent(tk), tk.System)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "user email not verified",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				tk.User = h.userToken(t, addontest.WithoutEmailVerified())
				return post(home, addontest.HomepageEvent(tk), tk.System)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "user token wrong issuer",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				tk.User = h.userToken(t, addontest.WithIssuer("https://login.example"))
				return post(home, addontest.HomepageEvent(tk), tk.System)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "system token sent as user token",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				tk.User = tk.System
				return post(home, addontest.HomepageEvent(tk), tk.System)
			},
			wantStatus: http.StatusUnauthorized,
		},

		// Body failures.
		{
			name: "malformed body",
			req: func(t *testing.T) *http.Request {
				req := post(home, nil, h.sysToken(t, home))
				req.Body = io.NopCloser(strings.NewReader(`{"commonEventObject":`))
				return req
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "body is a JSON array",
			req: func(t *testing.T) *http.Request {
				req := post(home, nil, h.sysToken(t, home))
				req.Body = io.NopCloser(strings.NewReader(`[]`))
				return req
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "empty body",
			req: func(t *testing.T) *http.Request {
				return post(home, nil, h.sysToken(t, home))
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "body over the default limit",
			req: func(t *testing.T) *http.Request {
				tk := h.tokens(t, home)
				ev := addontest.HomepageEvent(tk)
				ev.Common.Parameters = map[string]string{"pad": strings.Repeat("x", int(addon.DefaultMaxBodyBytes))}
				return post(home, ev, tk.System)
			},
			wantStatus: http.StatusRequestEntityTooLarge,
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := tc.req(t)
			secrets := tokensIn(req)
			status, body := h.do(t, req)
			if status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", status, tc.wantStatus, body)
			}
			for _, s := range secrets {
				if bytes.Contains(body, []byte(s)) {
					t.Errorf("response body leaks a token: %s", body)
				}
			}
			if tc.want == nil {
				return
			}
			var got echoed
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			if got.BodyBytes == 0 {
				t.Error("handler could not re-read the request body")
			}
			got.BodyBytes = 0
			tc.want.CtxUser = tc.want.User
			if diff := cmp.Diff(*tc.want, got); diff != "" {
				t.Errorf("handler saw (-want +got):\n%s", diff)
			}
		})
	}
}

// tokensIn returns the token-like strings of a request (header and body),
// which must never be echoed back or logged.
func tokensIn(req *http.Request) []string {
	var out []string
	if _, tok, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok && len(tok) > 20 {
		out = append(out, tok)
	}
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err == nil {
			b, _ := io.ReadAll(rc)
			if ev, err := addon.ParseEvent(b); err == nil {
				for _, s := range []string{ev.Auth.SystemIDToken, ev.Auth.UserIDToken, ev.Auth.UserOAuthToken} {
					if len(s) > 20 {
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

// TestMiddlewareHostileInput sends malformed credentials; none may panic
// or be accepted.
func TestMiddlewareHostileInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0, nil)
	const home = "/addon/homepage"
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	claimsMap := func() map[string]any {
		now := time.Now().Unix()
		return map[string]any{
			"iss": "https://accounts.google.com", "aud": publicBase + home, "email": saEmail,
			"email_verified": true, "sub": "1", "iat": now, "exp": now + 3600,
		}
	}
	claims := func() string {
		b, _ := json.Marshal(claimsMap())
		return string(b)
	}
	es256 := func(t *testing.T) string {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", h.root.KeyID()))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(s).Claims(claimsMap()).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name   string
		header []string // Authorization header values
	}{
		{"Bearer with nothing", []string{"Bearer"}},
		{"Bearer and spaces", []string{"Bearer    "}},
		{"Basic auth", []string{"Basic dXNlcjpwYXNz"}},
		{"no scheme", []string{h.sysToken(t, home)}},
		{"non-JWT string", []string{"Bearer hello-world"}},
		{"three garbage segments", []string{"Bearer a.b.c"}},
		{"empty segments", []string{"Bearer .."}},
		{"many dots", []string{"Bearer " + strings.Repeat(".", 5000)}},
		{"alg none", []string{"Bearer " + b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(claims()) + "."}},
		{"HS256 with key id", []string{"Bearer " + b64(`{"alg":"HS256","kid":"`+h.root.KeyID()+`"}`) + "." + b64(claims()) + "." + b64("sig")}},
		{"ES256 short signature", []string{"Bearer " + b64(`{"alg":"ES256","kid":"`+h.root.KeyID()+`"}`) + "." + b64(claims()) + "." + b64("x")}},
		{"ES256 signed", []string{"Bearer " + es256(t)}},
		{"RS256 bad signature", []string{"Bearer " + b64(`{"alg":"RS256","kid":"`+h.root.KeyID()+`"}`) + "." + b64(claims()) + "." + b64("x")}},
		{"payload not JSON", []string{"Bearer " + b64(`{"alg":"RS256"}`) + "." + b64("][") + "." + b64("x")}},
		{"huge token", []string{"Bearer " + strings.Repeat("A", 64<<10) + "." + strings.Repeat("B", 64<<10) + ".C"}},
		{"two Authorization headers", []string{"Bearer " + h.sysToken(t, home), "Bearer " + h.sysToken(t, home)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := h.tokens(t, home)
			req := post(home, addontest.HomepageEvent(tk), "")
			for _, v := range tc.header {
				req.Header.Add("Authorization", v)
			}
			status, body := h.do(t, req)
			if status != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401; body %s", status, body)
			}
		})
	}

	// Requests handed to echo directly, with a nil body.
	t.Run("nil body without credentials", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		h.e.ServeHTTP(rec, addontest.NewRequest(http.MethodPost, "http://server"+home, nil, ""))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", rec.Code)
		}
	})
	t.Run("nil body with valid system token", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		h.e.ServeHTTP(rec, addontest.NewRequest(http.MethodPost, "http://server"+home, nil, h.sysToken(t, home)))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("status = %d, want 400", rec.Code)
		}
	})
}

func TestMiddlewareBodyLimit(t *testing.T) {
	t.Parallel()
	const limit = 4 << 10
	h := newHarness(t, limit, nil)
	const home = "/addon/homepage"
	tests := []struct {
		name       string
		pad        int
		chunked    bool
		wantStatus int
	}{
		{"under limit", 1 << 10, false, http.StatusOK},
		{"over limit", 8 << 10, false, http.StatusRequestEntityTooLarge},
		{"over limit, chunked", 8 << 10, true, http.StatusRequestEntityTooLarge},
		{"under limit, chunked", 1 << 10, true, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := h.tokens(t, home)
			ev := addontest.HomepageEvent(tk)
			ev.Common.Parameters = map[string]string{"pad": strings.Repeat("x", tc.pad)}
			req := post(home, ev, tk.System)
			if tc.chunked {
				b, _ := io.ReadAll(req.Body)
				req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b))) // hides the length
				req.ContentLength = -1
				req.GetBody = nil
			}
			status, body := h.do(t, req)
			if status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", status, tc.wantStatus, body)
			}
		})
	}
}

// TestMiddlewareLogs checks that rejections are logged at WARN with a
// reason, path and remote IP, and without tokens.
func TestMiddlewareLogs(t *testing.T) {
	t.Parallel()
	const home = "/addon/homepage"

	t.Run("expired token", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0, nil)
		tk := h.tokens(t, home)
		bad := h.sysToken(t, home+"?secret=s3cr3t", addontest.WithExpiry(time.Now().Add(-time.Minute)))
		status, _ := h.do(t, post(home+"?secret=s3cr3t", addontest.HomepageEvent(tk), bad))
		if status != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401", status)
		}
		rec := h.logs.onlyRecord(t)
		want := map[string]any{"level": "WARN", "msg": "add-on request rejected", "reason": "system_token_invalid",
			"status": float64(401), "path": home, "remote_ip": "127.0.0.1"}
		for k, v := range want {
			if rec[k] != v {
				t.Errorf("log %s = %v, want %v (record %v)", k, rec[k], v, rec)
			}
		}
		if errMsg, _ := rec["error"].(string); !strings.Contains(errMsg, "expired") {
			t.Errorf("log error = %q, want the expiry reason", errMsg)
		}
		for _, s := range []string{bad, tk.User, tk.System, "s3cr3t"} {
			if strings.Contains(h.logs.String(), s) {
				t.Errorf("log leaks %.20q…: %s", s, h.logs.String())
			}
		}
	})

	t.Run("audience mismatch redacts queries", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0, nil)
		tk := h.tokens(t, home)
		sys := h.sysToken(t, home+"?key=t0ps3cret")
		status, _ := h.do(t, post(home+"?key=other", addontest.HomepageEvent(tk), sys))
		if status != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401", status)
		}
		rec := h.logs.onlyRecord(t)
		errMsg, _ := rec["error"].(string)
		if !strings.Contains(errMsg, "audience mismatch") || !strings.Contains(errMsg, publicBase+home) {
			t.Errorf("log error = %q, want audience mismatch naming %s", errMsg, publicBase+home)
		}
		if strings.Contains(h.logs.String(), "t0ps3cret") || strings.Contains(h.logs.String(), "key=other") {
			t.Errorf("log leaks query: %s", h.logs.String())
		}
	})

	t.Run("keys unavailable", func(t *testing.T) {
		t.Parallel()
		failing := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return nil, errors.New("network down")
		})}
		h := newHarness(t, 0, failing)
		tk := h.tokens(t, home)
		status, _ := h.do(t, post(home, addontest.HomepageEvent(tk), tk.System))
		if status != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401", status)
		}
		if got := h.logs.onlyRecord(t)["reason"]; got != "system_token_keys_unavailable" {
			t.Errorf("reason = %v, want system_token_keys_unavailable", got)
		}
	})

	t.Run("success is not logged", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0, nil)
		tk := h.tokens(t, home)
		if status, body := h.do(t, post(home, addontest.HomepageEvent(tk), tk.System)); status != http.StatusOK {
			t.Fatalf("status = %d; body %s", status, body)
		}
		if s := h.logs.String(); s != "" {
			t.Errorf("unexpected log output: %s", s)
		}
	})
}

func TestVerifyUserIDToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0, nil)
	ctx := context.Background()
	tok := h.userToken(t)
	u, err := h.verifier.VerifyUserIDToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	want := addon.User{Subject: workspaceUser.Subject, Email: "alice@acme-support.example", Domain: "acme-support.example"}
	if u != want {
		t.Errorf("user = %+v, want %+v", u, want)
	}
	for name, bad := range map[string]string{
		"empty":         "",
		"garbage":       "garbage",
		"expired":       h.userToken(t, addontest.WithExpiry(time.Now().Add(-time.Minute))),
		"no subject":    h.userToken(t, addontest.WithClaim("sub", nil)),
		"no email":      h.userToken(t, addontest.WithClaim("email", nil), addontest.WithClaim("email_verified", true)),
		"system token":  h.sysToken(t, "/addon/homepage"),
		"aud as a list": h.userToken(t, addontest.WithClaim("aud", []string{clientID, "other"})),
	} {
		if _, err := h.verifier.VerifyUserIDToken(ctx, bad); !errors.Is(err, addon.ErrInvalidToken) {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}
	if err := h.verifier.VerifySystemIDToken(ctx, h.sysToken(t, "/x?y=1"), h.verifier.ExpectedAudience("/x?y=1")); err != nil {
		t.Errorf("VerifySystemIDToken: %v", err)
	}
}

func TestNewVerifierConfig(t *testing.T) {
	t.Parallel()
	valid := addon.VerifierConfig{ServiceAccountEmail: saEmail, OAuthClientID: clientID, PublicBaseURL: publicBase}
	tests := []struct {
		name    string
		mutate  func(*addon.VerifierConfig)
		wantErr bool
	}{
		{"valid", func(*addon.VerifierConfig) {}, false},
		{"base with path prefix", func(c *addon.VerifierConfig) { c.PublicBaseURL = "https://x.example/prefix/" }, false},
		{"http base for local dev", func(c *addon.VerifierConfig) { c.PublicBaseURL = "http://localhost:8080" }, false},
		{"missing SA", func(c *addon.VerifierConfig) { c.ServiceAccountEmail = "" }, true},
		{"SA not an email", func(c *addon.VerifierConfig) { c.ServiceAccountEmail = "service-123" }, true},
		{"missing client id", func(c *addon.VerifierConfig) { c.OAuthClientID = "" }, true},
		{"missing base", func(c *addon.VerifierConfig) { c.PublicBaseURL = "" }, true},
		{"relative base", func(c *addon.VerifierConfig) { c.PublicBaseURL = "/addon" }, true},
		{"ftp base", func(c *addon.VerifierConfig) { c.PublicBaseURL = "ftp://x.example" }, true},
		{"base with query", func(c *addon.VerifierConfig) { c.PublicBaseURL = "https://x.example/?a=1" }, true},
		{"base with fragment", func(c *addon.VerifierConfig) { c.PublicBaseURL = "https://x.example/#a" }, true},
		{"base with user", func(c *addon.VerifierConfig) { c.PublicBaseURL = "https://u:p@x.example" }, true},
		{"negative body limit", func(c *addon.VerifierConfig) { c.MaxBodyBytes = -1 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tc.mutate(&cfg)
			v, err := addon.NewVerifier(context.Background(), cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("NewVerifier err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && v == nil {
				t.Fatal("nil verifier without error")
			}
		})
	}
}

func TestContextAccessorsWithoutMiddleware(t *testing.T) {
	t.Parallel()
	e := echo.New()
	c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", nil), httptest.NewRecorder())
	if ev := addon.EventFrom(c); ev != nil {
		t.Errorf("EventFrom = %v, want nil", ev)
	}
	if u := addon.UserFrom(c); u != (addon.User{}) {
		t.Errorf("UserFrom = %v, want zero", u)
	}
	if _, ok := addon.UserFromContext(context.Background()); ok {
		t.Error("UserFromContext ok on empty context")
	}
}

func FuzzVerifySystemIDToken(f *testing.F) {
	root, err := addontest.NewTrustRoot()
	if err != nil {
		f.Fatal(err)
	}
	v, err := addon.NewVerifier(context.Background(), addon.VerifierConfig{
		ServiceAccountEmail: saEmail, OAuthClientID: clientID, PublicBaseURL: publicBase, HTTPClient: root.HTTPClient(),
	})
	if err != nil {
		f.Fatal(err)
	}
	good, err := root.SystemIDToken(publicBase+"/a", saEmail)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJFUzI1NiJ9.e30.eA")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		err := v.VerifySystemIDToken(context.Background(), tok, publicBase+"/a")
		if err == nil && tok != good {
			t.Fatalf("accepted a token that was not minted: %q", tok)
		}
		_, _ = v.VerifyUserIDToken(context.Background(), tok)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// onlyRecord decodes the single JSON log record written so far.
func (b *syncBuffer) onlyRecord(t *testing.T) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d log records, want 1:\n%s", len(lines), b.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestMiddlewareRejectsES256 serves a (fake) IAP ES256 key next to the
// RS256 keys: Google's add-on ID tokens are RS256, so ES256 tokens must be
// rejected even when validly signed by a key idtoken would accept, and a
// short ES256 signature must not crash the server.
func TestMiddlewareRejectsES256(t *testing.T) {
	t.Parallel()
	const home = "/addon/homepage"
	iapKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const iapKid = "iap-test-key"
	iapJWKS, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kid": iapKid, "kty": "EC", "alg": "ES256", "crv": "P-256", "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(iapKey.X.FillBytes(make([]byte, 32))),
		"y": base64.RawURLEncoding.EncodeToString(iapKey.Y.FillBytes(make([]byte, 32))),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	root, err := addontest.NewTrustRoot()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.String() == addontest.IAPCertsURL {
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(iapJWKS)), Request: r}, nil
		}
		return root.HTTPClient().Transport.RoundTrip(r)
	})}
	v, err := addon.NewVerifier(context.Background(), addon.VerifierConfig{
		ServiceAccountEmail: saEmail, OAuthClientID: clientID, PublicBaseURL: publicBase, HTTPClient: client,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.POST(home, func(c echo.Context) error { return c.NoContent(http.StatusOK) }, v.Middleware())

	now := time.Now()
	claims := map[string]any{
		"iss": "https://accounts.google.com", "aud": publicBase + home, "email": saEmail,
		"email_verified": true, "sub": "1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: iapKey},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", iapKid))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	head, payload, _ := strings.Cut(signed, ".")
	payload, _, _ = strings.Cut(payload, ".")
	short := head + "." + payload + "." + base64.RawURLEncoding.EncodeToString([]byte("x"))

	userTok, err := root.UserIDToken(clientID, workspaceUser)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"validly signed": signed, "short signature": short} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ev := addontest.HomepageEvent(addontest.Tokens{System: tok, User: userTok})
			rec := httptest.NewRecorder()
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("middleware panicked: %v", p)
					}
				}()
				e.ServeHTTP(rec, addontest.NewRequest(http.MethodPost, "http://server"+home, ev, tok))
			}()
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", rec.Code)
			}
		})
	}
}

// TestMiddlewareStopsReadingAtLimit checks that an endless body is not
// read past the limit.
func TestMiddlewareStopsReadingAtLimit(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	root, err := addontest.NewTrustRoot()
	if err != nil {
		t.Fatal(err)
	}
	v, err := addon.NewVerifier(context.Background(), addon.VerifierConfig{
		ServiceAccountEmail: saEmail, OAuthClientID: clientID, PublicBaseURL: publicBase,
		HTTPClient: root.HTTPClient(), MaxBodyBytes: limit,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.POST("/addon/homepage", func(c echo.Context) error { return c.NoContent(http.StatusOK) }, v.Middleware())
	body := &countingReader{}
	req := httptest.NewRequest(http.MethodPost, "/addon/homepage", body)
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", rec.Code)
	}
	if body.n > limit+1 {
		t.Errorf("read %d bytes of an endless body, want at most %d", body.n, limit+1)
	}
}

// countingReader is an endless stream of '{' that counts what was read.
type countingReader struct{ n int }

func (r *countingReader) Read(p []byte) (int, error) {
	if r.n > 64<<20 {
		return 0, io.EOF // safety net so a broken limit fails instead of hanging
	}
	for i := range p {
		p[i] = '{'
	}
	r.n += len(p)
	return len(p), nil
}
