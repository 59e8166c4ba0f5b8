package inbox

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Note is an internal comment on a conversation, visible to the inbox's team
// only, never to the customer. Its author may edit and delete it; the
// activity log keeps every earlier text (ActNoteEdited, ActNoteDeleted).
type Note struct {
	TenantID       string
	ConversationID string
	ID             string
	Author         string
	Body           string
	// Mentions are the members the note notified, lower case and sorted:
	// everyone it ever named, so an edit that drops a name does not take
	// back a notification and one that names someone again does not
	// repeat it.
	Mentions  []string
	CreatedAt time.Time
	EditedAt  time.Time // zero until the first edit
}

// MaxNoteLength is the longest note body, in characters.
const MaxNoteLength = 2000

// NewNote validates and builds a note. Its Mentions are set by the caller,
// from Inbox.Mentions.
func NewNote(c Conversation, author, body string, now time.Time) (Note, error) {
	body, err := checkNoteBody(body)
	if err != nil {
		return Note{}, err
	}
	return Note{
		TenantID:       c.TenantID,
		ConversationID: c.ID,
		ID:             NewID(now),
		Author:         author,
		Body:           body,
		CreatedAt:      now,
	}, nil
}

func checkNoteBody(body string) (string, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return "", Refusal("refusal.note_empty")
	}
	if !utf8.ValidString(body) {
		return "", Refusal("refusal.note_not_text")
	}
	if n := utf8.RuneCountInString(body); n > MaxNoteLength {
		return "", Refusal("refusal.note_too_long", "N", n, "Max", MaxNoteLength)
	}
	return body, nil
}

// Edit replaces the note's text for its author. mentions (from
// Inbox.Mentions of the new text) are added to the note's Mentions. The
// entry it returns keeps the previous text in From. Returns a refusal for
// anyone but the author or an invalid text, ErrUnchanged when neither the
// text nor the mentions change.
func (n *Note) Edit(actor, body string, mentions []string, now time.Time) (Activity, error) {
	if NormalizeEmail(actor) != n.Author {
		return Activity{}, Refusal("refusal.note_not_yours")
	}
	body, err := checkNoteBody(body)
	if err != nil {
		return Activity{}, err
	}
	all := mergeAddresses(n.Mentions, mentions)
	if body == n.Body && slices.Equal(all, n.Mentions) {
		return Activity{}, ErrUnchanged
	}
	before := n.Body
	n.Body, n.Mentions, n.EditedAt = body, all, now
	return n.activity(ActNoteEdited, actor, before, now), nil
}

// Delete returns the entry that records the note's deletion by actor,
// keeping its text in From. Returns a refusal for anyone but the author.
func (n Note) Delete(actor string, now time.Time) (Activity, error) {
	if NormalizeEmail(actor) != n.Author {
		return Activity{}, Refusal("refusal.note_not_yours")
	}
	return n.activity(ActNoteDeleted, actor, n.Body, now), nil
}

func (n Note) activity(kind ActivityKind, actor, from string, now time.Time) Activity {
	return Activity{
		TenantID:       n.TenantID,
		ConversationID: n.ConversationID,
		ID:             NewID(now),
		Actor:          actor,
		Kind:           kind,
		From:           from,
		To:             n.ID,
		At:             now,
	}
}

// Validate checks a note as stores keep it.
func (n Note) Validate() error {
	switch {
	case n.TenantID == "" || n.ConversationID == "" || n.ID == "":
		return invalidf("a note needs a tenant, a conversation and an id")
	case strings.TrimSpace(n.Body) == "":
		return invalidf("note %s is empty", n.ID)
	case n.CreatedAt.IsZero():
		return invalidf("note %s has no time", n.ID)
	}
	for _, m := range n.Mentions {
		if NormalizeEmail(m) != m {
			return invalidf("note %s mentions %q, which is not a lower-case address", n.ID, m)
		}
	}
	return nil
}

// mentionToken finds "@name" and "@name@domain" where the @ starts a word,
// so that an address written in a note (jane@example.com) is not one.
var mentionToken = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_.+@-])@([\p{L}\p{N}_.+-]+(?:@[\p{L}\p{N}.-]+)?)`)

// MaxMentions is how many members one note may notify.
const MaxMentions = 20

// Mentions resolves the members a note names — "@bob" (the local part of
// a member's address, or a one-word display name) or "@bob@acme.com" —
// lower case, sorted and without the author. Everyone named must be a
// member of ib: a name that is not, or that fits two members, is refused
// with a sentence that says how to write it.
func (ib Inbox) Mentions(author, body string) ([]string, error) {
	var out []string
	add := func(e string) {
		if e != NormalizeEmail(author) && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	for _, sub := range mentionToken.FindAllStringSubmatch(body, -1) {
		name := strings.ToLower(strings.TrimRight(sub[1], ".-"))
		if name == "" {
			continue
		}
		e, err := ib.resolveMention(name)
		if err != nil {
			return nil, err
		}
		add(e)
	}
	if len(out) > MaxMentions {
		return nil, Refusal("refusal.too_many_mentions", "Max", MaxMentions)
	}
	slices.Sort(out)
	return out, nil
}

func (ib Inbox) resolveMention(name string) (string, error) {
	if strings.Contains(name, "@") {
		if m, ok := ib.Member(name); ok {
			return m.Email, nil
		}
		return "", ib.notMentionable(name)
	}
	var found []string
	for _, m := range ib.Members {
		local, _, _ := strings.Cut(m.Email, "@")
		if local == name || strings.ToLower(m.Name) == name {
			found = append(found, m.Email)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", ib.notMentionable(name)
	}
	return "", Refusal("refusal.mention_ambiguous", "Name", "@"+name, "First", "@"+found[0], "Second", "@"+found[1])
}

// notMentionable refuses a name that is no member, listing how the
// members are written.
func (ib Inbox) notMentionable(name string) error {
	var handles []string
	for _, m := range ib.Members {
		if len(handles) == 10 {
			handles = append(handles, "…")
			break
		}
		handles = append(handles, ib.MentionHandle(m.Email))
	}
	return Refusal("refusal.mention_not_member", "Name", "@"+name, "Inbox", ib.Name, "Members", strings.Join(handles, ", "))
}

// MentionHandle is how a note names a member: "@" and the local part of
// the address, or the whole address when another member shares the local
// part.
func (ib Inbox) MentionHandle(email string) string {
	local, _, _ := strings.Cut(email, "@")
	for _, m := range ib.Members {
		if l, _, _ := strings.Cut(m.Email, "@"); l == local && m.Email != email {
			return "@" + email
		}
	}
	return "@" + local
}

// mergeAddresses returns the sorted union of a and b.
func mergeAddresses(a, b []string) []string {
	out := slices.Clone(a)
	for _, e := range b {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return slices.Clip(out)
}

// Mention tells a member that a note named them. There is one per member
// and note: its key is (TenantID, Recipient, NoteID).
type Mention struct {
	TenantID       string
	Recipient      string
	NoteID         string
	ConversationID string
	InboxID        string
	Author         string
	Subject        string // the conversation's subject when the note was written
	Excerpt        string // the start of the note, at most MaxExcerpt characters
	At             time.Time
	ReadAt         time.Time // zero while unread
}

// MaxExcerpt is how much of a note a Mention keeps.
const MaxExcerpt = 140

// Unread reports whether the recipient has not seen the mention yet.
func (m Mention) Unread() bool { return m.ReadAt.IsZero() }

// NewMention is the mention of recipient by note n of conversation c. Stores
// build one for every address a note adds to its Mentions.
func NewMention(c Conversation, n Note, recipient string) Mention {
	return Mention{
		TenantID:       n.TenantID,
		Recipient:      recipient,
		NoteID:         n.ID,
		ConversationID: n.ConversationID,
		InboxID:        c.InboxID,
		Author:         n.Author,
		Subject:        c.Subject,
		Excerpt:        Excerpt(n.Body, MaxExcerpt),
		At:             n.EditedAtOrCreated(),
	}
}

// EditedAtOrCreated is when the note got its current text.
func (n Note) EditedAtOrCreated() time.Time {
	if !n.EditedAt.IsZero() {
		return n.EditedAt
	}
	return n.CreatedAt
}

// Excerpt is text on one line, cut to at most max characters (with "…").
func Excerpt(text string, max int) string {
	s := strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:max-1])) + "…"
}
