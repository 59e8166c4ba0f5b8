package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

// These subtests need transaction isolation (serialisable
// read-check-write). Contention is part of the contract: a contended writer
// gets nil or a kind the method documents (ErrConflict, ErrAlreadyExists,
// ErrLeaseHeld, and ErrUnavailable where a subtest allows it), never the
// backend's own error (a raw Firestore Aborted, a raw SQLITE_BUSY).

func concurrentCases() []testCase {
	return []testCase{
		{"ClaimOneWins", testConcurrentClaimOneWins},
		{"UpdateOneWins", testConcurrentUpdateOneWins},
		{"CreateOneWins", testConcurrentCreateOneWins},
		{"NotesAllKept", testConcurrentNotesAllKept},
		{"AppendOnce", testConcurrentAppendOnce},
		{"MailboxLeaseOneWins", testConcurrentMailboxLeaseOneWins},
		{"MailboxUpdatesAllApplied", testConcurrentMailboxUpdatesAllApplied},
		{"TenantUpdatesAllApplied", testConcurrentTenantUpdatesAllApplied},
		{"InboxUpdatesAllApplied", testConcurrentInboxUpdatesAllApplied},
		{"RecentNotesAllKept", testConcurrentRecentNotesAllKept},
		{"NoteEditWithNotes", testConcurrentNoteEditWithNotes},
		{"ContendedSavedOrUnavailable", testConcurrentContendedSavedOrUnavailable},
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
	wantCounts(t, f.s, domainA, "support")
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
		if i == w {
			wantFound(t, f.s, domainA, id, convs[w])
		} else {
			wantFound(t, f.s, domainA, id) // the loser indexed nothing
		}
	}
	wantCounts(t, f.s, domainA, "support", inbox.Counts{Open: 1, Unassigned: 1})
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

// testConcurrentAppendOnce: the same mail, seen through N mailboxes at
// once, is recorded once. It reopens the conversation, so every copy
// carries an activity entry computed from the same version: the winner
// writes it, the others learn that the mail is recorded.
func testConcurrentAppendOnce(t *testing.T, h Harness) {
	f := newFixture(t, h)
	base, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	pending := mustChange(t, f.s, &base, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus(bob, inbox.StatusPending, t0.Add(time.Minute))
	})

	m := reply(customer, "reply-1@mail.example", root(1), root(1), t0.Add(time.Hour))
	convs := make([]inbox.Conversation, writers)
	ids := make([][]string, writers)
	events := make([]*inbox.Activity, writers)
	for i := range writers {
		c := base
		ids[i], events[i] = receive(&c, f.ib, m, t0.Add(time.Hour+time.Duration(i)*time.Second))
		if events[i] == nil {
			t.Fatal("fixture: the reply did not reopen the conversation")
		}
		convs[i] = c
	}
	errs := race(func(i int) error {
		return f.s.AppendMessage(t.Context(), convs[i], ids[i], events[i])
	})
	w := oneWins(t, "AppendMessage", errs, inbox.ErrAlreadyExists)

	wantConversation(t, f.s, convs[w])
	wantActivity(t, f.s, domainA, base.ID, *events[w], pending, created)
	wantFound(t, f.s, domainA, "reply-1@mail.example", convs[w])
	wantCounts(t, f.s, domainA, "support")
}

// testConcurrentMailboxLeaseOneWins: N instances try to take a free lease
// at once; exactly one gets it, the others see ErrLeaseHeld.
func testConcurrentMailboxLeaseOneWins(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	mb := mustCreateMailbox(t, s, newMailbox(domainA, "support", inbox.MailboxShared))

	got := make([]inbox.Mailbox, writers)
	errs := race(func(i int) error {
		m, err := s.UpdateMailbox(t.Context(), mb.Address, func(m *inbox.Mailbox) error {
			return m.Acquire(fmt.Sprintf("instance-%d", i), t0, time.Minute)
		})
		got[i] = m
		return err
	})
	w := oneWins(t, "UpdateMailbox(Acquire)", errs, inbox.ErrLeaseHeld)

	if holder := fmt.Sprintf("instance-%d", w); got[w].LeaseHolder != holder {
		t.Errorf("the winner's UpdateMailbox returned lease holder %q, want %q", got[w].LeaseHolder, holder)
	}
	wantMailbox(t, s, got[w])
}

// testConcurrentMailboxUpdatesAllApplied: concurrent read-modify-writes of
// one mailbox lose nothing: each sees the others' results.
func testConcurrentMailboxUpdatesAllApplied(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	mb := mustCreateMailbox(t, s, newMailbox(domainA, "support", inbox.MailboxShared))

	errs := race(func(i int) error {
		_, err := s.UpdateMailbox(t.Context(), mb.Address, func(m *inbox.Mailbox) error {
			m.ErrorCount++
			m.NotifiedHistoryID += 10
			labels := make(map[string]string, len(m.Labels)+1)
			maps.Copy(labels, m.Labels)
			labels[fmt.Sprintf("label-%d", i)] = fmt.Sprintf("Label_%d", i)
			m.Labels = labels
			return nil
		})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("UpdateMailbox %d: %v", i, err)
		}
	}
	want := mb
	want.ErrorCount = writers
	want.NotifiedHistoryID = 10 * writers
	want.Labels = map[string]string{}
	for i := range writers {
		want.Labels[fmt.Sprintf("label-%d", i)] = fmt.Sprintf("Label_%d", i)
	}
	wantMailbox(t, s, want)
}

// testConcurrentTenantUpdatesAllApplied: concurrent read-modify-writes of
// one tenant lose nothing: every admin added is kept.
func testConcurrentTenantUpdatesAllApplied(t *testing.T, h Harness) {
	s := newStore(t, h)
	want := mustCreateTenant(t, s, domainA)
	errs := race(func(i int) error {
		_, err := s.UpdateTenant(t.Context(), domainA, func(tn *inbox.Tenant) error {
			tn.Admins = append(slices.Clone(tn.Admins), fmt.Sprintf("admin-%d@%s", i, domainA))
			return nil
		})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("UpdateTenant %d: %v", i, err)
		}
	}
	got, err := s.GetTenant(t.Context(), domainA)
	if err != nil {
		t.Fatalf("GetTenant: %v", err)
	}
	for i := range writers {
		want.Admins = append(want.Admins, fmt.Sprintf("admin-%d@%s", i, domainA))
	}
	// The order of the admins is the order the updates committed in.
	slices.Sort(got.Admins)
	slices.Sort(want.Admins)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetTenant after concurrent updates (-want +got):\n%s", diff)
	}
}

// testConcurrentInboxUpdatesAllApplied: concurrent read-modify-writes of
// one inbox lose nothing: every member added is kept.
func testConcurrentInboxUpdatesAllApplied(t *testing.T, h Harness) {
	f := newFixture(t, h)
	errs := race(func(i int) error {
		_, err := f.s.UpdateInbox(t.Context(), domainA, f.ib.ID, func(ib *inbox.Inbox) error {
			ib.Members = append(slices.Clone(ib.Members), inbox.Member{Email: fmt.Sprintf("agent-%d@%s", i, domainA), Role: inbox.RoleAgent})
			return nil
		})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("UpdateInbox %d: %v", i, err)
		}
	}
	got, err := f.s.GetInbox(t.Context(), domainA, f.ib.ID)
	if err != nil {
		t.Fatalf("GetInbox: %v", err)
	}
	want := f.ib
	for i := range writers {
		want.Members = append(want.Members, inbox.Member{Email: fmt.Sprintf("agent-%d@%s", i, domainA), Role: inbox.RoleAgent})
	}
	// The members added come in the order the updates committed in.
	byEmail := func(a, b inbox.Member) int { return strings.Compare(a.Email, b.Email) }
	slices.SortFunc(got.Members, byEmail)
	slices.SortFunc(want.Members, byEmail)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetInbox after concurrent updates (-want +got):\n%s", diff)
	}
}

// testConcurrentRecentNotesAllKept: notes added at once, while the
// conversation changes, all reach RecentHistory: an adapter that keeps a
// copy of the newest entries must not let one note's write of it undo
// another's.
func testConcurrentRecentNotesAllKept(t *testing.T, h Harness) {
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
	changed := c
	ev, err := changed.SetStatus(bob, inbox.StatusPending, t0.Add(30*time.Second))
	if err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
	errs := race(func(i int) error {
		if i == 0 {
			if err := f.s.UpdateConversation(t.Context(), changed, ev); err != nil {
				return err
			}
		}
		return f.s.AddNote(t.Context(), notes[i], c.NoteActivity(notes[i]))
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	wantConversation(t, f.s, changed)
	got, acts, err := f.s.RecentHistory(t.Context(), domainA, c.ID, inbox.MaxRecentNotes, inbox.MaxRecentActivity)
	if err != nil {
		t.Fatalf("RecentHistory: %v", err)
	}
	newest := slices.Clone(notes)
	slices.Reverse(newest)
	if diff := cmp.Diff(head(newest, inbox.MaxRecentNotes), got, cmpOpts); diff != "" {
		t.Errorf("RecentHistory notes after concurrent notes (-want +got):\n%s", diff)
	}
	if want := min(writers+2, inbox.MaxRecentActivity); len(acts) != want {
		t.Errorf("RecentHistory: %d activity entries, want %d", len(acts), want)
	}
	wantRecent(t, f.s, domainA, c.ID)
	wantCounts(t, f.s, domainA, "support")
}

// testConcurrentNoteEditWithNotes: an edit of a note racing notes added to
// the same conversation loses nothing: every note is stored, the edit's
// text is what ListNotes and RecentHistory show, and every entry is
// logged. (An adapter that keeps a copy of the newest notes rewrites it
// for the edit and for each note.)
func testConcurrentNoteEditWithNotes(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	// The edited note is the newest, so that it is in the recent window
	// however many notes race it.
	edited, _ := mustAddNoteMentioning(t, f.s, c, alice, "@bob first", t0.Add(time.Hour), bob)
	notes := make([]inbox.Note, writers)
	for i := 1; i < writers; i++ {
		n, err := inbox.NewNote(c, bob, fmt.Sprintf("note %d", i), t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatalf("NewNote: %v", err)
		}
		n.Mentions = []string{carol}
		notes[i] = n
	}
	var mu sync.Mutex
	var editEv inbox.Activity
	errs := race(func(i int) error {
		if i == 0 {
			_, err := f.s.UpdateNote(t.Context(), domainA, c.ID, edited.ID, func(x *inbox.Note) (inbox.Activity, error) {
				ev, err := x.Edit(alice, "@bob @carol second", []string{carol}, t0.Add(2*time.Hour))
				mu.Lock()
				editEv = ev
				mu.Unlock()
				return ev, err
			})
			return err
		}
		return f.s.AddNote(t.Context(), notes[i], c.NoteActivity(notes[i]))
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if _, err := edited.Edit(alice, "@bob @carol second", []string{carol}, t0.Add(2*time.Hour)); err != nil {
		t.Fatalf("Edit: %v", err)
	}
	want := []inbox.Note{edited}
	for i := writers - 1; i >= 1; i-- {
		want = append(want, notes[i])
	}
	wantNotes(t, f.s, domainA, c.ID, want...) // and RecentHistory
	got, _, err := f.s.RecentHistory(t.Context(), domainA, c.ID, 1, 0)
	if err != nil {
		t.Fatalf("RecentHistory: %v", err)
	}
	if diff := cmp.Diff([]inbox.Note{edited}, got, cmpOpts); diff != "" {
		t.Errorf("RecentHistory newest note after the race (-want +got):\n%s", diff)
	}
	acts := mustListActivity(t, f.s, domainA, c.ID)
	if len(acts) != writers+2 || acts[0].ID != editEv.ID {
		t.Errorf("log after the race: %d entries starting %+v; want %d starting with the edit's", len(acts), acts[0], writers+2)
	}
	if got := mustListMentions(t, f.s, domainA, carol, true, 100); len(got) != writers {
		t.Errorf("carol has %d mentions after the race, want %d (one per note)", len(got), writers)
	}
}

// testConcurrentContendedSavedOrUnavailable: many notes and changes racing
// on one conversation each end in nil, ErrConflict (a change computed from
// a version another change moved on) or ErrUnavailable (the store could not
// commit in time), never in a backend's own error; and ErrUnavailable means
// nothing was saved: exactly the notes and the change that returned nil are
// stored, and RecentHistory agrees with the lists.
func testConcurrentContendedSavedOrUnavailable(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	const n = 3 * writers
	notes := make([]inbox.Note, n)
	for i := range n {
		note, err := inbox.NewNote(c, alice, fmt.Sprintf("note %d", i), t0.Add(time.Duration(i+1)*time.Minute))
		if err != nil {
			t.Fatalf("NewNote: %v", err)
		}
		notes[i] = note
	}
	changes := make([]inbox.Conversation, writers)
	events := make([]inbox.Activity, writers)
	for i := range writers {
		changes[i] = c
		ev, err := changes[i].AddTag(bob, fmt.Sprintf("tag-%d", i), t0.Add(30*time.Second))
		if err != nil {
			t.Fatalf("AddTag: %v", err)
		}
		events[i] = ev
	}
	errs := make([]error, n+writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n + writers {
		wg.Go(func() {
			<-start
			if i < n {
				errs[i] = f.s.AddNote(t.Context(), notes[i], c.NoteActivity(notes[i]))
			} else {
				errs[i] = f.s.UpdateConversation(t.Context(), changes[i-n], events[i-n])
			}
		})
	}
	close(start)
	wg.Wait()

	var saved []inbox.Note
	var logged []inbox.Activity
	changed := -1
	for i, err := range errs {
		switch {
		case err == nil && i < n:
			saved = append(saved, notes[i])
			logged = append(logged, c.NoteActivity(notes[i]))
		case err == nil && changed >= 0:
			t.Errorf("UpdateConversation: writers %d and %d both succeeded from one version", changed, i-n)
		case err == nil:
			changed = i - n
			logged = append(logged, events[i-n])
		case errors.Is(err, inbox.ErrUnavailable):
			t.Logf("writer %d: %v", i, err) // allowed: nothing was saved
		case i >= n && errors.Is(err, inbox.ErrConflict):
		default:
			t.Errorf("writer %d: got error %s, want nil, %v or %v", i, errKind(err), inbox.ErrConflict, inbox.ErrUnavailable)
		}
	}
	want := c
	if changed >= 0 {
		want = changes[changed]
	}
	wantConversation(t, f.s, want)
	got, err := f.s.ListNotes(t.Context(), domainA, c.ID, 100)
	if err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	slices.SortFunc(saved, func(a, b inbox.Note) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if diff := cmp.Diff(saved, got, cmpOpts); diff != "" {
		t.Errorf("ListNotes: the notes that returned nil, and only they, are stored (-want +got):\n%s", diff)
	}
	acts, err := f.s.ListActivity(t.Context(), domainA, c.ID, 100)
	if err != nil {
		t.Fatalf("ListActivity: %v", err)
	}
	if got, want := len(acts), len(logged)+1; got != want {
		t.Errorf("ListActivity: %d entries, want %d (one per write that returned nil, and the creation)", got, want)
	}
	wantRecent(t, f.s, domainA, c.ID)
	wantCounts(t, f.s, domainA, "support")
}
