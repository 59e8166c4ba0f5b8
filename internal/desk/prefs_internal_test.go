package desk

import (
	"fmt"
	"testing"
	"time"
)

// TestPrefsCacheBounded: a full cache drops expired entries first, then
// any, and never grows past prefsCacheMax.
func TestPrefsCacheBounded(t *testing.T) {
	t.Parallel()
	var c prefsCache
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range prefsCacheMax {
		c.put(prefsKey{"example.com", fmt.Sprintf("u%d@example.com", i)}, "de", t0)
	}
	c.put(prefsKey{"example.com", "new@example.com"}, "en", t0)
	if n := len(c.entries); n != prefsCacheMax {
		t.Fatalf("entries = %d, want %d", n, prefsCacheMax)
	}
	if l, ok := c.get(prefsKey{"example.com", "new@example.com"}, t0); !ok || l != "en" {
		t.Errorf("the newest entry = %q, %v", l, ok)
	}
	later := t0.Add(prefsTTL)
	c.put(prefsKey{"other.example", "new@other.example"}, "de", later.Add(-time.Second))
	c.put(prefsKey{"other.example", "x@other.example"}, "de", later)
	if n := len(c.entries); n != 2 {
		t.Errorf("entries after the old ones expired = %d, want 2 (expired ones dropped first)", n)
	}
}
