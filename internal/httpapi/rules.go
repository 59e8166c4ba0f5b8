package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// isRulesOp reports whether op is one of the rules editor's actions or
// the away toggle.
func isRulesOp(op string) bool {
	switch op {
	case cards.OpRules, cards.OpRuleEdit, cards.OpRuleSave, cards.OpRuleDelete, cards.OpRuleMove, cards.OpAssignSave, cards.OpAway:
		return true
	}
	return false
}

// rulesAction answers the rules editor's buttons and the away toggle.
// desk checks every id the card sends and who may use it.
func (s *Server) rulesAction(c echo.Context, op string) error {
	ctx := c.Request().Context()
	ev := addon.EventFrom(c)
	u := user(c)
	p := ev.Common.Param
	inboxID, id := p(cards.ParamInbox), p(cards.ParamRule)
	b := s.cardsFor(c)
	var w desk.Workflow
	var err error
	notice := ""
	switch op {
	case cards.OpAway:
		if _, err := s.desk.SetAway(ctx, u, inboxID, p(cards.ParamValue) == "on"); err != nil {
			return err
		}
		msg := s.t(c, "rules.notice.back")
		if p(cards.ParamValue) == "on" {
			msg = s.t(c, "rules.notice.away")
		}
		if conv := p(cards.ParamConv); conv != "" {
			// From the conversation card: it comes back.
			v, err := s.desk.Conversation(ctx, u, conv)
			if err != nil {
				return err
			}
			return update(c, b.Conversation(v), msg)
		}
		h, err := s.desk.Home(ctx, u)
		if err != nil {
			return err
		}
		return update(c, b.Home(h), msg)
	case cards.OpRules:
		if w, err = s.desk.Workflow(ctx, u, inboxID); err != nil {
			return err
		}
		return push(c, b.Rules(w))
	case cards.OpRuleEdit:
		if w, err = s.desk.Workflow(ctx, u, inboxID); err != nil {
			return err
		}
		if id == "" {
			return push(c, b.RuleEdit(w, nil))
		}
		i := slices.IndexFunc(w.Inbox.Settings.Workflow.Rules, func(r inbox.Rule) bool { return r.ID == id })
		if i < 0 {
			return badRequest(errors.New("no rule " + id))
		}
		return push(c, b.RuleEdit(w, &w.Inbox.Settings.Workflow.Rules[i]))
	case cards.OpRuleSave:
		w, err = s.desk.SaveRule(ctx, u, desk.RuleInput{InboxID: inboxID, ID: id, Rule: ruleOf(ev)})
		notice = "rules.notice.saved"
	case cards.OpRuleDelete:
		w, err = s.desk.DeleteRule(ctx, u, inboxID, id)
		notice = "rules.notice.deleted"
	case cards.OpRuleMove:
		delta := 1
		if p(cards.ParamValue) == "up" {
			delta = -1
		}
		w, err = s.desk.MoveRule(ctx, u, inboxID, id, delta)
	case cards.OpAssignSave:
		a, perr := assignmentOf(ev)
		if perr != nil {
			return reply(c, http.StatusOK, addon.Notify(s.userMessage(c, perr)))
		}
		w, err = s.desk.SaveAssignment(ctx, u, inboxID, a)
		notice = "rules.notice.assignment_saved"
	default:
		return badRequest(errors.New("unknown rules op " + op))
	}
	if errors.Is(err, inbox.ErrInvalid) {
		return reply(c, http.StatusOK, addon.Notify(s.userMessage(c, err)))
	}
	if err != nil {
		return err
	}
	msg := ""
	if notice != "" {
		msg = s.t(c, notice)
	}
	if op == cards.OpRuleSave || op == cards.OpRuleDelete && p(cards.ParamValue) == "edit" {
		// From the edit screen back to the list, updated.
		resp := addon.UpdateCard(b.Rules(w), msg)
		nav := &resp.RenderActions.Action.Navigations
		*nav = append([]addon.Navigation{{Pop: true}}, *nav...)
		return reply(c, http.StatusOK, resp)
	}
	return update(c, b.Rules(w), msg)
}

// ruleOf reads the rule edit screen's form: one condition per filled
// field, one action per chosen kind, in the editor's order.
func ruleOf(ev *addon.Event) inbox.Rule {
	form := ev.Common.FormValue
	r := inbox.Rule{Name: form(cards.InputRuleName)}
	for _, f := range []struct {
		field inbox.Field
		input string
	}{
		{inbox.FieldFrom, cards.InputRuleFrom},
		{inbox.FieldTo, cards.InputRuleTo},
		{inbox.FieldSubject, cards.InputRuleSubject},
		{inbox.FieldBody, cards.InputRuleBody},
	} {
		if v := strings.TrimSpace(form(f.input)); v != "" {
			if f.field == inbox.FieldFrom || f.field == inbox.FieldTo {
				v = strings.ToLower(v)
			}
			r.Conditions = append(r.Conditions, inbox.Condition{Field: f.field, Value: v})
		}
	}
	if slices.Contains(ev.Common.FormValues(cards.InputRuleAttachment), "yes") {
		r.Conditions = append(r.Conditions, inbox.Condition{Field: inbox.FieldAttachment})
	}
	if v := strings.TrimSpace(form(cards.InputRuleTag)); v != "" {
		r.Actions = append(r.Actions, inbox.Action{Kind: inbox.ActionTag, Value: v})
	}
	switch v := form(cards.InputRuleAssign); v {
	case "":
	case cards.RuleAssignAuto:
		r.Actions = append(r.Actions, inbox.Action{Kind: inbox.ActionAutoAssign})
	default:
		r.Actions = append(r.Actions, inbox.Action{Kind: inbox.ActionAssign, Value: inbox.NormalizeEmail(v)})
	}
	if v := form(cards.InputRuleStatus); v != "" {
		r.Actions = append(r.Actions, inbox.Action{Kind: inbox.ActionStatus, Value: v})
	}
	flags := ev.Common.FormValues(cards.InputRuleFlags)
	if slices.Contains(flags, "stop") {
		r.Actions = append(r.Actions, inbox.Action{Kind: inbox.ActionStop})
	}
	r.Disabled = slices.Contains(flags, "disabled")
	return r
}

// assignmentOf reads the assignment policy's form.
func assignmentOf(ev *addon.Event) (inbox.Assignment, error) {
	form := ev.Common.FormValue
	var a inbox.Assignment
	switch m := form(cards.InputAssignMode); m {
	case "", "off":
	default:
		a.Mode = inbox.AssignMode(m)
	}
	a.Agents = ev.Common.FormValues(cards.InputAssignAgents)
	num := func(input string) (int, error) {
		v := strings.TrimSpace(form(input))
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, inbox.Refusal("rules.refusal.number", "Value", v)
		}
		return n, nil
	}
	var err error
	if a.Capacity, err = num(cards.InputAssignCapacity); err != nil {
		return a, err
	}
	if a.ReassignAfterHours, err = num(cards.InputAssignReassign); err != nil {
		return a, err
	}
	a.RulesOnly = slices.Contains(ev.Common.FormValues(cards.InputAssignRulesOnly), "yes")
	return a, nil
}
