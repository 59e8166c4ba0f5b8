package syncer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/postfach/postfach/internal/gmailclient"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/syncer"
)

const topic = "projects/postfach-test/topics/gmail"

var (
	support = inbox.Inbox{TenantID: "example.com", ID: "support", Address: "support@example.com", Name: "Support",
		Settings: inbox.DefaultInboxSettings(), Members: []inbox.Member{
			{Email: "alice@example.com", Name: "Alice", Role: inbox.RoleAdmin},
			{Email: "bob@example.com", Name: "Bob", Role: inbox.RoleAgent},
			{Email: "carol@example.com", Name: "Carol", Role: inbox.RoleAgent},
		}}
	sales = inbox.Inbox{TenantID: "example.com", ID: "sales", Address: "sales@example.com", Name: "Sales",
		Settings: inbox.DefaultInboxSettings(), Members: []inbox.Member{
			{Email: "alice@example.com", Name: "Alice", Role: inbox.RoleAdmin},
			{Email: "dave@example.com", Name: "Dave", Role: inbox.RoleAgent},
		}}
	mailboxes = []string{"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"}
)

// clock is the syncer's clock; tests move it past leases and grace periods.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// tokens maps a mailbox to the bearer token the simulator accepts for it.
type tokens struct{}

func (tokens) TokenSource(_ context.Context, mailbox string) (oauth2.TokenSource, error) {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok-" + mailbox, TokenType: "Bearer"}), nil
}

// env is a tenant with linked mailboxes, the simulator behind Gmail's REST
// API, and a syncer using the real gmail/v1 client through gmailclient.
type env struct {
	t      testing.TB
	sim    *gmailsim.Server
	srv    *httptest.Server
	store  *countingStore
	clock  *clock
	syncer *syncer.Syncer
	dialer *gmailclient.Dialer

	mu    sync.Mutex
	notes []gmailsim.Notification // notifications not yet delivered
}

type envOptions struct {
	quota     int
	retention time.Duration
	store     string // "sqlite" (default) or "firestore"
	// clientUnits is the client's own rate of quota units per second per
	// mailbox (gmailclient's default when 0).
	clientUnits int
	// wrap, if set, stands between the client and the simulator.
	wrap func(http.Handler) http.Handler
}

// forEachStore runs a scenario on SQLite and, when its emulator is up, on
// Firestore (CI starts the emulator and requires that run).
func forEachStore(t *testing.T, f func(t *testing.T, store string)) {
	t.Parallel()
	kinds := []string{"sqlite"}
	switch {
	case os.Getenv("FIRESTORE_EMULATOR_HOST") != "":
		kinds = append(kinds, "firestore")
	case os.Getenv("POSTFACH_REQUIRE_FIRESTORE") == "1":
		t.Fatal("POSTFACH_REQUIRE_FIRESTORE=1 but FIRESTORE_EMULATOR_HOST is not set")
	}
	for _, k := range kinds {
		t.Run(k, func(t *testing.T) {
			t.Parallel()
			f(t, k)
		})
	}
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, clock: &clock{}}
	e.sim = gmailsim.New(gmailsim.Options{
		Authenticate: func(r *http.Request) (string, error) {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
			if !ok {
				return "", errors.New("bad token")
			}
			return tok, nil
		},
		// The shared addresses are Google Groups: a mail a member sends
		// to one reaches every member.
		Route: func(addr string) []string {
			for _, ib := range []inbox.Inbox{support, sales} {
				if addr == ib.Address {
					var to []string
					for _, m := range ib.Members {
						to = append(to, m.Email)
					}
					return to
				}
			}
			return []string{addr}
		},
		QuotaPerSecond:   o.quota,
		HistoryRetention: o.retention,
		Notify: func(n gmailsim.Notification) {
			e.mu.Lock()
			e.notes = append(e.notes, n)
			e.mu.Unlock()
		},
	})
	for _, m := range mailboxes {
		e.sim.AddMailbox(m)
	}
	h := e.sim.Handler()
	if o.wrap != nil {
		h = o.wrap(h)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	db := openStore(t, o.store, "sync")
	e.store = &countingStore{Store: db}
	if err := db.CreateTenant(ctx, inbox.Tenant{Domain: "example.com", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, ib := range []inbox.Inbox{support, sales} {
		ib.CreatedAt = time.Now()
		if err := db.CreateInbox(ctx, ib); err != nil {
			t.Fatal(err)
		}
	}
	e.dialer = gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: e.srv.URL + "/", Tokens: tokens{}, BaseBackoff: 5 * time.Millisecond, UnitsPerSecond: o.clientUnits})
	e.syncer = e.newSyncer("instance-1")
	for _, m := range mailboxes {
		if err := e.syncer.Link(ctx, inbox.Mailbox{Address: m, TenantID: "example.com", Kind: inbox.MailboxMember}); err != nil {
			t.Fatal(err)
		}
	}
	e.take() // the watches' first notifications
	return e
}

func (e *env) newSyncer(holder string) *syncer.Syncer {
	return syncer.New(syncer.Options{Store: e.store, Gmail: e.dialer, Holder: holder, Topic: topic, Now: e.clock.Now})
}

// take returns and forgets the notifications emitted so far.
func (e *env) take() []gmailsim.Notification {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.notes
	e.notes = nil
	return n
}

// push delivers notifications as the push endpoint does: record, then sync.
func (e *env) push(s *syncer.Syncer, notes []gmailsim.Notification) {
	e.t.Helper()
	ctx := context.Background()
	for _, n := range notes {
		if err := s.Notify(ctx, n.EmailAddress, n.HistoryID); err != nil {
			e.t.Fatalf("notify %v: %v", n, err)
		}
		if err := s.Sync(ctx, n.EmailAddress); err != nil {
			e.t.Fatalf("sync %s: %v", n.EmailAddress, err)
		}
	}
}

// settle delivers notifications until Postfach's own label writes stop
// producing new ones (they must, or the mirror would loop).
func (e *env) settle() {
	e.t.Helper()
	for round := 0; ; round++ {
		notes := e.take()
		if len(notes) == 0 {
			return
		}
		if round > 6 {
			e.t.Fatalf("notifications still coming after %d rounds: a label echo loop? %v", round, notes)
		}
		e.push(e.syncer, notes)
	}
}

// mail builds an RFC 822 mail.
func mail(from, to, cc, subject, id string, refs ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\n", from, to)
	if cc != "" {
		fmt.Fprintf(&b, "Cc: %s\r\n", cc)
	}
	fmt.Fprintf(&b, "Subject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n", subject, id, time.Now().Format(time.RFC1123Z))
	if len(refs) > 0 {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", refs[len(refs)-1], strings.Join(refs, "> <"))
	}
	b.WriteString("\r\nHello.\r\n")
	return []byte(b.String())
}

// deliverToGroup delivers a mail to a shared address: one copy per member.
func (e *env) deliverToGroup(ib inbox.Inbox, raw []byte) {
	e.t.Helper()
	var to []string
	for _, m := range ib.Members {
		to = append(to, m.Email)
	}
	if _, err := e.sim.Deliver(raw, to...); err != nil {
		e.t.Fatal(err)
	}
}

// send sends a mail from a member's own mailbox, as Gmail does: the
// sender's copy labelled SENT, a copy for every routed recipient.
func (e *env) send(from string, raw []byte) {
	e.t.Helper()
	if _, _, err := e.sim.Send(from, raw, ""); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) conv(ib inbox.Inbox, root string) inbox.Conversation {
	e.t.Helper()
	c, err := e.store.GetConversation(context.Background(), "example.com", inbox.ConversationID(ib.ID, root))
	if err != nil {
		e.t.Fatalf("conversation of %s in %s: %v", root, ib.ID, err)
	}
	return c
}

// gmailAs is the real Gmail client of a mailbox owner, for acting "in Gmail".
func (e *env) gmailAs(user string) *gmail.Service {
	e.t.Helper()
	svc, err := gmail.NewService(context.Background(), option.WithEndpoint(e.srv.URL+"/"),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok-" + user})))
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// labelNames returns the names of the labels under prefix on the thread of
// a mail in a mailbox, read through the real client.
func (e *env) labelNames(user, rfcID, prefix string) []string {
	e.t.Helper()
	svc := e.gmailAs(user)
	m, ok := e.sim.FindByMessageID(user, rfcID)
	if !ok {
		e.t.Fatalf("%s has no %s", user, rfcID)
	}
	var ls *gmail.ListLabelsResponse
	var th *gmail.Thread
	err := patient(func() (err error) {
		if ls, err = svc.Users.Labels.List("me").Do(); err != nil {
			return err
		}
		th, err = svc.Users.Threads.Get("me", m.ThreadID).Format("minimal").Do()
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	names := map[string]string{}
	for _, l := range ls.Labels {
		names[l.Id] = l.Name
	}
	// Every message of the thread must carry the same Postfach labels.
	var out []string
	for i, msg := range th.Messages {
		var got []string
		for _, id := range msg.LabelIds {
			if strings.HasPrefix(names[id], prefix) {
				got = append(got, names[id])
			}
		}
		slices.Sort(got)
		if i == 0 {
			out = got
		} else if !slices.Equal(got, out) {
			e.t.Errorf("%s: message %d of the thread has labels %v, the first %v", user, i, got, out)
		}
	}
	return out
}

// patient retries f while the simulated quota says 429 (the tests' own
// reads count against it too).
func patient(f func() error) error {
	for {
		err := f()
		var gerr *googleapi.Error
		if !errors.As(err, &gerr) || gerr.Code != http.StatusTooManyRequests {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// check asserts the invariants every scenario must keep: each delivered mail
// recorded once per inbox it belongs to, conversations not duplicated, and
// every linked thread labelled as its conversation's state says.
func (e *env) check(wantConvs map[string]int) {
	e.t.Helper()
	ctx := context.Background()
	for ibID, want := range wantConvs {
		n, err := e.store.CountConversations(ctx, inbox.ConversationQuery{TenantID: "example.com", InboxID: ibID})
		if err != nil || n != want {
			e.t.Errorf("inbox %s holds %d conversations (%v), want %d", ibID, n, err, want)
		}
	}
	for _, ib := range []inbox.Inbox{support, sales} {
		page, err := e.store.ListConversations(ctx, inbox.ConversationQuery{TenantID: "example.com", InboxID: ib.ID, Limit: 100})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, c := range page.Conversations {
			links, err := e.store.ListThreadLinks(ctx, c.TenantID, c.ID)
			if err != nil {
				e.t.Fatal(err)
			}
			if len(links) != len(ib.Members) {
				e.t.Errorf("%q is linked in %d mailboxes, want %d", c.Subject, len(links), len(ib.Members))
			}
			for _, l := range links {
				want := []string{"Postfach/" + ib.Name + "/" + c.Status.Label()}
				if c.Assignee == l.Mailbox {
					want = append(want, "Postfach/"+ib.Name+"/Mine")
				}
				slices.Sort(want)
				if got := e.labelNames(l.Mailbox, c.RootMessageID, "Postfach/"+ib.Name+"/"); !slices.Equal(got, want) {
					e.t.Errorf("%q in %s carries %v, want %v", c.Subject, l.Mailbox, got, want)
				}
			}
		}
	}
}

func TestNewMailRepliesAndGmailLabels(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()

		e.deliverToGroup(support, mail("Dana <dana@customer.example>", "support@example.com", "", "Refund", "r1@customer.example"))
		e.settle()
		c := e.conv(support, "r1@customer.example")
		if c.Status != inbox.StatusOpen || c.Assignee != "" || c.Customer != "dana@customer.example" {
			t.Fatalf("new conversation = %+v", c)
		}
		if _, ok := e.sim.FindByMessageID("dave@example.com", "r1@customer.example"); ok {
			t.Fatal("dave got a support mail")
		}
		e.check(map[string]int{"support": 1, "sales": 0})

		// Bob answers from his mailbox, copying the group: Pending, first response.
		e.send("bob@example.com", mail("Bob <bob@example.com>", "dana@customer.example", "support@example.com", "Re: Refund", "b1@example.com", "r1@customer.example"))
		e.settle()
		if c = e.conv(support, "r1@customer.example"); c.Status != inbox.StatusPending || c.FirstResponseAt.IsZero() {
			t.Fatalf("after bob's reply: %+v", c)
		}
		e.check(map[string]int{"support": 1})

		// Carol closes it by labelling the thread in Gmail.
		e.clock.Advance(time.Minute)
		carol := e.gmailAs("carol@example.com")
		ls, _ := carol.Users.Labels.List("me").Do()
		closed := ""
		for _, l := range ls.Labels {
			if l.Name == "Postfach/Support/Closed" {
				closed = l.Id
			}
		}
		m, _ := e.sim.FindByMessageID("carol@example.com", "r1@customer.example")
		if _, err := carol.Users.Threads.Modify("me", m.ThreadID, &gmail.ModifyThreadRequest{AddLabelIds: []string{closed}}).Do(); err != nil {
			t.Fatal(err)
		}
		e.settle()
		if c = e.conv(support, "r1@customer.example"); c.Status != inbox.StatusClosed || c.UpdatedBy != "carol@example.com" {
			t.Fatalf("after carol's label: %+v", c)
		}
		e.check(map[string]int{"support": 1})

		// The customer answers: reopened.
		e.clock.Advance(time.Minute)
		e.deliverToGroup(support, mail("Dana <dana@customer.example>", "support@example.com", "", "Re: Refund", "r2@customer.example", "r1@customer.example", "b1@example.com"))
		e.settle()
		if c = e.conv(support, "r1@customer.example"); c.Status != inbox.StatusOpen {
			t.Fatalf("after the customer's reply: %+v", c)
		}

		// Bob takes it by adding Mine in his own mailbox.
		e.clock.Advance(time.Minute)
		bob := e.gmailAs("bob@example.com")
		ls, _ = bob.Users.Labels.List("me").Do()
		mine := ""
		for _, l := range ls.Labels {
			if l.Name == "Postfach/Support/Mine" {
				mine = l.Id
			}
		}
		m, _ = e.sim.FindByMessageID("bob@example.com", "r2@customer.example")
		if _, err := bob.Users.Messages.Modify("me", m.ID, &gmail.ModifyMessageRequest{AddLabelIds: []string{mine}}).Do(); err != nil {
			t.Fatal(err)
		}
		e.settle()
		if c = e.conv(support, "r1@customer.example"); c.Assignee != "bob@example.com" {
			t.Fatalf("after bob's Mine label: %+v", c)
		}
		e.check(map[string]int{"support": 1, "sales": 0})

		acts, err := e.store.ListActivity(ctx, "example.com", c.ID, 20)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for i := len(acts) - 1; i >= 0; i-- {
			kinds = append(kinds, string(acts[i].Kind))
		}
		if got, want := strings.Join(kinds, ","), "created,status,status,reopened,assigned"; got != want {
			t.Errorf("activity = %s, want %s", got, want)
		}
	})
}

func TestMailToTwoInboxes(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		raw := mail("Erin <erin@customer.example>", "support@example.com, sales@example.com", "", "Both", "both@customer.example")
		if _, err := e.sim.Deliver(raw, mailboxes...); err != nil {
			t.Fatal(err)
		}
		e.settle()
		// One conversation in each inbox, however many mailboxes carry the mail.
		e.check(map[string]int{"support": 1, "sales": 1})
	})
}

// TestUnreliableNotifications delivers notifications duplicated, reordered
// and partly dropped; the sweep recovers mailboxes whose notifications were
// all lost.
func TestUnreliableNotifications(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		for i := range 12 {
			e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", fmt.Sprintf("Mail %d", i), fmt.Sprintf("m%d@customer.example", i)))
		}
		notes := e.take()
		rng := rand.New(rand.NewPCG(1, 2))
		var chaos []gmailsim.Notification
		for _, n := range notes {
			if n.EmailAddress == "carol@example.com" {
				continue // every notification of carol's mailbox is lost
			}
			switch rng.IntN(4) {
			case 0: // dropped
			case 1:
				chaos = append(chaos, n, n) // duplicated
			default:
				chaos = append(chaos, n)
			}
		}
		rng.Shuffle(len(chaos), func(i, j int) { chaos[i], chaos[j] = chaos[j], chaos[i] })
		// The last notification of each mailbox arrives (Gmail sends one per
		// change; one surviving notification suffices).
		chaos = append(chaos, gmailsim.Notification{EmailAddress: "alice@example.com", HistoryID: notes[len(notes)-1].HistoryID})
		e.push(e.syncer, chaos)
		for _, n := range notes {
			if n.EmailAddress == "bob@example.com" {
				e.push(e.syncer, []gmailsim.Notification{n})
			}
		}
		e.clock.Advance(time.Hour)
		if _, err := e.syncer.Sweep(context.Background(), 15*time.Minute); err != nil {
			t.Fatal(err)
		}
		e.settle()
		e.check(map[string]int{"support": 12})
	})
}

// TestHistoryGoneKeepsState expires the history mid-stream: the full resync
// adds the missing mail and keeps every owner, status, tag and note.
func TestHistoryGoneKeepsState(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Before", "before@customer.example"))
		e.settle()
		c := e.conv(support, "before@customer.example")
		ev, err := c.Assign(support, "alice@example.com", "carol@example.com", e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.UpdateConversation(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
		if ev, err = c.AddTag("carol@example.com", "vip", e.clock.Now()); err != nil {
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
		e.take()

		for i := range 3 {
			e.deliverToGroup(support, mail("d@customer.example", "support@example.com", "", "During", fmt.Sprintf("during%d@customer.example", i)))
		}
		notes := e.take()
		// Half of the history is processed, then Gmail forgets it.
		e.push(e.syncer, notes[:1])
		for _, m := range mailboxes {
			mb, err := e.store.GetMailbox(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.sim.ExpireHistory(m, notes[len(notes)-1].HistoryID); err != nil {
				t.Fatal(err)
			}
			_ = mb
		}
		e.push(e.syncer, notes)
		e.settle()
		e.check(map[string]int{"support": 4})
		got := e.conv(support, "before@customer.example")
		if got.Assignee != "carol@example.com" || !slices.Equal(got.Tags, []string{"vip"}) || got.Version != c.Version {
			t.Errorf("state after full resync = %+v, want carol, [vip], v%d", got, c.Version)
		}
		notesNow, _ := e.store.ListNotes(ctx, "example.com", c.ID, 10)
		if len(notesNow) != 1 {
			t.Errorf("notes after full resync: %v", notesNow)
		}
	})
}

// TestRateLimitBursts makes Gmail answer 429 and 403 rate limits and 5xx in
// bursts, and caps the quota: the sync backs off and completes.
func TestRateLimitBursts(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{quota: 250, store: store}) // Gmail's per-user limit
		for i := range 12 {
			e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", fmt.Sprintf("Burst %d", i), fmt.Sprintf("burst%d@customer.example", i)))
		}
		for _, m := range support.Members {
			e.sim.InjectFaults(m.Email, "messages.get", gmailsim.FaultRateLimited, gmailsim.FaultRateLimited, gmailsim.FaultUserRateLimited, gmailsim.FaultBackendError)
			e.sim.InjectFaults(m.Email, "history.list", gmailsim.FaultRateLimited, gmailsim.FaultUnavailable)
			e.sim.InjectFaults(m.Email, "threads.modify", gmailsim.FaultRateLimited)
		}
		e.settle()
		e.check(map[string]int{"support": 12})
	})
}

// failingStore fails chosen calls, to stop a sync between fetch and commit
// or between commit and cursor advance, as a crash would.
type failingStore struct {
	*countingStore
	failAppends atomic.Int32 // fail this many Create/AppendMessage calls
	failAdvance atomic.Bool  // fail cursor advances
}

var errCrash = errors.New("crash")

func (f *failingStore) CreateConversation(ctx context.Context, c inbox.Conversation, ids []string, ev inbox.Activity, more ...inbox.Activity) error {
	if f.failAppends.Add(-1) >= 0 {
		return errCrash
	}
	return f.countingStore.CreateConversation(ctx, c, ids, ev, more...)
}

func (f *failingStore) UpdateMailbox(ctx context.Context, addr string, fn func(*inbox.Mailbox) error) (inbox.Mailbox, error) {
	if f.failAdvance.Load() {
		return f.countingStore.UpdateMailbox(ctx, addr, func(m *inbox.Mailbox) error {
			before := m.HistoryID
			if err := fn(m); err != nil {
				return err
			}
			if m.HistoryID != before {
				return errCrash
			}
			return nil
		})
	}
	return f.countingStore.UpdateMailbox(ctx, addr, fn)
}

func TestCrashBetweenFetchAndCommit(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		fs := &failingStore{countingStore: e.store}
		crashing := syncer.New(syncer.Options{Store: fs, Gmail: e.dialer, Holder: "doomed", Topic: topic, Now: e.clock.Now})
		for i := range 5 {
			e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", fmt.Sprintf("Crash %d", i), fmt.Sprintf("crash%d@customer.example", i)))
		}
		notes := e.take()
		// Fetched, then the process dies before the first commit: the lease is
		// left held, the cursor where it was.
		fs.failAppends.Store(1)
		before, _ := e.store.GetMailbox(ctx, "bob@example.com")
		if err := crashing.Notify(ctx, "bob@example.com", notes[len(notes)-1].HistoryID); err != nil {
			t.Fatal(err)
		}
		if err := crashing.Sync(ctx, "bob@example.com"); !errors.Is(err, errCrash) {
			t.Fatalf("sync = %v, want the crash", err)
		}
		after, _ := e.store.GetMailbox(ctx, "bob@example.com")
		if after.HistoryID != before.HistoryID {
			t.Fatalf("cursor moved %d→%d although nothing was committed", before.HistoryID, after.HistoryID)
		}
		// Commit, then die before the cursor moves.
		fs.failAdvance.Store(true)
		if err := crashing.Sync(ctx, "carol@example.com"); !errors.Is(err, errCrash) {
			t.Fatalf("sync = %v, want the crash", err)
		}
		// A new instance takes over once the dead one's lease expires.
		restarted := e.newSyncer("instance-2")
		e.clock.Advance(5 * time.Minute)
		e.push(restarted, notes)
		e.syncer = restarted
		e.settle()
		e.check(map[string]int{"support": 5})
	})
}

func TestLeaseKeepsSecondInstanceOut(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		if _, err := e.store.UpdateMailbox(ctx, "bob@example.com", func(m *inbox.Mailbox) error {
			return m.Acquire("other-instance", e.clock.Now(), time.Minute)
		}); err != nil {
			t.Fatal(err)
		}
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "Leased", "leased@customer.example"))
		before, _ := e.store.GetMailbox(ctx, "bob@example.com")
		if err := e.syncer.Sync(ctx, "bob@example.com"); err != nil {
			t.Fatal(err)
		}
		after, _ := e.store.GetMailbox(ctx, "bob@example.com")
		if after.HistoryID != before.HistoryID || after.LeaseHolder != "other-instance" {
			t.Fatalf("synced under another instance's lease: %+v", after)
		}
	})
}

// releaseHook runs once, right after a sync released a mailbox's lease and
// before that sync decided whether to go round again: the moment a
// notification used to be lost.
type releaseHook struct {
	*countingStore
	holder string
	armed  atomic.Bool // the holder took the lease
	fired  atomic.Bool
	hook   func()
}

func (r *releaseHook) UpdateMailbox(ctx context.Context, addr string, fn func(*inbox.Mailbox) error) (inbox.Mailbox, error) {
	m, err := r.countingStore.UpdateMailbox(ctx, addr, fn)
	if err == nil && m.LeaseHolder == r.holder {
		r.armed.Store(true)
	}
	if err == nil && m.LeaseHolder == "" && r.armed.Load() && r.fired.CompareAndSwap(false, true) {
		r.hook()
	}
	return m, err
}

// TestKickNeverLosesAWakeUp: a notification that arrives while a background
// sync is finishing makes it go round again; before, Kick saw the sync
// running, skipped, and the mail waited for the next sweep.
func TestKickNeverLosesAWakeUp(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		rh := &releaseHook{countingStore: e.store, holder: "kicker"}
		s := syncer.New(syncer.Options{Store: rh, Gmail: e.dialer, Holder: "kicker", Topic: topic, Now: e.clock.Now})
		rh.hook = func() {
			if _, err := e.sim.Deliver(mail("c@customer.example", "support@example.com", "", "Late", "late@customer.example"), "bob@example.com"); err != nil {
				t.Error(err)
			}
			for _, n := range e.take() {
				if err := s.Notify(ctx, n.EmailAddress, n.HistoryID); err != nil {
					t.Error(err)
				}
				s.Kick(ctx, n.EmailAddress)
			}
		}
		e.sim.Deliver(mail("c@customer.example", "support@example.com", "", "First", "first@customer.example"), "bob@example.com")
		for _, n := range e.take() {
			if err := s.Notify(ctx, n.EmailAddress, n.HistoryID); err != nil {
				t.Fatal(err)
			}
			s.Kick(ctx, n.EmailAddress)
		}
		s.Wait()
		mb, err := e.store.GetMailbox(ctx, "bob@example.com")
		if err != nil || mb.HistoryID < mb.NotifiedHistoryID {
			t.Fatalf("bob's mailbox left behind: cursor %d, notified %d (%v)", mb.HistoryID, mb.NotifiedHistoryID, err)
		}
		if _, err := e.store.GetConversation(ctx, "example.com", inbox.ConversationID("support", "late@customer.example")); err != nil {
			t.Fatalf("the late mail was not synced: %v", err)
		}
	})
}

// TestKickOutwaitsADeadInstancesLease: a push that finds the mailbox held
// by another instance is acknowledged, trusting that instance to read what
// it announced. Found by `postfach chaos`: when that instance had been
// killed mid-sync, nobody read it until the next push after its lease ran
// out, or the sweep a quarter of an hour later; the last mail of a burst
// stayed unsynced. Now the background sync looks again once the lease
// has run out.
func TestKickOutwaitsADeadInstancesLease(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		if _, err := e.store.UpdateMailbox(ctx, "bob@example.com", func(m *inbox.Mailbox) error {
			return m.Acquire("killed-instance", e.clock.Now(), 500*time.Millisecond)
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sim.Deliver(mail("c@customer.example", "support@example.com", "", "Orphan", "orphan@customer.example"), "bob@example.com"); err != nil {
			t.Fatal(err)
		}
		for _, n := range e.take() {
			if err := e.syncer.Notify(ctx, n.EmailAddress, n.HistoryID); err != nil {
				t.Fatal(err)
			}
			e.syncer.Kick(ctx, n.EmailAddress)
		}
		e.syncer.Wait()
		if _, err := e.store.GetConversation(ctx, "example.com", inbox.ConversationID("support", "orphan@customer.example")); err != nil {
			t.Fatalf("the mail announced while a killed instance held the lease was not synced: %v", err)
		}
		mb, err := e.store.GetMailbox(ctx, "bob@example.com")
		if err != nil || mb.HistoryID < mb.NotifiedHistoryID || mb.LeaseHolder != "" {
			t.Fatalf("bob's mailbox: cursor %d, notified %d, lease %q (%v)", mb.HistoryID, mb.NotifiedHistoryID, mb.LeaseHolder, err)
		}
	})
}
