package desk_test

import (
	"context"
	"errors"
	"testing"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// contendedPresence is a store whose presence record is held by many
// writers at once (50 members opening one conversation): a write waits
// until its context ends. It says whether the write came with a deadline.
type contendedPresence struct {
	inbox.Store
	unbounded bool
}

func (s *contendedPresence) UpdatePresence(ctx context.Context, tenantID, conversationID string, fn func(*inbox.Presence) error) (inbox.Presence, error) {
	if _, ok := ctx.Deadline(); !ok {
		s.unbounded = true // it would wait as long as the contention lasts
		return inbox.Presence{}, errors.New("presence write without a deadline")
	}
	<-ctx.Done()
	return inbox.Presence{}, ctx.Err()
}

// TestPresenceWriteIsBounded: the viewer entry a card open writes is a
// hint, so it gets a short deadline of its own: when the presence record
// is contended, the card is shown (with the presence as read) instead of
// waiting out the contention, which under 50 viewers on Firestore took
// longer than Google waits for a card.
func TestPresenceWriteIsBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	// Carol viewed it before: the record holds her entry.
	if _, err := f.store.UpdatePresence(ctx, "example.com", f.refund.ID, func(p *inbox.Presence) error {
		p.See(carol.Email, f.clock.Now())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s := &contendedPresence{Store: f.store}
	svc := desk.New(desk.Options{Store: s, Reader: f.mail, Now: f.clock.Now})
	v, err := svc.Conversation(ctx, bob, f.refund.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.unbounded {
		t.Error("the presence write had no deadline of its own")
	}
	if len(v.Presence.Viewers) != 1 || v.Presence.Viewers[0].Email != carol.Email {
		t.Errorf("presence on the card = %+v, want carol's entry as read", v.Presence.Viewers)
	}
}
