package inbox

import (
	"time"
)

// Snooze activity kinds.
const (
	// ActSnoozed: From = the status before, To = the wake time (RFC 3339).
	ActSnoozed ActivityKind = "snoozed"
	// ActWoke: the snooze ended by itself; From = why (WokeTime, WokeReply),
	// To = the new status.
	ActWoke ActivityKind = "woke"
	// ActUnsnoozed: a member ended the snooze; To = the new status.
	ActUnsnoozed ActivityKind = "unsnoozed"
)

// Why a snooze ended (ActWoke's From).
const (
	WokeTime  = "time"  // the snooze time came
	WokeReply = "reply" // the customer wrote
)

// MaxSnooze bounds how far ahead a conversation can be snoozed.
const MaxSnooze = 366 * 24 * time.Hour

// Snoozed reports whether the conversation is snoozed.
func (c Conversation) Snoozed() bool { return !c.Flow.SnoozedUntil.IsZero() }

// Snooze parks the conversation until `until`: it becomes pending (so it
// leaves the open lists and its SLA clocks pause) and wakes, open again,
// at that time (the sweep) or when the customer writes (Receive). A
// different status set meanwhile ends the snooze. Snoozing again moves the
// wake time.
func (c *Conversation) Snooze(ib Inbox, actor string, until, now time.Time) (Activity, error) {
	until = until.UTC().Truncate(time.Minute)
	switch {
	case !until.After(now):
		return Activity{}, Refusal("refusal.snooze_past")
	case until.Sub(now) > MaxSnooze:
		return Activity{}, Refusal("refusal.snooze_far")
	case c.Flow.SnoozedUntil.Equal(until):
		return Activity{}, ErrUnchanged
	}
	from := c.Status
	if c.Status != StatusPending {
		c.moveStatus(StatusPending, now)
	}
	c.Flow.SnoozedUntil = until
	ev := c.commit(ActSnoozed, actor, string(from), until.Format(time.RFC3339), now)
	c.Reschedule(ib)
	return ev, nil
}

// Unsnooze ends a snooze at a member's request: the conversation is open
// again.
func (c *Conversation) Unsnooze(ib Inbox, actor string, now time.Time) (Activity, error) {
	if !c.Snoozed() {
		return Activity{}, ErrUnchanged
	}
	return c.wake(ib, actor, "", now), nil
}

// wake ends the snooze: the conversation is open again. why is WokeTime or
// WokeReply, "" for a member's Unsnooze.
func (c *Conversation) wake(ib Inbox, actor, why string, now time.Time) Activity {
	c.moveStatus(StatusOpen, now)
	c.Flow.SnoozedUntil = time.Time{}
	var ev Activity
	if why == "" {
		ev = c.commit(ActUnsnoozed, actor, "", string(StatusOpen), now)
	} else {
		ev = c.commit(ActWoke, actor, why, string(StatusOpen), now)
	}
	c.Reschedule(ib)
	return ev
}

// SnoozeLeft is the status a snooze entry moved the conversation away
// from: the status before a snooze, Pending for a wake or an Unsnooze; ""
// for other entries. The sync takes that status's label, seen on a thread
// shortly after, for the late echo of Postfach's own labels, not for a
// user's change.
func (a Activity) SnoozeLeft() Status {
	switch a.Kind {
	case ActSnoozed:
		return Status(a.From)
	case ActWoke, ActUnsnoozed:
		return StatusPending
	}
	return ""
}
