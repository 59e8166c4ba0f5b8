package cards

import (
	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// Card names and screen ops of an inbox's statuses (tenant admins).
const (
	NameStatuses     = "inbox-statuses"
	NameStatusRemove = "status-remove"
	// OpStatuses pushes an inbox's statuses screen (inbox).
	OpStatuses = "inbox-statuses"
	// OpStatusRemoveConfirm pushes the removal of a status (inbox,
	// status), which asks where its conversations go.
	OpStatusRemoveConfirm = "status-remove-confirm"
)

// ParamStatus names the status a button is about.
const ParamStatus = "status"

// Form inputs of the statuses screens.
const (
	InputStatusCategory = "status_category"
	InputStatusTarget   = "status_target"
	// InputStatusName is the name of a new status; a status's own name
	// field is StatusNameInput(id).
	InputStatusName = "status_name"
)

// StatusNameInput is the name of the field that renames status id.
func StatusNameInput(id string) string { return InputStatusName + "_" + id }

// statusName words a status recorded in an activity entry: its name then,
// or its category.
func (b Builder) statusName(cat inbox.Status, name string) string {
	if name != "" {
		return name
	}
	return b.status(cat)
}

// stageName words one of an inbox's statuses.
func (b Builder) stageName(d inbox.StatusDef) string { return b.statusName(d.Category, d.Name) }

// statusSection is the conversation card's status: the current one's name
// and a button for every other status of the inbox, by category. An inbox
// with the built-in statuses keeps its verbs (Close, Reopen, …).
func (b Builder) statusSection(v desk.View, act func(desk.Op, ...string) *cardpb.OnClick) *cardpb.Card_Section {
	c := v.Conversation
	cur := v.Inbox.StageOf(c)
	builtin := len(v.Inbox.Settings.Workflow.Statuses) == 0
	var bs []*cardpb.Button
	for _, d := range v.Inbox.StatusDefs() {
		if d.ID == cur.ID {
			continue
		}
		label := b.stageName(d)
		if builtin {
			label = b.statusVerb(c.Status, d.Category)
		}
		bs = append(bs, button(label, act(desk.OpStatus, ParamValue, d.ID)))
	}
	bottom := ""
	if !cur.Builtin() {
		bottom = b.status(cur.Category)
	}
	return section(b.t("conversation.status"),
		decorated(b.t("conversation.status"), "<b>"+esc(b.stageName(cur))+"</b>", esc(bottom), nil),
		buttons(bs...),
	)
}

// Statuses renders an inbox's statuses for its admins: by category, each
// with a field to rename it and a button to remove it, and a form to add
// one.
func (b Builder) Statuses(ib inbox.Inbox) *cardpb.Card {
	in := func(op string, extra ...string) *cardpb.OnClick {
		return b.action(append([]string{ParamOp, op, ParamInbox, ib.ID}, extra...)...)
	}
	c := &cardpb.Card{
		Name:   NameStatuses,
		Header: &cardpb.Card_CardHeader{Title: b.t("statuses.title"), Subtitle: clip(ib.Name, 80)},
	}
	c.Sections = append(c.Sections, section("", text(esc(b.t("statuses.intro")))))
	defs := ib.StatusDefs()
	for _, cat := range inbox.Statuses {
		var ws []*cardpb.Widget
		n := 0
		for _, d := range defs {
			if d.Category == cat {
				n++
			}
		}
		for _, d := range defs {
			if d.Category != cat {
				continue
			}
			ws = append(ws, textInput(StatusNameInput(d.ID), b.t("statuses.name"), b.stageName(d), ""))
			bs := []*cardpb.Button{button(b.t("button.rename"), in(string(desk.StatusRename), ParamStatus, d.ID))}
			if n > 1 { // the last status of a category cannot go
				bs = append(bs, button(b.t("statuses.button.remove"), in(OpStatusRemoveConfirm, ParamStatus, d.ID)))
			}
			ws = append(ws, buttons(bs...))
		}
		c.Sections = append(c.Sections, section(esc(b.status(cat)), ws...))
	}
	if len(defs) < inbox.MaxStatuses {
		c.Sections = append(c.Sections, section(b.t("statuses.new"),
			textInput(InputStatusName, b.t("statuses.name"), "", b.t("statuses.name_hint")),
			dropdown(InputStatusCategory, b.t("statuses.category_label"),
				item(b.status(inbox.StatusOpen), string(inbox.StatusOpen), false),
				item(b.status(inbox.StatusPending), string(inbox.StatusPending), true),
				item(b.status(inbox.StatusClosed), string(inbox.StatusClosed), false)),
			buttons(button(b.t("button.add"), in(string(desk.StatusAdd)))),
		))
	}
	c.Sections = append(c.Sections, section("", buttons(
		button(b.t("statuses.button.back"), b.action(ParamOp, OpInboxSettings, ParamInbox, ib.ID)),
	)))
	return c
}

// StatusRemove asks where the conversations of the status id go before it
// is removed.
func (b Builder) StatusRemove(ib inbox.Inbox, id string) *cardpb.Card {
	d, _ := ib.StatusDef(id)
	var items []*cardpb.SelectionInput_SelectionItem
	first := true
	for _, o := range ib.StatusDefs() {
		if o.ID == d.ID {
			continue
		}
		// Preselect a status of the same category: counts and SLAs then
		// stay as they are.
		sel := first && o.Category == d.Category
		if sel {
			first = false
		}
		items = append(items, item(b.stageName(o)+" ("+b.status(o.Category)+")", o.ID, sel))
	}
	return &cardpb.Card{
		Name:   NameStatusRemove,
		Header: &cardpb.Card_CardHeader{Title: clip(b.t("statuses.remove_title", "Name", b.stageName(d)), 80), Subtitle: clip(ib.Name, 80)},
		Sections: []*cardpb.Card_Section{section("",
			text(esc(b.t("statuses.remove_detail"))),
			dropdown(InputStatusTarget, b.t("statuses.move_to"), items...),
			buttons(
				button(b.t("statuses.button.remove_move"), b.action(ParamOp, string(desk.StatusRemove), ParamInbox, ib.ID, ParamStatus, d.ID)),
				button(b.t("button.cancel"), b.action(ParamOp, OpStatuses, ParamInbox, ib.ID)),
			),
		)},
	}
}
