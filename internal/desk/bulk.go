package desk

import (
	"context"
	"errors"
	"fmt"

	"github.com/postfach/postfach/internal/inbox"
)

// bulkChange is one change an admin's action makes to many conversations
// (a removed status's conversations moved, a removed member's
// conversations unassigned).
type bulkChange struct {
	// query selects the conversations, page by page.
	query inbox.ConversationQuery
	// verb names the change in errors ("move", "unassign").
	verb string
	// change changes one conversation, read from the store, and returns
	// its activity entry; inbox.ErrUnchanged leaves the conversation as it
	// is (it no longer needs the change). Other errors end the run.
	change func(*inbox.Conversation) (inbox.Activity, error)
	// writes bounds the version-checked writes tried per conversation.
	writes int
	// strict makes a conversation still contended after writes attempts
	// an error (wrapping inbox.ErrConflict); otherwise it is left as it is.
	strict bool
}

// changeEach applies b to every conversation its query selects and returns
// how many it wrote. Each write is checked against the version read: a
// conversation written meanwhile is reloaded and b.change runs again on
// the fresh copy, so a concurrent change is never overwritten. Every
// conversation written is mirrored through OnChange.
func (s *Service) changeEach(ctx context.Context, b bulkChange) (int, error) {
	q := b.query
	n := 0
	for {
		page, err := s.store.ListConversations(ctx, q)
		if err != nil {
			return n, fmt.Errorf("list conversations of %s: %w", q.InboxID, err)
		}
		for _, c := range page.Conversations {
			wrote, err := s.changeOne(ctx, b, c)
			if err != nil {
				return n, err
			}
			if wrote {
				n++
			}
		}
		if page.NextCursor == "" {
			return n, nil
		}
		q.Cursor = page.NextCursor
	}
}

// changeOne applies b to c, reloading it after each lost race.
func (s *Service) changeOne(ctx context.Context, b bulkChange, c inbox.Conversation) (bool, error) {
	for attempt := 1; ; attempt++ {
		ev, err := b.change(&c)
		if errors.Is(err, inbox.ErrUnchanged) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		err = s.store.UpdateConversation(ctx, c, ev)
		if errors.Is(err, inbox.ErrConflict) && attempt < b.writes {
			id := c.ID
			if c, err = s.store.GetConversation(ctx, c.TenantID, id); err != nil {
				return false, fmt.Errorf("reload %s: %w", id, err)
			}
			continue
		}
		if errors.Is(err, inbox.ErrConflict) && !b.strict {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%s %s: %w", b.verb, c.ID, err)
		}
		if s.onChange != nil {
			s.onChange(ctx, c)
		}
		return true, nil
	}
}
