package inbox

import (
	"context"
	"time"
)

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

// Bounds of Store.RecentHistory.
const (
	MaxRecentNotes    = 5
	MaxRecentActivity = 10
)

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
// the kinds documented on each method; other errors are internal. Any write
// may also return ErrUnavailable when the backend could not commit it now
// (it kept losing to concurrent writes until its deadline): nothing was
// written, and the caller may try again. Concurrent writers never see a
// backend's own contention error.
type Store interface {
	// CreateTenant stores a new tenant. Returns ErrAlreadyExists if the
	// domain is taken, ErrInvalid if t does not validate.
	CreateTenant(ctx context.Context, t Tenant) error
	// GetTenant returns the tenant of a domain, or ErrNotFound.
	GetTenant(ctx context.Context, domain string) (Tenant, error)
	// UpdateTenant applies fn to the stored tenant and writes the result,
	// atomically; fn may run more than once and its error is returned as
	// is. Returns ErrNotFound, or ErrInvalid if fn changed the domain or the
	// result does not validate.
	UpdateTenant(ctx context.Context, domain string, fn func(*Tenant) error) (Tenant, error)
	// ListTenants returns every tenant, sorted by domain (for tasks that
	// visit them all, such as the reconciliation of counts).
	ListTenants(ctx context.Context) ([]Tenant, error)

	// CreateInbox stores a new inbox. Returns ErrNotFound if its tenant does
	// not exist, ErrAlreadyExists if the id or the address is taken in the
	// tenant, ErrInvalid if ib does not validate.
	CreateInbox(ctx context.Context, ib Inbox) error
	// GetInbox returns one inbox with its members, or ErrNotFound.
	GetInbox(ctx context.Context, tenantID, inboxID string) (Inbox, error)
	// ListInboxes returns the tenant's inboxes, sorted by name then id.
	ListInboxes(ctx context.Context, tenantID string) ([]Inbox, error)
	// UpdateInbox applies fn to the stored inbox (name, members, settings)
	// and writes the result, atomically; fn may run more than once and its
	// error is returned as is. Returns ErrNotFound, or ErrInvalid if fn
	// changed the tenant, id or address or the result does not validate.
	UpdateInbox(ctx context.Context, tenantID, inboxID string, fn func(*Inbox) error) (Inbox, error)
	// DeleteInbox removes an inbox and frees its address. Its
	// conversations stay stored but no one is a member of them any more.
	// Returns ErrNotFound if it does not exist.
	DeleteInbox(ctx context.Context, tenantID, inboxID string) error

	// CreateConversation stores a new conversation (Version 1) together
	// with its first activity entry (and more entries of the same write,
	// Version 1 too, such as the inbox's rules' changes) and indexes messageIDs (RFC 5322
	// Message-IDs, normalised) to it within its inbox, all atomically. A
	// Message-ID already indexed to another conversation of the same inbox
	// keeps its first conversation. Returns ErrAlreadyExists if the id
	// exists, ErrNotFound if the inbox does not, ErrInvalid if c does not
	// validate.
	CreateConversation(ctx context.Context, c Conversation, messageIDs []string, created Activity, more ...Activity) error
	// AppendMessage records a later mail of an existing conversation: it
	// writes c and indexes messageIDs (the mail's own Message-ID first)
	// within c's inbox, atomically. When the mail changed the conversation's
	// state, ev is its activity entry and c.Version is the stored version + 1;
	// otherwise ev is nil and c.Version is the stored version. more are
	// further entries of the same write (the inbox's rules' changes), with
	// the same version: with any entry at all, in ev or more, c.Version is
	// the stored version + 1. Returns
	// ErrAlreadyExists, writing nothing, when messageIDs[0] is already
	// indexed in c's inbox (the mail was recorded before: replays and copies
	// in other mailboxes are no-ops); ErrConflict when the stored version is
	// not the expected one; ErrNotFound if the conversation does not exist.
	AppendMessage(ctx context.Context, c Conversation, messageIDs []string, ev *Activity, more ...Activity) error
	// GetConversation returns one conversation, or ErrNotFound.
	GetConversation(ctx context.Context, tenantID, id string) (Conversation, error)
	// FindConversationsByMessageID returns the conversations a Message-ID
	// is indexed to, at most one per inbox of the tenant (the same mail sent
	// to two shared addresses is a conversation in each), sorted by inbox id.
	// None is an empty result, not an error.
	FindConversationsByMessageID(ctx context.Context, tenantID, messageID string) ([]Conversation, error)
	// UpdateConversation writes c and appends ev, atomically, if and only if
	// the stored version is c.Version-1 (c was computed from it). Returns
	// ErrConflict otherwise (nothing is written), ErrNotFound if the
	// conversation does not exist, ErrInvalid if c does not validate or its
	// inbox differs from the stored one.
	UpdateConversation(ctx context.Context, c Conversation, ev Activity) error
	// ListDue returns up to limit conversations of any tenant whose DueAt
	// is set and not after t, soonest first (ties by tenant, then id), for
	// the scheduled sweep. Its cost grows with the conversations returned.
	ListDue(ctx context.Context, t time.Time, limit int) ([]Conversation, error)
	// ListConversations returns one page of q, newest LastMessageAt first
	// (ties broken by id, descending). Returns ErrInvalid for a cursor it did
	// not issue.
	ListConversations(ctx context.Context, q ConversationQuery) (ConversationPage, error)
	// CountConversations counts what q selects, ignoring Limit and Cursor.
	// Its cost grows with the conversations counted: the homepage reads
	// InboxCounts instead, and ReconcileCounts uses this to check them.
	CountConversations(ctx context.Context, q ConversationQuery) (int, error)
	// InboxCounts returns an inbox's Counts as the store keeps them: every
	// write that creates a conversation or changes its status or assignee
	// (CreateConversation, AppendMessage, UpdateConversation) updates them
	// in the same transaction, so they equal what CountConversations
	// counts for the same filters (Statuses {s}; Statuses {open, pending}
	// with Assignee Unassigned or an owner) at every commit, and reading
	// them costs the same whatever the number of conversations. An inbox
	// with no conversations, or that does not exist, counts zero; a deleted
	// inbox's conversations keep counting under its id, as they keep being
	// listed and counted by CountConversations. Returns ErrInvalid for an
	// empty tenant or inbox id.
	InboxCounts(ctx context.Context, tenantID, inboxID string) (Counts, error)
	// ReconcileCounts recounts an inbox's conversations by aggregation, as
	// of one consistent snapshot, and corrects the kept counts by the
	// difference between the recount and what they said in that snapshot;
	// writes committed meanwhile are kept, not undone. It repairs drift
	// (a backend fault, a counter edited by hand, data written before the
	// counts existed) and reports it. Returns ErrInvalid for an empty
	// tenant or inbox id; like every write, ErrUnavailable when the
	// correction could not be committed (then nothing was corrected).
	ReconcileCounts(ctx context.Context, tenantID, inboxID string) (CountsRepair, error)

	// AddNote stores a note, its activity entry and a Mention
	// (NewMention) for every address in n.Mentions, atomically. It does
	// not change the conversation's version: notes never collide. Returns
	// ErrNotFound if the conversation does not exist, ErrInvalid if n
	// does not validate (Note.Validate) or ev is incomplete,
	// ErrAlreadyExists if the note id is taken.
	AddNote(ctx context.Context, n Note, ev Activity) error
	// GetNote returns one note of a conversation, or ErrNotFound.
	GetNote(ctx context.Context, tenantID, conversationID, noteID string) (Note, error)
	// UpdateNote applies fn to the stored note and writes the result
	// together with the activity entry fn returns, atomically; fn may run
	// more than once and its error is returned as is (nothing written).
	// Every address the result adds to Mentions gets a Mention, as in
	// AddNote. ListNotes, RecentHistory and GetConversationHistory show
	// the new text at once. Returns ErrNotFound if the note does not
	// exist, ErrInvalid if fn changed its keys, author or creation time,
	// took an address out of Mentions, or the result does not validate.
	UpdateNote(ctx context.Context, tenantID, conversationID, noteID string, fn func(*Note) (Activity, error)) (Note, error)
	// DeleteNote removes a note and its Mentions and appends the activity
	// entry fn returns (fn sees the stored note), atomically; fn may run
	// more than once and its error is returned as is (nothing written).
	// ListNotes, RecentHistory and GetConversationHistory stop showing the
	// note at once, showing an older one in its place if there is one.
	// Returns ErrNotFound if the note does not exist.
	DeleteNote(ctx context.Context, tenantID, conversationID, noteID string, fn func(Note) (Activity, error)) error
	// ListMentions returns up to limit (≤ 0: 20, capped at 100) mentions
	// of recipient in the tenant, newest At first (ties by note id,
	// descending); with unreadOnly, only those not read. Its cost grows
	// with the mentions returned, not with those stored.
	ListMentions(ctx context.Context, tenantID, recipient string, unreadOnly bool, limit int) ([]Mention, error)
	// MarkMentionsRead sets ReadAt to at on recipient's unread mentions
	// among noteIDs and returns how many it changed; ids without a
	// mention, or already read, are skipped. Returns ErrInvalid for more
	// than 100 ids.
	MarkMentionsRead(ctx context.Context, tenantID, recipient string, noteIDs []string, at time.Time) (int, error)
	// ListNotes returns up to limit notes of a conversation, newest first.
	ListNotes(ctx context.Context, tenantID, conversationID string, limit int) ([]Note, error)
	// ListActivity returns up to limit activity entries, newest first (by
	// time, then id).
	ListActivity(ctx context.Context, tenantID, conversationID string, limit int) ([]Activity, error)
	// RecentHistory returns what a conversation card shows: up to notes of
	// the newest notes and up to activity of the newest activity entries,
	// ordered as ListNotes and ListActivity order them. Limits above
	// MaxRecentNotes and MaxRecentActivity are capped to them, so that an
	// adapter may serve this from a bounded copy kept with the
	// conversation. Unknown conversations give empty results.
	RecentHistory(ctx context.Context, tenantID, conversationID string, notes, activity int) ([]Note, []Activity, error)
	// GetConversationHistory is GetConversation and RecentHistory in one
	// read: the conversation with what its card shows, both as of one
	// moment, so that an adapter keeping the history with the
	// conversation reads it once. Returns ErrNotFound if the conversation
	// does not exist.
	GetConversationHistory(ctx context.Context, tenantID, id string, notes, activity int) (Conversation, []Note, []Activity, error)

	// PutThreadLink records that a conversation's mail sits in a Gmail
	// thread of a mailbox. Idempotent. Returns ErrInvalid for empty fields.
	PutThreadLink(ctx context.Context, l ThreadLink) error
	// ListThreadLinks returns a conversation's links, sorted by mailbox then
	// thread id.
	ListThreadLinks(ctx context.Context, tenantID, conversationID string) ([]ThreadLink, error)
	// FindThreadLinks returns the links of one Gmail thread of a mailbox (a
	// thread may carry the conversations of several inboxes), sorted by
	// conversation id. None is an empty result.
	FindThreadLinks(ctx context.Context, mailbox, threadID string) ([]ThreadLink, error)

	// CreateMailbox stores a new mailbox link. Returns ErrAlreadyExists if
	// the address is linked, ErrNotFound if the tenant does not exist,
	// ErrInvalid if m does not validate.
	CreateMailbox(ctx context.Context, m Mailbox) error
	// GetMailbox returns a mailbox by address (across tenants: a push names
	// only the address), or ErrNotFound.
	GetMailbox(ctx context.Context, address string) (Mailbox, error)
	// ListMailboxes returns a tenant's mailboxes, sorted by address.
	ListMailboxes(ctx context.Context, tenantID string) ([]Mailbox, error)
	// ListMailboxesWatchExpiringBefore returns up to limit mailboxes of any
	// tenant whose watch expires before t (never-watched ones included),
	// soonest first.
	ListMailboxesWatchExpiringBefore(ctx context.Context, t time.Time, limit int) ([]Mailbox, error)
	// ListMailboxesSyncedBefore returns up to limit mailboxes of any tenant
	// whose last sync is older than t (never-synced ones first), for the
	// safety sweep.
	ListMailboxesSyncedBefore(ctx context.Context, t time.Time, limit int) ([]Mailbox, error)
	// UpdateMailbox applies fn to the stored mailbox and writes the result,
	// atomically (read-modify-write in one transaction). fn may run more
	// than once and must only change the *Mailbox it is given; an error from
	// fn aborts the update and is returned as is. Returns ErrNotFound if the
	// mailbox does not exist, ErrInvalid if fn changed Address or TenantID or
	// the result does not validate.
	UpdateMailbox(ctx context.Context, address string, fn func(*Mailbox) error) (Mailbox, error)
	// DeleteMailbox removes a mailbox link and its thread links. Returns
	// ErrNotFound if it does not exist.
	DeleteMailbox(ctx context.Context, address string) error

	// GetUserPrefs returns a user's preferences in a tenant, or ErrNotFound
	// when they never saved any. The key is the pair (tenant, email): the
	// same address under another tenant is another record.
	GetUserPrefs(ctx context.Context, tenantID, email string) (UserPrefs, error)
	// PutUserPrefs stores a user's preferences, replacing any stored ones
	// (last write wins: only the user writes them). Returns ErrNotFound if
	// the tenant does not exist, ErrInvalid if p does not validate.
	PutUserPrefs(ctx context.Context, p UserPrefs) error

	// GetPresence returns who is viewing, replying to and has replied to a
	// conversation (see Presence). A conversation without a record has an
	// empty one with its ids set, not ErrNotFound. Entries past their
	// expiry may be returned: readers judge them by the time. Returns
	// ErrInvalid for an empty tenant or conversation id.
	GetPresence(ctx context.Context, tenantID, conversationID string) (Presence, error)
	// UpdatePresence applies fn to the stored record (an empty one with its
	// ids set when there is none) and writes the result, atomically: fn
	// may run more than once, and racing writers each see the other's
	// result, so a claim has one holder. fn's error is returned as is and
	// nothing is written. The record is kept until Presence.ExpiresAt and
	// may be dropped after it (Firestore: a TTL policy on its expireAt
	// field; SQLite: records of the tenant that expired before the written
	// one's UpdatedAt are deleted with the write). Returns ErrInvalid for
	// an empty tenant or conversation id; it does not check that the
	// conversation exists.
	UpdatePresence(ctx context.Context, tenantID, conversationID string, fn func(*Presence) error) (Presence, error)
	// LogActivity appends an entry that does not change the conversation
	// (Version 0), such as a reply claim taken over or a flagged reply;
	// ListActivity and RecentHistory show it. Returns ErrNotFound if the
	// conversation does not exist, ErrInvalid if ev is incomplete,
	// ErrAlreadyExists if its id is taken.
	LogActivity(ctx context.Context, ev Activity) error
	// CreateTemplate stores a new template of an inbox. Returns ErrNotFound
	// if the inbox does not exist, ErrAlreadyExists if the id is taken in
	// the inbox, ErrInvalid if t does not validate.
	CreateTemplate(ctx context.Context, t Template) error
	// GetTemplate returns one template of an inbox, or ErrNotFound: the key
	// is (tenant, inbox, id), so a template of another inbox or tenant is
	// not found whatever its id.
	GetTemplate(ctx context.Context, tenantID, inboxID, id string) (Template, error)
	// ListTemplates returns an inbox's templates, sorted by name then id.
	// None is an empty result.
	ListTemplates(ctx context.Context, tenantID, inboxID string) ([]Template, error)
	// UpdateTemplate applies fn to the stored template and writes the
	// result, atomically; fn may run more than once and its error is
	// returned as is. Returns ErrNotFound, or ErrInvalid if fn changed the
	// keys or the result does not validate.
	UpdateTemplate(ctx context.Context, tenantID, inboxID, id string, fn func(*Template) error) (Template, error)
	// DeleteTemplate removes a template. Returns ErrNotFound if it does not
	// exist. A deleted inbox's templates stay stored, as its
	// conversations do.
	DeleteTemplate(ctx context.Context, tenantID, inboxID, id string) error

	// Rules and auto-assignment (issue 13, wf-rules).

	// AutoAssign runs one auto-assignment decision for an inbox in one
	// transaction: it reads the inbox, its Counts, its AssignState (an
	// empty one when none is stored) and the conversations named by ids
	// and by the first MaxAssignReadAhead entries of State.Waiting (each
	// once, in that order; unknown ones left out) into an AssignRound,
	// calls fn with it, and writes the State and every change fn put in
	// Changes (each conversation at its stored version + 1, with its
	// entries), with their Counts, together. fn may run more than once
	// and its error is returned as is (nothing written). Concurrent
	// decisions of one inbox are serialised: each sees the State and the
	// Counts the one before it wrote. Returns the round as written;
	// ErrNotFound if the inbox does not exist, ErrInvalid if a change is
	// not one of the round's conversations, is not at its version + 1,
	// moves it to another inbox or does not validate.
	AutoAssign(ctx context.Context, tenantID, inboxID string, ids []string, fn func(*AssignRound) error) (AssignRound, error)

	// SLA and snooze (issue 13, wf-sla).

	// SetDue sets a conversation's DueAt to due (zero clears it) if and
	// only if its stored version is still version; the version does not
	// change and no activity is logged: DueAt is derived from the rest of
	// the conversation (Conversation.NextDue), and the sweep uses this to
	// move a conversation it found nothing to do for. Returns ErrConflict
	// when the version differs, ErrNotFound if the conversation does not
	// exist.
	SetDue(ctx context.Context, tenantID, id string, version int64, due time.Time) error

	// Taking a tenant's data away (issue 14).

	// ExportTenant calls fn with every record of a tenant (see Record for
	// what that is and what it leaves out), kinds in the order of
	// RecordKinds, each kind sorted by its keys, so that two exports of
	// the same state are the same stream. It reads as the tenant is
	// written: records changed meanwhile may show their old or new state.
	// fn's error stops the export and is returned as is. Returns
	// ErrNotFound if the tenant does not exist.
	ExportTenant(ctx context.Context, domain string, opts ExportOptions, fn func(Record) error) error
	// ImportRecords writes records of one tenant as they are, keys,
	// versions and times included, each replacing a stored record with the
	// same key, so that writing the same records again changes nothing.
	// Records must come in stream order (a parent before its children,
	// see RecordKinds): it does not check that parents exist. It does not
	// touch the kept Counts: ReconcileCounts of every inbox afterwards
	// brings them in line. The records of one call are written in one
	// transaction where the backend allows it (SQLite), else in batches
	// (Firestore, up to 500 writes each); a failed call may have written
	// some of them, and calling it again with the same records completes
	// it. Returns ErrInvalid for a record that does not validate
	// (Record.Validate) or a Message-ID index this store cannot keep,
	// ErrAlreadyExists for a mailbox or an inbox address that another
	// tenant or inbox holds.
	ImportRecords(ctx context.Context, records []Record) error
	// EraseTenant deletes the tenant and every record of it: everything
	// ExportTenant reads and everything it leaves out (presence, counts,
	// leases). Records of other tenants stay. Erasing a tenant that does
	// not exist (any more) is no error; an erase cut short can be run
	// again.
	EraseTenant(ctx context.Context, domain string) error
}
