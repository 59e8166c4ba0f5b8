package inbox

import (
	"mime"
	"net/mail"
	"strings"
	"time"
)

// Headers are the raw headers of one mail that Postfach reads (never the
// body). Every field is untrusted text.
type Headers struct {
	MessageID   string
	InReplyTo   string
	References  string
	Subject     string
	From        string
	To          string
	Cc          string
	DeliveredTo []string // every Delivered-To header
	XOriginalTo string
	ListID      string
	Date        time.Time // zero when absent or unparsable
}

// Address is a parsed, normalised mail address.
type Address struct {
	Email string
	Name  string
}

// Mail is one message as Postfach sees it: the headers that place it in a
// thread and say who sent it to whom, parsed leniently.
type Mail struct {
	Thread     ThreadHeaders
	Subject    string
	From       Address
	ToCc       []Address       // To then Cc, in order
	Recipients map[string]bool // To, Cc, Delivered-To, X-Original-To, the List-Id group
	Date       time.Time
}

// Mail parses the headers. Nothing in them can make it fail: unparsable
// parts are dropped.
func (h Headers) Mail() Mail {
	m := Mail{
		Thread:     ThreadHeaders{MessageID: h.MessageID, InReplyTo: h.InReplyTo, References: h.References},
		Subject:    decodeWords(strings.TrimSpace(h.Subject)),
		Recipients: map[string]bool{},
		Date:       h.Date,
	}
	if from := parseList(h.From); len(from) > 0 {
		m.From = from[0]
	}
	for _, field := range []string{h.To, h.Cc} {
		for _, a := range parseList(field) {
			m.ToCc = append(m.ToCc, a)
			m.Recipients[a.Email] = true
		}
	}
	for _, a := range parseList(h.XOriginalTo) {
		m.Recipients[a.Email] = true
	}
	for _, d := range h.DeliveredTo {
		if a := NormalizeEmail(d); a != "" {
			m.Recipients[a] = true
		}
	}
	if g := ListAddress(h.ListID); g != "" {
		m.Recipients[g] = true
	}
	return m
}

// parseList parses an address list leniently: one bad address does not hide
// the good ones.
func parseList(field string) []Address {
	if strings.TrimSpace(field) == "" {
		return nil
	}
	var out []Address
	if list, err := mail.ParseAddressList(field); err == nil {
		for _, a := range list {
			out = append(out, Address{Email: strings.ToLower(a.Address), Name: decodeWords(a.Name)})
		}
		return out
	}
	for _, part := range strings.Split(field, ",") {
		if a, err := mail.ParseAddress(part); err == nil {
			out = append(out, Address{Email: strings.ToLower(a.Address), Name: decodeWords(a.Name)})
		}
	}
	return out
}

// ListAddress maps a List-Id header ("Support <support.example.com>") to the
// group address it names, the convention Google Groups follows; "" when it
// names none.
func ListAddress(listID string) string {
	i, j := strings.LastIndexByte(listID, '<'), strings.LastIndexByte(listID, '>')
	if i < 0 || j < i {
		return ""
	}
	local, domain, ok := strings.Cut(strings.TrimSpace(listID[i+1:j]), ".")
	if !ok || local == "" || !strings.Contains(domain, ".") {
		return ""
	}
	return NormalizeEmail(local + "@" + domain)
}

// decodeWords decodes RFC 2047 encoded words; undecodable text is kept.
func decodeWords(s string) string {
	var dec mime.WordDecoder
	if out, err := dec.DecodeHeader(s); err == nil {
		return out
	}
	return s
}

// Outbound reports whether the team sent the mail: the shared address or a
// member of ib.
func (m Mail) Outbound(ib Inbox) bool { return ib.Team(m.From.Email) }

// AddressedTo reports whether the mail was sent to ib's shared address.
func (m Mail) AddressedTo(ib Inbox) bool { return m.Recipients[ib.Address] }

// Team reports whether an address is the inbox's own or one of its members'.
func (ib Inbox) Team(email string) bool {
	if email == ib.Address {
		return true
	}
	_, member := ib.Member(email)
	return member
}

// ActReopened is the activity kind of a customer reply reopening a pending or
// closed conversation (From/To = statuses).
const ActReopened ActivityKind = "reopened"

// StartConversation opens a conversation from the first mail of a thread seen
// in ib: from a customer it is Open and unassigned; from the team (an
// outbound first mail) it starts in the inbox's reply status, with the
// first response recorded.
func StartConversation(ib Inbox, m Mail, now time.Time) (Conversation, Activity, error) {
	at := m.Date
	if at.IsZero() || at.After(now) {
		at = now
	}
	customer, name := m.From.Email, m.From.Name
	outbound := m.Outbound(ib)
	if outbound {
		customer, name = "", ""
		for _, a := range m.ToCc {
			if !ib.Team(a.Email) {
				customer, name = a.Email, a.Name
				break
			}
		}
	}
	c, ev, err := NewConversation(ib, m.Thread.Root(), m.Subject, customer, name, at, now)
	if err != nil {
		return Conversation{}, Activity{}, err
	}
	if outbound {
		c.FirstResponseAt = at
		if st := ib.Settings.ReplyStatus; st != "" {
			c.Status = st
		}
	}
	return c, ev, nil
}

// Receive records a later mail of the conversation. It moves LastMessageAt
// forward and applies the inbox's rules: a customer's mail reopens a pending
// or closed conversation; the team's first reply records the first response
// time, and a team reply moves an open conversation to the inbox's reply
// status. It returns the activity entry when the status changed (the
// conversation's version is then bumped), or nil.
func (c *Conversation) Receive(ib Inbox, m Mail, now time.Time) *Activity {
	at := m.Date
	if at.IsZero() || at.After(now) {
		at = now
	}
	if at.After(c.LastMessageAt) {
		c.LastMessageAt = at
	}
	if m.Outbound(ib) {
		actor := m.From.Email
		if actor == ib.Address {
			actor = ""
		}
		if c.FirstResponseAt.IsZero() || at.Before(c.FirstResponseAt) {
			c.FirstResponseAt = at
		}
		if st := ib.Settings.ReplyStatus; st != "" && c.Status == StatusOpen && st != StatusOpen {
			from := c.Status
			c.Status = st
			ev := c.commit(ActStatus, actor, string(from), string(st), now)
			return &ev
		}
		return nil
	}
	if c.Status != StatusOpen {
		from := c.Status
		c.Status = StatusOpen
		ev := c.commit(ActReopened, "", string(from), string(StatusOpen), now)
		return &ev
	}
	return nil
}
