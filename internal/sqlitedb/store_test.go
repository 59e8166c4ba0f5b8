package sqlitedb

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/inbox/storetest"
)

// MustOpen opens a store at path and closes it when the test ends.
func MustOpen(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close(%s): %v", path, err)
		}
	})
	return s
}

// MustOpenTemp opens a store on a new file in a temporary directory and
// returns it with the file's path.
func MustOpenTemp(tb testing.TB) (*Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "postfach.db")
	return MustOpen(tb, path), path
}

func TestConformance(t *testing.T) {
	var mu sync.Mutex
	paths := map[inbox.Store]string{}
	storetest.Run(t, storetest.Harness{
		NewStore: func(t *testing.T) inbox.Store {
			s, path := MustOpenTemp(t)
			mu.Lock()
			defer mu.Unlock()
			paths[s] = path
			return s
		},
		Reopen: func(t *testing.T, s inbox.Store) inbox.Store {
			mu.Lock()
			path, ok := paths[s]
			mu.Unlock()
			if !ok {
				t.Fatalf("Reopen: store %p was not made by NewStore", s)
			}
			return MustOpen(t, path)
		},
	})
}

// TestConformanceMemory runs the suite on ":memory:", which tests use; it
// cannot be reopened.
func TestConformanceMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("the file-backed run covers the same code; skipped in -short mode")
	}
	storetest.Run(t, storetest.Harness{
		NewStore: func(t *testing.T) inbox.Store { return MustOpen(t, ":memory:") },
	})
}

// sqlitedb-specific tests.

func TestOpenSettings(t *testing.T) {
	s, _ := MustOpenTemp(t)
	ctx := t.Context()
	for _, tc := range []struct {
		db     string
		pragma string
		want   string
	}{
		{"write", "journal_mode", "wal"},
		{"write", "foreign_keys", "1"},
		{"write", "synchronous", "1"}, // NORMAL
		{"write", "busy_timeout", "5000"},
		{"read", "journal_mode", "wal"},
		{"read", "foreign_keys", "1"},
		{"read", "busy_timeout", "5000"},
		{"read", "query_only", "1"},
	} {
		db := s.write
		if tc.db == "read" {
			db = s.read
		}
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s on %s: %v", tc.pragma, tc.db, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s on the %s pool = %q, want %q", tc.pragma, tc.db, got, tc.want)
		}
	}
	if got, want := s.write.Stats().MaxOpenConnections, 1; got != want {
		t.Errorf("write pool MaxOpenConnections = %d, want %d", got, want)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	ctx := t.Context()
	ms, err := migrations()
	if err != nil {
		t.Fatalf("migrations: %v", err)
	}
	path := filepath.Join(t.TempDir(), "postfach.db")
	for i := range 3 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		v, err := s.schemaVersion(ctx)
		if err != nil {
			t.Fatalf("schemaVersion: %v", err)
		}
		if v != len(ms) {
			t.Errorf("Open #%d: schema version %d, want %d", i+1, v, len(ms))
		}
		if i == 0 {
			if err := s.CreateTenant(ctx, inbox.Tenant{Domain: "acme.example", Name: "Acme"}); err != nil {
				t.Fatalf("CreateTenant: %v", err)
			}
		} else if _, err := s.GetTenant(ctx, "acme.example"); err != nil {
			t.Errorf("Open #%d: GetTenant after reopening: %v", i+1, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func TestMigrationNames(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatalf("migrations: %v", err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %s has version %d, want %d", m.name, m.version, i+1)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := t.Context()
	s, path := MustOpenTemp(t)
	if _, err := s.write.ExecContext(ctx, "PRAGMA user_version = 999"); err != nil {
		t.Fatalf("set user_version: %v", err)
	}
	_, err := Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a newer schema: got error %v, want one saying the schema is newer", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	if _, err := Open(ctx, ""); err == nil {
		t.Error("Open(\"\"): got nil error, want one")
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "db")
	if _, err := Open(ctx, missing); err == nil {
		t.Errorf("Open(%s): got nil error, want one", missing)
	}
}

// TestOddPath: a path with URI-special characters opens the file it names.
func TestOddPath(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "a dir?#%", "db file?.sqlite")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	s := MustOpen(t, path)
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: "acme.example"}); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Open(%q) did not create that file: %v", path, err)
	}
}

// TestTwoStoresWriteConcurrently: two Stores on one file (as two processes
// would be) write at once; BEGIN IMMEDIATE and the busy timeout serialise
// them without SQLITE_BUSY.
func TestTwoStoresWriteConcurrently(t *testing.T) {
	ctx := t.Context()
	s1, path := MustOpenTemp(t)
	s2 := MustOpen(t, path)
	ib := inbox.Inbox{TenantID: "acme.example", ID: "support", Address: "support@acme.example", Name: "Support"}
	if err := s1.CreateTenant(ctx, inbox.Tenant{Domain: ib.TenantID}); err != nil {
		t.Fatal(err)
	}
	if err := s1.CreateInbox(ctx, ib); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c, created, err := inbox.NewConversation(ib, "<root@x>", "s", "a@b.example", "", now, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.CreateConversation(ctx, c, []string{"root@x"}, created); err != nil {
		t.Fatal(err)
	}

	const perStore = 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*perStore)
	for _, s := range []*Store{s1, s2} {
		for i := range perStore {
			wg.Go(func() {
				n, err := inbox.NewNote(c, "a@acme.example", fmt.Sprintf("note %d", i), now)
				if err != nil {
					errs <- err
					return
				}
				errs <- s.AddNote(ctx, n, c.NoteActivity(n))
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("AddNote: %v", err)
		}
	}
	notes, err := s2.ListNotes(ctx, c.TenantID, c.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(notes), 2*perStore; got != want {
		t.Errorf("ListNotes: got %d notes, want %d", got, want)
	}
}

func TestCursor(t *testing.T) {
	c := cursor{lastMessageAt: 1735689600123, id: "c0123456789abcdef"}
	got, err := decodeCursor(c.encode())
	if err != nil {
		t.Fatalf("decodeCursor(encode(%+v)): %v", c, err)
	}
	if got != c {
		t.Errorf("decodeCursor(encode(%+v)) = %+v", c, got)
	}

	valid := c.encode()
	for _, bad := range []string{
		"",
		"garbage",
		valid[:len(valid)-1],
		valid + "A",
		checksummed("c1:notanumber:id"),
		checksummed("c1:123:"),
		checksummed("c1:123"),
		checksummed("c2:123:id"),
		cursorEncoding.EncodeToString([]byte("c1:123:id")), // no checksum
		"eyJhIjoxfQ==", // padded base64 of JSON
	} {
		if _, err := decodeCursor(bad); !errors.Is(err, inbox.ErrInvalid) {
			t.Errorf("decodeCursor(%q): got error %v, want %v", bad, err, inbox.ErrInvalid)
		}
	}
}

// checksummed encodes payload the way cursor.encode does.
func checksummed(payload string) string {
	b := binary.BigEndian.AppendUint32([]byte(payload), crc32.ChecksumIEEE([]byte(payload)))
	return cursorEncoding.EncodeToString(b)
}

// queryPlan returns the steps of SQLite's plan for query, joined by "; ".
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

// TestQueryPlans: the listing and count queries are served by an index,
// never by a scan of the whole conversations table; so are the queries of
// Gmail sync (subtest Sync).
func TestQueryPlans(t *testing.T) {
	s, _ := MustOpenTemp(t)
	for _, q := range []inbox.ConversationQuery{
		{TenantID: "a.example", InboxID: "support"},
		{TenantID: "a.example", InboxID: "support", Statuses: []inbox.Status{inbox.StatusOpen}},
		{TenantID: "a.example", InboxID: "support", Statuses: []inbox.Status{inbox.StatusOpen, inbox.StatusPending}},
		{TenantID: "a.example", InboxID: "support", Assignee: "bob@a.example"},
		{TenantID: "a.example", InboxID: "support", Assignee: inbox.Unassigned, Statuses: []inbox.Status{inbox.StatusOpen}},
	} {
		where, args, err := conversationFilter(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, query := range []string{
			`SELECT ` + conversationColumns + ` FROM conversations WHERE ` + where + ` ORDER BY last_message_at DESC, id DESC LIMIT 21`,
			`SELECT count(*) FROM conversations WHERE ` + where,
		} {
			joined := queryPlan(t, s, query, args...)
			if !strings.Contains(joined, "INDEX conversations_by_") {
				t.Errorf("query %+v uses no conversations index: %s", q, joined)
			}
			t.Logf("%+v: %s", q, joined)
		}
	}
	t.Run("Sync", func(t *testing.T) { testQueryPlansSync(t, s) })
	t.Run("Card", func(t *testing.T) { testQueryPlansCard(t, s) })
}

// planCase is a query and the steps its plan must have.
type planCase struct {
	name  string
	query string
	args  []any
	want  []string // every one appears in the plan
}

// checkPlans: each query searches an index for its rows and reads them in
// the order asked for: no step scans a table or sorts in a temporary
// b-tree.
func checkPlans(t *testing.T, s *Store, cases []planCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := queryPlan(t, s, tc.query, tc.args...)
			t.Log(plan)
			for _, w := range tc.want {
				if !strings.Contains(plan, w) {
					t.Errorf("plan lacks %q: %s", w, plan)
				}
			}
			for _, bad := range []string{"SCAN ", "TEMP B-TREE"} {
				if strings.Contains(plan, bad) {
					t.Errorf("plan has %q: %s", bad, plan)
				}
			}
		})
	}
}

// testQueryPlansCard: the reads of the conversation card and of the
// settings screens (FindConversationsByMessageID is in Sync): GetInbox,
// RecentHistory's two listings, and the tenant read of UpdateTenant and
// GetTenant.
func testQueryPlansCard(t *testing.T, s *Store) {
	checkPlans(t, s, []planCase{
		{"GetTenant", getTenantQuery, []any{"a.example"},
			[]string{"INDEX sqlite_autoindex_tenants_1 (domain=?)"}},
		{"GetInbox", getInboxQuery, []any{"a.example", "support"},
			[]string{"SEARCH inboxes USING PRIMARY KEY (tenant_id=? AND id=?)"}},
		{"ListNotes", listNotesQuery, []any{"a.example", "c1", inbox.MaxRecentNotes},
			[]string{"INDEX notes_by_time (tenant_id=? AND conversation_id=?)"}},
		{"ListActivity", listActivityQuery, []any{"a.example", "c1", inbox.MaxRecentActivity},
			[]string{"INDEX activity_by_time (tenant_id=? AND conversation_id=?)"}},
	})
}

// testQueryPlansSync: the queries of Gmail sync, checked by checkPlans.
func testQueryPlansSync(t *testing.T, s *Store) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	checkPlans(t, s, []planCase{
		{"FindConversationsByMessageID", findByMessageIDQuery, []any{"a.example", "m@x"},
			[]string{"SEARCH m USING PRIMARY KEY (tenant_id=? AND message_id=?)", "SEARCH c USING INDEX sqlite_autoindex_conversations_1 (tenant_id=? AND id=?)"}},
		{"MessageIDIndexed", messageIDIndexedQuery, []any{"a.example", "m@x", "support"},
			[]string{"USING PRIMARY KEY (tenant_id=? AND message_id=? AND inbox_id=?)"}},
		{"ListThreadLinks", listThreadLinksQuery, []any{"a.example", "c1"},
			[]string{"USING PRIMARY KEY (tenant_id=? AND conversation_id=?)"}},
		{"FindThreadLinks", findThreadLinksQuery, []any{"bob@a.example", "18a"},
			[]string{"USING COVERING INDEX thread_links_by_thread (mailbox=? AND thread_id=?)"}},
		{"DeleteThreadLinks", deleteThreadLinksQuery, []any{"bob@a.example"},
			[]string{"INDEX thread_links_by_thread (mailbox=?)"}},
		{"GetMailbox", getMailboxQuery, []any{"bob@a.example"},
			[]string{"INDEX sqlite_autoindex_mailboxes_1 (address=?)"}},
		{"ListMailboxes", listMailboxesQuery, []any{"a.example"},
			[]string{"INDEX mailboxes_by_tenant (tenant_id=?)"}},
		{"ListMailboxesWatchExpiringBefore", watchExpiringQuery, []any{millis(t0), 20},
			[]string{"INDEX mailboxes_by_watch (watch_expiration<?)"}},
		{"ListMailboxesSyncedBefore", syncedBeforeQuery, []any{millis(t0), 20},
			[]string{"INDEX mailboxes_by_sync (last_sync_at<?)"}},
	})
}

// TestBusyIsUnavailable: a write that finds the database locked by another
// process past the busy timeout returns inbox.ErrUnavailable (not SQLite's
// own error) and writes nothing.
func TestBusyIsUnavailable(t *testing.T) {
	ctx := t.Context()
	s, path := MustOpenTemp(t)
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: "acme.example"}); err != nil {
		t.Fatal(err)
	}
	// Another process holds the write lock for the whole test.
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.ExecContext(context.Background(), "ROLLBACK") })

	_, err = s.UpdateTenant(ctx, "acme.example", func(tn *inbox.Tenant) error {
		tn.Admins = []string{"alice@acme.example"}
		return nil
	})
	if !errors.Is(err, inbox.ErrUnavailable) {
		t.Fatalf("UpdateTenant on a locked database: got %v, want %v", err, inbox.ErrUnavailable)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTenant(ctx, "acme.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Admins) != 0 {
		t.Errorf("admins after a refused update = %v, want none", got.Admins)
	}
}
