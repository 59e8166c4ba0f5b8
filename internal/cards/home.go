package cards

import (
	"fmt"
	"strconv"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// Home renders the homepage: one section per inbox of the caller, each count
// opening its list.
func (b Builder) Home(h desk.Home) *cardpb.Card {
	c := &cardpb.Card{
		Name:   NameHome,
		Header: &cardpb.Card_CardHeader{Title: "Shared inboxes", Subtitle: h.User.Email},
	}
	if h.Admin && len(h.Problems) > 0 {
		c.Sections = append(c.Sections, section("Needs attention", b.mailboxProblems(h.Problems)...))
	}
	if len(h.Inboxes) == 0 {
		if h.Admin {
			c.Sections = append(c.Sections, section("",
				text("Set up your first shared inbox: give it a name, its address (a Google Group or a shared mailbox) and its members."),
				buttons(button("Set up a shared inbox", b.action(ParamOp, OpSettings))),
			))
			return c
		}
		c.Sections = append(c.Sections, section("",
			text("You are not a member of any shared inbox in "+esc(h.Tenant.Domain)+" yet. Ask an admin of the inbox to add you."),
		))
		return c
	}
	for _, s := range h.Inboxes {
		var ws []*cardpb.Widget
		for _, f := range desk.HomeFilters {
			n := s.Counts[f]
			ws = append(ws, decorated(f.Label(), "<b>"+strconv.Itoa(n)+"</b>", "",
				b.action(ParamOp, OpList, ParamInbox, s.Inbox.ID, ParamFilter, string(f))))
		}
		ws = append(ws, buttons(button("Closed", b.action(ParamOp, OpList, ParamInbox, s.Inbox.ID, ParamFilter, string(desk.FilterClosed)))))
		c.Sections = append(c.Sections, section(esc(s.Inbox.Name)+" · "+esc(s.Inbox.Address), ws...))
	}
	footer := []*cardpb.Button{button("Refresh", b.action(ParamOp, OpHome))}
	if mb := b.mailboxButton(h); mb != nil {
		footer = append(footer, mb)
	}
	if h.Admin {
		footer = append(footer, button("Settings", b.action(ParamOp, OpSettings)))
	}
	c.Sections = append(c.Sections, section("",
		text("Open a mail sent to a shared inbox to see and change its owner and status."),
		buttons(footer...),
	))
	return c
}

// List renders one page of an inbox's conversations, newest first. Each row
// opens the conversation card; its button opens the thread in Gmail.
func (b Builder) List(l desk.List) *cardpb.Card {
	c := &cardpb.Card{
		Name:   NameList,
		Header: &cardpb.Card_CardHeader{Title: clip(l.Inbox.Name+" · "+l.Filter.Label(), 80), Subtitle: l.Inbox.Address},
	}
	var ws []*cardpb.Widget
	for _, conv := range l.Conversations {
		w := decorated(
			esc(customerLabel(conv))+" · "+Ago(l.Now, conv.LastMessageAt),
			"<b>"+esc(clip(conv.Subject, 120))+"</b>",
			esc(statusLine(l.Inbox, conv)),
			b.action(ParamOp, OpDetail, ParamConv, conv.ID),
		)
		w.GetDecoratedText().Control = &cardpb.DecoratedText_Button{Button: button("Gmail", b.gmailSearch(conv.RootMessageID))}
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		ws = append(ws, text("Nothing here."))
	}
	if l.NextCursor != "" {
		ws = append(ws, buttons(button("Older", b.action(ParamOp, OpList, ParamInbox, l.Inbox.ID, ParamFilter, string(l.Filter), ParamCursor, l.NextCursor))))
	}
	c.Sections = []*cardpb.Card_Section{section("", ws...)}
	return c
}

func customerLabel(c inbox.Conversation) string {
	switch {
	case c.CustomerName != "":
		return c.CustomerName
	case c.Customer != "":
		return c.Customer
	}
	return "Unknown sender"
}

func statusLine(ib inbox.Inbox, c inbox.Conversation) string {
	owner := "Unassigned"
	if c.Assignee != "" {
		owner = ib.DisplayName(c.Assignee)
	}
	return fmt.Sprintf("%s · %s", c.Status.Label(), owner)
}

// mailboxButton offers to connect the caller's own mailbox when Postfach
// cannot read it (not linked, or its consent failed), and to disconnect it
// when the caller connected it.
func (b Builder) mailboxButton(h desk.Home) *cardpb.Button {
	m := h.Mailbox
	if m != nil && m.Access == inbox.AccessOAuth && m.LastError == "" {
		return button("Disconnect my mailbox", b.action(ParamOp, OpDisconnect))
	}
	if b.Connect == nil || (m != nil && m.LastError == "") {
		return nil
	}
	u, err := b.Connect(h.User.Email, h.Tenant.Domain)
	if err != nil {
		return nil
	}
	return button("Connect my mailbox", &cardpb.OnClick{Data: &cardpb.OnClick_OpenLink{OpenLink: &cardpb.OpenLink{Url: u}}})
}
