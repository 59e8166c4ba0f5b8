package gmailsim

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/api/gmail/v1"
)

// WatchTTL is how long a watch lasts: Gmail asks to renew at least every 7
// days, and WatchResponse.expiration is that far ahead.
const WatchTTL = 7 * 24 * time.Hour

// topicName is what users.watch accepts as a Pub/Sub topic.
var topicName = regexp.MustCompile(`^projects/[^/]+/topics/[^/]+$`)

// Notification is what Gmail publishes to the watch's Pub/Sub topic when a
// watched mailbox changes: the mailbox and its new history id.
type Notification struct {
	EmailAddress string
	HistoryID    uint64
}

// Watch describes the active watch of a mailbox.
type Watch struct {
	TopicName string
	LabelIDs  []string
	// LabelFilterBehavior is "include" or "exclude"; it matters only with
	// LabelIDs.
	LabelFilterBehavior string
	Expiration          time.Time
}

// watch is a mailbox's push notification setup.
type watch struct {
	topic      string
	labelIDs   []string
	exclude    bool
	expiration time.Time
}

// activeWatch returns the watch of mb unless there is none or it has
// expired. The caller holds s.mu.
func (mb *mailbox) activeWatch(now time.Time) *watch {
	if mb.watch == nil || !now.Before(mb.watch.expiration) {
		return nil
	}
	return mb.watch
}

// wants reports whether ch passes the watch's label filter. A change
// relates to a label when the label was added or removed by it, or the
// message carries it (for a deletion: carried it). With "include" only
// related changes are pushed, with "exclude" only unrelated ones.
func (w *watch) wants(ch change) bool {
	if len(w.labelIDs) == 0 {
		return true
	}
	related := slices.ContainsFunc(w.labelIDs, func(id string) bool {
		return slices.Contains(ch.labelIDs, id) || slices.Contains(ch.msgLabels, id)
	})
	return related != w.exclude
}

// handleWatch serves users.watch. Setting a watch replaces the previous one
// and, as Gmail does, pushes one notification right away with the current
// history id, whatever the label filter.
func (s *Server) handleWatch(c *call) error {
	var req gmail.WatchRequest
	if err := readJSON(c, &req); err != nil {
		return err
	}
	if !topicName.MatchString(req.TopicName) {
		return errInvalid("Invalid topicName does not match projects/SOME-PROJECT/topics/SOME-TOPIC")
	}
	behavior := req.LabelFilterBehavior
	if behavior == "" {
		behavior = req.LabelFilterAction // deprecated, used only when the new field is absent
	}
	w := &watch{topic: req.TopicName}
	switch strings.ToLower(behavior) {
	case "", "include":
	case "exclude":
		w.exclude = true
	default:
		return errInvalid("Invalid value at 'label_filter_behavior', %q", behavior)
	}
	resp, err := func() (*gmail.WatchResponse, error) {
		s.mu.Lock()
		defer s.unlockAndNotify()
		mb := s.mailboxes[c.addr]
		ids, err := mb.checkLabels(req.LabelIds)
		if err != nil {
			return nil, err
		}
		w.labelIDs = ids
		w.expiration = toMillis(s.now().Add(WatchTTL))
		mb.watch = w
		s.outbox = append(s.outbox, Notification{EmailAddress: mb.address, HistoryID: mb.historyID})
		return &gmail.WatchResponse{HistoryId: mb.historyID, Expiration: w.expiration.UnixMilli()}, nil
	}()
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, resp)
	return nil
}

// handleStop serves users.stop: notifications end at once (Gmail says
// "within a few minutes"). Stopping an unwatched mailbox is not an error.
func (s *Server) handleStop(c *call) error {
	s.mu.Lock()
	s.mailboxes[c.addr].watch = nil
	s.mu.Unlock()
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// WatchOf returns the active watch of a mailbox; false when it has none, it
// was stopped or it expired.
func (s *Server) WatchOf(mailbox string) (Watch, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	mb := s.mailboxes[normAddress(mailbox)]
	if mb == nil {
		return Watch{}, false
	}
	w := mb.activeWatch(s.now())
	if w == nil {
		return Watch{}, false
	}
	out := Watch{TopicName: w.topic, LabelIDs: slices.Clone(w.labelIDs), LabelFilterBehavior: "include", Expiration: w.expiration}
	if w.exclude {
		out.LabelFilterBehavior = "exclude"
	}
	return out, true
}

// notifier hands notifications to Options.Notify, at most one per mailbox
// per interval when an interval is set.
type notifier struct {
	notify   func(Notification)
	interval time.Duration

	mu    sync.Mutex
	boxes map[string]*notifyState
}

// notifyState is the coalescing state of one mailbox.
type notifyState struct {
	last    time.Time    // when the last notification was sent
	pending Notification // the latest held back notification, if timer is set
	timer   *time.Timer  // sends pending; nil when nothing is held back
}

func newNotifier(notify func(Notification), interval time.Duration) *notifier {
	return &notifier{notify: notify, interval: interval, boxes: make(map[string]*notifyState)}
}

// send delivers ns in order, holding back those that come too soon after
// the previous one of their mailbox. It must be called without s.mu held.
func (n *notifier) send(ns []Notification) {
	if n.notify == nil || len(ns) == 0 {
		return
	}
	if n.interval <= 0 {
		for _, x := range ns {
			n.notify(x)
		}
		return
	}
	var now []Notification
	n.mu.Lock()
	for _, x := range ns {
		st := n.boxes[x.EmailAddress]
		if st == nil {
			st = &notifyState{}
			n.boxes[x.EmailAddress] = st
		}
		t := time.Now()
		switch {
		case st.timer != nil:
			if st.pending.HistoryID < x.HistoryID {
				st.pending = x
			}
		case t.Sub(st.last) >= n.interval:
			st.last = t
			now = append(now, x)
		default:
			addr := x.EmailAddress
			st.pending = x
			st.timer = time.AfterFunc(st.last.Add(n.interval).Sub(t), func() { n.flushHeld(addr) })
		}
	}
	n.mu.Unlock()
	for _, x := range now {
		n.notify(x)
	}
}

// flushHeld sends the notification held back for a mailbox.
func (n *notifier) flushHeld(addr string) {
	n.mu.Lock()
	st := n.boxes[addr]
	x := st.pending
	st.timer, st.last = nil, time.Now()
	n.mu.Unlock()
	n.notify(x)
}
