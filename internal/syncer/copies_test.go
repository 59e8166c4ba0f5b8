package syncer_test

import (
	"context"
	"testing"
)

// TestCopiesWriteNothing: a group mail reaches every member's mailbox; the
// first sync records it, and the others, which find its own Message-ID
// recorded, only link and label their copies: no AppendMessage, whose
// transaction on the one conversation every copy would otherwise take at
// once (on Firestore they abort each other and wait out backoffs, which
// made the 10,000-mail chaos run fall behind). A customer's reply is
// appended once, by the first mailbox that syncs it.
func TestCopiesWriteNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		syncAll := func() {
			t.Helper()
			notes := e.take()
			for _, m := range []string{"alice@example.com", "bob@example.com", "carol@example.com"} {
				for _, n := range notes {
					if n.EmailAddress == m {
						if err := e.syncer.Notify(ctx, m, n.HistoryID); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err := e.syncer.Sync(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
		}
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Copies", "copies@customer.example"))
		syncAll()
		if n := e.store.appends.Load(); n != 0 {
			t.Errorf("the copies of a new mail made %d AppendMessage calls, want 0", n)
		}
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Re: Copies", "copies2@customer.example", "copies@customer.example"))
		syncAll()
		if n := e.store.appends.Load(); n != 1 {
			t.Errorf("a reply seen in 3 mailboxes made %d AppendMessage calls, want 1", n)
		}
		e.settle()
		e.check(map[string]int{"support": 1})
	})
}
