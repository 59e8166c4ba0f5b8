package syncer_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/exportfile"
	"github.com/postfach/postfach/internal/firestoredb"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/sqlitedb"
)

// TestSyncAfterImport: a tenant exported from one deployment (SQLite) and
// imported into another (SQLite, or Firestore: a move) syncs on from the
// exported history cursors. Mail that arrived after the export, while no
// one synced, is recorded once; mail recorded before is not recorded
// again, whether Gmail still has the history since the cursor (an
// incremental sync) or has forgotten it (a full resync, deduplicated by
// the Message-ID index that came with the export); the teammates' work
// stays. The import renews every watch at once: the export carries no
// watch expiration.
func TestSyncAfterImport(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		for _, expire := range []bool{false, true} {
			t.Run(fmt.Sprintf("history_expired=%t", expire), func(t *testing.T) {
				ctx := context.Background()
				e := newEnv(t, envOptions{})
				e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Before", "before@customer.example"))
				e.deliverToGroup(sales, mail("s@customer.example", "sales@example.com", "", "Quote", "quote@customer.example"))
				e.settle()
				c := e.conv(support, "before@customer.example")
				ev, err := c.Assign(support, "alice@example.com", "carol@example.com", e.clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				if err := e.store.UpdateConversation(ctx, c, ev); err != nil {
					t.Fatal(err)
				}
				n, _ := inbox.NewNote(c, "carol@example.com", "Called them", e.clock.Now())
				if err := e.store.AddNote(ctx, n, c.NoteActivity(n)); err != nil {
					t.Fatal(err)
				}
				if err := e.syncer.ConversationChanged(ctx, c); err != nil {
					t.Fatal(err)
				}
				e.settle()

				var file bytes.Buffer
				if _, err := exportfile.Write(ctx, e.store, "example.com", inbox.ExportOptions{}, "test", e.clock.Now(), &file, nil); err != nil {
					t.Fatal(err)
				}
				// The old deployment is gone: mail arrives, nobody hears
				// of it.
				e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Re: Before", "again@customer.example", "before@customer.example"))
				e.deliverToGroup(support, mail("n@customer.example", "support@example.com", "", "After", "after@customer.example"))
				notes := e.take()
				if expire {
					for _, m := range mailboxes {
						if err := e.sim.ExpireHistory(m, notes[len(notes)-1].HistoryID); err != nil {
							t.Fatal(err)
						}
					}
				}

				dst := openStore(t, store, "imported")
				if _, err := exportfile.Import(ctx, dst, &file, nil); err != nil {
					t.Fatalf("import: %v", err)
				}
				e.store = &countingStore{Store: dst}
				e.syncer = e.newSyncer("instance-2")
				due, err := dst.ListMailboxesWatchExpiringBefore(ctx, e.clock.Now(), 10)
				if err != nil || len(due) != len(mailboxes) {
					t.Errorf("mailboxes due for a watch after import: %d (%v), want %d", len(due), err, len(mailboxes))
				}
				res, err := e.syncer.RenewWatches(ctx, 24*time.Hour)
				if err != nil || res.Renewed != len(mailboxes) {
					t.Errorf("RenewWatches after import: %+v, %v; want %d renewed", res, err, len(mailboxes))
				}
				for _, m := range mailboxes {
					if err := e.syncer.Sync(ctx, m); err != nil {
						t.Fatalf("sync %s after import: %v", m, err)
					}
				}
				e.settle()

				e.check(map[string]int{"support": 2, "sales": 1})
				got := e.conv(support, "before@customer.example")
				if got.Assignee != "carol@example.com" || got.Version < c.Version {
					t.Errorf("conversation after import and sync: %+v; want carol's, at version %d or later", got, c.Version)
				}
				acts, err := dst.ListActivity(ctx, "example.com", c.ID, 100)
				if err != nil {
					t.Fatal(err)
				}
				created := slices.IndexFunc(acts, func(a inbox.Activity) bool { return a.Kind == inbox.ActCreated })
				if created < 0 || slices.ContainsFunc(acts[created+1:], func(a inbox.Activity) bool { return a.Kind == inbox.ActCreated }) {
					t.Errorf("activity after import and sync holds %d created entries, want 1: %v", created, acts)
				}
				if ns, err := dst.ListNotes(ctx, "example.com", c.ID, 10); err != nil || len(ns) != 1 {
					t.Errorf("notes after import and sync: %v, %v", ns, err)
				}
				// The reply that came while nobody synced is recorded with
				// its conversation.
				for _, id := range []string{"again@customer.example", "before@customer.example"} {
					if found, err := dst.FindConversationsByMessageID(ctx, "example.com", id); err != nil || len(found) != 1 || found[0].ID != c.ID {
						t.Errorf("%s found in %v (%v), want %s", id, found, err, c.ID)
					}
				}
				e.conv(support, "after@customer.example")
			})
		}
	})
}

// openStore opens an empty store of kind ("sqlite" or "firestore"), closed
// when the test ends; name tells its data apart.
func openStore(t testing.TB, kind, name string) inbox.Store {
	t.Helper()
	ctx := context.Background()
	if kind == "firestore" {
		fs, err := firestoredb.OpenNamespace(ctx, "postfach-test", fmt.Sprintf("%s-%d", name, time.Now().UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fs.Close() })
		return fs
	}
	lite, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), name+".db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	return lite
}
