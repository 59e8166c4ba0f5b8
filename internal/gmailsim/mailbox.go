package gmailsim

import (
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// System label ids. In Gmail a system label's name is its id.
const (
	LabelInbox     = "INBOX"
	LabelSent      = "SENT"
	LabelDraft     = "DRAFT"
	LabelSpam      = "SPAM"
	LabelTrash     = "TRASH"
	LabelUnread    = "UNREAD"
	LabelStarred   = "STARRED"
	LabelImportant = "IMPORTANT"
)

// systemLabels are created in every mailbox.
var systemLabels = []string{
	LabelInbox, LabelSent, LabelDraft, LabelSpam, LabelTrash, LabelUnread,
	LabelStarred, LabelImportant, "CHAT",
	"CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS",
	"CATEGORY_UPDATES", "CATEGORY_FORUMS",
}

// label is a mailbox label. Messages refer to labels by id.
type label struct {
	id     string
	name   string
	system bool
	// Visibilities and color of user labels; system labels leave them
	// empty.
	labelListVisibility   string
	messageListVisibility string
	textColor, bgColor    string // both set or both empty
}

// changeKind names a history record type, as history.list spells it.
type changeKind string

// History record types; the values are the historyTypes enum of
// history.list.
const (
	changeMessageAdded   changeKind = "messageAdded"
	changeMessageDeleted changeKind = "messageDeleted"
	changeLabelAdded     changeKind = "labelAdded"
	changeLabelRemoved   changeKind = "labelRemoved"
)

// change is one history record of a mailbox: one kind of change to one
// message.
type change struct {
	historyID uint64
	at        time.Time // when it was recorded, for HistoryRetention
	kind      changeKind
	messageID string
	threadID  string
	labelIDs  []string // labelAdded/labelRemoved: the labels added or removed
	msgLabels []string // the message's labels right after the change
}

// message is a stored message. Everything except labelIDs and historyID is
// immutable after it is stored, so it may be read without the lock once a
// snapshot of those two has been taken.
type message struct {
	id           string
	threadID     string
	raw          []byte
	parsed       *parsedMail
	internalDate time.Time
	labelIDs     []string // insertion order, no duplicates
	historyID    uint64   // the last history record that touched the message
}

func (m *message) hasLabel(id string) bool { return slices.Contains(m.labelIDs, id) }

// thread groups messages of one mailbox. Its id is the id of its first
// message, as in Gmail.
type thread struct {
	id       string
	messages []*message // in the order they were added
}

// mailbox is one Gmail account. All fields are guarded by Server.mu.
type mailbox struct {
	address   string
	historyID uint64 // current history id; increases with gaps
	labels    map[string]*label
	messages  map[string]*message
	order     []*message // in the order they were stored
	threads   map[string]*thread
	byMsgID   map[string][]*message // lower-cased RFC 822 Message-ID
	// changes is the history log in increasing historyID order. A
	// startHistoryId below historyFloor predates it: the records after it
	// may have been dropped, so history.list answers 404.
	changes      []change
	historyFloor uint64
	nextLabel    int    // the n of the last user label id, Label_<n>
	watch        *watch // nil when the mailbox is not watched
	// drafts maps a draft id to the id of its current message (see
	// drafts.go); nextDraft is the number of the last draft id handed out.
	drafts    map[string]string
	nextDraft uint64
	// sendAs holds the send-as identities, the primary address first (see
	// sendas.go).
	sendAs []SendAs
}

func newMailbox(address string) *mailbox {
	mb := &mailbox{
		address:   address,
		historyID: 1000 + rand.Uint64N(9000),
		labels:    make(map[string]*label),
		messages:  make(map[string]*message),
		threads:   make(map[string]*thread),
		byMsgID:   make(map[string][]*message),
		drafts:    make(map[string]string),
		nextDraft: 1<<62 + rand.Uint64N(1<<60),
		sendAs:    []SendAs{{SendAsEmail: address, IsDefault: true}},
	}
	for _, id := range systemLabels {
		mb.labels[id] = &label{id: id, name: id, system: true}
	}
	mb.historyFloor = mb.historyID
	return mb
}

// nextHistoryID advances the mailbox's history id by a small random gap:
// Gmail's ids "increase chronologically but are not contiguous".
func (mb *mailbox) nextHistoryID() uint64 {
	mb.historyID += 1 + rand.Uint64N(16)
	return mb.historyID
}

// sent reports whether the mailbox holds a message with RFC 822 Message-ID
// id labelled SENT.
func (mb *mailbox) sent(id string) bool {
	if id == "" {
		return false
	}
	return slices.ContainsFunc(mb.byMsgID[strings.ToLower(id)], func(m *message) bool { return m.hasLabel(LabelSent) })
}

// checkLabels returns the label ids deduplicated, or an error naming the first
// id the mailbox does not have.
func (mb *mailbox) checkLabels(ids []string) ([]string, error) {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := mb.labels[id]; !ok {
			return nil, &labelError{id: id}
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// findLabel resolves a label the way search does: by id or by name,
// case-insensitively, with "-" standing for " " or "/" as in Gmail's
// label: operator.
func (mb *mailbox) findLabel(s string) (*label, bool) {
	if l, ok := mb.labels[s]; ok {
		return l, true
	}
	norm := func(x string) string {
		return strings.NewReplacer(" ", "-", "/", "-").Replace(strings.ToLower(x))
	}
	want := norm(s)
	for _, l := range mb.labels {
		if norm(l.name) == want || norm(l.id) == want {
			return l, true
		}
	}
	return nil, false
}

// threadFor picks the thread a new message joins: the requested thread if the
// message refers to one of its messages, else the thread of the message named
// by In-Reply-To or, failing that, by References (latest first). It returns ""
// when the message starts a new thread.
func (mb *mailbox) threadFor(pm *parsedMail, requested string) string {
	var refs []string
	refs = append(refs, pm.inReplyTo...)
	for i := len(pm.references) - 1; i >= 0; i-- {
		refs = append(refs, pm.references[i])
	}
	if requested != "" {
		for _, ref := range refs {
			for _, m := range mb.byMsgID[strings.ToLower(ref)] {
				if m.threadID == requested {
					return requested
				}
			}
		}
	}
	for _, ref := range refs {
		if ms := mb.byMsgID[strings.ToLower(ref)]; len(ms) > 0 {
			return ms[0].threadID
		}
	}
	return ""
}

// add stores m, which has its id, raw, parsed, labels and date set, and
// assigns its thread. The caller records the messageAdded change.
func (mb *mailbox) add(m *message, requestedThread string) {
	m.threadID = mb.threadFor(m.parsed, requestedThread)
	t := mb.threads[m.threadID]
	if t == nil {
		m.threadID = m.id
		t = &thread{id: m.id}
		mb.threads[t.id] = t
	}
	t.messages = append(t.messages, m)
	mb.messages[m.id] = m
	mb.order = append(mb.order, m)
	if mid := m.parsed.messageID; mid != "" {
		key := strings.ToLower(mid)
		mb.byMsgID[key] = append(mb.byMsgID[key], m)
	}
}

// remove deletes m from the mailbox, and its thread when it was the last
// message of it. The caller records the messageDeleted change.
func (mb *mailbox) remove(m *message) {
	delete(mb.messages, m.id)
	mb.order = slices.DeleteFunc(mb.order, func(x *message) bool { return x == m })
	if t := mb.threads[m.threadID]; t != nil {
		t.messages = slices.DeleteFunc(t.messages, func(x *message) bool { return x == m })
		if len(t.messages) == 0 {
			delete(mb.threads, t.id)
		}
	}
	if mid := m.parsed.messageID; mid != "" {
		key := strings.ToLower(mid)
		mb.byMsgID[key] = slices.DeleteFunc(mb.byMsgID[key], func(x *message) bool { return x == m })
		if len(mb.byMsgID[key]) == 0 {
			delete(mb.byMsgID, key)
		}
	}
}

// threadHistoryID is the largest history id of the thread's messages.
func (t *thread) historyID() uint64 {
	var h uint64
	for _, m := range t.messages {
		h = max(h, m.historyID)
	}
	return h
}
