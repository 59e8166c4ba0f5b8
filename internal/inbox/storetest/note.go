package storetest

import (
	"errors"
	"fmt"
	"slices"
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
		{"Get", testNoteGet},
		{"Update", testNoteUpdate},
		{"UpdateMentions", testNoteUpdateMentions},
		{"UpdateInvalid", testNoteUpdateInvalid},
		{"UpdateFnError", testNoteUpdateFnError},
		{"UpdateNotFound", testNoteUpdateNotFound},
		{"Delete", testNoteDelete},
		{"DeleteRefillsRecent", testNoteDeleteRefillsRecent},
		{"DeleteFnError", testNoteDeleteFnError},
		{"DeleteNotFound", testNoteDeleteNotFound},
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

// mustEditNote edits n through UpdateNote as its author (Note.Edit) and
// returns the note and the entry the store wrote, checking the returned
// note against the edit.
func mustEditNote(t *testing.T, s inbox.Store, n inbox.Note, body string, mentions []string, at time.Time) (inbox.Note, inbox.Activity) {
	t.Helper()
	var ev inbox.Activity
	got, err := s.UpdateNote(t.Context(), n.TenantID, n.ConversationID, n.ID, func(x *inbox.Note) (inbox.Activity, error) {
		e, err := x.Edit(x.Author, body, mentions, at)
		ev = e // fn may run more than once: the last run's entry is written
		return e, err
	})
	if err != nil {
		t.Fatalf("UpdateNote(%s, edit): %v", n.ID, err)
	}
	want := n
	want.Mentions = slices.Clone(n.Mentions)
	if _, err := want.Edit(n.Author, body, mentions, at); err != nil {
		t.Fatalf("fixture: Edit: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("UpdateNote(%s) returned (-want +got):\n%s", n.ID, diff)
	}
	if ev.Kind != inbox.ActNoteEdited || ev.To != n.ID || ev.Version != 0 {
		t.Fatalf("fixture: edit entry %+v", ev)
	}
	return want, ev
}

// mustDeleteNote deletes n through DeleteNote as its author (Note.Delete)
// and returns the entry the store wrote.
func mustDeleteNote(t *testing.T, s inbox.Store, n inbox.Note, at time.Time) inbox.Activity {
	t.Helper()
	var ev inbox.Activity
	err := s.DeleteNote(t.Context(), n.TenantID, n.ConversationID, n.ID, func(x inbox.Note) (inbox.Activity, error) {
		if diff := cmp.Diff(n, x, cmpOpts); diff != "" {
			t.Errorf("DeleteNote(%s) gave fn another note than the stored one (-stored +given):\n%s", n.ID, diff)
		}
		e, err := x.Delete(x.Author, at)
		ev = e
		return e, err
	})
	if err != nil {
		t.Fatalf("DeleteNote(%s): %v", n.ID, err)
	}
	if ev.Kind != inbox.ActNoteDeleted || ev.To != n.ID || ev.From != n.Body || ev.Version != 0 {
		t.Fatalf("fixture: delete entry %+v", ev)
	}
	return ev
}

// wantNotes fails unless ListNotes returns exactly want (newest first)
// and RecentHistory agrees (wantRecent).
func wantNotes(t *testing.T, s inbox.Store, tenantID, conversationID string, want ...inbox.Note) {
	t.Helper()
	got, err := s.ListNotes(t.Context(), tenantID, conversationID, 1000)
	if err != nil {
		t.Fatalf("ListNotes(%s, %s): %v", tenantID, conversationID, err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("ListNotes(%s, %s) mismatch (-want +got):\n%s", tenantID, conversationID, diff)
	}
	wantRecent(t, s, tenantID, conversationID)
}

// wantNote fails unless GetNote returns want.
func wantNote(t *testing.T, s inbox.Store, want inbox.Note) {
	t.Helper()
	got, err := s.GetNote(t.Context(), want.TenantID, want.ConversationID, want.ID)
	if err != nil {
		t.Fatalf("GetNote(%s, %s, %s): %v", want.TenantID, want.ConversationID, want.ID, err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetNote(%s) mismatch (-want +got):\n%s", want.ID, diff)
	}
}

// wantNoNote fails unless GetNote finds no note under the keys.
func wantNoNote(t *testing.T, s inbox.Store, tenantID, conversationID, id string) {
	t.Helper()
	got, err := s.GetNote(t.Context(), tenantID, conversationID, id)
	if !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("GetNote(%s, %s, %s) = %+v, %s; want ErrNotFound", tenantID, conversationID, id, got, errKind(err))
	}
}

// testNoteGet: a note comes back whole, Mentions included; its key is
// (tenant, conversation, id).
func testNoteGet(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	ibB := mustCreateInbox(t, f.s, domainB, "support", "Support")
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	c2, _ := mustCreateConversation(t, f.s, f.ib, root(2), t0)
	mustCreateConversation(t, f.s, ibB, root(1), t0) // c's id in tenant B
	n, _ := mustAddNoteMentioning(t, f.s, c, alice, "@bob @carol have a look", t0.Add(time.Minute), bob, carol)
	wantNote(t, f.s, n)
	wantNoNote(t, f.s, domainA, c.ID, "no-such-note")
	wantNoNote(t, f.s, domainA, c2.ID, n.ID)
	wantNoNote(t, f.s, domainB, c.ID, n.ID)
	wantNoNote(t, f.s, domainA, "c-unknown", n.ID)
}

// testNoteUpdate: an edit writes the new text and EditedAt, which
// ListNotes, RecentHistory and GetConversationHistory show at once, and
// appends its entry (version 0, the old text in From); the conversation's
// version stays, so a change computed before still applies.
func testNoteUpdate(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	n1, noted1 := mustAddNote(t, f.s, c, alice, "Called the customr.", t0.Add(time.Minute))
	n2, noted2 := mustAddNote(t, f.s, c, bob, "Refund approved.", t0.Add(2*time.Minute))

	e1, edited1 := mustEditNote(t, f.s, n1, "Called the customer.", nil, t0.Add(3*time.Minute))
	if edited1.From != n1.Body {
		t.Errorf("edit entry From = %q, want the old text %q", edited1.From, n1.Body)
	}
	wantNote(t, f.s, e1)
	wantNotes(t, f.s, domainA, c.ID, n2, e1)
	wantActivity(t, f.s, domainA, c.ID, edited1, noted2, noted1, created)
	wantConversation(t, f.s, c)

	e2, edited2 := mustEditNote(t, f.s, e1, "Called the customer twice.", nil, t0.Add(4*time.Minute))
	wantNote(t, f.s, e2)
	wantNotes(t, f.s, domainA, c.ID, n2, e2)
	wantActivity(t, f.s, domainA, c.ID, edited2, edited1, noted2, noted1, created)
	_, c3, _, err := f.s.GetConversationHistory(t.Context(), domainA, c.ID, inbox.MaxRecentNotes, 0)
	if err != nil {
		t.Fatalf("GetConversationHistory: %v", err)
	}
	if len(c3) != 2 || c3[1].Body != e2.Body || !c3[1].EditedAt.Equal(e2.EditedAt) {
		t.Errorf("GetConversationHistory notes = %+v, want the edited text and time", c3)
	}

	mustChange(t, f.s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus(bob, inbox.StatusPending, t0.Add(5*time.Minute))
	})
	wantConversation(t, f.s, c)
}

// testNoteUpdateMentions: an edit that names someone new gives them a
// Mention of the edited note (its new text, the edit's time); the
// mentions of those it named before stay as they were, read or not.
func testNoteUpdateMentions(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	n, _ := mustAddNoteMentioning(t, f.s, c, alice, "@bob can you call?", t0.Add(time.Minute), bob)
	other, _ := mustAddNoteMentioning(t, f.s, c, alice, "@carol see above", t0.Add(2*time.Minute), carol)
	toBob := inbox.NewMention(c, n, bob)
	readAt := t0.Add(3 * time.Minute)
	mustMarkRead(t, f.s, domainA, bob, []string{n.ID}, readAt, 1)

	e, _ := mustEditNote(t, f.s, n, "@carol can you call?", []string{carol}, t0.Add(4*time.Minute))
	if !slices.Equal(e.Mentions, []string{bob, carol}) {
		t.Fatalf("fixture: edited mentions %v", e.Mentions)
	}
	wantNote(t, f.s, e)
	toCarol := inbox.NewMention(c, e, carol)
	if toCarol.Excerpt != e.Body || !toCarol.At.Equal(e.EditedAt) {
		t.Fatalf("fixture: NewMention of the edit = %+v", toCarol)
	}
	wantMentions(t, f.s, domainA, carol, false, toCarol, inbox.NewMention(c, other, carol))
	wantMentions(t, f.s, domainA, bob, false, readMention(toBob, readAt))
	wantMentions(t, f.s, domainA, bob, true)

	// Naming bob again (he is in Mentions already) does not make his
	// mention unread.
	e2, _ := mustEditNote(t, f.s, e, "@bob @carol can you call?", []string{bob, carol}, t0.Add(5*time.Minute))
	wantNote(t, f.s, e2)
	wantMentions(t, f.s, domainA, bob, false, readMention(toBob, readAt))
	wantMentions(t, f.s, domainA, carol, false, toCarol, inbox.NewMention(c, other, carol))
}

// testNoteUpdateInvalid: an fn that changes the note's keys, author or
// creation time, takes an address out of Mentions, leaves a note that
// does not validate, or returns an incomplete entry is ErrInvalid, and
// nothing is written: not the text, not the entry, not the mention the
// edit would add.
func testNoteUpdateInvalid(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	n, noted := mustAddNoteMentioning(t, f.s, c, alice, "@bob first", t0.Add(time.Minute), bob)
	for _, tc := range []struct {
		name   string
		change func(*inbox.Note, *inbox.Activity)
	}{
		{"new id", func(x *inbox.Note, _ *inbox.Activity) { x.ID = "n-other" }},
		{"other conversation", func(x *inbox.Note, _ *inbox.Activity) { x.ConversationID = root(2) }},
		{"other tenant", func(x *inbox.Note, _ *inbox.Activity) { x.TenantID = domainB }},
		{"other author", func(x *inbox.Note, _ *inbox.Activity) { x.Author = bob }},
		{"other creation time", func(x *inbox.Note, _ *inbox.Activity) { x.CreatedAt = x.CreatedAt.Add(time.Second) }},
		{"mention taken out", func(x *inbox.Note, _ *inbox.Activity) { x.Mentions = []string{carol} }},
		{"mention not lower case", func(x *inbox.Note, _ *inbox.Activity) {
			x.Mentions = append(x.Mentions, "Dave@acme.example")
		}},
		{"blank body", func(x *inbox.Note, _ *inbox.Activity) { x.Body = " \n " }},
		{"entry of another conversation", func(_ *inbox.Note, ev *inbox.Activity) { ev.ConversationID = root(2) }},
		{"entry without id", func(_ *inbox.Note, ev *inbox.Activity) { ev.ID = "" }},
	} {
		_, err := f.s.UpdateNote(t.Context(), domainA, c.ID, n.ID, func(x *inbox.Note) (inbox.Activity, error) {
			ev, err := x.Edit(alice, "@bob @carol second", []string{carol}, t0.Add(2*time.Minute))
			if err != nil {
				return ev, err
			}
			tc.change(x, &ev)
			return ev, nil
		})
		wantErr(t, "UpdateNote("+tc.name+")", err, inbox.ErrInvalid)
	}
	wantNote(t, f.s, n)
	wantNotes(t, f.s, domainA, c.ID, n)
	wantActivity(t, f.s, domainA, c.ID, noted, created)
	wantMentions(t, f.s, domainA, carol, false)
	wantMentions(t, f.s, domainA, bob, true, inbox.NewMention(c, n, bob))
}

// testNoteUpdateFnError: fn's error comes back so that errors.Is finds
// it (a refusal of the domain included), and nothing is written.
func testNoteUpdateFnError(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	n, noted := mustAddNoteMentioning(t, f.s, c, alice, "first", t0.Add(time.Minute), bob)
	errMine := errors.New("mine")
	for _, tc := range []struct {
		name string
		fn   func(*inbox.Note) (inbox.Activity, error)
		want error
	}{
		{"fn's own", func(x *inbox.Note) (inbox.Activity, error) {
			ev, _ := x.Edit(alice, "second @carol", []string{carol}, t0.Add(2*time.Minute))
			return ev, errMine
		}, errMine},
		{"not the author", func(x *inbox.Note) (inbox.Activity, error) {
			return x.Edit(bob, "hijacked", nil, t0.Add(2*time.Minute))
		}, inbox.ErrInvalid},
		{"unchanged", func(x *inbox.Note) (inbox.Activity, error) {
			return x.Edit(alice, "first", nil, t0.Add(2*time.Minute))
		}, inbox.ErrUnchanged},
	} {
		_, err := f.s.UpdateNote(t.Context(), domainA, c.ID, n.ID, tc.fn)
		wantErr(t, "UpdateNote("+tc.name+")", err, tc.want)
	}
	wantNote(t, f.s, n)
	wantNotes(t, f.s, domainA, c.ID, n)
	wantActivity(t, f.s, domainA, c.ID, noted, created)
	wantMentions(t, f.s, domainA, carol, false)
	wantMentions(t, f.s, domainA, bob, false, inbox.NewMention(c, n, bob))
}

// testNoteUpdateNotFound: a note that does not exist under the keys (an
// unknown id, another conversation's, another tenant's) is ErrNotFound,
// and fn is not called.
func testNoteUpdateNotFound(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	ibB := mustCreateInbox(t, f.s, domainB, "support", "Support")
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	c2, _ := mustCreateConversation(t, f.s, f.ib, root(2), t0)
	mustCreateConversation(t, f.s, ibB, root(1), t0)
	n, _ := mustAddNote(t, f.s, c, alice, "first", t0.Add(time.Minute))
	for _, k := range [][3]string{
		{domainA, c.ID, "no-such-note"},
		{domainA, c2.ID, n.ID},
		{domainB, c.ID, n.ID},
		{domainA, "c-unknown", n.ID},
	} {
		_, err := f.s.UpdateNote(t.Context(), k[0], k[1], k[2], func(x *inbox.Note) (inbox.Activity, error) {
			t.Errorf("UpdateNote%v called fn with %+v", k, *x)
			return x.Edit(x.Author, "second", nil, t0.Add(2*time.Minute))
		})
		wantErr(t, fmt.Sprintf("UpdateNote%v", k), err, inbox.ErrNotFound)
	}
	wantNote(t, f.s, n)
}

// testNoteDelete: a deleted note and its mentions are gone (ListNotes,
// GetNote, RecentHistory, ListMentions), the entries of the log stay and
// the deletion's entry (version 0, the text in From) is appended; the
// conversation's version stays; other notes' mentions stay.
func testNoteDelete(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	n1, noted1 := mustAddNoteMentioning(t, f.s, c, alice, "@bob @carol call them", t0.Add(time.Minute), bob, carol)
	n2, noted2 := mustAddNoteMentioning(t, f.s, c, bob, "@carol done", t0.Add(2*time.Minute), carol)
	mustMarkRead(t, f.s, domainA, bob, []string{n1.ID}, t0.Add(3*time.Minute), 1)

	deleted := mustDeleteNote(t, f.s, n1, t0.Add(4*time.Minute))
	wantNoNote(t, f.s, domainA, c.ID, n1.ID)
	wantNotes(t, f.s, domainA, c.ID, n2)
	wantActivity(t, f.s, domainA, c.ID, deleted, noted2, noted1, created)
	wantMentions(t, f.s, domainA, bob, false)
	wantMentions(t, f.s, domainA, carol, false, inbox.NewMention(c, n2, carol))
	mustMarkRead(t, f.s, domainA, carol, []string{n1.ID}, t0.Add(5*time.Minute), 0)
	wantConversation(t, f.s, c)

	err := f.s.DeleteNote(t.Context(), domainA, c.ID, n1.ID, func(x inbox.Note) (inbox.Activity, error) {
		t.Errorf("DeleteNote of a deleted note called fn with %+v", x)
		return x.Delete(x.Author, t0.Add(6*time.Minute))
	})
	wantErr(t, "DeleteNote(deleted before)", err, inbox.ErrNotFound)

	// The last note goes too: the conversation has none left.
	deleted2 := mustDeleteNote(t, f.s, n2, t0.Add(7*time.Minute))
	wantNotes(t, f.s, domainA, c.ID)
	wantActivity(t, f.s, domainA, c.ID, deleted2, deleted, noted2, noted1, created)
	wantMentions(t, f.s, domainA, carol, false)
}

// testNoteDeleteRefillsRecent: deleting one of the newest notes shows the
// next older one in RecentHistory in its place, even one that was beyond
// the newest inbox.MaxRecentNotes when it was written; deleting an older
// one leaves the newest as they were.
func testNoteDeleteRefillsRecent(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	notes := map[int]inbox.Note{}
	const total = inbox.MaxRecentNotes + 3
	for i := 1; i <= total; i++ {
		notes[i], _ = mustAddNote(t, f.s, c, alice, fmt.Sprintf("note %d", i), t0.Add(time.Duration(i)*time.Minute))
	}
	at := t0.Add(time.Hour)
	left := []int{}
	for i := total; i >= 1; i-- {
		left = append(left, i)
	}
	for _, del := range []int{1, total, total - 2, 2, total - 1} {
		mustDeleteNote(t, f.s, notes[del], at)
		at = at.Add(time.Minute)
		left = slices.DeleteFunc(left, func(i int) bool { return i == del })
		var want []inbox.Note
		for _, i := range left {
			want = append(want, notes[i])
		}
		wantNotes(t, f.s, domainA, c.ID, want...)
		got, _, err := f.s.RecentHistory(t.Context(), domainA, c.ID, inbox.MaxRecentNotes, 0)
		if err != nil {
			t.Fatalf("RecentHistory: %v", err)
		}
		if diff := cmp.Diff(head(want, inbox.MaxRecentNotes), got, cmpOpts); diff != "" {
			t.Errorf("RecentHistory notes after deleting note %d (-want +got):\n%s", del, diff)
		}
	}
}

// testNoteDeleteFnError: fn's error comes back so that errors.Is finds
// it (a refusal of the domain included), and nothing is deleted or
// logged.
func testNoteDeleteFnError(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	n, noted := mustAddNoteMentioning(t, f.s, c, alice, "@bob first", t0.Add(time.Minute), bob)
	errMine := errors.New("mine")
	err := f.s.DeleteNote(t.Context(), domainA, c.ID, n.ID, func(x inbox.Note) (inbox.Activity, error) {
		ev, _ := x.Delete(alice, t0.Add(2*time.Minute))
		return ev, errMine
	})
	wantErr(t, "DeleteNote(fn's own error)", err, errMine)
	err = f.s.DeleteNote(t.Context(), domainA, c.ID, n.ID, func(x inbox.Note) (inbox.Activity, error) {
		return x.Delete(bob, t0.Add(2*time.Minute))
	})
	wantErr(t, "DeleteNote(not the author)", err, inbox.ErrInvalid)
	err = f.s.DeleteNote(t.Context(), domainA, c.ID, n.ID, func(x inbox.Note) (inbox.Activity, error) {
		ev, err := x.Delete(alice, t0.Add(2*time.Minute))
		ev.ID = ""
		return ev, err
	})
	wantErr(t, "DeleteNote(entry without id)", err, inbox.ErrInvalid)
	wantNote(t, f.s, n)
	wantNotes(t, f.s, domainA, c.ID, n)
	wantActivity(t, f.s, domainA, c.ID, noted, created)
	wantMentions(t, f.s, domainA, bob, false, inbox.NewMention(c, n, bob))
}

// testNoteDeleteNotFound: a note that does not exist under the keys is
// ErrNotFound, fn is not called, and the note under other keys stays.
func testNoteDeleteNotFound(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	ibB := mustCreateInbox(t, f.s, domainB, "support", "Support")
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	c2, _ := mustCreateConversation(t, f.s, f.ib, root(2), t0)
	mustCreateConversation(t, f.s, ibB, root(1), t0)
	n, _ := mustAddNoteMentioning(t, f.s, c, alice, "@bob first", t0.Add(time.Minute), bob)
	for _, k := range [][3]string{
		{domainA, c.ID, "no-such-note"},
		{domainA, c2.ID, n.ID},
		{domainB, c.ID, n.ID},
		{domainA, "c-unknown", n.ID},
	} {
		err := f.s.DeleteNote(t.Context(), k[0], k[1], k[2], func(x inbox.Note) (inbox.Activity, error) {
			t.Errorf("DeleteNote%v called fn with %+v", k, x)
			return x.Delete(x.Author, t0.Add(2*time.Minute))
		})
		wantErr(t, fmt.Sprintf("DeleteNote%v", k), err, inbox.ErrNotFound)
	}
	wantNote(t, f.s, n)
	wantMentions(t, f.s, domainA, bob, false, inbox.NewMention(c, n, bob))
}
