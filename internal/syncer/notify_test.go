package syncer

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/postfach/postfach/internal/inbox"
)

// gatedMailboxes is a store of one mailbox whose UpdateMailbox calls are
// counted and, while gate is set, wait for it to close.
type gatedMailboxes struct {
	inbox.Store
	mu      sync.Mutex
	m       inbox.Mailbox
	calls   int
	gate    chan struct{}
	entered chan struct{} // receives once per call that waits at the gate
}

func (g *gatedMailboxes) UpdateMailbox(ctx context.Context, address string, fn func(*inbox.Mailbox) error) (inbox.Mailbox, error) {
	g.mu.Lock()
	g.calls++
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		g.entered <- struct{}{}
		<-gate
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if address != g.m.Address {
		return inbox.Mailbox{}, fmt.Errorf("update mailbox %s: %w", address, inbox.ErrNotFound)
	}
	next := g.m
	if err := fn(&next); err != nil {
		return inbox.Mailbox{}, err
	}
	g.m = next
	return next, nil
}

// TestNotifyCoalesces: pushes of one mailbox that arrive while one is
// being recorded are recorded by one more write of the highest id, and
// every Notify returns only once a write covering its id has committed.
// Before, each push was a write of its own: 1 + waiting.
func TestNotifyCoalesces(t *testing.T) {
	t.Parallel()
	const addr, waiting = "bob@example.com", 20
	store := &gatedMailboxes{
		m:       inbox.Mailbox{Address: addr, TenantID: "example.com"},
		gate:    make(chan struct{}),
		entered: make(chan struct{}, 1),
	}
	s := New(Options{Store: store})
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, waiting+1)
	wg.Go(func() { errs <- s.Notify(ctx, addr, 100) })
	<-store.entered // the first write is in flight, held at the gate
	// One at a time, each after the previous has joined the next batch
	// (ids rise, so each join moves the batch's id to its own): a push
	// that arrived after both writes were done would rightly write again.
	for i := range waiting {
		id := uint64(101 + i)
		wg.Go(func() { errs <- s.Notify(ctx, addr, id) })
		for {
			s.mu.Lock()
			q := s.notes[addr]
			joined := q != nil && q.next != nil && q.next.id == id
			s.mu.Unlock()
			if joined {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			default:
				runtime.Gosched()
			}
		}
	}
	store.mu.Lock()
	gate := store.gate
	store.gate = nil // the next write goes through
	store.mu.Unlock()
	close(gate)
	wg.Wait()
	s.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Notify: %v", err)
		}
	}
	if store.calls != 2 {
		t.Errorf("%d pushes made %d UpdateMailbox calls, want 2 (the first, then the rest together)", waiting+1, store.calls)
	}
	if got := store.m.NotifiedHistoryID; got != 100+waiting {
		t.Errorf("NotifiedHistoryID = %d, want %d", got, 100+waiting)
	}
	s.mu.Lock()
	left := len(s.notes)
	s.mu.Unlock()
	if left != 0 {
		t.Errorf("%d notify queues left behind, want none", left)
	}

	// A mailbox that is not linked: every caller learns it.
	if err := s.Notify(ctx, "nobody@example.com", 7); !errors.Is(err, ErrUnknownMailbox) {
		t.Errorf("Notify(unlinked) = %v, want ErrUnknownMailbox", err)
	}
}
