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
			Title:    clip(c.Subject, 80),
			Subtitle: clip(v.Inbox.Name+" · "+statusLine(v.Inbox, c), 80),
		},
	}

	if len(v.Collision) > 0 {
		var lines []string
		for _, a := range v.Collision {
			lines = append(lines, esc(a.Describe(v.Inbox.DisplayName))+" "+Ago(v.Now, a.At))
		}
		card.Sections = append(card.Sections, section("",
			text(`<font color="#B31412"><b>Not saved</b></font> — this conversation changed while you were looking:<br>`+strings.Join(lines, "<br>")),
		))
	}

	// Owner.
	owner := "<i>Unassigned</i>"
	if c.Assignee != "" {
		owner = "<b>" + esc(v.Inbox.DisplayName(c.Assignee)) + "</b>"
		if c.Assignee == v.Me.Email {
			owner += " (you)"
		}
	}
	var ownerButtons []*cardpb.Button
	if c.Assignee != v.Me.Email {
		ownerButtons = append(ownerButtons, button("Assign to me", act(desk.OpAssignMe)))
	}
	if c.Assignee != "" {
		ownerButtons = append(ownerButtons, button("Unassign", act(desk.OpUnassign)))
	}
	var items []*cardpb.SelectionInput_SelectionItem
	for _, m := range v.Inbox.Members {
		items = append(items, item(m.DisplayName()+" <"+m.Email+">", m.Email, m.Email == c.Assignee))
		if len(items) == 100 { // the card limit for selection items
			break
		}
	}
	ownerWidgets := []*cardpb.Widget{decorated("Owner", owner, "", nil)}
	if len(ownerButtons) > 0 {
		ownerWidgets = append(ownerWidgets, buttons(ownerButtons...))
	}
	ownerWidgets = append(ownerWidgets,
		&cardpb.Widget{Data: &cardpb.Widget_SelectionInput{SelectionInput: &cardpb.SelectionInput{
			Name: InputAssignee, Label: "Assign to", Type: cardpb.SelectionInput_DROPDOWN, Items: items,
		}}},
		buttons(button("Assign", act(desk.OpAssign))),
	)
	card.Sections = append(card.Sections, section("Owner", ownerWidgets...))

	// Status.
	var statusButtons []*cardpb.Button
	for _, st := range inbox.Statuses {
		if st == c.Status {
			continue
		}
		statusButtons = append(statusButtons, button(statusVerb(c.Status, st), act(desk.OpStatus, ParamValue, string(st))))
	}
	card.Sections = append(card.Sections, section("Status",
		decorated("Status", "<b>"+c.Status.Label()+"</b>", "", nil),
		buttons(statusButtons...),
	))

	// Tags.
	tagWidgets := []*cardpb.Widget{}
	if len(c.Tags) == 0 {
		tagWidgets = append(tagWidgets, text("<i>No tags</i>"))
	} else {
		var rm []*cardpb.Button
		for _, t := range c.Tags {
			rm = append(rm, button("✕ "+t, act(desk.OpUntag, ParamValue, t)))
		}
		tagWidgets = append(tagWidgets, text(esc(strings.Join(c.Tags, ", "))), buttons(rm...))
	}
	tagWidgets = append(tagWidgets,
		&cardpb.Widget{Data: &cardpb.Widget_TextInput{TextInput: &cardpb.TextInput{
			Name: InputTag, Label: "Add a tag", Validation: &cardpb.Validation{CharacterLimit: 32},
		}}},
		buttons(button("Add tag", act(desk.OpTag))),
	)
	card.Sections = append(card.Sections, section("Tags", tagWidgets...))

	// Notes.
	var noteWidgets []*cardpb.Widget
	for _, n := range v.Notes {
		noteWidgets = append(noteWidgets, decorated(esc(v.Inbox.DisplayName(n.Author))+" · "+Ago(v.Now, n.CreatedAt), esc(n.Body), "", nil))
	}
	noteWidgets = append(noteWidgets,
		&cardpb.Widget{Data: &cardpb.Widget_TextInput{TextInput: &cardpb.TextInput{
			Name: InputNote, Label: "Internal note", HintText: "Only your team sees notes",
			Type: cardpb.TextInput_MULTIPLE_LINE, Validation: &cardpb.Validation{CharacterLimit: inbox.MaxNoteLength},
		}}},
		buttons(button("Add note", act(desk.OpNote))),
	)
	card.Sections = append(card.Sections, section("Internal notes", noteWidgets...))

	// Customer and history.
	about := []*cardpb.Widget{
		decorated("Customer", esc(customerLabel(c)), esc(c.Customer), nil),
		decorated("Inbox", esc(v.Inbox.Name), esc(v.Inbox.Address), nil),
	}
	if !c.FirstResponseAt.IsZero() {
		about = append(about, decorated("First response", "after "+span(max(0, c.FirstResponseAt.Sub(c.CreatedAt))), "", nil))
	}
	for _, a := range v.Activity {
		about = append(about, decorated("", esc(a.Describe(v.Inbox.DisplayName)), Ago(v.Now, a.At), nil))
	}
	about = append(about, buttons(
		button("Open in Gmail", b.gmailSearch(c.RootMessageID)),
		button("Refresh", b.action(ParamOp, OpReload, ParamConv, c.ID)),
		button("My inboxes", b.action(ParamOp, OpInboxes)),
	))
	card.Sections = append(card.Sections, section("Activity", about...))
	return card
}

// statusVerb labels the button that moves a conversation from one status to
// another.
func statusVerb(from, to inbox.Status) string {
	switch {
	case to == inbox.StatusClosed:
		return "Close"
	case to == inbox.StatusPending:
		return "Mark pending"
	case to == inbox.StatusOpen && from == inbox.StatusClosed:
		return "Reopen"
	}
	return "Mark open"
}

// NotInInbox is the card for a mail that belongs to none of the caller's
// shared inboxes.
func (b Builder) NotInInbox(subject string) *cardpb.Card {
	title := "Not in a shared inbox"
	return &cardpb.Card{
		Name:   NameMessage,
		Header: &cardpb.Card_CardHeader{Title: title, Subtitle: clip(subject, 80)},
		Sections: []*cardpb.Card_Section{section("",
			text("This mail was not sent to any shared inbox you are a member of, so Postfach has nothing to show for it."),
			buttons(button("My inboxes", b.action(ParamOp, OpInboxes))),
		)},
	}
}
