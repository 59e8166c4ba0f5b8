package syncer

import (
	"context"
	"errors"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// Gmail is what the syncer needs from one mailbox's Gmail API. The
// gmailclient package implements it over google.golang.org/api/gmail/v1,
// with the mailbox's own quota and retries.
type Gmail interface {
	// Watch starts or renews the push watch on topic; it returns the
	// mailbox's current history id and the watch's expiration.
	Watch(ctx context.Context, topic string) (historyID uint64, expiration time.Time, err error)
	// Stop ends the push watch.
	Stop(ctx context.Context) error
	// HistoryID returns the mailbox's current history id (users.getProfile).
	HistoryID(ctx context.Context) (uint64, error)
	// History calls page for every page of history after start, in order,
	// asking for messageAdded, labelAdded and labelRemoved records. It
	// returns the mailbox's current history id, or an error wrapping
	// ErrHistoryGone when start is older than Gmail keeps.
	History(ctx context.Context, start uint64, page func([]HistoryRecord) error) (uint64, error)
	// Content reads what a message says beyond its headers (body text,
	// attachments), for the inbox's rules: one more messages.get, so the
	// syncer asks only when a rule needs it. A message gone is empty.
	Content(ctx context.Context, id string) (inbox.Content, error)
	// Messages fetches the metadata of messages by id, concurrently within
	// the mailbox's quota. Messages that no longer exist are left out.
	Messages(ctx context.Context, ids []string) ([]Message, error)
	// ListMessages calls page with the ids of messages matching q (Gmail
	// search syntax), newest first.
	ListMessages(ctx context.Context, q string, page func([]MessageRef) error) error
	// Labels returns the ids of the named labels, creating those that do
	// not exist yet.
	Labels(ctx context.Context, names []string) (map[string]string, error)
	// RenameLabel gives the label id a new full name (users.labels.patch):
	// the label keeps its id, so every message keeps it. Gmail renames
	// only that label, not the ones nested under its old name. It returns
	// an error wrapping ErrLabelGone when the mailbox has no label id (the
	// user deleted it), ErrLabelTaken when another label has the name.
	RenameLabel(ctx context.Context, id, name string) error
	// LabelMessages returns how many messages carry a label
	// (users.labels.get), or an error wrapping ErrLabelGone.
	LabelMessages(ctx context.Context, id string) (int64, error)
	// DeleteLabel deletes a label, taking it off every message; a label
	// that no longer exists is no error.
	DeleteLabel(ctx context.Context, id string) error
	// ModifyThread adds and removes labels on every message of a thread.
	ModifyThread(ctx context.Context, threadID string, add, remove []string) error
	// ModifyMessages adds and removes the same labels on many messages, in
	// as few quota units as it can (messages.modify each for a few,
	// users.messages.batchModify for many).
	ModifyMessages(ctx context.Context, ids []string, add, remove []string) error
}

// ErrHistoryGone: the history cursor is older than Gmail keeps (history.list
// answered 404); a full sync is needed.
var ErrHistoryGone = errors.New("gmail history no longer available")

// ErrLabelGone: the label id no longer exists in the mailbox.
var ErrLabelGone = errors.New("gmail label no longer exists")

// ErrLabelTaken: another label of the mailbox already has the name.
var ErrLabelTaken = errors.New("gmail label name is taken")

// Dialer opens the Gmail API of a mailbox without a user present.
type Dialer interface {
	Mailbox(ctx context.Context, address string) (Gmail, error)
}

// MessageRef names a message of a mailbox.
type MessageRef struct {
	ID       string
	ThreadID string
	LabelIDs []string
}

// HistoryRecord is one entry of a mailbox's history.
type HistoryRecord struct {
	ID            uint64
	Added         []MessageRef
	LabelsAdded   []LabelChange
	LabelsRemoved []LabelChange
}

// LabelChange is a label change on one message.
type LabelChange struct {
	Message  MessageRef
	LabelIDs []string
}

// Message is a fetched message: its place in the mailbox and its headers.
type Message struct {
	MessageRef
	Headers inbox.Headers
}
