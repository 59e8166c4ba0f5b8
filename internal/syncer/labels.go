package syncer

import (
	"fmt"
	"strings"

	"github.com/postfach/postfach/internal/inbox"
)

// labelMine is the leaf of the label that marks, in a member's own mailbox,
// the conversations the member owns.
const labelMine = "Mine"

// labelTree returns the Gmail label names of an inbox:
// <prefix>/<inbox name>/Open|Pending|Closed (and /Mine in members'
// mailboxes), parents first so Gmail nests them.
func labelTree(ib inbox.Inbox, kind inbox.MailboxKind) []string {
	root := labelRoot(ib)
	names := []string{prefixOf(ib), root}
	for _, st := range inbox.Statuses {
		names = append(names, root+"/"+st.Label())
	}
	if kind == inbox.MailboxMember {
		names = append(names, root+"/"+labelMine)
	}
	return names
}

func prefixOf(ib inbox.Inbox) string {
	if ib.Settings.LabelPrefix != "" {
		return ib.Settings.LabelPrefix
	}
	return inbox.DefaultInboxSettings().LabelPrefix
}

// labelRoot is <prefix>/<inbox name>, with slashes in the name replaced so
// that they do not nest.
func labelRoot(ib inbox.Inbox) string {
	return prefixOf(ib) + "/" + strings.ReplaceAll(strings.TrimSpace(ib.Name), "/", "-")
}

func statusLabel(ib inbox.Inbox, st inbox.Status) string { return labelRoot(ib) + "/" + st.Label() }
func mineLabel(ib inbox.Inbox) string                    { return labelRoot(ib) + "/" + labelMine }

// labelMeaning is what one of Postfach's label ids stands for in a mailbox.
type labelMeaning struct {
	inbox  inbox.Inbox
	status inbox.Status // "" for Mine
	mine   bool
}

// desired computes the labels a conversation's thread carries in a mailbox:
// its status label, and Mine in the owner's own mailbox; every other label
// of the inbox's tree is removed.
func desired(ib inbox.Inbox, c inbox.Conversation, mb inbox.Mailbox, ids map[string]string) (add, remove []string, err error) {
	want := map[string]bool{statusLabel(ib, c.Status): true}
	if mb.Kind == inbox.MailboxMember && c.Assignee == mb.Address {
		want[mineLabel(ib)] = true
	}
	names := []string{}
	for _, st := range inbox.Statuses {
		names = append(names, statusLabel(ib, st))
	}
	if mb.Kind == inbox.MailboxMember {
		names = append(names, mineLabel(ib))
	}
	for _, n := range names {
		id, ok := ids[n]
		if !ok {
			return nil, nil, fmt.Errorf("label %q has no id in %s", n, mb.Address)
		}
		if want[n] {
			add = append(add, id)
		} else {
			remove = append(remove, id)
		}
	}
	return add, remove, nil
}
