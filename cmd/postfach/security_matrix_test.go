package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/manifests"
)

// Route classes of the security matrix: who may call a route and how it
// proves it.
const (
	classAddon     = "add-on (Google system token + user token)"
	classPush      = "Gmail push (push service account OIDC)"
	classTask      = "scheduled task (scheduler service account OIDC)"
	classOAuth     = "OAuth consent (signed state)"
	classChart     = "report chart (signed link)"
	classPublic    = "public"
	classDevPublic = "dev only, public"
)

// routeClasses is every route the dev app answers, by path. A new route
// without a row fails TestSecurityMatrix: decide how it is protected.
var routeClasses = map[string]string{
	manifests.PathHomepage:    classAddon,
	manifests.PathMessageOpen: classAddon,
	manifests.PathAction:      classAddon,
	manifests.PathCompose:     classAddon,
	manifests.PathSettings:    classAddon,
	httpapi.PathBaseline:      classAddon,
	httpapi.PathPush:          classPush,
	httpapi.PathRenewWatches:  classTask,
	httpapi.PathSweep:         classTask,
	httpapi.PathReconcile:     classTask,
	httpapi.PathSLASweep:      classTask,
	mailboxauth.ConnectPath:   classOAuth,
	mailboxauth.CallbackPath:  classOAuth,
	httpapi.PathReportChart:   classChart,
	httpapi.PathHealth:        classPublic,
	httpapi.PathReady:         classPublic,
	manifests.PathLogo:        classPublic,
	"/":                       classDevPublic,
	"/playground/*":           classDevPublic,
	"/dev/tokens":             classDevPublic,
	"/dev/deliver":            classDevPublic,
	"/dev/google/*":           classDevPublic,
	"/gmail/v1/*":             classDevPublic,
	"/upload/gmail/v1/*":      classDevPublic,
}

// TestSecurityMatrix sends every protected route of the dev app every
// kind of bad credential and every kind of forbidden request, and checks
// each is refused with the status the app answers and that the store saw
// no write.
func TestSecurityMatrix(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testSecurityMatrix(t, kind)
		})
	}
}

func testSecurityMatrix(t *testing.T, kind string) {
	var counted *countingStore
	// serve's default rate limit is on, as in production: no refusal of
	// the matrix may depend on it being off.
	cfg := devConfig{Store: storeConfig{Kind: kind}, RateLimit: httpapi.DefaultRateLimit}
	cfg.WrapStore = func(s inbox.Store) inbox.Store {
		counted = &countingStore{Store: s}
		return counted
	}
	h := startHarnessWith(t, cfg)
	base := h.app.BaseURL
	root := h.app.Root
	stranger, err := addontest.NewTrustRoot()
	if err != nil {
		t.Fatal(err)
	}

	// Every route has a row, and every row a route.
	seen := map[string]bool{}
	for _, r := range h.app.server.Routes() {
		seen[r.Path] = true
		if _, ok := routeClasses[r.Path]; !ok {
			t.Errorf("route %s %s has no row in routeClasses: add it to the security matrix", r.Method, r.Path)
		}
	}
	for p := range routeClasses {
		if !seen[p] {
			t.Errorf("routeClasses row %s: no such route", p)
		}
	}

	// noWrite runs do and fails if the store saw a write meanwhile.
	noWrite := func(t *testing.T, do func()) {
		t.Helper()
		// The dev app's own background work (the demo mailboxes' first
		// syncs, a mirror) must not be counted against a refused request.
		h.settle()
		before := counted.writes.Load()
		do()
		if d := counted.writes.Load() - before; d != 0 {
			t.Errorf("%d store writes, want none", d)
		}
	}

	const alice = "alice@example.com"
	past, future := time.Now().Add(-2*time.Hour), time.Now().Add(time.Hour)
	// bad mints a token for audience as serviceAccount that fails in one way.
	type badToken struct {
		name string
		mint func(audience, serviceAccount string) (string, error)
	}
	badTokens := []badToken{
		{"no token", func(string, string) (string, error) { return "", nil }},
		{"expired", func(aud, sa string) (string, error) {
			return root.SystemIDToken(aud, sa, addontest.WithIssuedAt(past), addontest.WithExpiry(past.Add(time.Hour)))
		}},
		{"not yet valid", func(aud, sa string) (string, error) {
			return root.SystemIDToken(aud, sa, addontest.WithIssuedAt(future))
		}},
		{"not yet valid (nbf)", func(aud, sa string) (string, error) {
			return root.SystemIDToken(aud, sa, addontest.WithClaim("nbf", future.Unix()))
		}},
		{"wrong audience", func(_, sa string) (string, error) { return root.SystemIDToken("https://evil.example/x", sa) }},
		{"wrong issuer", func(aud, sa string) (string, error) {
			return root.SystemIDToken(aud, sa, addontest.WithIssuer("https://evil.example"))
		}},
		{"wrong signer", func(aud, sa string) (string, error) { return stranger.SystemIDToken(aud, sa) }},
		{"wrong key id", func(aud, sa string) (string, error) {
			return root.SystemIDToken(aud, sa, addontest.WithKeyID("no-such-key"))
		}},
		{"wrong service account", func(aud, _ string) (string, error) {
			return root.SystemIDToken(aud, "evil@evil-project.iam.gserviceaccount.com")
		}},
		{"unverified service account", func(aud, sa string) (string, error) {
			return root.SystemIDToken(aud, sa, addontest.WithoutEmailVerified())
		}},
	}
	serviceAccount := map[string]string{classAddon: devServiceAccount, classPush: devPushServiceAccount, classTask: devSchedulerServiceAccount}

	for path, class := range routeClasses {
		sa, ok := serviceAccount[class]
		if !ok {
			continue
		}
		url := base + path
		for _, bt := range badTokens {
			t.Run(path+"/"+bt.name, func(t *testing.T) {
				tok, err := bt.mint(url, sa)
				if err != nil {
					t.Fatal(err)
				}
				var req *http.Request
				if class == classAddon {
					// A valid user token: only the system token is bad.
					user, err := root.UserIDToken(devOAuthClientID, addon.User{Email: alice, Domain: "example.com"})
					if err != nil {
						t.Fatal(err)
					}
					ev := addontest.ActionEvent(addontest.Tokens{}, map[string]string{"op": "admin-add-admin", "email": "mallory@example.com"}, nil)
					ev.Auth.SystemIDToken, ev.Auth.UserIDToken = tok, user
					req = addontest.NewRequest(http.MethodPost, url, ev, tok)
				} else {
					req, err = http.NewRequest(http.MethodPost, url, strings.NewReader(`{"message":{"data":"e30=","messageId":"1"},"subscription":"s"}`))
					if err != nil {
						t.Fatal(err)
					}
					if tok != "" {
						req.Header.Set("Authorization", "Bearer "+tok)
					}
				}
				noWrite(t, func() {
					if st := statusOf(t, req); st != http.StatusUnauthorized {
						t.Errorf("status %d, want 401", st)
					}
				})
			})
		}
	}

	// The user token of an add-on request: valid system token, bad user token.
	badUser := []struct {
		name string
		mint func() (string, error)
	}{
		{"no user token", func() (string, error) { return "", nil }},
		{"user expired", func() (string, error) {
			return root.UserIDToken(devOAuthClientID, addon.User{Email: alice, Domain: "example.com"}, addontest.WithIssuedAt(past), addontest.WithExpiry(past.Add(time.Hour)))
		}},
		{"user not yet valid", func() (string, error) {
			return root.UserIDToken(devOAuthClientID, addon.User{Email: alice, Domain: "example.com"}, addontest.WithIssuedAt(future))
		}},
		{"user wrong audience", func() (string, error) {
			return root.UserIDToken("evil.apps.googleusercontent.com", addon.User{Email: alice, Domain: "example.com"})
		}},
		{"user wrong issuer", func() (string, error) {
			return root.UserIDToken(devOAuthClientID, addon.User{Email: alice, Domain: "example.com"}, addontest.WithIssuer("https://evil.example"))
		}},
		{"user wrong signer", func() (string, error) {
			return stranger.UserIDToken(devOAuthClientID, addon.User{Email: alice, Domain: "example.com"})
		}},
		{"user unverified email", func() (string, error) {
			return root.UserIDToken(devOAuthClientID, addon.User{Email: alice, Domain: "example.com"}, addontest.WithoutEmailVerified())
		}},
	}
	for path, class := range routeClasses {
		if class != classAddon {
			continue
		}
		url := base + path
		for _, bu := range badUser {
			t.Run(path+"/"+bu.name, func(t *testing.T) {
				user, err := bu.mint()
				if err != nil {
					t.Fatal(err)
				}
				sys, err := root.SystemIDToken(url, devServiceAccount)
				if err != nil {
					t.Fatal(err)
				}
				ev := addontest.ActionEvent(addontest.Tokens{}, map[string]string{"op": "admin-add-admin", "email": "mallory@example.com"}, nil)
				ev.Auth.SystemIDToken, ev.Auth.UserIDToken = sys, user
				noWrite(t, func() {
					if st := statusOf(t, addontest.NewRequest(http.MethodPost, url, ev, sys)); st != http.StatusUnauthorized {
						t.Errorf("status %d, want 401", st)
					}
				})
			})
		}
	}

	// Valid tokens, forbidden requests.
	convID := inbox.ConversationID("support", refund.MessageID(0))
	forbidden := []struct {
		name, who string
		params    map[string]string
		want      int
	}{
		{"non-member assigns", "dave@example.com", map[string]string{"op": "assign-me", "conv": convID, "v": "1"}, http.StatusForbidden},
		{"non-member notes", "dave@example.com", map[string]string{"op": "note", "conv": convID, "v": "1"}, http.StatusForbidden},
		{"non-member closes", "dave@example.com", map[string]string{"op": "status", "conv": convID, "v": "1", "value": "closed"}, http.StatusForbidden},
		{"other tenant notes", "eve@other.example", map[string]string{"op": "note", "conv": convID, "v": "1"}, http.StatusForbidden},
		{"other tenant closes", "eve@other.example", map[string]string{"op": "status", "conv": convID, "v": "1", "value": "closed"}, http.StatusForbidden},
		{"non-admin adds admin", "bob@example.com", map[string]string{"op": "admin-add-admin", "email": "bob@example.com"}, http.StatusForbidden},
		{"non-admin deletes inbox", "bob@example.com", map[string]string{"op": "admin-delete-inbox", "inbox": "support"}, http.StatusForbidden},
		{"non-admin adds member", "bob@example.com", map[string]string{"op": "admin-add-member", "inbox": "support", "email": "mallory@example.com"}, http.StatusForbidden},
		{"non-admin saves SLA", "bob@example.com", map[string]string{"op": "sla-save", "inbox": "support"}, http.StatusForbidden},
		{"non-admin saves rule", "bob@example.com", map[string]string{"op": "rule-save", "inbox": "support"}, http.StatusForbidden},
		{"non-admin renames inbox", "bob@example.com", map[string]string{"op": "admin-rename-inbox", "inbox": "support"}, http.StatusForbidden},
		{"non-admin sets inbox options", "bob@example.com", map[string]string{"op": "admin-set-options", "inbox": "support"}, http.StatusForbidden},
		{"non-admin removes member", "bob@example.com", map[string]string{"op": "admin-remove-member", "inbox": "support", "email": "carol@example.com"}, http.StatusForbidden},
		{"forged conversation of another inbox", "bob@example.com", map[string]string{"op": "note", "conv": inbox.ConversationID("sales", "<forged@example.com>"), "v": "1"}, http.StatusForbidden},
	}
	for _, f := range forbidden {
		t.Run("forbidden/"+f.name, func(t *testing.T) {
			noWrite(t, func() {
				r := h.call(f.who, base+manifests.PathAction, addontest.ActionEvent(addontest.Tokens{}, f.params,
					map[string][]string{"note": {"x"}, "name": {"X"}, "address": {"x@example.com"}, "emails": {"mallory@example.com"}}))
				if r.status != f.want {
					t.Errorf("status %d, want %d: %s", r.status, f.want, r.raw)
				}
				if strings.Contains(r.raw, "Refund") {
					t.Errorf("leaked the conversation: %s", r.raw)
				}
			})
		})
	}

	// The report chart wants its signed link.
	for _, q := range []string{"", "?inbox=support", "?inbox=support&sig=AAAA&exp=9999999999"} {
		t.Run("chart"+q, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, base+httpapi.PathReportChart+q, nil)
			noWrite(t, func() {
				if st := statusOf(t, req); st != http.StatusForbidden {
					t.Errorf("status %d, want 403", st)
				}
			})
		})
	}

	// OAuth: a forged or missing state is refused; a used state cannot be
	// replayed.
	for _, q := range []string{"", "?state=forged&code=c", "?code=c"} {
		for _, p := range []string{mailboxauth.ConnectPath, mailboxauth.CallbackPath} {
			t.Run("oauth"+p+q, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, base+p+q, nil)
				noWrite(t, func() {
					if st := statusOf(t, req); st != http.StatusBadRequest {
						t.Errorf("status %d, want 400", st)
					}
				})
			})
		}
	}
	t.Run("oauth replayed state", func(t *testing.T) {
		const dave = "dave@example.com"
		if err := h.app.Syncer.Unlink(context.Background(), dave); err != nil {
			t.Fatal(err)
		}
		connect := linkOf(t, h.homepage(dave).card, "Connect my mailbox")
		var callback string
		browser := &http.Client{CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if r.URL.Path == mailboxauth.CallbackPath {
				callback = r.URL.String()
			}
			return nil
		}}
		resp, err := browser.Get(connect)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || callback == "" {
			t.Fatalf("connect flow: %d, callback %q", resp.StatusCode, callback)
		}
		// Connecting starts a sync of dave's mailbox, whose writes are
		// not the replay's: let it and its echoes finish first.
		h.settle()
		// The same link consented to again: the same state with a fresh
		// code, which Google would exchange.
		untilCallback := &http.Client{CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if r.URL.Path == mailboxauth.CallbackPath {
				return http.ErrUseLastResponse
			}
			return nil
		}}
		resp, err = untilCallback.Get(connect)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		fresh, err := resp.Location()
		if err != nil || fresh.Path != mailboxauth.CallbackPath {
			t.Fatalf("consent again: %d to %v (%v)", resp.StatusCode, fresh, err)
		}
		used, err := url.Parse(callback)
		if err != nil {
			t.Fatal(err)
		}
		if fresh.Query().Get("state") != used.Query().Get("state") || fresh.Query().Get("code") == used.Query().Get("code") {
			t.Fatalf("consent again: callback %v, want the state of %v with another code", fresh, used)
		}
		// The state is single-use: the callback replayed with its used
		// code or with the fresh one is refused, 400, before any code
		// exchange.
		for name, u := range map[string]string{"used code": callback, "fresh code": fresh.String()} {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			noWrite(t, func() {
				if st := statusOf(t, req); st != http.StatusBadRequest {
					t.Errorf("replayed callback, %s: status %d, want 400", name, st)
				}
			})
		}
		// Google refuses a used code as well: with dave's link gone, and
		// with it the record of the state it spent, the replayed callback
		// reaches the code exchange (invalid_grant) and answers 502.
		if err := h.app.Syncer.Unlink(context.Background(), dave); err != nil {
			t.Fatal(err)
		}
		h.settle()
		req, _ := http.NewRequest(http.MethodGet, callback, nil)
		noWrite(t, func() {
			if st := statusOf(t, req); st != http.StatusBadGateway {
				t.Errorf("replayed callback after unlink: status %d, want 502", st)
			}
		})
	})
}

// statusOf sends req and returns the response status.
func statusOf(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestSecurityMatrixServe wires the app as `postfach serve` does (push
// sync, report charts, no dev world) and checks that none of the dev-only
// routes exist there, and that every route it has is in the matrix.
func TestSecurityMatrixServe(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"POSTFACH_BASE_URL":                  "https://postfach.example.com",
		"POSTFACH_ADDON_SERVICE_ACCOUNT":     "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
		"POSTFACH_OAUTH_CLIENT_ID":           "1.apps.googleusercontent.com",
		"POSTFACH_STORE":                     "sqlite",
		"POSTFACH_SQLITE_PATH":               filepath.Join(t.TempDir(), "postfach.db"),
		"POSTFACH_PUBSUB_TOPIC":              "projects/p/topics/t",
		"POSTFACH_PUSH_SERVICE_ACCOUNT":      "push@p.iam.gserviceaccount.com",
		"POSTFACH_SCHEDULER_SERVICE_ACCOUNT": "sched@p.iam.gserviceaccount.com",
		"POSTFACH_GOOGLE_CERTS_URL":          "http://127.0.0.1:9/certs",
		"POSTFACH_REPORT_KEY":                base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)),
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.stop(); err != nil {
			t.Error(err)
		}
	})
	got := map[string]bool{}
	for _, r := range a.server.Routes() {
		got[r.Path] = true
		class, ok := routeClasses[r.Path]
		switch {
		case !ok:
			t.Errorf("serve route %s %s has no row in routeClasses", r.Method, r.Path)
		case class == classDevPublic || strings.HasPrefix(r.Path, "/dev/") || strings.HasPrefix(r.Path, "/playground"):
			t.Errorf("serve answers the dev-only route %s %s", r.Method, r.Path)
		}
	}
	for _, p := range []string{manifests.PathAction, httpapi.PathPush, httpapi.PathSLASweep, httpapi.PathReportChart} {
		if !got[p] {
			t.Errorf("serve lacks %s", p)
		}
	}
	// And asking for them is a 404, not a page.
	for _, p := range []string{"/", "/playground/", "/dev/tokens?email=alice@example.com&url=x", "/dev/deliver", httpapi.PathBaseline, "/gmail/v1/users/me/profile"} {
		rec := httptest.NewRecorder()
		a.server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("serve GET %s: %d, want 404", p, rec.Code)
		}
	}
}
