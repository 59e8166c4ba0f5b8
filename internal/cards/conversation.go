package cards

import (
	"strings"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// Conversation renders a conversation with every action on it. It is the
// card of the message-open trigger, the only one Gmail shows on mobile, so
// nothing essential may live elsewhere.
func (b Builder) Conversation(v desk.View) *cardpb.Card {
	c := v.Conversation
	act := func(op desk.Op, extra ...string) *cardpb.OnClick {
		return b.action(append([]string{ParamOp, string(op), ParamConv, c.ID, ParamVer, itoa(c.Version)}, extra...)...)
	}
	card := &cardpb.Card{
		Name: NameConversation,
		Header: &cardpb.Card_CardHeader{
			Title:    clip(b.subject(c.Subject), 80),
			Subtitle: clip(v.Inbox.Name+" · "+b.statusLine(v.Inbox, c), 80),
		},
	}

	if len(v.Collision) > 0 {
		var lines []string
		for _, a := range v.Collision {
			lines = append(lines, esc(b.Describe(a, v.Inbox.DisplayName))+" · "+b.ago(v.Now, a.At))
		}
		card.Sections = append(card.Sections, section("",
			text(`<font color="#B31412"><b>`+esc(b.t("collision.title"))+`</b></font> — `+esc(b.t("collision.detail"))+`<br>`+strings.Join(lines, "<br>")),
		))
	}

	card.Sections = append(card.Sections, b.replySection(v))

	// Owner.
	owner := "<i>" + esc(b.t("filter.unassigned")) + "</i>"
	if c.Assignee != "" {
		owner = "<b>" + esc(v.Inbox.DisplayName(c.Assignee)) + "</b>"
		if c.Assignee == v.Me.Email {
			owner += " " + esc(b.t("conversation.you"))
		}
	}
	var ownerButtons []*cardpb.Button
	if c.Assignee != v.Me.Email {
		ownerButtons = append(ownerButtons, button(b.t("button.assign_to_me"), act(desk.OpAssignMe)))
	}
	if c.Assignee != "" {
		ownerButtons = append(ownerButtons, button(b.t("button.unassign"), act(desk.OpUnassign)))
	}
	var items []*cardpb.SelectionInput_SelectionItem
	for _, m := range v.Inbox.Members {
		items = append(items, item(m.DisplayName()+" <"+m.Email+">", m.Email, m.Email == c.Assignee))
		if len(items) == 100 { // the card limit for selection items
			break
		}
	}
	ownerWidgets := []*cardpb.Widget{decorated(b.t("conversation.owner"), owner, "", nil)}
	if len(ownerButtons) > 0 {
		ownerWidgets = append(ownerWidgets, buttons(ownerButtons...))
	}
	ownerWidgets = append(ownerWidgets,
		&cardpb.Widget{Data: &cardpb.Widget_SelectionInput{SelectionInput: &cardpb.SelectionInput{
			Name: InputAssignee, Label: b.t("conversation.assign_to"), Type: cardpb.SelectionInput_DROPDOWN, Items: items,
		}}},
		buttons(button(b.t("button.assign"), act(desk.OpAssign))),
	)
	card.Sections = append(card.Sections, section(b.t("conversation.owner"), ownerWidgets...))

	card.Sections = append(card.Sections, b.statusSection(v, act))
	card.Sections = append(card.Sections, b.slaSection(v))

	// Tags.
	tagWidgets := []*cardpb.Widget{}
	if len(c.Tags) == 0 {
		tagWidgets = append(tagWidgets, text("<i>"+esc(b.t("conversation.no_tags"))+"</i>"))
	} else {
		var rm []*cardpb.Button
		for _, t := range c.Tags {
			rm = append(rm, button("✕ "+t, act(desk.OpUntag, ParamValue, t)))
		}
		tagWidgets = append(tagWidgets, text(esc(strings.Join(c.Tags, ", "))), buttons(rm...))
	}
	tagWidgets = append(tagWidgets,
		&cardpb.Widget{Data: &cardpb.Widget_TextInput{TextInput: &cardpb.TextInput{
			Name: InputTag, Label: b.t("conversation.add_a_tag"), Validation: &cardpb.Validation{CharacterLimit: 32},
		}}},
		buttons(button(b.t("button.add_tag"), act(desk.OpTag))),
	)
	card.Sections = append(card.Sections, section(b.t("conversation.tags"), tagWidgets...))

	// Notes.
	var noteWidgets []*cardpb.Widget
	for _, n := range v.Notes {
		noteWidgets = append(noteWidgets, b.noteWidget(v, n))
	}
	noteWidgets = append(noteWidgets,
		&cardpb.Widget{Data: &cardpb.Widget_TextInput{TextInput: &cardpb.TextInput{
			Name: InputNote, Label: b.t("conversation.internal_note"), HintText: b.t("conversation.note_hint"),
			Type: cardpb.TextInput_MULTIPLE_LINE, Validation: &cardpb.Validation{CharacterLimit: inbox.MaxNoteLength},
		}}},
		buttons(button(b.t("button.add_note"), act(desk.OpNote))),
	)
	card.Sections = append(card.Sections, section(b.t("conversation.internal_notes"), noteWidgets...))

	// Customer and history.
	about := []*cardpb.Widget{
		decorated(b.t("conversation.customer"), esc(b.customerLabel(c)), esc(c.Customer), nil),
		decorated(b.t("conversation.inbox"), esc(v.Inbox.Name), esc(v.Inbox.Address), nil),
	}
	if !c.FirstResponseAt.IsZero() {
		about = append(about, decorated(b.t("conversation.first_response"), esc(b.t("conversation.after", "Span", b.p().Span(max(0, c.FirstResponseAt.Sub(c.CreatedAt))))), "", nil))
	}
	for _, a := range v.Activity {
		about = append(about, decorated("", esc(b.Describe(a, v.Inbox.DisplayName)), b.p().At(v.Now, a.At), nil))
	}
	about = append(about, buttons(
		button(b.t("button.open_in_gmail"), b.gmailSearch(c.RootMessageID)),
		button(b.t("button.refresh"), b.action(ParamOp, OpReload, ParamConv, c.ID)),
		button(b.t("button.templates"), b.action(ParamOp, OpTemplates, ParamInbox, c.InboxID)),
		button(b.t("button.my_inboxes"), b.action(ParamOp, OpInboxes)),
	))
	if away := b.awayButton(v.Inbox, v.Me, ParamConv, c.ID); away != nil {
		about = append(about, buttons(away))
	}
	card.Sections = append(card.Sections, section(b.t("conversation.activity"), about...))
	return card
}

// statusVerb labels the button that moves a conversation from one status to
// another.
func (b Builder) statusVerb(from, to inbox.Status) string {
	switch {
	case to == inbox.StatusClosed:
		return b.t("button.close")
	case to == inbox.StatusPending:
		return b.t("button.mark_pending")
	case to == inbox.StatusOpen && from == inbox.StatusClosed:
		return b.t("button.reopen")
	}
	return b.t("button.mark_open")
}

// NotInInbox is the card for a mail that belongs to none of the caller's
// shared inboxes.
func (b Builder) NotInInbox(subject string) *cardpb.Card {
	title := b.t("not_in_inbox.title")
	return &cardpb.Card{
		Name:   NameMessage,
		Header: &cardpb.Card_CardHeader{Title: title, Subtitle: clip(subject, 80)},
		Sections: []*cardpb.Card_Section{section("",
			text(esc(b.t("not_in_inbox.detail"))),
			buttons(button(b.t("button.my_inboxes"), b.action(ParamOp, OpInboxes))),
		)},
	}
}
