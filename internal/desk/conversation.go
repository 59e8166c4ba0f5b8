package desk

import (
	"context"
	"errors"
	"fmt"
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
	if err := checkIdentity(u); err != nil {
		return Opened{}, err
	}
	if strings.TrimSpace(messageID) == "" {
		return Opened{}, inbox.Invalid("the event names no open message")
	}
	h, err := s.reader.MessageHeaders(ctx, access, messageID)
	if err != nil {
		return Opened{}, fmt.Errorf("read message %s: %w", messageID, err)
	}
	m := h.Mail()
	for _, id := range m.Thread.All() {
		// A conversation exists only under an installed tenant: the
		// tenant is read only when none is found (the card costs fewer
		// document reads that way).
		convs, err := s.store.FindConversationsByMessageID(ctx, u.Domain, id)
		if err != nil {
			return Opened{}, fmt.Errorf("find conversation of %s: %w", id, err)
		}
		for _, c := range convs {
			ib, err := s.store.GetInbox(ctx, u.Domain, c.InboxID)
			if errors.Is(err, inbox.ErrNotFound) {
				continue // the inbox was deleted
			}
			if err != nil {
				return Opened{}, fmt.Errorf("get inbox %s: %w", c.InboxID, err)
			}
			me, ok := ib.Member(u.Email)
			if !ok {
				// The mail is known, but in an inbox the caller does not work.
				continue
			}
			v, err := s.view(ctx, ib, me, c)
			return Opened{View: &v, Subject: m.Subject}, err
		}
	}
	t, err := s.tenant(ctx, u)
	if err != nil {
		return Opened{}, err
	}
	ib, me, ok, err := s.inboxFor(ctx, t, u, m)
	if err != nil || !ok {
		return Opened{Subject: m.Subject}, err
	}
	c, err := s.start(ctx, ib, m)
	if err != nil {
		return Opened{}, err
	}
	v, err := s.view(ctx, ib, me, c)
	return Opened{View: &v, Subject: m.Subject}, err
}

// inboxFor finds the caller's inbox a mail was addressed to.
func (s *Service) inboxFor(ctx context.Context, t inbox.Tenant, u User, m inbox.Mail) (inbox.Inbox, inbox.Member, bool, error) {
	if len(m.Recipients) == 0 {
		return inbox.Inbox{}, inbox.Member{}, false, nil
	}
	all, err := s.store.ListInboxes(ctx, t.Domain)
	if err != nil {
		return inbox.Inbox{}, inbox.Member{}, false, fmt.Errorf("list inboxes of %s: %w", t.Domain, err)
	}
	for _, ib := range all {
		me, member := ib.Member(u.Email)
		if member && m.AddressedTo(ib) {
			return ib, me, true, nil
		}
	}
	return inbox.Inbox{}, inbox.Member{}, false, nil
}

// start creates the conversation for a mail that reached ib before the sync
// saw it. A concurrent start of the same conversation (another member
// opening the same mail, or the sync) is not an error: the stored one is
// returned.
func (s *Service) start(ctx context.Context, ib inbox.Inbox, m inbox.Mail) (inbox.Conversation, error) {
	c, created, err := inbox.StartConversation(ib, m, s.now())
	if err != nil {
		return inbox.Conversation{}, err
	}
	err = s.store.CreateConversation(ctx, c, m.Thread.All(), created)
	if errors.Is(err, inbox.ErrAlreadyExists) {
		return s.store.GetConversation(ctx, ib.TenantID, c.ID)
	}
	if err != nil {
		return inbox.Conversation{}, fmt.Errorf("create conversation in %s: %w", ib.ID, err)
	}
	return c, nil
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
	notes, acts, err := s.store.RecentHistory(ctx, c.TenantID, c.ID, ViewNotes, ViewActivity)
	if err != nil {
		return View{}, fmt.Errorf("history of %s: %w", c.ID, err)
	}
	return View{Inbox: ib, Me: me, Conversation: c, Notes: notes, Activity: acts, Now: s.now()}, nil
}
