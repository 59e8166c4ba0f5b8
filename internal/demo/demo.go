// Package demo seeds the data `postfach dev` shows: two tenants, three shared
// inboxes, their members and a few dozen realistic conversations, both as
// mail in the Gmail simulator (one copy per member, as a Google Group
// delivers) and as state in the store (owners, statuses, tags, notes).
//
// Everything is deterministic except the timestamps, which are relative to
// the clock passed in, so that "3 min ago" stays true on every start.
package demo

import (
	"fmt"
	"strings"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// Tenants and inboxes of the demo.
var (
	Tenants = []inbox.Tenant{
		{Domain: "example.com", Name: "Example Inc.", Admins: []string{"alice@example.com"}},
		{Domain: "other.example", Name: "Other Ltd.", Admins: []string{"eve@other.example"}},
	}
	Inboxes = withDefaults([]inbox.Inbox{
		{TenantID: "example.com", ID: "support", Address: "support@example.com", Name: "Support", Members: []inbox.Member{
			{Email: "alice@example.com", Name: "Alice", Role: inbox.RoleAdmin},
			{Email: "bob@example.com", Name: "Bob", Role: inbox.RoleAgent},
			{Email: "carol@example.com", Name: "Carol", Role: inbox.RoleAgent},
		}},
		{TenantID: "example.com", ID: "sales", Address: "sales@example.com", Name: "Sales", Members: []inbox.Member{
			{Email: "alice@example.com", Name: "Alice", Role: inbox.RoleAdmin},
			{Email: "dave@example.com", Name: "Dave", Role: inbox.RoleAgent},
		}},
		{TenantID: "other.example", ID: "help", Address: "help@other.example", Name: "Help", Members: []inbox.Member{
			{Email: "eve@other.example", Name: "Eve", Role: inbox.RoleAdmin},
		}},
	})
)

func withDefaults(ibs []inbox.Inbox) []inbox.Inbox {
	for i := range ibs {
		ibs[i].Settings = inbox.DefaultInboxSettings()
	}
	return ibs
}

// Users lists every demo user's address.
func Users() []string {
	seen := map[string]bool{}
	var out []string
	for _, ib := range Inboxes {
		for _, m := range ib.Members {
			if !seen[m.Email] {
				seen[m.Email] = true
				out = append(out, m.Email)
			}
		}
	}
	return out
}

// Thread is one demo conversation: its mails and the state the team gave it.
type Thread struct {
	Inbox    string // inbox id
	Slug     string // makes the Message-IDs
	Subject  string
	From     string // "Name <addr>" of the customer
	Mails    []Mail
	Assignee string // member address or ""
	Status   inbox.Status
	Tags     []string
	Notes    []Note
}

// Mail is one message of a demo thread.
type Mail struct {
	Ago    time.Duration // before now
	ByTeam string        // member address if a team member wrote it; "" = the customer
	Body   string
}

// Note is a demo internal note.
type Note struct {
	By   string
	Body string
}

// MessageID is the RFC 5322 Message-ID of mail i of the thread.
func (t Thread) MessageID(i int) string {
	domain := "mail.example.net"
	if i > 0 && t.Mails[i].ByTeam != "" {
		domain = inbox.DomainOf(t.Mails[i].ByTeam)
	}
	return fmt.Sprintf("%s.%d@%s", t.Slug, i, domain)
}

// Raw renders mail i of the thread as an RFC 822 message addressed through
// the inbox's group address, dated relative to now.
func (t Thread) Raw(ib inbox.Inbox, i int, now time.Time) []byte {
	m := t.Mails[i]
	var b strings.Builder
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	subject := t.Subject
	if i > 0 {
		subject = "Re: " + t.Subject
	}
	if m.ByTeam == "" {
		h("From", t.From)
		h("To", ib.Name+" <"+ib.Address+">")
	} else {
		name := ib.DisplayName(m.ByTeam)
		h("From", name+" <"+m.ByTeam+">")
		h("To", t.From)
		h("Cc", ib.Name+" <"+ib.Address+">")
	}
	h("Subject", subject)
	h("Message-ID", "<"+t.MessageID(i)+">")
	if i > 0 {
		var refs []string
		for j := 0; j < i; j++ {
			refs = append(refs, "<"+t.MessageID(j)+">")
		}
		h("In-Reply-To", refs[len(refs)-1])
		h("References", strings.Join(refs, " "))
	}
	local, domain, _ := strings.Cut(ib.Address, "@")
	h("List-Id", fmt.Sprintf("%s <%s.%s>", ib.Name, local, domain))
	h("Date", now.Add(-m.Ago).Format(time.RFC1123Z))
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=UTF-8")
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(m.Body, "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}
