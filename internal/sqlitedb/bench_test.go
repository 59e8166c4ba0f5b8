package sqlitedb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// benchConversations is how many conversations the benchmark store holds.
const benchConversations = 5000

// benchFixture is a store seeded with benchConversations conversations in
// one inbox: a third each open, pending and closed, a quarter each
// unassigned or owned by one of three members, a minute apart.
type benchFixture struct {
	s     *Store
	ib    inbox.Inbox
	convs []inbox.Conversation // as stored
}

// benchTemplate is the seeded database that every benchmark copies, built
// once per run (seeding through the API takes seconds).
var benchTemplate struct {
	once  sync.Once
	dir   string // removed by TestMain
	path  string
	ib    inbox.Inbox
	convs []inbox.Conversation
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchTemplate.dir != "" {
		os.RemoveAll(benchTemplate.dir)
	}
	os.Exit(code)
}

// seedBench returns a private copy of the seeded template.
func seedBench(b *testing.B) *benchFixture {
	b.Helper()
	t := &benchTemplate
	t.once.Do(func() {
		t.dir, t.err = os.MkdirTemp("", "sqlitedb-bench-")
		if t.err == nil {
			t.path = filepath.Join(t.dir, "template.db")
			t.ib, t.convs, t.err = seed(context.Background(), t.path)
		}
	})
	if t.err != nil {
		b.Fatalf("seed benchmark database: %v", t.err)
	}
	path := filepath.Join(b.TempDir(), "bench.db")
	data, err := os.ReadFile(t.path)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return &benchFixture{s: MustOpen(b, path), ib: t.ib, convs: slices.Clone(t.convs)}
}

// seed creates the benchmark database at path through the Store API and
// closes it, which folds the WAL into the file.
func seed(ctx context.Context, path string) (inbox.Inbox, []inbox.Conversation, error) {
	s, err := Open(ctx, path)
	if err != nil {
		return inbox.Inbox{}, nil, err
	}
	defer s.Close()
	const domain = "acme.example"
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: domain, Name: "Acme"}); err != nil {
		return inbox.Inbox{}, nil, err
	}
	ib := inbox.Inbox{
		TenantID: domain, ID: "support", Address: "support@" + domain, Name: "Support",
		Members: []inbox.Member{
			{Email: "alice@" + domain, Role: inbox.RoleAdmin},
			{Email: "bob@" + domain, Role: inbox.RoleAgent},
			{Email: "carol@" + domain, Role: inbox.RoleAgent},
		},
	}
	if err := s.CreateInbox(ctx, ib); err != nil {
		return inbox.Inbox{}, nil, err
	}
	assignees := []string{"", "alice@" + domain, "bob@" + domain, "carol@" + domain}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var convs []inbox.Conversation
	for i := range benchConversations {
		at := t0.Add(time.Duration(i) * time.Minute)
		root := fmt.Sprintf("<m%d@mail.example>", i)
		c, created, err := inbox.NewConversation(ib, root, "Subject", "customer@example.org", "Customer", at, at)
		if err != nil {
			return inbox.Inbox{}, nil, err
		}
		if err := s.CreateConversation(ctx, c, []string{root}, created); err != nil {
			return inbox.Inbox{}, nil, err
		}
		if a := assignees[i%len(assignees)]; a != "" {
			ev, err := c.Assign(ib, a, a, at)
			if err != nil {
				return inbox.Inbox{}, nil, err
			}
			if err := s.UpdateConversation(ctx, c, ev); err != nil {
				return inbox.Inbox{}, nil, err
			}
		}
		if st := inbox.Statuses[i%len(inbox.Statuses)]; st != inbox.StatusOpen {
			ev, err := c.SetStatus("", st, at)
			if err != nil {
				return inbox.Inbox{}, nil, err
			}
			if err := s.UpdateConversation(ctx, c, ev); err != nil {
				return inbox.Inbox{}, nil, err
			}
		}
		convs = append(convs, c)
	}
	return ib, convs, s.Close()
}

// benchQueries are the listings the sidebar and the inbox view issue.
var benchQueries = []struct {
	name string
	q    inbox.ConversationQuery
}{
	{"All", inbox.ConversationQuery{}},
	{"Open", inbox.ConversationQuery{Statuses: []inbox.Status{inbox.StatusOpen}}},
	{"Active", inbox.ConversationQuery{Statuses: []inbox.Status{inbox.StatusOpen, inbox.StatusPending}}},
	{"Mine", inbox.ConversationQuery{Assignee: "bob@acme.example"}},
	{"MineOpen", inbox.ConversationQuery{Assignee: "bob@acme.example", Statuses: []inbox.Status{inbox.StatusOpen}}},
	{"UnassignedOpen", inbox.ConversationQuery{Assignee: inbox.Unassigned, Statuses: []inbox.Status{inbox.StatusOpen}}},
}

func (f *benchFixture) query(q inbox.ConversationQuery) inbox.ConversationQuery {
	q.TenantID, q.InboxID = f.ib.TenantID, f.ib.ID
	return q
}

func BenchmarkGetConversation(b *testing.B) {
	f := seedBench(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		c := f.convs[i%len(f.convs)]
		if _, err := f.s.GetConversation(ctx, c.TenantID, c.ID); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkUpdateConversation(b *testing.B) {
	f := seedBench(b)
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	i := 0
	for b.Loop() {
		c := &f.convs[i%len(f.convs)]
		st := inbox.StatusPending
		if c.Status == inbox.StatusPending {
			st = inbox.StatusOpen
		}
		ev, err := c.SetStatus("alice@acme.example", st, now)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.s.UpdateConversation(ctx, *c, ev); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkListConversations(b *testing.B) {
	f := seedBench(b)
	ctx := context.Background()
	for _, bq := range benchQueries {
		b.Run(bq.name, func(b *testing.B) {
			q := f.query(bq.q)
			for b.Loop() {
				p, err := f.s.ListConversations(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Conversations) == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
	b.Run("Page10", func(b *testing.B) {
		// The tenth page of 20: the cursor seeks, it does not skip.
		q := f.query(inbox.ConversationQuery{})
		for range 9 {
			p, err := f.s.ListConversations(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			q.Cursor = p.NextCursor
		}
		for b.Loop() {
			if _, err := f.s.ListConversations(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCount(b *testing.B) {
	f := seedBench(b)
	ctx := context.Background()
	for _, bq := range benchQueries {
		b.Run(bq.name, func(b *testing.B) {
			q := f.query(bq.q)
			for b.Loop() {
				n, err := f.s.CountConversations(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					b.Fatal("count 0")
				}
			}
		})
	}
}

// BenchmarkAppendMessage records a later mail in one conversation after
// the other: a customer's reply, which reopens the pending and closed ones
// (an activity entry and a version bump) and leaves the open ones be.
// Replay re-records a mail already recorded, which is refused.
func BenchmarkAppendMessage(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	reply := func(c inbox.Conversation, i int) inbox.Mail {
		return inbox.Headers{
			MessageID:  fmt.Sprintf("<bench-%d@mail.example>", i),
			InReplyTo:  "<" + c.RootMessageID + ">",
			References: "<" + c.RootMessageID + ">",
			From:       "Customer <customer@example.org>",
			To:         "support@acme.example",
			Subject:    "Re: Subject",
			Date:       now,
		}.Mail()
	}
	b.Run("New", func(b *testing.B) {
		f := seedBench(b)
		i := 0
		for b.Loop() {
			c := &f.convs[i%len(f.convs)]
			m := reply(*c, i)
			ev := c.Receive(f.ib, m, now)
			if err := f.s.AppendMessage(ctx, *c, m.Thread.All(), ev); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Replay", func(b *testing.B) {
		f := seedBench(b)
		c := f.convs[0]
		m := reply(c, 0)
		ev := c.Receive(f.ib, m, now)
		if err := f.s.AppendMessage(ctx, c, m.Thread.All(), ev); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := f.s.AppendMessage(ctx, c, m.Thread.All(), nil); !errors.Is(err, inbox.ErrAlreadyExists) {
				b.Fatalf("replay: got %v, want %v", err, inbox.ErrAlreadyExists)
			}
		}
	})
}

// BenchmarkUpdateMailbox runs the read-modify-write of one sync: take the
// lease, advance the cursor, record the sync. Small has no token; OAuth
// carries a sealed refresh token of 512 bytes, as a mailbox connected by
// its owner's consent does.
func BenchmarkUpdateMailbox(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name  string
		token int
	}{{"Small", 0}, {"OAuth", 512}} {
		b.Run(bc.name, func(b *testing.B) {
			f := seedBench(b)
			mb := inbox.Mailbox{
				Address: "support@acme.example", TenantID: f.ib.TenantID, Kind: inbox.MailboxShared,
				HistoryID: 1, Labels: map[string]string{}, CreatedAt: now,
			}
			for _, st := range []string{"Open", "Pending", "Closed", "Mine"} {
				mb.Labels["Postfach/Support/"+st] = "Label_" + st
			}
			if bc.token > 0 {
				mb.Access, mb.SealedToken, mb.ConnectedBy = inbox.AccessOAuth, make([]byte, bc.token), "support@acme.example"
			}
			if err := f.s.CreateMailbox(ctx, mb); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				at := now.Add(time.Duration(i) * time.Second)
				_, err := f.s.UpdateMailbox(ctx, mb.Address, func(m *inbox.Mailbox) error {
					if err := m.Acquire("bench", at, time.Minute); err != nil {
						return err
					}
					if err := m.Advance("bench", m.HistoryID, m.HistoryID+1, at); err != nil {
						return err
					}
					m.LastSyncAt = at
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
