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

// present records that the caller has v's card open and puts the
// conversation's presence into v. It reads the record (one read) and
// writes only when the caller's entry is not fresh (inbox.Presence.Fresh),
// so showing a card again within inbox.PresenceRefresh writes nothing.
// Presence is a hint: a store failure here is logged, and the card is shown
// without it, or with the presence as read when only the write failed.
// The write gets presenceWriteBudget: when many open one conversation at
// once, their writes of its one presence record contend, and a card must
// not wait that out (50 viewers on Firestore's emulator took over 30 s).
func (s *Service) present(ctx context.Context, v *View) {
	c, me := v.Conversation, v.Me.Email
	p, err := s.store.GetPresence(ctx, c.TenantID, c.ID)
	if err != nil {
		s.log.WarnContext(ctx, "presence not read", "conversation", c.ID, "error", err)
		return
	}
	if !p.Fresh(me, v.Now) {
		wctx, cancel := context.WithTimeout(ctx, presenceWriteBudget)
		seen, err := s.store.UpdatePresence(wctx, c.TenantID, c.ID, func(p *inbox.Presence) error {
			p.See(me, v.Now)
			return nil
		})
		cancel()
		if err != nil {
			s.log.WarnContext(ctx, "presence not recorded", "conversation", c.ID, "error", err)
		} else {
			p = seen
		}
	}
	v.Presence = p
}

// presenceWriteBudget bounds the write of a viewer's presence entry.
const presenceWriteBudget = 2 * time.Second

// Draft is the reply draft Postfach creates in the caller's mailbox.
type Draft struct {
	ThreadID   string // Gmail API thread id in the caller's mailbox; "" starts a thread
	From       string // the inbox's address or the caller's own (RFC 5322 mailbox)
	To         string
	Subject    string
	InReplyTo  string // <id> of the customer message answered
	References string // space-separated <id>s
}

// CreatedDraft is a draft Gmail stored.
type CreatedDraft struct {
	ID       string // r…
	ThreadID string // its thread, as Gmail placed it
}

// DraftWriter creates drafts in the caller's mailbox with the add-on's
// tokens.
type DraftWriter interface {
	// CreateDraft stores d as a draft (users.drafts.create). It returns
	// an error wrapping ErrMessageUnavailable when Gmail refuses.
	CreateDraft(ctx context.Context, access GmailAccess, d Draft) (CreatedDraft, error)
	// DraftExists reports whether draft id is still a draft in the
	// caller's mailbox (not sent, not discarded): users.drafts.get.
	DraftExists(ctx context.Context, access GmailAccess, id string) (bool, error)
}

// ReplyResult is the outcome of the Reply or Take over button: the draft to
// open, or, when someone else holds the reply, the card that says so. With
// a draft, Notice (and View.ReplyFrom) says why it is not from the shared
// address when it should have been.
type ReplyResult struct {
	View   View
	Draft  *CreatedDraft // nil when refused
	Notice Message
}

// Reply claims the reply to a conversation for the caller and creates the
// draft in the caller's mailbox. A live claim of someone else refuses it
// (Draft nil, the card says who holds it) unless takeOver is set: then the
// claim is taken, the take-over is logged and the previous holder's next
// card says so. openMessageID is the Gmail message open in the caller's
// sidebar, if any: the draft answers it, or, when it is the team's own
// mail, the message it answered.
func (s *Service) Reply(ctx context.Context, u User, access GmailAccess, conversationID, openMessageID string, takeOver bool) (ReplyResult, error) {
	_, ib, me, c, err := s.load(ctx, u, conversationID)
	if err != nil {
		return ReplyResult{}, err
	}
	if s.drafts == nil {
		return ReplyResult{}, errors.New("reply: no draft writer configured")
	}
	now := s.now()
	var taken *inbox.Activity
	p, err := s.store.UpdatePresence(ctx, c.TenantID, c.ID, func(p *inbox.Presence) error {
		ev, err := p.TakeClaim(me.Email, takeOver, now)
		taken = ev
		return err
	})
	if errors.Is(err, inbox.ErrClaimHeld) {
		v, err := s.view(ctx, ib, me, c)
		return ReplyResult{View: v, Notice: Msg("claims.notice.held", "Name", ib.DisplayName(v.Presence.Claim.Holder))}, err
	}
	if err != nil {
		return ReplyResult{}, fmt.Errorf("claim reply to %s: %w", c.ID, err)
	}
	if taken != nil {
		if err := s.store.LogActivity(ctx, *taken); err != nil {
			return ReplyResult{}, fmt.Errorf("log take-over of %s: %w", c.ID, err)
		}
	}
	if kept, ok := s.keptDraft(ctx, access, p, me.Email, taken != nil); ok {
		// The holder's draft of this claim is still there: open it
		// again rather than start a second one.
		v := s.viewOf(ib, me, c, history{})
		v.Presence = p
		return ReplyResult{View: v, Draft: &kept}, nil
	}
	d, err := s.draftFor(ctx, u, ib, me, access, c, openMessageID)
	if err != nil {
		return ReplyResult{}, err
	}
	var why Message
	d.From, why = s.replyFrom(ctx, ib, me, d.From)
	created, err := s.drafts.CreateDraft(ctx, access, d)
	if err != nil {
		return ReplyResult{}, fmt.Errorf("create reply draft for %s: %w", c.ID, err)
	}
	s.log.InfoContext(ctx, "reply claimed", "conversation", c.ID, "user", u.Email, "took_over", taken != nil)
	if q, err := s.store.UpdatePresence(ctx, c.TenantID, c.ID, func(p *inbox.Presence) error {
		if p.Claim.Holder == me.Email && p.Claim.Live(now) {
			p.Claim.DraftID, p.Claim.DraftThreadID = created.ID, created.ThreadID
		}
		return nil
	}); err != nil {
		// The draft is open all the same; the next Reply makes another.
		s.log.WarnContext(ctx, "reply draft not remembered", "conversation", c.ID, "error", err)
	} else {
		p = q
	}
	v := s.viewOf(ib, me, c, history{})
	v.Presence, v.ReplyFrom = p, why
	return ReplyResult{View: v, Draft: &created, Notice: why}, nil
}

// keptDraft returns the draft the caller's claim p already has, when it
// is still a draft in their mailbox. A claim just taken over has none of
// the caller's.
func (s *Service) keptDraft(ctx context.Context, access GmailAccess, p inbox.Presence, me string, tookOver bool) (CreatedDraft, bool) {
	if tookOver || p.Claim.Holder != me || p.Claim.DraftID == "" {
		return CreatedDraft{}, false
	}
	ok, err := s.drafts.DraftExists(ctx, access, p.Claim.DraftID)
	if err != nil {
		s.log.WarnContext(ctx, "reply draft not checked; creating another", "conversation", p.ConversationID, "error", err)
		return CreatedDraft{}, false
	}
	if !ok {
		return CreatedDraft{}, false
	}
	return CreatedDraft{ID: p.Claim.DraftID, ThreadID: p.Claim.DraftThreadID}, true
}

// draftFor builds the reply draft: in the caller's copy of the thread, to
// the customer, answering the customer's message.
func (s *Service) draftFor(ctx context.Context, u User, ib inbox.Inbox, me inbox.Member, access GmailAccess, c inbox.Conversation, openMessageID string) (Draft, error) {
	links, err := s.store.ListThreadLinks(ctx, c.TenantID, c.ID)
	if err != nil {
		return Draft{}, fmt.Errorf("thread links of %s: %w", c.ID, err)
	}
	d := Draft{To: c.Customer, Subject: replySubject(c.Subject), From: me.Email}
	if c.CustomerName != "" {
		d.To = (&mail.Address{Name: c.CustomerName, Address: c.Customer}).String()
	}
	if me.Name != "" {
		d.From = (&mail.Address{Name: me.Name, Address: me.Email}).String()
	}
	for _, l := range links {
		if l.Mailbox == u.Email {
			d.ThreadID = l.ThreadID
			break
		}
	}
	// Without the open message, answer the thread's first mail.
	parent, chain := c.RootMessageID, []string{c.RootMessageID}
	if openMessageID != "" && s.reader != nil {
		h, err := s.reader.MessageHeaders(ctx, access, openMessageID)
		if err != nil {
			return Draft{}, fmt.Errorf("read the open message: %w", err)
		}
		m := h.Mail()
		if m.Subject != "" {
			d.Subject = replySubject(m.Subject)
		}
		refs := inbox.ParseMessageIDs(m.Thread.References)
		own := inbox.NormalizeMessageID(m.Thread.MessageID)
		irt := inbox.ParseMessageIDs(m.Thread.InReplyTo)
		switch {
		case own != "" && !ib.Team(m.From.Email):
			// The customer's mail (or a third party's): answer it.
			parent, chain = own, append(refs, own)
		case len(irt) > 0:
			// The team's own mail: answer what it answered.
			parent, chain = irt[0], refs
			if len(chain) == 0 || chain[len(chain)-1] != parent {
				chain = append(chain, parent)
			}
		}
	}
	var b strings.Builder
	for i, id := range chain {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("<" + id + ">")
	}
	d.InReplyTo, d.References = "<"+parent+">", b.String()
	return d, nil
}

// replySubject is "Re: " and the subject, without stacking prefixes.
func replySubject(s string) string {
	t := strings.TrimSpace(s)
	if len(t) >= 3 && strings.EqualFold(t[:3], "re:") {
		return t
	}
	return "Re: " + t
}
