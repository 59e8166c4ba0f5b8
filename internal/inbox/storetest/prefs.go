package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func prefsCases() []testCase {
	return []testCase{
		{"PutGet", testPrefsPutGet},
		{"NotFound", testPrefsNotFound},
		{"TenantScoped", testPrefsTenantScoped},
		{"UnknownTenant", testPrefsUnknownTenant},
		{"Invalid", testPrefsInvalid},
		{"Reopen", testPrefsReopen},
	}
}

// wantPrefs fails unless s holds want for its tenant and email.
func wantPrefs(t *testing.T, s inbox.Store, want inbox.UserPrefs) {
	t.Helper()
	got, err := s.GetUserPrefs(t.Context(), want.TenantID, want.Email)
	if err != nil {
		t.Fatalf("GetUserPrefs(%s, %s): %v", want.TenantID, want.Email, err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetUserPrefs(%s, %s) mismatch (-want +got):\n%s", want.TenantID, want.Email, diff)
	}
}

// wantNoPrefs fails unless s holds no preferences for email in tenantID.
func wantNoPrefs(t *testing.T, s inbox.Store, tenantID, email string) {
	t.Helper()
	if got, err := s.GetUserPrefs(t.Context(), tenantID, email); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("GetUserPrefs(%s, %s) = %+v, %s; want ErrNotFound", tenantID, email, got, errKind(err))
	}
}

func mustPutPrefs(t *testing.T, s inbox.Store, p inbox.UserPrefs) {
	t.Helper()
	if err := s.PutUserPrefs(t.Context(), p); err != nil {
		t.Fatalf("PutUserPrefs(%+v): %v", p, err)
	}
}

// testPrefsPutGet: a put is read back, and a second put replaces the first
// whole (the empty language, "follow Gmail", included).
func testPrefsPutGet(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	p := inbox.UserPrefs{TenantID: domainA, Email: bob, Language: "de", UpdatedAt: t0}
	mustPutPrefs(t, s, p)
	wantPrefs(t, s, p)
	p.Language, p.UpdatedAt = "", t0.Add(time.Minute)
	mustPutPrefs(t, s, p)
	wantPrefs(t, s, p)
	wantNoPrefs(t, s, domainA, alice)
}

func testPrefsNotFound(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	wantNoPrefs(t, s, domainA, bob)
	wantNoPrefs(t, s, domainB, bob)
}

// testPrefsTenantScoped: the key is (tenant, email). The same address
// under another tenant, and the same local part in another domain, are
// other records.
func testPrefsTenantScoped(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	mustCreateTenant(t, s, domainB)
	a := inbox.UserPrefs{TenantID: domainA, Email: bob, Language: "de", UpdatedAt: t0}
	mustPutPrefs(t, s, a)
	wantNoPrefs(t, s, domainB, bob)
	wantNoPrefs(t, s, domainB, "bob@"+domainB)
	b := inbox.UserPrefs{TenantID: domainB, Email: "bob@" + domainB, Language: "en", UpdatedAt: t0}
	mustPutPrefs(t, s, b)
	other := inbox.UserPrefs{TenantID: domainB, Email: bob, Language: "fr", UpdatedAt: t0}
	mustPutPrefs(t, s, other)
	wantPrefs(t, s, a)
	wantPrefs(t, s, b)
	wantPrefs(t, s, other)
}

func testPrefsUnknownTenant(t *testing.T, h Harness) {
	s := newStore(t, h)
	err := s.PutUserPrefs(t.Context(), inbox.UserPrefs{TenantID: domainA, Email: bob, Language: "de", UpdatedAt: t0})
	if !errors.Is(err, inbox.ErrNotFound) {
		t.Fatalf("PutUserPrefs without the tenant: %s, want ErrNotFound", errKind(err))
	}
	mustCreateTenant(t, s, domainA)
	wantNoPrefs(t, s, domainA, bob)
}

func testPrefsInvalid(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	for _, tc := range []struct {
		name string
		p    inbox.UserPrefs
	}{
		{"no tenant", inbox.UserPrefs{Email: bob, Language: "de"}},
		{"no email", inbox.UserPrefs{TenantID: domainA, Language: "de"}},
		{"upper-case email", inbox.UserPrefs{TenantID: domainA, Email: "Bob@acme.example", Language: "de"}},
		{"not a language", inbox.UserPrefs{TenantID: domainA, Email: bob, Language: "Deutsch"}},
		{"a region", inbox.UserPrefs{TenantID: domainA, Email: bob, Language: "de-AT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.PutUserPrefs(t.Context(), tc.p); !errors.Is(err, inbox.ErrInvalid) {
				t.Errorf("PutUserPrefs(%+v): %s, want ErrInvalid", tc.p, errKind(err))
			}
		})
	}
	wantNoPrefs(t, s, domainA, bob)
}

// testPrefsReopen: preferences are stored, not only held by the store
// value that wrote them.
func testPrefsReopen(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("Harness.Reopen is nil: this backend cannot open a second store over the same data")
	}
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	p := inbox.UserPrefs{TenantID: domainA, Email: bob, Language: "en", UpdatedAt: t0}
	mustPutPrefs(t, s, p)
	wantPrefs(t, h.Reopen(t, s), p)
}
