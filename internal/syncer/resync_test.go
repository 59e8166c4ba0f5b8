package syncer_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/postfach/postfach/internal/inbox"
)

// TestFullResyncResumes: found by `postfach chaos`, where most of the time
// to converge was one mailbox's full resync starting over after every
// crash. A full resync stopped midway (here: the instance's context ends
// after 150 of 250 messages were read) carries on after the last chunk it
// committed: the next sync reads only the rest, and the result is whole.
func TestFullResyncResumes(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		const total, stopAfter = 250, 150
		var gets atomic.Int64 // bob's messages.get
		var crash atomic.Pointer[context.CancelFunc]
		e := newEnv(t, envOptions{store: store, wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && r.Header.Get("Authorization") == "Bearer tok-bob@example.com" &&
					strings.Contains(r.URL.Path, "/messages/") {
					if n := gets.Add(1); n == stopAfter {
						if c := crash.Load(); c != nil {
							(*c)()
						}
					}
				}
				h.ServeHTTP(w, r)
			})
		}})
		ctx := context.Background()
		for i := range total {
			id := fmt.Sprintf("old-%d@customer.example", i)
			if _, err := e.sim.Deliver(mail("c@customer.example", "support@example.com", "", "Old "+id, id), "bob@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		notes := e.take()
		// Gmail has forgotten bob's history: the next sync is a full resync.
		if err := e.sim.ExpireHistory("bob@example.com", notes[len(notes)-1].HistoryID); err != nil {
			t.Fatal(err)
		}
		if err := e.syncer.Notify(ctx, "bob@example.com", notes[len(notes)-1].HistoryID); err != nil {
			t.Fatal(err)
		}
		gets.Store(0)
		dying, cancel := context.WithCancel(ctx)
		crash.Store(&cancel)
		if err := e.syncer.Sync(dying, "bob@example.com"); err == nil {
			t.Fatal("the interrupted resync reported success")
		}
		crash.Store(nil)
		first := gets.Load()
		m, err := e.store.GetMailbox(ctx, "bob@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if m.Resync.Start == 0 || m.Resync.After == "" {
			t.Fatalf("no progress kept after the interrupted resync: %+v", m.Resync)
		}
		// The lease of the "crashed" instance is released by its deferred
		// write; a new instance carries on.
		gets.Store(0)
		if err := e.newSyncer("instance-2").Sync(ctx, "bob@example.com"); err != nil {
			t.Fatal(err)
		}
		again := gets.Load()
		n, err := e.store.CountConversations(ctx, inbox.ConversationQuery{TenantID: "example.com", InboxID: "support"})
		if err != nil || n != total {
			t.Fatalf("support holds %d conversations (%v), want %d", n, err, total)
		}
		if m, err = e.store.GetMailbox(ctx, "bob@example.com"); err != nil || m.Resync.Start != 0 || m.HistoryID == 0 {
			t.Fatalf("after the resync: cursor %d, progress %+v, %v", m.HistoryID, m.Resync, err)
		}
		// The first sync committed at least one chunk of 100 before it
		// stopped; the second reads only what follows it.
		if again > total-100 {
			t.Errorf("the resumed resync read %d messages (the interrupted one %d), want at most %d: it started over", again, first, total-100)
		}
		t.Logf("messages read: %d before the stop, %d after", first, again)
	})
}
