package gmailsim

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxMessageBytes is Gmail's limit on the size of one message
// accepted through the API (35 MB).
const DefaultMaxMessageBytes = 35 << 20

// Errors returned by the Go methods of Server. The HTTP API reports the same
// conditions as Gmail-shaped JSON errors.
var (
	// ErrUnknownMailbox: no mailbox with that address was added.
	ErrUnknownMailbox = errors.New("gmailsim: unknown mailbox")
	// ErrInvalidLabel: a label id the mailbox does not have.
	ErrInvalidLabel = errors.New("gmailsim: invalid label")
	// ErrTooLarge: the message exceeds Options.MaxMessageBytes.
	ErrTooLarge = errors.New("gmailsim: message too large")
	// ErrThreadNotFound: a requested thread id does not exist in the mailbox.
	ErrThreadNotFound = errors.New("gmailsim: thread not found")
	// ErrMessageNotFound: a message id does not exist in the mailbox.
	ErrMessageNotFound = errors.New("gmailsim: message not found")
	// ErrLabelNotFound: a label id does not exist in the mailbox.
	ErrLabelNotFound = errors.New("gmailsim: label not found")
)

// Options configure a Server.
type Options struct {
	// Authenticate maps a request to the address of the mailbox it acts for,
	// typically by looking at the "Authorization: Bearer …" header. An error
	// makes the request fail with 401. Required: the simulator itself knows
	// nothing about token formats.
	Authenticate func(r *http.Request) (mailbox string, err error)
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives a debug line per request and an error line per
	// internal failure. Defaults to discarding everything.
	Logger *slog.Logger
	// MaxMessageBytes bounds the size of one raw message; larger uploads are
	// answered with 413. Defaults to DefaultMaxMessageBytes.
	MaxMessageBytes int64

	// HistoryRetention is how long history records are kept, measured on
	// Now. A history.list whose startHistoryId predates the oldest kept
	// record answers 404, as Gmail does when its (typically one week)
	// retention has passed. Zero keeps every record; ExpireHistory drops
	// records explicitly either way.
	HistoryRetention time.Duration
	// QuotaPerSecond is the per-mailbox budget of quota units over a sliding
	// one-second window (Gmail's per-user limit is 250). A request that
	// would exceed it is answered with 429 rateLimitExceeded and not
	// charged. Zero means unlimited.
	QuotaPerSecond int
	// Notify receives a push notification for every history record of a
	// mailbox with an active watch that passes the watch's label filter,
	// and one when a watch is set up. It is called without any lock held,
	// possibly from several goroutines at once. Nil discards notifications.
	// Use Pusher.Notify to deliver them as Pub/Sub push requests.
	Notify func(Notification)
	// NotifyMinInterval is the least time between two notifications of one
	// mailbox, in real time (not Now). Notifications inside the interval are
	// coalesced into one, sent when the interval has passed and carrying the
	// latest history id; Gmail similarly sends at most one per second per
	// user. Zero sends one notification per change.
	NotifyMinInterval time.Duration
	// Faults, if set, is asked about every request of a mailbox that names
	// a method (see QuotaCost), after authentication and before the faults
	// queued by InjectFaults and the quota: returning true fails the
	// request with the fault, counted by Usage and not charged. Chaos runs
	// use it for faults at random. It is called with the quota lock held
	// and must not call back into the Server.
	Faults func(mailbox, method string) (Fault, bool)
	// Route maps a recipient address of a mail a mailbox sends (Send,
	// users.messages.send) to the simulated mailboxes that receive a copy:
	// a Google Group's members, say. Nil routes an address to the mailbox
	// of that address, if there is one.
	Route func(address string) []string
}

// Server is an in-memory Gmail. It is safe for concurrent use.
type Server struct {
	auth    func(r *http.Request) (string, error)
	now     func() time.Time
	logger  *slog.Logger
	maxSize int64
	handler http.Handler

	retention time.Duration
	limits    *limiter
	notifier  *notifier
	router    func(string) []string

	mu        sync.RWMutex
	mailboxes map[string]*mailbox
	lastID    uint64                    // last message id handed out, in any mailbox
	uploads   map[string]*uploadSession // resumable uploads by upload_id
	// outbox holds notifications queued while mu is held; unlockAndNotify
	// sends them once it is released.
	outbox []Notification
}

// New returns an empty simulator. It panics if opts.Authenticate is nil,
// which is a programming error.
func New(opts Options) *Server {
	if opts.Authenticate == nil {
		panic("gmailsim.New: Options.Authenticate is required")
	}
	s := &Server{
		auth:      opts.Authenticate,
		now:       opts.Now,
		logger:    opts.Logger,
		maxSize:   opts.MaxMessageBytes,
		retention: opts.HistoryRetention,
		limits:    newLimiter(opts.QuotaPerSecond, opts.Faults),
		notifier:  newNotifier(opts.Notify, opts.NotifyMinInterval),
		router:    opts.Route,
		mailboxes: make(map[string]*mailbox),
		uploads:   make(map[string]*uploadSession),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.maxSize <= 0 {
		s.maxSize = DefaultMaxMessageBytes
	}
	s.handler = s.routes()
	return s
}

// Handler returns the HTTP API. It serves /gmail/v1/… and /upload/gmail/v1/…
// and must be mounted at the root of the server: the Go client resolves
// upload URLs against the host, not against the endpoint's path.
func (s *Server) Handler() http.Handler { return s.handler }

// Message is a snapshot of a stored message, for tests and development tools.
type Message struct {
	Mailbox      string
	ID           string
	ThreadID     string
	LabelIDs     []string
	HistoryID    uint64
	InternalDate time.Time
	// MessageID is the RFC 822 Message-ID without angle brackets; "" when the
	// message has none.
	MessageID string
	Subject   string
	// Raw is the message as stored. Deliver prepends a Delivered-To field to
	// the bytes it was given.
	Raw []byte
}

// Delivered identifies the copy Deliver put into one mailbox.
type Delivered struct {
	Mailbox  string
	ID       string
	ThreadID string
}

// normAddress is how mailbox addresses are compared: case-insensitively,
// ignoring surrounding white space.
func normAddress(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// unlockAndNotify releases s.mu, which the caller holds for writing, and
// hands the notifications queued meanwhile to Options.Notify.
func (s *Server) unlockAndNotify() {
	out := s.outbox
	s.outbox = nil
	s.mu.Unlock()
	s.notifier.send(out)
}

// AddMailbox creates an empty mailbox with the system labels. Adding an
// existing address does nothing. Addresses compare case-insensitively.
func (s *Server) AddMailbox(email string) {
	addr := normAddress(email)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mailboxes[addr]; !ok {
		s.mailboxes[addr] = newMailbox(addr)
	}
}

// Deliver simulates incoming mail: each listed mailbox gets its own copy,
// with its own message and thread ids and the labels INBOX and UNREAD, as
// when Gmail delivers to several recipients or a Google Group fans a message
// out to its members (the caller lists the member mailboxes). A mailbox listed
// twice gets one copy, and so does a mailbox that sent the mail itself
// (it holds the Message-ID labelled SENT): Gmail keeps just the sent one.
// Each copy starts with "Delivered-To: <mailbox>", which
// Gmail adds on delivery. Nothing is delivered if any mailbox is unknown
// (ErrUnknownMailbox) or raw is too large (ErrTooLarge).
func (s *Server) Deliver(raw []byte, to ...string) ([]Delivered, error) {
	return s.deliver(time.Time{}, raw, to)
}

// DeliverAt is Deliver of a mail that arrived at at, in the past: its
// internalDate, which orders Gmail's lists, is at instead of now. It seeds
// mailboxes with mail that looks as old as it claims.
func (s *Server) DeliverAt(at time.Time, raw []byte, to ...string) ([]Delivered, error) {
	return s.deliver(at, raw, to)
}

func (s *Server) deliver(at time.Time, raw []byte, to []string) ([]Delivered, error) {
	if len(to) == 0 {
		return nil, fmt.Errorf("gmailsim: deliver: no recipients")
	}
	var addrs []string
	for _, a := range to {
		if a = normAddress(a); !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	// Parse outside the lock; every copy differs only by its first field.
	copies := make([]*message, len(addrs))
	for i, a := range addrs {
		b := append([]byte("Delivered-To: "+a+"\r\n"), raw...)
		if int64(len(b)) > s.maxSize {
			return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), s.maxSize)
		}
		copies[i] = &message{raw: b, parsed: parseMail(b), labelIDs: []string{LabelInbox, LabelUnread}}
	}

	s.mu.Lock()
	defer s.unlockAndNotify()
	for _, a := range addrs {
		if s.mailboxes[a] == nil {
			return nil, fmt.Errorf("%w: %s", ErrUnknownMailbox, a)
		}
	}
	now := s.now()
	if !at.IsZero() && at.Before(now) {
		now = at
	}
	out := make([]Delivered, 0, len(addrs))
	for i, a := range addrs {
		m := copies[i]
		if s.mailboxes[a].sent(m.parsed.messageID) {
			continue // the sender's own mail coming back: Gmail keeps the SENT copy only
		}
		m.id = s.newMessageID(now)
		m.internalDate = toMillis(now)
		s.addMessage(s.mailboxes[a], m, "")
		out = append(out, Delivered{Mailbox: a, ID: m.id, ThreadID: m.threadID})
	}
	return out, nil
}

// Insert stores raw in mailbox as it is, with exactly the given labels, like
// users.messages.insert; use it to seed a mailbox, e.g. with SENT copies. A
// zero internalDate means now. Threading follows the same rules as delivery.
// Errors: ErrUnknownMailbox, ErrInvalidLabel, ErrTooLarge.
func (s *Server) Insert(mailbox string, raw []byte, labelIDs []string, internalDate time.Time) (Message, error) {
	req := insertRequest{raw: bytes.Clone(raw), labelIDs: labelIDs, internalDate: internalDate}
	m, err := s.insert(normAddress(mailbox), req)
	if err != nil {
		return Message{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return snapshot(normAddress(mailbox), m), nil
}

// insertRequest is one message to store through Insert or the API.
type insertRequest struct {
	raw          []byte
	labelIDs     []string
	internalDate time.Time // zero: now
	threadID     string    // optional thread to join
}

// insert parses and stores one message.
func (s *Server) insert(addr string, req insertRequest) (*message, error) {
	if int64(len(req.raw)) > s.maxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(req.raw), s.maxSize)
	}
	m := &message{raw: req.raw, parsed: parseMail(req.raw)}

	s.mu.Lock()
	defer s.unlockAndNotify()
	mb := s.mailboxes[addr]
	if mb == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownMailbox, addr)
	}
	labels, err := mb.checkLabels(req.labelIDs)
	if err != nil {
		return nil, err
	}
	if req.threadID != "" && mb.threads[req.threadID] == nil {
		return nil, fmt.Errorf("%w: %s", ErrThreadNotFound, req.threadID)
	}
	now := s.now()
	m.id = s.newMessageID(now)
	m.labelIDs = labels
	m.internalDate = toMillis(req.internalDate)
	if req.internalDate.IsZero() {
		m.internalDate = toMillis(now)
	}
	s.addMessage(mb, m, req.threadID)
	return m, nil
}

// newMessageID returns a new id: 16 lower-case hex digits whose high bits are
// the time in milliseconds, like Gmail's. Ids are unique across all
// mailboxes of the server and increase, so each mailbox's ids increase too.
// The caller holds s.mu.
func (s *Server) newMessageID(now time.Time) string {
	const floor = 1 << 60 // keeps 16 digits for any clock
	id := max(s.lastID+1, floor)
	if ms := now.UnixMilli(); ms > 0 && uint64(ms) < 1<<43 {
		id = max(id, uint64(ms)<<20)
	}
	s.lastID = id
	return fmt.Sprintf("%016x", id)
}

// toMillis truncates t to Gmail's precision: internalDate is epoch millis.
func toMillis(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()) }

// MessagesOf returns snapshots of all messages of a mailbox in the order they
// were stored, or nil for an unknown mailbox.
func (s *Server) MessagesOf(mailbox string) []Message {
	addr := normAddress(mailbox)
	s.mu.RLock()
	defer s.mu.RUnlock()
	mb := s.mailboxes[addr]
	if mb == nil {
		return nil
	}
	out := make([]Message, len(mb.order))
	for i, m := range mb.order {
		out[i] = snapshot(addr, m)
	}
	return out
}

// FindByMessageID returns the first message of the mailbox stored with the
// given RFC 822 Message-ID, which may be written with or without angle
// brackets and matches case-insensitively, as Gmail's rfc822msgid: does.
func (s *Server) FindByMessageID(mailbox, rfc822MessageID string) (Message, bool) {
	addr := normAddress(mailbox)
	id := normalizeMsgID(rfc822MessageID)
	s.mu.RLock()
	defer s.mu.RUnlock()
	mb := s.mailboxes[addr]
	if mb == nil || id == "" {
		return Message{}, false
	}
	ms := mb.byMsgID[strings.ToLower(id)]
	if len(ms) == 0 {
		return Message{}, false
	}
	return snapshot(addr, ms[0]), true
}

// snapshot copies m for callers outside the lock. The caller holds s.mu.
func snapshot(addr string, m *message) Message {
	return Message{
		Mailbox:      addr,
		ID:           m.id,
		ThreadID:     m.threadID,
		LabelIDs:     slices.Clone(m.labelIDs),
		HistoryID:    m.historyID,
		InternalDate: m.internalDate,
		MessageID:    m.parsed.messageID,
		Subject:      m.parsed.subject,
		Raw:          bytes.Clone(m.raw),
	}
}
