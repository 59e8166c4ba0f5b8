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
// attached to messages by id. Each mailbox has a history id that grows, with
// gaps, on every change; messages, threads and the profile report it. Mail
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
//   - GET threads/{id}: users.threads.get with format minimal, metadata or
//     full; messages oldest first.
//
// Errors use Gmail's JSON shape, so the client returns a *googleapi.Error
// with Code and Errors[0].Reason: 401 authError (with WWW-Authenticate) when
// Authenticate fails, 403 forbidden ("Delegation denied for …") for another
// user's id, 404 notFound for unknown messages, threads and paths, 400
// invalidArgument for bad parameters and ids, 400 failedPrecondition ("Mail
// service not enabled") when the authenticated address has no mailbox, 413
// uploadTooLarge past Options.MaxMessageBytes (35 MB by default), 500
// backendError if the simulator itself fails. The standard parameters fields
// and prettyPrint are accepted and ignored: responses are always complete.
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
// users.watch and stop, history.list (the per-mailbox history log is already
// kept), labels.*, messages.modify/batchModify/trash/delete/send/import,
// threads.list/modify, drafts, attachments.get, batch requests, quota and
// rate-limit errors (403 rateLimitExceeded, 429), push notifications, and
// Gmail's spam, category and duplicate-Message-ID handling.
//
// # Go API
//
// AddMailbox, Deliver and Insert change the state directly; MessagesOf and
// FindByMessageID read it. All methods and the handler are safe for
// concurrent use.
package gmailsim
