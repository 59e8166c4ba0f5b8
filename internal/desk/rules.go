package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/postfach/postfach/internal/inbox"
)

// Rules and auto-assignment (issue 13): the editor of an inbox's rules and
// assignment policy for its admins, members marking themselves away, and
// the auto-assignment decisions that follow a change (capacity freed, an
// agent back, a reassignment the sweep found due).

// Workflow is what the rules editor shows: the inbox (its rules and
// policy in Settings.Workflow) and whether the caller may edit it.
type Workflow struct {
	Inbox inbox.Inbox
	Me    inbox.Member
}

// inboxAdmin checks that the caller may edit an inbox's workflow: an admin
// of the inbox or of the tenant. Every editor action goes through it,
// whatever the card sent.
func (s *Service) inboxAdmin(ctx context.Context, u User, inboxID string) (inbox.Tenant, inbox.Inbox, inbox.Member, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return inbox.Tenant{}, inbox.Inbox{}, inbox.Member{}, err
	}
	ib, err := s.store.GetInbox(ctx, t.Domain, inboxID)
	if errors.Is(err, inbox.ErrNotFound) {
		s.refused(ctx, u, "unknown inbox", "inbox", inboxID)
		return inbox.Tenant{}, inbox.Inbox{}, inbox.Member{}, fmt.Errorf("%w: no inbox %q in %s", inbox.ErrForbidden, inboxID, t.Domain)
	}
	if err != nil {
		return inbox.Tenant{}, inbox.Inbox{}, inbox.Member{}, fmt.Errorf("get inbox %s: %w", inboxID, err)
	}
	me, member := ib.Member(u.Email)
	if !(member && me.Role == inbox.RoleAdmin) && !t.IsAdmin(u.Email) {
		s.refused(ctx, u, "not an inbox admin", "inbox", inboxID)
		return inbox.Tenant{}, inbox.Inbox{}, inbox.Member{}, fmt.Errorf("%w: %s may not edit the rules of inbox %s", inbox.ErrForbidden, u.Email, inboxID)
	}
	if !member {
		me = inbox.Member{Email: inbox.NormalizeEmail(u.Email), Role: inbox.RoleAdmin}
	}
	return t, ib, me, nil
}

// Workflow returns an inbox's rules and policy for its editor (inbox and
// tenant admins).
func (s *Service) Workflow(ctx context.Context, u User, inboxID string) (Workflow, error) {
	_, ib, me, err := s.inboxAdmin(ctx, u, inboxID)
	return Workflow{Inbox: ib, Me: me}, err
}

// RuleInput is a rule as the editor's form sends it; every field is
// untrusted. ID "" adds a new rule at the end.
type RuleInput struct {
	InboxID string
	ID      string
	Rule    inbox.Rule
}

// SaveRule adds or replaces a rule (inbox and tenant admins). A rule that
// does not validate, or assigns to someone who is not a member, is an
// error wrapping inbox.ErrInvalid with a refusal the editor words;
// nothing is written.
func (s *Service) SaveRule(ctx context.Context, u User, in RuleInput) (Workflow, error) {
	if _, _, _, err := s.inboxAdmin(ctx, u, in.InboxID); err != nil {
		return Workflow{}, err
	}
	r := in.Rule
	r.Name = strings.TrimSpace(r.Name)
	r.ID = in.ID
	if r.ID == "" {
		r.ID = inbox.NewID(s.now())
	}
	return s.updateWorkflow(ctx, u, in.InboxID, func(ib *inbox.Inbox) error {
		for _, a := range r.Actions {
			if _, ok := ib.Member(a.Value); a.Kind == inbox.ActionAssign && !ok {
				return inbox.Refusal("refusal.not_member", "Email", a.Value, "Inbox", ib.Name)
			}
		}
		rules := slices.Clone(ib.Settings.Workflow.Rules)
		if i := slices.IndexFunc(rules, func(x inbox.Rule) bool { return x.ID == r.ID }); i >= 0 {
			rules[i] = r
		} else if in.ID != "" {
			return fmt.Errorf("%w: no rule %q", inbox.ErrNotFound, in.ID)
		} else {
			rules = append(rules, r)
		}
		ib.Settings.Workflow.Rules = rules
		return nil
	})
}

// DeleteRule removes a rule (inbox and tenant admins); one already gone
// is no error.
func (s *Service) DeleteRule(ctx context.Context, u User, inboxID, id string) (Workflow, error) {
	if _, _, _, err := s.inboxAdmin(ctx, u, inboxID); err != nil {
		return Workflow{}, err
	}
	return s.updateWorkflow(ctx, u, inboxID, func(ib *inbox.Inbox) error {
		ib.Settings.Workflow.Rules = slices.DeleteFunc(slices.Clone(ib.Settings.Workflow.Rules), func(r inbox.Rule) bool { return r.ID == id })
		return nil
	})
}

// MoveRule moves a rule one place up (delta -1) or down (+1) in the
// evaluation order (inbox and tenant admins).
func (s *Service) MoveRule(ctx context.Context, u User, inboxID, id string, delta int) (Workflow, error) {
	if _, _, _, err := s.inboxAdmin(ctx, u, inboxID); err != nil {
		return Workflow{}, err
	}
	return s.updateWorkflow(ctx, u, inboxID, func(ib *inbox.Inbox) error {
		rules := slices.Clone(ib.Settings.Workflow.Rules)
		i := slices.IndexFunc(rules, func(r inbox.Rule) bool { return r.ID == id })
		j := i + delta
		if i < 0 || j < 0 || j >= len(rules) {
			return nil
		}
		rules[i], rules[j] = rules[j], rules[i]
		ib.Settings.Workflow.Rules = rules
		return nil
	})
}

// SaveAssignment sets an inbox's auto-assignment policy (inbox and tenant
// admins); who is away stays as the members set it. Conversations that
// waited are placed at once under the new policy.
func (s *Service) SaveAssignment(ctx context.Context, u User, inboxID string, a inbox.Assignment) (Workflow, error) {
	if _, _, _, err := s.inboxAdmin(ctx, u, inboxID); err != nil {
		return Workflow{}, err
	}
	w, err := s.updateWorkflow(ctx, u, inboxID, func(ib *inbox.Inbox) error {
		for _, e := range a.Agents {
			if _, ok := ib.Member(e); !ok {
				return inbox.Refusal("refusal.not_member", "Email", e, "Inbox", ib.Name)
			}
		}
		a.Away = ib.Settings.Workflow.Assignment.Away
		ib.Settings.Workflow.Assignment = a
		return nil
	})
	if err != nil {
		return Workflow{}, err
	}
	return w, s.Drain(ctx, w.Inbox)
}

func (s *Service) updateWorkflow(ctx context.Context, u User, inboxID string, fn func(*inbox.Inbox) error) (Workflow, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return Workflow{}, err
	}
	ib, err := s.store.UpdateInbox(ctx, t.Domain, inboxID, fn)
	if err != nil {
		return Workflow{}, fmt.Errorf("update workflow of %s: %w", inboxID, err)
	}
	me, ok := ib.Member(u.Email)
	if !ok {
		me = inbox.Member{Email: inbox.NormalizeEmail(u.Email), Role: inbox.RoleAdmin}
	}
	return Workflow{Inbox: ib, Me: me}, nil
}

// SetAway marks the caller away from an inbox's auto-assignment, or back
// (members only, each for themselves). The flag lives in the inbox and is
// written through Store.UpdateInbox, so toggles of several members and an
// admin's edits never lose each other. Coming back places waiting
// conversations at once.
func (s *Service) SetAway(ctx context.Context, u User, inboxID string, away bool) (inbox.Inbox, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return inbox.Inbox{}, err
	}
	if _, _, err := s.membership(ctx, t, u, inboxID); err != nil {
		return inbox.Inbox{}, err
	}
	ib, err := s.store.UpdateInbox(ctx, t.Domain, inboxID, func(ib *inbox.Inbox) error {
		ib.Settings.Workflow.Assignment.SetAway(u.Email, away)
		return nil
	})
	if err != nil {
		return inbox.Inbox{}, fmt.Errorf("set away in %s: %w", inboxID, err)
	}
	if !away {
		return ib, s.Drain(ctx, ib)
	}
	return ib, nil
}

// Drain places the conversations waiting for auto-assignment in ib, oldest
// first, as far as capacity allows: after an owner closed or gave back a
// conversation, came back from away, or the policy changed. Each one
// assigned is mirrored (Options.OnChange).
func (s *Service) Drain(ctx context.Context, ib inbox.Inbox) error {
	if ib.Settings.Workflow.Assignment.Mode == inbox.AssignOff {
		return nil
	}
	now := s.now()
	r, err := s.store.AutoAssign(ctx, ib.TenantID, ib.ID, nil, func(r *inbox.AssignRound) error {
		r.Inbox.Settings.Workflow.Assignment.Decide(r, nil, now)
		return nil
	})
	if err != nil {
		return fmt.Errorf("place waiting conversations of %s: %w", ib.ID, err)
	}
	s.changed(ctx, r)
	return nil
}

// changed mirrors the conversations a round assigned.
func (s *Service) changed(ctx context.Context, r inbox.AssignRound) {
	for _, ch := range r.Changes {
		if len(ch.Events) > 0 && s.onChange != nil {
			s.onChange(ctx, ch.Conversation)
		}
	}
}

// afterAct follows a member's change of a conversation: one that freed
// capacity (a status or owner change) lets waiting conversations in.
func (s *Service) afterAct(ctx context.Context, ib inbox.Inbox, ev inbox.Activity) {
	switch ev.Kind {
	case inbox.ActStatus, inbox.ActUnassigned, inbox.ActAssigned:
	default:
		return
	}
	if err := s.Drain(ctx, ib); err != nil {
		// The change itself is saved; the next decision places them.
		s.log.WarnContext(ctx, "auto-assignment after a change failed", "inbox", ib.ID, "error", err)
	}
}

// Reassign is what the scheduled sweep calls for a conversation it found
// due (Store.ListDue): when its inbox.Conversation.ReassignDue has passed,
// it goes to the next agent in the policy's order other than its owner,
// in one Store.AutoAssign decision (Via inbox.ViaReassign). It reports
// whether it reassigned. A conversation not due for reassignment (a
// reply came, it was closed, the policy changed) is left alone.
func (s *Service) Reassign(ctx context.Context, c inbox.Conversation) (bool, error) {
	ib, err := s.store.GetInbox(ctx, c.TenantID, c.InboxID)
	if errors.Is(err, inbox.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get inbox %s: %w", c.InboxID, err)
	}
	if due := c.ReassignDue(ib); due.IsZero() || due.After(s.now()) {
		return false, nil
	}
	now := s.now()
	done := false
	r, err := s.store.AutoAssign(ctx, c.TenantID, c.InboxID, []string{c.ID}, func(r *inbox.AssignRound) error {
		done = r.Inbox.Settings.Workflow.Assignment.Reassign(r, c.ID, now)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("reassign %s: %w", c.ID, err)
	}
	s.changed(ctx, r)
	return done, nil
}
