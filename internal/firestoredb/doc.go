// Package firestoredb implements inbox.Store on Cloud Firestore
// (cloud.google.com/go/firestore) for production on Cloud Run, where
// instances come and go and all state lives in Firestore. It passes the
// conformance suite in internal/inbox/storetest, the same suite the SQLite
// adapter passes, so both stores give the same results, errors and
// concurrency guarantees.
//
// Open honours FIRESTORE_EMULATOR_HOST exactly as the client does: when it
// is set, the client talks to that emulator over insecure gRPC. Nothing in
// this package reads any other environment variable.
//
// # Layout
//
// Collections, relative to the database root (or to namespaces/{ns} for a
// Store opened with OpenNamespace, which tests use to share one emulator):
//
//	tenants/{domain}                      name, admins[], createdAt
//	  inboxes/{inboxID}                   id, address, name, members[], settings, createdAt
//	    templates/{templateID}            id, name, body, locked, createdAt, updatedAt, updatedBy
//	  inboxAddresses/{address}            inboxId: claims the address within the tenant
//	  counts/{inboxID}:{k}                inboxId, open, pending, closed, unassigned, assigned{owner}:
//	                                        shard k of the inbox's kept counts, see below
//	  conversations/{conversationID}      every Conversation field, plus
//	                                        sortKey: listing order, see below
//	                                        mids[]:  the Message-ID index, see below
//	                                        recent:  {notes[], activity[], deleted[]}, see below
//	    notes/{noteID}                    id, author, body, mentions[], createdAt, editedAt, sortKey
//	    activity/{activityID}             id, version, actor, kind, from, to, at, sortKey, via
//	  users/{email}                       (never written: the parent of a member's mentions)
//	    mentions/{noteID}                 noteId, conversationId, inboxId, author, subject, excerpt,
//	                                        at, readAt, unread, sortKey: a note that named the member
//	  assign/{inboxID}                    last, waiting[]: the inbox's auto-assignment record
//	                                        (inbox.AssignState), written with every decision
//	  messageIds/{hash}                   convs{inboxID}: conversationID: the Message-ID index by key
//	  conversationLinks/{conversationID}  tenantId, conversationId, links{hash(mailbox, thread)}:
//	                                        {mailbox, threadId}: the conversation's thread links
//	  userPrefs/{email}                   email, language, updatedAt: a user's own preferences
//	  presence/{conversationID}           viewers[], claim, takenOver, lastReply, updatedAt, expireAt:
//	                                        who views and replies right now (inbox.Presence), see below
//	mailboxes/{address}                   every Mailbox field (global key: a push names only the address);
//	                                        sealedToken as bytes
//	  threads/{hash(thread)}              mailbox, threadId, links{hash(tenant, conversation)}:
//	                                        {tenantId, conversationId}: the thread's links
//
// Presence records expire by themselves: expireAt is inbox.Presence.ExpiresAt,
// readers ignore expired entries, and a TTL policy on the presence
// collection group deletes the documents some time (up to a day) after it:
//
//	gcloud firestore fields ttls update expireAt --collection-group=presence --enable-ttl
//
// A presence record is read on every card (one document) and written only
// when the caller's entry is older than inbox.PresenceRefresh, or a claim
// changes.
//
// Every tenant-scoped record lives below tenants/{domain}, so a read by id
// can only reach the caller's tenant: another tenant's record is simply not
// at that path (ErrNotFound), and two tenants may use the same conversation
// id. Mailboxes are keyed by their globally unique address; their sweeps
// (ListMailboxesWatchExpiringBefore, ListMailboxesSyncedBefore) are plain
// queries of the one mailboxes collection. A thread link is stored on both
// of its sides, written in one transaction: in its conversation's links
// document, which ListThreadLinks reads by key, and in its mailbox thread's
// document, which FindThreadLinks reads by key (see threadlink.go; an
// older layout, one top-level collection that both queried, is moved when
// a store opens). No query on a hot path is a collection-group query.
//
// Documents stay far below Firestore's 1 MiB: notes and activity entries are
// documents of their own, never arrays that grow; a conversation document
// holds its fields, at most inbox.MaxTags tags, one 22-byte hash per
// Message-ID of its mail (about 40,000 mails before it nears the limit) and
// the bounded copy of its newest history: inbox.MaxRecentNotes notes of at
// most inbox.MaxNoteLength characters (8 KB each in UTF-8 at worst) with at
// most inbox.MaxMentions addresses each, inbox.MaxRecentActivity entries
// (small, but an edit's or a deletion's carries the note's old text, 8 KB
// at worst) and the ids of the last few deleted notes, under 150 KB in all.
// Document ids derived from input (addresses, ids) are used as they are when
// Firestore allows them and escaped otherwise (see docID).
//
// # Message-ID index
//
// A conversation's indexed Message-IDs are stored in its own document, as
// the array mids of base64url SHA-256 prefixes (fixed size whatever the
// Message-ID). Each indexed id also has an entry of its own,
// tenants/{t}/messageIds/{hash} naming the conversation of each inbox
// (messageids.go), written in the same transaction as mids.
// FindConversationsByMessageID reads that entry, then the conversations it
// names (1 + n reads; 1 for an unknown id); while the index may miss what
// an earlier version wrote it is one array-contains query of the tenant's
// conversations' mids (see migrateMessageIDs). The per-inbox
// uniqueness ("a Message-ID indexed to another conversation of the same
// inbox keeps its first conversation") is checked inside the transaction
// by reading the entries of the mail's ids by key, so the transaction
// locks those entries and no range of an index. That costs one write per
// new Message-ID.
//
// # Recent history
//
// The conversation card shows the newest notes and activity entries. So
// that it costs one document read (RecentHistory), the conversation
// document keeps a copy of the newest inbox.MaxRecentNotes notes and
// inbox.MaxRecentActivity activity entries in its field recent, newest
// first by sortKey, exactly as ListNotes and ListActivity order the
// subcollections (which stay the record, and serve those listings). Every
// transaction that appends to the history rewrites the copy from the one it
// read: CreateConversation, UpdateConversation and AppendMessage with the
// document they write anyway. AddNote saves the note and its entry first,
// in a transaction that touches no other document, and then adds them to
// the copy in a transaction of its own that merges the field recent alone
// (so a note never changes the version, and concurrent notes do not queue
// on the conversation document to be saved); if that second step cannot
// commit in time, the note is taken back (see AddNote). A conversation
// document written before the copy existed has none: RecentHistory then
// lists the subcollections, and the next write of its history fills the
// copy from them inside its transaction.
//
// Edits and deletions of notes are rare, so UpdateNote and DeleteNote each
// run one transaction that writes the note (or deletes it and its
// mentions), appends the entry and rewrites the copy with the note's new
// text (or without it; when the deleted note was in the copy, its notes
// are read again from the subcollection, inbox.MaxRecentNotes+1 of them,
// so that the next older note takes its place). AddNote's third step may
// commit after either, as it follows the save by milliseconds: it keeps a
// later edit that the copy holds, and it does not add a note whose id the
// copy lists in deleted (the ids of the last notes DeleteNote removed)
// unless the note's document exists (a new note under that id).
//
// # Mentions
//
// A member's mentions are documents below the tenant in a collection of
// their own, users/{email}/mentions, one per note that named them, keyed
// by the note id. ListMentions is one query of that collection ordered by
// sortKey (at, then the note id), limited: its cost is the mentions it
// returns, whatever the number stored; the unread listing filters on the
// boolean unread, which needs the composite index (unread, sortKey desc).
// AddNote creates a note's mentions in the transaction that saves it (step
// 2), and takes them back with it; UpdateNote creates those of the
// addresses an edit adds, and leaves the others as they are; DeleteNote
// deletes the note's mentions. MarkMentionsRead reads the mentions of the
// ids given (one lookup, at most 100) and writes those unread, in one
// transaction.
//
// # Ordering and cursors
//
// Listings order by a string sortKey: 16 hex digits of the record's time in
// Unix microseconds (sign bit flipped, so that the encoding sorts like the
// time, zero time first), a colon, then the record's id. One field thus
// carries "newest first, ties by id", a page boundary is a single inequality
// (sortKey < cursor) and a cursor is the opaque, checksummed sortKey of the
// last entry of a page: a keyset position that stays valid while
// conversations are added. Mailboxes carry watchKey and syncKey the same way.
// Times are kept to the microsecond (Firestore's precision) and returned in
// UTC.
//
// # Transactions
//
// Every method that the contract makes atomic runs in RunTransaction: all
// reads first (with their checks), then the writes. Bodies only read and
// buffer writes, so they may be rerun after contention.
// Creates use Create (a does-not-exist precondition) for
// create-if-absent; the version check of UpdateConversation and
// AppendMessage and the recent copy that they rewrite rely on the
// transaction's serialisable isolation. Writes of one document that many
// writers race on do without a transaction: UpdateTenant, UpdateInbox,
// UpdateMailbox (every push and sync writes its mailbox) and the note's
// update of the recent copy read the document and write it on the
// condition that its update time is still the one read (Store.replace), a
// compare-and-set that holds no lock while fn runs.
//
// # Contention
//
// Firestore (and Google's emulator) aborts a transaction that loses a lock
// to another with codes.Aborted, and nothing of it is written. That is an
// expected outcome, not an error: every transaction and every
// create-if-absent write is retried for up to 15 s (a minute for
// CreateConversation and AppendMessage, which the background sync calls:
// one mail seen through several mailboxes makes their syncs race on the
// query of the inbox's Message-IDs). A transaction is rerun
// by the client's own loop, which keeps the first attempt's lock priority
// (so writers of one document do not starve each other) and pauses a
// jittered, doubling time (0–1 s, 0–2 s, …) between attempts; that loop
// stops after firestore.DefaultTransactionMaxAttempts (5) attempts whatever
// the time left, so Store raises the count and bounds it by the deadline
// instead. Other aborted writes are retried with a jittered pause that
// doubles from 20 ms up to 1 s. A write still aborted at the deadline
// returns inbox.ErrUnavailable: nothing was saved, the caller may try
// again. A compare-and-set that finds the document changed is retried the
// same way. An attempt in flight is never cut short by that deadline, so a
// commit whose outcome is unknown is never reported as unsaved.
//
// # Counts and cost
//
// The homepage reads kept counts (InboxCounts), not aggregations: every
// transaction that creates a conversation or changes its status or
// assignee (CreateConversation, AppendMessage, UpdateConversation) also
// increments one of counterShards shard documents of the inbox, chosen at
// random, by field transforms (Set with MergeAll and firestore.Increment),
// so the transaction neither reads nor locks a shard and writers of one
// inbox spread over the shards. InboxCounts sums the shards: a lookup of
// counterShards (16) documents, whatever the number of conversations. The
// shards are keyed by inbox id and outlive DeleteInbox, as the
// conversations do. ReconcileCounts recounts in a read-only transaction
// (shards and count aggregations in one snapshot) and adds the difference
// to one shard in a transaction of its own, which keeps the changes
// committed after the snapshot.
//
// CountConversations is an aggregation query (one read per 1,000 index
// entries, not one per conversation). Stats reports the document reads and
// writes this Store has issued, billed the way Firestore bills them (a query
// that returns nothing still costs one read); TestDocumentBudgets records
// what the sidebar's hot paths cost and holds them to their targets: the
// message-open card reads 3 documents (the Message-ID lookup, the inbox and
// the conversation's recent copy), the homepage the tenant, the inboxes and
// counterShards shards per inbox, an ingested new mail writes 3 besides its
// activity entry (conversation, a counter shard, the thread link), an
// assign 3 (conversation, entry, a counter shard), a note reads 2 (the
// conversation, checked and then updated apart from the save) and writes 3
// (note, entry, recent copy), plus one mention per member it names.
//
// # Indexes
//
// Every query goes through Store.query, which records its shape (collection,
// filters, orders). manifests/firestore.indexes.json declares the composite
// indexes those shapes need; TestIndexesDeclared fails when a query the
// adapter issues has none. Deploy the file with
//
//	firebase deploy --only firestore:indexes
//
// (or one `gcloud firestore indexes composite create` per entry).
//
// # Errors
//
// gRPC codes are translated at this package's edge: NotFound →
// inbox.ErrNotFound, AlreadyExists → inbox.ErrAlreadyExists, a failed write
// precondition → inbox.ErrConflict, Aborted (a write that kept losing to
// contention until its deadline, see Contention) → inbox.ErrUnavailable.
// Other errors are internal and keep the gRPC status for errors.As.
//
// # Choices the contract leaves open
//
// They are the SQLite adapter's, so both stores answer alike:
//
//   - Message-IDs are normalised with inbox.NormalizeMessageID, on
//     CreateConversation and AppendMessage (where text that is no Message-ID
//     is ErrInvalid) and on FindConversationsByMessageID (where it finds
//     nothing).
//   - AppendMessage checks, in this order: the conversation exists
//     (ErrNotFound), in c's inbox (ErrInvalid), messageIDs[0] is not indexed
//     in the inbox (ErrAlreadyExists, even when the version is stale too),
//     the stored version (ErrConflict). Later Message-IDs already indexed to
//     another conversation of the inbox stay with it.
//   - UpdateConversation and AppendMessage keep the latest LastMessageAt and
//     the earliest non-zero FirstResponseAt of what is stored and what is
//     written (those times are not versioned).
//   - PutThreadLink does not check that the conversation or the mailbox
//     exists. Mailbox addresses are matched exactly, not normalised.
//   - ListMailboxesWatchExpiringBefore, ListMailboxesSyncedBefore, ListNotes
//     and ListActivity read 20 entries when limit ≤ 0; equal times are
//     ordered by address (mailboxes) or id.
//   - UpdateMailbox, UpdateTenant and UpdateInbox return fn's error itself,
//     unwrapped. Unlike SQLite's, they may run fn more than once: a write
//     that finds the document changed since its read runs again, as the
//     contract allows. UpdateInbox writes every field but the keys and the address,
//     CreatedAt included.
//   - DeleteInbox deletes the inbox and its address claim; its
//     conversations, their history, Message-IDs and thread links stay. A
//     deleted inbox's id is free: CreateInbox may take it again, and the new
//     inbox then lists and counts the old inbox's conversations (they carry
//     its id) and its Message-IDs find them.
//   - RecentHistory with both limits ≤ 0 reads nothing.
//   - Listing the notes or activity of an unknown conversation returns
//     nothing, not ErrNotFound.
//   - A mention's recipient is matched exactly, not normalised (the
//     domain keeps Note.Mentions lower case). MarkMentionsRead counts a
//     note id given twice once.
//   - CreateConversation requires Version 1; an activity entry must name its
//     record's tenant and conversation (ErrInvalid otherwise).
package firestoredb
