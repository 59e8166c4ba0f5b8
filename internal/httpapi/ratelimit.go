package httpapi

import (
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/postfach/postfach/addon"
)

// RateLimit bounds how fast one user (tenant and address) may fire card
// actions: a token bucket of Burst actions, refilled at PerSecond. The
// zero value is no limit.
type RateLimit struct {
	Burst     int
	PerSecond float64
}

// DefaultRateLimit is generous for a person (a burst of 30 clicks, then 5
// a second) and stops a script, a stuck client or a stolen token from
// writing as fast as it can.
var DefaultRateLimit = RateLimit{Burst: 30, PerSecond: 5}

// On reports whether the limit limits anything.
func (r RateLimit) On() bool { return r.Burst > 0 && r.PerSecond > 0 }

// userLimiter keeps one token bucket per user. Buckets live in this
// process only: on Cloud Run each instance limits the users it serves,
// which bounds a user to the limit times the instances serving them.
// Memory stays bounded: a bucket idle long enough to be full again is
// the same as a new one and is dropped.
type userLimiter struct {
	limit RateLimit
	now   func() time.Time
	idle  time.Duration // a bucket unused this long is full again

	mu        sync.Mutex
	users     map[string]*userBucket
	lastSweep time.Time
}

type userBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newUserLimiter(l RateLimit, now func() time.Time) *userLimiter {
	refill := time.Duration(float64(l.Burst) / l.PerSecond * float64(time.Second))
	return &userLimiter{limit: l, now: now, idle: max(refill, time.Second), users: map[string]*userBucket{}}
}

// allow takes one action from key's bucket. When it is empty, nothing is
// taken and wait says when the next action will be allowed.
func (u *userLimiter) allow(key string) (ok bool, wait time.Duration) {
	now := u.now()
	u.mu.Lock()
	defer u.mu.Unlock()
	u.sweep(now)
	b, found := u.users[key]
	if !found {
		b = &userBucket{lim: rate.NewLimiter(rate.Limit(u.limit.PerSecond), u.limit.Burst)}
		u.users[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a refused action takes nothing
		return false, d
	}
	return true, 0
}

// sweep drops the buckets idle long enough to be full, at most once per
// idle period, so its cost is spread over many actions.
func (u *userLimiter) sweep(now time.Time) {
	if now.Sub(u.lastSweep) < u.idle {
		return
	}
	u.lastSweep = now
	for k, b := range u.users {
		if now.Sub(b.seen) >= u.idle {
			delete(u.users, k)
		}
	}
}

// size is the number of buckets kept (tests).
func (u *userLimiter) size() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.users)
}

// rateLimited refuses a verified user's card action beyond their limit:
// HTTP 200 with a card that says how long to wait (the add-on protocol
// shows nothing of other statuses), and nothing is written. It runs after
// the token check, so the caller's identity is known and verified.
func (s *Server) rateLimited(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := user(c)
		ok, wait := s.limiter.allow(u.Domain + "/" + u.Email)
		if ok {
			return next(c)
		}
		secs := int(math.Ceil(wait.Seconds()))
		s.log.WarnContext(c.Request().Context(), "action rate-limited", "user", u.Email, "tenant", u.Domain, "retry_after_s", secs)
		return reply(c, http.StatusOK, addon.PushCard(s.cardsFor(c).RateLimited(secs)))
	}
}
