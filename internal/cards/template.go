package cards

import (
	"strings"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// Card names of the templates' screens.
const (
	NameTemplates    = "templates"
	NameTemplateEdit = "template-edit"
	NameCompose      = "compose"
)

// ParamTemplate names a template (with ParamInbox, its inbox).
const ParamTemplate = "tpl"

// Template ops.
const (
	OpTemplates      = "templates"       // push an inbox's templates (inbox)
	OpTemplateEdit   = "template-edit"   // push a template's edit screen (inbox, tpl; no tpl = a new one)
	OpTemplateSave   = "template-save"   // save the edit screen's form (inbox, tpl)
	OpTemplateDelete = "template-delete" // delete a template (inbox, tpl)
	// OpTemplateInsert inserts a template into the open draft (inbox,
	// tpl, conv = the draft's conversation or "", value = its customer
	// address or "").
	OpTemplateInsert = "template-insert"
)

// Form inputs of the template edit screen.
const (
	InputTemplateName   = "template_name"
	InputTemplateBody   = "template_body"
	InputTemplateLocked = "template_locked"
)

// placeholders lists the placeholders a template may use, as written.
func placeholders() string {
	out := make([]string, len(inbox.Placeholders))
	for i, p := range inbox.Placeholders {
		out[i] = "{{" + p + "}}"
	}
	return strings.Join(out, "  ")
}

// preview is the start of a template's text, one line.
func preview(body string) string {
	return clip(strings.Join(strings.Fields(body), " "), 120)
}

// Templates lists an inbox's templates; each opens its edit screen (or,
// when locked for the caller, a read-only view of it).
func (b Builder) Templates(ts desk.Templates) *cardpb.Card {
	card := &cardpb.Card{
		Name:   NameTemplates,
		Header: &cardpb.Card_CardHeader{Title: b.t("templates.title"), Subtitle: clip(ts.Inbox.Name, 80)},
	}
	var rows []*cardpb.Widget
	for _, tp := range ts.Templates {
		top := tp.Name
		if tp.Locked {
			top = "🔒 " + top
		}
		rows = append(rows, decorated(esc(clip(top, 80)), esc(preview(tp.Body)), "",
			b.action(ParamOp, OpTemplateEdit, ParamInbox, ts.Inbox.ID, ParamTemplate, tp.ID)))
	}
	if len(rows) == 0 {
		rows = append(rows, text("<i>"+esc(b.t("templates.none"))+"</i>"))
	}
	rows = append(rows, buttons(button(b.t("button.new_template"), b.action(ParamOp, OpTemplateEdit, ParamInbox, ts.Inbox.ID))))
	card.Sections = append(card.Sections, section("", rows...))
	card.Sections = append(card.Sections, section(b.t("templates.placeholders"),
		text(esc(b.t("templates.placeholders_hint", "List", placeholders())))))
	return card
}

// TemplateEdit is the edit screen of a template (tp nil: a new one). A
// locked template the caller may not edit is shown read-only.
func (b Builder) TemplateEdit(ts desk.Templates, tp *inbox.Template) *cardpb.Card {
	title, id := b.t("templates.new"), ""
	var cur inbox.Template
	if tp != nil {
		cur, id, title = *tp, tp.ID, tp.Name
	}
	card := &cardpb.Card{
		Name:   NameTemplateEdit,
		Header: &cardpb.Card_CardHeader{Title: clip(title, 80), Subtitle: clip(ts.Inbox.Name, 80)},
	}
	if tp != nil && !ts.CanEdit(*tp) {
		card.Sections = append(card.Sections, section("",
			text("🔒 "+esc(b.t("templates.locked_detail"))),
			text(strings.ReplaceAll(esc(tp.Body), "\n", "<br>")),
			buttons(button(b.t("button.all_templates"), b.action(ParamOp, OpTemplates, ParamInbox, ts.Inbox.ID))),
		))
		return card
	}
	ws := []*cardpb.Widget{
		{Data: &cardpb.Widget_TextInput{TextInput: &cardpb.TextInput{
			Name: InputTemplateName, Label: b.t("templates.name"), Value: safe(cur.Name),
			Validation: &cardpb.Validation{CharacterLimit: inbox.MaxTemplateNameLength},
		}}},
		{Data: &cardpb.Widget_TextInput{TextInput: &cardpb.TextInput{
			Name: InputTemplateBody, Label: b.t("templates.text"), Value: safe(cur.Body), Type: cardpb.TextInput_MULTIPLE_LINE,
			HintText:   b.t("templates.placeholders_hint", "List", placeholders()),
			Validation: &cardpb.Validation{CharacterLimit: inbox.MaxTemplateLength},
		}}},
	}
	if ts.Admin {
		ws = append(ws, &cardpb.Widget{Data: &cardpb.Widget_SelectionInput{SelectionInput: &cardpb.SelectionInput{
			Name: InputTemplateLocked, Type: cardpb.SelectionInput_CHECK_BOX,
			Items: []*cardpb.SelectionInput_SelectionItem{item(b.t("templates.lock"), "locked", cur.Locked)},
		}}})
	}
	bs := []*cardpb.Button{button(b.t("button.save_template"), b.action(ParamOp, OpTemplateSave, ParamInbox, ts.Inbox.ID, ParamTemplate, id))}
	if id != "" {
		bs = append(bs, button(b.t("button.delete_template"), b.action(ParamOp, OpTemplateDelete, ParamInbox, ts.Inbox.ID, ParamTemplate, id)))
	}
	bs = append(bs, button(b.t("button.all_templates"), b.action(ParamOp, OpTemplates, ParamInbox, ts.Inbox.ID)))
	ws = append(ws, buttons(bs...))
	card.Sections = append(card.Sections, section("", ws...))
	return card
}

// Compose is the compose window's card: the templates of the draft's
// inboxes, each with a button that inserts it, filled, into the draft.
func (b Builder) Compose(cp desk.Compose) *cardpb.Card {
	card := &cardpb.Card{
		Name:   NameCompose,
		Header: &cardpb.Card_CardHeader{Title: b.t("templates.title")},
	}
	conv := ""
	if cp.Conversation != nil {
		conv = cp.Conversation.ID
		card.Header.Subtitle = clip(cp.Conversation.Subject, 80)
	}
	any := false
	for _, ts := range cp.Inboxes {
		var ws []*cardpb.Widget
		for _, tp := range ts.Templates {
			any = true
			ins := b.action(ParamOp, OpTemplateInsert, ParamInbox, ts.Inbox.ID, ParamTemplate, tp.ID, ParamConv, conv, ParamValue, cp.Customer)
			ws = append(ws, &cardpb.Widget{Data: &cardpb.Widget_DecoratedText{DecoratedText: &cardpb.DecoratedText{
				TopLabel: esc(clip(tp.Name, 80)), Text: esc(preview(tp.Body)), WrapText: true,
				Control: &cardpb.DecoratedText_Button{Button: button(b.t("button.insert"), ins)},
			}}})
		}
		if len(ws) == 0 {
			ws = append(ws, text("<i>"+esc(b.t("templates.none"))+"</i>"))
		}
		card.Sections = append(card.Sections, section(esc(ts.Inbox.Name), ws...))
	}
	if !any {
		card.Sections = append(card.Sections, section("", text(esc(b.t("templates.compose_none")))))
	}
	return card
}
