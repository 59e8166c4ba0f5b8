package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/sqlitedb"
)

// seedReportDB writes a SQLite database with inbox support of
// example.com: on 2025-03-03 two conversations came, bob answered the
// first after 30 minutes and closed it after 2 hours; the second waits.
func seedReportDB(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "postfach.db")
	store, err := sqlitedb.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	at := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	if err := store.CreateTenant(ctx, inbox.Tenant{Domain: "example.com", CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	ib := inbox.Inbox{TenantID: "example.com", ID: "support", Address: "support@example.com", Name: "Support",
		Members:  []inbox.Member{{Email: "bob@example.com", Name: "Bob", Role: inbox.RoleAgent}},
		Settings: inbox.DefaultInboxSettings(), CreatedAt: at}
	if err := store.CreateInbox(ctx, ib); err != nil {
		t.Fatal(err)
	}
	for i, root := range []string{"a@customer.example", "b@customer.example"} {
		m := inbox.Mail{Thread: inbox.ThreadHeaders{MessageID: root}, From: inbox.Address{Email: "c@customer.example"}, Date: at.Add(time.Duration(i) * time.Hour)}
		c, ev, err := inbox.StartConversation(ib, m, m.Date)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CreateConversation(ctx, c, []string{root}, ev); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			continue
		}
		reply := inbox.Mail{Thread: inbox.ThreadHeaders{MessageID: "r@example.com", InReplyTo: root},
			From: inbox.Address{Email: "bob@example.com"}, Mailbox: "bob@example.com", Sent: true, Date: at.Add(30 * time.Minute)}
		if err := store.AppendMessage(ctx, c, []string{"r@example.com"}, c.Receive(ib, reply, reply.Date)); err != nil {
			t.Fatal(err)
		}
		ev2, err := c.SetStatus("bob@example.com", inbox.StatusClosed, at.Add(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := store.UpdateConversation(ctx, c, ev2); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestReportCommand: postfach report prints CSV with one header row and
// stable JSON, with the seeded numbers.
func TestReportCommand(t *testing.T) {
	t.Parallel()
	path := seedReportDB(t)
	env := func(k string) string {
		return map[string]string{"POSTFACH_STORE": "sqlite", "POSTFACH_SQLITE_PATH": path}[k]
	}
	args := []string{"report", "--domain", "example.com", "--inbox", "support", "--from", "2025-03-01", "--to", "2025-03-07"}

	var out bytes.Buffer
	if err := run(t.Context(), args, &out, io.Discard, env); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	headers := 0
	got := map[string]string{}
	for _, r := range rows {
		if r[0] == "inbox" {
			headers++
			continue
		}
		got[r[3]+"/"+r[4]] = r[5]
	}
	if headers != 1 || rows[0][0] != "inbox" {
		t.Errorf("%d header rows (first row %q), want exactly one, first", headers, rows[0])
	}
	for k, v := range map[string]string{
		"/received": "2", "/first_response_median_seconds": "1800", "/resolution_median_seconds": "7200",
		"bob@example.com/closed": "1", "bob@example.com/replied": "1",
	} {
		if got[k] != v {
			t.Errorf("CSV %s = %q, want %q", k, got[k], v)
		}
	}

	out.Reset()
	if err := run(t.Context(), append(args, "--format", "json"), &out, io.Discard, env); err != nil {
		t.Fatal(err)
	}
	var j struct {
		Inbox          string
		From, To       string
		Received       int
		ReceivedPerDay []int
	}
	if err := json.Unmarshal(out.Bytes(), &j); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out.String())
	}
	if j.Inbox != "support" || j.From != "2025-03-01" || j.To != "2025-03-07" || j.Received != 2 || len(j.ReceivedPerDay) != 7 || j.ReceivedPerDay[2] != 2 {
		t.Errorf("JSON: %+v", j)
	}

	for _, bad := range [][]string{
		{"report", "--domain", "example.com", "--inbox", "support", "--from", "2025-03-07", "--to", "2025-03-01"},
		{"report", "--domain", "example.com", "--inbox", "nope", "--from", "2025-03-01", "--to", "2025-03-07"},
		{"report", "--domain", "example.com", "--inbox", "support", "--from", "2025-03-01", "--to", "2025-03-07", "--format", "xlsx"},
		{"report", "--domain", "example.com", "--inbox", "support"},
	} {
		err := run(t.Context(), bad, io.Discard, io.Discard, env)
		if code := exitCode(err, io.Discard); code != 2 {
			t.Errorf("%q: exit %d (%v), want 2", bad, code, err)
		}
	}
}
