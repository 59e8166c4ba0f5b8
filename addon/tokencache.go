package addon

import (
	"container/list"
	"crypto/sha256"
	"maps"
	"sync"
	"time"

	"google.golang.org/api/idtoken"
)

// DefaultTokenCacheSize is the number of verified ID tokens an IDTokens
// keeps when no WithTokenCacheSize option is given. A Google ID token lives
// an hour and the add-on sees two per request (system and user), so this
// covers a few thousand active users; an entry is a few hundred bytes.
const DefaultTokenCacheSize = 4096

// tokenKey identifies one verification: the SHA-256 of the token and the
// audience it was verified for. The token itself is never kept.
type tokenKey [sha256.Size]byte

func newTokenKey(token, audience string) tokenKey {
	h := sha256.New()
	h.Write([]byte(token))
	// A JWT never contains NUL, so the pair cannot be confused with
	// another token/audience split of the same bytes.
	h.Write([]byte{0})
	h.Write([]byte(audience))
	var k tokenKey
	h.Sum(k[:0])
	return k
}

// tokenEntry is a token that passed every check of IDTokens.Verify.
type tokenEntry struct {
	key     tokenKey
	payload *idtoken.Payload
	expires time.Time // the token's exp
}

// tokenCache remembers verified ID tokens until they expire: a map plus a
// recency list, evicting the least recently used entry beyond capacity. It is
// safe for concurrent use.
type tokenCache struct {
	capacity int

	mu    sync.Mutex
	byKey map[tokenKey]*list.Element // of *tokenEntry
	lru   *list.List                 // front: most recently used
}

func newTokenCache(capacity int) *tokenCache {
	return &tokenCache{capacity: capacity, byKey: make(map[tokenKey]*list.Element), lru: list.New()}
}

// get returns a copy of the payload cached for k if the token has not
// expired at now; an expired entry is dropped. expired reports that k was
// cached but its token is past exp: the caller must refuse it rather than
// verify it again against a clock that may disagree.
func (c *tokenCache) get(k tokenKey, now time.Time) (p *idtoken.Payload, expired bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return nil, false
	}
	e := el.Value.(*tokenEntry)
	if !now.Before(e.expires) {
		c.lru.Remove(el)
		delete(c.byKey, k)
		return nil, true
	}
	c.lru.MoveToFront(el)
	return clonePayload(e.payload), false
}

// put caches p for k until expires, evicting the least recently used
// entries beyond the size bound.
func (c *tokenCache) put(k tokenKey, p *idtoken.Payload, expires time.Time) {
	if c == nil || c.capacity <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok {
		el.Value = &tokenEntry{key: k, payload: clonePayload(p), expires: expires}
		c.lru.MoveToFront(el)
		return
	}
	c.byKey[k] = c.lru.PushFront(&tokenEntry{key: k, payload: clonePayload(p), expires: expires})
	for c.lru.Len() > c.capacity {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.byKey, oldest.Value.(*tokenEntry).key)
	}
}

// len returns the number of cached entries.
func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// clonePayload copies p and its claims map, so that what a caller does to a
// returned payload never reaches the cache (the claim values themselves are
// decoded JSON and not modified by anyone here).
func clonePayload(p *idtoken.Payload) *idtoken.Payload {
	out := *p
	out.Claims = maps.Clone(p.Claims)
	return &out
}
