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
	old := inbox.DefaultInboxSettings()
	old.ReplyFrom = "" // 0010: inboxes stored before it reply from the member's own address
	if diff := cmp.Diff(old, ib.Settings); diff != "" {
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

// TestMigrate0003 upgrades a database of schema 2 holding a conversation
// with its Message-IDs, a note and activity, and a mailbox with expected
// label changes, and checks what 0003 made of it: the tenant has no admins,
// the mailbox no access and no token (expected is gone), the conversation's
// history is intact, its indexes are back, and its inbox can now be
// deleted while it stays.
func TestMigrate0003(t *testing.T) {
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
	ms2 := itoa(millis(at))
	convID := inbox.ConversationID("support", "root@mail.example")
	for _, stmt := range []string{
		ms[0].sql,
		ms[1].sql,
		"PRAGMA user_version = 2",
		`INSERT INTO tenants VALUES ('acme.example', 'Acme', 0)`,
		`INSERT INTO inboxes (tenant_id, id, address, name, members, created_at, reply_status, label_prefix)
			VALUES ('acme.example', 'support', 'support@acme.example', 'Support',
			'[{"email":"alice@acme.example","role":"admin"}]', 0, 'pending', 'Postfach')`,
		`INSERT INTO conversations (tenant_id, id, inbox_id, root_message_id, subject, customer, customer_name,
			status, assignee, tags, created_at, last_message_at, version, updated_at, updated_by, first_response_at)
			VALUES ('acme.example', '` + convID + `', 'support', 'root@mail.example', 'Hello', 'c@example.org', '',
			'open', 'alice@acme.example', '["vip"]', ` + ms2 + `, ` + ms2 + `, 2, ` + ms2 + `, 'alice@acme.example', ` + ms2 + `)`,
		`INSERT INTO message_ids VALUES ('acme.example', 'root@mail.example', 'support', '` + convID + `')`,
		`INSERT INTO message_ids VALUES ('acme.example', 'reply@mail.example', 'support', '` + convID + `')`,
		`INSERT INTO notes VALUES ('acme.example', '` + convID + `', 'n1', 'alice@acme.example', 'Called.', ` + ms2 + `)`,
		`INSERT INTO activity VALUES ('acme.example', '` + convID + `', 'a1', 1, '', 'created', '', '', ` + ms2 + `)`,
		`INSERT INTO activity VALUES ('acme.example', '` + convID + `', 'a2', 0, 'alice@acme.example', 'noted', '', 'n1', ` + itoa(millis(at)+1) + `)`,
		`INSERT INTO mailboxes (address, tenant_id, kind, history_id, notified_history_id, watch_expiration, labels,
			expected, lease_holder, lease_until, last_sync_at, last_error, error_count, created_at)
			VALUES ('support@acme.example', 'acme.example', 'shared', -1, 7, 0, '{"Postfach/Support/Open":"Label_1"}',
			'[{"thread":"18a","label":"Label_1","add":true,"until":0}]', '', 0, 0, '', 0, 0)`,
		`INSERT INTO thread_links VALUES ('acme.example', '` + convID + `', 'support@acme.example', '18a')`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("build schema 2 database: %v\n%s", err, stmt)
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
	var expectedColumns int
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM pragma_table_info('mailboxes') WHERE name = 'expected'").Scan(&expectedColumns); err != nil || expectedColumns != 0 {
		t.Errorf("mailboxes.expected after migrating: %d columns, %v; want it dropped", expectedColumns, err)
	}
	var indexes int
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'conversations_by_%'").Scan(&indexes); err != nil || indexes != 3 {
		t.Errorf("conversation indexes after migrating: %d, %v; want 3", indexes, err)
	}

	ten, err := s.GetTenant(ctx, "acme.example")
	if err != nil {
		t.Fatalf("GetTenant: %v", err)
	}
	if diff := cmp.Diff(inbox.Tenant{Domain: "acme.example", Name: "Acme", CreatedAt: time.UnixMilli(0).UTC()}, ten); diff != "" {
		t.Errorf("tenant of schema 2 (-want +got):\n%s", diff)
	}
	mb, err := s.GetMailbox(ctx, "support@acme.example")
	if err != nil {
		t.Fatalf("GetMailbox: %v", err)
	}
	if mb.Access != "" || mb.SealedToken != nil || mb.ConnectedBy != "" || mb.HistoryID != 1<<64-1 || mb.Labels["Postfach/Support/Open"] != "Label_1" {
		t.Errorf("mailbox of schema 2 = %+v; want no access, no token, its history id and labels", mb)
	}
	if _, err := s.UpdateMailbox(ctx, mb.Address, func(m *inbox.Mailbox) error {
		m.Access, m.SealedToken = inbox.AccessOAuth, []byte{0, 1}
		return nil
	}); err != nil {
		t.Errorf("UpdateMailbox of a migrated mailbox: %v", err)
	}

	c, err := s.GetConversation(ctx, "acme.example", convID)
	if err != nil {
		t.Fatalf("GetConversation: %v", err)
	}
	if c.Assignee != "alice@acme.example" || c.Version != 2 || !c.FirstResponseAt.Equal(at) || len(c.Tags) != 1 {
		t.Errorf("conversation of schema 2 = %+v", c)
	}
	notes, acts, err := s.RecentHistory(ctx, "acme.example", convID, inbox.MaxRecentNotes, inbox.MaxRecentActivity)
	if err != nil || len(notes) != 1 || len(acts) != 2 || acts[0].ID != "a2" {
		t.Errorf("RecentHistory after migrating = %v, %v, %v; want the note and both entries, newest first", notes, acts, err)
	}
	for _, id := range []string{"root@mail.example", "reply@mail.example"} {
		got, err := s.FindConversationsByMessageID(ctx, "acme.example", id)
		if err != nil || len(got) != 1 || got[0].ID != convID {
			t.Errorf("FindConversationsByMessageID(%s) = %v, %v; want %s", id, got, err, convID)
		}
	}

	// The inbox goes, its conversation and history stay, and the foreign
	// keys of notes, activity and the index still hold.
	if err := s.DeleteInbox(ctx, "acme.example", "support"); err != nil {
		t.Fatalf("DeleteInbox: %v", err)
	}
	if _, err := s.GetConversation(ctx, "acme.example", convID); err != nil {
		t.Errorf("GetConversation after DeleteInbox: %v", err)
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO notes (tenant_id, conversation_id, id, author, body, created_at) VALUES ('acme.example', 'no-such-conversation', 'n2', '', 'x', 0)`)
	if !isForeignKey(err) {
		t.Errorf("a note of no conversation after migrating: got %v, want a foreign key violation", err)
	}
}

// TestMigrate0004 upgrades a database of schema 3 with a healthy and a
// failing mailbox: the failing one's problem is "other" (its kind was not
// recorded), the healthy one has none.
func TestMigrate0004(t *testing.T) {
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
	stmts := []string{ms[0].sql, ms[1].sql, ms[2].sql, "PRAGMA user_version = 3",
		`INSERT INTO tenants (domain, name, created_at) VALUES ('acme.example', 'Acme', 0)`}
	for _, m := range []struct{ address, lastError string }{{"ok@acme.example", ""}, {"bad@acme.example", "token: invalid_grant"}} {
		stmts = append(stmts, `INSERT INTO mailboxes (address, tenant_id, kind, history_id, notified_history_id,
			watch_expiration, lease_holder, lease_until, last_sync_at, last_error, error_count, created_at)
			VALUES ('`+m.address+`', 'acme.example', 'member', 1, 1, 0, '', 0, 0, '`+m.lastError+`', 2, 0)`)
	}
	for _, stmt := range stmts {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("build schema 3 database: %v\n%s", err, stmt)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := MustOpen(t, path)
	for _, tc := range []struct {
		address string
		want    inbox.MailboxProblem
	}{{"ok@acme.example", ""}, {"bad@acme.example", inbox.ProblemOther}} {
		m, err := s.GetMailbox(ctx, tc.address)
		if err != nil || m.Problem != tc.want {
			t.Errorf("mailbox %s after migrating: problem %q, %v; want %q", tc.address, m.Problem, err, tc.want)
		}
	}
}
