package httpapi

import (
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestUserLimiter(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	l := newUserLimiter(RateLimit{Burst: 3, PerSecond: 0.5}, clock.now)
	const bob, carol = "example.com/bob@example.com", "example.com/carol@example.com"

	for i := range 3 {
		if ok, _ := l.allow(bob); !ok {
			t.Fatalf("bob's action %d refused within the burst", i+1)
		}
	}
	ok, wait := l.allow(bob)
	if ok || wait != 2*time.Second {
		t.Fatalf("bob's 4th action: allowed %v, wait %v; want refused, 2s", ok, wait)
	}
	// A refused action takes nothing: the wait does not grow.
	if ok, again := l.allow(bob); ok || again != wait {
		t.Errorf("bob again: allowed %v, wait %v; want refused, %v", ok, again, wait)
	}
	// Another user has a bucket of their own; the same address in
	// another tenant too.
	if ok, _ := l.allow(carol); !ok {
		t.Error("carol refused for bob's clicks")
	}
	if ok, _ := l.allow("other.example/bob@example.com"); !ok {
		t.Error("bob of another tenant refused")
	}
	// The bucket refills: one action per 2 s.
	clock.advance(time.Second)
	if ok, wait := l.allow(bob); ok || wait != time.Second {
		t.Errorf("after 1 s: allowed %v, wait %v; want refused, 1s", ok, wait)
	}
	clock.advance(time.Second)
	if ok, _ := l.allow(bob); !ok {
		t.Error("after 2 s: bob still refused")
	}
	if ok, _ := l.allow(bob); ok {
		t.Error("bob allowed two actions for one refill")
	}
}

// Buckets of users gone quiet are dropped once they would be full again:
// memory follows the users active in the last refill period, not every
// user ever seen.
func TestUserLimiterEvictsIdle(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	l := newUserLimiter(RateLimit{Burst: 30, PerSecond: 5}, clock.now) // full again after 6 s
	for i := range 1000 {
		l.allow(string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if n := l.size(); n != 1000 {
		t.Fatalf("%d buckets, want 1000", n)
	}
	clock.advance(6 * time.Second)
	l.allow("late@example.com")
	if n := l.size(); n != 1 {
		t.Errorf("%d buckets after 6 s idle, want only the new one", n)
	}
	// A user evicted with an empty bucket would come back full: eviction
	// waits until the bucket is full anyway.
	for range 30 {
		l.allow("busy")
	}
	clock.advance(5 * time.Second) // refilled 25 of 30
	l.allow("other")
	if ok, _ := l.allow("busy"); !ok {
		t.Fatal("busy refused after refilling")
	}
	if n := l.size(); n < 3 {
		t.Errorf("busy's half-full bucket was evicted (%d buckets)", n)
	}
}
