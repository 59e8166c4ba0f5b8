package inbox

import (
	"errors"
	"slices"
	"strings"
	"time"
)

// ActivityKind names what happened to a conversation.
type ActivityKind string

// Activity kinds.
const (
	ActCreated    ActivityKind = "created"    // the conversation was opened
	ActAssigned   ActivityKind = "assigned"   // To = the new assignee, From = the old one
	ActUnassigned ActivityKind = "unassigned" // From = the old assignee
	ActStatus     ActivityKind = "status"     // From/To = statuses (see Activity.StatusTo)
	ActTagged     ActivityKind = "tagged"     // To = the tag
	ActUntagged   ActivityKind = "untagged"   // From = the tag
	ActNoted      ActivityKind = "noted"      // To = the note id
	// ActNoteEdited: To = the note id, From = its text before the edit.
	ActNoteEdited ActivityKind = "note_edited"
	// ActNoteDeleted: To = the note id, From = the text it had.
	ActNoteDeleted ActivityKind = "note_deleted"
)

// Activity is one entry of a conversation's append-only log: who did what,
// when. Version is the conversation version the change produced (0 for
// entries that do not change the conversation record, such as notes).
type Activity struct {
	TenantID       string
	ConversationID string
	ID             string
	Version        int64
	Actor          string // member address, or "" for Postfach itself
	Kind           ActivityKind
	From           string
	To             string
	At             time.Time
	// Via names the rule or policy that made a change no member made
	// (ViaRule, ViaPolicy); "" otherwise.
	Via string
}

// ErrUnchanged is returned by a change that would leave the conversation as
// it is (assigning it to its current owner, say). Nothing needs writing.
var ErrUnchanged = errors.New("nothing to change")

// MaxTags is how many tags one conversation may carry.
const MaxTags = 20

// NormalizeTag lower-cases and trims a tag and checks it: 1-32 characters of
// letters, digits, '-', '_' and inner spaces.
func NormalizeTag(s string) (string, error) {
	t := strings.ToLower(strings.Join(strings.Fields(s), " "))
	if t == "" {
		return "", Refusal("refusal.tag_empty")
	}
	if len([]rune(t)) > 32 {
		return "", Refusal("refusal.tag_too_long", "Tag", t)
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == ' ' || r > 127 && r != '\u00a0') {
			return "", Refusal("refusal.tag_chars", "Tag", t)
		}
	}
	return t, nil
}

// NewConversation starts a conversation in an inbox from its first mail.
func NewConversation(ib Inbox, root, subject, customer, customerName string, at, now time.Time) (Conversation, Activity, error) {
	root = NormalizeMessageID(root)
	if root == "" {
		return Conversation{}, Activity{}, invalidf("the mail has no usable Message-ID")
	}
	// An empty subject stays empty: the screens say "(no subject)" in
	// the reader's language.
	subject = strings.TrimSpace(subject)
	c := Conversation{
		TenantID:      ib.TenantID,
		ID:            ConversationID(ib.ID, root),
		InboxID:       ib.ID,
		RootMessageID: root,
		Subject:       subject,
		Customer:      NormalizeEmail(customer),
		CustomerName:  strings.TrimSpace(customerName),
		Status:        StatusOpen,
		CreatedAt:     at,
		LastMessageAt: at,
		Version:       1,
		UpdatedAt:     now,
	}
	if err := c.Validate(); err != nil {
		return Conversation{}, Activity{}, err
	}
	return c, c.activity(ActCreated, "", "", "", now), nil
}

// Assign makes assignee, a member of ib, the owner.
func (c *Conversation) Assign(ib Inbox, actor, assignee string, now time.Time) (Activity, error) {
	assignee = NormalizeEmail(assignee)
	if _, ok := ib.Member(assignee); !ok {
		return Activity{}, Refusal("refusal.not_member", "Email", assignee, "Inbox", ib.Name)
	}
	if c.Assignee == assignee {
		return Activity{}, ErrUnchanged
	}
	from := c.Assignee
	c.Assignee = assignee
	// A member's choice (auto-assignment marks its own afterwards): the
	// reassignment clock starts, and does not run for it.
	c.Flow.AssignedAt, c.Flow.AutoAssigned = now, false
	ev := c.commit(ActAssigned, actor, from, assignee, now)
	c.Reschedule(ib)
	return ev, nil
}

// Unassign removes the owner.
func (c *Conversation) Unassign(actor string, now time.Time) (Activity, error) {
	if c.Assignee == "" {
		return Activity{}, ErrUnchanged
	}
	from := c.Assignee
	c.Assignee = ""
	c.Flow.AssignedAt, c.Flow.AutoAssigned = time.Time{}, false
	return c.commit(ActUnassigned, actor, from, "", now), nil
}

// SetStatus moves the conversation to status s.
func (c *Conversation) SetStatus(actor string, s Status, now time.Time) (Activity, error) {
	if !slices.Contains(Statuses, s) {
		return Activity{}, invalidf("unknown status %q", s)
	}
	if c.Status == s {
		return Activity{}, ErrUnchanged
	}
	from := c.Status
	c.moveStatus(s, now)
	c.Flow.Stage = "" // the category's first status
	return c.commit(ActStatus, actor, string(from), string(s), now), nil
}

// AddTag adds a tag (normalised by NormalizeTag).
func (c *Conversation) AddTag(actor, tag string, now time.Time) (Activity, error) {
	t, err := NormalizeTag(tag)
	if err != nil {
		return Activity{}, err
	}
	if slices.Contains(c.Tags, t) {
		return Activity{}, ErrUnchanged
	}
	if len(c.Tags) >= MaxTags {
		return Activity{}, Refusal("refusal.too_many_tags", "Max", MaxTags)
	}
	c.Tags = append(slices.Clone(c.Tags), t)
	slices.Sort(c.Tags)
	return c.commit(ActTagged, actor, "", t, now), nil
}

// RemoveTag removes a tag.
func (c *Conversation) RemoveTag(actor, tag string, now time.Time) (Activity, error) {
	t, err := NormalizeTag(tag)
	if err != nil {
		return Activity{}, err
	}
	i := slices.Index(c.Tags, t)
	if i < 0 {
		return Activity{}, ErrUnchanged
	}
	c.Tags = slices.Delete(slices.Clone(c.Tags), i, i+1)
	return c.commit(ActUntagged, actor, t, "", now), nil
}

// NoteActivity is the log entry for a note added to the conversation.
func (c Conversation) NoteActivity(n Note) Activity {
	return c.activity(ActNoted, n.Author, "", n.ID, n.CreatedAt)
}

// commit bumps the version and returns the entry that records the change.
func (c *Conversation) commit(kind ActivityKind, actor, from, to string, now time.Time) Activity {
	c.Version++
	c.UpdatedAt = now
	c.UpdatedBy = actor
	return c.activity(kind, actor, from, to, now)
}

func (c Conversation) activity(kind ActivityKind, actor, from, to string, now time.Time) Activity {
	v := c.Version
	if kind == ActNoted {
		v = 0
	}
	return Activity{
		TenantID:       c.TenantID,
		ConversationID: c.ID,
		ID:             NewID(now),
		Version:        v,
		Actor:          actor,
		Kind:           kind,
		From:           from,
		To:             to,
		At:             now,
	}
}

// ValidateFor checks that an activity entry is complete and belongs to the
// conversation tenantID/conversationID. Stores call it before appending.
func (a Activity) ValidateFor(tenantID, conversationID string) error {
	switch {
	case a.TenantID != tenantID || a.ConversationID != conversationID:
		return invalidf("activity %s belongs to %s/%s, not %s/%s", a.ID, a.TenantID, a.ConversationID, tenantID, conversationID)
	case a.ID == "":
		return invalidf("activity has no id")
	case a.Kind == "":
		return invalidf("activity %s has no kind", a.ID)
	}
	return nil
}
