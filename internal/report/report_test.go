package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/firestoredb"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/report"
	"github.com/postfach/postfach/internal/sqlitedb"
)

// Kinds the test logs for SLA breaches and rule hits, standing in for the
// ones the SLA sweep and the rules engine define.
const (
	kindBreach  inbox.ActivityKind = "test_sla_breached"
	kindRuleHit inbox.ActivityKind = "test_rule_tagged"
)

func TestMain(m *testing.M) {
	report.BreachKinds = append(report.BreachKinds, kindBreach)
	report.RuleHitKinds = append(report.RuleHitKinds, kindRuleHit)
	os.Exit(m.Run())
}

const domain = "example.com"

var (
	alice = "alice@" + domain
	bob   = "bob@" + domain
	carol = "carol@" + domain
)

// day returns 2025-03-<d> hh:mm UTC; March 2025 starts on a Saturday.
func day(d, hh, mm int) time.Time { return time.Date(2025, 3, d, hh, mm, 0, 0, time.UTC) }

// seeder writes conversations and their history through the store, each
// change at the time given (the store's clock is the change's).
type seeder struct {
	t     *testing.T
	store inbox.Store
	ib    inbox.Inbox
	n     int
}

func (s *seeder) open(ib inbox.Inbox, at time.Time) *inbox.Conversation {
	s.t.Helper()
	s.n++
	root := fmt.Sprintf("c%d@customer.example", s.n)
	m := inbox.Mail{Thread: inbox.ThreadHeaders{MessageID: root}, Subject: fmt.Sprintf("Case %d", s.n),
		From: inbox.Address{Email: "customer@customer.example"}, Date: at}
	c, ev, err := inbox.StartConversation(ib, m, at)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.store.CreateConversation(s.t.Context(), c, []string{root}, ev); err != nil {
		s.t.Fatal(err)
	}
	return &c
}

// mail records a later mail: from a member's mailbox (a reply the sync saw
// sent) or, with from "", the customer's.
func (s *seeder) mail(c *inbox.Conversation, from string, at time.Time) {
	s.t.Helper()
	s.n++
	id := fmt.Sprintf("m%d@mail.example", s.n)
	m := inbox.Mail{Thread: inbox.ThreadHeaders{MessageID: id, InReplyTo: c.RootMessageID}, From: inbox.Address{Email: "customer@customer.example"}, Date: at}
	if from != "" {
		m.From, m.Mailbox, m.Sent = inbox.Address{Email: from}, from, true
	}
	ev := c.Receive(s.ib, m, at)
	if err := s.store.AppendMessage(s.t.Context(), *c, []string{id}, ev); err != nil {
		s.t.Fatal(err)
	}
}

func (s *seeder) change(c *inbox.Conversation, ev inbox.Activity, err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.store.UpdateConversation(s.t.Context(), *c, ev); err != nil {
		s.t.Fatal(err)
	}
}

func (s *seeder) assign(c *inbox.Conversation, actor, to string, at time.Time) {
	s.t.Helper()
	ev, err := c.Assign(s.ib, actor, to, at)
	s.change(c, ev, err)
}

func (s *seeder) close(c *inbox.Conversation, actor string, at time.Time) {
	s.t.Helper()
	ev, err := c.SetStatus(actor, inbox.StatusClosed, at)
	s.change(c, ev, err)
}

func (s *seeder) log(c *inbox.Conversation, kind inbox.ActivityKind, at time.Time) {
	s.t.Helper()
	ev := inbox.Activity{TenantID: c.TenantID, ConversationID: c.ID, ID: inbox.NewID(at), Kind: kind, At: at}
	if err := s.store.LogActivity(s.t.Context(), ev); err != nil {
		s.t.Fatal(err)
	}
}

// seed stores the week of 2025-03-03 to 2025-03-09 of inbox support, and
// conversations around it that the report must leave out. The comments
// give what each one contributes; TestReportOfSeededWeek adds them up.
func seed(t *testing.T, store inbox.Store) inbox.Inbox {
	ctx := t.Context()
	if err := store.CreateTenant(ctx, inbox.Tenant{Domain: domain, Admins: []string{alice}, CreatedAt: day(1, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	ib := inbox.Inbox{TenantID: domain, ID: "support", Address: "support@" + domain, Name: "Support",
		Members: []inbox.Member{
			{Email: alice, Name: "Alice", Role: inbox.RoleAdmin},
			{Email: bob, Name: "Bob", Role: inbox.RoleAgent},
			{Email: carol, Name: "Carol", Role: inbox.RoleAgent},
		},
		Settings: inbox.DefaultInboxSettings(), CreatedAt: day(1, 0, 0)}
	sales := ib
	sales.ID, sales.Address, sales.Name = "sales", "sales@"+domain, "Sales"
	for _, x := range []inbox.Inbox{ib, sales} {
		if err := store.CreateInbox(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	s := &seeder{t: t, store: store, ib: ib}

	// C1: assigned to bob, bob answers after 1 h, closes after 24 h.
	c1 := s.open(ib, day(3, 9, 0))
	s.assign(c1, alice, bob, day(3, 9, 10))
	s.mail(c1, bob, day(3, 10, 0))
	s.close(c1, bob, day(4, 9, 0))

	// C2: carol takes it and answers after 2 h; the customer reopens it;
	// carol closes it 48 h after it came.
	c2 := s.open(ib, day(3, 12, 0))
	s.assign(c2, carol, carol, day(3, 12, 30))
	s.mail(c2, carol, day(3, 14, 0))
	s.mail(c2, "", day(5, 8, 0))
	s.close(c2, carol, day(5, 12, 0))

	// C3: a rule hit, bob then carol assigned, a breach, carol answers
	// after 4 h; still pending.
	c3 := s.open(ib, day(4, 8, 0))
	s.log(c3, kindRuleHit, day(4, 8, 0))
	s.assign(c3, alice, bob, day(4, 8, 5))
	s.assign(c3, alice, carol, day(4, 9, 0))
	s.log(c3, kindBreach, day(4, 10, 0))
	s.mail(c3, carol, day(4, 12, 0))

	// C4: two rule hits; alice closes it after 1 h without an answer.
	c4 := s.open(ib, day(6, 10, 0))
	s.log(c4, kindRuleHit, day(6, 10, 0))
	s.log(c4, kindRuleHit, day(6, 10, 0))
	s.close(c4, alice, day(6, 11, 0))

	// C5: bob answers after 27 h, on the period's last day; his close
	// and a breach come after the period and do not count.
	c5 := s.open(ib, day(8, 20, 0))
	s.mail(c5, bob, day(9, 23, 0))
	s.close(c5, bob, day(10, 9, 0))
	s.log(c5, kindBreach, day(10, 9, 30))

	// Left out: C6 came before the period (mail in it), C7 after it, C8
	// long before (the listing stops there), C9 in another inbox.
	c6 := s.open(ib, day(2, 10, 0))
	s.assign(c6, alice, bob, day(3, 8, 0))
	s.mail(c6, bob, day(4, 9, 0))
	c7 := s.open(ib, day(10, 8, 0))
	s.assign(c7, alice, bob, day(10, 8, 30))
	s.open(ib, time.Date(2025, 2, 20, 9, 0, 0, 0, time.UTC))
	s9 := &seeder{t: t, store: store, ib: sales, n: 100}
	c9 := s9.open(sales, day(4, 9, 0))
	s9.assign(c9, alice, bob, day(4, 9, 30))
	return ib
}

// want is the report of the seeded week, added up by hand from seed's
// comments.
func want(ib inbox.Inbox, p report.Period) report.Report {
	h := time.Hour
	return report.Report{
		TenantID: domain, InboxID: "support", InboxName: "Support", Period: p,
		Received: 5, // C1-C5
		// 1 h, 2 h, 4 h, 27 h: median (2+4)/2, 90th percentile the 4th of 4.
		FirstResponse: report.Durations{Count: 4, Median: 3 * h, P90: 27 * h},
		// 1 h, 24 h, 48 h: median the 2nd, 90th percentile the 3rd of 3.
		Resolution: report.Durations{Count: 3, Median: 24 * h, P90: 48 * h},
		Agents: []report.Agent{
			{Email: alice, Name: "Alice", Closed: 1},                          // C4
			{Email: bob, Name: "Bob", Assigned: 2, Closed: 1, Replied: 2},     // C1, C3 / C1 / C1, C5
			{Email: carol, Name: "Carol", Assigned: 2, Closed: 1, Replied: 2}, // C2, C3 / C2 / C2, C3
		},
		SLABreaches: 1, // C3
		RuleHits:    3, // C3, C4 twice
		// Mar 3 … Mar 9
		ReceivedPerDay: []int{2, 1, 0, 1, 0, 1, 0},
		ResolvedPerDay: []int{0, 1, 1, 1, 0, 0, 0}, // C1 Mar 4, C2 Mar 5, C4 Mar 6
	}
}

// stores opens an empty store of each kind available: SQLite always,
// Firestore when the emulator runs.
func stores(t *testing.T) map[string]func(t *testing.T) inbox.Store {
	out := map[string]func(t *testing.T) inbox.Store{
		"sqlite": func(t *testing.T) inbox.Store {
			s, err := sqlitedb.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	if os.Getenv("FIRESTORE_EMULATOR_HOST") == "" {
		if os.Getenv("POSTFACH_REQUIRE_FIRESTORE") == "1" {
			t.Fatal("POSTFACH_REQUIRE_FIRESTORE=1 but FIRESTORE_EMULATOR_HOST is not set")
		}
		t.Log("Firestore emulator not running (FIRESTORE_EMULATOR_HOST unset): Firestore variant skipped")
		return out
	}
	out["firestore"] = func(t *testing.T) inbox.Store {
		s, err := firestoredb.OpenNamespace(t.Context(), "postfach-test", fmt.Sprintf("report-%d", time.Now().UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return out
}

// TestReportOfSeededWeek: the report of a seeded week, read from each
// store, matches the numbers added up by hand.
func TestReportOfSeededWeek(t *testing.T) {
	t.Parallel()
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			store := open(t)
			ib := seed(t, store)
			p, err := report.ParsePeriod("2025-03-03", "2025-03-09", time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			got, err := report.Build(t.Context(), store, ib, p, report.WallClock{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want(ib, p), got); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
		})
	}
}

// countingReader counts Read's store calls.
type countingReader struct {
	report.Reader
	lists, activity int
}

func (c *countingReader) ListConversations(ctx context.Context, q inbox.ConversationQuery) (inbox.ConversationPage, error) {
	c.lists++
	return c.Reader.ListConversations(ctx, q)
}

func (c *countingReader) ListActivity(ctx context.Context, tenantID, conversationID string, limit int) ([]inbox.Activity, error) {
	c.activity++
	return c.Reader.ListActivity(ctx, tenantID, conversationID, limit)
}

// TestReadCost: Read lists the conversations with mail since the period's
// start in pages and reads the activity of the received ones only.
func TestReadCost(t *testing.T) {
	t.Parallel()
	store := stores(t)["sqlite"](t)
	ib := seed(t, store)
	p, _ := report.ParsePeriod("2025-03-03", "2025-03-09", time.UTC)
	r := &countingReader{Reader: store}
	logs, partial, err := report.Read(t.Context(), r, ib, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 5 || partial || r.lists != 1 || r.activity != 5 {
		t.Errorf("Read: %d logs, partial %v, %d listings, %d activity reads; want 5, false, 1, 5", len(logs), partial, r.lists, r.activity)
	}
}

// halfHours counts every other hour: a stand-in for business hours.
type halfHours struct{}

func (halfHours) Elapsed(from, to time.Time) time.Duration { return max(0, to.Sub(from)) / 2 }

// TestComputeUsesHours: times are measured by the inbox's Hours.
func TestComputeUsesHours(t *testing.T) {
	t.Parallel()
	store := stores(t)["sqlite"](t)
	ib := seed(t, store)
	p, _ := report.ParsePeriod("2025-03-03", "2025-03-09", time.UTC)
	got, err := report.Build(t.Context(), store, ib, p, halfHours{})
	if err != nil {
		t.Fatal(err)
	}
	h := time.Hour
	if got.FirstResponse.Median != 3*h/2 || got.Resolution.P90 != 24*h {
		t.Errorf("with half hours: first response median %s, resolution p90 %s; want 1h30m0s, 24h0m0s", got.FirstResponse.Median, got.Resolution.P90)
	}
}

func TestSummaryStatistics(t *testing.T) {
	t.Parallel()
	m := time.Minute
	ib := inbox.Inbox{TenantID: domain, ID: "support", Name: "Support"}
	p, _ := report.ParsePeriod("2025-03-03", "2025-03-03", time.UTC)
	for _, tc := range []struct {
		name        string
		minutes     []int
		median, p90 time.Duration
	}{
		{"none", nil, 0, 0},
		{"one", []int{7}, 7 * m, 7 * m},
		{"odd", []int{5, 1, 3}, 3 * m, 5 * m},
		{"ten", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5*m + 30*time.Second, 9 * m},
		{"eleven", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6 * m, 10 * m},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs []report.Log
			for i, n := range tc.minutes {
				c := inbox.Conversation{TenantID: domain, InboxID: "support", ID: fmt.Sprint(i), CreatedAt: p.From, FirstResponseAt: p.From.Add(time.Duration(n) * m)}
				logs = append(logs, report.Log{Conversation: c})
			}
			got := report.Compute(ib, p, nil, logs).FirstResponse
			if got.Count != len(tc.minutes) || got.Median != tc.median || got.P90 != tc.p90 {
				t.Errorf("got %+v, want count %d median %s p90 %s", got, len(tc.minutes), tc.median, tc.p90)
			}
		})
	}
}

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	p, err := report.ParsePeriod("2025-03-29", "2025-03-31", berlin)
	if err != nil {
		t.Fatal(err)
	}
	// The clocks go forward on 2025-03-30: three days are 71 hours.
	if p.Days() != 3 || p.To.Sub(p.From) != 71*time.Hour || p.FirstDay() != "2025-03-29" || p.LastDay() != "2025-03-31" {
		t.Errorf("period %v: %d days, %s long, %s to %s", p, p.Days(), p.To.Sub(p.From), p.FirstDay(), p.LastDay())
	}
	for _, bad := range [][2]string{{"2025-03-31", "2025-03-29"}, {"2025-3-1", "2025-03-02"}, {"2024-01-01", "2025-12-31"}, {"", ""}} {
		if _, err := report.ParsePeriod(bad[0], bad[1], time.UTC); err == nil {
			t.Errorf("ParsePeriod(%q, %q) = nil error", bad[0], bad[1])
		}
	}
	last := report.LastDays(time.Date(2025, 3, 9, 23, 30, 0, 0, berlin), 7, berlin)
	if last.FirstDay() != "2025-03-03" || last.LastDay() != "2025-03-09" {
		t.Errorf("LastDays: %s to %s, want 2025-03-03 to 2025-03-09", last.FirstDay(), last.LastDay())
	}
}

// TestCSV: the CSV has one header row, then rows of six fields that a
// spreadsheet reads as they are.
func TestCSV(t *testing.T) {
	t.Parallel()
	p, _ := report.ParsePeriod("2025-03-03", "2025-03-09", time.UTC)
	r := want(inbox.Inbox{}, p)
	r.Agents = append(r.Agents, report.Agent{Email: "=cmd|x@" + domain})
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(rows[0], report.CSVHeader) {
		t.Fatalf("header %q", rows[0])
	}
	vals := map[string]string{}
	for _, row := range rows[1:] {
		if row[0] == "inbox" {
			t.Errorf("a second header row: %q", row)
		}
		if row[0] != "support" || row[1] != "2025-03-03" || row[2] != "2025-03-09" {
			t.Errorf("row %q", row)
		}
		vals[row[3]+"/"+row[4]] = row[5]
	}
	for k, v := range map[string]string{
		"/received": "5", "/first_response_median_seconds": "10800", "/resolution_p90_seconds": "172800",
		"/sla_breaches": "1", "/rule_hits": "3", "/partial": "0", bob + "/replied": "2", "'=cmd|x@" + domain + "/closed": "0",
	} {
		if vals[k] != v {
			t.Errorf("%s = %q, want %q", k, vals[k], v)
		}
	}
	if len(rows) != 1+10+3*4 {
		t.Errorf("%d rows, want %d", len(rows), 1+10+3*4)
	}
}

// TestJSONStable: the JSON form's field names and order are fixed.
func TestJSONStable(t *testing.T) {
	t.Parallel()
	p, _ := report.ParsePeriod("2025-03-03", "2025-03-04", time.UTC)
	r := report.Report{TenantID: domain, InboxID: "support", InboxName: "Support", Period: p, Received: 2,
		FirstResponse:  report.Durations{Count: 1, Median: 90 * time.Second, P90: 90 * time.Second},
		Agents:         []report.Agent{{Email: bob, Name: "Bob", Assigned: 1}},
		ReceivedPerDay: []int{2, 0}, ResolvedPerDay: []int{0, 0}}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{
  "tenant": "example.com",
  "inbox": "support",
  "inboxName": "Support",
  "from": "2025-03-03",
  "to": "2025-03-04",
  "timeZone": "UTC",
  "received": 2,
  "firstResponse": {
    "count": 1,
    "medianSeconds": 90,
    "p90Seconds": 90
  },
  "resolution": {
    "count": 0,
    "medianSeconds": 0,
    "p90Seconds": 0
  },
  "slaBreaches": 0,
  "ruleHits": 0,
  "agents": [
    {
      "email": "bob@example.com",
      "name": "Bob",
      "assigned": 1,
      "closed": 0,
      "replied": 0
    }
  ],
  "receivedPerDay": [
    2,
    0
  ],
  "resolvedPerDay": [
    0,
    0
  ],
  "partial": false
}
`
	if diff := cmp.Diff(wantJSON, buf.String()); diff != "" {
		t.Errorf("json (-want +got):\n%s", diff)
	}
	var back map[string]any
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
}

// TestMarkPendingIsNoReply: "Mark pending" before any reply is not
// counted as a reply; after the team's first response it is.
func TestMarkPendingIsNoReply(t *testing.T) {
	t.Parallel()
	p, _ := report.ParsePeriod("2025-03-03", "2025-03-03", time.UTC)
	ib := inbox.Inbox{TenantID: domain, ID: "support", Settings: inbox.DefaultInboxSettings()}
	pending := func(at time.Time) inbox.Activity {
		return inbox.Activity{Kind: inbox.ActStatus, Actor: bob, From: "open", To: "pending", At: at}
	}
	c := inbox.Conversation{TenantID: domain, InboxID: "support", ID: "a", CreatedAt: day(3, 9, 0)}
	answered := c
	answered.ID, answered.FirstResponseAt = "b", day(3, 10, 0)
	r := report.Compute(ib, p, nil, []report.Log{
		{Conversation: c, Activity: []inbox.Activity{pending(day(3, 9, 30))}},
		{Conversation: answered, Activity: []inbox.Activity{pending(day(3, 10, 0))}},
	})
	if len(r.Agents) != 1 || r.Agents[0].Replied != 1 {
		t.Errorf("agents %+v, want bob with 1 reply", r.Agents)
	}
}

// TestCustomStatusesCount: an inbox with statuses of its own records a
// status change as its category followed by the status's name
// ("closed:Done"); closing into a named closed status is a close, and
// moving from open to a named reply-status pending is a reply. Before,
// only the bare category counted.
func TestCustomStatusesCount(t *testing.T) {
	t.Parallel()
	p, _ := report.ParsePeriod("2025-03-03", "2025-03-03", time.UTC)
	ib := inbox.Inbox{TenantID: domain, ID: "support", Settings: inbox.DefaultInboxSettings()}
	c := inbox.Conversation{TenantID: domain, InboxID: "support", ID: "a", Status: inbox.StatusClosed, CreatedAt: day(3, 9, 0), FirstResponseAt: day(3, 9, 30)}
	r := report.Compute(ib, p, nil, []report.Log{{Conversation: c, Activity: []inbox.Activity{
		{Kind: inbox.ActStatus, Actor: bob, From: "open", To: "pending:Waiting on customer", At: day(3, 9, 30)},
		{Kind: inbox.ActStatus, Actor: bob, From: "pending:Waiting on customer", To: "closed:Done", At: day(3, 11, 0)},
	}}})
	if len(r.Agents) != 1 || r.Agents[0].Closed != 1 || r.Agents[0].Replied != 1 {
		t.Errorf("agents %+v, want bob with 1 close and 1 reply", r.Agents)
	}
	if r.Resolution.Count != 1 {
		t.Errorf("resolution %+v, want 1 resolved", r.Resolution)
	}
}

// TestRulesAndBreachesFromTheLog: the entries the rules engine and the
// SLA sweep write are what the report counts: one hit per rule and
// message however many actions the rule took, one breach per breached
// clock.
func TestRulesAndBreachesFromTheLog(t *testing.T) {
	t.Parallel()
	ib := inbox.Inbox{TenantID: domain, ID: "support", Name: "Support"}
	p, _ := report.ParsePeriod("2025-03-03", "2025-03-03", time.UTC)
	at := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	c := inbox.Conversation{TenantID: domain, ID: "c1", InboxID: "support", Status: inbox.StatusOpen, CreatedAt: at, LastMessageAt: at}
	vip := inbox.ViaRule(inbox.Rule{ID: "r1", Name: "VIP"})
	billing := inbox.ViaRule(inbox.Rule{ID: "r2", Name: "Billing"})
	log := []inbox.Activity{
		{Kind: inbox.ActTagged, To: "vip", Via: vip, At: at},
		{Kind: inbox.ActAssigned, To: alice, Via: vip, At: at},
		{Kind: inbox.ActTagged, To: "billing", Via: billing, At: at},
		{Kind: inbox.ActTagged, To: "vip", Via: vip, At: at.Add(time.Hour)}, // the next message
		{Kind: inbox.ActAssigned, To: bob, Via: inbox.ViaReassign, At: at.Add(2 * time.Hour)},
		{Kind: inbox.ActSLAAtRisk, To: string(inbox.ClockFirstResponse), At: at.Add(3 * time.Hour)},
		{Kind: inbox.ActSLABreached, To: string(inbox.ClockFirstResponse), At: at.Add(4 * time.Hour)},
	}
	r := report.Compute(ib, p, nil, []report.Log{{Conversation: c, Activity: log}})
	if r.RuleHits != 3 || r.SLABreaches != 1 {
		t.Errorf("rule hits %d, breaches %d; want 3 and 1", r.RuleHits, r.SLABreaches)
	}
}

// TestHoursOfPolicy: a report of an inbox with an SLA policy counts in its
// business hours and starts its days in their zone.
func TestHoursOfPolicy(t *testing.T) {
	t.Parallel()
	ib := inbox.Inbox{}
	if h, loc := report.HoursOf(ib); h != (report.WallClock{}) || loc != time.UTC {
		t.Errorf("without a policy: %T %v, want wall clock in UTC", h, loc)
	}
	ib.Settings.Workflow.SLA = inbox.SLAPolicy{FirstResponse: 4 * time.Hour, Hours: inbox.BusinessHours{Zone: "Europe/Berlin"}}
	ib.Settings.Workflow.SLA.Hours.Week[time.Monday] = []inbox.Span{{Start: 9 * 60, End: 17 * 60}}
	h, loc := report.HoursOf(ib)
	if loc.String() != "Europe/Berlin" {
		t.Errorf("zone %v, want Europe/Berlin", loc)
	}
	// Monday 2025-03-03 08:00 to 12:00 Berlin: three business hours.
	from := time.Date(2025, 3, 3, 8, 0, 0, 0, loc)
	if got := h.Elapsed(from, from.Add(4*time.Hour)); got != 3*time.Hour {
		t.Errorf("Elapsed = %v, want 3h", got)
	}
}
