package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// Link starts syncing a mailbox: it records the link, starts the watch and
// runs the first (full) sync. Linking a linked mailbox renews its watch and
// syncs it.
func (s *Syncer) Link(ctx context.Context, m inbox.Mailbox) error {
	m.Address = inbox.NormalizeEmail(m.Address)
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
	}
	m.HistoryID, m.NotifiedHistoryID = 0, 0
	if err := s.store.CreateMailbox(ctx, m); err != nil && !errors.Is(err, inbox.ErrAlreadyExists) {
		return fmt.Errorf("link %s: %w", m.Address, err)
	}
	if err := s.Watch(ctx, m.Address); err != nil {
		return err
	}
	return s.Sync(ctx, m.Address)
}

// Unlink stops the watch of a mailbox and forgets it. A failing users.stop
// is logged, not fatal: the watch then lapses within 7 days, and pushes for
// an unknown mailbox are acknowledged and dropped.
func (s *Syncer) Unlink(ctx context.Context, address string) error {
	address = inbox.NormalizeEmail(address)
	if g, err := s.gmail.Mailbox(ctx, address); err == nil {
		if err := g.Stop(ctx); err != nil {
			s.log.Warn("users.stop failed", "mailbox", address, "error", err)
		}
	}
	if err := s.store.DeleteMailbox(ctx, address); err != nil {
		return fmt.Errorf("unlink %s: %w", address, err)
	}
	return nil
}

// Watch starts or renews a mailbox's watch and records its expiration.
func (s *Syncer) Watch(ctx context.Context, address string) error {
	if s.topic == "" {
		return errors.New("watch: no Pub/Sub topic configured")
	}
	g, err := s.gmail.Mailbox(ctx, address)
	if err != nil {
		s.watchFailed(ctx, address, err)
		return fmt.Errorf("watch %s: open gmail: %w", address, err)
	}
	historyID, exp, err := g.Watch(ctx, s.topic)
	if err != nil {
		s.watchFailed(ctx, address, err)
		return fmt.Errorf("watch %s: %w", address, err)
	}
	_, err = s.store.UpdateMailbox(ctx, address, func(m *inbox.Mailbox) error {
		m.WatchExpiration = exp
		if historyID > m.NotifiedHistoryID {
			m.NotifiedHistoryID = historyID
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("watch %s: record: %w", address, err)
	}
	return nil
}

// watchFailed records a failed watch on the mailbox for the admin, with
// its kind: the token source's (consent revoked…) or the Gmail client's
// (watch refused…).
func (s *Syncer) watchFailed(ctx context.Context, address string, err error) {
	_, _ = s.store.UpdateMailbox(ctx, address, func(m *inbox.Mailbox) error {
		m.LastError, m.Problem = "watch: "+err.Error(), inbox.ProblemOf(err)
		m.ErrorCount++
		return nil
	})
}

// RenewResult reports a renewal run.
type RenewResult struct {
	Renewed int
	Failed  map[string]error
}

// RenewWatches renews every watch that expires within `within` (Google
// recommends renewing daily; a watch lasts 7 days). One failing mailbox
// does not stop the others; the end of ctx does, and the watches left
// are renewed by the next run (a day before they expire).
func (s *Syncer) RenewWatches(ctx context.Context, within time.Duration) (RenewResult, error) {
	res := RenewResult{Failed: map[string]error{}}
	due, err := s.store.ListMailboxesWatchExpiringBefore(ctx, s.now().Add(within), 1000)
	if err != nil {
		return res, fmt.Errorf("list watches due: %w", err)
	}
	for _, m := range due {
		if ctx.Err() != nil {
			break // out of time: the rest still expire soon, the next run has them
		}
		if err := s.Watch(ctx, m.Address); err != nil {
			if ctx.Err() != nil {
				break
			}
			res.Failed[m.Address] = err
			continue
		}
		res.Renewed++
	}
	return res, nil
}

// Sweep syncs every mailbox not synced for `quiet`: Gmail may drop
// notifications, so a quiet mailbox is checked anyway. When ctx ends it
// stops and returns what it synced: the mailboxes left are still quiet
// for the next sweep (a sync cut short keeps what it committed).
func (s *Syncer) Sweep(ctx context.Context, quiet time.Duration) (int, error) {
	due, err := s.store.ListMailboxesSyncedBefore(ctx, s.now().Add(-quiet), 1000)
	if err != nil {
		return 0, fmt.Errorf("list quiet mailboxes: %w", err)
	}
	n := 0
	for _, m := range due {
		if ctx.Err() != nil {
			break
		}
		if err := s.Sync(ctx, m.Address); err != nil {
			if ctx.Err() != nil {
				break
			}
			s.log.Warn("sweep sync failed", "mailbox", m.Address, "error", err)
			continue
		}
		n++
	}
	return n, nil
}
