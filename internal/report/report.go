// Package report computes an inbox's numbers for a period from its
// conversations and their activity log: conversations received, first
// response and resolution times (median and 90th percentile, in business
// hours when the inbox has them), volume per agent, SLA breaches and rule
// hits. Compute is pure; Read gathers its input from an inbox.Store with a
// bounded number of reads; Build does both.
//
// Every figure is about the cohort of conversations received in the period
// (created in [From, To)), as of the period's end: what happened to them
// before To counts, what happened later does not, so the report of a past
// period does not change when it is run again.
package report

import (
	"slices"
	"strings"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// Period is a half-open interval of whole days [From, To) in Location.
type Period struct {
	From, To time.Time
}

// MaxDays is the longest period a report covers.
const MaxDays = 366

// ParsePeriod reads a period given as two dates (YYYY-MM-DD), both
// included, at midnight in loc. Returns inbox.ErrInvalid for a malformed
// date, an end before the start or more than MaxDays days.
func ParsePeriod(from, to string, loc *time.Location) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	f, err := time.ParseInLocation(time.DateOnly, from, loc)
	if err != nil {
		return Period{}, inbox.Invalid("from %q: want YYYY-MM-DD", from)
	}
	t, err := time.ParseInLocation(time.DateOnly, to, loc)
	if err != nil {
		return Period{}, inbox.Invalid("to %q: want YYYY-MM-DD", to)
	}
	p := Period{From: f, To: t.AddDate(0, 0, 1)}
	if n := p.Days(); n < 1 || n > MaxDays {
		return Period{}, inbox.Invalid("period %s to %s: want 1 to %d days, the end not before the start", from, to, MaxDays)
	}
	return p, nil
}

// LastDays is the period of the n days up to and including the day of now
// in loc.
func LastDays(now time.Time, n int, loc *time.Location) Period {
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	return Period{From: today.AddDate(0, 0, 1-n), To: today.AddDate(0, 0, 1)}
}

// Days is the number of calendar days in the period.
func (p Period) Days() int {
	n := 0
	for d := p.From; d.Before(p.To) && n <= MaxDays; d = d.AddDate(0, 0, 1) {
		n++
	}
	return n
}

// day is the index of the period's day t falls on, or -1.
func (p Period) day(t time.Time) int {
	if t.Before(p.From) || !t.Before(p.To) {
		return -1
	}
	t = t.In(p.From.Location())
	for i, d := 0, p.From; d.Before(p.To); i, d = i+1, d.AddDate(0, 0, 1) {
		if t.Before(d.AddDate(0, 0, 1)) {
			return i
		}
	}
	return -1
}

// Contains reports whether t is in [From, To).
func (p Period) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

// Hours measures the working time between two instants: an inbox's
// business hours (its SLA policy's weekly schedule, holidays and time zone)
// or, without them, the wall clock.
type Hours interface {
	// Elapsed returns the working time in [from, to); zero when to is not
	// after from.
	Elapsed(from, to time.Time) time.Duration
}

// WallClock counts every second: the Hours of an inbox without business
// hours.
type WallClock struct{}

// Elapsed implements Hours.
func (WallClock) Elapsed(from, to time.Time) time.Duration {
	return max(0, to.Sub(from))
}

// Kinds of activity entries the report counts. An entry counts once per
// kind listed.
var (
	// BreachKinds are the kinds of an SLA target breached (first response
	// or resolution: the clock is in the entry's To).
	BreachKinds = []inbox.ActivityKind{inbox.ActSLABreached}
	// RuleHitKinds are kinds that are a rule's hit by themselves. The
	// rules engine writes the actions a rule took as ordinary entries
	// (tagged, assigned, status) whose Via names the rule; those count
	// once per rule and message (see ruleHit), whatever their kinds.
	RuleHitKinds = []inbox.ActivityKind{}
	// ReplyKinds are the kinds whose Actor sent a reply to the customer.
	// The activity log has no entry for every reply (a reply that does
	// not change the status is recorded only as the conversation's
	// FirstResponseAt); Replied also counts the status change a reply
	// made (see Agent.Replied).
	ReplyKinds = []inbox.ActivityKind{inbox.ActRepliedDuringClaim, inbox.ActDoubleReply}
)

// Log is one conversation with its activity entries (any order).
type Log struct {
	Conversation inbox.Conversation
	Activity     []inbox.Activity
}

// Durations summarizes a set of durations.
type Durations struct {
	Count int
	// Median is the middle value (the mean of the two middle ones for an
	// even count); zero when Count is 0.
	Median time.Duration
	// P90 is the 90th percentile by nearest rank: the smallest value that
	// at least 90 % of the values do not exceed.
	P90 time.Duration
}

// Agent is one person's part in the cohort.
type Agent struct {
	Email string
	Name  string // display name in the inbox; the address for a former member
	// Assigned counts the conversations assigned to the agent (by anyone).
	Assigned int
	// Closed counts the conversations the agent closed.
	Closed int
	// Replied counts the conversations the agent replied to, as far as
	// the log records it: an entry of ReplyKinds by the agent, or the
	// agent moving the conversation from open to the inbox's reply status
	// once the team had replied (what a reply does; the same change made
	// by hand after someone's reply counts too).
	Replied int
}

// Report is an inbox's numbers for a period.
type Report struct {
	TenantID  string
	InboxID   string
	InboxName string
	Period    Period
	// Received counts the conversations created in the period.
	Received int
	// FirstResponse is the working time from a conversation's creation to
	// the team's first reply, over the cohort's conversations answered
	// before the period's end.
	FirstResponse Durations
	// Resolution is the working time from creation to the last close,
	// over the cohort's conversations closed at the period's end.
	Resolution Durations
	// Agents are the inbox's members and anyone else active in the
	// cohort, sorted by address.
	Agents []Agent
	// SLABreaches and RuleHits count the cohort's entries of BreachKinds
	// and RuleHitKinds.
	SLABreaches int
	RuleHits    int
	// ReceivedPerDay and ResolvedPerDay have one entry per day of the
	// period: conversations created that day, and the cohort's
	// conversations whose last close (as counted in Resolution) fell on
	// that day.
	ReceivedPerDay []int
	ResolvedPerDay []int
	// Partial is set when Read stopped at one of its bounds: the figures
	// then leave out conversations or old activity entries.
	Partial bool
}

// Compute makes the report of ib for p from logs: the conversations of ib
// (others, and those not created in p, are ignored) with their activity.
// hours measures first response and resolution times; nil is WallClock.
func Compute(ib inbox.Inbox, p Period, hours Hours, logs []Log) Report {
	if hours == nil {
		hours = WallClock{}
	}
	days := p.Days()
	r := Report{
		TenantID: ib.TenantID, InboxID: ib.ID, InboxName: ib.Name, Period: p,
		ReceivedPerDay: make([]int, days), ResolvedPerDay: make([]int, days),
	}
	agents := map[string]*Agent{}
	agent := func(email string) *Agent {
		a := agents[email]
		if a == nil {
			a = &Agent{Email: email, Name: ib.DisplayName(email)}
			agents[email] = a
		}
		return a
	}
	for _, m := range ib.Members {
		agent(m.Email)
	}
	var firsts, resolutions []time.Duration
	for _, l := range logs {
		c := l.Conversation
		if c.TenantID != ib.TenantID || c.InboxID != ib.ID || !p.Contains(c.CreatedAt) {
			continue
		}
		r.Received++
		r.ReceivedPerDay[p.day(c.CreatedAt)]++
		if !c.FirstResponseAt.IsZero() && c.FirstResponseAt.Before(p.To) {
			firsts = append(firsts, hours.Elapsed(c.CreatedAt, c.FirstResponseAt))
		}
		entries := slices.Clone(l.Activity)
		slices.SortStableFunc(entries, func(a, b inbox.Activity) int {
			if c := a.At.Compare(b.At); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		entries = slices.DeleteFunc(entries, func(a inbox.Activity) bool { return !a.At.Before(p.To) })
		if closedAt, ok := lastClose(c, entries); ok {
			resolutions = append(resolutions, hours.Elapsed(c.CreatedAt, closedAt))
			if d := p.day(closedAt); d >= 0 {
				r.ResolvedPerDay[d]++
			}
		}
		assigned, closed, replied := map[string]bool{}, map[string]bool{}, map[string]bool{}
		hits := map[string]bool{} // rule and the moment it acted
		for _, a := range entries {
			switch {
			case a.Kind == inbox.ActAssigned && a.To != "":
				assigned[a.To] = true
			case a.Kind == inbox.ActStatus && to(a) == inbox.StatusClosed && a.Actor != "":
				closed[a.Actor] = true
			}
			if a.Actor != "" && (slices.Contains(ReplyKinds, a.Kind) || replyStatusChange(ib, c, a)) {
				replied[a.Actor] = true
			}
			if slices.Contains(BreachKinds, a.Kind) {
				r.SLABreaches++
			}
			if slices.Contains(RuleHitKinds, a.Kind) {
				r.RuleHits++
			} else if kind, id, _ := inbox.ParseVia(a.Via); kind == "rule" {
				// One rule's actions on one message share the write, so
				// the moment: count the rule once.
				hits[id+"|"+a.At.UTC().Format(time.RFC3339Nano)] = true
			}
		}
		r.RuleHits += len(hits)
		for e := range assigned {
			agent(e).Assigned++
		}
		for e := range closed {
			agent(e).Closed++
		}
		for e := range replied {
			agent(e).Replied++
		}
	}
	r.FirstResponse = summarize(firsts)
	r.Resolution = summarize(resolutions)
	for _, a := range agents {
		r.Agents = append(r.Agents, *a)
	}
	slices.SortFunc(r.Agents, func(a, b Agent) int { return strings.Compare(a.Email, b.Email) })
	return r
}

// to and from are the categories a status entry moved a conversation to
// and from (an inbox's own statuses record their name after it).
func to(a inbox.Activity) inbox.Status   { st, _ := a.StatusTo(); return st }
func from(a inbox.Activity) inbox.Status { st, _ := a.StatusFrom(); return st }

// replyStatusChange reports whether a is the status change a team reply
// makes: open to the inbox's reply status, when the team had replied by
// then (a "Mark pending" before any reply is no reply).
func replyStatusChange(ib inbox.Inbox, c inbox.Conversation, a inbox.Activity) bool {
	st := ib.Settings.ReplyStatus
	return a.Kind == inbox.ActStatus && st != "" && st != inbox.StatusOpen &&
		from(a) == inbox.StatusOpen && to(a) == st &&
		!c.FirstResponseAt.IsZero() && !c.FirstResponseAt.After(a.At)
}

// lastClose replays the status changes in entries (sorted by time) and
// returns when the conversation was last closed, if it was closed at the
// end. A conversation whose log has no status change kept the status it
// was created with: closed at creation if it is closed now.
func lastClose(c inbox.Conversation, entries []inbox.Activity) (time.Time, bool) {
	var changes []inbox.Activity
	for _, a := range entries {
		if a.Kind == inbox.ActStatus || a.Kind == inbox.ActReopened {
			changes = append(changes, a)
		}
	}
	if len(changes) == 0 {
		return c.CreatedAt, c.Status == inbox.StatusClosed
	}
	var closedAt time.Time
	closed := from(changes[0]) == inbox.StatusClosed
	if closed {
		closedAt = c.CreatedAt
	}
	for _, a := range changes {
		closed = to(a) == inbox.StatusClosed
		if closed {
			closedAt = a.At
		}
	}
	return closedAt, closed
}

// summarize returns the count, median and 90th percentile of ds.
func summarize(ds []time.Duration) Durations {
	n := len(ds)
	if n == 0 {
		return Durations{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	median := s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	rank := (90*n + 99) / 100 // ceil(0.9 n)
	return Durations{Count: n, Median: median, P90: s[rank-1]}
}
