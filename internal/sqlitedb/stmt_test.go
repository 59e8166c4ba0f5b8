package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"

	"github.com/postfach/postfach/internal/inbox"
)

// countCompilations makes db's connection count the SQL statements SQLite
// compiles, but for transaction control: the authorizer runs while a
// statement is prepared, never while a prepared one runs. db must have exactly one connection (":memory:").
func countCompilations(t *testing.T, db *sql.DB) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		r, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return errors.New("the driver connection cannot register an authorizer")
		}
		return r.RegisterAuthorizer(func(action sqlite.AuthorizerActionCode, _, _, _, _ string) sqlite.AuthorizerReturnCode {
			// BEGIN, COMMIT and ROLLBACK are the driver's own, compiled
			// on every transaction whatever the store prepares.
			if action != sqlite.AuthTransaction {
				n.Add(1)
			}
			return sqlite.AuthorizerOK
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return &n
}

// TestHotQueriesArePreparedOnce runs each hot store call a few times and
// checks that SQLite compiles its SQL only on the first (or, for a
// transaction, the first two: a statement met unprepared in one is
// prepared after it); reads, and the statements inside write and read
// transactions alike.
func TestHotQueriesArePreparedOnce(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, ":memory:")
	const domain = "acme.example"
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: domain, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	ib := inbox.Inbox{TenantID: domain, ID: "support", Address: "support@" + domain, Name: "Support",
		Members: []inbox.Member{{Email: "alice@" + domain, Role: inbox.RoleAdmin}}}
	if err := s.CreateInbox(ctx, ib); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c, created, err := inbox.NewConversation(ib, "<m1@mail.example>", "Subject", "customer@example.org", "Customer", at, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateConversation(ctx, c, []string{c.RootMessageID}, created); err != nil {
		t.Fatal(err)
	}
	link := inbox.ThreadLink{TenantID: domain, ConversationID: c.ID, Mailbox: ib.Address, ThreadID: "t1"}
	q := inbox.ConversationQuery{TenantID: domain, InboxID: ib.ID, Statuses: []inbox.Status{inbox.StatusOpen}, Assignee: inbox.Unassigned}

	mailbox := inbox.Mailbox{TenantID: domain, Address: "alice@" + domain, Kind: inbox.MailboxMember, CreatedAt: at}
	if err := s.CreateMailbox(ctx, mailbox); err != nil {
		t.Fatal(err)
	}
	var seq atomic.Int64

	compiled := countCompilations(t, s.read)
	tests := []struct {
		name string
		call func() error
	}{
		{"GetConversation", func() error { _, err := s.GetConversation(ctx, domain, c.ID); return err }},
		{"FindConversationsByMessageID", func() error {
			got, err := s.FindConversationsByMessageID(ctx, domain, c.RootMessageID)
			if err == nil && len(got) != 1 {
				err = errors.New("not found")
			}
			return err
		}},
		{"ListConversations", func() error { _, err := s.ListConversations(ctx, q); return err }},
		{"CountConversations", func() error { _, err := s.CountConversations(ctx, q); return err }},
		{"PutThreadLink", func() error { return s.PutThreadLink(ctx, link) }},
		{"ListThreadLinks", func() error { _, err := s.ListThreadLinks(ctx, domain, c.ID); return err }},
		{"FindThreadLinks", func() error { _, err := s.FindThreadLinks(ctx, ib.Address, "t1"); return err }},
		{"GetInbox", func() error { _, err := s.GetInbox(ctx, domain, ib.ID); return err }},
		{"GetTenant", func() error { _, err := s.GetTenant(ctx, domain); return err }},
		{"InboxCounts", func() error { _, err := s.InboxCounts(ctx, domain, ib.ID); return err }},
		// Transactions: their statements run prepared too (issue 9).
		{"RecentHistory", func() error { _, _, err := s.RecentHistory(ctx, domain, c.ID, 3, 5); return err }},
		{"GetConversationHistory", func() error { _, _, _, err := s.GetConversationHistory(ctx, domain, c.ID, 3, 5); return err }},
		{"CreateConversation", func() error {
			n := seq.Add(1)
			nc, ev, err := inbox.NewConversation(ib, fmt.Sprintf("<new%d@mail.example>", n), "New", "customer@example.org", "Customer", at, at)
			if err != nil {
				return err
			}
			return s.CreateConversation(ctx, nc, []string{nc.RootMessageID}, ev)
		}},
		{"AppendMessage", func() error {
			n := seq.Add(1)
			mail := inbox.Headers{MessageID: fmt.Sprintf("<reply%d@mail.example>", n), InReplyTo: c.RootMessageID, References: c.RootMessageID,
				From: "customer@example.org", To: ib.Address, Subject: "Re: Subject", Date: at.Add(time.Duration(n) * time.Minute)}.Mail()
			next := c
			ev := next.Receive(ib, mail, at)
			if err := s.AppendMessage(ctx, next, mail.Thread.All(), ev); err != nil {
				return err
			}
			c = next
			return nil
		}},
		{"UpdateConversation", func() error {
			next := c
			status := inbox.StatusPending
			if c.Status == inbox.StatusPending {
				status = inbox.StatusOpen
			}
			ev, err := next.SetStatus("alice@"+domain, status, at)
			if err != nil {
				return err
			}
			if err := s.UpdateConversation(ctx, next, ev); err != nil {
				return err
			}
			c = next
			return nil
		}},
		{"AddNote", func() error {
			n, err := inbox.NewNote(c, "alice@"+domain, "a note", at)
			if err != nil {
				return err
			}
			return s.AddNote(ctx, n, c.NoteActivity(n))
		}},
		{"UpdateInbox", func() error {
			_, err := s.UpdateInbox(ctx, domain, ib.ID, func(ib *inbox.Inbox) error { ib.Name += "!"; return nil })
			return err
		}},
		{"UpdateTenant", func() error {
			_, err := s.UpdateTenant(ctx, domain, func(t *inbox.Tenant) error { t.Name += "!"; return nil })
			return err
		}},
		{"UpdateMailbox", func() error {
			_, err := s.UpdateMailbox(ctx, mailbox.Address, func(m *inbox.Mailbox) error { m.HistoryID++; return nil })
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // compiles: unprepared in the first transaction, prepared after it
				if err := tc.call(); err != nil {
					t.Fatal(err)
				}
			}
			before := compiled.Load()
			if before == 0 {
				t.Fatal("the first call compiled nothing: is the authorizer counting?")
			}
			for range 3 {
				if err := tc.call(); err != nil {
					t.Fatal(err)
				}
			}
			if got := compiled.Load() - before; got != 0 {
				t.Errorf("3 more calls made SQLite compile SQL again (%d authorizer calls), want none", got)
			}
		})
	}
}

// TestStmtCacheBound checks that the statement cache stops growing at its
// bound and that queries beyond it still run.
func TestStmtCacheBound(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, ":memory:")
	c := newStmtCache(s.read)
	t.Cleanup(func() { c.Close() })
	for i := range maxCachedStmts + 10 {
		var n int
		// Distinct texts, the same query.
		if err := c.QueryRowContext(ctx, "SELECT ? + "+strconv.Itoa(i), 1).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1+i {
			t.Fatalf("query %d = %d, want %d", i, n, 1+i)
		}
	}
	if got := c.len(); got != maxCachedStmts {
		t.Errorf("cache holds %d statements, want %d", got, maxCachedStmts)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Errorf("after Close: %d, %v; want 1, nil (unprepared)", n, err)
	}
}
