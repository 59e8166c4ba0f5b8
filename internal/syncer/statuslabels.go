package syncer

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/postfach/postfach/internal/inbox"
)

// keyedTree is labelTree with a key per label that survives renames: a
// status label is keyed by its status's id, every other label by its place
// among the labels that are not statuses (prefix, root, Mine, …). Renames
// pair an inbox's labels before and after a change by these keys, so that
// a status added, removed or renamed does not shift the others.
func keyedTree(ib inbox.Inbox, kind inbox.MailboxKind) (keys, names []string) {
	byName := map[string]string{}
	for _, d := range ib.StatusDefs() {
		byName[statusLabel(ib, d)] = "status:" + d.ID
	}
	names = labelTree(ib, kind)
	other := 0
	for _, n := range names {
		k, ok := byName[n]
		if !ok {
			k = "label:" + strconv.Itoa(other)
			other++
		}
		keys = append(keys, k)
	}
	return keys, names
}

// removedStatusLabels returns the labels of before's statuses that after
// no longer has, by name: each is deleted in every mailbox once its
// conversations moved on.
func removedStatusLabels(before, after inbox.Inbox) []string {
	var out []string
	keep := labelTree(after, inbox.MailboxMember)
	for _, d := range before.StatusDefs() {
		if _, ok := after.StatusDef(d.ID); ok {
			continue
		}
		if n := statusLabel(before, d); !slices.Contains(keep, n) {
			out = append(out, n)
		}
	}
	return out
}

// deleteLabels deletes the named labels a mailbox remembers
// (users.labels.delete, which takes them off every message) and forgets
// them. A label the user deleted already is no error.
func (s *Syncer) deleteLabels(ctx context.Context, g Gmail, mb inbox.Mailbox, names []string) error {
	var gone []string
	var failed error
	for _, n := range names {
		id, ok := mb.Labels[n]
		if !ok {
			continue
		}
		if err := g.DeleteLabel(ctx, id); err != nil {
			failed = fmt.Errorf("delete label %q of %s: %w", n, mb.Address, err)
			break
		}
		gone = append(gone, n)
	}
	if len(gone) == 0 {
		return failed
	}
	if _, err := s.store.UpdateMailbox(ctx, mb.Address, func(m *inbox.Mailbox) error {
		for _, n := range gone {
			if m.Labels[n] == mb.Labels[n] {
				delete(m.Labels, n)
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("forget deleted labels of %s: %w", mb.Address, err)
	}
	s.log.Info("labels of removed statuses deleted", "mailbox", mb.Address, "deleted", len(gone))
	return failed
}
