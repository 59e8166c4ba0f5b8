package inbox_test

import (
	"slices"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

const (
	bobAddr   = "bob@example.com"
	carolAddr = "carol@example.com"
)

// round builds a round over waiting conversations 1..n (ids "c1"...),
// with the counts given.
func round(ib inbox.Inbox, counts inbox.Counts, st inbox.AssignState, n int) *inbox.AssignRound {
	r := &inbox.AssignRound{Inbox: ib, Counts: counts, State: st}
	for i := 1; i <= n; i++ {
		r.Conversations = append(r.Conversations, inbox.Conversation{
			TenantID: ib.TenantID, ID: "c" + string(rune('0'+i)), InboxID: ib.ID, RootMessageID: "m@x", Status: inbox.StatusOpen,
			Version: 1, CreatedAt: now, LastMessageAt: now, Flow: inbox.Flow{AutoVia: inbox.ViaPolicy(inbox.AssignRoundRobin)},
		})
	}
	return r
}

func owners(r *inbox.AssignRound) []string {
	var out []string
	for _, ch := range r.Changes {
		out = append(out, ch.Conversation.ID+"="+ch.Conversation.Assignee)
	}
	return out
}

func TestDecide(t *testing.T) {
	t.Parallel()
	rr := inbox.Assignment{Mode: inbox.AssignRoundRobin, Agents: []string{bobAddr, carolAddr}}
	capped := rr
	capped.Capacity = 1
	awayBob := rr
	awayBob.Away = []string{bobAddr}
	least := inbox.Assignment{Mode: inbox.AssignLeastOpen, Agents: []string{bobAddr, carolAddr}}
	busyBob := inbox.Counts{Assigned: map[string]int{bobAddr: 3, carolAddr: 1}}
	tests := []struct {
		name    string
		policy  inbox.Assignment
		counts  inbox.Counts
		state   inbox.AssignState
		ids     []string
		n       int
		want    []string
		waiting []string
		last    string
	}{
		{"alternates", rr, inbox.Counts{}, inbox.AssignState{}, []string{"c1", "c2", "c3"}, 3, []string{"c1=" + bobAddr, "c2=" + carolAddr, "c3=" + bobAddr}, nil, bobAddr},
		{"continues after last", rr, inbox.Counts{}, inbox.AssignState{Last: bobAddr}, []string{"c1"}, 1, []string{"c1=" + carolAddr}, nil, carolAddr},
		{"capacity queues", capped, inbox.Counts{}, inbox.AssignState{}, []string{"c1", "c2", "c3"}, 3, []string{"c1=" + bobAddr, "c2=" + carolAddr}, []string{"c3"}, carolAddr},
		{"away skipped", awayBob, inbox.Counts{}, inbox.AssignState{}, []string{"c1", "c2"}, 2, []string{"c1=" + carolAddr, "c2=" + carolAddr}, nil, carolAddr},
		{"waiting first, oldest first", rr, inbox.Counts{}, inbox.AssignState{Waiting: []string{"c2", "c1"}}, []string{"c3"}, 3, []string{"c2=" + bobAddr, "c1=" + carolAddr, "c3=" + bobAddr}, nil, bobAddr},
		{"order kept behind a blocked one", capped, inbox.Counts{Assigned: map[string]int{bobAddr: 1, carolAddr: 1}}, inbox.AssignState{Waiting: []string{"c1"}}, []string{"c2"}, 2, nil, []string{"c1", "c2"}, ""},
		{"least open", least, busyBob, inbox.AssignState{}, []string{"c1", "c2", "c3"}, 3, []string{"c1=" + carolAddr, "c2=" + carolAddr, "c3=" + bobAddr}, nil, bobAddr},
		{"off drops the queue", inbox.Assignment{}, inbox.Counts{}, inbox.AssignState{Waiting: []string{"c1"}}, []string{"c1"}, 1, nil, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ib := workflowInbox(nil, tc.policy)
			r := round(ib, tc.counts, tc.state, tc.n)
			tc.policy.Decide(r, tc.ids, now)
			if got := owners(r); !slices.Equal(got, tc.want) {
				t.Errorf("assigned %v, want %v", got, tc.want)
			}
			if !slices.Equal(r.State.Waiting, tc.waiting) || r.State.Last != tc.last {
				t.Errorf("state %+v, want waiting %v last %q", r.State, tc.waiting, tc.last)
			}
			if err := r.ValidateChanges(); err != nil {
				t.Errorf("ValidateChanges: %v", err)
			}
			for _, ch := range r.Changes {
				c := ch.Conversation
				if c.Version != 2 || c.Flow.AutoVia != "" || !c.Flow.AutoAssigned || len(ch.Events) != 1 || ch.Events[0].Via != inbox.ViaPolicy(inbox.AssignRoundRobin) {
					t.Errorf("change %+v", ch)
				}
			}
		})
	}
}

func TestReassign(t *testing.T) {
	t.Parallel()
	a := inbox.Assignment{Mode: inbox.AssignRoundRobin, Agents: []string{bobAddr, carolAddr}, ReassignAfterHours: 4}
	ib := workflowInbox(nil, a)
	r := round(ib, inbox.Counts{}, inbox.AssignState{Last: bobAddr}, 1)
	c := &r.Conversations[0]
	c.Assignee, c.Flow.AutoVia, c.Flow.AutoAssigned, c.Flow.AssignedAt = bobAddr, "", true, now
	if due := c.ReassignDue(ib); !due.Equal(now.Add(4 * time.Hour)) {
		t.Fatalf("ReassignDue = %v", due)
	}
	if a.Reassign(r, "c1", now.Add(3*time.Hour)) || len(r.Changes) != 0 {
		t.Fatalf("reassigned before due: %+v", r.Changes)
	}
	if !a.Reassign(r, "c1", now.Add(5*time.Hour)) {
		t.Fatal("not reassigned when due")
	}
	got := r.Changes[0]
	if got.Conversation.Assignee != carolAddr || got.Events[0].Via != inbox.ViaReassign || got.Events[0].From != bobAddr ||
		!got.Conversation.DueAt.Equal(now.Add(9*time.Hour)) {
		t.Errorf("reassigned %+v", got)
	}
	pending := *c
	pending.Status = inbox.StatusPending
	if !pending.ReassignDue(ib).IsZero() {
		t.Error("a conversation waiting for the customer is due for reassignment")
	}
}

func TestSetAway(t *testing.T) {
	t.Parallel()
	var a inbox.Assignment
	if !a.SetAway("Bob@Example.com", true) || !a.IsAway(bobAddr) || a.SetAway(bobAddr, true) {
		t.Fatalf("away: %+v", a)
	}
	if !a.SetAway(bobAddr, false) || a.IsAway(bobAddr) || a.Away != nil {
		t.Fatalf("back: %+v", a)
	}
}
