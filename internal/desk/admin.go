package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
)

// Settings is what the settings screen shows: the caller's own
// preferences to everyone; to the tenant's admins (Admin) also the inboxes
// and the linked mailboxes.
type Settings struct {
	Tenant    inbox.Tenant
	User      User
	Language  string // the caller's language preference; "" follows Gmail
	Admin     bool
	Inboxes   []inbox.Inbox
	Mailboxes []inbox.Mailbox
}

// admin checks that the caller is an admin of their tenant. Everything in
// the settings screens goes through it, whatever the card sent.
func (s *Service) admin(ctx context.Context, u User) (inbox.Tenant, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return inbox.Tenant{}, err
	}
	if !t.IsAdmin(u.Email) {
		s.refused(ctx, u, "not a tenant admin")
		return inbox.Tenant{}, fmt.Errorf("%w: %s is not an admin of %s", inbox.ErrForbidden, u.Email, t.Domain)
	}
	return t, nil
}

// Settings returns the settings screen of any user of an installed
// tenant: their preferences, and for admins the admin overview.
func (s *Service) Settings(ctx context.Context, u User) (Settings, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return Settings{}, err
	}
	return s.settings(ctx, t, u)
}

func (s *Service) settings(ctx context.Context, t inbox.Tenant, u User) (Settings, error) {
	lang, err := s.Language(ctx, u)
	if err != nil {
		return Settings{}, err
	}
	st := Settings{Tenant: t, User: u, Language: lang}
	if !t.IsAdmin(u.Email) {
		return st, nil
	}
	st.Admin = true
	if st.Inboxes, err = s.store.ListInboxes(ctx, t.Domain); err != nil {
		return Settings{}, fmt.Errorf("list inboxes: %w", err)
	}
	if st.Mailboxes, err = s.store.ListMailboxes(ctx, t.Domain); err != nil {
		return Settings{}, fmt.Errorf("list mailboxes: %w", err)
	}
	return st, nil
}

// InboxSettings returns one inbox for its edit screen (admins only).
func (s *Service) InboxSettings(ctx context.Context, u User, inboxID string) (inbox.Inbox, error) {
	t, err := s.admin(ctx, u)
	if err != nil {
		return inbox.Inbox{}, err
	}
	ib, err := s.store.GetInbox(ctx, t.Domain, inboxID)
	if errors.Is(err, inbox.ErrNotFound) {
		return inbox.Inbox{}, inbox.Refusal("refusal.no_such_inbox")
	}
	return ib, err
}

// AdminOp names an action of the settings screens.
type AdminOp string

// Admin actions.
const (
	AdminCreateInbox AdminOp = "admin-create-inbox" // Name, Address, Emails (members)
	AdminRenameInbox AdminOp = "admin-rename-inbox" // InboxID, Name
	AdminDeleteInbox AdminOp = "admin-delete-inbox" // InboxID
	AdminAddMember   AdminOp = "admin-add-member"   // InboxID, Emails, Role
	AdminRemove      AdminOp = "admin-remove-member"
	AdminSetRole     AdminOp = "admin-set-role"     // InboxID, Emails[0], Role
	AdminSetOptions  AdminOp = "admin-set-options"  // InboxID, LabelPrefix, ReplyStatus, LabelLanguage, ReplyFrom
	AdminAddAdmin    AdminOp = "admin-add-admin"    // Emails
	AdminRemoveAdmin AdminOp = "admin-remove-admin" // Emails[0]
)

// ParseAdminOp validates an admin action name from a card parameter.
func ParseAdminOp(s string) (AdminOp, bool) {
	switch op := AdminOp(s); op {
	case AdminCreateInbox, AdminRenameInbox, AdminDeleteInbox, AdminAddMember, AdminRemove,
		AdminSetRole, AdminSetOptions, AdminAddAdmin, AdminRemoveAdmin:
		return op, true
	}
	return "", false
}

// AdminAction is one click on a settings screen; every field is untrusted.
type AdminAction struct {
	Op          AdminOp
	InboxID     string
	Name        string
	Address     string
	Emails      string // one or more addresses, separated by commas, spaces or new lines
	Role        string
	LabelPrefix string
	ReplyStatus string // open | pending | closed | "" (leave the status alone)
	// LabelLanguage is the language of the inbox's Gmail labels (en, de);
	// "" keeps the inbox's.
	LabelLanguage string
	// ReplyFrom is the address replies come from (shared, own); "" keeps
	// the inbox's.
	ReplyFrom string
	// Lang is the language the admin uses Postfach in (from the request,
	// not the card): a new inbox's labels are named in it.
	Lang i18n.Lang
}

// AdminResult is the outcome of an admin action.
type AdminResult struct {
	Settings Settings
	// Inbox is the inbox the action was about, for its edit screen; empty
	// when the action ends on the overview (create, delete, admins).
	Inbox  inbox.Inbox
	Notice Message
}

// Admin performs an admin action. Non-admins get ErrForbidden; bad input
// gets ErrInvalid with a message for the admin; nothing is written then.
func (s *Service) Admin(ctx context.Context, u User, a AdminAction) (AdminResult, error) {
	t, err := s.admin(ctx, u)
	if err != nil {
		return AdminResult{}, err
	}
	var res AdminResult
	switch a.Op {
	case AdminCreateInbox:
		res, err = s.createInbox(ctx, t, u, a)
	case AdminDeleteInbox:
		if err = s.store.DeleteInbox(ctx, t.Domain, a.InboxID); errors.Is(err, inbox.ErrNotFound) {
			err = inbox.Refusal("refusal.no_such_inbox")
		}
		res.Notice = Msg("notice.inbox_deleted")
	case AdminAddAdmin, AdminRemoveAdmin:
		res, err = s.changeAdmins(ctx, t, a)
	case AdminRenameInbox, AdminAddMember, AdminRemove, AdminSetRole, AdminSetOptions:
		res, err = s.changeInbox(ctx, t, u, a)
	default:
		err = inbox.Invalid("unknown admin action %q", a.Op)
	}
	if err != nil {
		return AdminResult{}, err
	}
	s.log.InfoContext(ctx, "admin action", "op", a.Op, "admin", u.Email, "tenant", t.Domain, "inbox", a.InboxID)
	res.Settings, err = s.Settings(ctx, u)
	return res, err
}

// parseEmails reads a list of addresses in the tenant's domain.
func parseEmails(t inbox.Tenant, text string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		e := inbox.NormalizeEmail(f)
		if e == "" {
			return nil, inbox.Refusal("refusal.not_an_address", "Address", f)
		}
		if inbox.DomainOf(e) != t.Domain {
			return nil, inbox.Refusal("refusal.outside_domain", "Address", e, "Domain", t.Domain)
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func parseRole(s string) (inbox.Role, error) {
	switch r := inbox.Role(strings.ToLower(strings.TrimSpace(s))); r {
	case inbox.RoleAdmin, inbox.RoleAgent:
		return r, nil
	case "":
		return inbox.RoleAgent, nil
	}
	return "", inbox.Invalid("unknown role %q", s)
}

func (s *Service) createInbox(ctx context.Context, t inbox.Tenant, u User, a AdminAction) (AdminResult, error) {
	addr := inbox.NormalizeEmail(a.Address)
	if addr == "" {
		return AdminResult{}, inbox.Refusal("refusal.not_an_address", "Address", a.Address)
	}
	emails, err := parseEmails(t, a.Emails)
	if err != nil {
		return AdminResult{}, err
	}
	ib := inbox.Inbox{
		TenantID:  t.Domain,
		ID:        inboxID(addr, s.now()),
		Address:   addr,
		Name:      strings.TrimSpace(a.Name),
		Settings:  inbox.DefaultInboxSettings(),
		CreatedAt: s.now(),
	}
	ib.Settings.Language = string(i18n.English)
	if a.Lang.Valid() {
		ib.Settings.Language = string(a.Lang)
	}
	for _, e := range emails {
		ib.Members = append(ib.Members, inbox.Member{Email: e, Role: inbox.RoleAgent})
	}
	err = s.store.CreateInbox(ctx, ib)
	if errors.Is(err, inbox.ErrAlreadyExists) {
		return AdminResult{}, inbox.Refusal("refusal.inbox_exists", "Address", addr)
	}
	if err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Inbox: ib, Notice: Msg("notice.inbox_created", "Name", ib.Name)}, nil
}

// inboxID makes a new inbox's id: its address's slug and a random suffix,
// so that an inbox created after another was deleted never takes over the
// deleted one's conversations (they stay stored under its id).
func inboxID(addr string, now time.Time) string {
	id := inbox.NewID(now)
	return slug(addr) + "-" + id[len(id)-6:]
}

// slug derives an inbox id's readable part from its address: the local part,
// lower case, with anything but a-z, 0-9 and '-' turned into '-', at most 32
// characters.
func slug(addr string) string {
	local, _, _ := strings.Cut(addr, "@")
	var b strings.Builder
	for _, r := range local {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() == 32 {
			break
		}
	}
	if b.Len() == 0 {
		return "inbox"
	}
	return b.String()
}

func (s *Service) changeAdmins(ctx context.Context, t inbox.Tenant, a AdminAction) (AdminResult, error) {
	emails, err := parseEmails(t, a.Emails)
	if err != nil {
		return AdminResult{}, err
	}
	if len(emails) == 0 {
		return AdminResult{}, inbox.Refusal("refusal.no_address")
	}
	_, err = s.store.UpdateTenant(ctx, t.Domain, func(t *inbox.Tenant) error {
		for _, e := range emails {
			if a.Op == AdminAddAdmin && !slices.Contains(t.Admins, e) {
				t.Admins = append(t.Admins, e)
			}
			if a.Op == AdminRemoveAdmin {
				t.Admins = slices.DeleteFunc(t.Admins, func(x string) bool { return x == e })
			}
		}
		if len(t.Admins) == 0 {
			return inbox.Refusal("refusal.last_admin")
		}
		return nil
	})
	if err != nil {
		return AdminResult{}, err
	}
	notice := Msg("notice.admins_added", "Emails", strings.Join(emails, ", "))
	if a.Op == AdminRemoveAdmin {
		notice = Msg("notice.admins_removed", "Emails", strings.Join(emails, ", "))
	}
	return AdminResult{Notice: notice}, nil
}

func (s *Service) changeInbox(ctx context.Context, t inbox.Tenant, u User, a AdminAction) (AdminResult, error) {
	var removed []string
	var notice Message
	var before inbox.Inbox
	ib, err := s.store.UpdateInbox(ctx, t.Domain, a.InboxID, func(ib *inbox.Inbox) error {
		removed = nil
		before = *ib
		switch a.Op {
		case AdminRenameInbox:
			ib.Name = strings.TrimSpace(a.Name)
			notice = Msg("notice.inbox_renamed", "Name", ib.Name)
		case AdminAddMember:
			emails, err := parseEmails(t, a.Emails)
			if err != nil {
				return err
			}
			role, err := parseRole(a.Role)
			if err != nil {
				return err
			}
			if len(emails) == 0 {
				return inbox.Refusal("refusal.no_address")
			}
			for _, e := range emails {
				if _, ok := ib.Member(e); !ok {
					ib.Members = append(ib.Members, inbox.Member{Email: e, Role: role})
				}
			}
			notice = Msg("notice.members_added", "Emails", strings.Join(emails, ", "))
		case AdminRemove, AdminSetRole:
			emails, err := parseEmails(t, a.Emails)
			if err != nil || len(emails) != 1 {
				return inbox.Refusal("refusal.one_member")
			}
			i := slices.IndexFunc(ib.Members, func(m inbox.Member) bool { return m.Email == emails[0] })
			if i < 0 {
				return inbox.Refusal("refusal.not_a_member", "Email", emails[0])
			}
			if a.Op == AdminRemove {
				ib.Members = slices.Delete(slices.Clone(ib.Members), i, i+1)
				removed = emails
				notice = Msg("notice.member_removed", "Email", emails[0])
			} else {
				role, err := parseRole(a.Role)
				if err != nil {
					return err
				}
				ib.Members = slices.Clone(ib.Members)
				ib.Members[i].Role = role
				notice = Msg("notice.now_agent", "Email", emails[0])
				if role == inbox.RoleAdmin {
					notice = Msg("notice.now_admin", "Email", emails[0])
				}
			}
		case AdminSetOptions:
			st := inbox.Status("")
			if a.ReplyStatus != "" && a.ReplyStatus != "none" {
				var err error
				if st, err = inbox.ParseStatus(a.ReplyStatus); err != nil {
					return err
				}
			}
			lang := ib.Settings.Language
			if a.LabelLanguage != "" {
				if !i18n.Lang(a.LabelLanguage).Valid() {
					return inbox.Invalid("unknown label language %q", a.LabelLanguage)
				}
				lang = a.LabelLanguage
			}
			from := ib.Settings.ReplyFrom
			if a.ReplyFrom != "" {
				from = inbox.ReplyFrom(a.ReplyFrom)
				if from != inbox.ReplyFromShared && from != inbox.ReplyFromOwn {
					return inbox.Invalid("unknown reply address %q", a.ReplyFrom)
				}
			}
			// Only the options of this form change; the workflow (rules,
			// assignment, SLA) has screens of its own and stays.
			ib.Settings.ReplyStatus, ib.Settings.LabelPrefix = st, strings.TrimSpace(a.LabelPrefix)
			ib.Settings.Language, ib.Settings.ReplyFrom = lang, from
			notice = Msg("notice.settings_saved")
		}
		return nil
	})
	if errors.Is(err, inbox.ErrNotFound) {
		return AdminResult{}, inbox.Refusal("refusal.no_such_inbox")
	}
	if err != nil {
		return AdminResult{}, err
	}
	if s.onInbox != nil && (a.Op == AdminRenameInbox || a.Op == AdminSetOptions) {
		s.onInbox(ctx, before, ib)
	}
	for _, e := range removed {
		n, err := s.unassignAll(ctx, ib, u, e)
		if err != nil {
			return AdminResult{}, err
		}
		notice = Message{ID: "notice.member_removed_unassigned", Args: []any{"Email", e, "Count", n}}
		s.log.InfoContext(ctx, "member removed, conversations unassigned", "inbox", ib.ID, "member", e, "unassigned", n, "admin", u.Email)
	}
	return AdminResult{Inbox: ib, Notice: notice}, nil
}

// unassignAll unassigns the open and pending conversations a removed member
// owned, so that none is left with an owner who can no longer see it; they
// show up as Unassigned for the team.
func (s *Service) unassignAll(ctx context.Context, ib inbox.Inbox, u User, email string) (int, error) {
	return s.changeEach(ctx, bulkChange{
		query:  inbox.ConversationQuery{TenantID: ib.TenantID, InboxID: ib.ID, Statuses: []inbox.Status{inbox.StatusOpen, inbox.StatusPending}, Assignee: email, Limit: 100},
		verb:   "unassign",
		writes: 5,
		change: func(c *inbox.Conversation) (inbox.Activity, error) {
			if c.Assignee != email {
				return inbox.Activity{}, inbox.ErrUnchanged
			}
			return c.Unassign(u.Email, s.now())
		},
	})
}
