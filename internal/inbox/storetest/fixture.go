package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/postfach/postfach/internal/inbox"
)

// t0 is the suite's reference time: millisecond-aligned, UTC.
var t0 = time.Date(2025, time.June, 2, 9, 0, 0, 0, time.UTC)

// Tenants and members used throughout the suite.
const (
	domainA = "acme.example"
	domainB = "globex.example"

	alice = "alice@acme.example"
	bob   = "bob@acme.example"
	carol = "carol@acme.example"
)

// cmpOpts compares records the way the contract promises to keep them: times
// to the millisecond in any location, nil and empty slices alike.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool {
		return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
	}),
	cmpopts.EquateEmpty(),
}

// fixture is a store holding tenant A and its "support" inbox.
type fixture struct {
	s      inbox.Store
	tenant inbox.Tenant
	ib     inbox.Inbox
}

// newFixture returns a fresh store with tenant A and its support inbox
// (members alice, admin; bob and carol, agents).
func newFixture(t *testing.T, h Harness) *fixture {
	t.Helper()
	s := newStore(t, h)
	ten := mustCreateTenant(t, s, domainA)
	ib := mustCreateInbox(t, s, domainA, "support", "Support")
	return &fixture{s: s, tenant: ten, ib: ib}
}

// mustCreateTenant stores a tenant for domain.
func mustCreateTenant(t *testing.T, s inbox.Store, domain string) inbox.Tenant {
	t.Helper()
	ten := inbox.Tenant{Domain: domain, Name: "Tenant " + domain, CreatedAt: t0}
	if err := s.CreateTenant(t.Context(), ten); err != nil {
		t.Fatalf("CreateTenant(%s): %v", domain, err)
	}
	return ten
}

// newInbox builds (but does not store) an inbox whose members are alice, bob
// and carol of the tenant's domain, with the default settings.
func newInbox(domain, id, name string) inbox.Inbox {
	member := func(local string) string { return local + "@" + domain }
	return inbox.Inbox{
		TenantID: domain,
		ID:       id,
		Address:  id + "@" + domain,
		Name:     name,
		Members: []inbox.Member{
			{Email: member("alice"), Name: "Alice", Role: inbox.RoleAdmin},
			{Email: member("bob"), Name: "Bob", Role: inbox.RoleAgent},
			{Email: member("carol"), Role: inbox.RoleAgent},
		},
		Settings:  inbox.DefaultInboxSettings(),
		CreatedAt: t0,
	}
}

// mustCreateInbox stores an inbox built by newInbox.
func mustCreateInbox(t *testing.T, s inbox.Store, domain, id, name string) inbox.Inbox {
	t.Helper()
	ib := newInbox(domain, id, name)
	if err := s.CreateInbox(t.Context(), ib); err != nil {
		t.Fatalf("CreateInbox(%s/%s): %v", domain, id, err)
	}
	return ib
}

// newConversation builds (but does not store) a conversation of ib started by
// the mail with Message-ID root at time at.
func newConversation(t *testing.T, ib inbox.Inbox, root string, at time.Time) (inbox.Conversation, inbox.Activity) {
	t.Helper()
	c, created, err := inbox.NewConversation(ib, "<"+root+">", "Subject of "+root, "Customer <Customer@Example.org>", "Customer", at, at)
	if err != nil {
		t.Fatalf("NewConversation(%s): %v", root, err)
	}
	return c, created
}

// mustCreateConversation stores a conversation built by newConversation,
// indexed under root and the extra Message-IDs.
func mustCreateConversation(t *testing.T, s inbox.Store, ib inbox.Inbox, root string, at time.Time, extra ...string) (inbox.Conversation, inbox.Activity) {
	t.Helper()
	c, created := newConversation(t, ib, root, at)
	if err := s.CreateConversation(t.Context(), c, append([]string{root}, extra...), created); err != nil {
		t.Fatalf("CreateConversation(%s): %v", root, err)
	}
	return c, created
}

// mustChange applies a domain change to c and stores it, returning the
// activity entry it appended.
func mustChange(t *testing.T, s inbox.Store, c *inbox.Conversation, change func(c *inbox.Conversation) (inbox.Activity, error)) inbox.Activity {
	t.Helper()
	ev, err := change(c)
	if err != nil {
		t.Fatalf("change of %s: %v", c.ID, err)
	}
	if err := s.UpdateConversation(t.Context(), *c, ev); err != nil {
		t.Fatalf("UpdateConversation(%s, version %d): %v", c.ID, c.Version, err)
	}
	return ev
}

// mustGetConversation reads a conversation back.
func mustGetConversation(t *testing.T, s inbox.Store, tenantID, id string) inbox.Conversation {
	t.Helper()
	got, err := s.GetConversation(t.Context(), tenantID, id)
	if err != nil {
		t.Fatalf("GetConversation(%s, %s): %v", tenantID, id, err)
	}
	return got
}

// mustListActivity reads a conversation's whole log (up to 1000 entries).
func mustListActivity(t *testing.T, s inbox.Store, tenantID, id string) []inbox.Activity {
	t.Helper()
	got, err := s.ListActivity(t.Context(), tenantID, id, 1000)
	if err != nil {
		t.Fatalf("ListActivity(%s, %s): %v", tenantID, id, err)
	}
	return got
}

// wantConversation fails unless the stored conversation equals want.
func wantConversation(t *testing.T, s inbox.Store, want inbox.Conversation) {
	t.Helper()
	got := mustGetConversation(t, s, want.TenantID, want.ID)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetConversation(%s, %s) mismatch (-want +got):\n%s", want.TenantID, want.ID, diff)
	}
}

// wantActivity fails unless the conversation's log equals want (newest
// first), and unless RecentHistory agrees with the lists (see wantRecent).
func wantActivity(t *testing.T, s inbox.Store, tenantID, id string, want ...inbox.Activity) {
	t.Helper()
	got := mustListActivity(t, s, tenantID, id)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("ListActivity(%s, %s) mismatch (-want +got):\n%s", tenantID, id, diff)
	}
	wantRecent(t, s, tenantID, id)
}

// wantRecent fails unless RecentHistory, asked for as much as it returns,
// is the head of ListNotes and of ListActivity: whatever wrote the
// conversation, an adapter's recent copy never drifts from the lists.
func wantRecent(t *testing.T, s inbox.Store, tenantID, id string) {
	t.Helper()
	notes, acts, err := s.RecentHistory(t.Context(), tenantID, id, inbox.MaxRecentNotes, inbox.MaxRecentActivity)
	if err != nil {
		t.Errorf("RecentHistory(%s, %s): %v", tenantID, id, err)
		return
	}
	allNotes, err := s.ListNotes(t.Context(), tenantID, id, 1000)
	if err != nil {
		t.Fatalf("ListNotes(%s, %s): %v", tenantID, id, err)
	}
	if diff := cmp.Diff(head(allNotes, inbox.MaxRecentNotes), notes, cmpOpts); diff != "" {
		t.Errorf("RecentHistory(%s, %s) notes differ from the head of ListNotes (-list +recent):\n%s", tenantID, id, diff)
	}
	if diff := cmp.Diff(head(mustListActivity(t, s, tenantID, id), inbox.MaxRecentActivity), acts, cmpOpts); diff != "" {
		t.Errorf("RecentHistory(%s, %s) activity differs from the head of ListActivity (-list +recent):\n%s", tenantID, id, diff)
	}
	wantConversationHistory(t, s, tenantID, id, notes, acts)
}

// wantConversationHistory fails unless GetConversationHistory returns what
// GetConversation and RecentHistory do (notes and acts, as RecentHistory
// returned them at its limits), also at smaller limits. A conversation
// that does not exist must be ErrNotFound.
func wantConversationHistory(t *testing.T, s inbox.Store, tenantID, id string, notes []inbox.Note, acts []inbox.Activity) {
	t.Helper()
	want, err := s.GetConversation(t.Context(), tenantID, id)
	if errors.Is(err, inbox.ErrNotFound) {
		_, _, _, err := s.GetConversationHistory(t.Context(), tenantID, id, inbox.MaxRecentNotes, inbox.MaxRecentActivity)
		wantErr(t, fmt.Sprintf("GetConversationHistory(%s, %s) of no conversation", tenantID, id), err, inbox.ErrNotFound)
		return
	}
	if err != nil {
		t.Fatalf("GetConversation(%s, %s): %v", tenantID, id, err)
	}
	for _, lim := range []struct{ notes, activity int }{
		{inbox.MaxRecentNotes, inbox.MaxRecentActivity},
		{1, 2},
		{0, inbox.MaxRecentActivity + 5},
	} {
		c, ns, as, err := s.GetConversationHistory(t.Context(), tenantID, id, lim.notes, lim.activity)
		if err != nil {
			t.Errorf("GetConversationHistory(%s, %s, %d, %d): %v", tenantID, id, lim.notes, lim.activity, err)
			continue
		}
		if diff := cmp.Diff(want, c, cmpOpts); diff != "" {
			t.Errorf("GetConversationHistory(%s, %s) conversation differs from GetConversation (-get +with history):\n%s", tenantID, id, diff)
		}
		if diff := cmp.Diff(head(notes, max(lim.notes, 0)), ns, cmpOpts); diff != "" {
			t.Errorf("GetConversationHistory(%s, %s, %d, %d) notes differ from RecentHistory's (-recent +with history):\n%s", tenantID, id, lim.notes, lim.activity, diff)
		}
		if diff := cmp.Diff(head(acts, max(min(lim.activity, inbox.MaxRecentActivity), 0)), as, cmpOpts); diff != "" {
			t.Errorf("GetConversationHistory(%s, %s, %d, %d) activity differs from RecentHistory's (-recent +with history):\n%s", tenantID, id, lim.notes, lim.activity, diff)
		}
	}
}

// wantFound fails unless FindConversationsByMessageID returns exactly want,
// in order; no want means an empty result (which is not an error).
func wantFound(t *testing.T, s inbox.Store, tenantID, messageID string, want ...inbox.Conversation) {
	t.Helper()
	got, err := s.FindConversationsByMessageID(t.Context(), tenantID, messageID)
	if err != nil {
		t.Errorf("FindConversationsByMessageID(%s, %s): %v", tenantID, messageID, err)
		return
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("FindConversationsByMessageID(%s, %s) mismatch (-want +got):\n%s", tenantID, messageID, diff)
	}
}

// wantErr fails unless err is of kind want.
func wantErr(t *testing.T, op string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %s, want %v", op, errKind(err), want)
	}
}

// wantEmptyOrNotFound fails unless a listing of something that does not
// exist (or is not visible) either returned nothing or ErrNotFound; the
// contract allows both.
func wantEmptyOrNotFound(t *testing.T, op string, n int, err error) {
	t.Helper()
	switch {
	case errors.Is(err, inbox.ErrNotFound):
	case err != nil:
		t.Errorf("%s: got error %s, want none or %v", op, errKind(err), inbox.ErrNotFound)
	case n != 0:
		t.Errorf("%s: got %d entries, want none", op, n)
	}
}

// newestFirst sorts conversations the way ListConversations must: newest
// LastMessageAt first, ties by id, descending.
func newestFirst(cs []inbox.Conversation) []inbox.Conversation {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(a, b inbox.Conversation) int {
		if c := b.LastMessageAt.Truncate(time.Millisecond).Compare(a.LastMessageAt.Truncate(time.Millisecond)); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return cs
}

// ids returns the ids of cs, in order.
func ids(cs []inbox.Conversation) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// listAll pages through q from q.Cursor on (using q.Limit as the page size)
// and returns every conversation in the order the store returned them. It fails on a page that
// is larger than the limit, on a short page that is not the last one, and on
// a conversation seen twice.
func listAll(t *testing.T, s inbox.Store, q inbox.ConversationQuery) []inbox.Conversation {
	t.Helper()
	var all []inbox.Conversation
	seen := map[string]bool{}
	for page := 1; ; page++ {
		if page > 1000 {
			t.Fatalf("ListConversations(%+v): more than 1000 pages; the cursor does not advance", q)
		}
		p, err := s.ListConversations(t.Context(), q)
		if err != nil {
			t.Fatalf("ListConversations(%+v) page %d: %v", q, page, err)
		}
		if q.Limit > 0 && len(p.Conversations) > q.Limit {
			t.Fatalf("ListConversations(%+v) page %d: got %d conversations, want at most %d", q, page, len(p.Conversations), q.Limit)
		}
		if p.NextCursor != "" && q.Limit > 0 && len(p.Conversations) != q.Limit {
			t.Errorf("ListConversations(%+v) page %d: got %d conversations and a next cursor; want a full page of %d", q, page, len(p.Conversations), q.Limit)
		}
		for _, c := range p.Conversations {
			if seen[c.ID] {
				t.Errorf("ListConversations(%+v) page %d: conversation %s listed twice", q, page, c.ID)
			}
			seen[c.ID] = true
		}
		all = append(all, p.Conversations...)
		if p.NextCursor == "" {
			return all
		}
		q.Cursor = p.NextCursor
	}
}

// root returns the i-th Message-ID of a fixture.
func root(i int) string { return fmt.Sprintf("m%03d@mail.example", i) }
