package desk

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/postfach/postfach/internal/inbox"
)

// ErrTemplateLocked: a member who is not an admin tried to change a
// locked template. It is an inbox.ErrForbidden.
var ErrTemplateLocked = fmt.Errorf("%w: the template is locked", inbox.ErrForbidden)

// Templates is an inbox's templates as its members see them.
type Templates struct {
	Inbox     inbox.Inbox
	Me        inbox.Member
	Admin     bool // may lock templates and edit locked ones
	Templates []inbox.Template
}

// CanEdit reports whether the caller may change t.
func (ts Templates) CanEdit(t inbox.Template) bool { return ts.Admin || !t.Locked }

// isInboxAdmin reports whether the caller administers the inbox: its admin
// role, or an admin of the whole tenant.
func isInboxAdmin(t inbox.Tenant, me inbox.Member) bool {
	return me.Role == inbox.RoleAdmin || t.IsAdmin(me.Email)
}

// Templates returns an inbox's templates. Returns ErrForbidden when the
// caller is not a member of the inbox.
func (s *Service) Templates(ctx context.Context, u User, inboxID string) (Templates, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return Templates{}, err
	}
	ib, me, err := s.membership(ctx, t, u, inboxID)
	if err != nil {
		return Templates{}, err
	}
	ts, err := s.store.ListTemplates(ctx, t.Domain, ib.ID)
	if err != nil {
		return Templates{}, fmt.Errorf("list templates of %s: %w", ib.ID, err)
	}
	return Templates{Inbox: ib, Me: me, Admin: isInboxAdmin(t, me), Templates: ts}, nil
}

// Template returns one template of an inbox with the inbox's context (for
// its edit screen). Returns ErrForbidden when the caller is not a member
// of the inbox or the inbox has no such template (a forged id reaches
// nothing of another inbox).
func (s *Service) Template(ctx context.Context, u User, inboxID, id string) (Templates, inbox.Template, error) {
	ts, err := s.Templates(ctx, u, inboxID)
	if err != nil {
		return Templates{}, inbox.Template{}, err
	}
	for _, tp := range ts.Templates {
		if tp.ID == id {
			return ts, tp, nil
		}
	}
	s.refused(ctx, u, "unknown template", "inbox", inboxID, "template", id)
	return Templates{}, inbox.Template{}, fmt.Errorf("%w: no template %q in inbox %s", inbox.ErrForbidden, id, inboxID)
}

// TemplateInput is a template as the edit screen sends it. ID "" creates
// one.
type TemplateInput struct {
	InboxID, ID string
	Name, Body  string
	// Locked is taken from admins only: for other members the stored
	// value stays (false for a new template).
	Locked bool
}

// SaveTemplate creates or changes a template of one of the caller's
// inboxes. Returns an *inbox.InvalidError with the reason for a name or
// body the domain refuses (an unknown placeholder among them),
// ErrTemplateLocked when a member who is no admin changes a locked
// template, and ErrForbidden for an inbox the caller does not work in or
// a template that is not the inbox's.
func (s *Service) SaveTemplate(ctx context.Context, u User, in TemplateInput) (inbox.Template, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return inbox.Template{}, err
	}
	ib, me, err := s.membership(ctx, t, u, in.InboxID)
	if err != nil {
		return inbox.Template{}, err
	}
	admin := isInboxAdmin(t, me)
	now := s.now()
	name, body := strings.TrimSpace(in.Name), strings.TrimRight(in.Body, " \t\r\n")
	if in.ID == "" {
		tp := inbox.Template{
			TenantID: t.Domain, InboxID: ib.ID, ID: inbox.NewID(now),
			Name: name, Body: body, Locked: admin && in.Locked,
			CreatedAt: now, UpdatedAt: now, UpdatedBy: me.Email,
		}
		if err := s.store.CreateTemplate(ctx, tp); err != nil {
			return inbox.Template{}, fmt.Errorf("create template in %s: %w", ib.ID, err)
		}
		return tp, nil
	}
	tp, err := s.store.UpdateTemplate(ctx, t.Domain, ib.ID, in.ID, func(tp *inbox.Template) error {
		if tp.Locked && !admin {
			return ErrTemplateLocked
		}
		tp.Name, tp.Body, tp.UpdatedAt, tp.UpdatedBy = name, body, now, me.Email
		if admin {
			tp.Locked = in.Locked
		}
		return nil
	})
	switch {
	case errors.Is(err, inbox.ErrNotFound):
		s.refused(ctx, u, "unknown template", "inbox", ib.ID, "template", in.ID)
		return inbox.Template{}, fmt.Errorf("%w: no template %q in inbox %s", inbox.ErrForbidden, in.ID, ib.ID)
	case errors.Is(err, ErrTemplateLocked):
		s.refused(ctx, u, "template locked", "inbox", ib.ID, "template", in.ID)
		return inbox.Template{}, err
	case err != nil:
		return inbox.Template{}, fmt.Errorf("update template %s in %s: %w", in.ID, ib.ID, err)
	}
	return tp, nil
}

// DeleteTemplate removes a template of one of the caller's inboxes, with
// SaveTemplate's rules: a locked one only an admin may delete.
func (s *Service) DeleteTemplate(ctx context.Context, u User, inboxID, id string) error {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return err
	}
	ts, tp, err := s.Template(ctx, u, inboxID, id)
	if err != nil {
		return err
	}
	if !ts.CanEdit(tp) {
		s.refused(ctx, u, "template locked", "inbox", inboxID, "template", id)
		return ErrTemplateLocked
	}
	if err := s.store.DeleteTemplate(ctx, t.Domain, inboxID, id); err != nil && !errors.Is(err, inbox.ErrNotFound) {
		return fmt.Errorf("delete template %s in %s: %w", id, inboxID, err)
	}
	return nil
}

// RenderTemplate fills a template's placeholders for a member of ib
// writing in conversation c (nil when there is none: a new mail), to
// customer (the draft's customer address, used when c is nil; may be
// empty). The reply flow calls it with the conversation it replies to.
func RenderTemplate(tp inbox.Template, ib inbox.Inbox, me inbox.Member, c *inbox.Conversation, customer string) string {
	return tp.Render(templateValues(ib, me, c, customer))
}

func templateValues(ib inbox.Inbox, me inbox.Member, c *inbox.Conversation, customer string) inbox.TemplateValues {
	v := inbox.TemplateValues{AgentName: me.DisplayName(), InboxName: ib.Name}
	if c != nil {
		v.CustomerName = c.CustomerName
		if v.CustomerName == "" {
			v.CustomerName = c.Customer
		}
		v.ConversationRef = inbox.ConversationRef(*c)
		return v
	}
	if a, err := mail.ParseAddress(customer); err == nil {
		v.CustomerName = a.Name
		if v.CustomerName == "" {
			v.CustomerName = a.Address
		}
	}
	return v
}

// Compose is the compose window's card: the templates of the inboxes the
// draft belongs to.
type Compose struct {
	Inboxes []Templates
	// Matched is set when the inboxes were chosen by the draft (its thread
	// or its recipients), not all of the caller's.
	Matched bool
	// Conversation is the conversation of the draft's thread, when the
	// event named one the caller works on.
	Conversation *inbox.Conversation
	// Customer is the draft's first recipient outside the tenant, when
	// there is no conversation.
	Customer string
}

// ComposeDraft is what a compose event tells of the draft being written
// (with draftAccess METADATA): its recipients and, when Gmail sends it,
// its thread.
type ComposeDraft struct {
	ThreadID   string
	Recipients []string // To, then Cc, then Bcc, as sent
}

// Compose chooses the inboxes whose templates the compose card offers: the
// inbox of the draft's conversation when its thread is one the sync linked
// in the caller's mailbox; else the caller's inboxes whose shared address
// is among the recipients; else all of the caller's inboxes.
func (s *Service) Compose(ctx context.Context, u User, d ComposeDraft) (Compose, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return Compose{}, err
	}
	all, err := s.store.ListInboxes(ctx, t.Domain)
	if err != nil {
		return Compose{}, fmt.Errorf("list inboxes of %s: %w", t.Domain, err)
	}
	var mine []inbox.Inbox
	for _, ib := range all {
		if _, ok := ib.Member(u.Email); ok {
			mine = append(mine, ib)
		}
	}
	out := Compose{}
	chosen := mine
	if c, ok, err := s.draftConversation(ctx, u, t, d.ThreadID); err != nil {
		return Compose{}, err
	} else if ok {
		out.Conversation = &c
		chosen = slices.DeleteFunc(slices.Clone(mine), func(ib inbox.Inbox) bool { return ib.ID != c.InboxID })
		out.Matched = true
	} else {
		var byAddr []inbox.Inbox
		for _, ib := range mine {
			for _, r := range d.Recipients {
				if inbox.NormalizeEmail(r) == ib.Address {
					byAddr = append(byAddr, ib)
					break
				}
			}
		}
		if len(byAddr) > 0 {
			chosen, out.Matched = byAddr, true
		}
		for _, r := range d.Recipients {
			if a := inbox.NormalizeEmail(r); a != "" && inbox.DomainOf(a) != t.Domain {
				out.Customer = strings.TrimSpace(r)
				break
			}
		}
	}
	for _, ib := range chosen {
		me, _ := ib.Member(u.Email)
		ts, err := s.store.ListTemplates(ctx, t.Domain, ib.ID)
		if err != nil {
			return Compose{}, fmt.Errorf("list templates of %s: %w", ib.ID, err)
		}
		out.Inboxes = append(out.Inboxes, Templates{Inbox: ib, Me: me, Admin: isInboxAdmin(t, me), Templates: ts})
	}
	return out, nil
}

// draftConversation finds the conversation of a draft's thread through the
// thread links of the caller's own mailbox; ok is false when there is none
// the caller works on.
func (s *Service) draftConversation(ctx context.Context, u User, t inbox.Tenant, threadID string) (inbox.Conversation, bool, error) {
	threadID = APIThreadID(strings.TrimSpace(threadID))
	if threadID == "" {
		return inbox.Conversation{}, false, nil
	}
	links, err := s.store.FindThreadLinks(ctx, u.Email, threadID)
	if err != nil {
		return inbox.Conversation{}, false, fmt.Errorf("find thread links of %s: %w", threadID, err)
	}
	for _, l := range links {
		if l.TenantID != t.Domain {
			continue
		}
		c, _, ok, err := s.memberConversation(ctx, u, t, l.ConversationID)
		if err != nil || ok {
			return c, ok, err
		}
	}
	return inbox.Conversation{}, false, nil
}

// memberConversation returns conversation id if the caller works in its
// inbox; ok is false otherwise.
func (s *Service) memberConversation(ctx context.Context, u User, t inbox.Tenant, id string) (inbox.Conversation, inbox.Inbox, bool, error) {
	c, err := s.store.GetConversation(ctx, t.Domain, id)
	if errors.Is(err, inbox.ErrNotFound) {
		return inbox.Conversation{}, inbox.Inbox{}, false, nil
	}
	if err != nil {
		return inbox.Conversation{}, inbox.Inbox{}, false, fmt.Errorf("get conversation %s: %w", id, err)
	}
	ib, err := s.store.GetInbox(ctx, t.Domain, c.InboxID)
	if errors.Is(err, inbox.ErrNotFound) {
		return inbox.Conversation{}, inbox.Inbox{}, false, nil
	}
	if err != nil {
		return inbox.Conversation{}, inbox.Inbox{}, false, fmt.Errorf("get inbox %s: %w", c.InboxID, err)
	}
	if _, ok := ib.Member(u.Email); !ok {
		return inbox.Conversation{}, inbox.Inbox{}, false, nil
	}
	return c, ib, true, nil
}

// InsertTemplate renders a template of one of the caller's inboxes for the
// compose window: for conversation conv ("" for none; it must be of the
// same inbox) or, without one, for the customer address. Returns
// ErrForbidden for an inbox, template or conversation the caller may not
// use.
func (s *Service) InsertTemplate(ctx context.Context, u User, inboxID, id, conv, customer string) (string, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return "", err
	}
	ts, tp, err := s.Template(ctx, u, inboxID, id)
	if err != nil {
		return "", err
	}
	var c *inbox.Conversation
	if conv != "" {
		got, _, ok, err := s.memberConversation(ctx, u, t, conv)
		if err != nil {
			return "", err
		}
		if !ok || got.InboxID != inboxID {
			s.refused(ctx, u, "conversation not of the template's inbox", "inbox", inboxID, "conversation", conv)
			return "", fmt.Errorf("%w: conversation %q is not in inbox %s", inbox.ErrForbidden, conv, inboxID)
		}
		c = &got
	}
	return RenderTemplate(tp, ts.Inbox, ts.Me, c, customer), nil
}
