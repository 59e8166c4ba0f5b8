package desk

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// View is everything the conversation card shows.
type View struct {
	Inbox        inbox.Inbox
	Me           inbox.Member
	Conversation inbox.Conversation
	Notes        []inbox.Note     // newest first, at most ViewNotes
	Activity     []inbox.Activity // newest first, at most ViewActivity
	// Collision lists the changes that were made since the version the
	// caller's card showed, newest first, when an action was refused
	// because of them. Empty otherwise.
	Collision []inbox.Activity
	Now       time.Time
}

// How much history the conversation card shows.
const (
	ViewNotes    = 3
	ViewActivity = 5
)

// Opened is the result of resolving an open Gmail message.
type Opened struct {
	// View is set when the message belongs to one of the caller's inboxes.
	View *View
	// Subject of the open message, for the "not in your inboxes" card.
	Subject string
}

// OpenMessage resolves the message open in the caller's Gmail to its
// conversation: by any Message-ID it names (own, In-Reply-To, References)
// already known in the tenant, else by its recipients (To, Cc, Delivered-To,
// X-Original-To, List-Id) matching one of the caller's inboxes, in which case
// the conversation is started now. A message that belongs to none of the
// caller's inboxes yields Opened{View: nil}.
func (s *Service) OpenMessage(ctx context.Context, u User, access GmailAccess, messageID string) (Opened, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return Opened{}, err
	}
	if strings.TrimSpace(messageID) == "" {
		return Opened{}, fmt.Errorf("%w: the event names no open message", inbox.ErrInvalid)
	}
	h, err := s.reader.MessageHeaders(ctx, access, messageID)
	if err != nil {
		return Opened{}, fmt.Errorf("read message %s: %w", messageID, err)
	}
	th := inbox.ThreadHeaders{MessageID: h.MessageID, InReplyTo: h.InReplyTo, References: h.References}
	for _, id := range th.All() {
		c, err := s.store.FindConversationByMessageID(ctx, t.Domain, id)
		if errors.Is(err, inbox.ErrNotFound) {
			continue
		}
		if err != nil {
			return Opened{}, fmt.Errorf("find conversation of %s: %w", id, err)
		}
		ib, err := s.store.GetInbox(ctx, t.Domain, c.InboxID)
		if err != nil {
			return Opened{}, fmt.Errorf("get inbox %s: %w", c.InboxID, err)
		}
		me, ok := ib.Member(u.Email)
		if !ok {
			// The mail is known, but in an inbox the caller does not work.
			continue
		}
		v, err := s.view(ctx, ib, me, c)
		return Opened{View: &v, Subject: h.Subject}, err
	}
	ib, me, ok, err := s.inboxFor(ctx, t, u, h)
	if err != nil || !ok {
		return Opened{Subject: h.Subject}, err
	}
	c, err := s.start(ctx, ib, h, th)
	if err != nil {
		return Opened{}, err
	}
	v, err := s.view(ctx, ib, me, c)
	return Opened{View: &v, Subject: h.Subject}, err
}

// inboxFor finds the caller's inbox a mail was addressed to.
func (s *Service) inboxFor(ctx context.Context, t inbox.Tenant, u User, h MessageHeaders) (inbox.Inbox, inbox.Member, bool, error) {
	rcpts := Recipients(h)
	if len(rcpts) == 0 {
		return inbox.Inbox{}, inbox.Member{}, false, nil
	}
	all, err := s.store.ListInboxes(ctx, t.Domain)
	if err != nil {
		return inbox.Inbox{}, inbox.Member{}, false, fmt.Errorf("list inboxes of %s: %w", t.Domain, err)
	}
	for _, ib := range all {
		me, member := ib.Member(u.Email)
		if member && rcpts[ib.Address] {
			return ib, me, true, nil
		}
	}
	return inbox.Inbox{}, inbox.Member{}, false, nil
}

// Recipients returns the set of addresses a mail was delivered to, from its
// To, Cc, Delivered-To and X-Original-To headers and its List-Id (a Google
// Group's "<support.example.com>" names support@example.com). Unparsable
// headers contribute nothing.
func Recipients(h MessageHeaders) map[string]bool {
	out := map[string]bool{}
	for _, field := range []string{h.To, h.Cc, h.XOriginalTo} {
		if strings.TrimSpace(field) == "" {
			continue
		}
		list, err := mail.ParseAddressList(field)
		if err != nil {
			// Fall back to comma-separated pieces: one bad address must not
			// hide the good ones.
			for _, part := range strings.Split(field, ",") {
				if a := inbox.NormalizeEmail(part); a != "" {
					out[a] = true
				}
			}
			continue
		}
		for _, a := range list {
			out[strings.ToLower(a.Address)] = true
		}
	}
	for _, d := range h.DeliveredTo {
		if a := inbox.NormalizeEmail(d); a != "" {
			out[a] = true
		}
	}
	if id := listAddress(h.ListID); id != "" {
		out[id] = true
	}
	return out
}

// listAddress maps a List-Id header ("Support <support.example.com>") to the
// group address it names, the convention Google Groups follows.
func listAddress(listID string) string {
	i, j := strings.LastIndexByte(listID, '<'), strings.LastIndexByte(listID, '>')
	if i < 0 || j < i {
		return ""
	}
	local, domain, ok := strings.Cut(strings.TrimSpace(listID[i+1:j]), ".")
	if !ok || local == "" || !strings.Contains(domain, ".") {
		return ""
	}
	return inbox.NormalizeEmail(local + "@" + domain)
}

// start creates the conversation for a mail that reached ib. A concurrent
// start of the same conversation (another member opening the same mail) is
// not an error: the stored one is returned.
func (s *Service) start(ctx context.Context, ib inbox.Inbox, h MessageHeaders, th inbox.ThreadHeaders) (inbox.Conversation, error) {
	now := s.now()
	at := h.Date
	if at.IsZero() || at.After(now) {
		at = now
	}
	customer, name := customerOf(ib, h)
	c, created, err := inbox.NewConversation(ib, th.Root(), h.Subject, customer, name, at, now)
	if err != nil {
		return inbox.Conversation{}, err
	}
	err = s.store.CreateConversation(ctx, c, th.All(), created)
	if errors.Is(err, inbox.ErrAlreadyExists) {
		return s.store.GetConversation(ctx, ib.TenantID, c.ID)
	}
	if err != nil {
		return inbox.Conversation{}, fmt.Errorf("create conversation in %s: %w", ib.ID, err)
	}
	return c, nil
}

// customerOf picks the customer of a mail: its sender, unless the sender is
// the team (the shared address or a member), in which case the first
// recipient outside the team.
func customerOf(ib inbox.Inbox, h MessageHeaders) (addr, name string) {
	team := func(a string) bool {
		_, member := ib.Member(a)
		return member || a == ib.Address
	}
	if from, err := mail.ParseAddress(h.From); err == nil && !team(strings.ToLower(from.Address)) {
		return strings.ToLower(from.Address), from.Name
	}
	for _, field := range []string{h.To, h.Cc} {
		list, _ := mail.ParseAddressList(field)
		for _, a := range list {
			if !team(strings.ToLower(a.Address)) {
				return strings.ToLower(a.Address), a.Name
			}
		}
	}
	return "", ""
}

// Conversation returns the card view of one conversation. Returns
// ErrForbidden when it is not in one of the caller's inboxes (a
// conversation of another tenant does not exist for the caller).
func (s *Service) Conversation(ctx context.Context, u User, id string) (View, error) {
	_, ib, me, c, err := s.load(ctx, u, id)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, ib, me, c)
}

// load authorizes the caller for conversation id and returns it.
func (s *Service) load(ctx context.Context, u User, id string) (inbox.Tenant, inbox.Inbox, inbox.Member, inbox.Conversation, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return inbox.Tenant{}, inbox.Inbox{}, inbox.Member{}, inbox.Conversation{}, err
	}
	c, err := s.store.GetConversation(ctx, t.Domain, id)
	if errors.Is(err, inbox.ErrNotFound) {
		s.refused(ctx, u, "unknown conversation", "conversation", id)
		return t, inbox.Inbox{}, inbox.Member{}, inbox.Conversation{}, fmt.Errorf("%w: no conversation %q in %s", inbox.ErrForbidden, id, t.Domain)
	}
	if err != nil {
		return t, inbox.Inbox{}, inbox.Member{}, inbox.Conversation{}, fmt.Errorf("get conversation %s: %w", id, err)
	}
	ib, me, err := s.membership(ctx, t, u, c.InboxID)
	if err != nil {
		return t, inbox.Inbox{}, inbox.Member{}, inbox.Conversation{}, err
	}
	return t, ib, me, c, nil
}

func (s *Service) view(ctx context.Context, ib inbox.Inbox, me inbox.Member, c inbox.Conversation) (View, error) {
	notes, err := s.store.ListNotes(ctx, c.TenantID, c.ID, ViewNotes)
	if err != nil {
		return View{}, fmt.Errorf("list notes of %s: %w", c.ID, err)
	}
	acts, err := s.store.ListActivity(ctx, c.TenantID, c.ID, ViewActivity)
	if err != nil {
		return View{}, fmt.Errorf("list activity of %s: %w", c.ID, err)
	}
	return View{Inbox: ib, Me: me, Conversation: c, Notes: notes, Activity: acts, Now: s.now()}, nil
}
