// Package cards renders the sidebar screens as Google Workspace add-on cards
// (google.apps.card.v1 protos): the homepage, the conversation lists, the
// conversation card (the only screen on mobile, so every action lives there)
// and the error and "not in your inboxes" cards. It turns desk views into
// cards and nothing else: no I/O, no authorization.
//
// Every button calls one action endpoint; its parameters say what to do
// ("op") and on what ("conv", "v" for the version the card showed, …). The
// server treats them as untrusted.
package cards

import (
	"html"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
)

// Card names, for navigation.
const (
	NameHome         = "home"
	NameList         = "list"
	NameConversation = "conversation"
	NameMessage      = "message"
	NameError        = "error"
)

// Action parameter keys the cards send and the server reads.
const (
	ParamOp     = "op"
	ParamConv   = "conv"
	ParamVer    = "v"
	ParamInbox  = "inbox"
	ParamFilter = "filter"
	ParamCursor = "cursor"
	ParamValue  = "value"
)

// Screen ops (navigation, no change) the cards send besides desk ops.
const (
	OpHome    = "home"    // re-render the homepage in place
	OpInboxes = "inboxes" // push the homepage on top of the current card
	OpList    = "list"    // push a list (inbox, filter, cursor)
	OpDetail  = "detail"  // push a conversation card (conv)
	OpReload  = "reload"  // re-render a conversation card in place (conv)
	// OpReply claims the reply and opens a draft (conv); OpTakeOver
	// does so even when someone else holds the claim.
	OpReply    = "reply"
	OpTakeOver = "take-over"
	// OpDisconnect disconnects the caller's own mailbox.
	OpDisconnect = "disconnect"
)

// Form input names on the conversation card.
const (
	InputAssignee = "assignee"
	InputTag      = "tag"
	InputNote     = "note"
)

// Builder renders cards whose buttons call ActionURL.
type Builder struct {
	// ActionURL is the absolute URL of the action endpoint, exactly as the
	// deployment and the token audience know it.
	ActionURL string
	// GmailURL opens a search in Gmail; defaults to
	// https://mail.google.com/mail/u/0/#search/.
	GmailURL string
	// Connect, if set, returns the link that starts connecting a user's
	// own mailbox (offline consent); nil hides the button.
	Connect func(email, tenant string) (string, error)
	// P words the cards in the user's language and time zone; nil is
	// English and UTC.
	P *i18n.Printer
}

// english is the Printer of a Builder without one.
var english = i18n.NewPrinter(i18n.English, time.UTC)

// For returns the Builder that words its cards with p.
func (b Builder) For(p *i18n.Printer) Builder {
	b.P = p
	return b
}

// t words message id in the Builder's language.
func (b Builder) t(id string, args ...any) string { return b.p().T(id, args...) }

func (b Builder) p() *i18n.Printer {
	if b.P == nil {
		return english
	}
	return b.P
}

func (b Builder) action(params ...string) *cardpb.OnClick {
	var ps []*cardpb.Action_ActionParameter
	for i := 0; i+1 < len(params); i += 2 {
		// Values go back to the server as they are (a tag to remove must
		// match), so they are only made valid UTF-8, which a card needs.
		ps = append(ps, &cardpb.Action_ActionParameter{Key: params[i], Value: strings.ToValidUTF8(params[i+1], "\uFFFD")})
	}
	return &cardpb.OnClick{Data: &cardpb.OnClick_Action{Action: &cardpb.Action{
		Function:   b.ActionURL,
		Parameters: ps,
	}}}
}

// gmailSearch links to the conversation in Gmail by its root Message-ID.
func (b Builder) gmailSearch(messageID string) *cardpb.OnClick {
	base := b.GmailURL
	if base == "" {
		base = "https://mail.google.com/mail/u/0/#search/"
	}
	return &cardpb.OnClick{Data: &cardpb.OnClick_OpenLink{OpenLink: &cardpb.OpenLink{
		Url: base + url.PathEscape("rfc822msgid:"+messageID),
	}}}
}

func text(s string) *cardpb.Widget {
	return &cardpb.Widget{Data: &cardpb.Widget_TextParagraph{TextParagraph: &cardpb.TextParagraph{Text: safe(s)}}}
}

func decorated(top, body, bottom string, click *cardpb.OnClick) *cardpb.Widget {
	return &cardpb.Widget{Data: &cardpb.Widget_DecoratedText{DecoratedText: &cardpb.DecoratedText{
		TopLabel:    safe(top),
		Text:        safe(body),
		BottomLabel: safe(bottom),
		WrapText:    true,
		OnClick:     click,
	}}}
}

func button(label string, click *cardpb.OnClick) *cardpb.Button {
	return &cardpb.Button{Text: safe(label), OnClick: click}
}

func buttons(bs ...*cardpb.Button) *cardpb.Widget {
	return &cardpb.Widget{Data: &cardpb.Widget_ButtonList{ButtonList: &cardpb.ButtonList{Buttons: bs}}}
}

func section(header string, ws ...*cardpb.Widget) *cardpb.Card_Section {
	return &cardpb.Card_Section{Header: safe(header), Widgets: ws}
}

// esc escapes untrusted text for fields that accept simple HTML.
func esc(s string) string { return html.EscapeString(safe(s)) }

// safe makes text fit for any card field, whatever a stored value holds:
// protojson refuses to encode invalid UTF-8, which would fail the whole
// card (an HTTP 500 on every screen that shows the value), so invalid bytes
// become U+FFFD. Control characters other than a line break become spaces,
// and bidirectional overrides and isolates, which would reorder the text
// around them, are dropped. Every text of a card passes through here: the
// widget helpers call it, and esc and clip.
func safe(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069':
			return -1
		case unsafeRune(r):
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

func unsafeRune(r rune) bool {
	return r != '\n' && unicode.IsControl(r) || r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069'
}

// clip shortens s to n characters for plain-text fields such as titles,
// on one line (inbox.CleanLine).
func clip(s string, n int) string {
	r := []rune(inbox.CleanLine(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}

// Message words a desk message: a catalog sentence, an activity entry's
// description, or both (the description as the sentence's "What"). The
// text is safe: it is shown as a toast, and its arguments (names, tags,
// statuses) are stored text.
func (b Builder) Message(m desk.Message, names func(string) string) string {
	return safe(b.message(m, names))
}

func (b Builder) message(m desk.Message, names func(string) string) string {
	args := m.Args
	if m.Activity != nil {
		what := b.Describe(*m.Activity, names)
		if m.ID == "" {
			return what
		}
		args = append(append([]any(nil), args...), "What", what)
	}
	if m.ID == "" {
		return ""
	}
	return b.t(m.ID, args...)
}

// Describe words an activity entry as a sentence, with names turning
// addresses into display names: "Bob assigned this to themselves". The
// text is safe, whatever the entry holds.
func (b Builder) Describe(a inbox.Activity, names func(string) string) string {
	return safe(b.describe(a, names))
}

func (b Builder) describe(a inbox.Activity, names func(string) string) string {
	if names == nil {
		names = func(s string) string { return s }
	}
	actor := "Postfach"
	if a.Actor != "" {
		actor = names(a.Actor)
	} else if via, ok := b.ruleVia(a.Via); ok {
		actor = via
	}
	if s, ok := b.describeSLA(a, actor); ok {
		return s
	}
	switch a.Kind {
	case inbox.ActCreated:
		return b.t("activity.created")
	case inbox.ActAssigned:
		if a.To == a.Actor {
			return b.t("activity.assigned_self", "Actor", actor)
		}
		return b.t("activity.assigned", "Actor", actor, "Assignee", names(a.To))
	case inbox.ActUnassigned:
		return b.t("activity.unassigned", "Actor", actor, "Assignee", names(a.From))
	case inbox.ActStatus:
		return b.t("activity.status", "Actor", actor, "Status", b.statusName(a.StatusTo()))
	case inbox.ActTagged:
		return b.t("activity.tagged", "Actor", actor, "Tag", a.To)
	case inbox.ActUntagged:
		return b.t("activity.untagged", "Actor", actor, "Tag", a.From)
	case inbox.ActNoted:
		return b.t("activity.noted", "Actor", actor)
	case inbox.ActNoteEdited:
		return b.t("notes.activity.edited", "Actor", actor)
	case inbox.ActNoteDeleted:
		return b.t("notes.activity.deleted", "Actor", actor)
	case inbox.ActReopened:
		return b.t("activity.reopened")
	case inbox.ActReplyTakenOver:
		return b.t("claims.activity.taken_over", "Actor", actor, "Holder", names(a.From))
	case inbox.ActRepliedDuringClaim:
		return b.t("claims.activity.during_claim", "Actor", actor, "Holder", names(a.From))
	case inbox.ActDoubleReply:
		return b.t("claims.activity.double", "Actor", actor, "Other", names(a.From), "Span", b.p().Span(a.DoubleReplyGap()))
	}
	return b.t("activity.changed", "Actor", actor)
}

// status words a status.
func (b Builder) status(s inbox.Status) string {
	switch s {
	case inbox.StatusOpen:
		return b.t("status.open")
	case inbox.StatusPending:
		return b.t("status.pending")
	case inbox.StatusClosed:
		return b.t("status.closed")
	}
	return string(s)
}

// filter words a list filter.
func (b Builder) filter(f desk.Filter) string {
	switch f {
	case desk.FilterUnassigned:
		return b.t("filter.unassigned")
	case desk.FilterMine:
		return b.t("filter.mine")
	case desk.FilterOpen:
		return b.t("status.open")
	case desk.FilterPending:
		return b.t("status.pending")
	case desk.FilterClosed:
		return b.t("status.closed")
	}
	return string(f)
}

// ago says how long before now t was.
func (b Builder) ago(now, t time.Time) string { return b.p().Ago(now, t) }

// Error is the card for a request the sidebar cannot serve; title and
// detail are worded already (see ErrorCard for catalog ids).
func (b Builder) Error(title, detail string) *cardpb.Card {
	return &cardpb.Card{
		Name:   NameError,
		Header: &cardpb.Card_CardHeader{Title: clip(title, 80)},
		Sections: []*cardpb.Card_Section{section("",
			text(esc(detail)),
			buttons(button(b.t("button.back_to_inboxes"), b.action(ParamOp, OpInboxes))),
		)},
	}
}

// ErrorCard is Error with its title and detail given as message ids.
func (b Builder) ErrorCard(titleID, detailID string) *cardpb.Card {
	return b.Error(b.t(titleID), b.t(detailID))
}

// NotInstalled explains that the caller's domain has not set Postfach up.
func (b Builder) NotInstalled(domain string) *cardpb.Card {
	msg := b.t("error.not_installed")
	if domain == "" {
		msg = b.t("error.not_workspace")
	}
	return &cardpb.Card{
		Name:     NameError,
		Header:   &cardpb.Card_CardHeader{Title: "Postfach", Subtitle: safe(domain)},
		Sections: []*cardpb.Card_Section{section("", text(esc(msg)))},
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
