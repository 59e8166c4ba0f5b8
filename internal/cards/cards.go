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
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

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

// Ago renders how long before now t was, the way the sidebar says it.
func Ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < 30*24*time.Hour:
		return span(d) + " ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

// span renders a duration coarsely: "20 s", "3 min", "5 h", "2 d".
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d d", int(d.Hours()/24))
}

// Error is the card for a request the sidebar cannot serve.
func (b Builder) Error(title, detail string) *cardpb.Card {
	return &cardpb.Card{
		Name:   NameError,
		Header: &cardpb.Card_CardHeader{Title: clip(title, 80)},
		Sections: []*cardpb.Card_Section{section("",
			text(esc(detail)),
			buttons(button("Back to my inboxes", b.action(ParamOp, OpInboxes))),
		)},
	}
}

// NotInstalled explains that the caller's domain has not set Postfach up.
func (b Builder) NotInstalled(domain string) *cardpb.Card {
	msg := "Postfach is not set up for your organisation yet. Ask your Google Workspace admin to install it and create a shared inbox."
	if domain == "" {
		msg = "Postfach works with Google Workspace accounts. This account is not part of a Workspace organisation."
	}
	return &cardpb.Card{
		Name:     NameError,
		Header:   &cardpb.Card_CardHeader{Title: "Postfach", Subtitle: domain},
		Sections: []*cardpb.Card_Section{section("", text(esc(msg)))},
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
