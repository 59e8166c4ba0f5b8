// Package storetest is the conformance suite every inbox.Store implementation
// must pass. An adapter's test file builds a Harness and calls Run:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{NewStore: newStore, Reopen: reopen})
//	}
//	// Adapter-specific tests follow.
//
// The suite exercises the contract documented on inbox.Store and nothing
// else: it never looks behind the interface, so the same tests run against
// SQLite and against Firestore.
//
// # Layout
//
// Subtests are grouped by behaviour, one t.Run per behaviour, and every leaf
// gets a fresh, empty store from Harness.NewStore. The leaves of a group run
// in parallel.
// The groups are Tenant, Inbox, Conversation, Append, Update, List, Count,
// Counters, Note, Mention, Activity, Recent, ThreadLink, Mailbox, Prefs,
// Template, RoundTrip, Concurrent, Presence, Persistence, Due, Assign, SetDue
// and Export.
//
// # Skipping
//
// A backend that cannot support a behaviour names the subtest in
// Harness.Skip, by its path below the test that called Run: "Concurrent"
// skips the whole group, "Concurrent/UpdateOneWins" one leaf. Skipped
// subtests call t.Skip with the given reason, and a key that names no subtest
// fails the run, so a renamed subtest cannot silently stop being skipped.
// Groups run one after the other; Run returns when every subtest has
// finished.
//
// Capabilities that backends may lack are confined to recognisable subtests:
//
//   - the Concurrent group needs transaction isolation (serialisable
//     read-check-write): racing creates, updates, appends of one mail, lease
//     takes, reply claims (ClaimOneWins), read-modify-writes of one mailbox, tenant or inbox, and notes
//     racing a change for RecentHistory (RecentNotesAllKept; an adapter that
//     keeps a copy of the newest entries rewrites it on every note), and an
//     edit of a note racing new notes (NoteEditWithNotes). Every
//     contended writer gets nil or a documented kind, never the backend's
//     own contention error; ContendedSavedOrUnavailable checks that
//     ErrUnavailable saves nothing;
//   - subtests named Duplicate… need create-if-absent (a precondition that the
//     key does not exist yet), wherever they are: Tenant/Duplicate,
//     Inbox/DuplicateID, Inbox/DuplicateAddress, Conversation/Duplicate,
//     Conversation/DuplicateMessageIDKeepsFirst (an index entry is created
//     only if absent), Mailbox/DuplicateAddress,
//     Mailbox/DuplicateAcrossTenants and the Append/Duplicate… leaves (a
//     mail already recorded, an index entry kept);
//   - Counters/ConcurrentChanges and Counters/ConcurrentCreatesAndAppends
//     race writers like the Concurrent group and need the same isolation:
//     the counts of an inbox must equal a recount by CountConversations
//     after every write and every race (wantCounts checks it there too);
//   - Persistence/Reopen, Prefs/Reopen, Template/Reopen and Mention/Reopen
//     need Harness.Reopen and skip without it.
//
// # Precision
//
// The suite reads the contract as keeping every time.Time to at least the
// millisecond (inbox.Store does not say; Firestore keeps microseconds, the
// SQLite adapter milliseconds). It compares times with Equal after truncating
// both sides to the millisecond, so a backend may keep more precision but
// never less, and it may return times in any location. Orderings by time are
// tested only between times at least one millisecond apart (ties are then
// broken by id, as documented, or, for mailboxes, left unspecified).
// Fixtures use UTC.
//
// # Unspecified behaviour
//
// Where the contract does not say what happens (listing the notes of an
// unknown conversation, say), the suite accepts every reasonable answer: an
// empty result or ErrNotFound. It pins down the following readings of the
// contract, which adapters must share:
//
//   - ConversationQuery without TenantID or InboxID, or with an unknown
//     status, is ErrInvalid for ListConversations and CountConversations;
//   - a page is full (Limit entries) unless it is the last one, and the last
//     page has an empty NextCursor, even when it is exactly full;
//   - a cursor is a position in the ordering (keyset), not an offset: a
//     conversation added before it does not shift the following pages;
//   - stored slices keep their order (Inbox.Members, Conversation.Tags); nil
//     and empty slices are interchangeable;
//   - two tenants may hold a conversation with the same id (ConversationID
//     does not include the tenant), and a Message-ID indexed in one tenant is
//     invisible from another;
//   - Message-IDs are case-sensitive; FindConversationsByMessageID returns
//     the conversations' current state;
//   - AppendMessage, like CreateConversation, leaves a Message-ID after the
//     first that is already indexed to another conversation of the inbox
//     with that conversation;
//   - AppendMessage of a mail already recorded is ErrAlreadyExists even when
//     c's version is stale as well (a replay is recognised as one, not
//     retried as a conflict); the suite does not combine ErrAlreadyExists
//     with ErrNotFound or ErrInvalid;
//   - Tenant.Admins, Inbox.Settings, Conversation.FirstResponseAt (zero =
//     none) and every field of Mailbox round-trip; Tenant.Admins keeps its
//     order; history ids over the whole uint64 range; Mailbox.SealedToken
//     bit for bit (any bytes, a few KiB), nil and empty interchangeable, as
//     are nil and empty Mailbox.Labels;
//   - UpdateTenant, UpdateInbox and UpdateMailbox return fn's error so that
//     errors.Is finds what fn returned (inbox.ErrLeaseHeld, say), write
//     nothing then, and do not call fn for an unknown key; fn is always
//     given the stored record; an update that changes a key (or, for an
//     inbox, its address) is ErrInvalid and writes nothing;
//   - DeleteInbox frees the address for a new inbox of another id, and the
//     deleted inbox's conversations stay readable by id (GetConversation,
//     ListNotes, ListActivity, RecentHistory). What becomes of the deleted
//     inbox's id (may a new inbox take it, and then its conversations?) is
//     not tested;
//   - RecentHistory is always the head of ListNotes and ListActivity, after
//     every write and every refused write (wantActivity checks it wherever
//     the suite checks a log); a limit ≤ 0 returns no entries of that kind;
//   - ListMailboxesWatchExpiringBefore and ListMailboxesSyncedBefore list
//     times strictly before t; the zero time (never watched, never synced)
//     comes first; the suite always passes limit > 0;
//   - UpdateNote and DeleteNote return fn's error so that errors.Is finds
//     it (a domain refusal, inbox.ErrUnchanged), write nothing then, and do
//     not call fn for a note that is not stored under the keys (another
//     conversation's or tenant's is not); fn is given the stored note;
//   - an edit that names an address the note named before leaves that
//     address's Mention as it was (read or not, its excerpt and time);
//     DeleteNote removes the note's Mentions, read or not, and keeps every
//     entry of the log;
//   - AddNote of a note that does not validate (a mention that is not a
//     lower-case address) writes nothing: no note, entry or Mention;
//   - MarkMentionsRead with no ids changes nothing; an id given twice
//     changes its mention once; a later call does not move ReadAt; 100 ids
//     are allowed;
//   - ListMentions with unreadOnly applies the limit to the unread
//     mentions; recipients are lower-case addresses throughout (other
//     spellings are not tested);
//   - the tests put thread links only for stored conversations and
//     mailboxes, so a backend may check or not check that they exist;
//     thread ids are opaque.
package storetest

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/postfach/postfach/internal/inbox"
)

// Harness adapts one inbox.Store implementation to the suite.
type Harness struct {
	// NewStore returns an empty store for one subtest; cleanup via t.Cleanup.
	NewStore func(t *testing.T) inbox.Store
	// Reopen, if set, returns a second store over the same backend as s (for
	// persistence checks). Both stores stay usable until the test ends.
	Reopen func(t *testing.T, s inbox.Store) inbox.Store
	// Skip maps a subtest name to the reason it cannot run on this backend
	// (e.g. a test double without transaction isolation). A skipped
	// subtest calls t.Skip with that reason — never silently. Names are paths
	// below the test that called Run: a group ("Concurrent") or a leaf
	// ("Concurrent/UpdateOneWins").
	Skip map[string]string
}

// testCase is one leaf of the suite.
type testCase struct {
	name string
	run  func(t *testing.T, h Harness)
}

// group is one behaviour area of the suite.
type group struct {
	name  string
	cases []testCase
}

// groups lists the whole suite. Leaf names are stable: harnesses refer to
// them in Harness.Skip.
func groups() []group {
	return []group{
		{"Tenant", tenantCases()},
		{"Inbox", inboxCases()},
		{"Conversation", conversationCases()},
		{"Append", appendCases()},
		{"Update", updateCases()},
		{"List", listCases()},
		{"Count", countCases()},
		{"Counters", counterCases()},
		{"Note", noteCases()},
		{"Mention", mentionCases()},
		{"Activity", activityCases()},
		{"Recent", recentCases()},
		{"ThreadLink", threadLinkCases()},
		{"Mailbox", mailboxCases()},
		{"Prefs", prefsCases()},
		{"Template", templateCases()},
		{"RoundTrip", roundTripCases()},
		{"Concurrent", concurrentCases()},
		{"Presence", presenceCases()},
		{"Persistence", persistenceCases()},
		{"Due", dueCases()},
		{"Assign", assignCases()},
		{"SetDue", setDueCases()},
		{"Export", exportCases()},
	}
}

// names returns the path of every subtest of the suite, groups and leaves,
// in the order Run runs them.
func names() []string {
	var names []string
	for _, g := range groups() {
		names = append(names, g.name)
		for _, c := range g.cases {
			names = append(names, g.name+"/"+c.name)
		}
	}
	return names
}

// Run runs the conformance suite against the store that h builds.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.NewStore == nil {
		t.Fatal("storetest: Harness.NewStore is nil")
	}
	checkSkips(t, h.Skip)
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			if reason, ok := h.Skip[g.name]; ok {
				t.Skip(reason)
			}
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					if reason, ok := h.Skip[g.name+"/"+c.name]; ok {
						t.Skip(reason)
					}
					t.Parallel()
					c.run(t, h)
				})
			}
		})
	}
}

// checkSkips fails the run for Skip entries that name no subtest or give no
// reason.
func checkSkips(t *testing.T, skip map[string]string) {
	t.Helper()
	known := map[string]bool{}
	for _, n := range names() {
		known[n] = true
	}
	var keys []string
	for k := range skip {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !known[k] {
			t.Errorf("Harness.Skip names %q, which is no subtest of the suite (want one of %s)", k, strings.Join(names(), ", "))
		}
		if strings.TrimSpace(skip[k]) == "" {
			t.Errorf("Harness.Skip[%q] gives no reason", k)
		}
	}
}

// newStore returns a fresh store from the harness.
func newStore(t *testing.T, h Harness) inbox.Store {
	t.Helper()
	s := h.NewStore(t)
	if s == nil {
		t.Fatal("Harness.NewStore returned nil")
	}
	return s
}

// errKind renders an error for a failure message.
func errKind(err error) string {
	if err == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", err.Error())
}
