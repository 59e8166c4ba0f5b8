package cards

import (
	"strconv"
	"strings"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// Home renders the homepage: one section per inbox of the caller, each count
// opening its list.
func (b Builder) Home(h desk.Home) *cardpb.Card {
	c := &cardpb.Card{
		Name:   NameHome,
		Header: &cardpb.Card_CardHeader{Title: b.t("home.title"), Subtitle: safe(h.User.Email)},
	}
	if ws := b.mailboxProblems(h.Problems); h.Admin && len(ws) > 0 {
		// Only mailboxes with an error make widgets; a section without
		// any would break the card.
		c.Sections = append(c.Sections, section(b.t("home.needs_attention"), ws...))
	}
	if len(h.Inboxes) == 0 {
		if h.Admin {
			c.Sections = append(c.Sections, section("",
				text(esc(b.t("home.first_inbox"))),
				buttons(button(b.t("button.set_up_inbox"), b.action(ParamOp, OpSettings))),
			))
			return c
		}
		c.Sections = append(c.Sections, section("",
			text(esc(b.t("home.no_membership", "Domain", h.Tenant.Domain))),
		))
		return c
	}
	for _, s := range h.Inboxes {
		var ws []*cardpb.Widget
		for _, f := range desk.HomeFilters {
			n := s.Counts[f]
			ws = append(ws, decorated(b.filter(f), "<b>"+strconv.Itoa(n)+"</b>", "",
				b.action(ParamOp, OpList, ParamInbox, s.Inbox.ID, ParamFilter, string(f))))
		}
		row := []*cardpb.Button{button(b.t("status.closed"), b.action(ParamOp, OpList, ParamInbox, s.Inbox.ID, ParamFilter, string(desk.FilterClosed)))}
		if canReport(h, s) {
			row = append(row, b.reportButton(s.Inbox.ID))
		}
		row = append(row, b.workflowButtons(s, h.Admin)...)
		ws = append(ws, buttons(row...))
		c.Sections = append(c.Sections, section(esc(s.Inbox.Name)+" · "+esc(s.Inbox.Address), ws...))
	}
	c.Sections = append(c.Sections, b.mentionsSection(h.Mentions))
	footer := []*cardpb.Button{button(b.t("button.refresh"), b.action(ParamOp, OpHome))}
	if mb := b.mailboxButton(h); mb != nil {
		footer = append(footer, mb)
	}
	if h.Admin {
		footer = append(footer, button(b.t("button.settings"), b.action(ParamOp, OpSettings)))
	}
	c.Sections = append(c.Sections, section("",
		text(esc(b.t("home.hint"))),
		buttons(footer...),
	))
	return c
}

// List renders one page of an inbox's conversations, newest first. Each row
// opens the conversation card; its button opens the thread in Gmail.
func (b Builder) List(l desk.List) *cardpb.Card {
	c := &cardpb.Card{
		Name:   NameList,
		Header: &cardpb.Card_CardHeader{Title: clip(l.Inbox.Name+" · "+b.filter(l.Filter), 80), Subtitle: safe(l.Inbox.Address)},
	}
	var ws []*cardpb.Widget
	for _, conv := range l.Conversations {
		w := decorated(
			esc(b.customerLabel(conv))+" · "+b.ago(l.Now, conv.LastMessageAt),
			"<b>"+esc(clip(b.subject(conv.Subject), 120))+"</b>",
			esc(b.statusLine(l.Inbox, conv)),
			b.action(ParamOp, OpDetail, ParamConv, conv.ID),
		)
		w.GetDecoratedText().Control = &cardpb.DecoratedText_Button{Button: button(b.t("button.gmail"), b.gmailSearch(conv.RootMessageID))}
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		ws = append(ws, text(esc(b.t("list.empty"))))
	}
	if l.NextCursor != "" {
		ws = append(ws, buttons(button(b.t("button.older"), b.action(ParamOp, OpList, ParamInbox, l.Inbox.ID, ParamFilter, string(l.Filter), ParamCursor, l.NextCursor))))
	}
	c.Sections = []*cardpb.Card_Section{section("", ws...)}
	return c
}

// subject is a conversation's subject, or says it has none.
func (b Builder) subject(s string) string {
	if strings.TrimSpace(s) == "" {
		return b.t("conversation.no_subject")
	}
	return s
}

func (b Builder) customerLabel(c inbox.Conversation) string {
	switch {
	case c.CustomerName != "":
		return c.CustomerName
	case c.Customer != "":
		return c.Customer
	}
	return b.t("conversation.unknown_sender")
}

func (b Builder) statusLine(ib inbox.Inbox, c inbox.Conversation) string {
	owner := b.t("filter.unassigned")
	if c.Assignee != "" {
		owner = ib.DisplayName(c.Assignee)
	}
	return b.stageName(ib.StageOf(c)) + " · " + owner
}

// mailboxButton offers to connect the caller's own mailbox when Postfach
// cannot read it (not linked, or its consent failed), and to disconnect it
// when the caller connected it.
func (b Builder) mailboxButton(h desk.Home) *cardpb.Button {
	m := h.Mailbox
	if m != nil && m.Access == inbox.AccessOAuth && m.LastError == "" {
		return button(b.t("button.disconnect_mailbox"), b.action(ParamOp, OpDisconnect))
	}
	if b.Connect == nil || (m != nil && m.LastError == "") {
		return nil
	}
	u, err := b.Connect(h.User.Email, h.Tenant.Domain)
	if err != nil {
		return nil
	}
	return button(b.t("button.connect_mailbox"), &cardpb.OnClick{Data: &cardpb.OnClick_OpenLink{OpenLink: &cardpb.OpenLink{Url: u}}})
}
