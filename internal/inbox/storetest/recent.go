package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func recentCases() []testCase {
	return []testCase{
		{"MatchesLists", testRecentMatchesLists},
		{"Caps", testRecentCaps},
		{"Unknown", testRecentUnknown},
		{"OtherTenant", testRecentOtherTenant},
		{"OutOfOrder", testRecentOutOfOrder},
		{"LongNotes", testRecentLongNotes},
		{"AfterRefusedWrites", testRecentAfterRefusedWrites},
	}
}

// testRecentOutOfOrder: entries written out of time order (a note dated
// before the newest ones, a mail recorded late) take their place by time,
// and one older than the newest kept does not show.
func testRecentOutOfOrder(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	minute := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	for _, m := range []int{50, 10, 40, 20, 60, 30, 70, 5, 45, 1} {
		mustAddNote(t, f.s, c, alice, fmt.Sprintf("note at %d", m), minute(m))
		wantRecent(t, f.s, domainA, c.ID)
	}
	notes, _, err := f.s.RecentHistory(t.Context(), domainA, c.ID, inbox.MaxRecentNotes, 0)
	if err != nil {
		t.Fatalf("RecentHistory: %v", err)
	}
	var bodies []string
	for _, n := range notes {
		bodies = append(bodies, n.Body)
	}
	want := []string{"note at 70", "note at 60", "note at 50", "note at 45", "note at 40"}
	if diff := cmp.Diff(want, bodies); diff != "" {
		t.Errorf("RecentHistory notes (-want +got):\n%s", diff)
	}
	// A state change dated before every note still comes first among the
	// activity entries it is newer than.
	mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus(bob, inbox.StatusPending, minute(42))
	})
	wantRecent(t, f.s, domainA, c.ID)
}

// testRecentLongNotes: the newest notes come back whole at the longest a
// note may be, in multi-byte characters.
func testRecentLongNotes(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	var want []inbox.Note
	for i, r := range []string{"🧾", "ä", "x", "€", "🙂", "ß", "👍"} {
		body := fmt.Sprintf("%d", i) + strings.Repeat(r, inbox.MaxNoteLength-1)
		n, _ := mustAddNote(t, f.s, c, alice, body, t0.Add(time.Duration(i+1)*time.Minute))
		want = append([]inbox.Note{n}, want...)
	}
	notes, _, err := f.s.RecentHistory(t.Context(), domainA, c.ID, inbox.MaxRecentNotes, inbox.MaxRecentActivity)
	if err != nil {
		t.Fatalf("RecentHistory: %v", err)
	}
	if diff := cmp.Diff(head(want, inbox.MaxRecentNotes), notes, cmpOpts); diff != "" {
		t.Errorf("RecentHistory notes (-want +got):\n%s", diff)
	}
	wantRecent(t, f.s, domainA, c.ID)
}

// testRecentAfterRefusedWrites: writes the store refuses (a stale change,
// a note of an unknown conversation) leave RecentHistory as it was. (The
// Append/Duplicate… leaves check it after a mail recorded before.)
func testRecentAfterRefusedWrites(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	n, noted := mustAddNote(t, f.s, c, alice, "first", t0.Add(time.Minute))
	stale := c
	assigned := mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.Assign(f.ib, alice, bob, t0.Add(2*time.Minute))
	})

	ev, err := stale.SetStatus(bob, inbox.StatusClosed, t0.Add(3*time.Minute))
	if err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
	wantErr(t, "UpdateConversation(stale)", f.s.UpdateConversation(t.Context(), stale, ev), inbox.ErrConflict)
	unknown, _ := newConversation(t, f.ib, root(2), t0)
	lost, err := inbox.NewNote(unknown, alice, "lost", t0.Add(6*time.Minute))
	if err != nil {
		t.Fatalf("NewNote: %v", err)
	}
	wantErr(t, "AddNote(unknown conversation)", f.s.AddNote(t.Context(), lost, unknown.NoteActivity(lost)), inbox.ErrNotFound)

	notes, acts, err := f.s.RecentHistory(t.Context(), domainA, c.ID, inbox.MaxRecentNotes, inbox.MaxRecentActivity)
	if err != nil {
		t.Fatalf("RecentHistory: %v", err)
	}
	if diff := cmp.Diff([]inbox.Note{n}, notes, cmpOpts); diff != "" {
		t.Errorf("RecentHistory notes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]inbox.Activity{assigned, noted, created}, acts, cmpOpts); diff != "" {
		t.Errorf("RecentHistory activity (-want +got):\n%s", diff)
	}
	wantActivity(t, f.s, domainA, c.ID, assigned, noted, created)
}

// testRecentMatchesLists: after notes, state changes and appended mail,
// RecentHistory returns exactly the heads of ListNotes and ListActivity.
func testRecentMatchesLists(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	at := t0
	next := func() time.Time { at = at.Add(time.Minute); return at }
	for i := range 4 {
		mustAddNote(t, f.s, c, alice, fmt.Sprintf("note %d", i), next())
		mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
			if i%2 == 0 {
				return c.AddTag(bob, fmt.Sprintf("t%d", i), next())
			}
			return c.SetStatus(bob, inbox.Statuses[i%3], next())
		})
	}
	// A customer's mail that reopens it, recorded by the sync.
	mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus(bob, inbox.StatusClosed, next())
	})
	reopen := c
	ev := reopen.Receive(f.ib, inbox.Mail{From: inbox.Address{Email: "customer@mail.example"}, Date: next()}, at)
	if ev == nil {
		t.Fatal("fixture: the customer's mail did not reopen the conversation")
	}
	if err := f.s.AppendMessage(t.Context(), reopen, []string{"reopen@mail.example"}, ev); err != nil {
		t.Fatalf("AppendMessage: %v", err)
	}
	for _, limits := range [][2]int{{3, 5}, {1, 1}, {0, 4}, {2, 0}, {inbox.MaxRecentNotes, inbox.MaxRecentActivity}} {
		notes, acts, err := f.s.RecentHistory(t.Context(), domainA, c.ID, limits[0], limits[1])
		if err != nil {
			t.Fatalf("RecentHistory%v: %v", limits, err)
		}
		allNotes, err := f.s.ListNotes(t.Context(), domainA, c.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		allActs, err := f.s.ListActivity(t.Context(), domainA, c.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(head(allNotes, limits[0]), notes, cmpOpts); diff != "" {
			t.Errorf("RecentHistory%v notes (-want +got):\n%s", limits, diff)
		}
		if diff := cmp.Diff(head(allActs, limits[1]), acts, cmpOpts); diff != "" {
			t.Errorf("RecentHistory%v activity (-want +got):\n%s", limits, diff)
		}
	}
}

func head[T any](s []T, n int) []T {
	if n <= 0 {
		return nil
	}
	return slices.Clone(s[:min(n, len(s))])
}

// testRecentCaps: limits beyond the bounds return the bounds.
func testRecentCaps(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	n := max(inbox.MaxRecentNotes, inbox.MaxRecentActivity) + 2
	for i := range n {
		mustAddNote(t, f.s, c, alice, fmt.Sprintf("note %d", i), t0.Add(time.Duration(i+1)*time.Minute))
	}
	notes, acts, err := f.s.RecentHistory(t.Context(), domainA, c.ID, 100, 100)
	if err != nil {
		t.Fatalf("RecentHistory: %v", err)
	}
	if len(notes) != inbox.MaxRecentNotes || notes[0].Body != fmt.Sprintf("note %d", n-1) {
		t.Errorf("got %d notes starting %q, want the newest %d", len(notes), notes[0].Body, inbox.MaxRecentNotes)
	}
	if len(acts) != inbox.MaxRecentActivity {
		t.Errorf("got %d activity entries, want %d", len(acts), inbox.MaxRecentActivity)
	}
}

func testRecentUnknown(t *testing.T, h Harness) {
	f := newFixture(t, h)
	notes, acts, err := f.s.RecentHistory(t.Context(), domainA, "c-unknown", 3, 5)
	if err != nil || len(notes) != 0 || len(acts) != 0 {
		t.Errorf("RecentHistory(unknown) = %v, %v, %v; want empty", notes, acts, err)
	}
	_, _, _, err = f.s.GetConversationHistory(t.Context(), domainA, "c-unknown", 3, 5)
	wantErr(t, "GetConversationHistory(unknown)", err, inbox.ErrNotFound)
}

func testRecentOtherTenant(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	mustAddNote(t, f.s, c, alice, "secret", t0.Add(time.Minute))
	notes, acts, err := f.s.RecentHistory(t.Context(), domainB, c.ID, 3, 5)
	if err != nil || len(notes) != 0 || len(acts) != 0 {
		t.Errorf("RecentHistory from another tenant = %v, %v, %v; want empty", notes, acts, err)
	}
	_, _, _, err = f.s.GetConversationHistory(t.Context(), domainB, c.ID, 3, 5)
	wantErr(t, "GetConversationHistory from another tenant", err, inbox.ErrNotFound)
}
