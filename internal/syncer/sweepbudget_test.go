package syncer_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestSweepStopsWhenItsTimeEnds: the scheduled sweep runs out of time
// (its task's budget) in the middle of a mailbox's history. It returns
// what it synced without an error; the mailbox it was in records no
// failure (an admin would see "context deadline exceeded" on a healthy
// mailbox) and no sync, so the next sweep still finds it quiet and syncs
// it, losing nothing.
func TestSweepStopsWhenItsTimeEnds(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		var cut atomic.Pointer[context.CancelFunc]
		e := newEnv(t, envOptions{store: store, wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/history") {
					if c := cut.Swap(nil); c != nil {
						(*c)() // the budget ends while this call is in flight
					}
				}
				h.ServeHTTP(w, r)
			})
		}})
		for i := range 3 {
			e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", fmt.Sprintf("Quiet %d", i), fmt.Sprintf("quiet%d@customer.example", i)))
		}
		e.take() // every push is lost: only the sweep finds the mail
		e.clock.Advance(time.Hour)

		ctx, cancel := context.WithCancel(context.Background())
		cut.Store(&cancel)
		n, err := e.syncer.Sweep(ctx, 15*time.Minute)
		if err != nil {
			t.Fatalf("sweep out of time = %d, %v; want what it did and no error", n, err)
		}
		if n >= len(mailboxes) {
			t.Fatalf("sweep synced %d mailboxes although its time ended during the first", n)
		}
		for _, m := range mailboxes {
			got, err := e.store.GetMailbox(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastError != "" || got.ErrorCount != 0 || got.LeaseHolder != "" {
				t.Errorf("%s after the cut sweep: error %q (%d), lease %q; want no failure recorded and the lease released", m, got.LastError, got.ErrorCount, got.LeaseHolder)
			}
		}
		n, err = e.syncer.Sweep(context.Background(), 15*time.Minute)
		if err != nil || n == 0 {
			t.Fatalf("next sweep = %d, %v; want the mailboxes left", n, err)
		}
		e.check(map[string]int{"support": 3})
	})
}
