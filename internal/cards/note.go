package cards

import (
	"net/url"
	"strings"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// Notes and mentions: the ops, parameter and input of the note card and the
// Mentions list.
const (
	// OpNoteCard pushes the card of one note (conv, note): its history,
	// and for its author the form to edit or delete it.
	OpNoteCard = "note-card"
	// OpMentions pushes the caller's Mentions card.
	OpMentions = "mentions"
	// OpOpenMention marks one mention read and pushes its conversation
	// (conv, note).
	OpOpenMention = "mention"
	// OpMentionsRead marks all of the caller's mentions read.
	OpMentionsRead = "mentions-read"
	// ParamNote is a note id.
	ParamNote = "note_id"
	// InputNoteEdit is the note card's text field.
	InputNoteEdit = "note_edit"
	// NameNote and NameMentions name the cards.
	NameNote     = "note"
	NameMentions = "mentions"
)

// noteWidget is one note on the conversation card: who and when, the text,
// whom it notified; a tap opens its card.
func (b Builder) noteWidget(v desk.View, n inbox.Note) *cardpb.Widget {
	top := esc(v.Inbox.DisplayName(n.Author)) + " · " + b.ago(v.Now, n.CreatedAt)
	if !n.EditedAt.IsZero() {
		top += " · " + esc(b.t("notes.edited"))
	}
	bottom := ""
	if len(n.Mentions) > 0 {
		bottom = esc(b.t("notes.notified", "Names", b.names(v.Inbox, n.Mentions)))
	}
	return decorated(top, esc(n.Body), bottom, b.action(ParamOp, OpNoteCard, ParamConv, n.ConversationID, ParamNote, n.ID))
}

func (b Builder) names(ib inbox.Inbox, emails []string) string {
	out := make([]string, len(emails))
	for i, e := range emails {
		out[i] = ib.DisplayName(e)
	}
	return strings.Join(out, ", ")
}

// Note renders the card of one note: its text and whom it notified, what it
// said before each edit, and, for its author, the form to edit or delete
// it. Every write goes through desk, which checks the author again. Gmail's
// back arrow leads back to the conversation.
func (b Builder) Note(v desk.NoteView) *cardpb.Card {
	n := v.Note
	card := &cardpb.Card{
		Name: NameNote,
		Header: &cardpb.Card_CardHeader{
			Title:    b.t("notes.title"),
			Subtitle: clip(b.subject(v.Conversation.Subject), 80),
		},
	}
	top := esc(v.Inbox.DisplayName(n.Author)) + " · " + b.p().At(v.Now, n.CreatedAt)
	if !n.EditedAt.IsZero() {
		top += " · " + esc(b.t("notes.edited_at", "At", b.p().At(v.Now, n.EditedAt)))
	}
	bottom := ""
	if len(n.Mentions) > 0 {
		bottom = esc(b.t("notes.notified", "Names", b.names(v.Inbox, n.Mentions)))
	}
	ws := []*cardpb.Widget{decorated(top, esc(n.Body), bottom, nil)}
	act := func(op desk.Op) *cardpb.OnClick {
		return b.action(ParamOp, string(op), ParamConv, v.Conversation.ID, ParamVer, itoa(v.Conversation.Version), ParamNote, n.ID)
	}
	if n.Author == v.Me.Email {
		ws = append(ws,
			&cardpb.Widget{Data: &cardpb.Widget_TextInput{TextInput: &cardpb.TextInput{
				Name: InputNoteEdit, Label: b.t("notes.edit_label"), Value: safe(n.Body), HintText: b.t("conversation.note_hint"),
				Type: cardpb.TextInput_MULTIPLE_LINE, Validation: &cardpb.Validation{CharacterLimit: inbox.MaxNoteLength},
			}}},
			buttons(
				button(b.t("notes.save"), act(desk.OpEditNote)),
				button(b.t("notes.delete"), act(desk.OpDeleteNote)),
			),
			text("<i>"+esc(b.t("notes.kept_in_history"))+"</i>"),
		)
	}
	card.Sections = append(card.Sections, section("", ws...))
	var hist []*cardpb.Widget
	for _, a := range v.History {
		if a.Kind != inbox.ActNoteEdited {
			continue
		}
		hist = append(hist, decorated(esc(b.t("notes.before_edit", "Actor", v.Inbox.DisplayName(a.Actor)))+" · "+b.p().At(v.Now, a.At), esc(a.From), "", nil))
	}
	if len(hist) > 0 {
		card.Sections = append(card.Sections, section(b.t("notes.earlier_versions"), hist...))
	}
	return card
}

// mentionsSection is the homepage's list of the caller's unread mentions.
func (b Builder) mentionsSection(l desk.MentionList) *cardpb.Card_Section {
	n := len(l.Mentions)
	header := b.t("mentions.title")
	if n > 0 {
		count := itoa(int64(n))
		if l.More {
			count += "+"
		}
		header = b.t("mentions.unread", "Count", n, "N", count)
	}
	var ws []*cardpb.Widget
	for _, m := range l.Mentions {
		ws = append(ws, b.mentionWidget(l, m))
	}
	if n == 0 {
		ws = append(ws, text("<i>"+esc(b.t("mentions.none_unread"))+"</i>"))
	}
	ws = append(ws, buttons(button(b.t("mentions.all"), b.action(ParamOp, OpMentions))))
	return section(header, ws...)
}

func (b Builder) mentionWidget(l desk.MentionList, m inbox.Mention) *cardpb.Widget {
	ib := l.Inboxes[m.InboxID]
	top := esc(ib.DisplayName(m.Author)) + " · " + b.ago(l.Now, m.At) + " · " + esc(ib.Name)
	body := esc(m.Excerpt)
	if m.Unread() {
		body = "<b>" + body + "</b>"
	}
	return decorated(top, body, esc(clip(b.subject(m.Subject), 80)),
		b.action(ParamOp, OpOpenMention, ParamConv, m.ConversationID, ParamNote, m.NoteID))
}

// Mentions renders the caller's newest mentions, read and unread; each
// opens its conversation.
func (b Builder) Mentions(l desk.MentionList) *cardpb.Card {
	card := &cardpb.Card{Name: NameMentions, Header: &cardpb.Card_CardHeader{Title: b.t("mentions.title")}}
	var ws []*cardpb.Widget
	unread := false
	for _, m := range l.Mentions {
		ws = append(ws, b.mentionWidget(l, m))
		unread = unread || m.Unread()
	}
	if len(ws) == 0 {
		ws = append(ws, text(esc(b.t("mentions.none"))))
	}
	var bs []*cardpb.Button
	if unread {
		bs = append(bs, button(b.t("mentions.mark_all_read"), b.action(ParamOp, OpMentionsRead)))
	}
	bs = append(bs, button(b.t("button.my_inboxes"), b.action(ParamOp, OpInboxes)))
	ws = append(ws, text("<i>"+esc(b.t("mentions.hint"))+"</i>"), buttons(bs...))
	card.Sections = []*cardpb.Card_Section{section("", ws...)}
	return card
}

// MentionMail words the mail that tells a member a note named them: who,
// in which conversation, what the note says, and how to get there. It is
// plain text; the caller sends it. Stored text in it (names, the subject,
// the note) is made safe as on the cards: the subject is one clean line,
// and no line carries invalid UTF-8, a control or a bidi formatting
// character.
func (b Builder) MentionMail(n desk.MentionNotice) (subject, text string) {
	subj := b.subject(n.Conversation.Subject)
	subject = inbox.CleanLine(b.t("mentions.mail_subject", "Author", n.AuthorName, "Subject", inbox.CleanLine(subj)))
	link := b.GmailURL
	if link == "" {
		link = "https://mail.google.com/mail/u/0/#search/"
	}
	var t strings.Builder
	t.WriteString(mailLine(b.t("mentions.mail_intro", "Author", n.AuthorName, "Inbox", n.Inbox.Name, "Subject", subj)))
	t.WriteString("\r\n\r\n")
	for _, line := range strings.Split(n.Note.Body, "\n") {
		t.WriteString("> " + mailLine(line) + "\r\n")
	}
	t.WriteString("\r\n")
	t.WriteString(mailLine(b.t("mentions.mail_open", "Customer", b.customerLabel(n.Conversation))))
	t.WriteString("\r\n" + link + url.PathEscape("rfc822msgid:"+n.Conversation.RootMessageID) + "\r\n\r\n")
	t.WriteString("-- \r\n" + mailLine(b.t("mentions.mail_footer", "Inbox", n.Inbox.Name)))
	t.WriteString("\r\n")
	return subject, t.String()
}

// mailLine makes text fit for a line of a plain-text mail: safe, without
// the carriage returns and line breaks the mail's own CRLF lines are
// made of.
func mailLine(s string) string { return safe(mailBreaks.Replace(s)) }

var mailBreaks = strings.NewReplacer("\r", "", "\n", " ")
