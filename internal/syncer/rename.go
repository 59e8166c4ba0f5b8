package syncer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/postfach/postfach/internal/inbox"
)

// InboxChangedAsync renames the inbox's labels in the background (bounded
// by ctx, the process's lifetime); Wait waits for it. The settings screen
// uses it so that the card is answered before Gmail is.
func (s *Syncer) InboxChangedAsync(ctx context.Context, before, after inbox.Inbox) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.InboxChanged(ctx, before, after); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Warn("label rename failed", "inbox", after.ID, "error", err)
		}
	}()
}

// InboxChanged renames the Gmail labels of an inbox whose name, label
// prefix, label language or statuses changed from before to after, and
// deletes the labels of statuses it no longer has (users.labels.delete), in every mailbox
// of the tenant that remembers labels of it: each label is patched to its
// new full name (users.labels.patch), parents first, and keeps its id, so
// every thread keeps its label and nothing is relabelled. Mailbox.Labels
// then maps the new names to the same ids.
//
// It is idempotent: a label already renamed is no longer remembered under
// its old name and is skipped, so a retry, or a second instance doing the
// same, is harmless. A label the user deleted in Gmail is forgotten and
// created again when next needed. A new name already taken by another label
// (the user's, or one created meanwhile by a sync that saw the new
// settings first) is adopted: the mailbox remembers that label, and the
// old one keeps its old name, no longer Postfach's. Failures in one mailbox
// do not stop the others; the first is returned.
func (s *Syncer) InboxChanged(ctx context.Context, before, after inbox.Inbox) error {
	if before.TenantID != after.TenantID || before.ID != after.ID {
		return fmt.Errorf("inbox %s/%s cannot become %s/%s", before.TenantID, before.ID, after.TenantID, after.ID)
	}
	if slices.Equal(labelTree(before, inbox.MailboxMember), labelTree(after, inbox.MailboxMember)) {
		return nil
	}
	mbs, err := s.store.ListMailboxes(ctx, after.TenantID)
	if err != nil {
		return fmt.Errorf("mailboxes of %s: %w", after.TenantID, err)
	}
	var first error
	for _, mb := range mbs {
		if err := s.renameIn(ctx, mb, before, after); err != nil {
			s.log.Warn("label rename failed", "mailbox", mb.Address, "inbox", after.ID, "error", err)
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// labelRename is one label's new name in a mailbox, or its end: id is
// forgotten under old; under new, id is remembered (adopt names another
// label's id when the name was taken; "" when the label is gone).
type labelRename struct {
	old, new string
	id       string
	adopt    string
	gone     bool
}

// renames pairs the old and new names of an inbox's labels that a mailbox
// remembers, parents first: status labels by their status's id, the others
// by their place (keyedTree). The prefix label is shared by every inbox
// with that prefix: it is renamed only when no other label the mailbox
// remembers lies under it; otherwise the new prefix is created when next
// needed and the old one stays for the others.
func renames(mb inbox.Mailbox, before, after inbox.Inbox) []labelRename {
	oldKeys, olds := keyedTree(before, mb.Kind)
	newKeys, news := keyedTree(after, mb.Kind)
	var out []labelRename
	for i := range olds {
		j := slices.Index(newKeys, oldKeys[i])
		if j < 0 {
			continue // a removed status: deleted, not renamed
		}
		id, ok := mb.Labels[olds[i]]
		if !ok || olds[i] == news[j] {
			continue
		}
		if i == 0 && sharedPrefix(mb, olds) {
			continue
		}
		out = append(out, labelRename{old: olds[i], new: news[j], id: id})
	}
	return out
}

// sharedPrefix reports whether the mailbox remembers labels under the
// prefix tree[0] other than those of tree.
func sharedPrefix(mb inbox.Mailbox, tree []string) bool {
	for n := range mb.Labels {
		if strings.HasPrefix(n, tree[0]+"/") && !slices.Contains(tree, n) {
			return true
		}
	}
	return false
}

// renameIn renames an inbox's labels in one mailbox, and deletes those of
// its removed statuses.
func (s *Syncer) renameIn(ctx context.Context, mb inbox.Mailbox, before, after inbox.Inbox) error {
	rs := renames(mb, before, after)
	removed := slices.DeleteFunc(removedStatusLabels(before, after), func(n string) bool { _, ok := mb.Labels[n]; return !ok })
	if len(rs) == 0 && len(removed) == 0 {
		return nil // nothing of the inbox remembered here, or done already
	}
	g, err := s.gmail.Mailbox(ctx, mb.Address)
	if err != nil {
		return fmt.Errorf("open gmail of %s: %w", mb.Address, err)
	}
	var done []labelRename
	var failed error
	for _, r := range rs {
		err := g.RenameLabel(ctx, r.id, r.new)
		switch {
		case errors.Is(err, ErrLabelGone):
			r.gone = true
			s.log.Info("label deleted in gmail, forgotten", "mailbox", mb.Address, "label", r.old)
		case errors.Is(err, ErrLabelTaken):
			err = s.resolveTaken(ctx, g, mb.Address, &r)
		}
		if err != nil && !errors.Is(err, ErrLabelGone) {
			failed = fmt.Errorf("rename label %q of %s: %w", r.old, mb.Address, err)
			break // children after a failed parent would be renamed out of order
		}
		done = append(done, r)
	}
	if len(done) > 0 {
		if _, err := s.store.UpdateMailbox(ctx, mb.Address, func(m *inbox.Mailbox) error {
			if m.Labels == nil {
				m.Labels = map[string]string{}
			}
			for _, r := range done {
				if m.Labels[r.old] == r.id {
					delete(m.Labels, r.old)
				}
				switch {
				case r.adopt != "":
					m.Labels[r.new] = r.adopt
				case !r.gone:
					m.Labels[r.new] = r.id
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("remember renamed labels of %s: %w", mb.Address, err)
		}
	}
	s.log.Info("labels renamed", "mailbox", mb.Address, "inbox", after.ID, "renamed", len(done))
	if failed != nil {
		return failed
	}
	return s.deleteLabels(ctx, g, mb, removed)
}

// resolveTaken handles a new name that another label already has. An
// empty one (typically created by a sync that saw the new settings before
// this rename, which labels no thread with it) is deleted and the old
// label, which the threads carry, is renamed after all. One that messages
// carry (the user's own, or one a mirror used meanwhile) is adopted: the
// mailbox remembers it, and the old label keeps its old name and is no
// longer Postfach's; its threads get the adopted one with their next
// change.
func (s *Syncer) resolveTaken(ctx context.Context, g Gmail, address string, r *labelRename) error {
	ids, err := g.Labels(ctx, []string{r.new})
	if err != nil {
		return err
	}
	taken := ids[r.new]
	n, err := g.LabelMessages(ctx, taken)
	if err != nil && !errors.Is(err, ErrLabelGone) {
		return err
	}
	if n == 0 {
		if err := g.DeleteLabel(ctx, taken); err != nil {
			return err
		}
		err := g.RenameLabel(ctx, r.id, r.new)
		if errors.Is(err, ErrLabelGone) {
			r.gone = true
			return nil
		}
		if err == nil {
			s.log.Info("empty label of the new name replaced by the renamed one", "mailbox", address, "label", r.new)
		}
		return err
	}
	r.adopt = taken
	s.log.Warn("label name taken, adopted", "mailbox", address, "label", r.new, "left", r.old, "messages", n)
	return nil
}
