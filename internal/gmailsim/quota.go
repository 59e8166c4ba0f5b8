package gmailsim

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"
)

// quotaCost is what each method costs in Gmail's quota units, from the
// quota reference (shared/docs/gmail-sync.md §4); messages.insert,
// messages.delete, the drafts methods and settings.sendAs are from the same
// page's full table.
var quotaCost = map[string]int{
	"drafts.create":        10,
	"drafts.get":           5,
	"drafts.list":          5,
	"drafts.update":        15,
	"drafts.delete":        10,
	"drafts.send":          100,
	"settings.sendAs.list": 1,
	"settings.sendAs.get":  1,
	"getProfile":           1,
	"watch":                100,
	"stop":                 50,
	"messages.get":         5,
	"messages.list":        5,
	"messages.insert":      25,
	"messages.send":        100,
	"messages.modify":      5,
	"messages.batchModify": 50,
	"messages.delete":      10,
	"threads.get":          10,
	"threads.modify":       10,
	"history.list":         2,
	"labels.list":          1,
	"labels.get":           1,
	"labels.create":        5,
	"labels.update":        5,
	"labels.patch":         5,
	"labels.delete":        5,
}

// QuotaCost returns the quota units of a method ("messages.get",
// "history.list", …) and whether the simulator serves it.
func QuotaCost(method string) (int, bool) {
	n, ok := quotaCost[method]
	return n, ok
}

// Fault is an injected failure: the request it applies to is answered with
// Code and Gmail's JSON error, without being served or charged.
type Fault struct {
	// Code is the HTTP status, e.g. 429, 403, 500 or 503.
	Code int
	// Reason is errors[0].reason. Empty picks Gmail's usual reason for
	// Code: rateLimitExceeded for 429, userRateLimitExceeded for 403,
	// backendError for 5xx.
	Reason string
	// Message is the error message; empty picks one fitting Code.
	Message string
}

// Faults Gmail answers under load or trouble.
var (
	// FaultRateLimited is a 429 "Too many requests" (per-user rate or
	// concurrency limit).
	FaultRateLimited = Fault{Code: http.StatusTooManyRequests, Reason: "rateLimitExceeded"}
	// FaultUserRateLimited is the 403 of the per-user limit.
	FaultUserRateLimited = Fault{Code: http.StatusForbidden, Reason: "userRateLimitExceeded"}
	// FaultBackendError is a 500.
	FaultBackendError = Fault{Code: http.StatusInternalServerError, Reason: "backendError"}
	// FaultUnavailable is a 503.
	FaultUnavailable = Fault{Code: http.StatusServiceUnavailable, Reason: "backendError"}
)

// apiError renders f in Gmail's error shape.
func (f Fault) apiError() *apiError {
	e := &apiError{code: f.Code, reason: f.Reason, message: f.Message}
	switch {
	case f.Code == http.StatusTooManyRequests:
		e.status = "RESOURCE_EXHAUSTED"
		e.reason = cmp.Or(e.reason, "rateLimitExceeded")
		e.message = cmp.Or(e.message, "Resource has been exhausted (e.g. check quota).")
	case f.Code == http.StatusForbidden:
		e.status, e.domain = "PERMISSION_DENIED", "usageLimits"
		e.reason = cmp.Or(e.reason, "userRateLimitExceeded")
		e.message = cmp.Or(e.message, "User Rate Limit Exceeded")
	case f.Code == http.StatusServiceUnavailable:
		e.status = "UNAVAILABLE"
		e.reason = cmp.Or(e.reason, "backendError")
		e.message = cmp.Or(e.message, "The service is currently unavailable.")
	case f.Code == http.StatusGatewayTimeout:
		e.status = "DEADLINE_EXCEEDED"
		e.reason = cmp.Or(e.reason, "backendError")
		e.message = cmp.Or(e.message, "Deadline exceeded.")
	case f.Code >= 500:
		e.status = "INTERNAL"
		e.reason = cmp.Or(e.reason, "backendError")
		e.message = cmp.Or(e.message, "Internal error encountered.")
	case f.Code == http.StatusNotFound:
		e.status = "NOT_FOUND"
		e.reason = cmp.Or(e.reason, "notFound")
		e.message = cmp.Or(e.message, "Requested entity was not found.")
	case f.Code == http.StatusUnauthorized:
		e.status = "UNAUTHENTICATED"
		e.reason = cmp.Or(e.reason, "authError")
		e.message = cmp.Or(e.message, "Request had invalid authentication credentials.")
	default:
		e.status = "INVALID_ARGUMENT"
		e.reason = cmp.Or(e.reason, "invalidArgument")
		e.message = cmp.Or(e.message, http.StatusText(f.Code))
	}
	return e
}

// queuedFault is a fault waiting for a request of method ("*": any).
type queuedFault struct {
	method string
	fault  Fault
}

// spent is quota charged at one moment.
type spent struct {
	at    time.Time
	units int
}

// usage is the quota accounting of one mailbox.
type usage struct {
	window   []spent // charges of the last second, oldest first
	inWindow int
	units    int64
	requests map[string]int
	faults   []queuedFault
}

// limiter does quota accounting and fault injection per mailbox. It has its
// own lock, so it never waits for the store.
type limiter struct {
	perSecond int
	random    func(mailbox, method string) (Fault, bool) // Options.Faults

	mu    sync.Mutex
	boxes map[string]*usage
}

func newLimiter(perSecond int, random func(string, string) (Fault, bool)) *limiter {
	return &limiter{perSecond: perSecond, random: random, boxes: make(map[string]*usage)}
}

// box returns the usage of addr. The caller holds l.mu.
func (l *limiter) box(addr string) *usage {
	u := l.boxes[addr]
	if u == nil {
		u = &usage{requests: make(map[string]int)}
		l.boxes[addr] = u
	}
	return u
}

// admit counts a request of method for addr and decides whether it is
// served: Options.Faults, then the first injected fault matching it, fail
// it; otherwise it is
// charged unless that would take the last second's units past the limit,
// which fails it with 429.
func (l *limiter) admit(addr, method string, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.box(addr)
	u.requests[method]++
	if l.random != nil {
		if f, ok := l.random(addr, method); ok {
			if f.Code == 0 {
				f.Code = http.StatusInternalServerError
			}
			return f.apiError()
		}
	}
	if i := slices.IndexFunc(u.faults, func(f queuedFault) bool { return f.method == "*" || f.method == method }); i >= 0 {
		f := u.faults[i].fault
		u.faults = slices.Delete(u.faults, i, i+1)
		return f.apiError()
	}
	cost := quotaCost[method]
	cutoff := now.Add(-time.Second)
	n := 0
	for n < len(u.window) && !u.window[n].at.After(cutoff) {
		u.inWindow -= u.window[n].units
		n++
	}
	u.window = u.window[n:]
	if l.perSecond > 0 && u.inWindow+cost > l.perSecond {
		// Retry when enough of the window has expired for this request.
		retry, freed := now.Add(time.Second), 0
		for _, sp := range u.window {
			freed += sp.units
			if u.inWindow-freed+cost <= l.perSecond {
				retry = sp.at.Add(time.Second)
				break
			}
		}
		return errRateLimited(retry)
	}
	u.window = append(u.window, spent{at: now, units: cost})
	u.inWindow += cost
	u.units += int64(cost)
	return nil
}

// InjectFaults makes the next requests of mailbox to method fail, one
// request per fault, in the order given and after faults injected before.
// method is a name such as "history.list", "messages.get" or "watch" (see
// QuotaCost), or "*" for any method. A request that hits a fault is counted
// by Usage but not charged. InjectFaults panics on an unknown method name,
// which would otherwise never match.
func (s *Server) InjectFaults(mailbox, method string, faults ...Fault) {
	if _, ok := quotaCost[method]; !ok && method != "*" {
		panic("gmailsim.InjectFaults: unknown method " + method)
	}
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.box(normAddress(mailbox))
	for _, f := range faults {
		if f.Code == 0 {
			f.Code = http.StatusInternalServerError
		}
		u.faults = append(u.faults, queuedFault{method: method, fault: f})
	}
}

// Usage reports the quota units charged to mailbox so far and the number
// of requests per method, including those refused by a fault or the rate
// limit. Requests that fail authentication or name no method are not
// counted.
func (s *Server) Usage(mailbox string) (units int64, requests map[string]int) {
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.boxes[normAddress(mailbox)]
	if u == nil {
		return 0, map[string]int{}
	}
	return u.units, maps.Clone(u.requests)
}
