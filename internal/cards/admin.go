package cards

import (
	"fmt"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// Card names of the settings screens.
const (
	NameSettings      = "settings"
	NameInboxSettings = "inbox-settings"
)

// Screen ops of the settings screens.
const (
	OpSettings      = "settings"       // push the settings overview
	OpInboxSettings = "inbox-settings" // push one inbox's settings (inbox)
	OpConfirmDelete = "confirm-delete" // push the delete confirmation (inbox)
)

// Form inputs of the settings screens.
const (
	InputName        = "name"
	InputAddress     = "address"
	InputEmails      = "emails"
	InputRole        = "role"
	InputLabelPrefix = "label_prefix"
	InputReplyStatus = "reply_status"
)

// ParamEmail names the member or admin a button is about.
const ParamEmail = "email"

func textInput(name, label, value, hint string) *cardpb.Widget {
	return &cardpb.Widget{Data: &cardpb.Widget_TextInput{TextInput: &cardpb.TextInput{
		Name: name, Label: label, Value: safe(value), HintText: hint,
	}}}
}

func dropdown(name, label string, items ...*cardpb.SelectionInput_SelectionItem) *cardpb.Widget {
	return &cardpb.Widget{Data: &cardpb.Widget_SelectionInput{SelectionInput: &cardpb.SelectionInput{
		Name: name, Label: label, Type: cardpb.SelectionInput_DROPDOWN, Items: items,
	}}}
}

func item(text, value string, selected bool) *cardpb.SelectionInput_SelectionItem {
	return &cardpb.SelectionInput_SelectionItem{Text: safe(text), Value: value, Selected: selected}
}

// Settings renders the admin overview: inboxes, a form for a new one, the
// tenant's admins and the health of the linked mailboxes.
func (b Builder) Settings(st desk.Settings) *cardpb.Card {
	c := &cardpb.Card{
		Name:   NameSettings,
		Header: &cardpb.Card_CardHeader{Title: "Settings", Subtitle: st.Tenant.Domain},
	}
	if problems := b.mailboxProblems(st.Mailboxes); len(problems) > 0 {
		c.Sections = append(c.Sections, section("Needs attention", problems...))
	}
	var ws []*cardpb.Widget
	for _, ib := range st.Inboxes {
		w := decorated(esc(ib.Address), "<b>"+esc(ib.Name)+"</b>", fmt.Sprintf("%d member(s)", len(ib.Members)),
			b.action(ParamOp, OpInboxSettings, ParamInbox, ib.ID))
		w.GetDecoratedText().Control = &cardpb.DecoratedText_Button{Button: button("Edit", b.action(ParamOp, OpInboxSettings, ParamInbox, ib.ID))}
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		ws = append(ws, text("No shared inbox yet. Create the first one below."))
	}
	c.Sections = append(c.Sections, section("Shared inboxes", ws...))
	c.Sections = append(c.Sections, section("New shared inbox",
		textInput(InputName, "Name", "", "Support"),
		textInput(InputAddress, "Shared address", "", "support@"+st.Tenant.Domain),
		textInput(InputEmails, "Members", "", "Addresses, separated by commas"),
		buttons(button("Create inbox", b.action(ParamOp, string(desk.AdminCreateInbox)))),
	))
	var admins []*cardpb.Widget
	for _, a := range st.Tenant.Admins {
		w := decorated("", esc(a), "", nil)
		if a != st.User.Email {
			w.GetDecoratedText().Control = &cardpb.DecoratedText_Button{Button: button("Remove", b.action(ParamOp, string(desk.AdminRemoveAdmin), ParamEmail, a))}
		}
		admins = append(admins, w)
	}
	admins = append(admins,
		textInput(InputEmails, "New admin", "", "name@"+st.Tenant.Domain),
		buttons(button("Add admin", b.action(ParamOp, string(desk.AdminAddAdmin)))),
	)
	c.Sections = append(c.Sections, section("Admins", admins...))
	c.Sections = append(c.Sections, section("", buttons(button("My inboxes", b.action(ParamOp, OpInboxes)))))
	return c
}

// mailboxProblems lists linked mailboxes whose sync failed, with the fix.
func (b Builder) mailboxProblems(mbs []inbox.Mailbox) []*cardpb.Widget {
	var ws []*cardpb.Widget
	for _, m := range mbs {
		if m.LastError == "" {
			continue
		}
		ws = append(ws, decorated(esc(m.Address), "<font color=\"#B31412\">"+esc(Fix(m))+"</font>", esc(clip(m.LastError, 120)), nil))
		if len(ws) == 20 {
			break
		}
	}
	return ws
}

// Fix says what an admin does about a mailbox whose sync fails, by the
// kind of failure recorded with it (LastError is only the detail).
func Fix(m inbox.Mailbox) string {
	switch m.Problem {
	case inbox.ProblemConsentRevoked:
		return "The owner's consent was revoked: ask " + m.Address + " to connect the mailbox again."
	case inbox.ProblemDelegationMissing:
		return "Domain-wide delegation is missing: in the Admin console, grant Postfach's service account the Gmail scopes."
	case inbox.ProblemDelegationRefused:
		return "Google refused Postfach's delegated access: check that " + m.Address + " exists and is active, and that Postfach's service account key is valid."
	case inbox.ProblemNoAccess:
		return "Postfach has no access to this mailbox: set up delegation or ask the owner to connect it."
	case inbox.ProblemGmailUnauthorized:
		return "Gmail refused Postfach's access to this mailbox (was it revoked?): Postfach checks again at the next sync; if it persists, ask " + m.Address + " to connect the mailbox again."
	case inbox.ProblemGmailDenied:
		return "Gmail denied Postfach access to this mailbox: check that " + m.Address + " has Gmail turned on and that Postfach's access covers the Gmail scopes."
	case inbox.ProblemWatchRefused:
		return "Gmail refused the push watch: check the Pub/Sub topic and its publisher permission."
	}
	return "Syncing this mailbox fails; Postfach retries. If it persists, reconnect the mailbox."
}

// InboxSettings renders one inbox's settings: name, members, options.
func (b Builder) InboxSettings(ib inbox.Inbox) *cardpb.Card {
	in := func(op desk.AdminOp, extra ...string) *cardpb.OnClick {
		return b.action(append([]string{ParamOp, string(op), ParamInbox, ib.ID}, extra...)...)
	}
	c := &cardpb.Card{
		Name:   NameInboxSettings,
		Header: &cardpb.Card_CardHeader{Title: clip(ib.Name, 80), Subtitle: ib.Address},
	}
	c.Sections = append(c.Sections, section("Name",
		textInput(InputName, "Name", ib.Name, ""),
		buttons(button("Rename", in(desk.AdminRenameInbox))),
	))
	var ms []*cardpb.Widget
	for i, m := range ib.Members {
		if i == 40 {
			ms = append(ms, text(fmt.Sprintf("… and %d more", len(ib.Members)-40)))
			break
		}
		other, label := inbox.RoleAdmin, "Make admin"
		if m.Role == inbox.RoleAdmin {
			other, label = inbox.RoleAgent, "Make agent"
		}
		ms = append(ms,
			decorated(string(m.Role), esc(m.DisplayName())+" · "+esc(m.Email), "", nil),
			buttons(
				button(label, in(desk.AdminSetRole, ParamEmail, m.Email, ParamValue, string(other))),
				button("Remove", in(desk.AdminRemove, ParamEmail, m.Email)),
			))
	}
	if len(ms) == 0 {
		ms = append(ms, text("No members yet."))
	}
	ms = append(ms,
		textInput(InputEmails, "Add members", "", "Addresses, separated by commas"),
		dropdown(InputRole, "Role", item("Agent", string(inbox.RoleAgent), true), item("Admin", string(inbox.RoleAdmin), false)),
		buttons(button("Add", in(desk.AdminAddMember))),
	)
	c.Sections = append(c.Sections, section("Members", ms...))
	rs := ib.Settings.ReplyStatus
	c.Sections = append(c.Sections, section("Options",
		textInput(InputLabelPrefix, "Gmail label prefix", ib.Settings.LabelPrefix, "Postfach"),
		dropdown(InputReplyStatus, "When the team replies",
			item("Set Pending", string(inbox.StatusPending), rs == inbox.StatusPending),
			item("Set Closed", string(inbox.StatusClosed), rs == inbox.StatusClosed),
			item("Leave the status", "none", rs == "")),
		buttons(button("Save options", in(desk.AdminSetOptions))),
	))
	c.Sections = append(c.Sections, section("",
		buttons(
			button("Delete inbox", b.action(ParamOp, OpConfirmDelete, ParamInbox, ib.ID)),
			button("All settings", b.action(ParamOp, OpSettings)),
		)))
	return c
}

// ConfirmDelete asks before an inbox is deleted.
func (b Builder) ConfirmDelete(ib inbox.Inbox) *cardpb.Card {
	return &cardpb.Card{
		Name:   "confirm-delete",
		Header: &cardpb.Card_CardHeader{Title: "Delete " + clip(ib.Name, 60) + "?", Subtitle: ib.Address},
		Sections: []*cardpb.Card_Section{section("",
			text("The inbox disappears from everyone's sidebar and its Gmail labels stop being updated. Mail in Gmail is not touched."),
			buttons(
				button("Delete", b.action(ParamOp, string(desk.AdminDeleteInbox), ParamInbox, ib.ID)),
				button("Cancel", b.action(ParamOp, OpInboxSettings, ParamInbox, ib.ID)),
			),
		)},
	}
}
