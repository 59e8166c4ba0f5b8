package storetest

import (
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

func countCases() []testCase {
	return []testCase{
		{"Empty", testCountEmpty},
		{"Filters", testCountFilters},
		{"IgnoresLimitAndCursor", testCountIgnoresLimitAndCursor},
		{"InvalidQuery", testCountInvalidQuery},
		{"TenantIsolation", testCountTenantIsolation},
	}
}

func testCountEmpty(t *testing.T, h Harness) {
	f := newFixture(t, h)
	n, err := f.s.CountConversations(t.Context(), inbox.ConversationQuery{TenantID: domainA, InboxID: "support"})
	if err != nil {
		t.Fatalf("CountConversations: %v", err)
	}
	if n != 0 {
		t.Errorf("CountConversations of an empty inbox = %d, want 0", n)
	}
}

func testCountFilters(t *testing.T, h Harness) {
	f := newFixture(t, h)
	all := seedMix(t, f)
	for _, fq := range filterQueries {
		t.Run(fq.name, func(t *testing.T) {
			n, err := f.s.CountConversations(t.Context(), fq.query(0))
			if err != nil {
				t.Fatalf("CountConversations: %v", err)
			}
			if got, want := n, len(fq.want(all)); got != want {
				t.Errorf("CountConversations = %d, want %d", got, want)
			}
		})
	}
}

func testCountIgnoresLimitAndCursor(t *testing.T, h Harness) {
	f := newFixture(t, h)
	for i := range 7 {
		mustCreateConversation(t, f.s, f.ib, root(i), t0.Add(time.Duration(i)*time.Minute))
	}
	q := inbox.ConversationQuery{TenantID: domainA, InboxID: "support", Limit: 2}
	p, err := f.s.ListConversations(t.Context(), q)
	if err != nil {
		t.Fatalf("ListConversations: %v", err)
	}
	q.Cursor = p.NextCursor
	n, err := f.s.CountConversations(t.Context(), q)
	if err != nil {
		t.Fatalf("CountConversations(limit 2, cursor): %v", err)
	}
	if got, want := n, 7; got != want {
		t.Errorf("CountConversations(limit 2, cursor) = %d, want %d", got, want)
	}
}

func testCountInvalidQuery(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateConversation(t, f.s, f.ib, root(1), t0)
	for _, tc := range invalidQueries {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.s.CountConversations(t.Context(), tc.q)
			wantErr(t, "CountConversations", err, inbox.ErrInvalid)
		})
	}
}

func testCountTenantIsolation(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	ibB := mustCreateInbox(t, f.s, domainB, "support", "Support")
	for i := range 3 {
		mustCreateConversation(t, f.s, f.ib, root(i), t0)
	}
	mustCreateConversation(t, f.s, ibB, root(0), t0)

	for tenant, want := range map[string]int{domainA: 3, domainB: 1} {
		n, err := f.s.CountConversations(t.Context(), inbox.ConversationQuery{TenantID: tenant, InboxID: "support"})
		if err != nil {
			t.Fatalf("CountConversations(%s): %v", tenant, err)
		}
		if n != want {
			t.Errorf("CountConversations(%s) = %d, want %d", tenant, n, want)
		}
	}
}
