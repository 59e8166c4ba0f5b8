// Package desk implements the shared-inbox use cases behind the Gmail
// sidebar: which inboxes and conversations a user may see, resolving an open
// Gmail message to its conversation, and the actions on a conversation
// (assign, unassign, status, tags, notes) with their collision rule.
//
// Every method takes the verified caller (User) and checks, on the server,
// that the caller's Workspace domain is the tenant and that the caller is a
// member of the conversation's inbox — whatever ids a card sent. desk does no
// I/O of its own: it uses an inbox.Store and a MessageReader.
package desk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// User is the verified caller of a request.
// Message is a sentence for the user, worded by the cards in the user's
// language: ID is its message id in the catalogs (package i18n) and Args
// its name/value pairs; or, with Activity set, the description of that
// entry (ID, if set, then takes it as the argument "What").
type Message struct {
	ID       string
	Args     []any
	Activity *inbox.Activity
}

// Msg returns the Message id with its name/value arguments.
func Msg(id string, args ...any) Message { return Message{ID: id, Args: args} }

type User struct {
	Subject string // stable Google account id
	Email   string // lower case
	Domain  string // Workspace domain (the `hd` claim); "" for consumer accounts
}

// GmailAccess is what a sidebar request carries to read the open message.
type GmailAccess struct {
	OAuthToken   string // authorizationEventObject.userOAuthToken
	MessageToken string // gmail.accessToken, sent as X-Goog-Gmail-Access-Token
}

// MessageHeaders are the headers of one mail that Postfach reads.
type MessageHeaders = inbox.Headers

// MessageReader reads the headers of the message open in the user's Gmail.
type MessageReader interface {
	// MessageHeaders returns the headers of message id in the user's
	// mailbox. It returns an error wrapping ErrMessageUnavailable when Gmail
	// refuses or does not know the message.
	MessageHeaders(ctx context.Context, access GmailAccess, messageID string) (MessageHeaders, error)
}

// ErrMessageUnavailable: Gmail would not give us the open message (expired
// token, missing scope, unknown id).
var ErrMessageUnavailable = errors.New("message unavailable")

// Service is the shared inbox as the sidebar sees it.
type Service struct {
	store    inbox.Store
	reader   MessageReader
	drafts   DraftWriter
	now      func() time.Time
	log      *slog.Logger
	onChange func(context.Context, inbox.Conversation)
	relabel  func(context.Context, inbox.Conversation) error
	onInbox  func(ctx context.Context, before, after inbox.Inbox)
	prefs    prefsCache // users' languages, see Language
	// sendAs checks the shared address of replies; sendAsAnswers
	// remembers its answers (see replyFrom).
	sendAs        SendAsChecker
	sendAsAnswers sendAsCache
	// mailer sends the mail of a mention, worded by mentionMail.
	mailer      Mailer
	mentionMail func(lang string, n MentionNotice) (subject, text string)
	slaMail     func(lang string, n SLANotice) (subject, text string)
}

// Options configure a Service.
type Options struct {
	Store  inbox.Store
	Reader MessageReader
	// Drafts creates reply drafts (the Reply button); nil refuses it.
	Drafts DraftWriter
	// SendAs checks whether a user may send as an inbox's address (Reply
	// from the shared address); nil: replies come from the user's own.
	SendAs SendAsChecker
	Now    func() time.Time // defaults to time.Now
	Logger *slog.Logger     // defaults to discarding
	// OnChange, if set, is called after an action changed a conversation
	// (to mirror it as Gmail labels). It must not block for long.
	OnChange func(context.Context, inbox.Conversation)
	// Relabel, if set, writes a conversation's state to its Gmail labels
	// and returns once Gmail took it. The sweep (SweepDue) calls it for
	// the changes whose labels OnChange may have lost: an action records
	// that it owes them (inbox.Flow.LabelsOwed), inbox.LabelsGrace after it.
	Relabel func(context.Context, inbox.Conversation) error
	// OnInboxChange, if set, is called after an admin changed an inbox's
	// name or options, with the inbox before and after (to rename its
	// Gmail labels). It must not block for long.
	OnInboxChange func(ctx context.Context, before, after inbox.Inbox)
	// Mailer sends the mail that tells a member a note named them; nil:
	// mentions are only listed on the homepage.
	Mailer Mailer
	// MentionMail words that mail in a language (a BCP 47 base, "" for
	// the default).
	MentionMail func(lang string, n MentionNotice) (subject, text string)
	// SLAMail words the mail about an SLA threshold (see SweepDue).
	SLAMail func(lang string, n SLANotice) (subject, text string)
}

// New builds a Service.
func New(o Options) *Service {
	s := &Service{store: o.Store, reader: o.Reader, drafts: o.Drafts, now: o.Now, log: o.Logger, onChange: o.OnChange, relabel: o.Relabel, onInbox: o.OnInboxChange, sendAs: o.SendAs,
		mailer: o.Mailer, mentionMail: o.MentionMail, slaMail: o.SLAMail}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// ErrNotInstalled: the caller's domain has no tenant. The sidebar explains
// how to set Postfach up rather than failing.
var ErrNotInstalled = errors.New("postfach is not set up for this domain")

// checkIdentity refuses identities that cannot belong to a tenant.
func checkIdentity(u User) error {
	if u.Domain == "" {
		return fmt.Errorf("%w: %s is not a Google Workspace account", inbox.ErrForbidden, u.Email)
	}
	if inbox.DomainOf(u.Email) == "" {
		return fmt.Errorf("%w: no e-mail address in the identity", inbox.ErrForbidden)
	}
	return nil
}

// tenant checks that the caller belongs to an installed tenant.
func (s *Service) tenant(ctx context.Context, u User) (inbox.Tenant, error) {
	if err := checkIdentity(u); err != nil {
		return inbox.Tenant{}, err
	}
	t, err := s.store.GetTenant(ctx, u.Domain)
	if errors.Is(err, inbox.ErrNotFound) {
		return inbox.Tenant{}, fmt.Errorf("%w: %s", ErrNotInstalled, u.Domain)
	}
	if err != nil {
		return inbox.Tenant{}, fmt.Errorf("get tenant %s: %w", u.Domain, err)
	}
	return t, nil
}

// Home is the homepage: the caller's inboxes with their counts.
type Home struct {
	Tenant  inbox.Tenant
	User    User
	Inboxes []InboxSummary
	// Admin is set for the tenant's admins, who also see Problems: the
	// linked mailboxes whose sync fails and need a human.
	Admin    bool
	Problems []inbox.Mailbox
	// Mailbox is the caller's own mailbox link, if Postfach has one.
	Mailbox *inbox.Mailbox
	// Mentions are the caller's newest unread mentions (at most
	// HomeMentions; More when there are others).
	Mentions MentionList
}

// InboxSummary is one inbox on the homepage.
type InboxSummary struct {
	Inbox inbox.Inbox
	Me    inbox.Member
	// Counts per Filter.
	Counts map[Filter]int
}

// Filter names a list of conversations on the homepage.
type Filter string

// Filters, in homepage order.
const (
	FilterUnassigned Filter = "unassigned" // active, nobody owns it
	FilterMine       Filter = "mine"       // active, owned by the caller
	FilterOpen       Filter = "open"       // status open
	FilterPending    Filter = "pending"    // status pending
	FilterClosed     Filter = "closed"     // status closed
)

// HomeFilters are the counts the homepage shows.
var HomeFilters = []Filter{FilterUnassigned, FilterMine, FilterOpen, FilterPending}

// Label is the filter as the sidebar shows it.
func (f Filter) Label() string {
	switch f {
	case FilterUnassigned:
		return "Unassigned"
	case FilterMine:
		return "Mine"
	case FilterOpen:
		return "Open"
	case FilterPending:
		return "Pending"
	case FilterClosed:
		return "Closed"
	}
	return string(f)
}

// ParseFilter validates a filter name from a card parameter.
func ParseFilter(s string) (Filter, error) {
	switch f := Filter(s); f {
	case FilterUnassigned, FilterMine, FilterOpen, FilterPending, FilterClosed:
		return f, nil
	}
	return "", inbox.Invalid("unknown list %q", s)
}

func (f Filter) query(tenantID, inboxID, me string) inbox.ConversationQuery {
	q := inbox.ConversationQuery{TenantID: tenantID, InboxID: inboxID}
	switch f {
	case FilterUnassigned:
		q.Statuses = []inbox.Status{inbox.StatusOpen, inbox.StatusPending}
		q.Assignee = inbox.Unassigned
	case FilterMine:
		q.Statuses = []inbox.Status{inbox.StatusOpen, inbox.StatusPending}
		q.Assignee = me
	case FilterOpen:
		q.Statuses = []inbox.Status{inbox.StatusOpen}
	case FilterPending:
		q.Statuses = []inbox.Status{inbox.StatusPending}
	case FilterClosed:
		q.Statuses = []inbox.Status{inbox.StatusClosed}
	}
	return q
}

// count is what the filter selects, read from an inbox's kept counts; it
// equals CountConversations of f.query (see inbox.Store.InboxCounts).
func (f Filter) count(c inbox.Counts, me string) int {
	switch f {
	case FilterUnassigned:
		return c.Unassigned
	case FilterMine:
		return c.Mine(me)
	case FilterOpen:
		return c.Open
	case FilterPending:
		return c.Pending
	case FilterClosed:
		return c.Closed
	}
	return 0
}

// Home returns the caller's inboxes and their counts, read from the counts
// the store keeps (one read per inbox, whatever its size). Returns
// ErrNotInstalled when the caller's domain has no tenant.
func (s *Service) Home(ctx context.Context, u User) (Home, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return Home{}, err
	}
	all, err := s.store.ListInboxes(ctx, t.Domain)
	if err != nil {
		return Home{}, fmt.Errorf("list inboxes of %s: %w", t.Domain, err)
	}
	h := Home{Tenant: t, User: u, Admin: t.IsAdmin(u.Email)}
	if m, err := s.store.GetMailbox(ctx, u.Email); err == nil && m.TenantID == t.Domain {
		h.Mailbox = &m
	} else if err != nil && !errors.Is(err, inbox.ErrNotFound) {
		return Home{}, fmt.Errorf("get mailbox %s: %w", u.Email, err)
	}
	if h.Admin {
		mbs, err := s.store.ListMailboxes(ctx, t.Domain)
		if err != nil {
			return Home{}, fmt.Errorf("list mailboxes of %s: %w", t.Domain, err)
		}
		for _, m := range mbs {
			if m.LastError != "" {
				h.Problems = append(h.Problems, m)
			}
		}
	}
	for _, ib := range all {
		me, ok := ib.Member(u.Email)
		if !ok {
			continue
		}
		counts, err := s.store.InboxCounts(ctx, t.Domain, ib.ID)
		if err != nil {
			return Home{}, fmt.Errorf("counts of inbox %s: %w", ib.ID, err)
		}
		sum := InboxSummary{Inbox: ib, Me: me, Counts: map[Filter]int{}}
		for _, f := range HomeFilters {
			sum.Counts[f] = f.count(counts, me.Email)
		}
		h.Inboxes = append(h.Inboxes, sum)
	}
	if len(h.Inboxes) > 0 {
		if h.Mentions, err = s.mentions(ctx, t, u, all, true, HomeMentions); err != nil {
			return Home{}, err
		}
	}
	return h, nil
}

// List is one page of an inbox's conversations.
type List struct {
	Inbox         inbox.Inbox
	Me            inbox.Member
	Filter        Filter
	Conversations []inbox.Conversation
	NextCursor    string
	Now           time.Time
}

// ListPageSize is how many rows one list card shows.
const ListPageSize = 20

// List returns a page of an inbox's conversations for a filter, newest
// first. Returns ErrForbidden when the caller is not a member of the inbox
// (an inbox of another tenant is simply not found).
func (s *Service) List(ctx context.Context, u User, inboxID string, f Filter, cursor string) (List, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return List{}, err
	}
	ib, me, err := s.membership(ctx, t, u, inboxID)
	if err != nil {
		return List{}, err
	}
	q := f.query(t.Domain, ib.ID, me.Email)
	q.Limit = ListPageSize
	q.Cursor = cursor
	page, err := s.store.ListConversations(ctx, q)
	if err != nil {
		return List{}, fmt.Errorf("list %s of inbox %s: %w", f, ib.ID, err)
	}
	return List{Inbox: ib, Me: me, Filter: f, Conversations: page.Conversations, NextCursor: page.NextCursor, Now: s.now()}, nil
}

// membership returns the inbox and the caller's membership in it.
func (s *Service) membership(ctx context.Context, t inbox.Tenant, u User, inboxID string) (inbox.Inbox, inbox.Member, error) {
	ib, err := s.store.GetInbox(ctx, t.Domain, inboxID)
	if err != nil {
		if errors.Is(err, inbox.ErrNotFound) {
			s.refused(ctx, u, "unknown inbox", "inbox", inboxID)
			return inbox.Inbox{}, inbox.Member{}, fmt.Errorf("%w: no inbox %q in %s", inbox.ErrForbidden, inboxID, t.Domain)
		}
		return inbox.Inbox{}, inbox.Member{}, fmt.Errorf("get inbox %s: %w", inboxID, err)
	}
	me, ok := ib.Member(u.Email)
	if !ok {
		s.refused(ctx, u, "not a member", "inbox", inboxID)
		return inbox.Inbox{}, inbox.Member{}, fmt.Errorf("%w: %s is not a member of inbox %s", inbox.ErrForbidden, u.Email, inboxID)
	}
	return ib, me, nil
}

// refused logs a request that named something the caller may not touch:
// a stale card at best, a forged parameter at worst.
func (s *Service) refused(ctx context.Context, u User, why string, attrs ...any) {
	s.log.WarnContext(ctx, "access refused", append([]any{"reason", why, "user", u.Email, "domain", u.Domain}, attrs...)...)
}
