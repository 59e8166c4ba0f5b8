package desk_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/sqlitedb"
)

var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mailbox is a fake desk.MessageReader: message id → headers, per token.
type mailbox struct {
	mu    sync.Mutex
	msgs  map[string]desk.MessageHeaders // key: token + "/" + id
	reads int                            // MessageHeaders calls: Gmail requests
}

func (m *mailbox) put(token, id string, h desk.MessageHeaders) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.msgs == nil {
		m.msgs = map[string]desk.MessageHeaders{}
	}
	m.msgs[token+"/"+id] = h
}

// gmailReads returns how many messages Gmail was asked for so far.
func (m *mailbox) gmailReads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

func (m *mailbox) MessageHeaders(_ context.Context, a desk.GmailAccess, id string) (desk.MessageHeaders, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	h, ok := m.msgs[a.OAuthToken+"/"+id]
	if !ok {
		return desk.MessageHeaders{}, fmt.Errorf("%w: 404", desk.ErrMessageUnavailable)
	}
	return h, nil
}

var (
	support = inbox.Inbox{TenantID: "example.com", ID: "support", Address: "support@example.com", Name: "Support", Members: []inbox.Member{
		{Email: "alice@example.com", Name: "Alice", Role: inbox.RoleAdmin},
		{Email: "bob@example.com", Name: "Bob", Role: inbox.RoleAgent},
		{Email: "carol@example.com", Name: "Carol", Role: inbox.RoleAgent},
	}}
	sales = inbox.Inbox{TenantID: "example.com", ID: "sales", Address: "sales@example.com", Name: "Sales", Members: []inbox.Member{
		{Email: "alice@example.com", Name: "Alice", Role: inbox.RoleAdmin},
		{Email: "dave@example.com", Name: "Dave", Role: inbox.RoleAgent},
	}}
	help = inbox.Inbox{TenantID: "other.example", ID: "support", Address: "help@other.example", Name: "Help", Members: []inbox.Member{
		{Email: "eve@other.example", Name: "Eve", Role: inbox.RoleAdmin},
	}}

	alice = desk.User{Email: "alice@example.com", Domain: "example.com"}
	bob   = desk.User{Email: "bob@example.com", Domain: "example.com"}
	carol = desk.User{Email: "carol@example.com", Domain: "example.com"}
	dave  = desk.User{Email: "dave@example.com", Domain: "example.com"}
	eve   = desk.User{Email: "eve@other.example", Domain: "other.example"}
)

type fixture struct {
	store inbox.Store
	mail  *mailbox
	clock *clock
	svc   *desk.Service
	// refund is an open, unassigned Support conversation.
	refund inbox.Conversation
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	s, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "desk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, tn := range []inbox.Tenant{{Domain: "example.com", CreatedAt: t0}, {Domain: "other.example", CreatedAt: t0}} {
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	for _, ib := range []inbox.Inbox{support, sales, help} {
		ib.CreatedAt = t0
		if err := s.CreateInbox(ctx, ib); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{store: s, mail: &mailbox{}, clock: &clock{t: t0}}
	f.svc = desk.New(desk.Options{Store: s, Reader: f.mail, Now: f.clock.Now})
	f.refund = f.conversation(t, support, "refund@customer.example", "Refund please", "dana@customer.example")
	// Each member's mailbox holds the refund mail under its own id.
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		f.mail.put(u, "m-refund", desk.MessageHeaders{MessageID: "<refund@customer.example>", Subject: "Refund please",
			From: "Dana <dana@customer.example>", To: "support@example.com"})
	}
	return f
}

func (f *fixture) conversation(t *testing.T, ib inbox.Inbox, root, subject, customer string) inbox.Conversation {
	t.Helper()
	c, ev, err := inbox.NewConversation(ib, root, subject, customer, "", t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateConversation(context.Background(), c, []string{root}, ev); err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) stored(t *testing.T, tenant, id string) inbox.Conversation {
	t.Helper()
	c, err := f.store.GetConversation(context.Background(), tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHome(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.conversation(t, sales, "quote@buyer.example", "Quote", "buyer@buyer.example")
	mine := f.conversation(t, support, "mine@x.example", "Mine", "x@x.example")
	if _, err := f.svc.Act(ctx, bob, desk.Action{ConversationID: mine.ID, Version: 1, Op: desk.OpAssignMe}); err != nil {
		t.Fatal(err)
	}
	pending := f.conversation(t, support, "pending@x.example", "Pending", "x@x.example")
	if _, err := f.svc.Act(ctx, carol, desk.Action{ConversationID: pending.ID, Version: 1, Op: desk.OpStatus, Value: "pending"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		user    desk.User
		want    map[string]map[desk.Filter]int
		wantErr error
	}{
		{"bob", bob, map[string]map[desk.Filter]int{
			"support": {desk.FilterUnassigned: 2, desk.FilterMine: 1, desk.FilterOpen: 2, desk.FilterPending: 1},
		}, nil},
		{"alice sees both", alice, map[string]map[desk.Filter]int{
			"support": {desk.FilterUnassigned: 2, desk.FilterMine: 0, desk.FilterOpen: 2, desk.FilterPending: 1},
			"sales":   {desk.FilterUnassigned: 1, desk.FilterMine: 0, desk.FilterOpen: 1, desk.FilterPending: 0},
		}, nil},
		{"dave sees sales only", dave, map[string]map[desk.Filter]int{
			"sales": {desk.FilterUnassigned: 1, desk.FilterMine: 0, desk.FilterOpen: 1, desk.FilterPending: 0},
		}, nil},
		{"eve sees her tenant only", eve, map[string]map[desk.Filter]int{
			"support": {desk.FilterUnassigned: 0, desk.FilterMine: 0, desk.FilterOpen: 0, desk.FilterPending: 0},
		}, nil},
		{"consumer account", desk.User{Email: "someone@gmail.com"}, nil, inbox.ErrForbidden},
		{"domain not installed", desk.User{Email: "x@nowhere.example", Domain: "nowhere.example"}, nil, desk.ErrNotInstalled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := f.svc.Home(ctx, tc.user)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			got := map[string]map[desk.Filter]int{}
			for _, s := range h.Inboxes {
				got[s.Inbox.ID] = s.Counts
			}
			if tc.want == nil {
				tc.want = map[string]map[desk.Filter]int{}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("counts = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOpenMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.mail.put("bob", "m-reply", desk.MessageHeaders{MessageID: "<r2@customer.example>", InReplyTo: "<unknown@x>",
		References: "<refund@customer.example> <unknown@x>", To: "someone@elsewhere.example"})
	f.mail.put("bob", "m-new", desk.MessageHeaders{MessageID: "<new@customer.example>", Subject: "Hello",
		From: "Neu <neu@customer.example>", To: "Support <support@example.com>"})
	f.mail.put("bob", "m-group", desk.MessageHeaders{MessageID: "<group@customer.example>", Subject: "Via list",
		From: "a@b.example", To: "undisclosed-recipients:;", ListID: "Support <support.example.com>"})
	f.mail.put("bob", "m-private", desk.MessageHeaders{MessageID: "<lunch@example.com>", Subject: "Lunch?",
		From: "alice@example.com", To: "bob@example.com"})
	f.mail.put("bob", "m-sales", desk.MessageHeaders{MessageID: "<s@buyer.example>", Subject: "Quote",
		From: "buyer@buyer.example", To: "sales@example.com"})
	f.mail.put("bob", "m-noid", desk.MessageHeaders{Subject: "No id", From: "x@y.example", To: "support@example.com"})
	f.mail.put("eve", "m-refund", desk.MessageHeaders{MessageID: "<refund@customer.example>", To: "support@example.com"})

	tests := []struct {
		name     string
		user     desk.User
		token    string
		id       string
		wantConv string // "" = not in an inbox; "new" = a new conversation
		wantErr  error
	}{
		{"known mail", bob, "bob", "m-refund", f.refund.ID, nil},
		{"another member's copy", carol, "carol", "m-refund", f.refund.ID, nil},
		{"reply by References", bob, "bob", "m-reply", f.refund.ID, nil},
		{"new mail to support", bob, "bob", "m-new", "new", nil},
		{"new mail via List-Id", bob, "bob", "m-group", "new", nil},
		{"private mail", bob, "bob", "m-private", "", nil},
		{"mail of an inbox bob is not in", bob, "bob", "m-sales", "", nil},
		{"dave opens a support mail", dave, "dave", "m-refund", "", nil},
		{"other tenant with the same Message-ID", eve, "eve", "m-refund", "", nil},
		{"mail without usable Message-ID", bob, "bob", "m-noid", "", inbox.ErrInvalid},
		{"gmail refuses", bob, "bob", "m-missing", "", desk.ErrMessageUnavailable},
		{"empty message id", bob, "bob", "", "", inbox.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := f.svc.OpenMessage(ctx, tc.user, desk.GmailAccess{OAuthToken: tc.token}, desk.OpenedIDs{MessageID: tc.id})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			switch {
			case tc.wantConv == "" && o.View != nil:
				t.Fatalf("got conversation %s, want none", o.View.Conversation.ID)
			case tc.wantConv == "":
			case o.View == nil:
				t.Fatalf("got no conversation, want %s", tc.wantConv)
			case tc.wantConv == "new":
				if o.View.Conversation.ID == f.refund.ID || o.View.Conversation.Status != inbox.StatusOpen || o.View.Conversation.Assignee != "" {
					t.Fatalf("got %+v, want a new open unassigned conversation", o.View.Conversation)
				}
			case o.View.Conversation.ID != tc.wantConv:
				t.Fatalf("got conversation %s, want %s", o.View.Conversation.ID, tc.wantConv)
			}
		})
	}
}

// TestOpenMessageByThreadLink: mail the sync has linked is opened from the
// store, with no Gmail read; everything else is read from Gmail as before,
// and a thread id never shows what the caller may not see.
func TestOpenMessageByThreadLink(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	quote := f.conversation(t, sales, "quote@buyer.example", "Quote", "buyer@buyer.example")
	for _, l := range []inbox.ThreadLink{
		{TenantID: "example.com", ConversationID: f.refund.ID, Mailbox: bob.Email, ThreadID: "t-refund"},
		{TenantID: "example.com", ConversationID: f.refund.ID, Mailbox: carol.Email, ThreadID: "18d0b0cf6073df79"},
		{TenantID: "example.com", ConversationID: f.refund.ID, Mailbox: alice.Email, ThreadID: "t-alice"},
		// Dave holds a copy of a Support mail, but works in Sales only.
		{TenantID: "example.com", ConversationID: f.refund.ID, Mailbox: dave.Email, ThreadID: "t-refund"},
		// One Gmail thread with a conversation of Sales and one of Support.
		{TenantID: "example.com", ConversationID: quote.ID, Mailbox: bob.Email, ThreadID: "t-both"},
		{TenantID: "example.com", ConversationID: f.refund.ID, Mailbox: bob.Email, ThreadID: "t-both"},
		// A link naming another tenant than the mailbox's.
		{TenantID: "example.com", ConversationID: f.refund.ID, Mailbox: eve.Email, ThreadID: "t-refund"},
		// A link to a conversation that is not stored.
		{TenantID: "example.com", ConversationID: inbox.ConversationID("support", "gone@x.example"), Mailbox: bob.Email, ThreadID: "t-gone"},
	} {
		if err := f.store.PutThreadLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	f.mail.put("bob", "m-private", desk.MessageHeaders{MessageID: "<lunch@example.com>", Subject: "Lunch?",
		From: "alice@example.com", To: "bob@example.com"})
	f.mail.put("eve", "m-refund", desk.MessageHeaders{MessageID: "<refund@customer.example>", To: "support@example.com"})

	tests := []struct {
		name      string
		user      desk.User
		ids       desk.OpenedIDs
		wantConv  string // "" = not in an inbox
		wantReads int    // Gmail reads
		wantErr   error
	}{
		// Gmail does not know "m-unknown": the card comes from the link.
		{"linked thread", bob, desk.OpenedIDs{MessageID: "m-unknown", ThreadID: "t-refund"}, f.refund.ID, 0, nil},
		{"thread-f: form", carol, desk.OpenedIDs{MessageID: "msg-f:1", ThreadID: "thread-f:1788123456789012345"}, f.refund.ID, 0, nil},
		{"thread of two inboxes, one the caller's", bob, desk.OpenedIDs{MessageID: "m-unknown", ThreadID: "t-both"}, f.refund.ID, 0, nil},
		{"no thread id: read from Gmail", bob, desk.OpenedIDs{MessageID: "m-refund"}, f.refund.ID, 1, nil},
		{"unlinked thread: read from Gmail", bob, desk.OpenedIDs{MessageID: "m-refund", ThreadID: "t-new"}, f.refund.ID, 1, nil},
		{"link to a missing conversation: read from Gmail", bob, desk.OpenedIDs{MessageID: "m-refund", ThreadID: "t-gone"}, f.refund.ID, 1, nil},
		// Alice's thread id, sent by Bob: Bob's mailbox has no such
		// thread, and what Gmail says of the open message decides.
		{"thread id of another mailbox", bob, desk.OpenedIDs{MessageID: "m-private", ThreadID: "t-alice"}, "", 1, nil},
		{"linked, but not the caller's inbox", dave, desk.OpenedIDs{MessageID: "m-refund", ThreadID: "t-refund"}, "", 1, nil},
		{"link of another tenant", eve, desk.OpenedIDs{MessageID: "m-refund", ThreadID: "t-refund"}, "", 1, nil},
		{"thread id without message id", bob, desk.OpenedIDs{ThreadID: "t-refund"}, "", 0, inbox.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.mail.gmailReads()
			o, err := f.svc.OpenMessage(ctx, tc.user, desk.GmailAccess{OAuthToken: tc.user.Email[:strings.IndexByte(tc.user.Email, '@')]}, tc.ids)
			if got := f.mail.gmailReads() - before; got != tc.wantReads {
				t.Errorf("Gmail reads = %d, want %d", got, tc.wantReads)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			switch {
			case err != nil:
			case tc.wantConv == "" && o.View != nil:
				t.Fatalf("got conversation %s, want none", o.View.Conversation.ID)
			case tc.wantConv == "":
			case o.View == nil:
				t.Fatalf("got no conversation, want %s", tc.wantConv)
			case o.View.Conversation.ID != tc.wantConv:
				t.Fatalf("got conversation %s, want %s", o.View.Conversation.ID, tc.wantConv)
			case o.Subject != o.View.Conversation.Subject && tc.wantReads == 0:
				t.Errorf("subject = %q, want the conversation's %q", o.Subject, o.View.Conversation.Subject)
			}
		})
	}
}

func TestOpenMessageStartsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	h := desk.MessageHeaders{MessageID: "<once@c.example>", Subject: "Once", From: "Cu <cu@c.example>", To: "support@example.com"}
	users := []desk.User{alice, bob, carol}
	for _, u := range users {
		f.mail.put(u.Email, "m", h)
	}
	var wg sync.WaitGroup
	ids := make([]string, len(users))
	for i, u := range users {
		wg.Go(func() {
			o, err := f.svc.OpenMessage(ctx, u, desk.GmailAccess{OAuthToken: u.Email}, desk.OpenedIDs{MessageID: "m"})
			if err != nil || o.View == nil {
				t.Errorf("%s: %v %v", u.Email, o.View, err)
				return
			}
			ids[i] = o.View.Conversation.ID
		})
	}
	wg.Wait()
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("three members opening one mail got %v, want one conversation", ids)
	}
	c := f.stored(t, "example.com", ids[0])
	if c.Customer != "cu@c.example" || c.Subject != "Once" {
		t.Errorf("conversation = %+v", c)
	}
	n, err := f.store.CountConversations(ctx, inbox.ConversationQuery{TenantID: "example.com", InboxID: "support"})
	if err != nil || n != 2 {
		t.Errorf("support holds %d conversations (%v), want 2", n, err)
	}
}

func TestActCollision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	// Bob and Carol both look at version 1.
	r, err := f.svc.Act(ctx, bob, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: desk.OpAssignMe})
	if err != nil || !r.Changed {
		t.Fatalf("bob assign-me: %+v, %v", r, err)
	}
	if r.View.Conversation.Assignee != "bob@example.com" || r.View.Conversation.Version != 2 {
		t.Fatalf("after bob: %+v", r.View.Conversation)
	}
	f.clock.Add(20 * time.Second)
	r, err = f.svc.Act(ctx, carol, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: desk.OpAssignMe})
	if err != nil {
		t.Fatal(err)
	}
	if r.Changed {
		t.Fatal("carol's stale action was written")
	}
	if n := r.Notice; n.ID != "notice.not_saved_because" || n.Activity == nil || n.Activity.Actor != "bob@example.com" || n.Activity.Kind != inbox.ActAssigned {
		t.Errorf("notice = %+v, want not saved because of bob's assignment", n)
	}
	if len(r.View.Collision) != 1 || r.View.Collision[0].Actor != "bob@example.com" || r.View.Now.Sub(r.View.Collision[0].At) != 20*time.Second {
		t.Errorf("collision = %+v", r.View.Collision)
	}
	if got := f.stored(t, "example.com", f.refund.ID); got.Assignee != "bob@example.com" || got.Version != 2 {
		t.Errorf("stored after refused action: %+v, want bob's state", got)
	}
	// With the fresh version Carol's action goes through.
	r, err = f.svc.Act(ctx, carol, desk.Action{ConversationID: f.refund.ID, Version: 2, Op: desk.OpAssignMe})
	if err != nil || !r.Changed || r.View.Conversation.Assignee != "carol@example.com" {
		t.Fatalf("carol with fresh version: %+v, %v", r, err)
	}
}

func TestActConcurrentOneWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	users := []desk.User{alice, bob, carol}
	changed := make([]bool, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			r, err := f.svc.Act(ctx, u, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: desk.OpAssignMe})
			if err != nil {
				t.Error(err)
			}
			changed[i] = r.Changed
		})
	}
	wg.Wait()
	n := 0
	for _, c := range changed {
		if c {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d of 3 concurrent assignments written, want exactly 1", n)
	}
}

func TestActAuthorization(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	quote := f.conversation(t, sales, "quote@buyer.example", "Quote", "buyer@buyer.example")
	theirs := f.conversation(t, help, "x@y.example", "Theirs", "y@y.example")
	tests := []struct {
		name    string
		user    desk.User
		action  desk.Action
		wantErr error
	}{
		{"dave on a support conversation", dave, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: desk.OpAssignMe}, inbox.ErrForbidden},
		{"dave adds a note to support", dave, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: desk.OpNote, Value: "hi"}, inbox.ErrForbidden},
		{"eve on example.com", eve, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: desk.OpStatus, Value: "closed"}, inbox.ErrForbidden},
		{"bob on sales", bob, desk.Action{ConversationID: quote.ID, Version: 1, Op: desk.OpUnassign}, inbox.ErrForbidden},
		{"bob on another tenant's id", bob, desk.Action{ConversationID: theirs.ID, Version: 1, Op: desk.OpAssignMe}, inbox.ErrForbidden},
		{"made-up id", bob, desk.Action{ConversationID: "c-nope", Version: 1, Op: desk.OpAssignMe}, inbox.ErrForbidden},
		{"assign to a non-member", bob, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: desk.OpAssign, Value: "dave@example.com"}, inbox.ErrInvalid},
		{"assign to another tenant's user", bob, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: desk.OpAssign, Value: "eve@other.example"}, inbox.ErrInvalid},
		{"bad status", bob, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: desk.OpStatus, Value: "deleted"}, inbox.ErrInvalid},
		{"empty note", bob, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: desk.OpNote, Value: "  "}, inbox.ErrInvalid},
		{"bad tag", bob, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: desk.OpTag, Value: "<b>"}, inbox.ErrInvalid},
		{"unknown op", bob, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: "delete"}, inbox.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.svc.Act(ctx, tc.user, tc.action)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			// A refused input the user typed or chose says why, as a
			// message of the catalogs; a forged parameter (no card offers
			// it) does not.
			forged := tc.name == "bad status" || tc.name == "unknown op"
			if _, ok := inbox.RefusalOf(err); tc.wantErr == inbox.ErrInvalid && ok == forged {
				t.Errorf("refusal %v: told the user = %v, want %v", err, ok, !forged)
			}
		})
	}
	for _, c := range []inbox.Conversation{f.refund, quote} {
		if got := f.stored(t, c.TenantID, c.ID); got.Version != 1 {
			t.Errorf("%s was changed by a refused action: %+v", c.Subject, got)
		}
	}
	notes, err := f.store.ListNotes(ctx, "example.com", f.refund.ID, 10)
	if err != nil || len(notes) != 0 {
		t.Errorf("notes after refused actions: %v, %v", notes, err)
	}
}

func TestActEveryOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	steps := []struct {
		op      desk.Op
		value   string
		changed bool
		check   func(inbox.Conversation) bool
	}{
		{desk.OpAssign, "carol@example.com", true, func(c inbox.Conversation) bool { return c.Assignee == "carol@example.com" }},
		{desk.OpAssign, "Carol <CAROL@example.com>", false, func(c inbox.Conversation) bool { return c.Assignee == "carol@example.com" }},
		{desk.OpUnassign, "", true, func(c inbox.Conversation) bool { return c.Assignee == "" }},
		{desk.OpStatus, "pending", true, func(c inbox.Conversation) bool { return c.Status == inbox.StatusPending }},
		{desk.OpTag, "  VIP  ", true, func(c inbox.Conversation) bool { return fmt.Sprint(c.Tags) == "[vip]" }},
		{desk.OpTag, "billing", true, func(c inbox.Conversation) bool { return fmt.Sprint(c.Tags) == "[billing vip]" }},
		{desk.OpUntag, "vip", true, func(c inbox.Conversation) bool { return fmt.Sprint(c.Tags) == "[billing]" }},
		{desk.OpNote, "Called the customer", true, func(c inbox.Conversation) bool { return true }},
		{desk.OpStatus, "closed", true, func(c inbox.Conversation) bool { return c.Status == inbox.StatusClosed }},
	}
	version := int64(1)
	for i, st := range steps {
		r, err := f.svc.Act(ctx, bob, desk.Action{ConversationID: f.refund.ID, Version: version, Op: st.op, Value: st.value})
		if err != nil {
			t.Fatalf("step %d %s: %v", i, st.op, err)
		}
		if r.Changed != st.changed {
			t.Fatalf("step %d %s: changed = %v, want %v", i, st.op, r.Changed, st.changed)
		}
		got := f.stored(t, "example.com", f.refund.ID)
		if !st.check(got) || got.Version != r.View.Conversation.Version {
			t.Fatalf("step %d %s: stored %+v, card shows v%d", i, st.op, got, r.View.Conversation.Version)
		}
		version = got.Version
	}
	v, err := f.svc.Conversation(ctx, carol, f.refund.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Notes) != 1 || v.Notes[0].Body != "Called the customer" || v.Notes[0].Author != "bob@example.com" {
		t.Errorf("notes = %+v", v.Notes)
	}
	if len(v.Activity) != desk.ViewActivity || v.Activity[0].Kind != inbox.ActStatus {
		t.Errorf("activity = %+v", v.Activity)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	for i := range 25 {
		f.conversation(t, support, fmt.Sprintf("m%d@x.example", i), fmt.Sprintf("Mail %d", i), "x@x.example")
	}
	l, err := f.svc.List(ctx, bob, "support", desk.FilterUnassigned, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Conversations) != desk.ListPageSize || l.NextCursor == "" {
		t.Fatalf("first page: %d rows, cursor %q", len(l.Conversations), l.NextCursor)
	}
	l2, err := f.svc.List(ctx, bob, "support", desk.FilterUnassigned, l.NextCursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(l2.Conversations) != 26-desk.ListPageSize || l2.NextCursor != "" {
		t.Fatalf("second page: %d rows, cursor %q", len(l2.Conversations), l2.NextCursor)
	}
	for _, tc := range []struct {
		name string
		user desk.User
		ib   string
	}{{"dave", dave, "support"}, {"eve on example.com's id", eve, "sales"}, {"unknown inbox", bob, "nope"}} {
		if _, err := f.svc.List(ctx, tc.user, tc.ib, desk.FilterOpen, ""); !errors.Is(err, inbox.ErrForbidden) {
			t.Errorf("%s: err = %v, want ErrForbidden", tc.name, err)
		}
	}
	// Inbox ids are per tenant: eve's "support" is her own inbox, and
	// example.com's conversations never show in it.
	el, err := f.svc.List(ctx, eve, "support", desk.FilterOpen, "")
	if err != nil || el.Inbox.Address != "help@other.example" || len(el.Conversations) != 0 {
		t.Errorf("eve's support list = %v %d rows, %v; want her own empty inbox", el.Inbox.Address, len(el.Conversations), err)
	}
	if _, err := f.svc.List(ctx, bob, "support", desk.FilterOpen, "garbage"); !errors.Is(err, inbox.ErrInvalid) {
		t.Errorf("garbage cursor: err = %v, want ErrInvalid", err)
	}
}

// TestSetOptionsKeepsWorkflow: saving an inbox's options form changes those
// options only; the workflow, edited on its own screens, stays.
func TestSetOptionsKeepsWorkflow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.store.UpdateTenant(ctx, "example.com", func(tn *inbox.Tenant) error {
		tn.Admins = []string{alice.Email}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.UpdateInbox(ctx, "example.com", "support", func(ib *inbox.Inbox) error {
		ib.Settings.Workflow.Rules = []inbox.Rule{{ID: "r1", Name: "Stop", Actions: []inbox.Action{{Kind: inbox.ActionStop}}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Admin(ctx, alice, desk.AdminAction{Op: desk.AdminSetOptions, InboxID: "support", LabelPrefix: "Team", ReplyStatus: "pending"}); err != nil {
		t.Fatal(err)
	}
	ib, err := f.store.GetInbox(ctx, "example.com", "support")
	if err != nil {
		t.Fatal(err)
	}
	if ib.Settings.LabelPrefix != "Team" || len(ib.Settings.Workflow.Rules) != 1 {
		t.Errorf("after saving the options: prefix %q, %d rules; want Team and the 1 rule kept", ib.Settings.LabelPrefix, len(ib.Settings.Workflow.Rules))
	}
}
