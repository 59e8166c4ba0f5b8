package sqlitedb

import (
	"testing"
)

// undo takes back each migration from 0005 on, by number, so that a test
// can rewind a database to an older schema and watch the migrations run
// again. TestUndoCoversEveryMigration keeps it complete.
var undo = map[int][]string{
	5:  {`DROP TABLE inbox_counts`},
	6:  {`ALTER TABLE inboxes DROP COLUMN language`},
	7:  {`DROP TABLE user_prefs`},
	8:  {`DROP TABLE presence`},
	9:  {`DROP TABLE templates`},
	10: {`ALTER TABLE inboxes DROP COLUMN reply_from`},
	12: {`DROP INDEX conversations_due`, `ALTER TABLE conversations DROP COLUMN due_at`, `ALTER TABLE conversations DROP COLUMN flow`, `ALTER TABLE inboxes DROP COLUMN workflow`},
	13: {`DROP TABLE assign_state`, `ALTER TABLE activity DROP COLUMN via`},
	14: {`ALTER TABLE mailboxes DROP COLUMN resync_start`, `ALTER TABLE mailboxes DROP COLUMN resync_since`, `ALTER TABLE mailboxes DROP COLUMN resync_after`},
	15: {`ALTER TABLE mailboxes DROP COLUMN consent_state_expires`},
	11: {`DROP TABLE mentions`, `ALTER TABLE notes DROP COLUMN mentions`, `ALTER TABLE notes DROP COLUMN edited_at`},
}

// rewind takes s back to schema version to: every migration after it is
// undone, newest first.
func rewind(t *testing.T, s *Store, to int) {
	t.Helper()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for v := len(ms); v > to; v-- {
		for _, stmt := range undo[v] {
			if _, err := s.write.ExecContext(t.Context(), stmt); err != nil {
				t.Fatalf("undo %d: %s: %v", v, stmt, err)
			}
		}
	}
	if _, err := s.write.ExecContext(t.Context(), "PRAGMA user_version = "+itoa(int64(to))); err != nil {
		t.Fatal(err)
	}
}

// TestUndoCoversEveryMigration: a migration added without its undo would
// make the rewinding tests fail in a confusing way; this says what to do.
func TestUndoCoversEveryMigration(t *testing.T) {
	t.Parallel()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for v := 5; v <= len(ms); v++ {
		if len(undo[v]) == 0 {
			t.Errorf("migration %d has no undo statements in rewind_test.go's undo", v)
		}
	}
}
