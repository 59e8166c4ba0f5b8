package gmailsim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/api/gmail/v1"
)

// historyTypes maps the historyTypes values history.list accepts to record
// kinds: the enum as the discovery document spells it, and the proto names
// the REST front end also takes.
var historyTypes = map[string]changeKind{
	"messageAdded":    changeMessageAdded,
	"messageDeleted":  changeMessageDeleted,
	"labelAdded":      changeLabelAdded,
	"labelRemoved":    changeLabelRemoved,
	"MESSAGE_ADDED":   changeMessageAdded,
	"MESSAGE_DELETED": changeMessageDeleted,
	"LABEL_ADDED":     changeLabelAdded,
	"LABEL_REMOVED":   changeLabelRemoved,
}

// addMessage stores m in mb and records it as added. The caller holds s.mu
// for writing.
func (s *Server) addMessage(mb *mailbox, m *message, requestedThread string) {
	mb.add(m, requestedThread)
	s.record(mb, changeMessageAdded, m, nil)
}

// record appends a history record about m to mb's log, moves m's history id
// to it and queues a notification if a watch asks for one. labelIDs are the
// labels added or removed. The caller holds s.mu for writing and has already
// applied the change to m.
func (s *Server) record(mb *mailbox, kind changeKind, m *message, labelIDs []string) uint64 {
	now := s.now()
	id := mb.nextHistoryID()
	ch := change{
		historyID: id,
		at:        now,
		kind:      kind,
		messageID: m.id,
		threadID:  m.threadID,
		labelIDs:  slices.Clone(labelIDs),
		msgLabels: slices.Clone(m.labelIDs),
	}
	mb.changes = append(mb.changes, ch)
	m.historyID = id
	s.pruneHistory(mb, now)
	if w := mb.activeWatch(now); w != nil && w.wants(ch) {
		s.outbox = append(s.outbox, Notification{EmailAddress: mb.address, HistoryID: id})
	}
	return id
}

// pruneHistory drops the records older than Options.HistoryRetention. The
// caller holds s.mu for writing.
func (s *Server) pruneHistory(mb *mailbox, now time.Time) {
	if s.retention <= 0 || len(mb.changes) == 0 {
		return
	}
	cutoff := now.Add(-s.retention)
	n := 0
	for n < len(mb.changes) && mb.changes[n].at.Before(cutoff) {
		n++
	}
	mb.dropHistory(n)
}

// dropHistory forgets the first n records and raises the floor past them.
func (mb *mailbox) dropHistory(n int) {
	if n == 0 {
		return
	}
	mb.historyFloor = max(mb.historyFloor, mb.changes[n-1].historyID)
	mb.changes = slices.Clone(mb.changes[n:])
}

// ExpireHistory drops the history records of mailbox up to and including
// history id upTo, as Gmail does when its retention runs out: afterwards
// history.list answers 404 for any startHistoryId below upTo (or below the
// current history id, if upTo is beyond it). Use it to test a client's full
// resync. Errors: ErrUnknownMailbox.
func (s *Server) ExpireHistory(mailbox string, upTo uint64) error {
	addr := normAddress(mailbox)
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[addr]
	if mb == nil {
		return fmt.Errorf("%w: %s", ErrUnknownMailbox, addr)
	}
	n := sort.Search(len(mb.changes), func(i int) bool { return mb.changes[i].historyID > upTo })
	mb.dropHistory(n)
	mb.historyFloor = max(mb.historyFloor, min(upTo, mb.historyID))
	return nil
}

// historyToken is the nextPageToken of history.list: the id of the last
// record of the page.
func historyToken(id uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("h" + strconv.FormatUint(id, 10)))
}

func parseHistoryToken(tok string) (uint64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(b), "h")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil
}

// historyQuery is a parsed history.list request.
type historyQuery struct {
	start      uint64
	after      uint64 // the page starts after this id
	kinds      []changeKind
	labelID    string
	maxResults int
}

func parseHistoryQuery(c *call) (historyQuery, error) {
	q := historyQuery{maxResults: defaultMaxResults}
	v := c.query.Get("startHistoryId")
	if v == "" {
		return q, errInvalid("Missing/invalid parameter: startHistoryId")
	}
	start, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return q, errInvalid("Invalid value at 'start_history_id' (TYPE_UINT64), %q", v)
	}
	q.start, q.after = start, start
	for _, t := range c.query["historyTypes"] {
		k, ok := historyTypes[t]
		if !ok {
			return q, errInvalid("Invalid value at 'history_types' (type.googleapis.com/gmail.HistoryType), %q", t)
		}
		if !slices.Contains(q.kinds, k) {
			q.kinds = append(q.kinds, k)
		}
	}
	q.labelID = c.query.Get("labelId")
	if v := c.query.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return q, errInvalid("Invalid value for maxResults: %s", v)
		}
		if n > 0 {
			q.maxResults = min(n, maxMaxResults)
		}
	}
	if tok := c.query.Get("pageToken"); tok != "" {
		id, ok := parseHistoryToken(tok)
		if !ok {
			return q, errInvalid("Invalid pageToken")
		}
		q.after = max(q.after, id)
	}
	return q, nil
}

// matches reports whether ch passes the historyTypes and labelId filters.
// A record matches labelId when the label was added or removed by it or the
// message carries it afterwards.
func (q historyQuery) matches(ch *change) bool {
	if len(q.kinds) > 0 && !slices.Contains(q.kinds, ch.kind) {
		return false
	}
	return q.labelID == "" || slices.Contains(ch.labelIDs, q.labelID) || slices.Contains(ch.msgLabels, q.labelID)
}

// handleListHistory serves users.history.list.
func (s *Server) handleListHistory(c *call) error {
	q, err := parseHistoryQuery(c)
	if err != nil {
		return err
	}
	resp, err := s.listHistory(c.addr, q)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, resp)
	return nil
}

// listHistory answers a history.list query for addr.
func (s *Server) listHistory(addr string, q historyQuery) (*gmail.ListHistoryResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[addr]
	if q.labelID != "" && mb.labels[q.labelID] == nil {
		return nil, errInvalid("Invalid label: %s", q.labelID)
	}
	s.pruneHistory(mb, s.now())
	if q.start < mb.historyFloor {
		return nil, errNotFound()
	}
	resp := &gmail.ListHistoryResponse{HistoryId: mb.historyID}
	i := sort.Search(len(mb.changes), func(i int) bool { return mb.changes[i].historyID > q.after })
	for ; i < len(mb.changes); i++ {
		ch := &mb.changes[i]
		if !q.matches(ch) {
			continue
		}
		if len(resp.History) == q.maxResults {
			resp.NextPageToken = historyToken(resp.History[len(resp.History)-1].Id)
			break
		}
		resp.History = append(resp.History, renderChange(ch))
	}
	return resp, nil
}

// renderChange builds the History resource of one record. Like Gmail's, it
// lists the message in messages (id and threadId) and again, with its
// labels, in the field of the change type.
func renderChange(ch *change) *gmail.History {
	h := &gmail.History{
		Id:       ch.historyID,
		Messages: []*gmail.Message{{Id: ch.messageID, ThreadId: ch.threadID}},
	}
	msg := &gmail.Message{Id: ch.messageID, ThreadId: ch.threadID, LabelIds: slices.Clone(ch.msgLabels)}
	switch ch.kind {
	case changeMessageAdded:
		h.MessagesAdded = []*gmail.HistoryMessageAdded{{Message: msg}}
	case changeMessageDeleted:
		h.MessagesDeleted = []*gmail.HistoryMessageDeleted{{Message: msg}}
	case changeLabelAdded:
		h.LabelsAdded = []*gmail.HistoryLabelAdded{{Message: msg, LabelIds: slices.Clone(ch.labelIDs)}}
	case changeLabelRemoved:
		h.LabelsRemoved = []*gmail.HistoryLabelRemoved{{Message: msg, LabelIds: slices.Clone(ch.labelIDs)}}
	}
	return h
}
