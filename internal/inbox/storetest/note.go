package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func noteCases() []testCase {
	return []testCase{
		{"AddList", testNoteAddList},
		{"Limit", testNoteLimit},
		{"UnknownConversation", testNoteUnknownConversation},
		{"OtherTenant", testNoteOtherTenant},
		{"PerConversation", testNotePerConversation},
	}
}

// mustAddNote builds a note with the domain constructor and stores it with
// its activity entry.
func mustAddNote(t *testing.T, s inbox.Store, c inbox.Conversation, author, body string, at time.Time) (inbox.Note, inbox.Activity) {
	t.Helper()
	n, err := inbox.NewNote(c, author, body, at)
	if err != nil {
		t.Fatalf("NewNote: %v", err)
	}
	ev := c.NoteActivity(n)
	if err := s.AddNote(t.Context(), n, ev); err != nil {
		t.Fatalf("AddNote: %v", err)
	}
	return n, ev
}

// testNoteAddList: notes come back newest first, each logged with an
// activity entry of version 0, and the conversation's version is untouched.
func testNoteAddList(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	n1, ev1 := mustAddNote(t, f.s, c, alice, "Called the customer.", t0.Add(1*time.Minute))
	n2, ev2 := mustAddNote(t, f.s, c, bob, "Refund approved.", t0.Add(2*time.Minute))
	n3, ev3 := mustAddNote(t, f.s, c, alice, "Closing after the weekend.", t0.Add(3*time.Minute))

	got, err := f.s.ListNotes(t.Context(), domainA, c.ID, 10)
	if err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	if diff := cmp.Diff([]inbox.Note{n3, n2, n1}, got, cmpOpts); diff != "" {
		t.Errorf("ListNotes mismatch (-want +got):\n%s", diff)
	}
	for _, ev := range []inbox.Activity{ev1, ev2, ev3} {
		if ev.Kind != inbox.ActNoted || ev.Version != 0 {
			t.Fatalf("fixture: note activity %+v, want kind %s and version 0", ev, inbox.ActNoted)
		}
	}
	wantActivity(t, f.s, domainA, c.ID, ev3, ev2, ev1, created)
	wantConversation(t, f.s, c) // version 1, unchanged

	// Notes never collide: a change computed from version 1 still applies.
	mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus(bob, inbox.StatusPending, t0.Add(4*time.Minute))
	})
	wantConversation(t, f.s, c)
}

func testNoteLimit(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	var notes []inbox.Note
	for i := range 5 {
		n, _ := mustAddNote(t, f.s, c, alice, "note", t0.Add(time.Duration(i)*time.Minute))
		notes = append(notes, n)
	}
	for _, tc := range []struct {
		limit int
		want  []inbox.Note
	}{
		{1, []inbox.Note{notes[4]}},
		{2, []inbox.Note{notes[4], notes[3]}},
		{5, []inbox.Note{notes[4], notes[3], notes[2], notes[1], notes[0]}},
		{50, []inbox.Note{notes[4], notes[3], notes[2], notes[1], notes[0]}},
	} {
		got, err := f.s.ListNotes(t.Context(), domainA, c.ID, tc.limit)
		if err != nil {
			t.Fatalf("ListNotes(limit %d): %v", tc.limit, err)
		}
		if diff := cmp.Diff(tc.want, got, cmpOpts); diff != "" {
			t.Errorf("ListNotes(limit %d) mismatch (-want +got):\n%s", tc.limit, diff)
		}
	}
}

func testNoteUnknownConversation(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := newConversation(t, f.ib, root(1), t0) // never stored
	n, err := inbox.NewNote(c, alice, "Lost note", t0)
	if err != nil {
		t.Fatalf("NewNote: %v", err)
	}
	err = f.s.AddNote(t.Context(), n, c.NoteActivity(n))
	wantErr(t, "AddNote(unknown conversation)", err, inbox.ErrNotFound)

	notes, err := f.s.ListNotes(t.Context(), domainA, c.ID, 10)
	wantEmptyOrNotFound(t, "ListNotes(unknown conversation)", len(notes), err)
	acts, err := f.s.ListActivity(t.Context(), domainA, c.ID, 10)
	wantEmptyOrNotFound(t, "ListActivity(unknown conversation)", len(acts), err)
}

func testNoteOtherTenant(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	mustCreateInbox(t, f.s, domainB, "support", "Support")
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	asB := c
	asB.TenantID = domainB
	n, err := inbox.NewNote(asB, "bob@"+domainB, "Not yours", t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("NewNote: %v", err)
	}
	err = f.s.AddNote(t.Context(), n, asB.NoteActivity(n))
	wantErr(t, "AddNote(other tenant's conversation)", err, inbox.ErrNotFound)

	notes, err := f.s.ListNotes(t.Context(), domainA, c.ID, 10)
	if err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	if len(notes) != 0 {
		t.Errorf("ListNotes after a refused note: got %d notes, want 0", len(notes))
	}
	wantActivity(t, f.s, domainA, c.ID, created)

	// And the reverse: A's notes are invisible from B.
	mustAddNote(t, f.s, c, alice, "Mine", t0.Add(2*time.Minute))
	notes, err = f.s.ListNotes(t.Context(), domainB, c.ID, 10)
	wantEmptyOrNotFound(t, "ListNotes(other tenant's conversation)", len(notes), err)
	acts, err := f.s.ListActivity(t.Context(), domainB, c.ID, 10)
	wantEmptyOrNotFound(t, "ListActivity(other tenant's conversation)", len(acts), err)
}

func testNotePerConversation(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c1, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	c2, _ := mustCreateConversation(t, f.s, f.ib, root(2), t0)
	n1, _ := mustAddNote(t, f.s, c1, alice, "About the first", t0.Add(time.Minute))
	n2, _ := mustAddNote(t, f.s, c2, bob, "About the second", t0.Add(time.Minute))

	for _, tc := range []struct {
		c    inbox.Conversation
		want inbox.Note
	}{{c1, n1}, {c2, n2}} {
		got, err := f.s.ListNotes(t.Context(), domainA, tc.c.ID, 10)
		if err != nil {
			t.Fatalf("ListNotes(%s): %v", tc.c.ID, err)
		}
		if diff := cmp.Diff([]inbox.Note{tc.want}, got, cmpOpts); diff != "" {
			t.Errorf("ListNotes(%s) mismatch (-want +got):\n%s", tc.c.ID, diff)
		}
	}
}
