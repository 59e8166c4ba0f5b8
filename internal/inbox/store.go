package inbox

import "context"

// ConversationQuery selects conversations of one inbox. Zero fields do not
// filter.
type ConversationQuery struct {
	TenantID string   // required
	InboxID  string   // required
	Statuses []Status // any of these; empty = every status
	// Assignee filters by owner: "" = any owner; Unassigned = nobody.
	Assignee string
	Limit    int    // page size for ListConversations; ≤ 0 means 20, capped at 100
	Cursor   string // NextCursor of the previous page; "" = first page
}

// Unassigned is the ConversationQuery.Assignee value that selects
// conversations nobody owns.
const Unassigned = "-"

// ConversationPage is one page of a listing, newest first.
type ConversationPage struct {
	Conversations []Conversation
	NextCursor    string // "" when this was the last page
}

// Store persists tenants, inboxes, conversations, notes and activity.
//
// Every method is scoped by tenant: a record of another tenant is reported as
// ErrNotFound, exactly like a record that does not exist. Implementations
// must be safe for concurrent use. Errors are wrapped so that errors.Is finds
// the kinds documented on each method; other errors are internal.
type Store interface {
	// CreateTenant stores a new tenant. Returns ErrAlreadyExists if the
	// domain is taken, ErrInvalid if t does not validate.
	CreateTenant(ctx context.Context, t Tenant) error
	// GetTenant returns the tenant of a domain, or ErrNotFound.
	GetTenant(ctx context.Context, domain string) (Tenant, error)

	// CreateInbox stores a new inbox. Returns ErrNotFound if its tenant does
	// not exist, ErrAlreadyExists if the id or the address is taken in the
	// tenant, ErrInvalid if ib does not validate.
	CreateInbox(ctx context.Context, ib Inbox) error
	// GetInbox returns one inbox with its members, or ErrNotFound.
	GetInbox(ctx context.Context, tenantID, inboxID string) (Inbox, error)
	// ListInboxes returns the tenant's inboxes, sorted by name then id.
	ListInboxes(ctx context.Context, tenantID string) ([]Inbox, error)

	// CreateConversation stores a new conversation (Version 1) together
	// with its first activity entry and indexes messageIDs (RFC 5322
	// Message-IDs, normalised) to it, all atomically. Returns
	// ErrAlreadyExists if the id exists, ErrNotFound if the inbox does not,
	// ErrInvalid if c does not validate.
	CreateConversation(ctx context.Context, c Conversation, messageIDs []string, created Activity) error
	// GetConversation returns one conversation, or ErrNotFound.
	GetConversation(ctx context.Context, tenantID, id string) (Conversation, error)
	// FindConversationByMessageID returns the conversation a Message-ID was
	// indexed to, or ErrNotFound.
	FindConversationByMessageID(ctx context.Context, tenantID, messageID string) (Conversation, error)
	// UpdateConversation writes c and appends ev, atomically, if and only if
	// the stored version is c.Version-1 (c was computed from it). Returns
	// ErrConflict otherwise (nothing is written), ErrNotFound if the
	// conversation does not exist, ErrInvalid if c does not validate or its
	// inbox differs from the stored one.
	UpdateConversation(ctx context.Context, c Conversation, ev Activity) error
	// ListConversations returns one page of q, newest LastMessageAt first
	// (ties broken by id, descending). Returns ErrInvalid for a cursor it did
	// not issue.
	ListConversations(ctx context.Context, q ConversationQuery) (ConversationPage, error)
	// CountConversations counts what q selects, ignoring Limit and Cursor.
	CountConversations(ctx context.Context, q ConversationQuery) (int, error)

	// AddNote stores a note and its activity entry atomically. It does not
	// change the conversation's version: notes never collide. Returns
	// ErrNotFound if the conversation does not exist.
	AddNote(ctx context.Context, n Note, ev Activity) error
	// ListNotes returns up to limit notes of a conversation, newest first.
	ListNotes(ctx context.Context, tenantID, conversationID string, limit int) ([]Note, error)
	// ListActivity returns up to limit activity entries, newest first (by
	// time, then id).
	ListActivity(ctx context.Context, tenantID, conversationID string, limit int) ([]Activity, error)
}
