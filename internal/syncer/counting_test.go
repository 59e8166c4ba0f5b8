package syncer_test

import (
	"context"
	"sync/atomic"

	"github.com/postfach/postfach/internal/inbox"
)

// countingStore counts the store writes the syncer makes.
type countingStore struct {
	inbox.Store
	writes  atomic.Int64
	appends atomic.Int64 // AppendMessage calls
}

func (s *countingStore) CreateConversation(ctx context.Context, c inbox.Conversation, ids []string, ev inbox.Activity, more ...inbox.Activity) error {
	s.writes.Add(1)
	return s.Store.CreateConversation(ctx, c, ids, ev, more...)
}

func (s *countingStore) AppendMessage(ctx context.Context, c inbox.Conversation, ids []string, ev *inbox.Activity, more ...inbox.Activity) error {
	s.writes.Add(1)
	s.appends.Add(1)
	return s.Store.AppendMessage(ctx, c, ids, ev, more...)
}

func (s *countingStore) UpdateConversation(ctx context.Context, c inbox.Conversation, ev inbox.Activity) error {
	s.writes.Add(1)
	return s.Store.UpdateConversation(ctx, c, ev)
}

func (s *countingStore) PutThreadLink(ctx context.Context, l inbox.ThreadLink) error {
	s.writes.Add(1)
	return s.Store.PutThreadLink(ctx, l)
}

func (s *countingStore) UpdateMailbox(ctx context.Context, addr string, fn func(*inbox.Mailbox) error) (inbox.Mailbox, error) {
	s.writes.Add(1)
	return s.Store.UpdateMailbox(ctx, addr, fn)
}
