package addon

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/api/idtoken"
)

// TestTokenCacheBound fills a cache far beyond its capacity and checks
// that it never holds more, keeping the most recent entries.
func TestTokenCacheBound(t *testing.T) {
	t.Parallel()
	const capacity = 16
	c := newTokenCache(capacity)
	now := time.Now()
	exp := now.Add(time.Hour)
	for i := range 1000 {
		c.put(newTokenKey(fmt.Sprint(i), "aud"), &idtoken.Payload{Subject: fmt.Sprint(i)}, exp)
		if n := c.len(); n > capacity {
			t.Fatalf("after %d puts the cache holds %d entries, want at most %d", i+1, n, capacity)
		}
	}
	for i := range 1000 {
		p, _ := c.get(newTokenKey(fmt.Sprint(i), "aud"), now)
		if cached, want := p != nil, i >= 1000-capacity; cached != want {
			t.Errorf("entry %d cached = %t, want %t", i, cached, want)
		}
	}
}
