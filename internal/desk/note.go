package desk

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// Mailer sends a mail from a mailbox with the server's own access to it
// (users.messages.send), as the sync reads it.
type Mailer interface {
	// SendMail sends m from mailbox. It returns an error wrapping
	// ErrNoServerAccess when the server cannot reach the mailbox.
	SendMail(ctx context.Context, mailbox string, m OutgoingMail) error
}

// OutgoingMail is a plain-text mail Postfach sends itself.
type OutgoingMail struct {
	From    string // the sending mailbox, with a display name
	To      string
	Subject string
	Text    string
}

// MentionNotice is what the mail to a mentioned member says. Words and
// layout are the cards' (see Options.MentionMail).
type MentionNotice struct {
	Inbox        inbox.Inbox
	Conversation inbox.Conversation
	Note         inbox.Note
	Recipient    string
	AuthorName   string
}

// ViewNoteHistory bounds how far back a note's history is looked for in the
// conversation's activity log.
const ViewNoteHistory = 100

// NoteView is the card of one note: its text, what it said before, and,
// for its author, the form to edit or delete it.
type NoteView struct {
	Inbox        inbox.Inbox
	Me           inbox.Member
	Conversation inbox.Conversation
	Note         inbox.Note
	// History is the note's log, newest first: added, each edit with the
	// text before it.
	History []inbox.Activity
	Now     time.Time
}

// Note returns the card of note noteID of a conversation in one of the
// caller's inboxes.
func (s *Service) Note(ctx context.Context, u User, conversationID, noteID string) (NoteView, error) {
	_, ib, me, c, err := s.load(ctx, u, conversationID)
	if err != nil {
		return NoteView{}, err
	}
	n, err := s.store.GetNote(ctx, c.TenantID, c.ID, noteID)
	if errors.Is(err, inbox.ErrNotFound) {
		return NoteView{}, inbox.Refusal("refusal.note_gone")
	}
	if err != nil {
		return NoteView{}, fmt.Errorf("get note %s: %w", noteID, err)
	}
	acts, err := s.store.ListActivity(ctx, c.TenantID, c.ID, ViewNoteHistory)
	if err != nil {
		return NoteView{}, fmt.Errorf("activity of %s: %w", c.ID, err)
	}
	v := NoteView{Inbox: ib, Me: me, Conversation: c, Note: n, Now: s.now()}
	for _, a := range acts {
		if a.To == n.ID && (a.Kind == inbox.ActNoted || a.Kind == inbox.ActNoteEdited) {
			v.History = append(v.History, a)
		}
	}
	return v, nil
}

// note adds a note and notifies the members it names.
func (s *Service) note(ctx context.Context, ib inbox.Inbox, me inbox.Member, c inbox.Conversation, body string) (Result, error) {
	n, err := inbox.NewNote(c, me.Email, body, s.now())
	if err != nil {
		return Result{}, err
	}
	if n.Mentions, err = ib.Mentions(me.Email, n.Body); err != nil {
		return Result{}, err
	}
	if err := s.store.AddNote(ctx, n, c.NoteActivity(n)); err != nil {
		return Result{}, fmt.Errorf("add note to %s: %w", c.ID, err)
	}
	notice := s.notifyMentions(ctx, ib, me, c, n, n.Mentions)
	v, err := s.view(ctx, ib, me, c)
	return Result{View: v, Notice: notice, Changed: true}, err
}

// editNote replaces the text of the caller's own note.
func (s *Service) editNote(ctx context.Context, ib inbox.Inbox, me inbox.Member, c inbox.Conversation, noteID, body string) (Result, error) {
	mentions, err := ib.Mentions(me.Email, body)
	if err != nil {
		return Result{}, err
	}
	var added []string
	n, err := s.store.UpdateNote(ctx, c.TenantID, c.ID, noteID, func(n *inbox.Note) (inbox.Activity, error) {
		before := n.Mentions
		ev, err := n.Edit(me.Email, body, mentions, s.now())
		added = nil
		for _, m := range n.Mentions {
			if !slices.Contains(before, m) {
				added = append(added, m)
			}
		}
		return ev, err
	})
	switch {
	case errors.Is(err, inbox.ErrUnchanged):
		v, err := s.view(ctx, ib, me, c)
		return Result{View: v, Notice: Msg("notice.unchanged")}, err
	case errors.Is(err, inbox.ErrNotFound):
		return Result{}, inbox.Refusal("refusal.note_gone")
	case err != nil:
		return Result{}, fmt.Errorf("edit note %s of %s: %w", noteID, c.ID, err)
	}
	notice := Msg("notice.note_edited")
	if len(added) > 0 {
		notice = s.notifyMentions(ctx, ib, me, c, n, added)
	}
	v, err := s.view(ctx, ib, me, c)
	return Result{View: v, Notice: notice, Changed: true}, err
}

// deleteNote removes the caller's own note; the log keeps its text.
func (s *Service) deleteNote(ctx context.Context, ib inbox.Inbox, me inbox.Member, c inbox.Conversation, noteID string) (Result, error) {
	err := s.store.DeleteNote(ctx, c.TenantID, c.ID, noteID, func(n inbox.Note) (inbox.Activity, error) {
		return n.Delete(me.Email, s.now())
	})
	switch {
	case errors.Is(err, inbox.ErrNotFound):
		return Result{}, inbox.Refusal("refusal.note_gone")
	case err != nil:
		return Result{}, fmt.Errorf("delete note %s of %s: %w", noteID, c.ID, err)
	}
	v, err := s.view(ctx, ib, me, c)
	return Result{View: v, Notice: Msg("notice.note_deleted"), Changed: true}, err
}

// notifyMentions mails the members a note just named and says what
// happened. The mentions are saved already: a mail that cannot be sent
// costs the recipient only the mail, so it is logged and told, never an
// error.
func (s *Service) notifyMentions(ctx context.Context, ib inbox.Inbox, me inbox.Member, c inbox.Conversation, n inbox.Note, to []string) Message {
	if len(to) == 0 {
		return Msg("notice.note_added")
	}
	names := make([]string, len(to))
	for i, e := range to {
		names[i] = ib.DisplayName(e)
	}
	who := joinNames(names)
	from, ok := s.mentionSender(ctx, ib, me)
	if !ok {
		return Msg("notice.mentioned_no_mail", "Names", who, "Count", len(to))
	}
	failed := 0
	for _, r := range to {
		m := OutgoingMail{From: from, To: r}
		if s.mentionMail != nil {
			m.Subject, m.Text = s.mentionMail(s.recipientLanguage(ctx, ib, r), MentionNotice{
				Inbox: ib, Conversation: c, Note: n, Recipient: r, AuthorName: me.DisplayName(),
			})
		}
		sctx, cancel := context.WithTimeout(ctx, mentionMailTimeout)
		err := s.mailer.SendMail(sctx, addressOf(from), m)
		cancel()
		if err != nil {
			failed++
			s.log.WarnContext(ctx, "mention mail not sent", "conversation", c.ID, "note", n.ID, "from", addressOf(from), "error", err)
		}
	}
	if failed > 0 {
		return Msg("notice.mentioned_mail_failed", "Names", who, "Count", len(to))
	}
	return Msg("notice.mentioned", "Names", who, "Count", len(to))
}

// mentionMailTimeout bounds each mention mail: the note is saved, the
// caller should not wait long for the courtesy.
const mentionMailTimeout = 5 * time.Second

// mentionSender picks the mailbox that mails a mention: the inbox's own
// when Postfach has it linked (the mail then comes from the shared
// address, as everything the team sends), else the author's own when it is
// linked (an inbox that is a Google Group, read through its members'
// mailboxes). Without either, or without a Mailer, there is none.
func (s *Service) mentionSender(ctx context.Context, ib inbox.Inbox, me inbox.Member) (string, bool) {
	if s.mailer == nil {
		return "", false
	}
	for _, cand := range []struct{ addr, name string }{{ib.Address, ib.Name}, {me.Email, me.DisplayName()}} {
		m, err := s.store.GetMailbox(ctx, cand.addr)
		if err != nil {
			if !errors.Is(err, inbox.ErrNotFound) {
				s.log.WarnContext(ctx, "mailbox lookup for a mention mail failed", "mailbox", cand.addr, "error", err)
			}
			continue
		}
		if m.TenantID != ib.TenantID || m.Problem != "" {
			continue
		}
		return (&mail.Address{Name: cand.name, Address: m.Address}).String(), true
	}
	return "", false
}

// recipientLanguage is the language a mention mail is written in: the
// recipient's own choice, else the inbox's label language, else "" (the
// default language).
func (s *Service) recipientLanguage(ctx context.Context, ib inbox.Inbox, email string) string {
	lang, err := s.Language(ctx, User{Email: email, Domain: ib.TenantID})
	if err == nil && lang != "" {
		return lang
	}
	return ib.Settings.Language
}

func addressOf(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		return a.Address
	}
	return from
}

func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	out := names[0]
	for _, n := range names[1 : len(names)-1] {
		out += ", " + n
	}
	return out + " & " + names[len(names)-1]
}

// MentionList is the caller's mentions: the homepage's unread ones, or the
// Mentions card's newest.
type MentionList struct {
	Mentions []inbox.Mention
	// Inboxes names the inboxes the mentions are in.
	Inboxes map[string]inbox.Inbox
	// More reports that there are more than the list holds.
	More bool
	Now  time.Time
}

// How many mentions the homepage and the Mentions card show.
const (
	HomeMentions = 5
	ListMentions = 20
)

// Mentions returns the caller's newest mentions (all, or the unread ones)
// in the inboxes they still work in: a member who left an inbox no longer
// sees what its notes said.
func (s *Service) Mentions(ctx context.Context, u User, unreadOnly bool) (MentionList, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return MentionList{}, err
	}
	all, err := s.store.ListInboxes(ctx, t.Domain)
	if err != nil {
		return MentionList{}, fmt.Errorf("list inboxes of %s: %w", t.Domain, err)
	}
	limit := ListMentions
	if unreadOnly {
		limit = HomeMentions
	}
	return s.mentions(ctx, t, u, all, unreadOnly, limit)
}

func (s *Service) mentions(ctx context.Context, t inbox.Tenant, u User, all []inbox.Inbox, unreadOnly bool, limit int) (MentionList, error) {
	l := MentionList{Inboxes: map[string]inbox.Inbox{}, Now: s.now()}
	for _, ib := range all {
		if _, ok := ib.Member(u.Email); ok {
			l.Inboxes[ib.ID] = ib
		}
	}
	ms, err := s.store.ListMentions(ctx, t.Domain, u.Email, unreadOnly, limit+1)
	if err != nil {
		return MentionList{}, fmt.Errorf("mentions of %s: %w", u.Email, err)
	}
	if len(ms) > limit {
		ms, l.More = ms[:limit], true
	}
	for _, m := range ms {
		if _, ok := l.Inboxes[m.InboxID]; ok {
			l.Mentions = append(l.Mentions, m)
		}
	}
	return l, nil
}

// OpenMention marks one of the caller's mentions read and returns its
// conversation.
func (s *Service) OpenMention(ctx context.Context, u User, conversationID, noteID string) (View, error) {
	_, ib, me, c, err := s.load(ctx, u, conversationID)
	if err != nil {
		return View{}, err
	}
	if _, err := s.store.MarkMentionsRead(ctx, c.TenantID, me.Email, []string{noteID}, s.now()); err != nil {
		return View{}, fmt.Errorf("mark mention %s read: %w", noteID, err)
	}
	return s.view(ctx, ib, me, c)
}

// MarkMentionsRead marks every unread mention of the caller read and
// returns the Mentions card.
func (s *Service) MarkMentionsRead(ctx context.Context, u User) (MentionList, Message, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return MentionList{}, Message{}, err
	}
	unread, err := s.store.ListMentions(ctx, t.Domain, u.Email, true, 100)
	if err != nil {
		return MentionList{}, Message{}, fmt.Errorf("mentions of %s: %w", u.Email, err)
	}
	ids := make([]string, len(unread))
	for i, m := range unread {
		ids[i] = m.NoteID
	}
	n, err := s.store.MarkMentionsRead(ctx, t.Domain, u.Email, ids, s.now())
	if err != nil {
		return MentionList{}, Message{}, fmt.Errorf("mark mentions of %s read: %w", u.Email, err)
	}
	l, err := s.Mentions(ctx, u, false)
	return l, Msg("notice.mentions_read", "Count", n), err
}

// readMentions marks the caller's mentions in the notes a card shows read:
// whoever sees the conversation has seen what they were named in. It
// writes only when one of the notes names the caller; a failure costs only
// a mention that stays unread, so it is logged.
func (s *Service) readMentions(ctx context.Context, v View) {
	var ids []string
	for _, n := range v.Notes {
		if slices.Contains(n.Mentions, v.Me.Email) {
			ids = append(ids, n.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	if _, err := s.store.MarkMentionsRead(ctx, v.Conversation.TenantID, v.Me.Email, ids, v.Now); err != nil {
		s.log.WarnContext(ctx, "mentions not marked read", "conversation", v.Conversation.ID, "error", err)
	}
}
