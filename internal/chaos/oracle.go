package chaos

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The oracle compares what the simulator delivered and the teammates did
// (Record) with what the store and Gmail hold at the end (Observed). Its
// functions are pure: plain data in, differences out.

// Record is the run's own account: every mail the Gmail simulator
// delivered and every action a teammate sent, with the answer it got.
type Record struct {
	Deliveries []Delivery
	Actions    []Action
}

// Delivery is one mail delivered to a shared inbox (to each of its
// members' mailboxes: one Message-ID, several copies).
type Delivery struct {
	Inbox     string // inbox id
	MessageID string // RFC 5322 Message-ID, without angle brackets
	Thread    string // the driver's thread: its first mail's Message-ID
}

// Action is one teammate action sent to the add-on.
type Action struct {
	Conversation string
	Actor        string
	Op           string // OpAssign, OpStatus, OpTag or OpNote
	Value        string // the assignee, the status, the tag or the note's text
	// Accepted is whether the answer said the action was saved; a refused
	// action (the conversation changed meanwhile) must leave no trace.
	Accepted bool
	// Unknown is an action whose answer never came (the child was
	// killed while it ran): it may or may not have been saved.
	Unknown bool
	// Version is the conversation version the action produces if saved
	// (the version the card showed, plus one); 0 for notes.
	Version int64
}

// Teammate actions.
const (
	OpAssign = "assign"
	OpStatus = "status"
	OpTag    = "tag"
	OpNote   = "note"
)

// Observed is the end state as the product holds it.
type Observed struct {
	// Holding lists, for each Message-ID, the conversations recording it
	// (the store's Message-ID index).
	Holding map[string][]Ref
	// Conversations are every conversation of the chaos inboxes, by id.
	Conversations map[string]Conversation
	// Labels are the Postfach labels on every copy of a delivered mail in
	// a member's mailbox, next to the state they must show.
	Labels []MessageLabels
	// Counters are each inbox's kept counts.
	Counters map[string]Counts
}

// Ref names a conversation.
type Ref struct{ Inbox, Conversation string }

// Conversation is one conversation's stored state and its logs.
type Conversation struct {
	ID, Inbox string
	Status    string // open, pending or closed
	Assignee  string
	Tags      []string
	Activity  []Activity
	Notes     []string // texts
}

// Activity is one entry of a conversation's activity log.
type Activity struct {
	Version               int64
	Actor, Kind, From, To string
}

// Activity kinds the oracle reads (inbox.ActivityKind values).
const (
	KindAssigned   = "assigned"
	KindUnassigned = "unassigned"
	KindStatus     = "status"
	KindReopened   = "reopened"
	KindTagged     = "tagged"
	KindUntagged   = "untagged"
)

// MessageLabels are the labels of one inbox's tree on one message copy.
type MessageLabels struct {
	Mailbox, Message string // Gmail ids
	Conversation     string
	Got              []string // label names under the inbox's root
	Want             []string // what the conversation's state says
}

// Counts are an inbox's conversation counts (inbox.Counts).
type Counts struct {
	Open, Pending, Closed, Unassigned int
	Assigned                          map[string]int
}

// Diff is one difference the oracle found.
type Diff struct {
	Kind   string // DiffLost, DiffDuplicate, …
	Detail string
}

func (d Diff) String() string { return d.Kind + ": " + d.Detail }

// Kinds of differences.
const (
	DiffLost      = "lost message"
	DiffMisfiled  = "message in the wrong conversation"
	DiffDuplicate = "duplicate conversation"
	DiffAction    = "teammate action lost"
	DiffState     = "state not explained by the actions"
	DiffLabel     = "label differs from the state"
	DiffCounter   = "counter differs from a recount"
)

// Check runs every comparison.
func Check(r Record, o Observed) []Diff {
	var out []Diff
	out = append(out, CheckMessages(r.Deliveries, o)...)
	out = append(out, CheckActions(r.Actions, o.Conversations)...)
	out = append(out, CheckLabels(o.Labels)...)
	out = append(out, CheckCounters(o.Conversations, o.Counters)...)
	return out
}

// CheckMessages: every delivered mail is in exactly one conversation of
// its inbox, the mails of one thread share it, and each inbox has one
// conversation per thread.
func CheckMessages(ds []Delivery, o Observed) []Diff {
	var out []Diff
	threadConv := map[[2]string]string{} // inbox, thread → conversation
	threads := map[string]map[string]bool{}
	for _, d := range ds {
		if threads[d.Inbox] == nil {
			threads[d.Inbox] = map[string]bool{}
		}
		threads[d.Inbox][d.Thread] = true
		var in []string
		for _, ref := range o.Holding[d.MessageID] {
			if ref.Inbox == d.Inbox {
				in = append(in, ref.Conversation)
			}
		}
		switch {
		case len(in) == 0:
			out = append(out, Diff{DiffLost, fmt.Sprintf("<%s> to %s is in no conversation", d.MessageID, d.Inbox)})
			continue
		case len(in) > 1:
			out = append(out, Diff{DiffDuplicate, fmt.Sprintf("<%s> to %s is in %d conversations: %s", d.MessageID, d.Inbox, len(in), strings.Join(in, ", "))})
		}
		key := [2]string{d.Inbox, d.Thread}
		if c, ok := threadConv[key]; !ok {
			threadConv[key] = in[0]
		} else if c != in[0] {
			out = append(out, Diff{DiffMisfiled, fmt.Sprintf("<%s> is in %s, its thread <%s> in %s", d.MessageID, in[0], d.Thread, c)})
		}
	}
	per := map[string]int{}
	for _, c := range o.Conversations {
		per[c.Inbox]++
	}
	for _, ib := range slices.Sorted(maps.Keys(threads)) {
		if n, want := per[ib], len(threads[ib]); n != want {
			out = append(out, Diff{DiffDuplicate, fmt.Sprintf("inbox %s holds %d conversations for %d threads", ib, n, want)})
		}
	}
	return out
}

// CheckActions: every accepted action is in its conversation's activity
// log (a note: among its notes); every assignment and status change in
// the log is an action a teammate sent (accepted, or whose answer was
// lost in a crash) and no refused one; and the final state is what the
// last of them left, changed since only by a customer's mail reopening
// the conversation.
func CheckActions(as []Action, convs map[string]Conversation) []Diff {
	var out []Diff
	byConv := map[string][]Action{}
	for _, a := range as {
		byConv[a.Conversation] = append(byConv[a.Conversation], a)
	}
	for _, id := range slices.Sorted(maps.Keys(byConv)) {
		c, ok := convs[id]
		if !ok {
			for _, a := range byConv[id] {
				if a.Accepted {
					out = append(out, Diff{DiffAction, fmt.Sprintf("%s by %s on %s: the conversation is gone", a.Op, a.Actor, id)})
				}
			}
			continue
		}
		out = append(out, checkConversation(c, byConv[id])...)
	}
	for _, id := range slices.Sorted(maps.Keys(convs)) {
		if _, ok := byConv[id]; !ok {
			out = append(out, checkConversation(convs[id], nil)...)
		}
	}
	return out
}

// checkConversation checks one conversation against the actions sent on it.
func checkConversation(c Conversation, as []Action) []Diff {
	var out []Diff
	// The log entry an action wrote, if any.
	entry := func(a Action) (Activity, bool) {
		i := slices.IndexFunc(c.Activity, func(ev Activity) bool { return ev.Version == a.Version && ev.Actor == a.Actor && matches(a, ev) })
		if i < 0 {
			return Activity{}, false
		}
		return c.Activity[i], true
	}
	var lastAssign, lastStatus *Action
	for i, a := range as {
		if a.Op == OpNote {
			if a.Accepted && !slices.Contains(c.Notes, a.Value) {
				out = append(out, Diff{DiffAction, fmt.Sprintf("note %q by %s on %s is missing", a.Value, a.Actor, c.ID)})
			}
			continue
		}
		_, logged := entry(a)
		switch {
		case a.Accepted && !logged:
			out = append(out, Diff{DiffAction, fmt.Sprintf("%s %q by %s on %s (version %d) is not in the activity log", a.Op, a.Value, a.Actor, c.ID, a.Version)})
			continue
		case !logged:
			continue
		case !a.Accepted && !a.Unknown:
			out = append(out, Diff{DiffAction, fmt.Sprintf("refused %s %q by %s on %s was written (version %d)", a.Op, a.Value, a.Actor, c.ID, a.Version)})
			continue
		}
		switch a.Op {
		case OpAssign:
			if lastAssign == nil || a.Version > lastAssign.Version {
				lastAssign = &as[i]
			}
		case OpStatus:
			if lastStatus == nil || a.Version > lastStatus.Version {
				lastStatus = &as[i]
			}
		case OpTag:
			if !slices.Contains(c.Tags, a.Value) {
				out = append(out, Diff{DiffState, fmt.Sprintf("%s lacks tag %q added by %s (nobody removes tags)", c.ID, a.Value, a.Actor)})
			}
		}
	}
	// Every assignment and status change is a teammate's action.
	for _, ev := range c.Activity {
		if ev.Kind != KindAssigned && ev.Kind != KindUnassigned && ev.Kind != KindStatus {
			continue
		}
		if !slices.ContainsFunc(as, func(a Action) bool {
			_, ok := entry(a)
			return (a.Accepted || a.Unknown) && a.Version == ev.Version && a.Actor == ev.Actor && matches(a, ev) && ok
		}) {
			out = append(out, Diff{DiffState, fmt.Sprintf("%s: %s %q→%q by %q at version %d is no teammate's action", c.ID, ev.Kind, ev.From, ev.To, ev.Actor, ev.Version)})
		}
	}
	if a := lastAssign; a != nil && c.Assignee != a.Value {
		out = append(out, Diff{DiffState, fmt.Sprintf("%s is assigned to %q, the last assignment (version %d, by %s) says %q", c.ID, c.Assignee, a.Version, a.Actor, a.Value)})
	}
	if a := lastStatus; a != nil && c.Status != a.Value {
		reopened := slices.ContainsFunc(c.Activity, func(ev Activity) bool { return ev.Kind == KindReopened && ev.Version > a.Version })
		if !reopened || c.Status != "open" {
			out = append(out, Diff{DiffState, fmt.Sprintf("%s is %s, the last status change (version %d, by %s) says %s", c.ID, c.Status, a.Version, a.Actor, a.Value)})
		}
	}
	return out
}

// matches reports whether a log entry is what action a wrote.
func matches(a Action, ev Activity) bool {
	switch a.Op {
	case OpAssign:
		return ev.Kind == KindAssigned && ev.To == a.Value
	case OpStatus:
		return ev.Kind == KindStatus && strings.EqualFold(ev.To, a.Value)
	case OpTag:
		return ev.Kind == KindTagged && ev.To == a.Value
	}
	return false
}

// CheckLabels: every message copy carries exactly the labels its
// conversation's state asks for.
func CheckLabels(ls []MessageLabels) []Diff {
	var out []Diff
	for _, l := range ls {
		got, want := slices.Sorted(slices.Values(l.Got)), slices.Sorted(slices.Values(l.Want))
		if !slices.Equal(got, want) {
			out = append(out, Diff{DiffLabel, fmt.Sprintf("message %s in %s (%s) has %q, want %q", l.Message, l.Mailbox, l.Conversation, got, want)})
		}
	}
	return out
}

// CheckCounters: each inbox's kept counts equal a recount of its
// conversations.
func CheckCounters(convs map[string]Conversation, kept map[string]Counts) []Diff {
	recount := map[string]*Counts{}
	for ib := range kept {
		recount[ib] = &Counts{}
	}
	for _, c := range convs {
		n := recount[c.Inbox]
		if n == nil {
			n = &Counts{}
			recount[c.Inbox] = n
		}
		switch c.Status {
		case "open":
			n.Open++
		case "pending":
			n.Pending++
		case "closed":
			n.Closed++
		}
		if c.Status == "closed" {
			continue
		}
		if c.Assignee == "" {
			n.Unassigned++
			continue
		}
		if n.Assigned == nil {
			n.Assigned = map[string]int{}
		}
		n.Assigned[c.Assignee]++
	}
	var out []Diff
	for _, ib := range slices.Sorted(maps.Keys(recount)) {
		k, n := kept[ib], *recount[ib]
		if k.Open != n.Open || k.Pending != n.Pending || k.Closed != n.Closed || k.Unassigned != n.Unassigned || !maps.Equal(nonZero(k.Assigned), nonZero(n.Assigned)) {
			out = append(out, Diff{DiffCounter, fmt.Sprintf("inbox %s keeps %s, a recount says %s", ib, k, n)})
		}
	}
	return out
}

func nonZero(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func (c Counts) String() string {
	var owners []string
	for _, k := range slices.SortedFunc(maps.Keys(c.Assigned), cmp.Compare) {
		owners = append(owners, fmt.Sprintf("%s=%d", k, c.Assigned[k]))
	}
	return fmt.Sprintf("open %d, pending %d, closed %d, unassigned %d, owners [%s]", c.Open, c.Pending, c.Closed, c.Unassigned, strings.Join(owners, " "))
}
