package cards

import (
	"strconv"
	"strings"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// Card names of the rules editor.
const (
	NameRules    = "rules"
	NameRuleEdit = "rule-edit"
)

// ParamRule names a rule (with ParamInbox, its inbox).
const ParamRule = "rule"

// Rules and auto-assignment ops.
const (
	OpRules      = "rules"       // push an inbox's rules and assignment policy (inbox)
	OpRuleEdit   = "rule-edit"   // push a rule's edit screen (inbox, rule; none = a new one)
	OpRuleSave   = "rule-save"   // save the edit screen (inbox, rule)
	OpRuleDelete = "rule-delete" // delete a rule (inbox, rule)
	OpRuleMove   = "rule-move"   // move a rule (inbox, rule, value = up | down)
	OpAssignSave = "assign-save" // save the assignment policy (inbox)
	OpAway       = "away"        // mark the caller away or back (inbox, value = on | off)
)

// Form inputs of the rules editor.
const (
	InputRuleName        = "rule_name"
	InputRuleFrom        = "rule_from"
	InputRuleTo          = "rule_to"
	InputRuleSubject     = "rule_subject"
	InputRuleBody        = "rule_body"
	InputRuleAttachment  = "rule_attachment"
	InputRuleTag         = "rule_tag"
	InputRuleAssign      = "rule_assign"
	InputRuleStatus      = "rule_status"
	InputRuleFlags       = "rule_flags" // "stop", "disabled"
	InputAssignMode      = "assign_mode"
	InputAssignAgents    = "assign_agents"
	InputAssignCapacity  = "assign_capacity"
	InputAssignReassign  = "assign_reassign"
	InputAssignRulesOnly = "assign_rules_only"
)

// RuleAssignAuto is the InputRuleAssign value of "auto-assignment".
const RuleAssignAuto = "auto"

// Rules is an inbox's rules editor: the rules in evaluation order, each
// with its summary and buttons to edit, move and delete it; then the
// auto-assignment policy.
func (b Builder) Rules(w desk.Workflow) *cardpb.Card {
	ib := w.Inbox
	in := func(op string, extra ...string) *cardpb.OnClick {
		return b.action(append([]string{ParamOp, op, ParamInbox, ib.ID}, extra...)...)
	}
	card := &cardpb.Card{
		Name:   NameRules,
		Header: &cardpb.Card_CardHeader{Title: b.t("rules.title"), Subtitle: clip(ib.Name, 80)},
	}
	var ws []*cardpb.Widget
	rules := ib.Settings.Workflow.Rules
	for i, r := range rules {
		top := strconv.Itoa(i+1) + ". " + r.Name
		if r.Disabled {
			top += " · " + b.t("rules.disabled")
		}
		ws = append(ws, decorated(esc(clip(top, 80)), esc(clip(b.ruleSummary(ib, r), 300)), "", in(OpRuleEdit, ParamRule, r.ID)))
		var bs []*cardpb.Button
		if i > 0 {
			bs = append(bs, button(b.t("rules.button.up"), in(OpRuleMove, ParamRule, r.ID, ParamValue, "up")))
		}
		if i < len(rules)-1 {
			bs = append(bs, button(b.t("rules.button.down"), in(OpRuleMove, ParamRule, r.ID, ParamValue, "down")))
		}
		bs = append(bs, button(b.t("rules.button.delete"), in(OpRuleDelete, ParamRule, r.ID)))
		ws = append(ws, buttons(bs...))
	}
	if len(rules) == 0 {
		ws = append(ws, text("<i>"+esc(b.t("rules.none"))+"</i>"))
	}
	ws = append(ws, buttons(button(b.t("rules.button.new"), in(OpRuleEdit))))
	card.Sections = append(card.Sections, section(esc(b.t("rules.order_hint")), ws...))
	card.Sections = append(card.Sections, b.assignmentSection(ib, in))
	return card
}

// ruleSummary words a rule in one line: "If from vip.example: tag vip,
// assign Alice".
func (b Builder) ruleSummary(ib inbox.Inbox, r inbox.Rule) string {
	var conds, acts []string
	for _, c := range r.Conditions {
		switch c.Field {
		case inbox.FieldFrom:
			conds = append(conds, b.t("rules.cond.from", "Value", c.Value))
		case inbox.FieldTo:
			conds = append(conds, b.t("rules.cond.to", "Value", c.Value))
		case inbox.FieldSubject:
			conds = append(conds, b.t("rules.cond.subject", "Value", c.Value))
		case inbox.FieldBody:
			conds = append(conds, b.t("rules.cond.body", "Value", c.Value))
		case inbox.FieldAttachment:
			conds = append(conds, b.t("rules.cond.attachment"))
		}
	}
	for _, a := range r.Actions {
		switch a.Kind {
		case inbox.ActionTag:
			acts = append(acts, b.t("rules.act.tag", "Tag", a.Value))
		case inbox.ActionAssign:
			acts = append(acts, b.t("rules.act.assign", "Assignee", ib.DisplayName(a.Value)))
		case inbox.ActionAutoAssign:
			acts = append(acts, b.t("rules.act.auto"))
		case inbox.ActionStatus:
			acts = append(acts, b.t("rules.act.status", "Status", b.status(inbox.Status(a.Value))))
		case inbox.ActionStop:
			acts = append(acts, b.t("rules.act.stop"))
		}
	}
	if len(conds) == 0 {
		return b.t("rules.summary_always", "Actions", strings.Join(acts, ", "))
	}
	return b.t("rules.summary", "Conditions", strings.Join(conds, b.t("rules.and")), "Actions", strings.Join(acts, ", "))
}

// assignmentSection is the form of the auto-assignment policy.
func (b Builder) assignmentSection(ib inbox.Inbox, in func(string, ...string) *cardpb.OnClick) *cardpb.Card_Section {
	a := ib.Settings.Workflow.Assignment
	var agents []*cardpb.SelectionInput_SelectionItem
	for _, m := range ib.Members {
		label := m.DisplayName()
		if a.IsAway(m.Email) {
			label += " · " + b.t("rules.away")
		}
		agents = append(agents, item(label, m.Email, len(a.Agents) == 0 || contains(a.Agents, m.Email)))
	}
	num := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	return section(b.t("rules.assign.title"),
		text(esc(b.t("rules.assign.hint"))),
		dropdown(InputAssignMode, b.t("rules.assign.mode"),
			item(b.t("rules.assign.off"), "off", a.Mode == inbox.AssignOff),
			item(b.t("rules.assign.round_robin"), string(inbox.AssignRoundRobin), a.Mode == inbox.AssignRoundRobin),
			item(b.t("rules.assign.least_open"), string(inbox.AssignLeastOpen), a.Mode == inbox.AssignLeastOpen)),
		&cardpb.Widget{Data: &cardpb.Widget_SelectionInput{SelectionInput: &cardpb.SelectionInput{
			Name: InputAssignAgents, Label: b.t("rules.assign.agents"), Type: cardpb.SelectionInput_CHECK_BOX, Items: agents,
		}}},
		textInput(InputAssignCapacity, b.t("rules.assign.capacity"), num(a.Capacity), b.t("rules.assign.capacity_hint")),
		textInput(InputAssignReassign, b.t("rules.assign.reassign"), num(a.ReassignAfterHours), b.t("rules.assign.reassign_hint")),
		&cardpb.Widget{Data: &cardpb.Widget_SelectionInput{SelectionInput: &cardpb.SelectionInput{
			Name: InputAssignRulesOnly, Type: cardpb.SelectionInput_CHECK_BOX,
			Items: []*cardpb.SelectionInput_SelectionItem{item(b.t("rules.assign.rules_only"), "yes", a.RulesOnly)},
		}}},
		buttons(button(b.t("rules.button.save_assignment"), in(OpAssignSave))),
	)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// RuleEdit is the edit screen of a rule (r nil: a new one). The form has
// one condition per field and one action per kind, which is what the
// sidebar can show; conditions of the same field all have to hold.
func (b Builder) RuleEdit(w desk.Workflow, r *inbox.Rule) *cardpb.Card {
	ib := w.Inbox
	title, id := b.t("rules.new"), ""
	var cur inbox.Rule
	if r != nil {
		cur, id, title = *r, r.ID, r.Name
	}
	cond := func(f inbox.Field) (string, bool) {
		for _, c := range cur.Conditions {
			if c.Field == f {
				return c.Value, true
			}
		}
		return "", false
	}
	act := func(k inbox.ActionKind) (string, bool) {
		for _, a := range cur.Actions {
			if a.Kind == k {
				return a.Value, true
			}
		}
		return "", false
	}
	from, _ := cond(inbox.FieldFrom)
	to, _ := cond(inbox.FieldTo)
	subject, _ := cond(inbox.FieldSubject)
	body, _ := cond(inbox.FieldBody)
	_, attachment := cond(inbox.FieldAttachment)
	tag, _ := act(inbox.ActionTag)
	assignee, _ := act(inbox.ActionAssign)
	_, auto := act(inbox.ActionAutoAssign)
	status, _ := act(inbox.ActionStatus)
	_, stop := act(inbox.ActionStop)

	assign := []*cardpb.SelectionInput_SelectionItem{
		item(b.t("rules.edit.assign_none"), "", assignee == "" && !auto),
		item(b.t("rules.act.auto"), RuleAssignAuto, auto),
	}
	for _, m := range ib.Members {
		assign = append(assign, item(m.DisplayName(), m.Email, m.Email == assignee))
	}
	statuses := []*cardpb.SelectionInput_SelectionItem{item(b.t("rules.edit.status_none"), "", status == "")}
	for _, st := range inbox.Statuses {
		statuses = append(statuses, item(b.status(st), string(st), string(st) == status))
	}
	card := &cardpb.Card{
		Name:   NameRuleEdit,
		Header: &cardpb.Card_CardHeader{Title: clip(title, 80), Subtitle: clip(ib.Name, 80)},
	}
	card.Sections = append(card.Sections,
		section("", textInput(InputRuleName, b.t("rules.edit.name"), cur.Name, "")),
		section(b.t("rules.edit.if"),
			textInput(InputRuleFrom, b.t("rules.edit.from"), from, b.t("rules.edit.from_hint")),
			textInput(InputRuleTo, b.t("rules.edit.to"), to, b.t("rules.edit.to_hint")),
			textInput(InputRuleSubject, b.t("rules.edit.subject"), subject, ""),
			textInput(InputRuleBody, b.t("rules.edit.body"), body, b.t("rules.edit.body_hint")),
			&cardpb.Widget{Data: &cardpb.Widget_SelectionInput{SelectionInput: &cardpb.SelectionInput{
				Name: InputRuleAttachment, Type: cardpb.SelectionInput_CHECK_BOX,
				Items: []*cardpb.SelectionInput_SelectionItem{item(b.t("rules.cond.attachment"), "yes", attachment)},
			}}},
		),
		section(b.t("rules.edit.then"),
			textInput(InputRuleTag, b.t("rules.edit.tag"), tag, ""),
			dropdown(InputRuleAssign, b.t("rules.edit.assign"), assign...),
			dropdown(InputRuleStatus, b.t("rules.edit.status"), statuses...),
			&cardpb.Widget{Data: &cardpb.Widget_SelectionInput{SelectionInput: &cardpb.SelectionInput{
				Name: InputRuleFlags, Type: cardpb.SelectionInput_CHECK_BOX,
				Items: []*cardpb.SelectionInput_SelectionItem{
					item(b.t("rules.edit.stop"), "stop", stop),
					item(b.t("rules.edit.disabled"), "disabled", cur.Disabled),
				},
			}}},
		),
	)
	bs := []*cardpb.Button{button(b.t("rules.button.save"), b.action(ParamOp, OpRuleSave, ParamInbox, ib.ID, ParamRule, id))}
	if id != "" {
		bs = append(bs, button(b.t("rules.button.delete"), b.action(ParamOp, OpRuleDelete, ParamInbox, ib.ID, ParamRule, id, ParamValue, "edit")))
	}
	bs = append(bs, button(b.t("rules.button.all"), b.action(ParamOp, OpRules, ParamInbox, ib.ID)))
	card.Sections = append(card.Sections, section("", buttons(bs...)))
	return card
}

// workflowButtons are the homepage's buttons of an inbox's workflow: the
// member's away toggle while auto-assignment is on, and the rules editor
// for the inbox's admins (tenant admins reach it from the inbox's
// settings).
func (b Builder) workflowButtons(s desk.InboxSummary, tenantAdmin bool) []*cardpb.Button {
	var bs []*cardpb.Button
	if away := b.awayButton(s.Inbox, s.Me); away != nil {
		bs = append(bs, away)
	}
	if s.Me.Role == inbox.RoleAdmin && !tenantAdmin {
		bs = append(bs, button(b.t("rules.button.rules"), b.action(ParamOp, OpRules, ParamInbox, s.Inbox.ID)))
	}
	return bs
}

// awayButton is a member's away toggle while the inbox's auto-assignment
// is on, nil otherwise: on the homepage, and on the conversation card
// (with ParamConv, so that the card comes back) for the phone.
func (b Builder) awayButton(ib inbox.Inbox, me inbox.Member, extra ...string) *cardpb.Button {
	a := ib.Settings.Workflow.Assignment
	if a.Mode == inbox.AssignOff {
		return nil
	}
	label, value := b.t("rules.button.away"), "on"
	if a.IsAway(me.Email) {
		label, value = b.t("rules.button.back"), "off"
	}
	return button(label, b.action(append([]string{ParamOp, OpAway, ParamInbox, ib.ID, ParamValue, value}, extra...)...))
}

// ruleVia words who made a change that names a rule or a policy.
func (b Builder) ruleVia(via string) (string, bool) {
	switch kind, _, name := inbox.ParseVia(via); kind {
	case "rule":
		return b.t("rules.actor_rule", "Name", name), true
	case "policy":
		return b.t("rules.actor_policy"), true
	}
	return "", false
}
