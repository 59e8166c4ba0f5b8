package inbox

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// StatusDef is one status an inbox's admins defined. Its Category (open,
// pending or closed) is what counts, lists, SLAs and the rest of Postfach
// go by; the status itself is how the team names the step ("Waiting on
// customer", a kind of pending).
type StatusDef struct {
	// ID is the status's stable key within the inbox ([a-z0-9-], 1..40):
	// conversations (Flow.Stage) and labels refer to it, so it survives a
	// rename.
	ID string `json:"id"`
	// Name is what the team calls it; "" only for a built-in status (ID
	// equal to its category), worded by its category in the reader's (or,
	// for Gmail labels, the inbox's) language.
	Name     string `json:"name,omitempty"`
	Category Status `json:"category"`
}

// Builtin reports whether the status is worded by its category.
func (d StatusDef) Builtin() bool { return d.Name == "" }

// MaxStatuses is how many statuses one inbox may define (each is a Gmail
// label in every member's mailbox).
const MaxStatuses = 20

// MaxStatusName is how long a status's name may be, in characters.
const MaxStatusName = 40

// BuiltinStatuses are the statuses of an inbox that defines none: one per
// category, worded by it.
func BuiltinStatuses() []StatusDef {
	out := make([]StatusDef, len(Statuses))
	for i, st := range Statuses {
		out[i] = StatusDef{ID: string(st), Category: st}
	}
	return out
}

// StatusDefs returns the inbox's statuses grouped by category (open,
// pending, closed), each group in the order the admins defined it: the
// first of a category is the one a conversation takes when it moves into
// the category without naming a status (a customer's reply, the reply
// status, a category-only label change).
func (ib Inbox) StatusDefs() []StatusDef {
	defs := ib.Settings.Workflow.Statuses
	if len(defs) == 0 {
		return BuiltinStatuses()
	}
	out := make([]StatusDef, 0, len(defs))
	for _, cat := range Statuses {
		for _, d := range defs {
			if d.Category == cat {
				out = append(out, d)
			}
		}
	}
	return out
}

// StatusDef returns the inbox's status with the given id.
func (ib Inbox) StatusDef(id string) (StatusDef, bool) {
	for _, d := range ib.StatusDefs() {
		if d.ID == id {
			return d, true
		}
	}
	return StatusDef{}, false
}

// FirstStatus returns the first status of a category.
func (ib Inbox) FirstStatus(cat Status) StatusDef {
	for _, d := range ib.StatusDefs() {
		if d.Category == cat {
			return d
		}
	}
	return StatusDef{ID: string(cat), Category: cat} // unreachable for a valid inbox
}

// StageOf returns the status a conversation is in: its Flow.Stage when the
// inbox still has it in the conversation's category, else the first
// status of the category (a stage left behind by a category change, or
// removed).
func (ib Inbox) StageOf(c Conversation) StatusDef {
	if d, ok := ib.StatusDef(c.Flow.Stage); ok && d.Category == c.Status {
		return d
	}
	return ib.FirstStatus(c.Status)
}

// ResolveStatus finds the status a card or a rule names: a status id, or
// a category (open, pending, closed) for its first status, so that the
// built-in values keep working in an inbox that renamed or replaced them.
func (ib Inbox) ResolveStatus(s string) (StatusDef, error) {
	if d, ok := ib.StatusDef(s); ok {
		return d, nil
	}
	cat, err := ParseStatus(s)
	if err != nil {
		return StatusDef{}, invalidf("inbox %s has no status %q", ib.ID, s)
	}
	return ib.FirstStatus(cat), nil
}

// statusText is how an activity entry records a status: its category,
// followed by ":" and its name at the time for a named status
// ("pending:Waiting on customer"). Built-in statuses are recorded as their
// category alone, as before statuses could be defined.
func statusText(d StatusDef) string {
	if d.Builtin() {
		return string(d.Category)
	}
	return string(d.Category) + ":" + d.Name
}

// splitStatus reads a status recorded by statusText.
func splitStatus(s string) (Status, string) {
	cat, name, _ := strings.Cut(s, ":")
	return Status(cat), name
}

// StatusTo returns the category an ActStatus or ActReopened entry moved
// the conversation to, and the name of the status then ("" for a built-in
// one).
func (a Activity) StatusTo() (Status, string) { return splitStatus(a.To) }

// StatusFrom returns the category and status name the entry moved the
// conversation from.
func (a Activity) StatusFrom() (Status, string) { return splitStatus(a.From) }

// SetStage moves the conversation to the inbox's status id (a status id or
// a category, see ResolveStatus): its category becomes Status, the status
// Flow.Stage. It returns ErrUnchanged when the conversation is in that
// status already.
func (c *Conversation) SetStage(ib Inbox, actor, id string, now time.Time) (Activity, error) {
	d, err := ib.ResolveStatus(id)
	if err != nil {
		return Activity{}, err
	}
	cur := ib.StageOf(*c) // in d's category when the ids match
	if cur.ID == d.ID {
		return Activity{}, ErrUnchanged
	}
	from := statusText(cur)
	c.Status = d.Category
	c.Flow.Stage = d.ID
	return c.commit(ActStatus, actor, from, statusText(d), now), nil
}

// LeaveStatus moves a conversation that is in removed, a status its inbox
// no longer has (ib is the inbox without it), to the status id. The entry
// records removed as where it came from, whatever status of the category
// the conversation now falls back to.
func (c *Conversation) LeaveStatus(ib Inbox, removed StatusDef, actor, id string, now time.Time) (Activity, error) {
	d, err := ib.ResolveStatus(id)
	if err != nil {
		return Activity{}, err
	}
	if d.ID == removed.ID {
		return Activity{}, invalidf("status %s cannot move to itself", d.ID)
	}
	c.Status, c.Flow.Stage = d.Category, d.ID
	return c.commit(ActStatus, actor, statusText(removed), statusText(d), now), nil
}

// StatusSlug derives a new status's id from its name: lower-case letters
// and digits, anything else as '-', at most 32 characters, "status" when
// nothing is left, made unique among taken with a numeric suffix.
func StatusSlug(name string, taken func(string) bool) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 32 {
			break
		}
	}
	base := strings.Trim(b.String(), "-")
	if base == "" {
		base = "status"
	}
	id := base
	for n := 2; taken(id); n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	return id
}

// NormalizeStatusName trims a status name and checks it: 1..MaxStatusName
// characters, no "/" (Gmail nests labels on it) and no control
// characters.
func NormalizeStatusName(s string) (string, error) {
	n := strings.Join(strings.Fields(s), " ")
	switch {
	case n == "":
		return "", Refusal("statuses.refusal.name_empty")
	case utf8.RuneCountInString(n) > MaxStatusName:
		return "", Refusal("statuses.refusal.name_too_long", "Max", MaxStatusName)
	case strings.ContainsRune(n, '/'):
		return "", Refusal("statuses.refusal.name_slash")
	case strings.ContainsFunc(n, unicode.IsControl):
		return "", Refusal("statuses.refusal.name_chars")
	}
	return n, nil
}

// validateStatuses checks an inbox's own statuses; an empty list is the
// built-in three.
func validateStatuses(defs []StatusDef) error {
	if len(defs) == 0 {
		return nil
	}
	if len(defs) > MaxStatuses {
		return Refusal("statuses.refusal.too_many", "Max", MaxStatuses)
	}
	ids := map[string]bool{}
	names := map[string]bool{}
	for _, d := range defs {
		if !validSlug(d.ID) {
			return invalidf("status id %q: want 1-40 of a-z, 0-9 and -", d.ID)
		}
		if ids[d.ID] {
			return invalidf("status id %q listed twice", d.ID)
		}
		ids[d.ID] = true
		if !slices.Contains(Statuses, d.Category) {
			return invalidf("status %s has unknown category %q", d.ID, d.Category)
		}
		if d.Builtin() {
			if d.ID != string(d.Category) {
				return invalidf("status %s has no name", d.ID)
			}
			continue
		}
		if n, err := NormalizeStatusName(d.Name); err != nil {
			return err
		} else if n != d.Name {
			return invalidf("status name %q is not normalized", d.Name)
		}
		key := strings.ToLower(d.Name)
		if names[key] {
			return Refusal("statuses.refusal.name_taken", "Name", d.Name)
		}
		names[key] = true
	}
	for _, cat := range Statuses {
		if !slices.ContainsFunc(defs, func(d StatusDef) bool { return d.Category == cat }) {
			return categoryEmpty(cat)
		}
	}
	return nil
}

// categoryEmpty is the refusal of a list without a status of cat.
func categoryEmpty(cat Status) error {
	switch cat {
	case StatusOpen:
		return Refusal("statuses.refusal.open_empty")
	case StatusPending:
		return Refusal("statuses.refusal.pending_empty")
	}
	return Refusal("statuses.refusal.closed_empty")
}
