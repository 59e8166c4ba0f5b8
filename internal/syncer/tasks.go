package syncer

import "sync"

// tasks counts a Syncer's background work (syncs, mirrors, renames,
// recorded notifications). It is a sync.WaitGroup that may be added to
// while someone waits: a push that arrives during Wait starts a sync,
// which a WaitGroup forbids once its count has reached zero ("WaitGroup is
// reused before previous Wait has returned").
type tasks struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to zero
}

// Add counts one more task (delta 1) or one less (delta -1).
func (t *tasks) Add(delta int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 && delta > 0 {
		t.idle = make(chan struct{})
	}
	t.n += delta
	switch {
	case t.n < 0:
		panic("syncer: negative task count")
	case t.n == 0 && delta < 0:
		close(t.idle)
	}
}

// Done ends a task.
func (t *tasks) Done() { t.Add(-1) }

// Wait blocks until no task runs. Tasks started meanwhile are waited for
// when they start before the count has reached zero.
func (t *tasks) Wait() {
	t.mu.Lock()
	idle := t.idle
	n := t.n
	t.mu.Unlock()
	if n > 0 {
		<-idle
	}
}
