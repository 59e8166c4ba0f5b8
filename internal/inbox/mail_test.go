package inbox

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestMailRecipients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    Headers
		want []string
	}{
		{"to and cc", Headers{To: "Support <Support@Example.com>, bob@example.com", Cc: "x@y.example"},
			[]string{"bob@example.com", "support@example.com", "x@y.example"}},
		{"delivered-to and x-original-to", Headers{DeliveredTo: []string{"carol@example.com", "support@example.com"}, XOriginalTo: "sales@example.com"},
			[]string{"carol@example.com", "sales@example.com", "support@example.com"}},
		{"google group list-id", Headers{ListID: "Support team <support.example.com>"}, []string{"support@example.com"}},
		{"list-id without domain", Headers{ListID: "<localonly>"}, nil},
		{"broken address keeps the good one", Headers{To: "good@example.com, <<<bad"}, []string{"good@example.com"}},
		{"undisclosed recipients", Headers{To: "undisclosed-recipients:;"}, nil},
		{"garbage", Headers{To: "\x00\xff", ListID: "<<>>", DeliveredTo: []string{"nope"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := slices.Sorted(maps.Keys(tc.h.Mail().Recipients))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Recipients = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMailHostileHeaders: header values as Gmail returns them (decoded
// once already) are never decoded again, names keep what a decoded display
// name may hold, and every text comes out valid UTF-8 on one line.
func TestMailHostileHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		h           Headers
		wantSubject string
		wantFrom    Address
		wantToCc    []Address
	}{
		{"nested encoded word in the name is kept as Gmail decoded it",
			Headers{From: "=?UTF-8?B?/w==?= <nora@customer.example>", Subject: "Hi"},
			"Hi", Address{"nora@customer.example", "=?UTF-8?B?/w==?="}, nil},
		{"literal encoded word in the subject",
			Headers{From: "nora@customer.example", Subject: "=?UTF-8?B?SGVsbG8=?="},
			"=?UTF-8?B?SGVsbG8=?=", Address{"nora@customer.example", ""}, nil},
		{"invalid UTF-8 in subject and name",
			Headers{From: "N\xffra <nora@customer.example>", Subject: "Bad \xfe\xff bytes"},
			"Bad \uFFFD bytes", Address{"nora@customer.example", "N\uFFFDra"}, nil},
		{"quoted name with comma and angle brackets",
			Headers{From: `"Doe, Jane <CEO>" <jane@x.example>`, Subject: "s"},
			"s", Address{"jane@x.example", "Doe, Jane <CEO>"}, nil},
		{"the same name decoded by Gmail, unquoted",
			Headers{From: `Doe, Jane <CEO> <jane@x.example>`, Subject: "s"},
			"s", Address{"jane@x.example", "Doe, Jane <CEO>"}, nil},
		{"quoted name with escaped quotes",
			Headers{From: `"Jane \"JJ\" Doe" <jane@x.example>`},
			"", Address{"jane@x.example", `Jane "JJ" Doe`}, nil},
		{"unbalanced quote does not swallow the list",
			Headers{From: `Jane "JJ <jane@x.example>`, To: `"Bob <bob@x.example>, carol@x.example`},
			"", Address{"jane@x.example", `Jane "JJ`}, []Address{{"bob@x.example", `"Bob`}, {"carol@x.example", ""}}},
		{"list with decoded names holding commas",
			Headers{To: `Doe, Jane <jane@x.example>, support@example.com, Smith, Bob (Sales) <bob@x.example>`},
			"", Address{}, []Address{{"jane@x.example", "Doe, Jane"}, {"support@example.com", ""}, {"bob@x.example", "Smith, Bob (Sales)"}}},
		{"bidi and control characters",
			Headers{From: "Eve\u202e\u2066 \x07Admin\u2069 <eve@x.example>", Subject: "Re:\r\n\tinvoice\u202egpj.exe\x00"},
			"Re: invoicegpj.exe", Address{"eve@x.example", "Eve Admin"}, nil},
		{"empty From", Headers{From: "", Subject: "  "}, "", Address{}, nil},
		{"From with only an address", Headers{From: "<Nora@Customer.Example>"}, "", Address{"nora@customer.example", ""}, nil},
		{"address with a comment name", Headers{From: "nora@customer.example (Nora N.)"}, "", Address{"nora@customer.example", "Nora N."}, nil},
		{"group syntax", Headers{To: "Team: a@x.example, b@x.example;, c@x.example"}, "", Address{},
			[]Address{{"a@x.example", ""}, {"b@x.example", ""}, {"c@x.example", ""}}},
		{"long subject is cut", Headers{Subject: strings.Repeat("x", 2000)}, strings.Repeat("x", maxSubjectRunes-1) + "…", Address{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := tc.h.Mail()
			if m.Subject != tc.wantSubject {
				t.Errorf("Subject = %q, want %q", m.Subject, tc.wantSubject)
			}
			if m.From != tc.wantFrom {
				t.Errorf("From = %+v, want %+v", m.From, tc.wantFrom)
			}
			if !slices.Equal(m.ToCc, tc.wantToCc) {
				t.Errorf("ToCc = %+v, want %+v", m.ToCc, tc.wantToCc)
			}
			for _, s := range []string{m.Subject, m.From.Name, m.From.Email} {
				if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || bidiControl(r) }) {
					t.Errorf("unclean text %q", s)
				}
			}
		})
	}
}

// TestMailWhoSent: only the copy Gmail labels SENT in the sender's own
// mailbox makes a mail the team's; From alone is customer mail at most.
func TestMailWhoSent(t *testing.T) {
	t.Parallel()
	ib := Inbox{TenantID: "example.com", ID: "support", Address: "support@example.com", Name: "Support",
		Settings: DefaultInboxSettings(), Members: []Member{{Email: "bob@example.com", Name: "Bob", Role: RoleAgent}, {Email: "alice@example.com", Name: "Alice", Role: RoleAdmin}}}
	reply := func(mailbox string, sent bool, from string) Mail {
		return Headers{From: from, To: "nora@customer.example", Cc: "support@example.com", Subject: "Re: Help",
			MessageID: "<r@x>", InReplyTo: "<root@x>", References: "<root@x>", Mailbox: mailbox, Sent: sent}.Mail()
	}
	tests := []struct {
		name                      string
		m                         Mail
		outbound, unproven, forge bool
		wantStatus                Status
		wantActor                 string
		wantFirstResponse         bool
	}{
		{"sent from bob's own mailbox", reply("bob@example.com", true, "Bob <bob@example.com>"), true, false, false, StatusPending, "bob@example.com", true},
		{"bob sending as the shared address", reply("bob@example.com", true, "Support <support@example.com>"), true, false, false, StatusPending, "bob@example.com", true},
		{"sent from the shared mailbox", reply("support@example.com", true, "support@example.com"), true, false, false, StatusPending, "", true},
		{"bob's reply, the group's copy in alice's mailbox", reply("alice@example.com", false, "Bob <bob@example.com>"), false, true, false, StatusClosed, "", false},
		{"forged: from bob, in bob's mailbox, not SENT", reply("bob@example.com", false, "Bob <bob@example.com>"), false, true, true, StatusClosed, "", false},
		{"sent by alice but claiming to be bob", reply("alice@example.com", true, "Bob <bob@example.com>"), false, true, false, StatusClosed, "", false},
		{"SENT in a mailbox outside the team", reply("eve@x.example", true, "Bob <bob@example.com>"), false, true, false, StatusClosed, "", false},
		{"customer", reply("alice@example.com", false, "nora@customer.example"), false, false, false, StatusOpen, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.m.Outbound(ib); got != tc.outbound {
				t.Errorf("Outbound = %v", got)
			}
			if got := tc.m.Unproven(ib); got != tc.unproven {
				t.Errorf("Unproven = %v", got)
			}
			if got := tc.m.Forged(); got != tc.forge {
				t.Errorf("Forged = %v", got)
			}
			now := time.Now()
			// A closed conversation: a customer reopens it, the team's
			// reply records the first response, an unproven one does nothing.
			c, _, err := NewConversation(ib, "root@x", "Help", "nora@customer.example", "", now.Add(-time.Hour), now.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			c.Status = StatusClosed
			if tc.outbound {
				c.Status = StatusOpen
			}
			ev := c.Receive(ib, tc.m, now)
			if c.Status != tc.wantStatus {
				t.Errorf("status = %s, want %s", c.Status, tc.wantStatus)
			}
			if ev != nil && ev.Actor != tc.wantActor {
				t.Errorf("actor = %q, want %q", ev.Actor, tc.wantActor)
			}
			if got := !c.FirstResponseAt.IsZero(); got != tc.wantFirstResponse {
				t.Errorf("first response recorded = %v", got)
			}
		})
	}
}

// TestTeamReplyOlderThanLastMail: a team reply synced after a later
// customer mail records the first response but does not hide that mail by
// moving the conversation to Pending.
func TestTeamReplyOlderThanLastMail(t *testing.T) {
	t.Parallel()
	ib := Inbox{TenantID: "example.com", ID: "support", Address: "support@example.com", Name: "Support",
		Settings: DefaultInboxSettings(), Members: []Member{{Email: "bob@example.com", Role: RoleAgent}}}
	now := time.Now()
	c, _, _ := NewConversation(ib, "root@x", "Help", "nora@customer.example", "", now.Add(-time.Hour), now.Add(-time.Hour))
	c.LastMessageAt = now.Add(-time.Minute)
	m := Headers{From: "bob@example.com", To: "nora@customer.example", MessageID: "<b@x>", References: "<root@x>",
		Date: now.Add(-30 * time.Minute), Mailbox: "bob@example.com", Sent: true}.Mail()
	if ev := c.Receive(ib, m, now); ev != nil || c.Status != StatusOpen || c.FirstResponseAt.IsZero() {
		t.Errorf("status %s, event %v, first response %v", c.Status, ev, c.FirstResponseAt)
	}
}
