package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// These subtests need transaction isolation: a backend without it (the
// Firestore emulator) skips the whole group with Harness.Skip["Concurrent"].

func concurrentCases() []testCase {
	return []testCase{
		{"UpdateOneWins", testConcurrentUpdateOneWins},
		{"CreateOneWins", testConcurrentCreateOneWins},
		{"NotesAllKept", testConcurrentNotesAllKept},
	}
}

// writers is how many goroutines race in each concurrent subtest.
const writers = 8

// race runs fn(i) on writers goroutines released at once and returns their
// errors, indexed by i.
func race(fn func(i int) error) []error {
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWins fails unless exactly one of errs is nil and all others are of kind
// loser; it returns the winner's index.
func oneWins(t *testing.T, op string, errs []error, loser error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("%s: writers %d and %d both succeeded, want exactly one", op, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, loser):
			t.Errorf("%s: writer %d: got error %s, want nil or %v", op, i, errKind(err), loser)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no writer succeeded, want exactly one", op)
	}
	return winner
}

// testConcurrentUpdateOneWins: N changes computed from the same version race;
// exactly one is written, the others get ErrConflict and leave no trace.
func testConcurrentUpdateOneWins(t *testing.T, h Harness) {
	f := newFixture(t, h)
	base, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)

	changed := make([]inbox.Conversation, writers)
	events := make([]inbox.Activity, writers)
	for i := range writers {
		c := base
		ev, err := c.AddTag(alice, fmt.Sprintf("tag-%d", i), t0.Add(time.Minute))
		if err != nil {
			t.Fatalf("AddTag: %v", err)
		}
		changed[i], events[i] = c, ev
	}
	errs := race(func(i int) error {
		return f.s.UpdateConversation(t.Context(), changed[i], events[i])
	})
	w := oneWins(t, "UpdateConversation", errs, inbox.ErrConflict)

	wantConversation(t, f.s, changed[w])
	wantActivity(t, f.s, domainA, base.ID, events[w], created)
}

// testConcurrentCreateOneWins: the same mail arriving through N mailboxes at
// once creates one conversation.
func testConcurrentCreateOneWins(t *testing.T, h Harness) {
	f := newFixture(t, h)
	convs := make([]inbox.Conversation, writers)
	events := make([]inbox.Activity, writers)
	for i := range writers {
		c, created := newConversation(t, f.ib, root(1), t0)
		c.Subject = fmt.Sprintf("copy %d", i)
		convs[i], events[i] = c, created
	}
	errs := race(func(i int) error {
		return f.s.CreateConversation(t.Context(), convs[i], []string{root(1), fmt.Sprintf("extra-%d@mail.example", i)}, events[i])
	})
	w := oneWins(t, "CreateConversation", errs, inbox.ErrAlreadyExists)

	wantConversation(t, f.s, convs[w])
	wantActivity(t, f.s, domainA, convs[w].ID, events[w])
	for i := range writers {
		id := fmt.Sprintf("extra-%d@mail.example", i)
		_, err := f.s.FindConversationByMessageID(t.Context(), domainA, id)
		if i == w && err != nil {
			t.Errorf("FindConversationByMessageID(%s) of the winner: %v", id, err)
		}
		if i != w && !errors.Is(err, inbox.ErrNotFound) {
			t.Errorf("FindConversationByMessageID(%s) of a loser: got error %s, want %v", id, errKind(err), inbox.ErrNotFound)
		}
	}
}

// testConcurrentNotesAllKept: notes never collide, so N concurrent notes are
// all stored, and the conversation's version does not move.
func testConcurrentNotesAllKept(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	notes := make([]inbox.Note, writers)
	for i := range writers {
		n, err := inbox.NewNote(c, alice, fmt.Sprintf("note %d", i), t0.Add(time.Duration(i+1)*time.Minute))
		if err != nil {
			t.Fatalf("NewNote: %v", err)
		}
		notes[i] = n
	}
	errs := race(func(i int) error {
		return f.s.AddNote(t.Context(), notes[i], c.NoteActivity(notes[i]))
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("AddNote %d: %v", i, err)
		}
	}
	got, err := f.s.ListNotes(t.Context(), domainA, c.ID, 100)
	if err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	if len(got) != writers {
		t.Errorf("ListNotes: got %d notes, want %d", len(got), writers)
	}
	if n := len(mustListActivity(t, f.s, domainA, c.ID)); n != writers+1 {
		t.Errorf("ListActivity: got %d entries, want %d", n, writers+1)
	}
	wantConversation(t, f.s, c)
}
