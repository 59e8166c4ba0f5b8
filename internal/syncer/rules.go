package syncer

import (
	"context"
	"fmt"
	"slices"

	"github.com/postfach/postfach/internal/inbox"
)

// rules applies ib's rules to a customer's mail that creates c (created)
// or was appended to it, in memory: their entries go into the same store
// write as the mail, so a replay, which that write refuses, never applies
// them twice. bumped reports whether the mail itself changed c's version
// (see inbox.Inbox.ApplyRules). The team's mail and mail that only claims
// to be the team's run no rules.
func (w *worker) rules(ctx context.Context, ib inbox.Inbox, c *inbox.Conversation, mail inbox.Mail, created, bumped bool) ([]inbox.Activity, error) {
	if mail.Outbound(ib) || mail.Unproven(ib) {
		return nil, nil
	}
	wf := ib.Settings.Workflow
	if len(wf.Rules) == 0 && (!created || wf.Assignment.Mode == inbox.AssignOff) {
		return nil, nil
	}
	var content inbox.Content
	if wf.NeedsContent() {
		if !created {
			// A replay needs no content: its write will be refused.
			replay, err := w.recorded(ctx, ib, mail)
			if err != nil || replay {
				return nil, err
			}
		}
		var err error
		if content, err = w.content(ctx); err != nil {
			return nil, err
		}
	}
	out := ib.ApplyRules(c, mail, content, created, bumped, w.s.now())
	if created {
		wf.Assignment.HandOver(c, out)
	}
	return out.Events, nil
}

// recorded reports whether the mail's own Message-ID is recorded in ib.
func (w *worker) recorded(ctx context.Context, ib inbox.Inbox, mail inbox.Mail) (bool, error) {
	convs, err := w.s.store.FindConversationsByMessageID(ctx, ib.TenantID, mail.Thread.MessageID)
	if err != nil {
		return false, fmt.Errorf("find %s: %w", mail.Thread.MessageID, err)
	}
	return slices.ContainsFunc(convs, func(c inbox.Conversation) bool { return c.InboxID == ib.ID }), nil
}

// content reads the body of the message being ingested, once for all the
// inboxes it belongs to.
func (w *worker) content(ctx context.Context) (inbox.Content, error) {
	if w.fetched != nil && w.fetched.id == w.current {
		return w.fetched.content, nil
	}
	c, err := w.g.Content(ctx, w.current)
	if err != nil {
		return inbox.Content{}, fmt.Errorf("content of %s: %w", w.current, err)
	}
	w.fetched = &fetchedContent{id: w.current, content: c}
	return c, nil
}

// fetchedContent is the content of the last message read.
type fetchedContent struct {
	id      string
	content inbox.Content
}

// autoAssign runs an auto-assignment decision for c when it waits for one
// (inbox.Flow.AutoVia), placing the conversations waiting before it first.
// It returns c as the decision left it. Every other conversation the
// decision assigned is mirrored to Gmail at once; c is labelled by the
// caller.
func (s *Syncer) autoAssign(ctx context.Context, ib inbox.Inbox, c inbox.Conversation) (inbox.Conversation, error) {
	if c.Flow.AutoVia == "" || c.Assignee != "" || ib.Settings.Workflow.Assignment.Mode == inbox.AssignOff {
		return c, nil
	}
	now := s.now()
	r, err := s.store.AutoAssign(ctx, ib.TenantID, ib.ID, []string{c.ID}, func(r *inbox.AssignRound) error {
		r.Inbox.Settings.Workflow.Assignment.Decide(r, []string{c.ID}, now)
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("auto-assign %s: %w", c.ID, err)
	}
	for _, ch := range r.Changes {
		if ch.Conversation.ID == c.ID {
			c = ch.Conversation
			s.log.Info("auto-assigned", "conversation", c.ID, "to", c.Assignee, "via", c.Flow.AutoVia)
			continue
		}
		if err := s.mirror(ctx, r.Inbox, ch.Conversation, ""); err != nil {
			return c, err
		}
	}
	return c, nil
}
