package syncer_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/inbox"
)

// closeAs sets the conversation closed as a teammate's action does: the
// store write, then the labels.
func (e *env) closeAs(actor string, c inbox.Conversation) inbox.Conversation {
	e.t.Helper()
	ctx := context.Background()
	ev, err := c.SetStatus(actor, inbox.StatusClosed, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.UpdateConversation(ctx, c, ev); err != nil {
		e.t.Fatal(err)
	}
	if err := e.syncer.ConversationChanged(ctx, c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// lateSync delivers the notifications so far only after the echo window
// has passed, as after a crash, a lease held by a killed instance or a
// backlog: a label then reads as whatever it says, not as a recent echo.
func (e *env) lateSync() {
	e.t.Helper()
	e.clock.Advance(5 * time.Minute)
	e.settle()
}

// wantClosedByTeammate asserts that the conversation stayed as the
// teammate left it: closed, by them, and nobody's label changed it since.
func (e *env) wantClosedByTeammate(id, teammate string, version int64) {
	e.t.Helper()
	c, err := e.store.GetConversation(context.Background(), "example.com", id)
	if err != nil {
		e.t.Fatal(err)
	}
	if c.Status != inbox.StatusClosed || c.UpdatedBy != teammate || c.Version != version {
		acts, _ := e.store.ListActivity(context.Background(), "example.com", id, 20)
		for _, a := range acts {
			e.t.Logf("  v%d %s %s %s→%s", a.Version, a.Actor, a.Kind, a.From, a.To)
		}
		e.t.Fatalf("conversation is %s by %q at version %d, want closed by %s at %d: an old label write was read as a member's change",
			c.Status, c.UpdatedBy, c.Version, teammate, version)
	}
	e.check(map[string]int{"support": 1})
}

// TestLateMirrorIsNoUserChange: found by `postfach chaos` on Firestore
// (conversations a teammate closed were reopened "by" a member's mailbox,
// though nobody touched them in Gmail). A mirror writes the state it was
// handed; one that lands after a newer state's (held up by Gmail's 429
// backoff, or the sweep writing an action's owed labels from the snapshot
// it listed) left the older labels on the threads for good. The sync read
// them back as a member's change once its echo window had passed, which a
// crash or a backlog makes likely. A mirror now reads the conversation
// again after writing and, when it moved on meanwhile, writes its labels.
func TestLateMirrorIsNoUserChange(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Late", "late@customer.example"))
		e.settle()
		open := e.conv(support, "late@customer.example")
		closed := e.closeAs("alice@example.com", open)
		// The mirror of the state before, landing last.
		if err := e.syncer.ConversationChanged(ctx, open); err != nil {
			t.Fatal(err)
		}
		e.lateSync()
		e.wantClosedByTeammate(open.ID, "alice@example.com", closed.Version)
	})
}

// TestLabelsOfNewMailRaceAnAction: the same, for the labels the sync gives
// a new mail (batched after the mail's conversation was read): a teammate
// who closes the conversation between that read and the batch's write saw
// her labels overwritten on the new mail, and once the echo window had
// passed, the sync reopened the conversation in the member's name.
func TestLabelsOfNewMailRaceAnAction(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		var e *env
		var armed, fired atomic.Bool
		var closedAt atomic.Int64 // the version alice's close made
		var id string
		e = newEnv(t, envOptions{store: store, wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// carol's sync labels the new mail: ann closes first.
				if armed.Load() && r.Method == http.MethodPost && r.Header.Get("Authorization") == "Bearer tok-carol@example.com" &&
					strings.Contains(r.URL.Path, "/messages/") && strings.HasSuffix(r.URL.Path, "odify") && fired.CompareAndSwap(false, true) {
					c, err := e.store.GetConversation(r.Context(), "example.com", id)
					if err != nil {
						t.Error(err)
					} else {
						closedAt.Store(e.closeAs("alice@example.com", c).Version)
					}
				}
				h.ServeHTTP(w, r)
			})
		}})
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Race", "race@customer.example"))
		e.settle()
		id = e.conv(support, "race@customer.example").ID
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Re: Race", "race2@customer.example", "race@customer.example"))
		armed.Store(true)
		var carols, others []gmailsim.Notification
		for _, n := range e.take() {
			if n.EmailAddress == "carol@example.com" {
				carols = append(carols, n)
			} else {
				others = append(others, n)
			}
		}
		e.push(e.syncer, carols)
		e.mu.Lock()
		e.notes = append(others, e.notes...)
		e.mu.Unlock()
		if !fired.Load() {
			t.Fatal("carol's sync wrote no labels on the new mail")
		}
		e.lateSync()
		e.wantClosedByTeammate(id, "alice@example.com", closedAt.Load())
	})
}

// TestSyncChangeLabelsSurviveAFailedMirror: found by `postfach chaos` on
// Firestore (a thread in one member's mailbox kept Pending for good while
// its conversation was open). The sync reopened a pending conversation on a
// customer's reply, and its label mirror failed in one mailbox (Gmail
// failing past the client's retries; a crash does the same). Nothing wrote
// those labels again: the retried sync finds the mail recorded and labels
// only the new message, so the thread's older messages kept the old state.
// A change the sync makes now owes its labels as a sidebar action does
// (inbox.Flow.LabelsOwed), and the sweep writes them.
func TestSyncChangeLabelsSurviveAFailedMirror(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		var down atomic.Bool // Gmail fails every threads.modify in carol's mailbox
		e := newEnv(t, envOptions{store: store, wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if down.Load() && r.Header.Get("Authorization") == "Bearer tok-carol@example.com" && strings.Contains(r.URL.Path, "/threads/") && r.Method == http.MethodPost {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusInternalServerError)
					_, _ = w.Write([]byte(`{"error":{"code":500,"message":"Backend Error","errors":[{"reason":"backendError"}]}}`))
					return
				}
				h.ServeHTTP(w, r)
			})
		}})
		ctx := context.Background()
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Wait", "wait@customer.example"))
		e.settle()
		c := e.conv(support, "wait@customer.example")
		ev, err := c.SetStatus("alice@example.com", inbox.StatusPending, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.UpdateConversation(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
		if err := e.syncer.ConversationChanged(ctx, c); err != nil {
			t.Fatal(err)
		}
		e.settle()

		// The customer answers: the sync reopens it, and its mirror fails
		// in carol's mailbox. The syncs are retried until they pass.
		down.Store(true)
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Re: Wait", "wait2@customer.example", "wait@customer.example"))
		for round := 0; ; round++ {
			notes := e.take()
			if len(notes) == 0 {
				break
			}
			if round == 10 {
				t.Fatalf("notifications still coming: %v", notes)
			}
			failed := false
			for _, n := range notes {
				if err := e.syncer.Notify(ctx, n.EmailAddress, n.HistoryID); err != nil {
					t.Fatal(err)
				}
				if err := e.syncer.Sync(ctx, n.EmailAddress); err != nil {
					failed = true
				}
			}
			if failed {
				down.Store(false) // Gmail is back; the pushes come again
				e.mu.Lock()
				e.notes = append(e.notes, notes...)
				e.mu.Unlock()
			}
		}
		if c = e.conv(support, "wait@customer.example"); c.Status != inbox.StatusOpen {
			t.Fatalf("after the customer's answer: %s", c.Status)
		}

		// The sweep (Cloud Scheduler's task) pays what the sync owes.
		e.clock.Advance(time.Minute)
		sweep := desk.New(desk.Options{Store: e.store, Now: e.clock.Now, Relabel: e.syncer.ConversationChanged})
		if _, err := sweep.SweepDue(ctx); err != nil {
			t.Fatal(err)
		}
		e.settle()
		e.check(map[string]int{"support": 1})
	})
}

// TestMirrorPaysItsDebt: a change whose labels were written everywhere owes
// nothing: the sweep writes no label again. (Every change the sync makes
// owes its labels until its mirror is done; without paying, the sweep
// wrote the labels of every change a second time, and in the 10,000-mail
// chaos run on Firestore a sweep outlasted its 3-minute deadline.)
func TestMirrorPaysItsDebt(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Paid", "paid@customer.example"))
		e.settle()
		// Bob answers: pending, mirrored to every mailbox.
		e.send("bob@example.com", mail("Bob <bob@example.com>", "c@customer.example", "support@example.com", "Re: Paid", "paid-b@example.com", "paid@customer.example"))
		e.settle()
		c := e.conv(support, "paid@customer.example")
		if c.Status != inbox.StatusPending {
			t.Fatalf("after bob's answer: %s", c.Status)
		}
		if !c.Flow.LabelsOwed.After(c.UpdatedAt) {
			t.Fatalf("the sync's change owed no labels: owed %v, updated %v", c.Flow.LabelsOwed, c.UpdatedAt)
		}
		e.clock.Advance(time.Minute)
		due, err := e.store.ListDue(ctx, e.clock.Now(), 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range due {
			t.Errorf("%s due at %v after a mirror that wrote every label (labels owed %v)", d.ID, d.DueAt, d.Flow.LabelsOwed)
		}
		modifies := func() (n int) {
			for _, m := range mailboxes {
				_, reqs := e.sim.Usage(m)
				n += reqs["threads.modify"] + reqs["messages.modify"] + reqs["messages.batchModify"]
			}
			return n
		}
		before := modifies()
		sweep := desk.New(desk.Options{Store: e.store, Now: e.clock.Now, Relabel: e.syncer.ConversationChanged})
		if _, err := sweep.SweepDue(ctx); err != nil {
			t.Fatal(err)
		}
		if n := modifies() - before; n != 0 {
			t.Errorf("the sweep wrote labels %d times, want none", n)
		}
		e.check(map[string]int{"support": 1})
	})
}

// TestEchoBehindABusyHistory: found by TestConcurrentActions under load (a
// version no member made, in a race of 50 members on one conversation). A
// status label the mirror wrote comes back while the conversation has
// already left that status and the newer state's own mirror is still on
// its way; it is an echo if the conversation left that status within the
// echo window. The sync looked for that change only among the newest
// inbox.MaxRecentActivity entries, so behind a dozen tags and notes it
// read its own label as a member moving the thread, and set the
// conversation back in the mailbox owner's name.
func TestEchoBehindABusyHistory(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Busy", "busy@customer.example"))
		e.settle()
		c := e.conv(support, "busy@customer.example")
		write := func(ev inbox.Activity, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.UpdateConversation(ctx, c, ev); err != nil {
				t.Fatal(err)
			}
		}
		// Pending, with its labels written: their echo is held back.
		write(c.SetStatus("alice@example.com", inbox.StatusPending, e.clock.Now()))
		if err := e.syncer.ConversationChanged(ctx, c); err != nil {
			t.Fatal(err)
		}
		echo := e.take()
		// Open again (its mirror not yet run), then more changes than the
		// card's recent history holds, none of which moves a label.
		e.clock.Advance(time.Second)
		write(c.SetStatus("bob@example.com", inbox.StatusOpen, e.clock.Now()))
		for i := range inbox.MaxRecentActivity + 2 {
			e.clock.Advance(time.Second)
			write(c.AddTag("carol@example.com", fmt.Sprintf("tag-%d", i), e.clock.Now()))
		}
		// The echo arrives within the window.
		e.push(e.syncer, echo)
		got := e.conv(support, "busy@customer.example")
		if got.Status != inbox.StatusOpen || got.Version != c.Version {
			acts, _ := e.store.ListActivity(ctx, "example.com", c.ID, 5)
			for _, a := range acts {
				t.Logf("  v%d %s %s %s→%s", a.Version, a.Actor, a.Kind, a.From, a.To)
			}
			t.Fatalf("conversation is %s at version %d, want open at %d: the mirror's own Pending label was read as a member's change", got.Status, got.Version, c.Version)
		}
	})
}
