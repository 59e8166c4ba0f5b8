package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func listCases() []testCase {
	return []testCase{
		{"Empty", testListEmpty},
		{"Order", testListOrder},
		{"Filters", testListFilters},
		{"Paging", testListPaging},
		{"LastPageHasNoCursor", testListLastPageHasNoCursor},
		{"Limits", testListLimits},
		{"InvalidCursor", testListInvalidCursor},
		{"InvalidQuery", testListInvalidQuery},
		{"InboxIsolation", testListInboxIsolation},
		{"TenantIsolation", testListTenantIsolation},
	}
}

func testListEmpty(t *testing.T, h Harness) {
	f := newFixture(t, h)
	p, err := f.s.ListConversations(t.Context(), inbox.ConversationQuery{TenantID: domainA, InboxID: "support"})
	if err != nil {
		t.Fatalf("ListConversations: %v", err)
	}
	if len(p.Conversations) != 0 || p.NextCursor != "" {
		t.Errorf("ListConversations of an empty inbox = %d conversations, cursor %q; want none and no cursor", len(p.Conversations), p.NextCursor)
	}
}

// testListOrder: newest LastMessageAt first, ties broken by id descending,
// whatever the insertion order; full records are returned.
func testListOrder(t *testing.T, h Harness) {
	f := newFixture(t, h)
	var all []inbox.Conversation
	// Offsets in minutes, inserted out of order; 30 appears three times.
	for i, minutes := range []int{30, 5, 90, 30, 60, 0, 30, 120} {
		c, _ := mustCreateConversation(t, f.s, f.ib, root(i), t0.Add(time.Duration(minutes)*time.Minute))
		all = append(all, c)
	}
	// A change does not move a conversation: only LastMessageAt orders.
	mustChange(t, f.s, &all[5], func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.Assign(f.ib, alice, carol, t0.Add(10*time.Hour))
	})

	p, err := f.s.ListConversations(t.Context(), inbox.ConversationQuery{TenantID: domainA, InboxID: "support", Limit: 100})
	if err != nil {
		t.Fatalf("ListConversations: %v", err)
	}
	want := newestFirst(all)
	if diff := cmp.Diff(ids(want), ids(p.Conversations)); diff != "" {
		t.Errorf("ListConversations order mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, p.Conversations, cmpOpts); diff != "" {
		t.Errorf("ListConversations records mismatch (-want +got):\n%s", diff)
	}
	if p.NextCursor != "" {
		t.Errorf("ListConversations: NextCursor=%q on the only page, want \"\"", p.NextCursor)
	}
}

// filterQuery is one ConversationQuery of the filter tables.
type filterQuery struct {
	name     string
	statuses []inbox.Status
	assignee string
}

var filterQueries = []filterQuery{
	{name: "All"},
	{name: "AllStatusesListed", statuses: inbox.Statuses},
	{name: "Open", statuses: []inbox.Status{inbox.StatusOpen}},
	{name: "PendingOrClosed", statuses: []inbox.Status{inbox.StatusPending, inbox.StatusClosed}},
	{name: "Alice", assignee: alice},
	{name: "Unassigned", assignee: inbox.Unassigned},
	{name: "OpenForBob", statuses: []inbox.Status{inbox.StatusOpen}, assignee: bob},
	{name: "ActiveUnassigned", statuses: []inbox.Status{inbox.StatusOpen, inbox.StatusPending}, assignee: inbox.Unassigned},
	{name: "NoMatch", assignee: "nobody@acme.example"},
}

// matches reports whether c is selected by q.
func (q filterQuery) matches(c inbox.Conversation) bool {
	if len(q.statuses) > 0 && !slices.Contains(q.statuses, c.Status) {
		return false
	}
	switch q.assignee {
	case "":
		return true
	case inbox.Unassigned:
		return c.Assignee == ""
	default:
		return c.Assignee == q.assignee
	}
}

// want returns what q selects of cs, in listing order.
func (q filterQuery) want(cs []inbox.Conversation) []inbox.Conversation {
	var out []inbox.Conversation
	for _, c := range cs {
		if q.matches(c) {
			out = append(out, c)
		}
	}
	return newestFirst(out)
}

func (q filterQuery) query(limit int) inbox.ConversationQuery {
	return inbox.ConversationQuery{TenantID: domainA, InboxID: "support", Statuses: q.statuses, Assignee: q.assignee, Limit: limit}
}

// seedMix stores 24 conversations of the support inbox covering every
// combination of status and assignee (nobody, alice, bob, carol), plus a
// conversation in another inbox that no query of the support inbox may
// return. Every conversation has its own LastMessageAt.
func seedMix(t *testing.T, f *fixture) []inbox.Conversation {
	t.Helper()
	assignees := []string{"", alice, bob, carol}
	var all []inbox.Conversation
	for i := range 24 {
		c, _ := mustCreateConversation(t, f.s, f.ib, root(i), t0.Add(time.Duration(i*7%24)*time.Minute))
		now := t0.Add(time.Hour)
		if a := assignees[i%4]; a != "" {
			mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) { return c.Assign(f.ib, alice, a, now) })
		}
		if st := inbox.Statuses[(i/4)%3]; st != inbox.StatusOpen {
			mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) { return c.SetStatus(alice, st, now) })
		}
		all = append(all, c)
	}
	sales := mustCreateInbox(t, f.s, domainA, "sales", "Sales")
	mustCreateConversation(t, f.s, sales, root(1000), t0)
	return all
}

func testListFilters(t *testing.T, h Harness) {
	f := newFixture(t, h)
	all := seedMix(t, f)
	for _, fq := range filterQueries {
		t.Run(fq.name, func(t *testing.T) {
			want := fq.want(all)
			p, err := f.s.ListConversations(t.Context(), fq.query(100))
			if err != nil {
				t.Fatalf("ListConversations: %v", err)
			}
			if diff := cmp.Diff(want, p.Conversations, cmpOpts); diff != "" {
				t.Errorf("ListConversations mismatch (-want +got):\n%s", diff)
			}
			// The same selection, two at a time.
			if diff := cmp.Diff(ids(want), ids(listAll(t, f.s, fq.query(2))), cmpOpts); diff != "" {
				t.Errorf("ListConversations paged by 2 mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// testListPaging walks 47 conversations in pages of 5: no duplicates, no
// gaps, same order as one big page. LastMessageAt repeats in runs of three,
// so page boundaries fall inside ties and the cursor must carry the id.
func testListPaging(t *testing.T, h Harness) {
	f := newFixture(t, h)
	var all []inbox.Conversation
	for i := range 47 {
		c, _ := mustCreateConversation(t, f.s, f.ib, root(i), t0.Add(time.Duration(i/3)*time.Minute))
		all = append(all, c)
	}
	want := ids(newestFirst(all))

	got := listAll(t, f.s, inbox.ConversationQuery{TenantID: domainA, InboxID: "support", Limit: 5})
	if diff := cmp.Diff(want, ids(got)); diff != "" {
		t.Errorf("pages of 5 mismatch (-want +got):\n%s", diff)
	}
	for _, limit := range []int{1, 3, 46, 47} {
		got := listAll(t, f.s, inbox.ConversationQuery{TenantID: domainA, InboxID: "support", Limit: limit})
		if diff := cmp.Diff(want, ids(got)); diff != "" {
			t.Errorf("pages of %d mismatch (-want +got):\n%s", limit, diff)
		}
	}

	// A cursor stays valid while the listing changes: conversations added
	// after the first page that sort before the cursor do not reappear, and
	// those after it are all seen once.
	q := inbox.ConversationQuery{TenantID: domainA, InboxID: "support", Limit: 10}
	p1, err := f.s.ListConversations(t.Context(), q)
	if err != nil {
		t.Fatalf("ListConversations page 1: %v", err)
	}
	mustCreateConversation(t, f.s, f.ib, root(500), t0.Add(24*time.Hour)) // newest: before the cursor
	q.Cursor = p1.NextCursor
	rest := listAll(t, f.s, q)
	if diff := cmp.Diff(want[10:], ids(rest)); diff != "" {
		t.Errorf("pages after the first, with a newer conversation added meanwhile, mismatch (-want +got):\n%s", diff)
	}
}

func testListLastPageHasNoCursor(t *testing.T, h Harness) {
	f := newFixture(t, h)
	for i := range 4 {
		mustCreateConversation(t, f.s, f.ib, root(i), t0.Add(time.Duration(i)*time.Minute))
	}
	q := inbox.ConversationQuery{TenantID: domainA, InboxID: "support", Limit: 2}
	p1, err := f.s.ListConversations(t.Context(), q)
	if err != nil {
		t.Fatalf("ListConversations page 1: %v", err)
	}
	if len(p1.Conversations) != 2 || p1.NextCursor == "" {
		t.Fatalf("page 1 = %d conversations, cursor %q; want 2 and a cursor", len(p1.Conversations), p1.NextCursor)
	}
	q.Cursor = p1.NextCursor
	p2, err := f.s.ListConversations(t.Context(), q)
	if err != nil {
		t.Fatalf("ListConversations page 2: %v", err)
	}
	if len(p2.Conversations) != 2 || p2.NextCursor != "" {
		t.Errorf("page 2 (exactly full, last) = %d conversations, cursor %q; want 2 and no cursor", len(p2.Conversations), p2.NextCursor)
	}

	q = inbox.ConversationQuery{TenantID: domainA, InboxID: "support", Limit: 4}
	p, err := f.s.ListConversations(t.Context(), q)
	if err != nil {
		t.Fatalf("ListConversations(limit 4): %v", err)
	}
	if len(p.Conversations) != 4 || p.NextCursor != "" {
		t.Errorf("ListConversations(limit 4) of 4 = %d conversations, cursor %q; want 4 and no cursor", len(p.Conversations), p.NextCursor)
	}
}

// testListLimits: Limit ≤ 0 means 20; more than 100 means 100.
func testListLimits(t *testing.T, h Harness) {
	f := newFixture(t, h)
	for i := range 105 {
		mustCreateConversation(t, f.s, f.ib, root(i), t0.Add(time.Duration(i)*time.Second))
	}
	for _, tc := range []struct {
		limit, want int
	}{
		{0, 20},
		{-1, 20},
		{1, 1},
		{20, 20},
		{99, 99},
		{100, 100},
		{101, 100},
		{1 << 30, 100},
	} {
		p, err := f.s.ListConversations(t.Context(), inbox.ConversationQuery{TenantID: domainA, InboxID: "support", Limit: tc.limit})
		if err != nil {
			t.Fatalf("ListConversations(limit %d): %v", tc.limit, err)
		}
		if got := len(p.Conversations); got != tc.want {
			t.Errorf("ListConversations(limit %d): got %d conversations, want %d", tc.limit, got, tc.want)
		}
		if p.NextCursor == "" {
			t.Errorf("ListConversations(limit %d) of 105: no NextCursor, want one", tc.limit)
		}
	}
}

func testListInvalidCursor(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateConversation(t, f.s, f.ib, root(1), t0)
	for _, cursor := range []string{"not a cursor", "%%%", "\x00"} {
		_, err := f.s.ListConversations(t.Context(), inbox.ConversationQuery{TenantID: domainA, InboxID: "support", Cursor: cursor})
		wantErr(t, "ListConversations(cursor "+cursor+")", err, inbox.ErrInvalid)
	}
}

// invalidQueries break ConversationQuery's rules: TenantID and InboxID are
// required, statuses must exist.
var invalidQueries = []struct {
	name string
	q    inbox.ConversationQuery
}{
	{"NoTenant", inbox.ConversationQuery{InboxID: "support"}},
	{"NoInbox", inbox.ConversationQuery{TenantID: domainA}},
	{"UnknownStatus", inbox.ConversationQuery{TenantID: domainA, InboxID: "support", Statuses: []inbox.Status{inbox.StatusOpen, "snoozed"}}},
}

func testListInvalidQuery(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateConversation(t, f.s, f.ib, root(1), t0)
	for _, tc := range invalidQueries {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.s.ListConversations(t.Context(), tc.q)
			wantErr(t, "ListConversations", err, inbox.ErrInvalid)
		})
	}
}

func testListInboxIsolation(t *testing.T, h Harness) {
	f := newFixture(t, h)
	sales := mustCreateInbox(t, f.s, domainA, "sales", "Sales")
	supportC, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	// The same mail reached both inboxes: two conversations.
	salesC, _ := mustCreateConversation(t, f.s, sales, root(1), t0)

	for ib, want := range map[string]inbox.Conversation{"support": supportC, "sales": salesC} {
		p, err := f.s.ListConversations(t.Context(), inbox.ConversationQuery{TenantID: domainA, InboxID: ib})
		if err != nil {
			t.Fatalf("ListConversations(%s): %v", ib, err)
		}
		if diff := cmp.Diff([]inbox.Conversation{want}, p.Conversations, cmpOpts); diff != "" {
			t.Errorf("ListConversations(%s) mismatch (-want +got):\n%s", ib, diff)
		}
	}
	p, err := f.s.ListConversations(t.Context(), inbox.ConversationQuery{TenantID: domainA, InboxID: "nowhere"})
	wantEmptyOrNotFound(t, "ListConversations(unknown inbox)", len(p.Conversations), err)
}

func testListTenantIsolation(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	cA, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	// B has no support inbox yet: A's must stay invisible.
	p, err := f.s.ListConversations(t.Context(), inbox.ConversationQuery{TenantID: domainB, InboxID: "support"})
	wantEmptyOrNotFound(t, "ListConversations(other tenant's inbox)", len(p.Conversations), err)

	ibB := mustCreateInbox(t, f.s, domainB, "support", "Support")
	cB, _ := mustCreateConversation(t, f.s, ibB, root(2), t0)
	for tenant, want := range map[string]inbox.Conversation{domainA: cA, domainB: cB} {
		p, err := f.s.ListConversations(t.Context(), inbox.ConversationQuery{TenantID: tenant, InboxID: "support"})
		if err != nil {
			t.Fatalf("ListConversations(%s): %v", tenant, err)
		}
		if diff := cmp.Diff([]inbox.Conversation{want}, p.Conversations, cmpOpts); diff != "" {
			t.Errorf("ListConversations(%s) mismatch (-want +got):\n%s", tenant, diff)
		}
	}
}
