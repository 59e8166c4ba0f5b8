package inbox

import (
	"slices"
	"time"
)

// AssignMode is how auto-assignment picks an agent.
type AssignMode string

// The auto-assignment modes.
const (
	AssignOff        AssignMode = ""            // nobody is picked
	AssignRoundRobin AssignMode = "round_robin" // the next agent in turn
	AssignLeastOpen  AssignMode = "least_open"  // the agent owning the fewest open and pending conversations
)

// AssignModes lists the modes in the order the editor offers them.
var AssignModes = []AssignMode{AssignOff, AssignRoundRobin, AssignLeastOpen}

// Assignment is an inbox's auto-assignment policy.
//
// With a mode set, a new customer conversation that no rule assigned goes
// to an agent (with RulesOnly, only those a rule hands over with
// ActionAutoAssign). An agent takes part unless away, and up to Capacity
// open and pending conversations owned (Counts.Mine). A conversation no
// one can take waits (AssignState.Waiting) and is assigned, oldest first,
// when capacity frees up: an owner closes or gives one back, comes back
// from away, or the policy changes.
type Assignment struct {
	Mode AssignMode `json:"mode,omitempty"`
	// Agents take part, in this order (the round-robin order); empty
	// means every member of the inbox, in the inbox's order.
	Agents []string `json:"agents,omitempty"`
	// Capacity is the most open and pending conversations an agent may
	// own before being skipped; 0 is no limit.
	Capacity int `json:"capacity,omitempty"`
	// RulesOnly: only conversations a rule hands over are auto-assigned.
	RulesOnly bool `json:"rulesOnly,omitempty"`
	// ReassignAfterHours: an auto-assigned conversation still open this
	// many hours after its assignment (nobody replied: a reply makes it
	// pending) goes to the next agent; 0 never.
	ReassignAfterHours int `json:"reassignAfterHours,omitempty"`
	// Away are the members who marked themselves away: they get nothing
	// until they come back. Members write it themselves (the sidebar's
	// toggle) through Store.UpdateInbox, so concurrent toggles and
	// admin edits do not lose each other.
	Away []string `json:"away,omitempty"`
}

// Bounds of the policy.
const (
	MaxCapacity        = 1000
	MaxReassignHours   = 24 * 30
	MaxAssignWaiting   = 500 // AssignState.Waiting keeps at most this many
	MaxAssignReadAhead = 10  // waiting conversations one decision reads
)

// Validate checks the policy.
func (a Assignment) Validate() error {
	if !slices.Contains(AssignModes, a.Mode) {
		return invalidf("assignment mode %q is unknown", a.Mode)
	}
	if a.Capacity < 0 || a.Capacity > MaxCapacity {
		return Refusal("rules.refusal.assign_capacity", "Max", MaxCapacity)
	}
	if a.ReassignAfterHours < 0 || a.ReassignAfterHours > MaxReassignHours {
		return Refusal("rules.refusal.assign_reassign", "Max", MaxReassignHours)
	}
	for _, list := range [][]string{a.Agents, a.Away} {
		seen := map[string]bool{}
		for _, e := range list {
			if NormalizeEmail(e) != e || e == "" || seen[e] {
				return invalidf("assignment address %q is not a lower-case address listed once", e)
			}
			seen[e] = true
		}
	}
	return nil
}

// IsAway reports whether email marked itself away.
func (a Assignment) IsAway(email string) bool { return slices.Contains(a.Away, NormalizeEmail(email)) }

// SetAway marks email away or back; it reports whether that changed
// anything.
func (a *Assignment) SetAway(email string, away bool) bool {
	email = NormalizeEmail(email)
	i := slices.Index(a.Away, email)
	switch {
	case away && i < 0:
		a.Away = append(slices.Clone(a.Away), email)
		slices.Sort(a.Away)
		return true
	case !away && i >= 0:
		a.Away = slices.Delete(slices.Clone(a.Away), i, i+1)
		if len(a.Away) == 0 {
			a.Away = nil
		}
		return true
	}
	return false
}

// agents returns who takes part, in order: members only.
func (a Assignment) agents(ib Inbox) []string {
	var out []string
	if len(a.Agents) == 0 {
		for _, m := range ib.Members {
			out = append(out, m.Email)
		}
		return out
	}
	for _, e := range a.Agents {
		if _, ok := ib.Member(e); ok {
			out = append(out, e)
		}
	}
	return out
}

// AssignState is an inbox's auto-assignment record, written in the same
// transaction as every decision (Store.AutoAssign), so that two instances
// never give the same turn twice or skip one.
type AssignState struct {
	// Last is the agent who got the last conversation.
	Last string
	// Waiting are the conversations no agent could take, oldest first.
	Waiting []string
}

// AssignRound is one auto-assignment decision as Store.AutoAssign runs
// it: what it read in its transaction, and the changes the decision made.
type AssignRound struct {
	Inbox  Inbox
	Counts Counts
	State  AssignState
	// Conversations are the stored conversations of the round: those
	// named by the caller, then the first MaxAssignReadAhead of
	// State.Waiting (each once; those that do not exist are left out).
	Conversations []Conversation
	// Changes are written by the store with the state: each conversation
	// at its stored version + 1 with its entries.
	Changes []AssignChange
}

// AssignChange is one conversation a decision changed.
type AssignChange struct {
	Conversation Conversation
	Events       []Activity
}

// conversation returns the round's conversation with id.
func (r *AssignRound) conversation(id string) (Conversation, bool) {
	for _, c := range r.Conversations {
		if c.ID == id {
			return c, true
		}
	}
	return Conversation{}, false
}

// waitingFor reports whether a conversation is one auto-assignment
// should place: open or pending, nobody's, and handed over (AutoVia).
func waitingFor(c Conversation) bool {
	return c.Status.Active() && c.Assignee == "" && c.Flow.AutoVia != ""
}

// Decide places the round's conversations, the waiting ones first (oldest
// first) and then those named in ids, in that order, and records the
// changes in r.Changes and the new State. A conversation it cannot place
// (everyone away or at capacity) joins the queue; one that no longer
// waits (assigned by hand, closed) leaves it. The order is kept strictly:
// once one conversation has to wait, every later one waits behind it.
// With the mode off, nothing is assigned and the queue is dropped.
func (a Assignment) Decide(r *AssignRound, ids []string, now time.Time) {
	if a.Mode == AssignOff {
		r.State.Waiting = nil
		return
	}
	counts := r.Counts
	var waiting []string
	blocked := false
	place := func(id string) {
		c, ok := r.conversation(id)
		if !ok || !waitingFor(c) || slices.Contains(waiting, id) {
			return
		}
		if !blocked {
			agent, ok := a.pick(r.Inbox, counts, r.State.Last)
			if ok {
				from, before := c.Assignee, c
				ev, err := c.Assign(r.Inbox, "", agent, now)
				if err == nil {
					ev.Via = c.Flow.AutoVia
					c.Flow.AutoVia = ""
					c.Flow.AutoAssigned = true
					c.Flow.AssignedAt = now
					c.OweLabels(before, now) // Mine, mirrored after the commit
					c.Reschedule(r.Inbox)
					r.Changes = append(r.Changes, AssignChange{Conversation: c, Events: []Activity{ev}})
					counts = counts.Add(CountsOf(c.Status, agent)).Sub(CountsOf(c.Status, from))
					r.State.Last = agent
					return
				}
			}
			blocked = true
		}
		if len(waiting) < MaxAssignWaiting {
			waiting = append(waiting, id)
		}
	}
	for i, id := range r.State.Waiting {
		if i >= MaxAssignReadAhead {
			// Not read in this round: keep it, in order.
			if _, ok := r.conversation(id); !ok {
				blocked = true
				if !slices.Contains(waiting, id) && len(waiting) < MaxAssignWaiting {
					waiting = append(waiting, id)
				}
				continue
			}
		}
		place(id)
	}
	for _, id := range ids {
		place(id)
	}
	r.State.Waiting = waiting
}

// pick returns the agent who gets the next conversation: in round robin,
// the first one after last (in order, wrapping) who is not away and has
// room; in least open, the one with room owning the fewest, ties in
// round-robin order after last.
func (a Assignment) pick(ib Inbox, counts Counts, last string) (string, bool) {
	agents := a.agents(ib)
	if len(agents) == 0 {
		return "", false
	}
	start := 0
	if i := slices.Index(agents, last); i >= 0 {
		start = i + 1
	}
	best, bestN := "", 0
	for k := range agents {
		e := agents[(start+k)%len(agents)]
		n := counts.Mine(e)
		if a.IsAway(e) || a.Capacity > 0 && n >= a.Capacity {
			continue
		}
		if a.Mode == AssignRoundRobin {
			return e, true
		}
		if best == "" || n < bestN {
			best, bestN = e, n
		}
	}
	return best, best != ""
}

// HandOver marks a new customer conversation for auto-assignment when the
// policy takes every one (not RulesOnly) and no rule assigned it. It
// reports whether the conversation now waits for a decision.
func (a Assignment) HandOver(c *Conversation, rules RuleOutcome) bool {
	if a.Mode == AssignOff || c.Assignee != "" {
		return false
	}
	if c.Flow.AutoVia == "" && !a.RulesOnly && c.Status.Active() {
		c.Flow.AutoVia = ViaPolicy(a.Mode)
	}
	return c.Flow.AutoVia != ""
}

// ReassignDue is when an auto-assigned conversation still open goes to the
// next agent (Assignment.ReassignAfterHours after its assignment); zero
// when it never does. Conversation.NextDue includes it, and the sweep
// calls the desk's Reassign for it.
func (c Conversation) ReassignDue(ib Inbox) time.Time {
	a := ib.Settings.Workflow.Assignment
	if a.Mode == AssignOff || a.ReassignAfterHours <= 0 || !c.Flow.AutoAssigned || c.Assignee == "" ||
		c.Status != StatusOpen || c.Flow.AssignedAt.IsZero() {
		return time.Time{}
	}
	return c.Flow.AssignedAt.Add(time.Duration(a.ReassignAfterHours) * time.Hour)
}

// Reassign hands a conversation whose ReassignDue has passed to the next
// agent other than its owner, within the round (the owner is left out of
// the turn but the position moves on as for any assignment). It reports
// whether it did; with nobody else free, the conversation stays with its
// owner and ReassignDue moves AssignedAt on by the period, so the sweep
// tries again later.
func (a Assignment) Reassign(r *AssignRound, id string, now time.Time) bool {
	c, ok := r.conversation(id)
	if !ok {
		return false
	}
	due := c.ReassignDue(r.Inbox)
	if due.IsZero() || due.After(now) {
		return false
	}
	owner := c.Assignee
	others := a
	others.Away = append(slices.Clone(a.Away), owner)
	agent, ok := others.pick(r.Inbox, r.Counts, r.State.Last)
	if !ok {
		c.Flow.AssignedAt = now
		c.Reschedule(r.Inbox)
		c.Version++
		c.UpdatedAt = now
		r.Changes = append(r.Changes, AssignChange{Conversation: c})
		return false
	}
	ev, err := c.Assign(r.Inbox, "", agent, now)
	if err != nil {
		return false
	}
	ev.Via = ViaReassign
	c.Flow.AssignedAt = now
	c.Flow.AutoAssigned = true
	c.Reschedule(r.Inbox)
	r.Changes = append(r.Changes, AssignChange{Conversation: c, Events: []Activity{ev}})
	r.State.Last = agent
	return true
}

// ValidateChanges checks the changes of a round before a store writes
// them: each is one of the round's conversations, once, at its stored
// version + 1, in the same tenant and inbox, valid, with entries that
// belong to it. Stores call it in Store.AutoAssign.
func (r AssignRound) ValidateChanges() error {
	seen := map[string]bool{}
	for _, ch := range r.Changes {
		c := ch.Conversation
		stored, ok := r.conversation(c.ID)
		switch {
		case !ok || seen[c.ID]:
			return invalidf("auto-assignment changed %s, which is not (once) in its round", c.ID)
		case c.TenantID != stored.TenantID || c.InboxID != stored.InboxID:
			return invalidf("auto-assignment cannot move %s to another inbox", c.ID)
		case c.Version != stored.Version+1:
			return invalidf("auto-assignment changed %s at version %d, not %d", c.ID, c.Version, stored.Version+1)
		}
		seen[c.ID] = true
		if err := c.Validate(); err != nil {
			return err
		}
		for _, ev := range ch.Events {
			if err := ev.ValidateFor(c.TenantID, c.ID); err != nil {
				return err
			}
		}
	}
	if len(r.State.Waiting) > MaxAssignWaiting {
		return invalidf("auto-assignment queue of %d conversations is over %d", len(r.State.Waiting), MaxAssignWaiting)
	}
	return nil
}

// RoundIDs are the conversations a round reads: ids, then the first
// MaxAssignReadAhead waiting ones, each once.
func RoundIDs(ids []string, st AssignState) []string {
	var out []string
	for _, id := range ids {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	for _, id := range st.Waiting[:min(len(st.Waiting), MaxAssignReadAhead)] {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
