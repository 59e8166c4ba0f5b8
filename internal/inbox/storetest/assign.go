package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

// Rules and auto-assignment (issue 13): the rules' entries written with
// the mail, and Store.AutoAssign.
func assignCases() []testCase {
	return []testCase{
		{"CreateWithRuleEntries", testCreateWithRuleEntries},
		{"AppendWithRuleEntries", testAppendWithRuleEntries},
		{"RoundTrip", testAutoAssignRoundTrip},
		{"FnError", testAutoAssignFnError},
		{"InvalidChange", testAutoAssignInvalidChange},
		{"InboxNotFound", testAutoAssignInboxNotFound},
		{"RaceNeverDoubleAssigns", testAutoAssignRace},
		{"RaceWithCapacity", testAutoAssignRaceCapacity},
	}
}

// ruleRule is the rule the suite's rule entries name.
var ruleRule = inbox.Rule{ID: "r1", Name: "VIP", Actions: []inbox.Action{{Kind: inbox.ActionTag, Value: "vip"}}}

// testCreateWithRuleEntries: the entries passed after the created one are
// stored with it, Via included, in the same write.
func testCreateWithRuleEntries(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := newConversation(t, f.ib, root(1), t0)
	tag, err := c.AddTag("", "vip", t0)
	if err != nil {
		t.Fatal(err)
	}
	tag.Via = inbox.ViaRule(ruleRule)
	assign, err := c.Assign(f.ib, "", alice, t0)
	if err != nil {
		t.Fatal(err)
	}
	assign.Via = inbox.ViaRule(ruleRule)
	c.Version, tag.Version, assign.Version = 1, 1, 1
	if err := f.s.CreateConversation(t.Context(), c, []string{root(1)}, created, tag, assign); err != nil {
		t.Fatalf("CreateConversation: %v", err)
	}
	wantConversation(t, f.s, c)
	wantActivity(t, f.s, domainA, c.ID, assign, tag, created)
	counts, err := f.s.InboxCounts(t.Context(), domainA, f.ib.ID)
	if err != nil || counts.Mine(alice) != 1 || counts.Unassigned != 0 {
		t.Errorf("InboxCounts = %+v, %v; want alice 1, unassigned 0", counts, err)
	}
}

// testAppendWithRuleEntries: a mail that changes nothing itself but whose
// rules do is one write at the stored version + 1 with every entry; its
// replay is ErrAlreadyExists and writes nothing.
func testAppendWithRuleEntries(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	next := c
	ev, err := next.AddTag("", "billing", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ev.Via = inbox.ViaRule(ruleRule)
	if err := f.s.AppendMessage(t.Context(), next, []string{root(2), root(1)}, nil, ev); err != nil {
		t.Fatalf("AppendMessage: %v", err)
	}
	wantConversation(t, f.s, next)
	wantActivity(t, f.s, domainA, c.ID, ev, created)

	again := next
	ev2, _ := again.AddTag("", "other", t0.Add(2*time.Minute))
	err = f.s.AppendMessage(t.Context(), again, []string{root(2), root(1)}, nil, ev2)
	wantErr(t, "AppendMessage replay", err, inbox.ErrAlreadyExists)
	wantConversation(t, f.s, next)
	wantActivity(t, f.s, domainA, c.ID, ev, created)
}

// waitingConversation stores a conversation handed to auto-assignment.
func waitingConversation(t *testing.T, s inbox.Store, ib inbox.Inbox, i int) inbox.Conversation {
	t.Helper()
	c, created := newConversation(t, ib, root(i), t0.Add(time.Duration(i)*time.Minute))
	c.Flow.AutoVia = inbox.ViaPolicy(inbox.AssignRoundRobin)
	if err := s.CreateConversation(t.Context(), c, []string{root(i)}, created); err != nil {
		t.Fatalf("CreateConversation(%d): %v", i, err)
	}
	return c
}

var roundRobin = inbox.Assignment{Mode: inbox.AssignRoundRobin, Agents: []string{bob, carol}}

// testAutoAssignRoundTrip: a round sees the inbox, counts, state and the
// named conversations; what it changes is stored with the state, and the
// next round sees both.
func testAutoAssignRoundTrip(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c1 := waitingConversation(t, f.s, f.ib, 1)
	c2 := waitingConversation(t, f.s, f.ib, 2)
	at := t0.Add(time.Hour)
	r, err := f.s.AutoAssign(t.Context(), domainA, f.ib.ID, []string{c1.ID, "no-such-conversation"}, func(r *inbox.AssignRound) error {
		if r.Inbox.ID != f.ib.ID || r.Counts.Unassigned != 2 || len(r.Conversations) != 1 || r.Conversations[0].ID != c1.ID {
			t.Errorf("first round read inbox %s, counts %+v, conversations %v", r.Inbox.ID, r.Counts, ids(r.Conversations))
		}
		roundRobin.Decide(r, []string{c1.ID}, at)
		return nil
	})
	if err != nil {
		t.Fatalf("AutoAssign: %v", err)
	}
	if r.State.Last != bob || len(r.Changes) != 1 {
		t.Fatalf("round = %+v, want bob assigned", r.State)
	}
	got := mustGetConversation(t, f.s, domainA, c1.ID)
	if got.Assignee != bob || got.Version != 2 || got.Flow.AutoVia != "" || !got.Flow.AutoAssigned || !got.Flow.AssignedAt.Equal(at) {
		t.Errorf("conversation after round: %+v", got)
	}
	acts := mustListActivity(t, f.s, domainA, c1.ID)
	if len(acts) != 2 || acts[0].Kind != inbox.ActAssigned || acts[0].To != bob || acts[0].Via != inbox.ViaPolicy(inbox.AssignRoundRobin) {
		t.Errorf("activity = %+v", acts)
	}
	wantRecent(t, f.s, domainA, c1.ID)

	_, err = f.s.AutoAssign(t.Context(), domainA, f.ib.ID, []string{c2.ID}, func(r *inbox.AssignRound) error {
		if r.State.Last != bob || r.Counts.Mine(bob) != 1 || r.Counts.Unassigned != 1 {
			t.Errorf("second round read state %+v, counts %+v", r.State, r.Counts)
		}
		roundRobin.Decide(r, []string{c2.ID}, at)
		return nil
	})
	if err != nil {
		t.Fatalf("AutoAssign: %v", err)
	}
	if got := mustGetConversation(t, f.s, domainA, c2.ID); got.Assignee != carol {
		t.Errorf("second conversation went to %q, want carol", got.Assignee)
	}
	counts, err := f.s.InboxCounts(t.Context(), domainA, f.ib.ID)
	if err != nil || counts.Mine(bob) != 1 || counts.Mine(carol) != 1 || counts.Unassigned != 0 {
		t.Errorf("InboxCounts = %+v, %v", counts, err)
	}
}

// testAutoAssignFnError: fn's error comes back as is; nothing is written.
func testAutoAssignFnError(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c1 := waitingConversation(t, f.s, f.ib, 1)
	boom := errors.New("boom")
	_, err := f.s.AutoAssign(t.Context(), domainA, f.ib.ID, []string{c1.ID}, func(r *inbox.AssignRound) error {
		roundRobin.Decide(r, []string{c1.ID}, t0)
		return boom
	})
	if err != boom {
		t.Errorf("AutoAssign = %v, want fn's error as is", err)
	}
	wantConversation(t, f.s, c1)
	_, err = f.s.AutoAssign(t.Context(), domainA, f.ib.ID, nil, func(r *inbox.AssignRound) error {
		if r.State.Last != "" || len(r.State.Waiting) != 0 {
			t.Errorf("state after a failed round: %+v", r.State)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testAutoAssignInvalidChange: a change of a conversation not in the
// round, or not at version + 1, is ErrInvalid and nothing is written.
func testAutoAssignInvalidChange(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c1 := waitingConversation(t, f.s, f.ib, 1)
	c2 := waitingConversation(t, f.s, f.ib, 2)
	for _, tc := range []struct {
		name   string
		change func(r *inbox.AssignRound)
	}{
		{"not in round", func(r *inbox.AssignRound) {
			c := c2
			ev, _ := c.Assign(f.ib, "", bob, t0)
			r.Changes = append(r.Changes, inbox.AssignChange{Conversation: c, Events: []inbox.Activity{ev}})
		}},
		{"version kept", func(r *inbox.AssignRound) {
			c := r.Conversations[0]
			c.Assignee = bob
			r.Changes = append(r.Changes, inbox.AssignChange{Conversation: c})
		}},
	} {
		_, err := f.s.AutoAssign(t.Context(), domainA, f.ib.ID, []string{c1.ID}, func(r *inbox.AssignRound) error {
			r.State.Last = carol
			tc.change(r)
			return nil
		})
		wantErr(t, "AutoAssign "+tc.name, err, inbox.ErrInvalid)
	}
	wantConversation(t, f.s, c1)
	wantConversation(t, f.s, c2)
	_, err := f.s.AutoAssign(t.Context(), domainA, f.ib.ID, nil, func(r *inbox.AssignRound) error {
		if r.State.Last != "" {
			t.Errorf("state written by a refused round: %+v", r.State)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testAutoAssignInboxNotFound: a round of an unknown inbox is ErrNotFound.
func testAutoAssignInboxNotFound(t *testing.T, h Harness) {
	f := newFixture(t, h)
	_, err := f.s.AutoAssign(t.Context(), domainA, "nope", nil, func(*inbox.AssignRound) error { return nil })
	wantErr(t, "AutoAssign", err, inbox.ErrNotFound)
}

// raceRounds stores writers waiting conversations and races one round per
// conversation; it returns them as stored after.
func raceRounds(t *testing.T, s inbox.Store, ib inbox.Inbox, policy inbox.Assignment) []inbox.Conversation {
	t.Helper()
	cs := make([]inbox.Conversation, writers)
	for i := range cs {
		cs[i] = waitingConversation(t, s, ib, i+1)
	}
	errs := race(func(i int) error {
		_, err := s.AutoAssign(t.Context(), domainA, ib.ID, []string{cs[i].ID}, func(r *inbox.AssignRound) error {
			policy.Decide(r, []string{cs[i].ID}, t0.Add(time.Hour))
			return nil
		})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("AutoAssign %d: %v", i, err)
		}
	}
	out := make([]inbox.Conversation, len(cs))
	for i, c := range cs {
		out[i] = mustGetConversation(t, s, domainA, c.ID)
		if acts := mustListActivity(t, s, domainA, c.ID); len(acts) > 2 {
			t.Errorf("%s has %d entries, want at most created and one assignment: %+v", c.ID, len(acts), acts)
		}
	}
	return out
}

// testAutoAssignRace: concurrent rounds each assign their conversation
// exactly once, and the turns alternate: bob and carol get half each.
func testAutoAssignRace(t *testing.T, h Harness) {
	f := newFixture(t, h)
	got := raceRounds(t, f.s, f.ib, roundRobin)
	per := map[string]int{}
	for _, c := range got {
		per[c.Assignee]++
	}
	if want := map[string]int{bob: writers / 2, carol: writers / 2}; !cmp.Equal(per, want) {
		t.Errorf("assignments per agent = %v, want %v (no turn given twice or skipped)", per, want)
	}
	counts, err := f.s.InboxCounts(t.Context(), domainA, f.ib.ID)
	if err != nil || counts.Mine(bob) != writers/2 || counts.Mine(carol) != writers/2 || counts.Unassigned != 0 {
		t.Errorf("InboxCounts = %+v, %v", counts, err)
	}
}

// testAutoAssignRaceCapacity: with capacity 2 each, racing rounds assign
// exactly four conversations and queue the other four, each once.
func testAutoAssignRaceCapacity(t *testing.T, h Harness) {
	f := newFixture(t, h)
	policy := roundRobin
	policy.Capacity = 2
	got := raceRounds(t, f.s, f.ib, policy)
	per := map[string]int{}
	var unassigned []string
	for _, c := range got {
		per[c.Assignee]++
		if c.Assignee == "" {
			unassigned = append(unassigned, c.ID)
		}
	}
	if per[bob] != 2 || per[carol] != 2 || len(unassigned) != writers-4 {
		t.Errorf("assignments per agent = %v, want bob 2, carol 2, %d waiting", per, writers-4)
	}
	r, err := f.s.AutoAssign(t.Context(), domainA, f.ib.ID, nil, func(*inbox.AssignRound) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	waiting := slices.Clone(r.State.Waiting)
	slices.Sort(waiting)
	slices.Sort(unassigned)
	if !slices.Equal(waiting, unassigned) {
		t.Errorf("queue = %v, want the unassigned %v once each", r.State.Waiting, unassigned)
	}
}
