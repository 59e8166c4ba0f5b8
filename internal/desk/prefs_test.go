package desk_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// prefsStore counts GetUserPrefs and can be made to fail it.
type prefsStore struct {
	inbox.Store
	reads atomic.Int64
	fail  atomic.Bool
}

var errBackend = errors.New("backend down")

func (s *prefsStore) GetUserPrefs(ctx context.Context, tenantID, email string) (inbox.UserPrefs, error) {
	s.reads.Add(1)
	if s.fail.Load() {
		return inbox.UserPrefs{}, errBackend
	}
	return s.Store.GetUserPrefs(ctx, tenantID, email)
}

func mustLanguage(t *testing.T, svc *desk.Service, u desk.User, want string) {
	t.Helper()
	got, err := svc.Language(t.Context(), u)
	if err != nil || got != want {
		t.Fatalf("Language(%s) = %q, %v; want %q", u.Email, got, err, want)
	}
}

// TestLanguageCache: two Services over one store are two instances. The
// one that saves sees the preference at once; the other reads the store
// once, then serves its copy for up to a minute, then reads again. Nobody
// else's preference changes, and a store failure is not cached.
func TestLanguageCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := &prefsStore{Store: f.store}
	a := desk.New(desk.Options{Store: s, Reader: f.mail, Now: f.clock.Now})
	b := desk.New(desk.Options{Store: s, Reader: f.mail, Now: f.clock.Now})
	bobOther := desk.User{Email: "bob@other.example", Domain: "other.example"}

	mustLanguage(t, b, bob, "") // b caches "no preference"
	if _, err := a.SetLanguage(t.Context(), bob, "en"); err != nil {
		t.Fatal(err)
	}
	reads := s.reads.Load()
	mustLanguage(t, a, bob, "en") // saved here: no read
	mustLanguage(t, b, bob, "")   // b's copy is stale, and served without a read
	if got := s.reads.Load() - reads; got != 0 {
		t.Errorf("cached lookups read the store %d times, want 0", got)
	}
	f.clock.Add(59 * time.Second)
	mustLanguage(t, b, bob, "")
	f.clock.Add(time.Second)
	mustLanguage(t, b, bob, "en") // expired: read again
	if got := s.reads.Load() - reads; got != 1 {
		t.Errorf("lookups read the store %d times, want 1 (after expiry)", got)
	}

	// The key is tenant and user.
	mustLanguage(t, a, carol, "")
	mustLanguage(t, a, bobOther, "")
	mustLanguage(t, b, bobOther, "")

	// A failed read falls back and is not cached.
	s.fail.Store(true)
	if _, err := a.Language(t.Context(), alice); !errors.Is(err, errBackend) {
		t.Errorf("Language with the store down: %v, want the store's error", err)
	}
	s.fail.Store(false)
	if _, err := a.SetLanguage(t.Context(), alice, "de"); err != nil {
		t.Fatal(err)
	}
	mustLanguage(t, b, alice, "de")

	// A consumer account has no preferences, and costs no read.
	reads = s.reads.Load()
	mustLanguage(t, a, desk.User{Email: "x@gmail.com"}, "")
	if s.reads.Load() != reads {
		t.Error("a consumer account's language read the store")
	}
	// Only installed tenants: a preference needs a tenant.
	if _, err := a.SetLanguage(t.Context(), desk.User{Email: "x@nowhere.example", Domain: "nowhere.example"}, "de"); !errors.Is(err, desk.ErrNotInstalled) {
		t.Errorf("SetLanguage outside a tenant: %v, want ErrNotInstalled", err)
	}
}

// TestSettingsForEveryone: non-admins get their preferences and nothing
// of the admin screens; admins get both.
func TestSettingsForEveryone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.store.UpdateTenant(t.Context(), "example.com", func(tn *inbox.Tenant) error {
		tn.Admins = []string{alice.Email}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.SetLanguage(t.Context(), bob, "de")
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Settings; st.Admin || st.Language != "de" || len(st.Inboxes) != 0 || len(st.Mailboxes) != 0 || r.Notice.ID == "" {
		t.Errorf("bob's settings after saving = %+v, want his preferences only", r)
	}
	st, err := f.svc.Settings(t.Context(), alice)
	if err != nil || !st.Admin || st.Language != "" || len(st.Inboxes) == 0 {
		t.Errorf("alice's settings = %+v, %v; want the admin overview", st, err)
	}
	if _, err := f.svc.Admin(t.Context(), bob, desk.AdminAction{Op: desk.AdminAddAdmin, Emails: bob.Email}); !errors.Is(err, inbox.ErrForbidden) {
		t.Errorf("bob adds himself as admin: %v, want ErrForbidden", err)
	}
}
