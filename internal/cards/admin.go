package cards

import (
	"strings"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/i18n"
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
	// InputReplyFrom is the address an inbox's replies come from
	// (inbox.ReplyFrom).
	InputReplyFrom = "reply_from"
	// InputLabelLanguage is the language of an inbox's Gmail labels.
	InputLabelLanguage = "label_language"
)

// ParamEmail names the member or admin a button is about.
const ParamEmail = "email"

func textInput(name, label, value, hint string) *cardpb.Widget {
	return &cardpb.Widget{Data: &cardpb.Widget_TextInput{TextInput: &cardpb.TextInput{
		// A name may carry an id (StatusNameInput): made valid UTF-8 as
		// action parameters are, so that the two still match.
		Name: strings.ToValidUTF8(name, "\uFFFD"), Label: safe(label), Value: safe(value), HintText: safe(hint),
	}}}
}

func dropdown(name, label string, items ...*cardpb.SelectionInput_SelectionItem) *cardpb.Widget {
	return &cardpb.Widget{Data: &cardpb.Widget_SelectionInput{SelectionInput: &cardpb.SelectionInput{
		Name: name, Label: safe(label), Type: cardpb.SelectionInput_DROPDOWN, Items: items,
	}}}
}

func item(text, value string, selected bool) *cardpb.SelectionInput_SelectionItem {
	// The value goes back to the server as it is (as action parameters
	// do), so it is only made valid UTF-8, which a card needs.
	return &cardpb.SelectionInput_SelectionItem{Text: safe(text), Value: strings.ToValidUTF8(value, "\uFFFD"), Selected: selected}
}

// Settings renders the settings screen: the user's own preferences, and
// for admins below them the admin overview (inboxes, a form for a new one,
// the tenant's admins and the health of the linked mailboxes).
func (b Builder) Settings(st desk.Settings) *cardpb.Card {
	c := &cardpb.Card{
		Name:   NameSettings,
		Header: &cardpb.Card_CardHeader{Title: b.t("settings.title"), Subtitle: safe(st.Tenant.Domain)},
	}
	c.Sections = append(c.Sections, b.prefsSection(st))
	if !st.Admin {
		c.Sections = append(c.Sections, section("", buttons(button(b.t("button.my_inboxes"), b.action(ParamOp, OpInboxes)))))
		return c
	}
	if problems := b.mailboxProblems(st.Mailboxes); len(problems) > 0 {
		c.Sections = append(c.Sections, section(b.t("home.needs_attention"), problems...))
	}
	var ws []*cardpb.Widget
	for _, ib := range st.Inboxes {
		w := decorated(esc(ib.Address), "<b>"+esc(ib.Name)+"</b>", esc(b.p().N("settings.members_count", len(ib.Members))),
			b.action(ParamOp, OpInboxSettings, ParamInbox, ib.ID))
		w.GetDecoratedText().Control = &cardpb.DecoratedText_Button{Button: button(b.t("button.edit"), b.action(ParamOp, OpInboxSettings, ParamInbox, ib.ID))}
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		ws = append(ws, text(esc(b.t("settings.no_inbox"))))
	}
	c.Sections = append(c.Sections, section(b.t("home.title"), ws...))
	c.Sections = append(c.Sections, section(b.t("settings.new_inbox"),
		textInput(InputName, b.t("settings.name"), "", b.t("settings.name_hint")),
		textInput(InputAddress, b.t("settings.address"), "", "support@"+st.Tenant.Domain),
		textInput(InputEmails, b.t("settings.members"), "", b.t("settings.addresses_hint")),
		buttons(button(b.t("button.create_inbox"), b.action(ParamOp, string(desk.AdminCreateInbox)))),
	))
	var admins []*cardpb.Widget
	for _, a := range st.Tenant.Admins {
		w := decorated("", esc(a), "", nil)
		if a != st.User.Email {
			w.GetDecoratedText().Control = &cardpb.DecoratedText_Button{Button: button(b.t("button.remove"), b.action(ParamOp, string(desk.AdminRemoveAdmin), ParamEmail, a))}
		}
		admins = append(admins, w)
	}
	admins = append(admins,
		textInput(InputEmails, b.t("settings.new_admin"), "", "name@"+st.Tenant.Domain),
		buttons(button(b.t("button.add_admin"), b.action(ParamOp, string(desk.AdminAddAdmin)))),
	)
	c.Sections = append(c.Sections, section(b.t("settings.admins"), admins...))
	c.Sections = append(c.Sections, section("", buttons(button(b.t("button.my_inboxes"), b.action(ParamOp, OpInboxes)))))
	return c
}

// mailboxProblems lists linked mailboxes whose sync failed, with the fix.
func (b Builder) mailboxProblems(mbs []inbox.Mailbox) []*cardpb.Widget {
	var ws []*cardpb.Widget
	for _, m := range mbs {
		if m.LastError == "" {
			continue
		}
		ws = append(ws, decorated(esc(m.Address), "<font color=\"#B31412\">"+esc(b.Fix(m))+"</font>", esc(clip(m.LastError, 120)), nil))
		if len(ws) == 20 {
			break
		}
	}
	return ws
}

// Fix says what an admin does about a mailbox whose sync fails, by the
// kind of failure recorded with it (LastError is only the detail).
func (b Builder) Fix(m inbox.Mailbox) string {
	switch m.Problem {
	case inbox.ProblemConsentRevoked:
		return b.t("fix.consent_revoked", "Address", m.Address)
	case inbox.ProblemDelegationMissing:
		return b.t("fix.delegation_missing")
	case inbox.ProblemDelegationRefused:
		return b.t("fix.delegation_refused", "Address", m.Address)
	case inbox.ProblemNoAccess:
		return b.t("fix.no_access")
	case inbox.ProblemGmailUnauthorized:
		return b.t("fix.gmail_unauthorized", "Address", m.Address)
	case inbox.ProblemGmailDenied:
		return b.t("fix.gmail_denied", "Address", m.Address)
	case inbox.ProblemWatchRefused:
		return b.t("fix.watch_refused")
	}
	return b.t("fix.other")
}

// role words a member's role.
func (b Builder) role(r inbox.Role) string {
	if r == inbox.RoleAdmin {
		return b.t("role.admin")
	}
	return b.t("role.agent")
}

// InboxSettings renders one inbox's settings: name, members, options.
func (b Builder) InboxSettings(ib inbox.Inbox) *cardpb.Card {
	in := func(op desk.AdminOp, extra ...string) *cardpb.OnClick {
		return b.action(append([]string{ParamOp, string(op), ParamInbox, ib.ID}, extra...)...)
	}
	c := &cardpb.Card{
		Name:   NameInboxSettings,
		Header: &cardpb.Card_CardHeader{Title: clip(ib.Name, 80), Subtitle: safe(ib.Address)},
	}
	c.Sections = append(c.Sections, section(b.t("settings.name"),
		textInput(InputName, b.t("settings.name"), ib.Name, ""),
		buttons(button(b.t("button.rename"), in(desk.AdminRenameInbox))),
	))
	var ms []*cardpb.Widget
	for i, m := range ib.Members {
		if i == 40 {
			ms = append(ms, text(esc(b.p().N("settings.and_more", len(ib.Members)-40))))
			break
		}
		other, label := inbox.RoleAdmin, b.t("button.make_admin")
		if m.Role == inbox.RoleAdmin {
			other, label = inbox.RoleAgent, b.t("button.make_agent")
		}
		ms = append(ms,
			decorated(b.role(m.Role), esc(m.DisplayName())+" · "+esc(m.Email), "", nil),
			buttons(
				button(label, in(desk.AdminSetRole, ParamEmail, m.Email, ParamValue, string(other))),
				button(b.t("button.remove"), in(desk.AdminRemove, ParamEmail, m.Email)),
			))
	}
	if len(ms) == 0 {
		ms = append(ms, text(esc(b.t("settings.no_members"))))
	}
	ms = append(ms,
		textInput(InputEmails, b.t("settings.add_members"), "", b.t("settings.addresses_hint")),
		dropdown(InputRole, b.t("settings.role"), item(b.role(inbox.RoleAgent), string(inbox.RoleAgent), true), item(b.role(inbox.RoleAdmin), string(inbox.RoleAdmin), false)),
		buttons(button(b.t("button.add"), in(desk.AdminAddMember))),
	)
	c.Sections = append(c.Sections, section(b.t("settings.members"), ms...))
	rs := ib.Settings.ReplyStatus
	c.Sections = append(c.Sections, section(b.t("settings.options"),
		textInput(InputLabelPrefix, b.t("settings.label_prefix"), ib.Settings.LabelPrefix, "Postfach"),
		dropdown(InputReplyStatus, b.t("settings.reply_status"),
			item(b.t("settings.reply_pending"), string(inbox.StatusPending), rs == inbox.StatusPending),
			item(b.t("settings.reply_closed"), string(inbox.StatusClosed), rs == inbox.StatusClosed),
			item(b.t("settings.reply_leave"), "none", rs == "")),
		b.labelLanguage(ib.Settings.Language),
		b.replyFrom(ib),
		buttons(button(b.t("button.save_options"), in(desk.AdminSetOptions)),
			button(b.t("sla.open_screen"), b.action(ParamOp, OpSLA, ParamInbox, ib.ID))),
	))
	c.Sections = append(c.Sections, section("",
		buttons(
			button(b.t("statuses.button.statuses"), b.action(ParamOp, OpStatuses, ParamInbox, ib.ID)),
			b.reportButton(ib.ID),
			button(b.t("rules.button.rules"), b.action(ParamOp, OpRules, ParamInbox, ib.ID)),
			button(b.t("button.delete_inbox"), b.action(ParamOp, OpConfirmDelete, ParamInbox, ib.ID)),
			button(b.t("button.all_settings"), b.action(ParamOp, OpSettings)),
		)))
	return c
}

// labelLanguage is the dropdown of an inbox's label language; each
// language is named as it calls itself. "" (an inbox stored before the
// setting existed) is English.
func (b Builder) labelLanguage(lang string) *cardpb.Widget {
	if lang == "" {
		lang = string(i18n.English)
	}
	return dropdown(InputLabelLanguage, b.t("settings.label_language"),
		item(b.t("labels.language_en"), string(i18n.English), lang == string(i18n.English)),
		item(b.t("labels.language_de"), string(i18n.German), lang == string(i18n.German)))
}

// replyFrom is the dropdown of the address an inbox's replies come from;
// "" (an inbox stored before the setting existed) is the member's own.
func (b Builder) replyFrom(ib inbox.Inbox) *cardpb.Widget {
	shared := ib.Settings.ReplyFrom.Shared()
	return dropdown(InputReplyFrom, b.t("sendas.setting"),
		item(b.t("sendas.setting_shared", "Address", ib.Address), string(inbox.ReplyFromShared), shared),
		item(b.t("sendas.setting_own"), string(inbox.ReplyFromOwn), !shared))
}

// ConfirmDelete asks before an inbox is deleted.
func (b Builder) ConfirmDelete(ib inbox.Inbox) *cardpb.Card {
	return &cardpb.Card{
		Name:   "confirm-delete",
		Header: &cardpb.Card_CardHeader{Title: clip(b.t("settings.delete_title", "Name", ib.Name), 80), Subtitle: safe(ib.Address)},
		Sections: []*cardpb.Card_Section{section("",
			text(esc(b.t("settings.delete_detail"))),
			buttons(
				button(b.t("button.delete"), b.action(ParamOp, string(desk.AdminDeleteInbox), ParamInbox, ib.ID)),
				button(b.t("button.cancel"), b.action(ParamOp, OpInboxSettings, ParamInbox, ib.ID)),
			),
		)},
	}
}
