package syncer

import (
	"fmt"
	"strings"

	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
)

// labelTree returns the Gmail label names of an inbox:
// <prefix>/<inbox name>/<one per status>|Snoozed (and /Mine in members'
// mailboxes), parents first so Gmail nests them. The leaves of the
// built-in statuses, Snoozed and Mine are in the inbox's language
// (InboxSettings.Language), shared by the whole team; a status the admins
// named is labelled with its name.
func labelTree(ib inbox.Inbox, kind inbox.MailboxKind) []string {
	names := []string{prefixOf(ib), labelRoot(ib)}
	for _, d := range ib.StatusDefs() {
		names = append(names, statusLabel(ib, d))
	}
	names = append(names, snoozedLabel(ib))
	if kind == inbox.MailboxMember {
		names = append(names, mineLabel(ib))
	}
	return names
}

// leaf words a label's last level in the inbox's language: a status, or
// Mine for st == "".
func leaf(ib inbox.Inbox, st inbox.Status) string {
	p := i18n.NewPrinter(i18n.Lang(ib.Settings.Language), nil) // "" and unknown: English
	switch st {
	case inbox.StatusOpen:
		return p.T("labels.open")
	case inbox.StatusPending:
		return p.T("labels.pending")
	case inbox.StatusClosed:
		return p.T("labels.closed")
	case "":
		return p.T("labels.mine")
	case snoozedLeaf:
		return p.T("labels.snoozed")
	}
	return string(st)
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

func mineLabel(ib inbox.Inbox) string { return labelRoot(ib) + "/" + leaf(ib, "") }

// statusLabel is the label of one of the inbox's statuses.
func statusLabel(ib inbox.Inbox, d inbox.StatusDef) string {
	if d.Builtin() {
		return labelRoot(ib) + "/" + leaf(ib, d.Category)
	}
	return labelRoot(ib) + "/" + d.Name
}
func snoozedLabel(ib inbox.Inbox) string { return labelRoot(ib) + "/" + leaf(ib, snoozedLeaf) }

// snoozedLeaf asks leaf for the Snoozed label, which a snoozed
// conversation's threads carry beside their status label.
const snoozedLeaf inbox.Status = "\x00snoozed"

// labelMeaning is what one of Postfach's label ids stands for in a mailbox.
type labelMeaning struct {
	inbox  inbox.Inbox
	status inbox.StatusDef // zero for Mine
	mine   bool
}

// desired computes the labels a conversation's thread carries in a mailbox:
// the label of its status, and Mine in the owner's own mailbox; every
// other label of the inbox's tree is removed.
func desired(ib inbox.Inbox, c inbox.Conversation, mb inbox.Mailbox, ids map[string]string) (add, remove []string, err error) {
	want := map[string]bool{statusLabel(ib, ib.StageOf(c)): true, snoozedLabel(ib): c.Snoozed()}
	if mb.Kind == inbox.MailboxMember && c.Assignee == mb.Address {
		want[mineLabel(ib)] = true
	}
	names := []string{}
	for _, d := range ib.StatusDefs() {
		names = append(names, statusLabel(ib, d))
	}
	names = append(names, snoozedLabel(ib))
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
