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
	// Presence is who else is viewing or replying (see Service.present);
	// empty when it could not be read.
	Presence inbox.Presence
	// ReplyFrom says why the caller's reply draft is from their own
	// address rather than the inbox's; set by Reply only, zero otherwise.
	ReplyFrom Message
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
// conversation.
//
// Mail the sync has ingested is found without Gmail: the thread links of
// the caller's own mailbox (the verified address, never one from the event)
// name the conversations of the open thread, and the first of them in an
// inbox of the caller's tenant that the caller works in is shown. Otherwise
// (mail not ingested yet, a mailbox without sync, no thread id in the
// event, or only conversations the caller may not see) the message's
// headers are read from Gmail and it is found by any Message-ID it names
// (own, In-Reply-To, References) already known in the tenant, else by its
// recipients (To, Cc, Delivered-To, X-Original-To, List-Id) matching one of
// the caller's inboxes, in which case the conversation is started now. A
// message that belongs to none of the caller's inboxes yields
// Opened{View: nil}.
func (s *Service) OpenMessage(ctx context.Context, u User, access GmailAccess, ids OpenedIDs) (Opened, error) {
	if err := checkIdentity(u); err != nil {
		return Opened{}, err
	}
	messageID := strings.TrimSpace(ids.MessageID)
	if messageID == "" {
		return Opened{}, inbox.Invalid("the event names no open message")
	}
	if o, ok, err := s.openLinked(ctx, u, ids.ThreadID); err != nil || ok {
		return o, err
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
			o, ok, err := s.openIfMember(ctx, u, c, m.Subject, nil)
			if err != nil || ok {
				return o, err
			}
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

// openLinked finds the open thread through the thread links of the
// caller's mailbox, which the sync records for every mail it ingests. ok is
// false when they name no conversation the caller may see.
//
// A thread may hold conversations of several inboxes (a mail sent to two
// shared addresses) or, rarely, two of one inbox (Gmail merged what the
// Message-IDs keep apart). When the caller works in more than one of them,
// the first by conversation id is shown, where the Gmail path shows the one
// the open message's own Message-ID belongs to.
func (s *Service) openLinked(ctx context.Context, u User, threadID string) (Opened, bool, error) {
	threadID = APIThreadID(strings.TrimSpace(threadID))
	if threadID == "" {
		return Opened{}, false, nil
	}
	links, err := s.store.FindThreadLinks(ctx, u.Email, threadID)
	if err != nil {
		return Opened{}, false, fmt.Errorf("find thread links of %s: %w", threadID, err)
	}
	for _, l := range links {
		if l.TenantID != u.Domain {
			// A mailbox belongs to one tenant; a link of another is
			// stale (the mailbox moved), not the caller's to follow.
			continue
		}
		// The conversation with its history in one read: the card needs
		// both, and the caller's membership is checked before either is
		// shown.
		c, notes, acts, err := s.store.GetConversationHistory(ctx, u.Domain, l.ConversationID, ViewNotes, ViewActivity)
		if errors.Is(err, inbox.ErrNotFound) {
			continue
		}
		if err != nil {
			return Opened{}, false, fmt.Errorf("get conversation %s: %w", l.ConversationID, err)
		}
		o, ok, err := s.openIfMember(ctx, u, c, c.Subject, &history{notes: notes, activity: acts})
		if err != nil || ok {
			return o, ok, err
		}
	}
	return Opened{}, false, nil
}

// history is a conversation's newest notes and activity entries, as the
// card shows them, read with the conversation.
type history struct {
	notes    []inbox.Note
	activity []inbox.Activity
}

// openIfMember returns the card view of c if the caller works in its inbox;
// ok is false if not, or if the inbox was deleted. h is c's history when it
// was read with c; nil reads it.
func (s *Service) openIfMember(ctx context.Context, u User, c inbox.Conversation, subject string, h *history) (Opened, bool, error) {
	ib, err := s.store.GetInbox(ctx, u.Domain, c.InboxID)
	if errors.Is(err, inbox.ErrNotFound) {
		return Opened{}, false, nil // the inbox was deleted
	}
	if err != nil {
		return Opened{}, false, fmt.Errorf("get inbox %s: %w", c.InboxID, err)
	}
	me, ok := ib.Member(u.Email)
	if !ok {
		// The mail is known, but in an inbox the caller does not work.
		return Opened{}, false, nil
	}
	if h != nil {
		v := s.viewOf(ib, me, c, *h)
		s.present(ctx, &v)
		s.readMentions(ctx, v)
		return Opened{View: &v, Subject: subject}, true, nil
	}
	v, err := s.view(ctx, ib, me, c)
	if err != nil {
		return Opened{}, false, err
	}
	return Opened{View: &v, Subject: subject}, true, nil
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
	v := s.viewOf(ib, me, c, history{notes: notes, activity: acts})
	s.present(ctx, &v)
	s.readMentions(ctx, v)
	return v, nil
}

// viewOf is the card view of c with its history h.
func (s *Service) viewOf(ib inbox.Inbox, me inbox.Member, c inbox.Conversation, h history) View {
	return View{Inbox: ib, Me: me, Conversation: c, Notes: h.notes, Activity: h.activity, Now: s.now()}
}
