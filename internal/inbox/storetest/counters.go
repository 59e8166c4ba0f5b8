package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// The Counters group checks Store.InboxCounts against a recount: after
// every kind of write that creates a conversation or changes its status or
// assignee, alone and racing, the kept counts equal what
// CountConversations counts for the same filters. ReconcileCounts finds no
// drift in a store that only its own writes changed (adapters test drift
// they introduce behind the contract themselves).

func counterCases() []testCase {
	return []testCase{
		{"Empty", testCountersEmpty},
		{"InvalidIDs", testCountersInvalidIDs},
		{"AfterEveryWrite", testCountersAfterEveryWrite},
		{"Mix", testCountersMix},
		{"RefusedWritesCountNothing", testCountersRefusedWrites},
		{"MemberRemoval", testCountersMemberRemoval},
		{"DeletedInboxKeepsCounting", testCountersDeletedInbox},
		{"TenantIsolation", testCountersTenantIsolation},
		{"ConcurrentChanges", testCountersConcurrentChanges},
		{"ConcurrentCreatesAndAppends", testCountersConcurrentCreatesAndAppends},
		{"ReconcileFindsNoDrift", testCountersReconcileNoDrift},
	}
}

// recount counts an inbox's conversations with CountConversations, filter
// by filter, as the kept counts must count them. The owners recounted are
// those of the kept counts, the inbox's members and extra.
func recount(t *testing.T, s inbox.Store, tenantID, inboxID string, owners []string) inbox.Counts {
	t.Helper()
	active := []inbox.Status{inbox.StatusOpen, inbox.StatusPending}
	count := func(q inbox.ConversationQuery) int {
		t.Helper()
		q.TenantID, q.InboxID = tenantID, inboxID
		n, err := s.CountConversations(t.Context(), q)
		if err != nil {
			t.Fatalf("CountConversations(%+v): %v", q, err)
		}
		return n
	}
	c := inbox.Counts{
		Open:       count(inbox.ConversationQuery{Statuses: []inbox.Status{inbox.StatusOpen}}),
		Pending:    count(inbox.ConversationQuery{Statuses: []inbox.Status{inbox.StatusPending}}),
		Closed:     count(inbox.ConversationQuery{Statuses: []inbox.Status{inbox.StatusClosed}}),
		Unassigned: count(inbox.ConversationQuery{Statuses: active, Assignee: inbox.Unassigned}),
	}
	for _, o := range owners {
		if n := count(inbox.ConversationQuery{Statuses: active, Assignee: o}); n != 0 {
			c = c.Add(inbox.Counts{Assigned: map[string]int{o: n}})
		}
	}
	return c
}

// wantCounts fails unless InboxCounts of the inbox equals a recount (and
// want, when given). Every owner the kept counts name, and alice, bob and
// carol, are recounted; the active conversations must add up, so an owner
// missing from the kept counts is caught too.
func wantCounts(t *testing.T, s inbox.Store, tenantID, inboxID string, want ...inbox.Counts) {
	t.Helper()
	got, err := s.InboxCounts(t.Context(), tenantID, inboxID)
	if err != nil {
		t.Fatalf("InboxCounts(%s, %s): %v", tenantID, inboxID, err)
	}
	owners := []string{alice, bob, carol}
	for o := range got.Assigned {
		if !slices.Contains(owners, o) {
			owners = append(owners, o)
		}
	}
	counted := recount(t, s, tenantID, inboxID, owners)
	if !got.Equal(counted) {
		t.Errorf("InboxCounts(%s, %s) = %+v, a recount by CountConversations gives %+v", tenantID, inboxID, got, counted)
	}
	active, err := s.CountConversations(t.Context(), inbox.ConversationQuery{TenantID: tenantID, InboxID: inboxID, Statuses: []inbox.Status{inbox.StatusOpen, inbox.StatusPending}})
	if err != nil {
		t.Fatalf("CountConversations(active): %v", err)
	}
	sum := got.Unassigned
	for _, n := range got.Assigned {
		sum += n
	}
	if sum != active || got.Open+got.Pending != active {
		t.Errorf("InboxCounts(%s, %s) = %+v: unassigned and owned add up to %d, open and pending to %d; %d are open or pending", tenantID, inboxID, got, sum, got.Open+got.Pending, active)
	}
	for _, w := range want {
		if !got.Equal(w) {
			t.Errorf("InboxCounts(%s, %s) = %+v, want %+v", tenantID, inboxID, got, w)
		}
	}
}

func testCountersEmpty(t *testing.T, h Harness) {
	f := newFixture(t, h)
	wantCounts(t, f.s, domainA, "support", inbox.Counts{})
	wantCounts(t, f.s, domainA, "no-such-inbox", inbox.Counts{})
}

func testCountersInvalidIDs(t *testing.T, h Harness) {
	f := newFixture(t, h)
	for _, tc := range []struct{ name, tenant, inbox string }{
		{"NoTenant", "", "support"},
		{"NoInbox", domainA, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.s.InboxCounts(t.Context(), tc.tenant, tc.inbox)
			wantErr(t, "InboxCounts", err, inbox.ErrInvalid)
			_, err = f.s.ReconcileCounts(t.Context(), tc.tenant, tc.inbox)
			wantErr(t, "ReconcileCounts", err, inbox.ErrInvalid)
		})
	}
}

// testCountersAfterEveryWrite walks one conversation through every kind
// of change and checks the counts after each.
func testCountersAfterEveryWrite(t *testing.T, h Harness) {
	f := newFixture(t, h)
	now := t0.Add(time.Minute)
	other, _ := mustCreateConversation(t, f.s, f.ib, root(99), t0)
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 1, Unassigned: 1})

	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 2, Unassigned: 2})

	steps := []struct {
		name   string
		change func(c *inbox.Conversation) (inbox.Activity, error)
		want   inbox.Counts
	}{
		{"Assign", func(c *inbox.Conversation) (inbox.Activity, error) { return c.Assign(f.ib, alice, bob, now) },
			inbox.Counts{Open: 2, Unassigned: 1, Assigned: map[string]int{bob: 1}}},
		{"Reassign", func(c *inbox.Conversation) (inbox.Activity, error) { return c.Assign(f.ib, alice, carol, now) },
			inbox.Counts{Open: 2, Unassigned: 1, Assigned: map[string]int{carol: 1}}},
		{"Pending", func(c *inbox.Conversation) (inbox.Activity, error) {
			return c.SetStatus(carol, inbox.StatusPending, now)
		}, inbox.Counts{Open: 1, Pending: 1, Unassigned: 1, Assigned: map[string]int{carol: 1}}},
		{"Tag", func(c *inbox.Conversation) (inbox.Activity, error) { return c.AddTag(carol, "vip", now) },
			inbox.Counts{Open: 1, Pending: 1, Unassigned: 1, Assigned: map[string]int{carol: 1}}},
		{"Close", func(c *inbox.Conversation) (inbox.Activity, error) {
			return c.SetStatus(carol, inbox.StatusClosed, now)
		},
			inbox.Counts{Open: 1, Closed: 1, Unassigned: 1}},
		{"Unassign", func(c *inbox.Conversation) (inbox.Activity, error) { return c.Unassign(alice, now) },
			inbox.Counts{Open: 1, Closed: 1, Unassigned: 1}},
		{"AssignClosed", func(c *inbox.Conversation) (inbox.Activity, error) { return c.Assign(f.ib, alice, bob, now) },
			inbox.Counts{Open: 1, Closed: 1, Unassigned: 1}},
	}
	for _, st := range steps {
		mustChange(t, f.s, &c, st.change)
		wantCounts(t, f.s, domainA, "support", st.want)
		if t.Failed() {
			t.Fatalf("after %s", st.name)
		}
	}

	// A customer's reply reopens the closed conversation (still bob's).
	mustAppend(t, f.s, f.ib, &c, reply(customer, "reply-1@mail.example", root(1), root(1), now), now)
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 2, Unassigned: 1, Assigned: map[string]int{bob: 1}})
	// The team's reply moves it to pending (the inbox's reply status).
	mustAppend(t, f.s, f.ib, &c, sentBy(reply(bob, "reply-2@mail.example", "reply-1@mail.example", root(1), now.Add(time.Minute)), bob), now)
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 1, Pending: 1, Unassigned: 1, Assigned: map[string]int{bob: 1}})
	// A customer's mail to the open conversation changes no state.
	mustAppend(t, f.s, f.ib, &other, reply(customer, "reply-3@mail.example", root(99), root(99), now), now)
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 1, Pending: 1, Unassigned: 1, Assigned: map[string]int{bob: 1}})
}

// testCountersMix checks the counts of the List and Count groups' mix of
// every status and owner, in each inbox.
func testCountersMix(t *testing.T, h Harness) {
	f := newFixture(t, h)
	seedMix(t, f)
	wantCounts(t, f.s, domainA, "support")
	wantCounts(t, f.s, domainA, "sales", inbox.Counts{Open: 1, Unassigned: 1})
}

// testCountersRefusedWrites: a write that is refused (a stale version, a
// mail recorded before, a duplicate create) changes no count.
func testCountersRefusedWrites(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	first, stale := c, c
	mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) { return c.Assign(f.ib, alice, bob, t0) })

	ev, err := stale.SetStatus(alice, inbox.StatusClosed, t0)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "UpdateConversation(stale)", f.s.UpdateConversation(t.Context(), stale, ev), inbox.ErrConflict)
	wantErr(t, "CreateConversation(again)", f.s.CreateConversation(t.Context(), first, []string{root(1)}, created), inbox.ErrAlreadyExists)
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 1, Assigned: map[string]int{bob: 1}})
	closed := c
	mustChange(t, f.s, &closed, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus(alice, inbox.StatusClosed, t0)
	})
	// The first mail again, as a reply that would reopen it: recorded before.
	replay := closed
	ids, rev := receive(&replay, f.ib, reply(customer, root(1), root(1), root(1), t0), t0)
	wantErr(t, "AppendMessage(replay)", f.s.AppendMessage(t.Context(), replay, ids, rev), inbox.ErrAlreadyExists)
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Closed: 1})
}

// testCountersMemberRemoval: removing a member from the inbox and then
// unassigning what they owned (as desk does) moves their conversations to
// Unassigned.
func testCountersMemberRemoval(t *testing.T, h Harness) {
	f := newFixture(t, h)
	var owned []inbox.Conversation
	for i := range 3 {
		c, _ := mustCreateConversation(t, f.s, f.ib, root(i), t0)
		mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) { return c.Assign(f.ib, alice, carol, t0) })
		owned = append(owned, c)
	}
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 3, Assigned: map[string]int{carol: 3}})
	mustUpdateInbox(t, f.s, domainA, "support", func(ib *inbox.Inbox) error {
		ib.Members = slices.DeleteFunc(slices.Clone(ib.Members), func(m inbox.Member) bool { return m.Email == carol })
		return nil
	})
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 3, Assigned: map[string]int{carol: 3}})
	for i := range owned {
		mustChange(t, f.s, &owned[i], func(c *inbox.Conversation) (inbox.Activity, error) { return c.Unassign(alice, t0) })
	}
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 3, Unassigned: 3})
}

// testCountersDeletedInbox: a deleted inbox's conversations stay, and so do
// their counts under its id (CountConversations still counts them).
func testCountersDeletedInbox(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateConversation(t, f.s, f.ib, root(1), t0)
	if err := f.s.DeleteInbox(t.Context(), domainA, "support"); err != nil {
		t.Fatalf("DeleteInbox: %v", err)
	}
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 1, Unassigned: 1})
}

func testCountersTenantIsolation(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	ibB := mustCreateInbox(t, f.s, domainB, "support", "Support")
	for i := range 3 {
		mustCreateConversation(t, f.s, f.ib, root(i), t0)
	}
	mustCreateConversation(t, f.s, ibB, root(0), t0)
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 3, Unassigned: 3})
	wantCounts(t, f.s, domainB, "support", inbox.Counts{Open: 1, Unassigned: 1})
}

// testCountersConcurrentChanges: changes of several conversations race
// (each conversation's changes computed from the same version, so one wins
// per conversation), and the counts add up to a recount afterwards.
func testCountersConcurrentChanges(t *testing.T, h Harness) {
	f := newFixture(t, h)
	const convs = 3
	base := make([]inbox.Conversation, convs)
	for i := range convs {
		base[i], _ = mustCreateConversation(t, f.s, f.ib, root(i), t0)
	}
	owners := []string{alice, bob, carol}
	errs := race(func(i int) error {
		c := base[i%convs]
		var ev inbox.Activity
		var err error
		switch i / convs % 3 {
		case 0:
			ev, err = c.Assign(f.ib, alice, owners[i%len(owners)], t0.Add(time.Minute))
		case 1:
			ev, err = c.SetStatus(bob, inbox.StatusPending, t0.Add(time.Minute))
		default:
			ev, err = c.SetStatus(bob, inbox.StatusClosed, t0.Add(time.Minute))
		}
		if err != nil {
			return err
		}
		return f.s.UpdateConversation(t.Context(), c, ev)
	})
	for i, err := range errs {
		if err != nil && !errors.Is(err, inbox.ErrConflict) && !errors.Is(err, inbox.ErrUnavailable) {
			t.Errorf("writer %d: got error %s, want nil, %v or %v", i, errKind(err), inbox.ErrConflict, inbox.ErrUnavailable)
		}
	}
	wantCounts(t, f.s, domainA, "support")
}

// testCountersConcurrentCreatesAndAppends: the same mails seen through
// several mailboxes at once (creates of one conversation racing, replies
// that reopen racing) are counted once.
func testCountersConcurrentCreatesAndAppends(t *testing.T, h Harness) {
	f := newFixture(t, h)
	errs := race(func(i int) error {
		c, created := newConversation(t, f.ib, root(i%2), t0)
		return f.s.CreateConversation(t.Context(), c, []string{root(i % 2)}, created)
	})
	for i, err := range errs {
		if err != nil && !errors.Is(err, inbox.ErrAlreadyExists) && !errors.Is(err, inbox.ErrUnavailable) {
			t.Errorf("create %d: got error %s", i, errKind(err))
		}
	}
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 2, Unassigned: 2})

	closed := make([]inbox.Conversation, 2)
	for j := range 2 {
		c := mustGetConversation(t, f.s, domainA, mustFind(t, f.s, root(j)).ID)
		mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) { return c.SetStatus(alice, inbox.StatusClosed, t0) })
		closed[j] = c
	}
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Closed: 2})
	errs = race(func(i int) error {
		c := closed[i%2]
		m := reply(customer, fmt.Sprintf("reply-%d@mail.example", i%2), root(i%2), root(i%2), t0.Add(time.Hour))
		ids, ev := receive(&c, f.ib, m, t0.Add(time.Hour))
		return f.s.AppendMessage(t.Context(), c, ids, ev)
	})
	for i, err := range errs {
		if err != nil && !errors.Is(err, inbox.ErrAlreadyExists) && !errors.Is(err, inbox.ErrUnavailable) {
			t.Errorf("append %d: got error %s", i, errKind(err))
		}
	}
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 2, Unassigned: 2})
}

// mustFind returns the conversation a Message-ID is indexed to in tenant
// A's support inbox.
func mustFind(t *testing.T, s inbox.Store, messageID string) inbox.Conversation {
	t.Helper()
	cs, err := s.FindConversationsByMessageID(t.Context(), domainA, messageID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("FindConversationsByMessageID(%s) = %d conversations, %v; want one", messageID, len(cs), err)
	}
	return cs[0]
}

// testCountersReconcileNoDrift: in a store that only its own writes
// changed, ReconcileCounts finds the kept counts right and leaves them.
func testCountersReconcileNoDrift(t *testing.T, h Harness) {
	f := newFixture(t, h)
	seedMix(t, f)
	before, err := f.s.InboxCounts(t.Context(), domainA, "support")
	if err != nil {
		t.Fatalf("InboxCounts: %v", err)
	}
	r, err := f.s.ReconcileCounts(t.Context(), domainA, "support")
	if err != nil {
		t.Fatalf("ReconcileCounts: %v", err)
	}
	if r.Drifted() || !r.Kept.Equal(before) || !r.Counted.Equal(before) {
		t.Errorf("ReconcileCounts = %+v, want no drift from %+v", r, before)
	}
	wantCounts(t, f.s, domainA, "support", before)
	r, err = f.s.ReconcileCounts(t.Context(), domainA, "empty-inbox")
	if err != nil || r.Drifted() || !r.Counted.IsZero() {
		t.Errorf("ReconcileCounts(an inbox without conversations) = %+v, %v; want zero, no drift", r, err)
	}
}

func testListTenants(t *testing.T, h Harness) {
	s := newStore(t, h)
	got, err := s.ListTenants(t.Context())
	if err != nil || len(got) != 0 {
		t.Fatalf("ListTenants of an empty store = %v, %v; want none", got, err)
	}
	b := mustCreateTenant(t, s, domainB)
	a := mustCreateTenant(t, s, domainA)
	got, err = s.ListTenants(t.Context())
	if err != nil {
		t.Fatalf("ListTenants: %v", err)
	}
	want := []inbox.Tenant{a, b}
	if len(got) != len(want) {
		t.Fatalf("ListTenants = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Domain != want[i].Domain || got[i].Name != want[i].Name {
			t.Errorf("ListTenants[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
