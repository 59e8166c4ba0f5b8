package addon_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
)

// certsCounter serves a trust root's keys like addontest.TrustRoot.HTTPClient
// but without Cache-Control, so package idtoken fetches them again for
// every signature it checks: the number of fetches is the number of
// signature checks. It can be made to fail, like an unreachable Google.
type certsCounter struct {
	next    http.RoundTripper
	fetches atomic.Int64
	down    atomic.Bool
}

func (c *certsCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.String() == addontest.GoogleCertsURL {
		c.fetches.Add(1)
	}
	if c.down.Load() {
		return nil, errors.New("certs endpoint down")
	}
	resp, err := c.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Header.Del("Cache-Control")
	return resp, nil
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// tokenWorld is an IDTokens against a trust root whose key fetches are
// counted, with a settable clock.
type tokenWorld struct {
	root   *addontest.TrustRoot
	certs  *certsCounter
	clock  *testClock
	tokens *addon.IDTokens
}

func newTokenWorld(t *testing.T, opts ...addon.IDTokensOption) *tokenWorld {
	t.Helper()
	root, err := addontest.NewTrustRoot()
	if err != nil {
		t.Fatal(err)
	}
	w := &tokenWorld{root: root, certs: &certsCounter{next: root.HTTPClient().Transport}, clock: &testClock{t: time.Now()}}
	opts = append([]addon.IDTokensOption{addon.WithClock(w.clock.Now)}, opts...)
	w.tokens, err = addon.NewIDTokens(context.Background(), &http.Client{Transport: w.certs}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// system mints a system ID token for audience.
func (w *tokenWorld) system(t *testing.T, audience string, opts ...addontest.TokenOption) string {
	t.Helper()
	tok, err := w.root.SystemIDToken(audience, saEmail, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// step is one call of a cache test: verify tok for aud, expecting an
// error (or none) and the number of signature checks it costs.
type step struct {
	name       string
	before     func(w *tokenWorld) // optional
	tok        string
	aud        string
	wantErr    bool
	wantChecks int64
}

func runSteps(t *testing.T, w *tokenWorld, steps []step) {
	t.Helper()
	for _, s := range steps {
		if s.before != nil {
			s.before(w)
		}
		before := w.certs.fetches.Load()
		_, err := w.tokens.Verify(context.Background(), s.tok, s.aud)
		if got := err != nil; got != s.wantErr {
			t.Fatalf("%s: Verify error = %v, want error %t", s.name, err, s.wantErr)
		}
		if err != nil && !w.certs.down.Load() && !errors.Is(err, addon.ErrInvalidToken) {
			t.Fatalf("%s: error %v does not wrap ErrInvalidToken", s.name, err)
		}
		if got := w.certs.fetches.Load() - before; got != s.wantChecks {
			t.Fatalf("%s: %d signature checks, want %d", s.name, got, s.wantChecks)
		}
	}
}

func TestIDTokenCache(t *testing.T) {
	t.Parallel()
	const audA, audB = publicBase + "/addon/homepage", publicBase + "/addon/action"

	tests := []struct {
		name  string
		opts  []addon.IDTokensOption
		steps func(t *testing.T, w *tokenWorld) []step
	}{
		{
			name: "a verified token is checked once",
			steps: func(t *testing.T, w *tokenWorld) []step {
				tok := w.system(t, audA)
				return []step{
					{name: "first", tok: tok, aud: audA, wantChecks: 1},
					{name: "second", tok: tok, aud: audA},
					{name: "third", tok: tok, aud: audA},
				}
			},
		},
		{
			name: "a token verified for A is refused for B",
			steps: func(t *testing.T, w *tokenWorld) []step {
				tok := w.system(t, audA)
				return []step{
					{name: "A", tok: tok, aud: audA, wantChecks: 1},
					{name: "B", tok: tok, aud: audB, wantErr: true},
					{name: "A again", tok: tok, aud: audA},
				}
			},
		},
		{
			name: "an expired token is refused although cached",
			steps: func(t *testing.T, w *tokenWorld) []step {
				exp := w.clock.Now().Add(10 * time.Minute).Truncate(time.Second)
				tok := w.system(t, audA, addontest.WithExpiry(exp))
				return []step{
					{name: "fresh", tok: tok, aud: audA, wantChecks: 1},
					{name: "a second before exp", before: func(w *tokenWorld) { w.clock.Set(exp.Add(-time.Second)) }, tok: tok, aud: audA},
					{name: "at exp", before: func(w *tokenWorld) { w.clock.Set(exp) }, tok: tok, aud: audA, wantErr: true},
					{name: "after exp", before: func(w *tokenWorld) { w.clock.Set(exp.Add(time.Hour)) }, tok: tok, aud: audA, wantErr: true, wantChecks: 1},
				}
			},
		},
		{
			name: "a token already expired on the clock is not cached",
			steps: func(t *testing.T, w *tokenWorld) []step {
				exp := w.clock.Now().Add(10 * time.Minute)
				tok := w.system(t, audA, addontest.WithExpiry(exp))
				late := func(w *tokenWorld) { w.clock.Set(exp.Add(time.Minute)) }
				return []step{
					// idtoken accepts it (real time); the clock does not.
					{name: "first", before: late, tok: tok, aud: audA, wantErr: true, wantChecks: 1},
					{name: "second", tok: tok, aud: audA, wantErr: true, wantChecks: 1},
				}
			},
		},
		{
			name: "a token refused after its signature is never cached",
			steps: func(t *testing.T, w *tokenWorld) []step {
				tok := w.system(t, audA, addontest.WithoutEmailVerified())
				return []step{
					{name: "first", tok: tok, aud: audA, wantErr: true, wantChecks: 1},
					{name: "second", tok: tok, aud: audA, wantErr: true, wantChecks: 1},
				}
			},
		},
		{
			name: "a key fetch failure is not cached",
			steps: func(t *testing.T, w *tokenWorld) []step {
				tok := w.system(t, audA)
				return []step{
					{name: "google down", before: func(w *tokenWorld) { w.certs.down.Store(true) }, tok: tok, aud: audA, wantErr: true, wantChecks: 1},
					{name: "google back", before: func(w *tokenWorld) { w.certs.down.Store(false) }, tok: tok, aud: audA, wantChecks: 1},
					{name: "cached", tok: tok, aud: audA},
				}
			},
		},
		{
			name: "the least recently used token is evicted beyond the size",
			opts: []addon.IDTokensOption{addon.WithTokenCacheSize(2)},
			steps: func(t *testing.T, w *tokenWorld) []step {
				a, b, c := w.system(t, audA), w.system(t, audA+"?b"), w.system(t, audA+"?c")
				return []step{
					{name: "a", tok: a, aud: audA, wantChecks: 1},
					{name: "b", tok: b, aud: audA + "?b", wantChecks: 1},
					{name: "a cached", tok: a, aud: audA},
					{name: "c evicts b", tok: c, aud: audA + "?c", wantChecks: 1},
					{name: "a still cached", tok: a, aud: audA},
					{name: "c cached", tok: c, aud: audA + "?c"},
					{name: "b checked again", tok: b, aud: audA + "?b", wantChecks: 1},
					{name: "a evicted by b", tok: a, aud: audA, wantChecks: 1},
				}
			},
		},
		{
			name: "size 0 turns the cache off",
			opts: []addon.IDTokensOption{addon.WithTokenCacheSize(0)},
			steps: func(t *testing.T, w *tokenWorld) []step {
				tok := w.system(t, audA)
				return []step{
					{name: "first", tok: tok, aud: audA, wantChecks: 1},
					{name: "second", tok: tok, aud: audA, wantChecks: 1},
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newTokenWorld(t, tc.opts...)
			runSteps(t, w, tc.steps(t, w))
		})
	}
}

// TestIDTokenCacheKeepsClaimChecks checks that what is checked after
// Verify (the service account's email, the user's sub and email) still
// refuses a token that Verify accepts from the cache.
func TestIDTokenCacheKeepsClaimChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newTokenWorld(t)
	const aud = publicBase + "/addon/homepage"
	tok := w.system(t, aud)
	if err := w.tokens.VerifyServiceAccount(ctx, tok, aud, saEmail); err != nil {
		t.Fatalf("VerifyServiceAccount: %v", err)
	}
	fetches := w.certs.fetches.Load()
	err := w.tokens.VerifyServiceAccount(ctx, tok, aud, "service-999@gcp-sa-gsuiteaddons.iam.gserviceaccount.com")
	if !errors.Is(err, addon.ErrInvalidToken) {
		t.Fatalf("cached token for another service account: err = %v, want ErrInvalidToken", err)
	}
	if got := w.certs.fetches.Load(); got != fetches {
		t.Fatalf("the refusal checked the signature again (%d fetches, want %d): was it cached?", got, fetches)
	}

	// A payload handed out is the caller's: changing it changes nothing
	// for the next caller.
	p, err := w.tokens.Verify(ctx, tok, aud)
	if err != nil {
		t.Fatal(err)
	}
	p.Claims["email"] = "mallory@example.com"
	p.Issuer = "https://evil.example"
	if err := w.tokens.VerifyServiceAccount(ctx, tok, aud, saEmail); err != nil {
		t.Fatalf("after a caller changed its payload: %v", err)
	}
}

// TestVerifierUsesTokenCache checks the middleware end to end: a second
// request with the same tokens checks no signature, and a user token that
// expired on the Verifier's clock is refused although it was cached.
func TestVerifierUsesTokenCache(t *testing.T) {
	t.Parallel()
	root, err := addontest.NewTrustRoot()
	if err != nil {
		t.Fatal(err)
	}
	certs := &certsCounter{next: root.HTTPClient().Transport}
	clock := &testClock{t: time.Now()}
	v, err := addon.NewVerifier(context.Background(), addon.VerifierConfig{
		ServiceAccountEmail: saEmail, OAuthClientID: clientID, PublicBaseURL: publicBase,
		HTTPClient: &http.Client{Transport: certs}, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	const uri = "/addon/homepage"
	sys, err := root.SystemIDToken(publicBase+uri, saEmail)
	if err != nil {
		t.Fatal(err)
	}
	exp := clock.Now().Add(30 * time.Minute)
	user, err := root.UserIDToken(clientID, workspaceUser, addontest.WithExpiry(exp))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(name string, wantErr bool, wantChecks int64) {
		t.Helper()
		before := certs.fetches.Load()
		err := v.VerifySystemIDToken(ctx, sys, publicBase+uri)
		if err == nil {
			_, err = v.VerifyUserIDToken(ctx, user)
		}
		if (err != nil) != wantErr {
			t.Fatalf("%s: err = %v, want error %t", name, err, wantErr)
		}
		if got := certs.fetches.Load() - before; got != wantChecks {
			t.Fatalf("%s: %d signature checks, want %d", name, got, wantChecks)
		}
	}
	check("first request", false, 2)
	check("second request", false, 0)
	clock.Set(exp)
	check("user token expired", true, 0)
}

// TestIDTokenCacheConcurrent verifies a few tokens from many goroutines
// (run with -race): every call succeeds, and once each token is cached no
// signature is checked again.
func TestIDTokenCacheConcurrent(t *testing.T) {
	t.Parallel()
	w := newTokenWorld(t, addon.WithTokenCacheSize(3))
	const aud = publicBase + "/addon/homepage"
	toks := make([]string, 5) // more than the cache holds: evictions race too
	for i := range toks {
		toks[i] = w.system(t, fmt.Sprintf("%s?n=%d", aud, i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				n := (g + i) % len(toks)
				if _, err := w.tokens.Verify(context.Background(), toks[n], fmt.Sprintf("%s?n=%d", aud, n)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	w2 := newTokenWorld(t)
	tok := w2.system(t, aud)
	if _, err := w2.tokens.Verify(context.Background(), tok, aud); err != nil {
		t.Fatal(err)
	}
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := w2.tokens.Verify(context.Background(), tok, aud); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := w2.certs.fetches.Load(); got != 1 {
		t.Errorf("%d signature checks for one token verified 401 times, want 1", got)
	}
}
