// Package syncer keeps Postfach in step with Gmail: it turns push
// notifications into incremental history syncs of linked mailboxes, ingests
// new mail into conversations (matching inboxes by recipients, threads by
// Message-ID across mailboxes), applies Postfach's state back to Gmail as
// labels, takes label changes made in Gmail as user actions, and renews
// watches.
//
// # Guarantees
//
//   - At-least-once notifications are harmless: a notification only records
//     "sync up to at least historyId H"; the sync reads history from the
//     stored cursor, whatever order notifications arrive in.
//   - The cursor advances only after the state a history page produced is
//     committed; a crash in between replays the page, and replays are no-ops
//     because every mail is recorded under its RFC 5322 Message-ID, once
//     per inbox (Store.AppendMessage answers ErrAlreadyExists).
//   - One mailbox is synced by one instance at a time: a lease in the store.
//   - A cursor too old for Gmail (history 404) triggers a full resync over a
//     window of recent mail, which only adds what is missing: owners,
//     statuses, tags and notes are never touched by it.
//   - An announced history id is a hint, never trusted beyond what Gmail
//     itself reports as the mailbox's current history id: one past it (a
//     bogus push) is forgotten after the sync that proves it so.
//   - Postfach's own label writes come back as history records, and are
//     not taken for a user's change: a record whose message's labels agree
//     with the conversation's state is Postfach's echo, settled from the
//     record alone, without fetching the message. A record that disagrees
//     is judged by the labels the message carries now: a state the
//     conversation left less than echoWindow ago is a late echo and is
//     re-asserted; anything else is the user's change.
package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// Options configure a Syncer.
type Options struct {
	Store  inbox.Store
	Gmail  Dialer
	Holder string // this instance's lease holder id
	// Topic is the Pub/Sub topic watches publish to
	// (projects/P/topics/T).
	Topic string
	// ResyncWindow bounds a full resync: mail newer than this is read.
	// Defaults to 30 days.
	ResyncWindow time.Duration
	// LeaseTTL is how long one sync may hold a mailbox. Defaults to 2 min.
	LeaseTTL time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// Syncer syncs linked mailboxes. It is safe for concurrent use.
type Syncer struct {
	store  inbox.Store
	gmail  Dialer
	holder string
	topic  string
	window time.Duration
	ttl    time.Duration
	now    func() time.Time
	log    *slog.Logger

	// running holds the mailboxes this process is syncing in the
	// background, so that a burst of notifications starts one sync, not
	// many; true means a notification came in meanwhile and the sync must
	// run once more.
	mu      sync.Mutex
	running map[string]bool
	locks   map[string]*sync.Mutex  // serialises Sync per mailbox in this process
	notes   map[string]*notifyQueue // announcements being recorded, per mailbox
	wg      tasks                   // background work, for Wait
}

// New builds a Syncer.
func New(o Options) *Syncer {
	s := &Syncer{
		store: o.Store, gmail: o.Gmail, holder: o.Holder, topic: o.Topic,
		window: o.ResyncWindow, ttl: o.LeaseTTL, now: o.Now, log: o.Logger,
		running: map[string]bool{},
		locks:   map[string]*sync.Mutex{},
		notes:   map[string]*notifyQueue{},
	}
	if s.holder == "" {
		s.holder = inbox.NewID(time.Now())
	}
	if s.window <= 0 {
		s.window = 30 * 24 * time.Hour
	}
	if s.ttl <= 0 {
		s.ttl = 2 * time.Minute
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// ErrUnknownMailbox: a notification or request names a mailbox that is not
// linked.
var ErrUnknownMailbox = errors.New("mailbox is not linked")

// Notify records that Gmail announced history up to historyID for a
// mailbox. Once it returns nil the work is safely recorded: a sync will pick
// it up even if this process dies now. It returns an error wrapping
// ErrUnknownMailbox for a mailbox that is not linked.
//
// Announcements of one mailbox that arrive while one of them is being
// recorded (a burst of mail is a burst of pushes, each its own request)
// are recorded together, by one write of the highest of their ids, once
// the write in flight is done; each returns when a write that covers its
// id has committed. So a mailbox's document takes at most two writes per
// round trip to the store however many pushes arrive, instead of one per
// push, all on one document.
func (s *Syncer) Notify(ctx context.Context, address string, historyID uint64) error {
	address = inbox.NormalizeEmail(address)
	s.mu.Lock()
	q := s.notes[address]
	if q == nil {
		b := newNotifyBatch(historyID)
		s.notes[address] = &notifyQueue{writing: b}
		s.mu.Unlock()
		s.recordBatch(ctx, address, b)
		return b.err
	}
	b := q.writing
	if b.id < historyID {
		// The write in flight does not cover this id: the next one will.
		if q.next == nil {
			q.next = newNotifyBatch(historyID)
		}
		q.next.id = max(q.next.id, historyID)
		b = q.next
	}
	s.mu.Unlock()
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return fmt.Errorf("record notification for %s: %w", address, ctx.Err())
	}
}

// notifyQueue is the recording of one mailbox's announcements: the write
// in flight and the batch that waits for it.
type notifyQueue struct {
	writing, next *notifyBatch
}

// notifyBatch is one write of an announced history id, shared by every
// Notify it covers.
type notifyBatch struct {
	id   uint64
	done chan struct{} // closed once err is set
	err  error
}

func newNotifyBatch(id uint64) *notifyBatch {
	return &notifyBatch{id: id, done: make(chan struct{})}
}

// recordBatch writes b, then hands the mailbox's queue on: the batch that
// gathered meanwhile is written in the background (its callers wait for
// it; the caller of b does not), or the queue is removed.
func (s *Syncer) recordBatch(ctx context.Context, address string, b *notifyBatch) {
	b.err = s.record(ctx, address, b.id)
	close(b.done)
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.notes[address]
	q.writing, q.next = q.next, nil
	if q.writing == nil {
		delete(s.notes, address)
		return
	}
	next := q.writing
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
		defer cancel()
		s.recordBatch(ctx, address, next)
	}()
}

// notifyTimeout bounds a write recorded on behalf of other callers, whose
// own deadlines it does not know.
const notifyTimeout = 30 * time.Second

// record writes an announced history id to the mailbox.
func (s *Syncer) record(ctx context.Context, address string, historyID uint64) error {
	_, err := s.store.UpdateMailbox(ctx, address, func(m *inbox.Mailbox) error {
		if historyID > m.NotifiedHistoryID {
			m.NotifiedHistoryID = historyID
		}
		return nil
	})
	if errors.Is(err, inbox.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrUnknownMailbox, address)
	}
	if err != nil {
		return fmt.Errorf("record notification for %s: %w", address, err)
	}
	return nil
}

// Kick syncs a mailbox in the background unless this process is already
// syncing it (the running sync loops until the mailbox has no announced
// history left). A push whose history a sync has already read is a no-op:
// Gmail pushes once per change, and a burst of mail (or of Postfach's own
// labels) would otherwise read the same history once per push. When
// another instance holds the mailbox's lease, the background sync looks
// again once that lease has run out: the holder may have been killed, and
// then nobody else would read what this push announced until the next
// push or the sweep. ctx bounds the background work; Wait waits for it.
func (s *Syncer) Kick(ctx context.Context, address string) {
	s.mu.Lock()
	if _, ok := s.running[address]; ok {
		// The running sync may already have decided it was done: make it
		// go round once more rather than lose this wake-up.
		s.running[address] = true
		s.mu.Unlock()
		return
	}
	s.running[address] = false
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		for {
			if !s.covered(ctx, address) {
				held, err := s.sync(ctx, address)
				if err != nil && !errors.Is(err, context.Canceled) {
					s.log.Warn("background sync failed", "mailbox", address, "error", err)
				}
				if !held.IsZero() && s.wait(ctx, held) {
					// Another instance held the mailbox. Alive, it has
					// synced what was announced by now (covered says so);
					// killed, its lease has run out and this push's work
					// is done here rather than waiting for the next push
					// or the sweep.
					continue
				}
			}
			s.mu.Lock()
			again := s.running[address] && ctx.Err() == nil
			if !again {
				delete(s.running, address)
				s.mu.Unlock()
				return
			}
			s.running[address] = false
			s.mu.Unlock()
		}
	}()
}

// covered reports whether a mailbox's history has been read up to every
// history id announced for it, so that syncing it now would find nothing
// that was announced. The sweep, which looks for what was never announced,
// does not ask.
func (s *Syncer) covered(ctx context.Context, address string) bool {
	m, err := s.store.GetMailbox(ctx, address)
	return err == nil && m.HistoryID != 0 && m.NotifiedHistoryID <= m.HistoryID
}

// Wait blocks until every background sync (Kick) and mirror
// (ConversationChangedAsync) has ended.
func (s *Syncer) Wait() { s.wg.Wait() }

// maxRounds bounds how often one Sync call re-reads history that arrived
// while it ran.
const maxRounds = 10

// Sync brings a mailbox up to date: incremental from the stored cursor, or
// a full resync for a never-synced mailbox or an expired cursor. It returns
// nil without doing anything when another instance holds the mailbox's
// lease (that instance will see the announced history). A sync that
// outlives its lease takes it again and reads from the cursor once more;
// losing it twice is an error, but not one of the mailbox. The outcome is
// recorded on the mailbox (LastSyncAt, LastError and its kind, Problem)
// for the admin.
func (s *Syncer) Sync(ctx context.Context, address string) error {
	_, err := s.sync(ctx, address)
	return err
}

// leaseSlack is how long after another instance's lease ends a background
// sync that found the mailbox held looks again.
const leaseSlack = 200 * time.Millisecond

// wait sleeps until until (on the syncer's clock) plus leaseSlack, or ctx
// ends; it reports whether it slept the whole time.
func (s *Syncer) wait(ctx context.Context, until time.Time) bool {
	t := time.NewTimer(until.Sub(s.now()) + leaseSlack)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sync is Sync; when another instance holds the mailbox's lease, it does
// nothing and returns when that lease ends.
func (s *Syncer) sync(ctx context.Context, address string) (heldUntil time.Time, err error) {
	// The lease keeps other instances out; this lock keeps this instance's
	// own callers (a push, the sweep, a link) from sharing one lease.
	s.mu.Lock()
	lock, ok := s.locks[address]
	if !ok {
		lock = &sync.Mutex{}
		s.locks[address] = lock
	}
	s.mu.Unlock()
	lock.Lock()
	defer lock.Unlock()
	lost := false
	for round := 0; round < maxRounds; round++ {
		m, err := s.store.UpdateMailbox(ctx, address, func(m *inbox.Mailbox) error {
			return m.Acquire(s.holder, s.now(), s.ttl)
		})
		if errors.Is(err, inbox.ErrLeaseHeld) {
			held, err := s.store.GetMailbox(ctx, address)
			if err != nil {
				return time.Time{}, fmt.Errorf("lease %s: %w", address, err)
			}
			if held.LeaseUntil.IsZero() {
				return s.now(), nil // released meanwhile: look again
			}
			return held.LeaseUntil, nil
		}
		if errors.Is(err, inbox.ErrNotFound) {
			return time.Time{}, fmt.Errorf("%w: %s", ErrUnknownMailbox, address)
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("lease %s: %w", address, err)
		}
		announced := m.NotifiedHistoryID
		beat, stopBeat := context.WithCancel(ctx)
		beating := s.keepLease(beat, address)
		current, syncErr := s.syncLeased(ctx, m)
		stopBeat()
		<-beating
		if errors.Is(syncErr, inbox.ErrLeaseLost) {
			// The sync outlived its lease: what it committed stays (a
			// sync is idempotent), the cursor did not move. That is no
			// failure of the mailbox, so nothing is recorded on it; take
			// the lease again (or leave the mailbox to whoever has it)
			// and read from the cursor once more.
			if lost {
				return time.Time{}, fmt.Errorf("sync %s: %w", address, syncErr)
			}
			lost = true
			s.log.Warn("sync outlived its lease, once more", "mailbox", address)
			continue
		}
		m, err = s.store.UpdateMailbox(context.WithoutCancel(ctx), address, func(m *inbox.Mailbox) error {
			m.Release(s.holder)
			if syncErr != nil && ctx.Err() != nil {
				// Cut short by the caller (a task out of time, a
				// shutdown): no failure of the mailbox, and no sync
				// either, so the next sweep still finds it quiet.
				return nil
			}
			m.LastSyncAt = s.now()
			if syncErr != nil {
				m.LastError, m.Problem = syncErr.Error(), inbox.ProblemOf(syncErr)
				m.ErrorCount++
				return nil
			}
			m.LastError, m.Problem = "", ""
			m.ErrorCount = 0
			if m.NotifiedHistoryID > current && m.NotifiedHistoryID == announced {
				// Gmail's current history id, read after this
				// announcement was recorded, is below it: the
				// announcement is past the end of the mailbox's
				// history (a bogus push). Believe Gmail, or every
				// later sync would chase it for maxRounds reads.
				s.log.Warn("announced history id beyond Gmail's, forgotten",
					"mailbox", m.Address, "announced", m.NotifiedHistoryID, "gmail", current)
				m.NotifiedHistoryID = current
			}
			return nil
		})
		if syncErr != nil {
			return time.Time{}, fmt.Errorf("sync %s: %w", address, syncErr)
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("release %s: %w", address, err)
		}
		if m.NotifiedHistoryID <= m.HistoryID {
			return time.Time{}, nil
		}
	}
	return time.Time{}, nil
}

// keepLease renews this instance's lease of a mailbox every third of its
// TTL until ctx ends, so that a sync longer than the TTL (a full resync
// of a large mailbox, a backlog read at Gmail's quota) keeps it: without
// renewal it lost the lease, could not move the cursor, and started over
// from the same cursor every time, never finishing. A lease that passed to
// another instance is not taken back. The channel closes when it stops.
func (s *Syncer) keepLease(ctx context.Context, address string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			_, err := s.store.UpdateMailbox(ctx, address, func(m *inbox.Mailbox) error {
				if m.LeaseHolder != s.holder {
					return fmt.Errorf("%w: %s", inbox.ErrLeaseLost, address)
				}
				m.LeaseUntil = s.now().Add(s.ttl)
				return nil
			})
			switch {
			case errors.Is(err, inbox.ErrLeaseLost):
				return
			case err != nil && ctx.Err() == nil:
				s.log.Warn("lease renewal failed", "mailbox", address, "error", err)
			}
		}
	}()
	return done
}

// syncLeased runs one sync of a mailbox whose lease s holds. It returns the
// mailbox's current history id as Gmail reported it during the sync
// (history.list or users.getProfile).
func (s *Syncer) syncLeased(ctx context.Context, m inbox.Mailbox) (uint64, error) {
	g, err := s.gmail.Mailbox(ctx, m.Address)
	if err != nil {
		return 0, fmt.Errorf("open gmail: %w", err)
	}
	w := &worker{s: s, g: g, mailbox: m}
	if err := w.load(ctx); err != nil {
		return 0, err
	}
	if m.HistoryID == 0 {
		return w.fullSync(ctx)
	}
	current, err := w.incremental(ctx)
	if errors.Is(err, ErrHistoryGone) {
		s.log.Warn("history expired, full resync", "mailbox", m.Address, "cursor", m.HistoryID)
		return w.fullSync(ctx)
	}
	return current, err
}
