package desk

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
)

// StatusOp names an action of an inbox's statuses screen.
type StatusOp string

// Status actions (tenant admins only).
const (
	StatusAdd    StatusOp = "admin-status-add"    // InboxID, Name, Category
	StatusRename StatusOp = "admin-status-rename" // InboxID, StatusID, Name
	// StatusRemove removes StatusID and moves its conversations to Target.
	StatusRemove StatusOp = "admin-status-remove"
)

// ParseStatusOp validates a status action name from a card parameter.
func ParseStatusOp(s string) (StatusOp, bool) {
	switch op := StatusOp(s); op {
	case StatusAdd, StatusRename, StatusRemove:
		return op, true
	}
	return "", false
}

// StatusAction is one click on the statuses screen; every field is
// untrusted.
type StatusAction struct {
	Op       StatusOp
	InboxID  string
	StatusID string
	Name     string
	Category string // open | pending | closed
	Target   string // StatusRemove: the status its conversations move to
}

// StatusResult is the inbox after a status action, for its statuses
// screen, and what to tell the admin.
type StatusResult struct {
	Inbox  inbox.Inbox
	Notice Message
	// Moved counts the conversations a removal moved.
	Moved int
}

// ChangeStatuses adds, renames or removes one of an inbox's statuses.
// Non-admins of the tenant get ErrForbidden; bad input ErrInvalid with a
// message for the admin; nothing is written then.
//
// The first change of an inbox's statuses turns the built-in three into
// its own list, keeping their ids and their wording by category, so no
// conversation or label changes. A rename or removal reaches Gmail
// through OnInboxChange (labels renamed keeping their ids, the removed
// status's label deleted). A removal then moves every conversation in the
// removed status to Target, each write version-checked and logged like a
// member's change, and mirrored through OnChange.
func (s *Service) ChangeStatuses(ctx context.Context, u User, a StatusAction) (StatusResult, error) {
	t, err := s.admin(ctx, u)
	if err != nil {
		return StatusResult{}, err
	}
	var before inbox.Inbox
	var notice Message
	var removed inbox.StatusDef
	ib, err := s.store.UpdateInbox(ctx, t.Domain, a.InboxID, func(ib *inbox.Inbox) error {
		before = *ib
		defs := slices.Clone(ib.Settings.Workflow.Statuses)
		if len(defs) == 0 {
			defs = inbox.BuiltinStatuses()
		}
		i := slices.IndexFunc(defs, func(d inbox.StatusDef) bool { return d.ID == a.StatusID })
		switch a.Op {
		case StatusAdd:
			name, err := inbox.NormalizeStatusName(a.Name)
			if err != nil {
				return err
			}
			cat, err := inbox.ParseStatus(a.Category)
			if err != nil {
				return err
			}
			id := inbox.StatusSlug(name, func(id string) bool {
				return slices.ContainsFunc(defs, func(d inbox.StatusDef) bool { return d.ID == id })
			})
			defs = append(defs, inbox.StatusDef{ID: id, Name: name, Category: cat})
			notice = Msg("statuses.notice.added", "Name", name)
		case StatusRename:
			if i < 0 {
				return inbox.Refusal("statuses.refusal.unknown")
			}
			name, err := inbox.NormalizeStatusName(a.Name)
			if err != nil {
				return err
			}
			defs[i].Name = name
			notice = Msg("statuses.notice.renamed", "Name", name)
		case StatusRemove:
			if i < 0 {
				return inbox.Refusal("statuses.refusal.unknown")
			}
			if _, ok := ib.StatusDef(a.Target); !ok || a.Target == a.StatusID {
				return inbox.Refusal("statuses.refusal.target")
			}
			removed = defs[i]
			defs = slices.Delete(defs, i, i+1)
		default:
			return inbox.Invalid("unknown status action %q", a.Op)
		}
		if err := checkLabelNames(*ib, defs); err != nil {
			return err
		}
		ib.Settings.Workflow.Statuses = defs
		return nil
	})
	if errors.Is(err, inbox.ErrNotFound) {
		return StatusResult{}, inbox.Invalid("no inbox %q", a.InboxID)
	}
	if err != nil {
		return StatusResult{}, err
	}
	if s.onInbox != nil {
		s.onInbox(ctx, before, ib)
	}
	res := StatusResult{Inbox: ib, Notice: notice}
	if a.Op == StatusRemove {
		if res.Moved, err = s.moveStage(ctx, before, ib, u, removed, a.Target); err != nil {
			return StatusResult{}, err
		}
		res.Notice = Msg("statuses.notice.removed", "Count", res.Moved)
	}
	s.log.InfoContext(ctx, "status action", "op", a.Op, "admin", u.Email, "tenant", t.Domain, "inbox", ib.ID, "status", a.StatusID, "moved", res.Moved)
	return res, nil
}

// checkLabelNames refuses a status name that would give two of the
// inbox's Gmail labels one name: a named status that reads like a
// built-in status or Mine in the inbox's label language. (The domain
// checks named statuses against each other.)
func checkLabelNames(ib inbox.Inbox, defs []inbox.StatusDef) error {
	p := i18n.NewPrinter(i18n.Lang(ib.Settings.Language), nil)
	words := []string{strings.ToLower(p.T("labels.mine")), strings.ToLower(p.T("labels.snoozed"))}
	for _, d := range defs {
		if d.Builtin() {
			words = append(words, strings.ToLower(p.T("labels."+string(d.Category))))
		}
	}
	for _, d := range defs {
		if !d.Builtin() && slices.Contains(words, strings.ToLower(d.Name)) {
			return inbox.Refusal("statuses.refusal.name_taken", "Name", d.Name)
		}
	}
	return nil
}

// moveStage moves the conversations of before that are in status from to
// the status target of after, and returns how many it moved. A
// conversation changed meanwhile is reloaded and moved if it is still in
// from.
func (s *Service) moveStage(ctx context.Context, before, after inbox.Inbox, u User, from inbox.StatusDef, target string) (int, error) {
	return s.changeEach(ctx, bulkChange{
		query:  inbox.ConversationQuery{TenantID: after.TenantID, InboxID: after.ID, Statuses: []inbox.Status{from.Category}, Limit: 100},
		verb:   "move",
		writes: 6,
		strict: true,
		change: func(c *inbox.Conversation) (inbox.Activity, error) {
			if before.StageOf(*c).ID != from.ID {
				return inbox.Activity{}, inbox.ErrUnchanged
			}
			return c.LeaveStatus(after, from, u.Email, target, s.now())
		},
	})
}
