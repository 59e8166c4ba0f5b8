package desk_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// relabels records the conversations the sweep labels, failing while err
// is set.
type relabels struct {
	mu   sync.Mutex
	got  []inbox.Conversation
	err  error
	seen int
}

func (r *relabels) relabel(_ context.Context, c inbox.Conversation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen++
	if r.err != nil {
		return r.err
	}
	r.got = append(r.got, c)
	return nil
}

// TestSweepWritesLabelsAnActionLost: an action's Gmail labels are written
// after the card is answered (OnChange); found by `postfach chaos`, a
// crash in between left a teammate's mailbox without Mine for good. Now
// the action records that it owes its labels, and the sweep writes them
// once the grace has passed, again after a failure, and only once.
func TestSweepWritesLabelsAnActionLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	r := &relabels{}
	// OnChange does nothing: the process died before it ran.
	svc := desk.New(desk.Options{Store: f.store, Reader: f.mail, Now: f.clock.Now, Relabel: r.relabel,
		OnChange: func(context.Context, inbox.Conversation) {}})
	tagged := f.conversation(t, support, "tagged@customer.example", "Tagged", "x@customer.example")
	if _, err := svc.Act(ctx, bob, desk.Action{ConversationID: f.refund.ID, Version: 1, Op: desk.OpAssignMe}); err != nil {
		t.Fatal(err)
	}
	// A tag shows in no label: nothing is owed.
	if _, err := svc.Act(ctx, bob, desk.Action{ConversationID: tagged.ID, Version: 1, Op: desk.OpTag, Value: "vip"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SweepDue(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.got) != 0 {
		t.Fatalf("labels written within the grace, while OnChange may still be at it: %d", len(r.got))
	}

	f.clock.Add(time.Minute)
	r.err = errors.New("gmail down")
	if _, err := svc.SweepDue(ctx); err != nil {
		t.Fatal(err)
	}
	r.err = nil
	if _, err := svc.SweepDue(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.got) != 1 || r.got[0].ID != f.refund.ID || r.got[0].Assignee != bob.Email {
		t.Fatalf("labels written for %v, want the refund assigned to bob once (after one failure)", r.got)
	}
	f.clock.Add(time.Hour)
	if _, err := svc.SweepDue(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.got) != 1 {
		t.Errorf("labels written again after they were written: %d", len(r.got))
	}
	if c := f.stored(t, "example.com", f.refund.ID); !c.DueAt.IsZero() {
		t.Errorf("refund still due at %v", c.DueAt)
	}

	// A later write of the conversation supersedes the debt.
	c := f.stored(t, "example.com", f.refund.ID)
	if _, err := svc.Act(ctx, carol, desk.Action{ConversationID: c.ID, Version: c.Version, Op: desk.OpStatus, Value: "closed"}); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(r.got[1:], func(c inbox.Conversation) bool { return c.Status != inbox.StatusClosed }) {
		t.Errorf("stale state labelled: %v", r.got)
	}
}
