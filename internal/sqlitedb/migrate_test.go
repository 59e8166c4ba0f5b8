package sqlitedb

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

// TestMigrate0002 upgrades a database of schema 1, as shipped, holding one
// conversation indexed under two Message-IDs, and checks what 0002 made of
// it: the index is now per inbox, the inbox has the default settings and
// the conversation no first response time.
func TestMigrate0002(t *testing.T) {
	ctx := t.Context()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "postfach.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	convID := inbox.ConversationID("support", "root@mail.example")
	for _, stmt := range []string{
		ms[0].sql,
		"PRAGMA user_version = 1",
		`INSERT INTO tenants VALUES ('acme.example', 'Acme', 0)`,
		`INSERT INTO inboxes VALUES ('acme.example', 'support', 'support@acme.example', 'Support',
			'[{"email":"alice@acme.example","role":"admin"}]', 0)`,
		`INSERT INTO conversations VALUES ('acme.example', '` + convID + `', 'support', 'root@mail.example',
			'Hello', 'c@example.org', '', 'open', '', '[]', ` + itoa(millis(at)) + `, ` + itoa(millis(at)) + `, 1, ` + itoa(millis(at)) + `, '')`,
		`INSERT INTO message_ids VALUES ('acme.example', 'root@mail.example', '` + convID + `')`,
		`INSERT INTO message_ids VALUES ('acme.example', 'reply@mail.example', '` + convID + `')`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("build schema 1 database: %v\n%s", err, stmt)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := MustOpen(t, path)
	if v, err := s.schemaVersion(ctx); err != nil || v != len(ms) {
		t.Fatalf("schema version after Open = %d, %v; want %d", v, err, len(ms))
	}
	var fkProblems int
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM pragma_foreign_key_check").Scan(&fkProblems); err != nil || fkProblems != 0 {
		t.Errorf("foreign key check after migrating: %d problems, %v", fkProblems, err)
	}

	ib, err := s.GetInbox(ctx, "acme.example", "support")
	if err != nil {
		t.Fatalf("GetInbox: %v", err)
	}
	if diff := cmp.Diff(inbox.DefaultInboxSettings(), ib.Settings); diff != "" {
		t.Errorf("settings of an inbox of schema 1 (-want +got):\n%s", diff)
	}
	c, err := s.GetConversation(ctx, "acme.example", convID)
	if err != nil {
		t.Fatalf("GetConversation: %v", err)
	}
	if !c.FirstResponseAt.IsZero() {
		t.Errorf("FirstResponseAt of a conversation of schema 1 = %s, want zero", c.FirstResponseAt)
	}
	for _, id := range []string{"root@mail.example", "reply@mail.example"} {
		got, err := s.FindConversationsByMessageID(ctx, "acme.example", id)
		if err != nil || len(got) != 1 || got[0].ID != convID {
			t.Errorf("FindConversationsByMessageID(%s) = %v, %v; want %s", id, got, err, convID)
		}
	}
	// The migrated index entries are the inbox's: a replay is recognised.
	c.LastMessageAt = at.Add(time.Hour)
	err = s.AppendMessage(ctx, c, []string{"reply@mail.example"}, nil)
	if !errors.Is(err, inbox.ErrAlreadyExists) {
		t.Errorf("AppendMessage(migrated Message-ID): got %v, want %v", err, inbox.ErrAlreadyExists)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
