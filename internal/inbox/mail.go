package inbox

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Headers are the headers of one mail that Postfach reads (never the body),
// as Gmail's API returns them in payload.headers. Every field is untrusted
// text.
//
// Encoded words: Postfach never decodes RFC 2047 encoded words, because
// Gmail's API returns payload.headers already decoded (format=metadata and
// full). Sources: Google's reference says only that the top-level part's
// headers "will contain the standard RFC 2822 email headers such as To,
// From, and Subject" (MessagePart.headers, gmail/v1), and the project's
// notes on the API (docs/gmail-sync.md §4) are silent; that the values
// come decoded is observed behaviour that public Gmail API clients rely
// on (one states "the Gmail API already decodes encoded-word headers (RFC
// 2047) before returning them"), and internal/gmailsim reproduces it. As
// it is not verified against a Google document, the design is safe either
// way: decoding a second time is what broke the inbox (a name that decodes
// to another encoded word came out as invalid UTF-8; a subject Gmail shows
// literally as "=?UTF-8?B?…?=" changed), while an encoded word Gmail ever
// passed through would merely be shown as written; and every string is
// made valid UTF-8 and free of control characters here, whatever Gmail
// sends.
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

	// Mailbox is the linked mailbox this copy of the mail was read in, and
	// Sent reports whether Gmail labels the copy SENT there: the mailbox
	// sent it. Gmail puts SENT only on mail its owner sent (it cannot be
	// added through the API), so these two, unlike From, cannot be forged
	// from outside. The syncer sets them; "" and false say nothing.
	Mailbox string
	Sent    bool
}

// Address is a parsed, normalised mail address.
type Address struct {
	Email string
	Name  string
}

// Mail is one message as Postfach sees it: the headers that place it in a
// thread and say who sent it to whom, parsed leniently, every text valid
// UTF-8 without control characters.
type Mail struct {
	Thread     ThreadHeaders
	Subject    string
	From       Address
	ToCc       []Address       // To then Cc, in order
	Recipients map[string]bool // To, Cc, Delivered-To, X-Original-To, the List-Id group
	Date       time.Time
	// Mailbox and Sent are the copy's Headers.Mailbox and Headers.Sent.
	Mailbox string
	Sent    bool
}

// Bounds on the header text kept: a subject or name longer than this is
// junk or an attack, and would only bloat every list.
const (
	maxSubjectRunes = 500
	maxNameRunes    = 200
)

// Mail parses the headers. Nothing in them can make it fail: unparsable
// parts are dropped, and every text is cleaned with CleanLine.
func (h Headers) Mail() Mail {
	m := Mail{
		Thread: ThreadHeaders{
			MessageID:  strings.ToValidUTF8(h.MessageID, ""),
			InReplyTo:  strings.ToValidUTF8(h.InReplyTo, ""),
			References: strings.ToValidUTF8(h.References, ""),
		},
		Subject:    truncate(CleanLine(h.Subject), maxSubjectRunes),
		Recipients: map[string]bool{},
		Date:       h.Date,
		Mailbox:    NormalizeEmail(h.Mailbox),
		Sent:       h.Sent,
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
		if a := NormalizeEmail(strings.ToValidUTF8(d, "")); a != "" {
			m.Recipients[a] = true
		}
	}
	if g := ListAddress(strings.ToValidUTF8(h.ListID, "")); g != "" {
		m.Recipients[g] = true
	}
	return m
}

// CleanLine makes untrusted text fit for one line of the sidebar: invalid
// UTF-8 becomes U+FFFD; line breaks, tabs and other control characters
// become spaces; bidirectional embeddings, overrides and isolates, which
// would reorder the text around them, are dropped; runs of spaces shrink to
// one and the ends are trimmed.
func CleanLine(s string) string {
	if isClean(s) {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case bidiControl(r):
			continue
		case unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029':
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// isClean reports whether CleanLine would only trim s.
func isClean(s string) bool {
	prevSpace := false
	for _, r := range s {
		if r == utf8.RuneError || bidiControl(r) || (unicode.IsControl(r) || unicode.IsSpace(r)) && r != ' ' || r == '\u2028' || r == '\u2029' {
			return false
		}
		if r == ' ' && prevSpace {
			return false
		}
		prevSpace = r == ' '
	}
	return true
}

// bidiControl reports the Unicode bidirectional formatting characters that
// change the order of the text around them (LRE, RLE, PDF, LRO, RLO, LRI,
// RLI, FSI, PDI), the "Trojan Source" characters.
func bidiControl(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069'
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// parseList parses an address field leniently and decodes nothing: Gmail
// has decoded it already, so a display name may hold what RFC 5322 would
// have quoted ("Doe, Jane <CEO> <jane@x.example>"). An entry's address is
// its last <…> holding an address, else its last word that is one; the
// rest is its name. Entries are split at commas outside quotes, <…> and
// comments, and a piece without an address is part of the next one's name
// (a bare comma in a decoded name). One bad address never hides the good
// ones.
func parseList(field string) []Address {
	field = strings.ToValidUTF8(field, "\uFFFD")
	if strings.TrimSpace(field) == "" {
		return nil
	}
	parts, ok := splitList(field, true)
	if !ok {
		// An unbalanced quote or bracket: split on every comma instead.
		parts, _ = splitList(field, false)
	}
	var out []Address
	pending := ""
	for _, p := range parts {
		if pending != "" {
			p = pending + "," + p
			pending = ""
		}
		if a, ok := parseEntry(p); ok {
			out = append(out, a)
		} else if len(p) < 1000 {
			pending = p
		}
	}
	return out
}

// splitList splits an address field into entries at commas and semicolons
// (the end of a group). With nested set, commas inside "quotes", <angle
// brackets> and (comments) do not split, and ok reports whether those were
// balanced. The display name of a group ("Team: a@x, b@y;") is dropped.
func splitList(s string, nested bool) (parts []string, ok bool) {
	quote, angle, paren := false, 0, 0
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case nested && quote:
			if c == '\\' {
				i++
			} else if c == '"' {
				quote = false
			}
			continue
		case nested && c == '"':
			quote = true
		case nested && c == '<':
			angle++
		case nested && c == '>' && angle > 0:
			angle--
		case nested && c == '(':
			paren++
		case nested && c == ')' && paren > 0:
			paren--
		case angle > 0 || paren > 0:
		case c == ',' || c == ';':
			parts = append(parts, s[start:i])
			start = i + 1
		case c == ':' && !strings.Contains(s[start:i], "@"):
			start = i + 1 // a group's display name
		}
	}
	parts = append(parts, s[start:])
	return parts, !quote && angle == 0 && paren == 0
}

// parseEntry reads one address with its display name.
func parseEntry(s string) (Address, bool) {
	s = strings.TrimSpace(s)
	var email, name string
	if j := strings.LastIndexByte(s, '>'); j >= 0 {
		if i := strings.LastIndexByte(s[:j], '<'); i >= 0 {
			if e := NormalizeEmail(s[i+1 : j]); e != "" && strings.Contains(e, "@") {
				email, name = e, s[:i]+" "+s[j+1:]
			}
		}
	}
	if email == "" {
		words := strings.Fields(s)
		for k := len(words) - 1; k >= 0; k-- {
			w := strings.Trim(words[k], "<>")
			if e := NormalizeEmail(w); e != "" && strings.Contains(w, "@") {
				email = e
				name = strings.Join(append(slices.Clone(words[:k]), words[k+1:]...), " ")
				break
			}
		}
	}
	if email == "" {
		return Address{}, false
	}
	return Address{Email: email, Name: truncate(CleanLine(displayName(name)), maxNameRunes)}, true
}

// displayName unwraps a name from its quotes or comment parentheses.
func displayName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '(' && s[len(s)-1] == ')' {
		return s[1 : len(s)-1]
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		var b strings.Builder
		in := s[1 : len(s)-1]
		for i := 0; i < len(in); i++ {
			if in[i] == '\\' && i+1 < len(in) {
				i++
			}
			b.WriteByte(in[i])
		}
		return b.String()
	}
	return s
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

// Outbound reports whether the team really sent the mail: this copy is the
// one in the sender's own mailbox, where Gmail labels it SENT, that mailbox
// is ib's shared mailbox or a member's, and the mail is from that mailbox or
// from ib's address (a member sending as the shared address). From alone
// proves nothing: anyone can write a member's address there.
func (m Mail) Outbound(ib Inbox) bool {
	if !m.Sent || m.Mailbox == "" || !ib.Team(m.Mailbox) {
		return false
	}
	return m.From.Email == m.Mailbox || m.From.Email == ib.Address
}

// Unproven reports a mail whose From names ib's team but which this copy does
// not prove the team sent: a teammate's mail read in another mailbox (the
// group's copy of a reply), or a forgery. It is neither a customer's reply
// nor the team's: it must not reopen a conversation, and only the sender's
// own copy (Outbound) may take the team's effects.
func (m Mail) Unproven(ib Inbox) bool {
	return ib.Team(m.From.Email) && !m.Outbound(ib)
}

// Forged reports a mail that claims to come from the very mailbox it was
// read in but lacks Gmail's SENT label there: the owner did not send it, so
// someone else wrote their address into From.
func (m Mail) Forged() bool {
	return !m.Sent && m.Mailbox != "" && m.From.Email == m.Mailbox
}

// actor is who an outbound mail's effects are logged for: the member whose
// mailbox sent it, or "" (Postfach) for the shared mailbox.
func (m Mail) actor(ib Inbox) string {
	if m.Mailbox == ib.Address {
		return ""
	}
	return m.Mailbox
}

// AddressedTo reports whether the mail was sent to ib's shared address.
func (m Mail) AddressedTo(ib Inbox) bool { return m.Recipients[ib.Address] }

// Team reports whether an address is the inbox's own or one of its members'.
func (ib Inbox) Team(email string) bool {
	if email == "" {
		return false
	}
	if email == ib.Address {
		return true
	}
	_, member := ib.Member(email)
	return member
}

// ActReopened is the activity kind of a customer reply reopening a pending or
// closed conversation (From/To = statuses).
const ActReopened ActivityKind = "reopened"

// at is when the mail counts as sent: its Date, unless absent or in the
// future.
func (m Mail) at(now time.Time) time.Time {
	if m.Date.IsZero() || m.Date.After(now) {
		return now
	}
	return m.Date
}

// StartConversation opens a conversation from the first mail of a thread seen
// in ib. From a customer it is Open and unassigned. From the team (Outbound)
// it starts in the inbox's reply status with the first response recorded,
// its customer the first recipient outside the team. A mail that only
// claims to be the team's (Unproven) opens it the same way but Open, with no
// response recorded: the sender's own copy, when it comes, takes the team's
// effects.
func StartConversation(ib Inbox, m Mail, now time.Time) (Conversation, Activity, error) {
	at := m.at(now)
	customer, name := m.From.Email, m.From.Name
	outbound := m.Outbound(ib)
	if outbound || m.Unproven(ib) {
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
	c.startSLA(ib, at)
	c.Reschedule(ib)
	return c, ev, nil
}

// Receive records a later mail of the conversation. It moves LastMessageAt
// forward and applies the inbox's rules: a customer's mail reopens a pending
// or closed conversation; the team's reply (Outbound) records the first
// response time and, unless a later mail is already recorded, moves an open
// conversation to the inbox's reply status; a mail that only claims to be
// the team's (Unproven) changes nothing else. It returns the activity entry
// when the status changed (the conversation's version is then bumped), or
// nil. A customer's mail wakes a snoozed conversation (ActWoke). DueAt is
// recomputed (Reschedule).
func (c *Conversation) Receive(ib Inbox, m Mail, now time.Time) *Activity {
	ev := c.receive(ib, m, now)
	c.Reschedule(ib)
	return ev
}

func (c *Conversation) receive(ib Inbox, m Mail, now time.Time) *Activity {
	at := m.at(now)
	latest := !at.Before(c.LastMessageAt)
	if at.After(c.LastMessageAt) {
		c.LastMessageAt = at
	}
	switch {
	case m.Outbound(ib):
		if c.FirstResponseAt.IsZero() || at.Before(c.FirstResponseAt) {
			c.FirstResponseAt = at
			c.responded(ib, at)
		}
		if st := ib.Settings.ReplyStatus; st != "" && latest && c.Status == StatusOpen && st != StatusOpen {
			from := statusText(ib.StageOf(*c))
			c.moveStatus(st, now)
			c.Flow.Stage = ""
			ev := c.commit(ActStatus, m.actor(ib), from, statusText(ib.StageOf(*c)), now)
			return &ev
		}
		return nil
	case m.Unproven(ib):
		return nil
	}
	if !c.Flow.SnoozedUntil.IsZero() {
		ev := c.wake(ib, "", WokeReply, now)
		return &ev
	}
	if c.Status != StatusOpen {
		from := statusText(ib.StageOf(*c))
		c.moveStatus(StatusOpen, now)
		c.Flow.Stage = ""
		ev := c.commit(ActReopened, "", from, statusText(ib.StageOf(*c)), now)
		return &ev
	}
	return nil
}
