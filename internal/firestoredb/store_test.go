package firestoredb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/inbox/storetest"
)

// testProject is the project id every test store uses in the emulator.
const testProject = "postfach-test"

// requireEmulator returns FIRESTORE_EMULATOR_HOST, or skips the test (fails
// it when POSTFACH_REQUIRE_FIRESTORE=1, as .ci/run sets).
func requireEmulator(tb testing.TB) string {
	tb.Helper()
	host := os.Getenv("FIRESTORE_EMULATOR_HOST")
	if host != "" {
		return host
	}
	const msg = "Firestore emulator not running: set FIRESTORE_EMULATOR_HOST (see .ci/run)"
	if os.Getenv("POSTFACH_REQUIRE_FIRESTORE") == "1" {
		tb.Fatal(msg + "; POSTFACH_REQUIRE_FIRESTORE=1 forbids skipping")
	}
	tb.Skip(msg)
	return ""
}

// newNamespace returns a namespace no other test uses.
func newNamespace(tb testing.TB) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "t-" + hex.EncodeToString(b[:])
}

// MustOpen opens a store on namespace ns of the emulator and closes it when
// the test ends.
func MustOpen(tb testing.TB, ns string) *Store {
	tb.Helper()
	requireEmulator(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := OpenNamespace(ctx, testProject, ns)
	if err != nil {
		tb.Fatalf("OpenNamespace(%s): %v", ns, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// MustOpenFresh opens a store on a new namespace and returns it with the
// namespace.
func MustOpenFresh(tb testing.TB) (*Store, string) {
	tb.Helper()
	ns := newNamespace(tb)
	return MustOpen(tb, ns), ns
}

// shapes collects the query shapes of every store a test opened, for
// TestIndexesDeclared.
var shapes struct {
	sync.Mutex
	stores []*Store
}

func track(s *Store) *Store {
	shapes.Lock()
	defer shapes.Unlock()
	shapes.stores = append(shapes.stores, s)
	return s
}

func TestConformance(t *testing.T) {
	requireEmulator(t)
	var mu sync.Mutex
	namespaces := map[inbox.Store]string{}
	storetest.Run(t, storetest.Harness{
		NewStore: func(t *testing.T) inbox.Store {
			s, ns := MustOpenFresh(t)
			track(s)
			mu.Lock()
			defer mu.Unlock()
			namespaces[s] = ns
			return s
		},
		Reopen: func(t *testing.T, s inbox.Store) inbox.Store {
			mu.Lock()
			ns, ok := namespaces[s]
			mu.Unlock()
			if !ok {
				t.Fatalf("Reopen: store %p was not made by NewStore", s)
			}
			return track(MustOpen(t, ns))
		},
	})
}

// firestoredb-specific tests.

func TestCursor(t *testing.T) {
	key := sortKey(time.Date(2025, 1, 1, 0, 0, 0, 123_456_000, time.UTC), "c0123456789abcdef")
	got, err := decodeCursor(encodeCursor(key))
	if err != nil {
		t.Fatalf("decodeCursor(encodeCursor(%q)): %v", key, err)
	}
	if got != key {
		t.Errorf("decodeCursor(encodeCursor(%q)) = %q", key, got)
	}
	valid := encodeCursor(key)
	for _, bad := range []string{
		"",
		"garbage",
		"not a cursor",
		"%%%",
		"\x00",
		valid[:len(valid)-1],
		valid + "A",
		encodeCursor("short"),
		encodeCursor("zzzzzzzzzzzzzzzz:id"),
		encodeCursor("0123456789abcdef:"),
		cursorEncoding.EncodeToString([]byte("f1:" + key)), // no checksum
	} {
		if _, err := decodeCursor(bad); !errors.Is(err, inbox.ErrInvalid) {
			t.Errorf("decodeCursor(%q): got error %v, want %v", bad, err, inbox.ErrInvalid)
		}
	}
}

// TestTimeKeyOrder: timeKey sorts like the times it encodes, the zero time
// and times before 1970 included.
func TestTimeKeyOrder(t *testing.T) {
	times := []time.Time{
		{},
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
		time.Unix(0, 0),
		time.Unix(0, 1000),
		time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC),
		time.Date(2025, 6, 2, 9, 0, 0, 1000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		if a, b := timeKey(times[i-1]), timeKey(times[i]); a >= b {
			t.Errorf("timeKey(%s) = %s ≥ timeKey(%s) = %s", times[i-1], a, times[i], b)
		}
	}
}

func TestDocID(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"acme.example", "acme.example"},
		{"bob@acme.example", "bob@acme.example"},
		{"c0123", "c0123"},
		{"a/b@acme.example", "~" + "YS9iQGFjbWUuZXhhbXBsZQ"},
		{"~x", "~fng"},
		{"", "~"},
		{".", "~Lg"},
		{"..", "~Li4"},
		{"__x__", "~X194X18"},
		{strings.Repeat("a", 1001), "~~" + hashID(strings.Repeat("a", 1001))},
	} {
		if got := docID(tc.key); got != tc.want {
			t.Errorf("docID(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

// TestHistoryIDLossless: uint64 history ids survive the round trip, the
// largest included (Firestore integers are int64).
func TestHistoryIDLossless(t *testing.T) {
	s, _ := MustOpenFresh(t)
	ctx := t.Context()
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: "acme.example"}); err != nil {
		t.Fatal(err)
	}
	m := inbox.Mailbox{Address: "bob@acme.example", TenantID: "acme.example", Kind: inbox.MailboxMember,
		HistoryID: 1<<64 - 1, NotifiedHistoryID: 1<<53 + 1}
	if err := s.CreateMailbox(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMailbox(ctx, m.Address)
	if err != nil {
		t.Fatal(err)
	}
	if got.HistoryID != m.HistoryID || got.NotifiedHistoryID != m.NotifiedHistoryID {
		t.Errorf("history ids = %d, %d; want %d, %d", got.HistoryID, got.NotifiedHistoryID, m.HistoryID, m.NotifiedHistoryID)
	}
}

// TestNamespacesIsolated: two namespaces of one database do not see each
// other.
func TestNamespacesIsolated(t *testing.T) {
	a, _ := MustOpenFresh(t)
	b, _ := MustOpenFresh(t)
	ctx := t.Context()
	if err := a.CreateTenant(ctx, inbox.Tenant{Domain: "acme.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetTenant(ctx, "acme.example"); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("GetTenant in another namespace: got %v, want %v", err, inbox.ErrNotFound)
	}
	if err := b.CreateTenant(ctx, inbox.Tenant{Domain: "acme.example"}); err != nil {
		t.Errorf("CreateTenant in another namespace: %v", err)
	}
}

// TestRecentHistoryLegacyConversation: a conversation document written
// before the recent copy existed (no "recent" field) is served from the
// subcollections, and the first write of each kind that finds it so fills
// the copy from them; from then on RecentHistory reads one document.
func TestRecentHistoryLegacyConversation(t *testing.T) {
	s, _ := MustOpenFresh(t)
	ctx := t.Context()
	at := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	ib := inbox.Inbox{TenantID: "acme.example", ID: "support", Address: "support@acme.example", Name: "Support",
		Members: []inbox.Member{{Email: "bob@acme.example", Role: inbox.RoleAgent}}}
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: ib.TenantID}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateInbox(ctx, ib); err != nil {
		t.Fatal(err)
	}
	for _, write := range []string{"AddNote", "UpdateConversation", "AppendMessage"} {
		t.Run(write, func(t *testing.T) {
			c, created, err := inbox.NewConversation(ib, "<"+write+"@x>", "s", "a@b.example", "", at, at)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CreateConversation(ctx, c, []string{c.RootMessageID}, created); err != nil {
				t.Fatal(err)
			}
			// History written before the copy existed: seven notes.
			for i := range 7 {
				n, err := inbox.NewNote(c, "bob@acme.example", fmt.Sprintf("old note %d", i), at.Add(time.Duration(i+1)*time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				if err := s.AddNote(ctx, n, c.NoteActivity(n)); err != nil {
					t.Fatal(err)
				}
			}
			// Remove the copy, as in a document written before it existed.
			ref := s.conversationRef(c.TenantID, c.ID)
			if _, err := ref.Update(ctx, []firestore.Update{{Path: fieldRecent, Value: firestore.Delete}}); err != nil {
				t.Fatalf("strip the recent copy: %v", err)
			}
			// The conversation, then the lists: a read per entry.
			wantRecentLists(t, s, c, 1+inbox.MaxRecentNotes+8)

			later := at.Add(time.Hour)
			switch write {
			case "AddNote":
				n, err := inbox.NewNote(c, "bob@acme.example", "new note", later)
				if err != nil {
					t.Fatal(err)
				}
				err = s.AddNote(ctx, n, c.NoteActivity(n))
				if err != nil {
					t.Fatal(err)
				}
			case "UpdateConversation":
				ev, err := c.SetStatus("bob@acme.example", inbox.StatusPending, later)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.UpdateConversation(ctx, c, ev); err != nil {
					t.Fatal(err)
				}
			case "AppendMessage":
				c.LastMessageAt = later
				if err := s.AppendMessage(ctx, c, []string{"later@x"}, nil); err != nil {
					t.Fatal(err)
				}
			}
			wantRecentLists(t, s, c, 1)
		})
	}
}

// wantRecentLists fails unless RecentHistory of c is the head of its lists
// and cost reads document reads.
func wantRecentLists(t *testing.T, s *Store, c inbox.Conversation, reads int) {
	t.Helper()
	ctx := t.Context()
	s.ResetStats()
	notes, acts, err := s.RecentHistory(ctx, c.TenantID, c.ID, inbox.MaxRecentNotes, inbox.MaxRecentActivity)
	if err != nil {
		t.Fatalf("RecentHistory: %v", err)
	}
	if r, _ := s.Stats(); r != reads {
		t.Errorf("RecentHistory cost %d reads, want %d", r, reads)
	}
	allNotes, err := s.ListNotes(ctx, c.TenantID, c.ID, inbox.MaxRecentNotes)
	if err != nil {
		t.Fatal(err)
	}
	allActs, err := s.ListActivity(ctx, c.TenantID, c.ID, inbox.MaxRecentActivity)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(allNotes, notes); diff != "" {
		t.Errorf("RecentHistory notes differ from ListNotes (-list +recent):\n%s", diff)
	}
	if diff := cmp.Diff(allActs, acts); diff != "" {
		t.Errorf("RecentHistory activity differs from ListActivity (-list +recent):\n%s", diff)
	}
	if len(notes) != inbox.MaxRecentNotes {
		t.Errorf("RecentHistory: %d notes, want %d", len(notes), inbox.MaxRecentNotes)
	}
}

// TestMailboxLegacyExpected: a mailbox document written while Mailbox had
// Expected (an "expected" array of label changes) and no access fields
// still reads and updates, and that update drops the field (UpdateMailbox
// sets the whole document).
func TestMailboxLegacyExpected(t *testing.T) {
	s, _ := MustOpenFresh(t)
	ctx := t.Context()
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: "acme.example"}); err != nil {
		t.Fatal(err)
	}
	m := inbox.Mailbox{Address: "bob@acme.example", TenantID: "acme.example", Kind: inbox.MailboxMember, HistoryID: 42}
	legacy := encodeMailbox(m)
	if _, err := s.mailboxRef("carol@acme.example").Set(ctx, map[string]any{
		"address": "carol@acme.example", "tenantId": legacy.TenantID, "kind": legacy.Kind,
		"historyId": legacy.HistoryID, "notifiedHistoryId": legacy.NotifiedHistoryID,
		"watchExpiration": legacy.WatchExpiration, "labels": []any{}, "leaseHolder": "", "leaseUntil": legacy.LeaseUntil,
		"lastSyncAt": legacy.LastSyncAt, "lastError": "", "errorCount": 0, "createdAt": legacy.CreatedAt,
		"watchKey": sortKey(legacy.WatchExpiration, "carol@acme.example"), "syncKey": sortKey(legacy.LastSyncAt, "carol@acme.example"),
		"expected": []map[string]any{{"threadId": "18a", "labelId": "Label_1", "add": true, "until": time.Now()}},
	}); err != nil {
		t.Fatalf("write a legacy mailbox: %v", err)
	}
	m.Address = "carol@acme.example"
	ref := s.mailboxRef(m.Address)
	got, err := s.GetMailbox(ctx, m.Address)
	if err != nil {
		t.Fatalf("GetMailbox(legacy): %v", err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("GetMailbox(legacy) (-want +got):\n%s", diff)
	}
	listed, err := s.ListMailboxes(ctx, m.TenantID)
	if err != nil || len(listed) != 1 || listed[0].Address != m.Address {
		t.Errorf("ListMailboxes with a legacy mailbox = %v, %v", listed, err)
	}
	m.Access, m.SealedToken = inbox.AccessOAuth, []byte{1, 2, 3}
	if _, err := s.UpdateMailbox(ctx, m.Address, func(mb *inbox.Mailbox) error {
		mb.Access, mb.SealedToken = inbox.AccessOAuth, []byte{1, 2, 3}
		return nil
	}); err != nil {
		t.Fatalf("UpdateMailbox(legacy): %v", err)
	}
	if got, err := s.GetMailbox(ctx, m.Address); err != nil || !cmp.Equal(m, got) {
		t.Errorf("GetMailbox after updating a legacy mailbox = %+v, %v; want %+v", got, err, m)
	}
	snap, err := ref.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"access", "sealedToken", "connectedBy"} {
		if _, ok := snap.Data()[f]; !ok {
			t.Errorf("UpdateMailbox did not write %s", f)
		}
	}
	if _, ok := snap.Data()["expected"]; ok {
		t.Errorf("UpdateMailbox kept the legacy field expected")
	}
}

// TestContentionUnavailable: a write that keeps losing to concurrent
// writes until the contention deadline returns inbox.ErrUnavailable (never
// Firestore's Aborted, nor ErrConflict, which means a stale version) and
// saves nothing. With no time to retry, racing read-modify-writes of one
// tenant abort all but one another's transactions.
func TestContentionUnavailable(t *testing.T) {
	s, _ := MustOpenFresh(t)
	ctx := t.Context()
	const domain = "acme.example"
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: domain}); err != nil {
		t.Fatal(err)
	}
	s.contention = 0
	const writers = 8
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			_, errs[i] = s.UpdateTenant(ctx, domain, func(tn *inbox.Tenant) error {
				tn.Admins = append(slices.Clone(tn.Admins), fmt.Sprintf("admin-%d@%s", i, domain))
				return nil
			})
		})
	}
	close(start)
	wg.Wait()

	var saved []string
	unavailable := 0
	for i, err := range errs {
		switch {
		case err == nil:
			saved = append(saved, fmt.Sprintf("admin-%d@%s", i, domain))
		case errors.Is(err, inbox.ErrUnavailable) && !errors.Is(err, inbox.ErrConflict):
			unavailable++
		default:
			t.Errorf("UpdateTenant %d: got %v, want nil or %v", i, err, inbox.ErrUnavailable)
		}
	}
	if unavailable == 0 {
		t.Errorf("no writer got %v: the race did not contend", inbox.ErrUnavailable)
	}
	got, err := s.GetTenant(ctx, domain)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got.Admins)
	if diff := cmp.Diff(saved, got.Admins); diff != "" {
		t.Errorf("admins: exactly the updates that returned nil are saved (-want +got):\n%s", diff)
	}
}

// TestAddNoteLateRecentStep: AddNote's third step (refreshRecent, which
// adds the note as it was written to the recent copy) may commit after an
// UpdateNote or a DeleteNote of that note, which can follow the save at
// once. The copy then keeps the edit and does not bring the deleted note
// back; a new note under a deleted note's id still reaches it.
func TestAddNoteLateRecentStep(t *testing.T) {
	s, _ := MustOpenFresh(t)
	ctx := t.Context()
	at := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	ib := inbox.Inbox{TenantID: "acme.example", ID: "support", Address: "support@acme.example", Name: "Support",
		Members: []inbox.Member{{Email: "bob@acme.example", Role: inbox.RoleAgent}}}
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: ib.TenantID}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateInbox(ctx, ib); err != nil {
		t.Fatal(err)
	}
	c, created, err := inbox.NewConversation(ib, "<late@x>", "s", "a@b.example", "", at, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateConversation(ctx, c, []string{c.RootMessageID}, created); err != nil {
		t.Fatal(err)
	}
	conv := s.conversationRef(c.TenantID, c.ID)
	addNote := func(n inbox.Note) inbox.Activity {
		t.Helper()
		ev := c.NoteActivity(n)
		if err := s.AddNote(ctx, n, ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	wantBodies := func(step string, want ...string) {
		t.Helper()
		notes, _, err := s.RecentHistory(ctx, c.TenantID, c.ID, inbox.MaxRecentNotes, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range notes {
			got = append(got, n.Body)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: RecentHistory notes (-want +got):\n%s", step, diff)
		}
	}

	n1, err := inbox.NewNote(c, "bob@acme.example", "first", at.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ev1 := addNote(n1)
	if _, err := s.UpdateNote(ctx, c.TenantID, c.ID, n1.ID, func(x *inbox.Note) (inbox.Activity, error) {
		return x.Edit(x.Author, "first, edited", nil, at.Add(2*time.Minute))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.refreshRecent(ctx, conv, &n1, ev1); err != nil {
		t.Fatal(err)
	}
	wantBodies("third step after an edit", "first, edited")

	n2, err := inbox.NewNote(c, "bob@acme.example", "second", at.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ev2 := addNote(n2)
	if err := s.DeleteNote(ctx, c.TenantID, c.ID, n2.ID, func(x inbox.Note) (inbox.Activity, error) {
		return x.Delete(x.Author, at.Add(4*time.Minute))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.refreshRecent(ctx, conv, &n2, ev2); err != nil {
		t.Fatal(err)
	}
	wantBodies("third step after a delete", "first, edited")

	again := n2
	again.Body = "second, again"
	addNote(again)
	wantBodies("a new note under a deleted id", "second, again", "first, edited")
}
