package desk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// Every card is worded in its user's language, so the preference is
// looked up for every request; it is kept in a small in-process cache so
// that it costs no store read per card.
//
// Staleness: an instance that saved a preference updates its own cache at
// once. Another instance (Cloud Run runs several) keeps what it read for
// up to prefsTTL: for at most one minute after a save, cards served by
// another instance may still be in the previous language. The first card of
// a user on an instance, and the first after the entry expired, reads the
// store once.
const (
	prefsTTL = time.Minute
	// prefsCacheMax bounds the cache: about 100 bytes an entry, so about
	// 1 MB. When it is full, expired entries go first, then any.
	prefsCacheMax = 10000
)

// prefsKey is a user in a tenant: the cache, like the store, never mixes
// two tenants' users, whatever their addresses.
type prefsKey struct{ tenant, email string }

type prefsEntry struct {
	language string
	expires  time.Time
}

// prefsCache holds users' languages, read through from the store. It is
// safe for concurrent use.
type prefsCache struct {
	mu      sync.Mutex
	entries map[prefsKey]prefsEntry
}

func (c *prefsCache) get(k prefsKey, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !now.Before(e.expires) {
		return "", false
	}
	return e.language, true
}

func (c *prefsCache) put(k prefsKey, language string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[prefsKey]prefsEntry{}
	}
	if _, ok := c.entries[k]; !ok && len(c.entries) >= prefsCacheMax {
		for old, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, old)
			}
		}
		for old := range c.entries {
			if len(c.entries) < prefsCacheMax {
				break
			}
			delete(c.entries, old)
		}
	}
	c.entries[k] = prefsEntry{language: language, expires: now.Add(prefsTTL)}
}

// Language returns the language the caller chose for their cards (the base
// of a BCP 47 tag), or "" when they follow Gmail's locale or cannot have a
// preference (no Workspace identity). It reads the store only when the
// cache has no fresh entry for the caller; a store error is returned and
// nothing is cached, so the caller may fall back to Gmail's locale.
func (s *Service) Language(ctx context.Context, u User) (string, error) {
	if checkIdentity(u) != nil {
		return "", nil
	}
	k := prefsKey{u.Domain, u.Email}
	if lang, ok := s.prefs.get(k, s.now()); ok {
		return lang, nil
	}
	p, err := s.store.GetUserPrefs(ctx, u.Domain, u.Email)
	if err != nil && !errors.Is(err, inbox.ErrNotFound) {
		return "", fmt.Errorf("language of %s: %w", u.Email, err)
	}
	s.prefs.put(k, p.Language, s.now())
	return p.Language, nil
}

// PrefsResult is the outcome of saving one's preferences: the settings
// screen again, and a notice.
type PrefsResult struct {
	Settings Settings
	Notice   Message
}

// SetLanguage saves the caller's language for their own cards ("" follows
// Gmail's locale again); which languages exist is the caller's to check.
// Every user of an installed tenant may; the saved value holds on this
// instance at once (see prefsTTL for the others). Returns ErrInvalid for a
// language that is no BCP 47 language.
func (s *Service) SetLanguage(ctx context.Context, u User, language string) (PrefsResult, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return PrefsResult{}, err
	}
	p := inbox.UserPrefs{TenantID: t.Domain, Email: u.Email, Language: language, UpdatedAt: s.now()}
	if err := s.store.PutUserPrefs(ctx, p); err != nil {
		return PrefsResult{}, fmt.Errorf("save preferences of %s: %w", u.Email, err)
	}
	s.prefs.put(prefsKey{t.Domain, u.Email}, language, s.now())
	st, err := s.settings(ctx, t, u)
	if err != nil {
		return PrefsResult{}, err
	}
	return PrefsResult{Settings: st, Notice: Msg("notice.prefs_saved")}, nil
}
