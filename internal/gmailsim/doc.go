// Package gmailsim is an in-memory Gmail served over HTTP, so that the real
// google.golang.org/api/gmail/v1 client can talk to it. It backs Postfach's
// local dev mode and the tests of code that calls Gmail: point the client at
// it with option.WithEndpoint(baseURL+"/") and an HTTP client that sends a
// bearer token, and decide in Options.Authenticate which mailbox a token
// stands for. Mount Server.Handler at the root of the HTTP server; uploads go
// to /upload/gmail/v1/… on the same host.
//
// # Model
//
// A Server holds mailboxes created with AddMailbox. As in Gmail, ids belong
// to a mailbox: every copy of a mail has its own message id and thread id
// (16 lower-case hex digits, increasing), a thread's id is the id of its first
// message, and labels (system labels such as INBOX, SENT, UNREAD, TRASH) are
// attached to messages by id. Each mailbox keeps a history log: every change
// is one record with a new history id, larger than the last by a random gap
// (Gmail's ids "increase chronologically but are not contiguous");
// messages, threads and the profile report the ids. Mail
// arrives with Deliver (one copy per listed mailbox, labelled INBOX and
// UNREAD; a Google Group fan-out is the caller listing the members) or is
// seeded with Insert. A message joins a thread of its mailbox when its
// In-Reply-To or References names the Message-ID of a message in it;
// otherwise it starts a thread. Unlike Gmail, which also compares subjects,
// the simulator ignores them. An insert through the API may ask for a threadId (404 if the
// mailbox has no such thread); it is honoured when the message refers to a
// message of that thread, as Gmail also wants References to match.
// Delivered copies start with a "Delivered-To: <mailbox>" field, as in Gmail.
//
// Mail is parsed leniently and never rejected for its content: a message
// without headers is all body, a broken header line ends the header block,
// undecodable encoded-words and transfer encodings are kept as written.
//
// # HTTP API
//
// Under /gmail/v1/users/{userId}/, where userId is "me" or the authenticated
// address:
//
//   - GET profile: users.getProfile.
//   - GET messages/{id}: users.messages.get with format minimal (id,
//     threadId, labelIds, snippet, historyId, internalDate, sizeEstimate;
//     the snippet is HTML-escaped like Gmail's), metadata
//     (metadataHeaders filters payload.headers, case-insensitively), full
//     (MIME tree; leaves, attachments included, carry their decoded content
//     in body.data, as there is no attachments.get) or raw.
//   - GET messages: users.messages.list, newest first by internalDate, with
//     labelIds (all must match), includeSpamTrash, maxResults (default 100,
//     at most 500), pageToken and q (see below). Messages in SPAM or TRASH
//     are left out unless asked for, as in Gmail.
//   - POST messages: users.messages.insert with a JSON body
//     {"raw": base64url, "labelIds": […], "threadId": …}; also
//     POST /upload/gmail/v1/users/{userId}/messages with uploadType
//     multipart, media or resumable, which is what the client's Media(r)
//     sends. internalDateSource=receivedTime|dateHeader is honoured. The
//     answer carries id, threadId and labelIds.
//   - POST messages/send: users.messages.send with a JSON body {"raw":
//     base64url, "threadId": …}; see Sending. No recipient is 400.
//   - POST drafts, GET drafts, GET, PUT, DELETE drafts/{id}, POST
//     drafts/send: users.drafts; see Drafts. create, update and send also
//     take the upload path with uploadType multipart or media, which is
//     what the client's Media(r) sends.
//   - GET settings/sendAs and settings/sendAs/{address}:
//     users.settings.sendAs.list and get; see Sending.
//   - GET threads/{id}: users.threads.get with format minimal, metadata or
//     full; messages oldest first.
//   - POST messages/{id}/modify, POST messages/batchModify, POST
//     threads/{id}/modify, DELETE messages/{id}: see Labels on messages.
//   - GET history: users.history.list; see History.
//   - GET, POST labels and GET, PUT, PATCH, DELETE labels/{id}: see Labels.
//   - POST watch, POST stop: see Watch and push notifications.
//
// Errors use Gmail's JSON shape, so the client returns a *googleapi.Error
// with Code and Errors[0].Reason: 401 authError (with WWW-Authenticate) when
// Authenticate fails, 403 forbidden ("Delegation denied for …") for another
// user's id, 404 notFound for unknown messages, threads and paths, 400
// invalidArgument for bad parameters and ids, 400 failedPrecondition ("Mail
// service not enabled") when the authenticated address has no mailbox, 413
// uploadTooLarge past Options.MaxMessageBytes (35 MB by default), 500
// backendError if the simulator itself fails, 429 rateLimitExceeded past
// Options.QuotaPerSecond, and whatever InjectFaults asks for. The standard
// parameters fields and prettyPrint are accepted and ignored: responses are
// always complete.
//
// # Sending
//
// Send and messages.send store the mail in the sender's mailbox labelled
// SENT only (not INBOX, not UNREAD), adding a From of the sender and a
// Message-ID when the mail has none, and deliver a copy to every To, Cc and
// Bcc address as Deliver does, each address routed by Options.Route (a
// Google Group to its members; by default an address reaches the mailbox
// of that address, if any). As in Gmail the sender never gets a second
// copy: neither through a group it belongs to nor through a later Deliver
// of the same Message-ID, which the SENT copy absorbs. So the only copy
// with SENT is the one in the mailbox that really sent the mail, which is
// what lets Postfach tell a teammate's reply from a forged From.
//
// A mailbox may send as its own address and as its send-as aliases that
// AddSendAs configured with verification status accepted (the default);
// settings.sendAs.list shows the primary address first (isPrimary; isDefault
// unless an alias is the default; no verificationStatus, which the
// reference says only applies to custom aliases), then the aliases in the
// order added; settings.sendAs.get is 404 for any other address. Send,
// messages.send and drafts.send keep a From naming the primary address or
// an accepted alias, and add the alias's replyToAddress as Reply-To when
// the mail has none (documented for the field). Any other From address,
// a pending alias included, is replaced by the primary address, as Gmail
// is widely reported to do; the display name is kept (not documented
// either way). A missing From becomes the bare primary address; the alias's
// displayName is never written into mail.
//
// # Drafts
//
// A draft is a stable id ("r" and digits) around a message labelled DRAFT
// only (labelIds in the request are ignored: the drafts guide says a draft
// message can have no other label). The message is an ordinary one
// otherwise: messages.list, messages.get and threads.get show it, and
// threadId is honoured by the rules of insert, so a reply draft whose
// References name a message of the thread joins it (404 for an unknown
// threadId). The stored message is the raw bytes given; From and Message-ID
// are added, and the From rewritten, only when it is sent.
//
//   - drafts.create answers the draft with its message's id, threadId and
//     labelIds; no message or no raw is 400 badRequest, undecodable raw 400
//     invalidArgument.
//   - drafts.get takes format minimal, metadata, full (default) or raw.
//   - drafts.list: newest message first, each draft with its message's id
//     and threadId only (as documented); q, includeSpamTrash, maxResults
//     and pageToken as in messages.list.
//   - drafts.update replaces the message: the draft id stays, the message
//     gets a new id, and the old message is gone (404).
//   - drafts.delete deletes the draft and its message for good (204).
//   - drafts.send takes {"id": draftId} and optionally a message to send
//     instead of the stored one (the drafts guide describes both). It
//     removes the draft and sends as messages.send does (a new message id,
//     SENT, in the draft's thread, delivered through Options.Route) and
//     answers that message. A draft without recipients is 400 and stays;
//     an unknown draft, or one sent already, is 404.
//
// A draft whose message messages.delete removed is gone too. History
// records of drafts are not documented; the simulator records create as
// messageAdded (labelIds [DRAFT]), update as messageAdded of the new
// message then messageDeleted of the old, delete as messageDeleted, and
// send as messageDeleted of the draft's message then messageAdded of the
// sent one.
//
// # Header values
//
// payload.headers carry the values decoded once, as Gmail returns them:
// RFC 2047 encoded words are decoded, text that decodes to another encoded
// word is left as that text (no second pass), and invalid UTF-8 (raw 8-bit
// bytes, or an encoded word that decodes to them) becomes U+FFFD, since
// JSON strings are UTF-8. Address fields are decoded as a whole, so a
// display name that decodes to "Doe, Jane <CEO>" comes out unquoted.
//
// # History
//
// history.list returns the records after startHistoryId in increasing id
// order, one change of one message per record: History.messages lists the
// message (id, threadId), and messagesAdded, messagesDeleted, labelsAdded
// or labelsRemoved repeats it with its labelIds right after the change
// (labelsAdded/labelsRemoved also carry the labels changed). historyTypes
// (messageAdded, messageDeleted, labelAdded, labelRemoved; the proto names
// such as LABEL_ADDED are accepted too) and labelId (a record matches when
// it added or removed the label or the message has it afterwards) filter
// the records; maxResults (default 100, at most 500) and pageToken page
// them. The response's historyId is always the mailbox's current one.
//
// Records are kept for Options.HistoryRetention (a duration; zero keeps
// them all), and ExpireHistory drops them explicitly. A startHistoryId
// before the oldest kept record is answered 404 notFound, which tells a
// client to resync fully, as Gmail does. Choices where Gmail's behaviour
// is not documented: startHistoryId 0, or any id before the mailbox was
// created, is 404 (reported for Gmail); a missing startHistoryId is 400
// "Missing/invalid parameter: startHistoryId"; a non-numeric one is 400
// invalidArgument; one beyond the current history id yields no records and
// the current id; an unknown labelId is 400 invalidArgument, like
// messages.list.
//
// Deliver and Insert (and API inserts) record messageAdded (drafts: see
// Drafts); label changes
// record labelAdded and labelRemoved; DeleteMessage and messages.delete
// record messageDeleted. Trashing is a labelAdded of TRASH, as in Gmail.
//
// # Labels
//
// labels.list (id, name, type, visibilities, system labels first), get
// (adds color and the messagesTotal, messagesUnread, threadsTotal,
// threadsUnread counters), create, patch (changes the fields sent), update
// (replaces: name required, absent visibilities reset to labelShow/show,
// absent color removed) and delete. User labels get ids Label_1, Label_2, …
// per mailbox, default to labelShow and show, and may be nested with "/"
// (no parent needs to exist; an empty level such as "a//b" is 400). Names
// are unique case-insensitively: 409 "Label name exists or conflicts"
// (reason aborted, as observed from Gmail). The names of system labels
// (INBOX, Inbox…) and of Gmail's folders (Drafts, Sent Mail, All Mail,
// Chats) are 400 "Invalid label name". Colors must come from the
// documented palette, text and background together. System labels cannot
// be deleted (400 "Invalid delete request") or changed (400 "Invalid update
// request"); those messages are assumptions. Deleting a user label removes
// it from its messages, recording labelRemoved for each. The 10,000 label
// limit is not enforced.
//
// # Labels on messages
//
// messages.modify (answers the message in the minimal format, with its new
// historyId), messages.batchModify (at most 1000 ids; 204) and
// threads.modify (every message of the thread; answers the thread with
// minimal messages) take addLabelIds and removeLabelIds, at most 100 each.
// An unknown label, or SENT or DRAFT, which cannot be applied or removed,
// is 400 "Invalid label: ID"; a label both added and removed is 400; an
// unknown message or thread is 404, and batchModify changes nothing unless
// all its ids exist. Per message, the labels actually added are one
// labelAdded record, then the labels actually removed one labelRemoved
// record; adding a label the message has or removing one it lacks records
// nothing and moves no history id (Gmail does not document this; a no-op
// leaving no trace is the assumption). Server.Modify does the same from
// Go, for tests that play a user changing labels in Gmail.
//
// # Watch and push notifications
//
// users.watch takes a WatchRequest: topicName must look like
// projects/P/topics/T (else 400 invalidArgument "Invalid topicName does not
// match projects/SOME-PROJECT/topics/SOME-TOPIC"); labelIds must exist;
// labelFilterBehavior is include (the default) or exclude, in any case, and
// the deprecated labelFilterAction counts only when it is absent. It
// answers the current historyId and an expiration WatchTTL (7 days) ahead,
// replaces any previous watch and, as Gmail does, notifies once right away.
// users.stop ends the watch at once (204, also when there is none). A watch
// past its expiration (on Options.Now) is gone.
//
// While a mailbox is watched, each history record produces a Notification
// {EmailAddress, HistoryID: the record's id} through Options.Notify, unless
// the label filter rejects it: a record relates to a label when it added
// or removed it or the message has it (had it, for a deletion); include
// keeps related records, exclude the others. Notify is called without
// locks, before the API call or Go method that caused the change returns
// (so tests need not wait), unless Options.NotifyMinInterval holds it back:
// then a mailbox gets at most one notification per interval, the held ones
// coalesced into one carrying the latest history id and sent when the
// interval ends, like Gmail's limit of one event per second per user.
//
// PubSubBody renders a notification as the JSON a Pub/Sub push
// subscription POSTs, and Pusher delivers notifications that way to an
// HTTP endpoint, with a bearer token, retries and backoff; set
// Options.Notify to a Pusher's Notify for an end-to-end setup.
//
// # Quota and faults
//
// Every request that reaches a method is charged, per mailbox, in Gmail's
// quota units, even if the method then fails with 400 or 404. QuotaCost
// has the table: getProfile 1, messages.get/list/modify 5, insert 25,
// batchModify 50, send 100, delete 10, threads.get/modify 10, history.list 2,
// labels.list/get 1, labels.create/update/patch/delete 5, watch 100, stop
// 50, drafts.create 10, drafts.get/list 5, drafts.update 15, drafts.delete
// 10, drafts.send 100, settings.sendAs.list/get 1, from Gmail's quota
// reference. With Options.QuotaPerSecond set, a request
// that would take the units of the last second (on Options.Now) past it is
// answered 429, reason rateLimitExceeded, status RESOURCE_EXHAUSTED, message
// "User-rate limit exceeded.  Retry after <time>", and is not charged.
// InjectFaults queues failures for the next requests of a method ("*" for
// any); a fault is checked before quota and is not charged. Usage reports
// the units charged and the requests per method, failed ones included. The
// chunks of a resumable upload are neither charged nor counted: the upload
// is one messages.insert.
//
// # Search
//
// q is a subset of Gmail's search language. Terms are separated by spaces and
// must all match (AND is accepted and ignored); a leading "-" negates a term;
// "double quotes" group words into one value. Supported:
//
//   - rfc822msgid:ID: Message-ID equal to ID, with or without angle
//     brackets, case-insensitively.
//   - in:X and label:X: messages with label X, by id or name,
//     case-insensitively, "-" standing for a space or "/"; in:anywhere lifts
//     the SPAM/TRASH exclusion, in:drafts and in:chats name DRAFT and CHAT.
//     An unknown label matches nothing.
//   - is:unread, is:read, is:starred, is:important.
//   - from:, to: (To, Cc and Bcc), cc:, bcc:, deliveredto:: a substring of an
//     address or display name in that field, case-insensitively.
//   - subject:WORD and bare words or "phrases": a case-insensitive substring
//     of the Subject. Bare words do not search the body, unlike Gmail.
//   - after:/before: with YYYY/MM/DD (UTC midnight; Gmail uses Pacific time)
//     or Unix seconds, and newer_than:/older_than: with Nd, Nm or Ny, all on
//     internalDate.
//
// Anything else, an unknown operator ("has:", "filename:", "re:" unquoted),
// OR, or grouping with () or {}, is answered with 400 invalidArgument rather
// than silently matching everything.
//
// # Not covered (yet)
//
// messages.trash/untrash/import, send with an upload, threads.list/trash/delete,
// resumable uploads of drafts, settings.sendAs create/update/delete/verify,
// signatures, attachments.get, batch requests, the per-user concurrency
// limit, daily limits, and Gmail's spam, category and duplicate-Message-ID
// handling. messages.modify and threads.modify may label a draft's message,
// which Gmail may not allow.
//
// # Go API
//
// AddMailbox, AddSendAs, Deliver, Send, Insert, Modify, DeleteMessage,
// CreateLabel and ExpireHistory change the state directly, without quota or
// faults; MessagesOf, DraftsOf, FindByMessageID, WatchOf and Usage read it; InjectFaults
// arms failures. All methods and the handler are safe for concurrent use.
package gmailsim
