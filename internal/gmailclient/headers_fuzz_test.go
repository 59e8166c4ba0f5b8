package gmailclient

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/inbox"
)

// fuzzInbox is the inbox the fuzzed mails arrive in.
var fuzzInbox = inbox.Inbox{TenantID: "example.com", ID: "support", Address: "support@example.com", Name: "Support",
	Members: []inbox.Member{{Email: "alice@example.com", Name: "Alice", Role: inbox.RoleAdmin}}}

// FuzzMailHeaders reads fuzzed headers the way the product does: Gmail's
// payload.headers through headersOf (what the syncer and the sidebar get
// from users.messages.get), then inbox.Headers.Mail, the thread's ids and
// the conversation a first mail opens. Nothing may panic; every text out
// is valid UTF-8; subjects and display names carry no control, line
// separator or bidi formatting character and keep their length bounds;
// every Message-ID is well-formed; every address has an @ and no space.
func FuzzMailHeaders(f *testing.F) {
	f.Add("<m1@x.example>", "", "", "Refund please", `"Doe, Jane" <jane@x.example>`, "support@example.com", "", "support@example.com", "", "Mon, 30 Nov 2026 12:00:00 +0100")
	f.Add("<m3@x>", "<m2@x>", "<m1@x> <m2@x>\r\n <m0@x>", "Re: =?UTF-8?B?w6TDtsO8?=", "=?x-unknown?Q?J=FCrgen?= <j@x.example>", "a@x, (comment, with comma) b@y; Team: c@z, d@z;", `"Quote \"in\" name" <q@x>`, "support@example.com", "Support <support.example.com>", "garbage")
	f.Add("\x00<a\x00b@x>", "<\xff\xfe@x>", "<\xed\xa0\x80@x> <<>>", "\u202eevil\u2066.exe\u2069 \x1b[31m\r\nBcc: x@y", "\u202eMallory\u200f <m@x>", "\"unterminated <a@x>, b@y", "<<<<a@b>>>>", "\xed\xa0\x80@x", "<>", "")
	f.Add(strings.Repeat("<a@b>", 300), strings.Repeat("x", 1000), strings.Repeat("<r@x> ", 500), strings.Repeat("ä", 600), strings.Repeat("N", 300)+" <n@x>", strings.Repeat("a@x,", 200), "", "", "", "")
	f.Fuzz(func(t *testing.T, messageID, inReplyTo, references, subject, from, to, cc, deliveredTo, listID, date string) {
		// The headers come in Gmail's order with Gmail's spelling of
		// the names; Delivered-To twice, as Gmail keeps every copy.
		msg := &gmail.Message{InternalDate: 1764500000000, Payload: &gmail.MessagePart{Headers: []*gmail.MessagePartHeader{
			{Name: "Delivered-To", Value: deliveredTo}, {Name: "Message-Id", Value: messageID},
			{Name: "In-Reply-To", Value: inReplyTo}, {Name: "References", Value: references},
			{Name: "Subject", Value: subject}, {Name: "From", Value: from}, {Name: "To", Value: to},
			{Name: "Cc", Value: cc}, {Name: "DELIVERED-TO", Value: cc}, {Name: "X-Original-To", Value: to},
			{Name: "List-Id", Value: listID}, {Name: "Date", Value: date}, nil,
		}}}
		h := headersOf(msg)
		if h.Date.IsZero() {
			t.Fatalf("no date: the message's internal date must stand in")
		}
		h.Mailbox, h.Sent = "Support@Example.com", false
		m := h.Mail()

		text(t, "subject", m.Subject, 500)
		address(t, "from", m.From.Email, true)
		text(t, "from name", m.From.Name, 200)
		for _, a := range m.ToCc {
			address(t, "to/cc", a.Email, false)
			text(t, "to/cc name", a.Name, 200)
		}
		for a := range m.Recipients {
			address(t, "recipient", a, false)
		}
		for _, s := range []string{m.Thread.MessageID, m.Thread.InReplyTo, m.Thread.References, m.Mailbox} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 %q out of the headers", s)
			}
		}
		root := m.Thread.Root()
		if root != "" {
			wellFormedID(t, root)
		}
		seen := map[string]bool{}
		for _, id := range m.Thread.All() {
			wellFormedID(t, id)
			if seen[id] {
				t.Fatalf("All repeats %q", id)
			}
			seen[id] = true
		}
		if root != "" && !seen[root] {
			t.Fatalf("root %q is not among All %q", root, m.Thread.All())
		}

		// The conversation a first mail opens: what the cards show.
		now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		c, _, err := inbox.StartConversation(fuzzInbox, m, now)
		if err != nil {
			if root != "" {
				t.Fatalf("mail with root %q opens no conversation: %v", root, err)
			}
			return
		}
		if c.RootMessageID != root {
			t.Fatalf("conversation root %q, the mail's root %q", c.RootMessageID, root)
		}
		text(t, "conversation subject", c.Subject, 500)
		text(t, "customer name", c.CustomerName, 200)
		address(t, "customer", c.Customer, true)
	})
}

// text checks a subject or display name: valid UTF-8, no control
// characters, line separators or bidi formatting characters, no space at
// either end, at most max runes.
func text(t *testing.T, what, s string, max int) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s %q is not valid UTF-8", what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069' {
			t.Fatalf("%s %q carries %U", what, s, r)
		}
	}
	if s != strings.TrimSpace(s) {
		t.Fatalf("%s %q is not trimmed", what, s)
	}
	if n := utf8.RuneCountInString(s); n > max {
		t.Fatalf("%s has %d runes, more than %d", what, n, max)
	}
}

// address checks a parsed address ("" allowed when optional).
func address(t *testing.T, what, s string, optional bool) {
	t.Helper()
	if s == "" && optional {
		return
	}
	if !utf8.ValidString(s) || !strings.Contains(s, "@") || strings.ContainsFunc(s, unicode.IsSpace) || s != strings.ToLower(s) {
		t.Fatalf("%s address %q", what, s)
	}
}

// wellFormedID checks a parsed Message-ID.
func wellFormedID(t *testing.T, id string) {
	t.Helper()
	if id == "" || len(id) > inbox.MaxMessageIDLength || !utf8.ValidString(id) || strings.ContainsAny(id, " \t\r\n<>\"") {
		t.Fatalf("malformed Message-ID %q", id)
	}
}
