package syncer_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/syncer"
)

// slowStore moves the clock past the sync lease once, in the middle of a
// sync (after its first conversation is committed): a sync that ran longer
// than its lease.
type slowStore struct {
	*countingStore
	clock *clock
	once  atomic.Bool
}

func (s *slowStore) CreateConversation(ctx context.Context, c inbox.Conversation, ids []string, ev inbox.Activity, more ...inbox.Activity) error {
	err := s.countingStore.CreateConversation(ctx, c, ids, ev, more...)
	if err == nil && s.once.CompareAndSwap(false, true) {
		s.clock.Advance(10 * time.Minute)
	}
	return err
}

// TestLeaseLostIsNoMailboxProblem: a sync that outlives its lease cannot
// move the cursor (someone else may be syncing), but that is no failure of
// the mailbox. Before, the mailbox was recorded as failing (Problem
// "other", LastError, ErrorCount) until its next sync, so the admin saw a
// broken mailbox and desk would not send mention or SLA mails from it; and
// the mail announced stayed unsynced until the next push. Now the sync
// takes the lease again and finishes, and the mailbox shows no error.
func TestLeaseLostIsNoMailboxProblem(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		slow := &slowStore{countingStore: e.store, clock: e.clock}
		s := syncer.New(syncer.Options{Store: slow, Gmail: e.dialer, Holder: "slow", Topic: topic, Now: e.clock.Now})
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Slow", "slow@customer.example"))
		for _, n := range e.take() {
			if err := s.Notify(ctx, n.EmailAddress, n.HistoryID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Sync(ctx, "bob@example.com"); err != nil {
			t.Errorf("sync that outlived its lease = %v, want nil", err)
		}
		if !slow.once.Load() {
			t.Fatal("the sync committed nothing: the lease never ran out")
		}
		m, err := e.store.GetMailbox(ctx, "bob@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if m.Problem != "" || m.LastError != "" || m.ErrorCount != 0 {
			t.Errorf("mailbox recorded as failing: problem %q, error %q, count %d", m.Problem, m.LastError, m.ErrorCount)
		}
		if m.HistoryID < m.NotifiedHistoryID {
			t.Errorf("cursor %d left behind the announced %d", m.HistoryID, m.NotifiedHistoryID)
		}
		if m.LeaseHolder != "" {
			t.Errorf("lease still held by %q", m.LeaseHolder)
		}
	})
}

// TestSyncLongerThanItsLease: found by `postfach chaos`, a sync that took
// longer than the lease TTL (a backlog after a crash, read at Gmail's
// quota; a full resync of a large mailbox) lost its lease, could not move
// the cursor, tried once more from the same cursor, lost it again and
// failed; every later sync started over from the same cursor and the
// mailbox never caught up. The lease is now renewed while the sync runs.
func TestSyncLongerThanItsLease(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		// Gmail reads history slower than the lease lasts: every sync,
		// a replay too, outlasts it.
		var slow atomic.Bool
		e := newEnv(t, envOptions{store: store, wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if slow.Load() && strings.HasSuffix(r.URL.Path, "/history") {
					time.Sleep(1500 * time.Millisecond)
				}
				h.ServeHTTP(w, r)
			})
		}})
		slow.Store(true)
		ctx := context.Background()
		const ttl = time.Second
		s := syncer.New(syncer.Options{Store: e.store, Gmail: e.dialer, Holder: "long", Topic: topic, Now: e.clock.Now, LeaseTTL: ttl})
		for i := range 5 {
			id := fmt.Sprintf("long-%d@customer.example", i)
			if _, err := e.sim.Deliver(mail("c@customer.example", "support@example.com", "", "Long "+id, id), "bob@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range e.take() {
			if err := s.Notify(ctx, n.EmailAddress, n.HistoryID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Sync(ctx, "bob@example.com"); err != nil {
			t.Fatalf("a sync longer than its lease: %v", err)
		}
		m, err := e.store.GetMailbox(ctx, "bob@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if m.HistoryID < m.NotifiedHistoryID || m.LastError != "" || m.LeaseHolder != "" {
			t.Fatalf("mailbox: cursor %d, notified %d, error %q, lease %q", m.HistoryID, m.NotifiedHistoryID, m.LastError, m.LeaseHolder)
		}
	})
}
