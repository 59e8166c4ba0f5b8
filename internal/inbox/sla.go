package inbox

import (
	"time"
)

// SLAPolicy is an inbox's service level policy: how much business time may
// pass before the team first answers a customer and before it closes the
// conversation. The clocks run only while a conversation is open: pending
// (waiting for the customer, or snoozed) pauses them, closing stops them,
// and a reopened conversation's resolution clock continues where it
// stopped. Each clock is "at risk" when AtRisk percent of its target has
// passed and "breached" at the target.
//
// A policy applies to the conversations that start while it is set: a
// conversation that arrived earlier has no clocks.
type SLAPolicy struct {
	// FirstResponse is the business time allowed until the team's first
	// reply; zero: no first-response target.
	FirstResponse time.Duration `json:"firstResponse,omitempty"`
	// Resolution is the business time allowed until the conversation is
	// closed; zero: no resolution target.
	Resolution time.Duration `json:"resolution,omitempty"`
	// AtRisk is the share of a target, in percent (1–99), after which the
	// clock is at risk; zero is DefaultAtRisk.
	AtRisk int `json:"atRisk,omitempty"`
	// Hours are the business hours the targets count in.
	Hours BusinessHours `json:"hours,omitzero"`
}

// DefaultAtRisk is the at-risk threshold of a policy that sets none.
const DefaultAtRisk = 75

// MaxSLATarget bounds a target: a year of business time is no SLA.
const MaxSLATarget = 365 * 24 * time.Hour

// Enabled reports whether the policy sets any target.
func (p SLAPolicy) Enabled() bool { return p.FirstResponse > 0 || p.Resolution > 0 }

// AtRiskPercent is the at-risk threshold in effect.
func (p SLAPolicy) AtRiskPercent() int {
	if p.AtRisk == 0 {
		return DefaultAtRisk
	}
	return p.AtRisk
}

// Validate checks the policy.
func (p SLAPolicy) Validate() error {
	if p.FirstResponse < 0 || p.Resolution < 0 || p.FirstResponse > MaxSLATarget || p.Resolution > MaxSLATarget {
		return Refusal("refusal.sla_target")
	}
	if p.AtRisk < 0 || p.AtRisk > 99 {
		return Refusal("refusal.sla_at_risk")
	}
	return p.Hours.Validate()
}

// SLAClock names one of a conversation's SLA clocks; activity entries of
// the SLA kinds carry it in To.
type SLAClock string

// The SLA clocks.
const (
	ClockFirstResponse SLAClock = "first_response"
	ClockResolution    SLAClock = "resolution"
)

// SLA activity kinds; To is the clock (SLAClock).
const (
	ActSLAAtRisk   ActivityKind = "sla_at_risk"
	ActSLABreached ActivityKind = "sla_breached"
)

// SLAState is a conversation's SLA clocks. Both clocks count the business
// time the conversation was open; the state keeps that time as Spent (up to
// OpenSince) plus the open stretches that ended while the inbox's business
// hours were not at hand (Stretches, folded into Spent by Reschedule).
type SLAState struct {
	// Tracked: the inbox had a policy when the conversation started.
	Tracked bool `json:"tracked,omitempty"`
	// OpenSince is when the current open stretch began; zero while the
	// conversation is pending or closed.
	OpenSince time.Time `json:"openSince,omitzero"`
	// Spent is the business time the conversation was open before
	// OpenSince (or in all, while it is not open).
	Spent time.Duration `json:"spent,omitempty"`
	// Stretches are open stretches not yet counted into Spent.
	Stretches []Stretch `json:"stretches,omitempty"`
	// FirstSpent is the business time it was open until the first response,
	// set when the response came (FirstDone).
	FirstSpent time.Duration `json:"firstSpent,omitempty"`
	FirstDone  bool          `json:"firstDone,omitempty"`
	// The moments the sweep marked each threshold; the assignee (or the
	// inbox's admins) were notified in the same write, so each threshold
	// is marked, and notified, once.
	FirstAtRisk        time.Time `json:"firstAtRisk,omitzero"`
	FirstBreached      time.Time `json:"firstBreached,omitzero"`
	ResolutionAtRisk   time.Time `json:"resolutionAtRisk,omitzero"`
	ResolutionBreached time.Time `json:"resolutionBreached,omitzero"`
}

// Stretch is a wall-clock interval [From, To).
type Stretch struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// maxStretches bounds SLAState.Stretches: beyond it the oldest two merge
// (counting the time between them as open, the conservative error).
const maxStretches = 20

// StartSLA starts the clocks of a new conversation when ib has a policy.
func (c *Conversation) startSLA(ib Inbox, at time.Time) {
	if !ib.Settings.Workflow.SLA.Enabled() {
		return
	}
	c.Flow.SLA = SLAState{Tracked: true}
	if c.Status == StatusOpen {
		c.Flow.SLA.OpenSince = at
	}
	if !c.FirstResponseAt.IsZero() {
		c.Flow.SLA.FirstDone = true
	}
}

// moveStatus sets the status and keeps the SLA clocks and the snooze in
// step: leaving open ends a stretch, entering open starts one, and any
// status other than pending ends a snooze. The caller commits. Callers
// without the inbox at hand (SetStatus) leave DueAt at now at the latest, so
// that the sweep looks soon even if Reschedule is not called.
func (c *Conversation) moveStatus(s Status, now time.Time) {
	from := c.Status
	c.Status = s
	snoozed := !c.Flow.SnoozedUntil.IsZero()
	if s != StatusPending {
		c.Flow.SnoozedUntil = time.Time{}
	}
	st := &c.Flow.SLA
	if !st.Tracked && !snoozed {
		return
	}
	if st.Tracked {
		switch {
		case from == StatusOpen && s != StatusOpen && !st.OpenSince.IsZero():
			if now.After(st.OpenSince) {
				st.Stretches = append(st.Stretches, Stretch{From: st.OpenSince, To: now})
				if len(st.Stretches) > maxStretches {
					st.Stretches[1].From = st.Stretches[0].From
					st.Stretches = st.Stretches[1:]
				}
			}
			st.OpenSince = time.Time{}
		case from != StatusOpen && s == StatusOpen:
			st.OpenSince = now
		}
	}
	if c.DueAt.IsZero() || c.DueAt.After(now) {
		c.DueAt = now
	}
}

// fold counts the pending stretches into Spent in h's business hours.
func (st *SLAState) fold(h BusinessHours) {
	for _, s := range st.Stretches {
		st.Spent += h.Between(s.From, s.To)
	}
	st.Stretches = nil
}

// spentAt is the business time the conversation was open until t (folded).
func (st SLAState) spentAt(h BusinessHours, t time.Time) time.Duration {
	d := st.Spent
	if !st.OpenSince.IsZero() {
		d += h.Between(st.OpenSince, t)
	}
	return d
}

// responded records the first response at `at` (the conversation's
// FirstResponseAt), freezing the first-response clock.
func (c *Conversation) responded(ib Inbox, at time.Time) {
	st := &c.Flow.SLA
	if !st.Tracked || st.FirstDone {
		return
	}
	h := ib.Settings.Workflow.SLA.Hours
	st.fold(h)
	st.FirstSpent = st.spentAt(h, at)
	st.FirstDone = true
}

// SLAThreshold is one threshold of one clock.
type SLAThreshold struct {
	Clock    SLAClock
	Breached bool // false: at risk
}

// Kind is the activity kind that marks the threshold.
func (t SLAThreshold) Kind() ActivityKind {
	if t.Breached {
		return ActSLABreached
	}
	return ActSLAAtRisk
}

// mark is where the state keeps the moment the threshold was marked.
func (st *SLAState) mark(t SLAThreshold) *time.Time {
	switch {
	case t.Clock == ClockFirstResponse && !t.Breached:
		return &st.FirstAtRisk
	case t.Clock == ClockFirstResponse:
		return &st.FirstBreached
	case !t.Breached:
		return &st.ResolutionAtRisk
	}
	return &st.ResolutionBreached
}

// SLAClockView is one clock as the card shows it.
type SLAClockView struct {
	Clock  SLAClock
	Target time.Duration
	// Running: the clock is counting now (the conversation is open).
	Running bool
	// Spent is the business time counted at the moment asked for.
	Spent time.Duration
	// Due is when the target is reached if the clock keeps running; zero
	// while it does not run.
	Due      time.Time
	AtRisk   bool // marked at risk by the sweep
	Breached bool // marked breached by the sweep
}

// Left is the business time left until the target (negative when over).
func (v SLAClockView) Left() time.Duration { return v.Target - v.Spent }

// SLAClocks returns the clocks of the conversation under ib's policy that
// still matter at now: the first-response clock until the first response,
// the resolution clock until closed. It does not change c.
func (c Conversation) SLAClocks(ib Inbox, now time.Time) []SLAClockView {
	p := ib.Settings.Workflow.SLA
	st := c.Flow.SLA
	if !st.Tracked || !p.Enabled() {
		return nil
	}
	st.Stretches = append([]Stretch(nil), st.Stretches...)
	st.fold(p.Hours)
	var out []SLAClockView
	running := !st.OpenSince.IsZero()
	if p.FirstResponse > 0 && !st.FirstDone && c.Status != StatusClosed {
		v := SLAClockView{Clock: ClockFirstResponse, Target: p.FirstResponse, Running: running, Spent: st.spentAt(p.Hours, now),
			AtRisk: !st.FirstAtRisk.IsZero(), Breached: !st.FirstBreached.IsZero()}
		if running {
			v.Due = p.Hours.Add(st.OpenSince, p.FirstResponse-st.Spent)
		}
		out = append(out, v)
	}
	if p.Resolution > 0 && c.Status != StatusClosed {
		v := SLAClockView{Clock: ClockResolution, Target: p.Resolution, Running: running, Spent: st.spentAt(p.Hours, now),
			AtRisk: !st.ResolutionAtRisk.IsZero(), Breached: !st.ResolutionBreached.IsZero()}
		if running {
			v.Due = p.Hours.Add(st.OpenSince, p.Resolution-st.Spent)
		}
		out = append(out, v)
	}
	return out
}

// thresholds returns every threshold the conversation's clocks have not
// marked yet with the moment it is reached: a moment not after the
// conversation's last update when it was reached already, zero when the
// clock does not run. Folded state expected.
func (c Conversation) thresholds(p SLAPolicy) []thresholdAt {
	st := c.Flow.SLA
	if !st.Tracked || !p.Enabled() {
		return nil
	}
	var out []thresholdAt
	add := func(clock SLAClock, target, spent time.Duration, running bool) {
		if target <= 0 {
			return
		}
		for _, breached := range []bool{false, true} {
			th := SLAThreshold{Clock: clock, Breached: breached}
			if !st.mark(th).IsZero() {
				continue
			}
			x := target
			if !breached {
				x = target * time.Duration(p.AtRiskPercent()) / 100
			}
			var at time.Time
			switch {
			case spent >= x:
				at = c.UpdatedAt // reached before the clock stopped
			case running:
				at = p.Hours.Add(st.OpenSince, x-spent)
			}
			out = append(out, thresholdAt{th, at})
		}
	}
	running := !st.OpenSince.IsZero()
	if st.FirstDone {
		add(ClockFirstResponse, p.FirstResponse, st.FirstSpent, false)
	} else {
		add(ClockFirstResponse, p.FirstResponse, st.Spent, running && c.Status == StatusOpen)
	}
	add(ClockResolution, p.Resolution, st.Spent, running && c.Status == StatusOpen)
	return out
}

type thresholdAt struct {
	SLAThreshold
	At time.Time // zero: not while the clock stands still
}

// Reschedule counts the conversation's finished open stretches in ib's
// business hours and sets DueAt to the next moment the sweep must look at
// it (NextDue). Every change to a conversation that can move that moment
// calls it; SetStatus, which has no inbox at hand, leaves DueAt at the
// change's time instead (the sweep then calls it).
func (c *Conversation) Reschedule(ib Inbox) {
	if c.Flow.SLA.Tracked {
		c.Flow.SLA.fold(ib.Settings.Workflow.SLA.Hours)
	}
	c.DueAt = c.NextDue(ib)
}

// NextDue is the next moment the sweep must look at the conversation: the
// end of a snooze, the next SLA threshold of a running clock (or one
// reached but not yet marked), or a reassignment; zero for never. It expects the state
// Reschedule folds; and the moment an auto-assigned conversation goes to
// the next agent (ReassignDue).
func (c Conversation) NextDue(ib Inbox) time.Time {
	var due time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	earliest(c.Flow.SnoozedUntil)
	for _, th := range c.thresholds(ib.Settings.Workflow.SLA) {
		earliest(th.At)
	}
	earliest(c.ReassignDue(ib))
	earliest(c.LabelsDue())
	return due
}

// LabelsDue is when the sweep must write the conversation's Gmail labels
// again (Flow.LabelsOwed); zero when no change made since the last write
// owes them.
func (c Conversation) LabelsDue() time.Time {
	if c.Flow.LabelsOwed.After(c.UpdatedAt) {
		return c.Flow.LabelsOwed
	}
	return time.Time{}
}

// NextSweepStep applies the first thing the sweep must do to the conversation
// at now, if any: wake it from a snooze that ended, or mark the first
// threshold reached and not yet marked. It returns the activity entry and,
// for a mark, the threshold (whose notification the caller sends after the
// write); ErrUnchanged when there is nothing to do (then only DueAt may
// have moved). One step is one version: the caller writes it and asks
// again.
func (c *Conversation) NextSweepStep(ib Inbox, now time.Time) (Activity, *SLAThreshold, error) {
	if due := c.LabelsDue(); !due.IsZero() && !due.After(now) {
		c.Flow.LabelsOwed = time.Time{} // the sweep wrote them (Flow.LabelsOwed)
	}
	if s := c.Flow.SnoozedUntil; !s.IsZero() && !s.After(now) {
		ev := c.wake(ib, "", WokeTime, now)
		return ev, nil, nil
	}
	if c.Flow.SLA.Tracked {
		c.Flow.SLA.fold(ib.Settings.Workflow.SLA.Hours)
	}
	for _, th := range c.thresholds(ib.Settings.Workflow.SLA) {
		if th.At.IsZero() || th.At.After(now) {
			continue
		}
		*c.Flow.SLA.mark(th.SLAThreshold) = now
		ev := c.commit(th.Kind(), "", "", string(th.Clock), now)
		c.Reschedule(ib)
		return ev, &th.SLAThreshold, nil
	}
	c.Reschedule(ib)
	return Activity{}, nil, ErrUnchanged
}
