package syncer

import (
	"sync"
	"sync/atomic"
	"testing"
)

// waiter is what Syncer.Wait needs of its counter of background work.
type waiter interface {
	Add(int)
	Done()
	Wait()
}

// addDuringWait starts and ends background work while several callers
// wait, as pushes arrive while a test harness (or a shutdown) waits.
func addDuringWait(w waiter) {
	var stop atomic.Bool
	var adders, waiters sync.WaitGroup
	for range 2 {
		adders.Add(1)
		go func() {
			defer adders.Done()
			for !stop.Load() {
				w.Add(1)
				go w.Done()
			}
		}()
	}
	for range 4 {
		waiters.Add(1)
		go func() {
			defer waiters.Done()
			for range 300 {
				w.Wait()
			}
		}()
	}
	waiters.Wait()
	stop.Store(true)
	adders.Wait()
	w.Wait()
}

// TestTasksAddDuringWait: background work may start while Wait runs. A
// sync.WaitGroup in its place panics ("WaitGroup is reused before previous
// Wait has returned") or is reported by -race.
func TestTasksAddDuringWait(t *testing.T) {
	t.Parallel()
	var ts tasks
	addDuringWait(&ts)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.n != 0 {
		t.Fatalf("%d tasks counted after all ended", ts.n)
	}
}
