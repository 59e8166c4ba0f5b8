package syncer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// labels returns the ids of the label trees of inboxes in a mailbox,
// creating missing labels and remembering their ids on the mailbox.
func (s *Syncer) labels(ctx context.Context, g Gmail, mb inbox.Mailbox, inboxes []inbox.Inbox) (map[string]string, error) {
	var names []string
	for _, ib := range inboxes {
		names = append(names, labelTree(ib, mb.Kind)...)
	}
	missing := slices.DeleteFunc(slices.Clone(names), func(n string) bool { _, ok := mb.Labels[n]; return ok })
	if len(missing) == 0 {
		return mb.Labels, nil
	}
	got, err := g.Labels(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("labels of %s: %w", mb.Address, err)
	}
	merged := maps.Clone(mb.Labels)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, got)
	if _, err := s.store.UpdateMailbox(ctx, mb.Address, func(m *inbox.Mailbox) error {
		if m.Labels == nil {
			m.Labels = map[string]string{}
		}
		maps.Copy(m.Labels, got)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("remember labels of %s: %w", mb.Address, err)
	}
	return merged, nil
}

// ConversationChangedAsync mirrors in the background (bounded by ctx, the
// process's lifetime); Wait waits for it. The sidebar uses it so that a card
// is answered before Gmail is.
func (s *Syncer) ConversationChangedAsync(ctx context.Context, c inbox.Conversation) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.ConversationChanged(ctx, c); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Warn("label mirror failed", "conversation", c.ID, "error", err)
		}
	}()
}

// ConversationChanged mirrors a conversation's state to the labels of its
// threads in every linked mailbox. The sidebar calls it after an action.
func (s *Syncer) ConversationChanged(ctx context.Context, c inbox.Conversation) error {
	ib, err := s.store.GetInbox(ctx, c.TenantID, c.InboxID)
	if errors.Is(err, inbox.ErrNotFound) {
		return nil // the inbox was deleted: its labels are no longer kept
	}
	if err != nil {
		return fmt.Errorf("get inbox %s: %w", c.InboxID, err)
	}
	return s.mirror(ctx, ib, c, "")
}

// maxMirrorRounds bounds how often one mirror writes a conversation's
// labels again because it kept changing while they were written.
const maxMirrorRounds = 5

// mirror applies c's state as labels to its threads: in every linked
// mailbox, or only in mailbox `only`. Failures in one mailbox do not stop
// the others; the first is returned.
//
// Gmail keeps whichever write lands last, and a mirror of an older state
// can land after a newer one's: held up by Gmail's backoff, or written from
// a snapshot (the sweep's, a sync's) read before a teammate's change. Left
// there, the older labels would be read back as a member's change once the
// echo window has passed. So after writing, mirror reads the conversation
// again and, when its labels moved on meanwhile, writes those: the last
// write then shows a state no older than the last read. (A newer change
// committed after that read is mirrored by its own writer, after it.)
func (s *Syncer) mirror(ctx context.Context, ib inbox.Inbox, c inbox.Conversation, only string) error {
	for round := 1; ; round++ {
		if err := s.mirrorOnce(ctx, ib, c, only); err != nil {
			return err
		}
		fresh, err := s.store.GetConversation(ctx, c.TenantID, c.ID)
		if errors.Is(err, inbox.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s again after labelling: %w", c.ID, err)
		}
		if fresh.SameLabels(c) {
			if only == "" {
				s.paid(ctx, ib, fresh)
			}
			return nil
		}
		if round == maxMirrorRounds {
			s.log.Warn("conversation kept changing while its labels were written; its last writer labels it",
				"conversation", c.ID, "rounds", round)
			return nil
		}
		s.log.Info("conversation changed while its labels were written, once more", "conversation", c.ID, "version", fresh.Version)
		c = fresh
	}
}

// paid tells the store that the labels fresh shows are written in every
// mailbox: the debt a change recorded (inbox.Flow.LabelsOwed) leaves its
// DueAt, so that the sweep writes only the labels of changes whose mirror
// was lost, not again those of every change. A conversation written since
// fresh was read keeps its DueAt (SetDue refuses another version), and
// with it a debt of its own.
func (s *Syncer) paid(ctx context.Context, ib inbox.Inbox, fresh inbox.Conversation) {
	if fresh.LabelsDue().IsZero() {
		return
	}
	rest := fresh
	rest.Flow.LabelsOwed = time.Time{}
	due := rest.NextDue(ib)
	if due.Equal(fresh.DueAt) {
		return
	}
	err := s.store.SetDue(ctx, fresh.TenantID, fresh.ID, fresh.Version, due)
	if err != nil && !errors.Is(err, inbox.ErrConflict) && !errors.Is(err, inbox.ErrNotFound) {
		// The sweep writes the labels once more: harmless.
		s.log.Warn("labels written, but their debt stays", "conversation", fresh.ID, "error", err)
	}
}

// mirrorOnce writes c's labels once (see mirror).
func (s *Syncer) mirrorOnce(ctx context.Context, ib inbox.Inbox, c inbox.Conversation, only string) error {
	links, err := s.store.ListThreadLinks(ctx, c.TenantID, c.ID)
	if err != nil {
		return fmt.Errorf("thread links of %s: %w", c.ID, err)
	}
	var first error
	for _, l := range links {
		if only != "" && l.Mailbox != only {
			continue
		}
		if err := s.mirrorLink(ctx, ib, c, l); err != nil {
			s.log.Warn("label mirror failed", "mailbox", l.Mailbox, "conversation", c.ID, "error", err)
			if first == nil {
				first = err
			}
		}
	}
	return first
}

func (s *Syncer) mirrorLink(ctx context.Context, ib inbox.Inbox, c inbox.Conversation, l inbox.ThreadLink) error {
	mb, err := s.store.GetMailbox(ctx, l.Mailbox)
	if errors.Is(err, inbox.ErrNotFound) {
		return nil // unlinked since
	}
	if err != nil {
		return fmt.Errorf("get mailbox: %w", err)
	}
	g, err := s.gmail.Mailbox(ctx, mb.Address)
	if err != nil {
		return fmt.Errorf("open gmail: %w", err)
	}
	ids, err := s.labels(ctx, g, mb, []inbox.Inbox{ib})
	if err != nil {
		return err
	}
	add, remove, err := desired(ib, c, mb, ids)
	if err != nil {
		return err
	}
	if err := g.ModifyThread(ctx, l.ThreadID, add, remove); err != nil {
		return fmt.Errorf("label thread %s: %w", l.ThreadID, err)
	}
	return nil
}

// change applies a user's change made in Gmail to a conversation, retrying
// on collisions, then mirrors the result.
func (s *Syncer) change(ctx context.Context, ib inbox.Inbox, c inbox.Conversation, actor string, fn func(*inbox.Conversation, inbox.Inbox, time.Time) (inbox.Activity, error)) error {
	for attempt := 0; ; attempt++ {
		next := c
		next.Tags = slices.Clone(c.Tags)
		now := s.now()
		ev, err := fn(&next, ib, now)
		if errors.Is(err, inbox.ErrUnchanged) {
			return nil
		}
		if errors.Is(err, inbox.ErrInvalid) {
			// E.g. Mine added by someone who is not (any more) a member.
			s.log.Info("label change ignored", "conversation", c.ID, "actor", actor, "error", err)
			return s.mirror(ctx, ib, c, "")
		}
		if err != nil {
			return err
		}
		next.OweLabels(c, now) // mirrored after the commit, which may be lost
		next.Reschedule(ib)    // a status change moves the SLA clocks and ends a snooze
		err = s.store.UpdateConversation(ctx, next, ev)
		if errors.Is(err, inbox.ErrConflict) && attempt < 5 {
			if c, err = s.store.GetConversation(ctx, c.TenantID, c.ID); err != nil {
				return fmt.Errorf("reload %s: %w", c.ID, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("update %s: %w", c.ID, err)
		}
		s.log.Info("change made in gmail", "conversation", c.ID, "actor", actor, "kind", ev.Kind, "to", ev.To)
		return s.mirror(ctx, ib, next, "")
	}
}
