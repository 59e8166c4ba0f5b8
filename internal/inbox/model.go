package inbox

import (
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Tenant is one Google Workspace domain that installed Postfach. Its Domain
// (the `hd` claim of the user's ID token) is the tenant key: every record
// below carries it and every read is scoped by it.
type Tenant struct {
	Domain string
	Name   string
	// Admins may set up inboxes and mailbox access for the whole tenant.
	// The first one is added from the command line (postfach admin add);
	// admins add the others in the sidebar.
	Admins    []string
	CreatedAt time.Time
}

// IsAdmin reports whether email is one of the tenant's admins.
func (t Tenant) IsAdmin(email string) bool {
	return slices.Contains(t.Admins, NormalizeEmail(email))
}

// Validate checks the tenant's fields.
func (t Tenant) Validate() error {
	if !validDomain(t.Domain) {
		return invalidf("tenant domain %q is not a domain name", t.Domain)
	}
	seen := map[string]bool{}
	for _, a := range t.Admins {
		if NormalizeEmail(a) != a || a == "" {
			return invalidf("admin %q is not a lower-case e-mail address", a)
		}
		if DomainOf(a) != t.Domain {
			return invalidf("admin %s is outside the tenant's domain %s", a, t.Domain)
		}
		if seen[a] {
			return invalidf("admin %s listed twice", a)
		}
		seen[a] = true
	}
	return nil
}

// Role is what a member may do in an inbox.
type Role string

// Roles.
const (
	RoleAdmin Role = "admin" // manages the inbox and works conversations
	RoleAgent Role = "agent" // works conversations
)

// Member is one person who works an inbox.
type Member struct {
	Email string // lower-case address, the member key
	Name  string // display name; may be empty
	Role  Role
}

// DisplayName is the member's name, or the local part of the address.
func (m Member) DisplayName() string {
	if m.Name != "" {
		return m.Name
	}
	local, _, _ := strings.Cut(m.Email, "@")
	return local
}

// Inbox is a shared address (a Google Group or a shared mailbox) and the team
// that works it.
type Inbox struct {
	TenantID  string
	ID        string // stable key within the tenant: [a-z0-9-], 1..40
	Address   string // the shared address, lower case, in the tenant's domain
	Name      string // shown in the sidebar
	Members   []Member
	Settings  InboxSettings
	CreatedAt time.Time
}

// InboxSettings are the per-inbox choices of its admins.
type InboxSettings struct {
	// ReplyStatus is the status a reply from the team moves an open
	// conversation to; "" leaves the status alone. DefaultInboxSettings
	// sets pending: the ball is in the customer's court.
	ReplyStatus Status
	// LabelPrefix roots the inbox's Gmail label tree:
	// <LabelPrefix>/<inbox name>/Open|Pending|Closed|Mine.
	LabelPrefix string
	// Language is the language the leaves of the label tree are named in
	// ("en", "de"): labels are shared by the whole team, so they follow
	// the inbox, not each viewer. "" is English (inboxes stored before
	// the setting existed). Which languages exist is the i18n package's
	// business; the desk checks the value, the domain only its shape.
	Language string
	// ReplyFrom is the address the sidebar's Reply drafts come from:
	// ReplyFromShared (the inbox's address, when the member may send as
	// it) or ReplyFromOwn. "" is the member's own address: inboxes stored
	// before the setting existed replied from it.
	ReplyFrom ReplyFrom
	// Workflow is the inbox's rules, auto-assignment and SLA policy.
	Workflow Workflow
}

// ReplyFrom says which address replies of an inbox come from.
type ReplyFrom string

// The addresses replies can come from.
const (
	// ReplyFromShared: the inbox's shared address, for members whose
	// Gmail has it as a send-as alias; the others reply from their own.
	ReplyFromShared ReplyFrom = "shared"
	// ReplyFromOwn: the member's own address.
	ReplyFromOwn ReplyFrom = "own"
)

// Shared reports whether replies should come from the shared address.
func (r ReplyFrom) Shared() bool { return r == ReplyFromShared }

// DefaultInboxSettings are the settings of a new inbox.
func DefaultInboxSettings() InboxSettings {
	return InboxSettings{ReplyStatus: StatusPending, LabelPrefix: "Postfach", ReplyFrom: ReplyFromShared}
}

// Member returns the member with the given address.
func (ib Inbox) Member(email string) (Member, bool) {
	email = NormalizeEmail(email)
	for _, m := range ib.Members {
		if m.Email == email {
			return m, true
		}
	}
	return Member{}, false
}

// DisplayName returns the name to show for an address: the member's name if
// it is a member, else the address itself.
func (ib Inbox) DisplayName(email string) string {
	if m, ok := ib.Member(email); ok {
		return m.DisplayName()
	}
	return email
}

// Validate checks the inbox's fields and members.
func (ib Inbox) Validate() error {
	if !validDomain(ib.TenantID) {
		return invalidf("inbox tenant %q is not a domain name", ib.TenantID)
	}
	if !validSlug(ib.ID) {
		return invalidf("inbox id %q: want 1-40 of a-z, 0-9 and -", ib.ID)
	}
	addr := NormalizeEmail(ib.Address)
	if addr == "" || addr != ib.Address {
		return invalidf("inbox address %q is not a lower-case e-mail address", ib.Address)
	}
	if !strings.HasSuffix(addr, "@"+ib.TenantID) {
		return invalidf("inbox address %q is outside the tenant's domain %s", ib.Address, ib.TenantID)
	}
	if strings.TrimSpace(ib.Name) == "" || utf8.RuneCountInString(ib.Name) > 80 {
		return Refusal("refusal.inbox_name_length")
	}
	if !ib.text() {
		return Refusal("refusal.not_text")
	}
	if st := ib.Settings.ReplyStatus; st != "" && !slices.Contains(Statuses, st) {
		return invalidf("inbox reply status %q is unknown", st)
	}
	if p := ib.Settings.LabelPrefix; p != "" && (strings.ContainsAny(p, "/\x00") || utf8.RuneCountInString(p) > 40 || strings.TrimSpace(p) != p) {
		return Refusal("refusal.label_prefix", "Prefix", p)
	}
	if l := ib.Settings.Language; l != "" && !validLanguage(l) {
		return invalidf("inbox language %q is not a language code", l)
	}
	if r := ib.Settings.ReplyFrom; r != "" && r != ReplyFromShared && r != ReplyFromOwn {
		return invalidf("inbox reply address %q is unknown", r)
	}
	if err := ib.Settings.Workflow.Validate(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, m := range ib.Members {
		if NormalizeEmail(m.Email) != m.Email || m.Email == "" {
			return invalidf("member %q is not a lower-case e-mail address", m.Email)
		}
		if m.Role != RoleAdmin && m.Role != RoleAgent {
			return invalidf("member %s has unknown role %q", m.Email, m.Role)
		}
		if seen[m.Email] {
			return invalidf("member %s listed twice", m.Email)
		}
		seen[m.Email] = true
	}
	return nil
}

// text reports whether every text an admin types into the inbox's
// settings (its name, label prefix, members' names, statuses' names,
// rules' names and texts) is valid UTF-8: Firestore stores only that, and
// Gmail's label names are made of some of it. The other fields are
// checked against their own forms (slugs, addresses, dates, zones).
func (ib Inbox) text() bool {
	texts := []string{ib.Name, ib.Settings.LabelPrefix}
	for _, m := range ib.Members {
		texts = append(texts, m.Name)
	}
	for _, d := range ib.Settings.Workflow.Statuses {
		texts = append(texts, d.Name)
	}
	for _, r := range ib.Settings.Workflow.Rules {
		texts = append(texts, r.Name)
		for _, c := range r.Conditions {
			texts = append(texts, c.Value)
		}
		for _, a := range r.Actions {
			texts = append(texts, a.Value)
		}
	}
	for _, t := range texts {
		if !utf8.ValidString(t) {
			return false
		}
	}
	return true
}

// validLanguage reports whether l looks like a BCP 47 primary language
// subtag: two or three lower-case letters.
func validLanguage(l string) bool {
	if len(l) < 2 || len(l) > 3 {
		return false
	}
	for _, r := range l {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// Status is where a conversation stands.
type Status string

// Statuses.
const (
	StatusOpen    Status = "open"    // waiting for the team
	StatusPending Status = "pending" // waiting for the customer
	StatusClosed  Status = "closed"  // done
)

// Statuses lists every status in display order.
var Statuses = []Status{StatusOpen, StatusPending, StatusClosed}

// ParseStatus validates a status given as text.
func ParseStatus(s string) (Status, error) {
	st := Status(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Statuses, st) {
		return "", invalidf("unknown status %q", s)
	}
	return st, nil
}

// Label is the status as people say it ("Open").
func (s Status) Label() string {
	switch s {
	case StatusOpen:
		return "Open"
	case StatusPending:
		return "Pending"
	case StatusClosed:
		return "Closed"
	}
	return string(s)
}

// Active reports whether the status still needs the team's attention at some
// point (open or pending).
func (s Status) Active() bool { return s == StatusOpen || s == StatusPending }

// Conversation is one customer thread in a shared inbox. Its ID is derived
// from the inbox and the thread's root RFC 5322 Message-ID (ConversationID), so
// every copy of the same mail in every member's mailbox maps to it.
type Conversation struct {
	TenantID      string
	ID            string
	InboxID       string
	RootMessageID string // without angle brackets
	Subject       string
	Customer      string // the customer's address
	CustomerName  string // display name from the From header; may be empty
	Status        Status
	Assignee      string // member address; "" = unassigned
	Tags          []string
	CreatedAt     time.Time
	LastMessageAt time.Time
	// FirstResponseAt is when the team first replied; zero until then.
	FirstResponseAt time.Time
	// Version counts committed changes. A change is written only if the stored
	// version is still the one the change was computed from.
	Version   int64
	UpdatedAt time.Time
	UpdatedBy string
	// Flow is the conversation's workflow state (snooze, SLA clocks).
	Flow Flow
	// DueAt is the next moment a scheduled sweep must look at the
	// conversation (a snooze ending, an SLA threshold); zero for never.
	// Store.ListDue finds conversations by it.
	DueAt time.Time
}

// Validate checks the conversation's fields.
func (c Conversation) Validate() error {
	switch {
	case !validDomain(c.TenantID):
		return invalidf("conversation tenant %q is not a domain name", c.TenantID)
	case c.ID == "":
		return invalidf("conversation id is empty")
	case !validSlug(c.InboxID):
		return invalidf("conversation inbox id %q is invalid", c.InboxID)
	case c.RootMessageID == "":
		return invalidf("conversation has no root Message-ID")
	case !slices.Contains(Statuses, c.Status):
		return invalidf("conversation status %q is unknown", c.Status)
	case c.Version < 1:
		return invalidf("conversation version %d < 1", c.Version)
	case c.CreatedAt.IsZero() || c.LastMessageAt.IsZero():
		return invalidf("conversation timestamps are missing")
	}
	for _, t := range c.Tags {
		if _, err := NormalizeTag(t); err != nil {
			return err
		}
	}
	return nil
}

// NormalizeEmail lower-cases an address and strips a display name; it returns
// "" for text that is not an address.
func NormalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(a.Address)
}

// DomainOf returns the lower-case domain of an address.
func DomainOf(email string) string {
	_, d, ok := strings.Cut(NormalizeEmail(email), "@")
	if !ok {
		return ""
	}
	return d
}

func validSlug(s string) bool {
	if len(s) < 1 || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func validDomain(s string) bool {
	if len(s) < 3 || len(s) > 253 || !strings.Contains(s, ".") || s != strings.ToLower(s) {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// ValidateUpdate checks a tenant changed by Store.UpdateTenant against the
// stored one: the domain is its key and stays.
func (t Tenant) ValidateUpdate(stored Tenant) error {
	if t.Domain != stored.Domain {
		return invalidf("the domain of tenant %s cannot change to %q", stored.Domain, t.Domain)
	}
	return t.Validate()
}

// ValidateUpdate checks an inbox changed by Store.UpdateInbox against the
// stored one: tenant, id and address stay.
func (ib Inbox) ValidateUpdate(stored Inbox) error {
	switch {
	case ib.TenantID != stored.TenantID || ib.ID != stored.ID:
		return invalidf("inbox %s/%s cannot move to %s/%s", stored.TenantID, stored.ID, ib.TenantID, ib.ID)
	case ib.Address != stored.Address:
		return invalidf("the address of inbox %s cannot change to %q", stored.ID, ib.Address)
	}
	return ib.Validate()
}
