package inbox

import "maps"

// Counts are the conversation counts of one inbox that the homepage shows,
// kept by the store as conversations are created and change status or
// owner (see Store.InboxCounts), so that reading them costs the same at 10
// and at 1,000,000 conversations.
type Counts struct {
	Open, Pending, Closed int // conversations by status
	// Unassigned counts the open and pending conversations nobody owns.
	Unassigned int
	// Assigned counts the open and pending conversations of each owner;
	// owners with none are left out (nil when nobody owns any).
	Assigned map[string]int
}

// Mine is how many open and pending conversations email owns.
func (c Counts) Mine(email string) int { return c.Assigned[email] }

// Equal reports whether c and d count the same.
func (c Counts) Equal(d Counts) bool {
	return c.Open == d.Open && c.Pending == d.Pending && c.Closed == d.Closed &&
		c.Unassigned == d.Unassigned && maps.Equal(c.nonZero(), d.nonZero())
}

// IsZero reports whether c counts nothing (a zero delta, an empty inbox).
func (c Counts) IsZero() bool { return c.Equal(Counts{}) }

// Add returns c plus d, field by field; owners whose sum is zero are left
// out.
func (c Counts) Add(d Counts) Counts {
	out := Counts{
		Open: c.Open + d.Open, Pending: c.Pending + d.Pending, Closed: c.Closed + d.Closed,
		Unassigned: c.Unassigned + d.Unassigned,
	}
	for _, m := range []map[string]int{c.Assigned, d.Assigned} {
		for k, v := range m {
			out.addAssigned(k, v)
		}
	}
	return out
}

// Sub returns c minus d, field by field (a delta that turns d into c).
func (c Counts) Sub(d Counts) Counts { return c.Add(d.negated()) }

func (c Counts) negated() Counts {
	out := Counts{Open: -c.Open, Pending: -c.Pending, Closed: -c.Closed, Unassigned: -c.Unassigned}
	for k, v := range c.Assigned {
		out.addAssigned(k, -v)
	}
	return out
}

func (c *Counts) addAssigned(owner string, n int) {
	if n == 0 {
		return
	}
	if c.Assigned == nil {
		c.Assigned = map[string]int{}
	}
	if c.Assigned[owner] += n; c.Assigned[owner] == 0 {
		delete(c.Assigned, owner)
	}
	if len(c.Assigned) == 0 {
		c.Assigned = nil
	}
}

func (c Counts) nonZero() map[string]int {
	out := map[string]int{}
	for k, v := range c.Assigned {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// CountsOf is what one conversation with this status and owner adds to its
// inbox's Counts.
func CountsOf(st Status, assignee string) Counts {
	var c Counts
	switch st {
	case StatusOpen:
		c.Open = 1
	case StatusPending:
		c.Pending = 1
	case StatusClosed:
		c.Closed = 1
	}
	if st.Active() {
		if assignee == "" {
			c.Unassigned = 1
		} else {
			c.addAssigned(assignee, 1)
		}
	}
	return c
}

// CountsDelta is how a write changes its inbox's Counts: the conversation
// before it (nil: the write creates it) and after it. A write that changes
// neither status nor owner is the zero delta.
func CountsDelta(before *Conversation, after Conversation) Counts {
	d := CountsOf(after.Status, after.Assignee)
	if before != nil {
		d = d.Sub(CountsOf(before.Status, before.Assignee))
	}
	return d
}

// CountsRepair is the outcome of Store.ReconcileCounts: what the kept
// counts said and what a recount of the conversations found, both as of
// one snapshot. The kept counts were corrected by Counted.Sub(Kept).
type CountsRepair struct {
	Kept, Counted Counts
}

// Drifted reports whether the kept counts were wrong.
func (r CountsRepair) Drifted() bool { return !r.Kept.Equal(r.Counted) }
