package desk

import (
	"strconv"
	"strings"
)

// OpenedIDs name the message open in the caller's Gmail as a message-open
// event gives them (gmail.messageId, gmail.threadId). Both are untrusted:
// they only ever select mail of the caller's own mailbox, and whatever they
// select is authorized like any other request.
type OpenedIDs struct {
	// MessageID is the open message: a Gmail API id ("18c3a7f2b9d0e4a1")
	// or the add-on form "msg-f:<decimal>". Required.
	MessageID string
	// ThreadID is its thread: a Gmail API id or "thread-f:<decimal>".
	// Optional; without it the message is always read from Gmail.
	ThreadID string
}

// APIMessageID turns the message id of an add-on event into the id the
// Gmail API takes; see apiID.
func APIMessageID(id string) string { return apiID(id, "msg-f:") }

// APIThreadID turns the thread id of an add-on event into the id the Gmail
// API uses, which is the id the sync records in its thread links; see
// apiID.
func APIThreadID(id string) string { return apiID(id, "thread-f:") }

// apiID maps "<prefix><decimal>" to the hex id the Gmail API uses and
// leaves every other id as it is.
//
// The add-on guide's example event carries "msg-f:1234567" and
// "thread-f:2345678", while the Gmail API and its history (and so the
// sync's thread links) use hex ids such as "18c3a7f2b9d0e4a1". The mapping
// assumed here, the decimal number written in hex, is the commonly assumed
// one, but Google does not document it (unverified: addon-protocol.md §1.5
// and §9.4). Were it wrong, the thread links would not find the thread and
// the message would be read from Gmail as before links were used: a cost,
// not a leak (links are only ever looked up in the caller's own mailbox).
func apiID(id, prefix string) string {
	if rest, ok := strings.CutPrefix(id, prefix); ok {
		if n, err := strconv.ParseUint(rest, 10, 64); err == nil {
			return strconv.FormatUint(n, 16)
		}
	}
	return id
}
