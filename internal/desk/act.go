package desk

import (
	"context"
	"errors"
	"fmt"

	"github.com/postfach/postfach/internal/inbox"
)

// Op names an action on a conversation.
type Op string

// Actions the conversation card offers.
const (
	OpAssignMe Op = "assign-me" // the caller takes it
	OpAssign   Op = "assign"    // Value = member address
	OpUnassign Op = "unassign"
	OpStatus   Op = "status" // Value = a status id of the inbox, or open | pending | closed
	OpTag      Op = "tag"    // Value = tag to add
	OpUntag    Op = "untag"  // Value = tag to remove
	OpNote     Op = "note"   // Value = note body
	// OpEditNote replaces the text of the caller's own note (not
	// version-checked: notes never collide). NoteID names it, Value is the
	// new text.
	OpEditNote Op = "note-edit"
	// OpDeleteNote deletes the caller's own note (NoteID).
	OpDeleteNote Op = "note-delete"
	// OpSnooze snoozes until Value (RFC 3339); OpUnsnooze wakes it.
	OpSnooze   Op = "snooze"
	OpUnsnooze Op = "unsnooze"
)

// ParseOp validates an action name from a card parameter.
func ParseOp(s string) (Op, error) {
	switch op := Op(s); op {
	case OpAssignMe, OpAssign, OpUnassign, OpStatus, OpTag, OpUntag, OpNote, OpEditNote, OpDeleteNote, OpSnooze, OpUnsnooze:
		return op, nil
	}
	return "", inbox.Invalid("unknown action %q", s)
}

// Action is one click on the conversation card. Everything in it came from
// the client and is checked here.
type Action struct {
	ConversationID string
	// Version is the conversation version the card showed.
	Version int64
	Op      Op
	Value   string
	NoteID  string // OpEditNote, OpDeleteNote
}

// Result is the outcome of an action: the card to show next and a short
// notification.
type Result struct {
	View   View
	Notice Message
	// Changed reports whether anything was written.
	Changed bool
}

// Act performs an action for the caller. Authorization comes first: the
// conversation must be in one of the caller's inboxes (ErrForbidden
// otherwise). If the conversation changed since a.Version, nothing is written
// and the result carries the current state with View.Collision set. Invalid
// values (an empty note, a non-member assignee) yield an error wrapping
// inbox.ErrInvalid and write nothing.
func (s *Service) Act(ctx context.Context, u User, a Action) (Result, error) {
	_, ib, me, c, err := s.load(ctx, u, a.ConversationID)
	if err != nil {
		return Result{}, err
	}
	switch a.Op {
	case OpNote:
		return s.note(ctx, ib, me, c, a.Value)
	case OpEditNote:
		return s.editNote(ctx, ib, me, c, a.NoteID, a.Value)
	case OpDeleteNote:
		return s.deleteNote(ctx, ib, me, c, a.NoteID)
	}
	if c.Version != a.Version {
		return s.collided(ctx, ib, me, c.ID, a.Version)
	}
	now := s.now()
	before := c
	var ev inbox.Activity
	switch a.Op {
	case OpAssignMe:
		ev, err = c.Assign(ib, me.Email, me.Email, now)
	case OpAssign:
		ev, err = c.Assign(ib, me.Email, a.Value, now)
	case OpUnassign:
		ev, err = c.Unassign(me.Email, now)
	case OpStatus:
		ev, err = c.SetStage(ib, me.Email, a.Value, now)
	case OpTag:
		ev, err = c.AddTag(me.Email, a.Value, now)
	case OpUntag:
		ev, err = c.RemoveTag(me.Email, a.Value, now)
	case OpSnooze, OpUnsnooze:
		ev, err = snooze(&c, ib, me, a, now)
	default:
		return Result{}, inbox.Invalid("unknown action %q", a.Op)
	}
	if errors.Is(err, inbox.ErrUnchanged) {
		v, err := s.view(ctx, ib, me, c)
		return Result{View: v, Notice: Msg("notice.unchanged")}, err
	}
	if err != nil {
		return Result{}, err
	}
	if s.relabel != nil {
		// OnChange writes the labels after the answer; should that be
		// lost (a crash, Gmail failing), the sweep writes them.
		c.OweLabels(before, now)
	}
	c.Reschedule(ib) // a status change moves the SLA clocks and the snooze
	err = s.store.UpdateConversation(ctx, c, ev)
	if errors.Is(err, inbox.ErrConflict) {
		// Someone wrote between our read and our write.
		return s.collided(ctx, ib, me, c.ID, a.Version)
	}
	if err != nil {
		return Result{}, fmt.Errorf("update conversation %s: %w", c.ID, err)
	}
	if s.onChange != nil {
		s.onChange(ctx, c)
	}
	s.afterAct(ctx, ib, ev)
	v, err := s.view(ctx, ib, me, c)
	return Result{View: v, Notice: Message{Activity: &ev}, Changed: true}, err
}

// collided reloads the conversation after a refused write and explains what
// changed since the version the caller saw.
func (s *Service) collided(ctx context.Context, ib inbox.Inbox, me inbox.Member, id string, seen int64) (Result, error) {
	c, err := s.store.GetConversation(ctx, ib.TenantID, id)
	if err != nil {
		return Result{}, fmt.Errorf("reload conversation %s: %w", id, err)
	}
	v, err := s.view(ctx, ib, me, c)
	if err != nil {
		return Result{}, err
	}
	acts, err := s.store.ListActivity(ctx, c.TenantID, c.ID, collisionScan)
	if err != nil {
		return Result{}, fmt.Errorf("list activity of %s: %w", c.ID, err)
	}
	for _, a := range acts {
		if a.Version > seen {
			v.Collision = append(v.Collision, a)
		}
	}
	notice := Msg("notice.not_saved_changed")
	if len(v.Collision) > 0 {
		notice = Message{ID: "notice.not_saved_because", Activity: &v.Collision[0]}
	}
	return Result{View: v, Notice: notice}, nil
}

// collisionScan bounds how far back a collision explanation looks.
const collisionScan = 20
