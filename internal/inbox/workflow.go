package inbox

import (
	"encoding/json"
	"fmt"
	"time"
)

// Workflow is an inbox's workflow configuration: rules, auto-assignment and
// the SLA policy. Stores keep it as one JSON value (so a field added here
// needs no migration, and one they do not know survives a round trip
// through an older binary only if it is not written back: add fields with
// omitempty/omitzero and keep old ones readable). Each part validates
// itself.
type Workflow struct {
	Rules      []Rule     `json:"rules,omitempty"`
	Assignment Assignment `json:"assignment,omitzero"`
	SLA        SLAPolicy  `json:"sla,omitzero"`
	// Statuses are the inbox's own statuses (statuses.go); empty is the
	// built-in open, pending and closed.
	Statuses []StatusDef `json:"statuses,omitempty"`
}

// Validate checks every part of the workflow.
func (w Workflow) Validate() error {
	if err := validateRuleList(w.Rules); err != nil {
		return err
	}
	for i, r := range w.Rules {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("rule %d: %w", i+1, err)
		}
	}
	if err := w.Assignment.Validate(); err != nil {
		return fmt.Errorf("assignment: %w", err)
	}
	if err := w.SLA.Validate(); err != nil {
		return fmt.Errorf("sla: %w", err)
	}
	if err := validateStatuses(w.Statuses); err != nil {
		return fmt.Errorf("statuses: %w", err)
	}
	return nil
}

// Flow is a conversation's workflow state: snooze, assignment time, SLA
// clocks. Stores keep it as one JSON value beside the conversation's
// indexed fields; DueAt (on Conversation) is what the sweep queries.
type Flow struct {
	// SnoozedUntil is when a snoozed conversation wakes; zero when it is
	// not snoozed.
	SnoozedUntil time.Time `json:"snoozedUntil,omitzero"`
	// AssignedAt is when the current assignee got the conversation; zero
	// when unassigned (or assigned before it was kept).
	AssignedAt time.Time `json:"assignedAt,omitzero"`
	// AutoAssigned reports that auto-assignment chose the assignee.
	AutoAssigned bool `json:"autoAssigned,omitempty"`
	// AutoVia is set while the conversation waits for auto-assignment:
	// the Via (rule or policy) that handed it over. Written with the mail
	// that caused it, so a decision lost to a crash is taken up again.
	AutoVia string `json:"autoVia,omitempty"`
	// SLA is the state of the inbox's SLA clocks for the conversation.
	SLA SLAState `json:"sla,omitzero"`
	// Stage is the id of the inbox's status (StatusDef) the conversation
	// is in, within its category Conversation.Status; "" (or a status the
	// inbox no longer has in that category) is the category's first.
	Stage string `json:"stage,omitempty"`
	// LabelsOwed is set by a change that moves the labels (OweLabels),
	// made in the sidebar or by the sync: Gmail's labels are written after
	// the change is committed, and a crash or a failing Gmail in between
	// would leave them showing the old state for good.
	// From this moment on the sweep writes them again (NextDue), unless
	// a later write of the conversation superseded the change.
	LabelsOwed time.Time `json:"labelsOwed,omitzero"`
}

// SameLabels reports whether two states of a conversation show the same
// Gmail labels: status, owner (Mine) and snooze.
func (c Conversation) SameLabels(o Conversation) bool {
	return c.Status == o.Status && c.Flow.Stage == o.Flow.Stage &&
		c.Assignee == o.Assignee && c.Snoozed() == o.Snoozed()
}

// LabelsGrace is how long after a change the sweep writes its Gmail labels
// again (Flow.LabelsOwed): the change's own writer has long done it by
// then, unless that was lost.
const LabelsGrace = 30 * time.Second

// OweLabels records in c, about to be written, that the change from before
// moved what its Gmail labels show (Flow.LabelsOwed), so that the sweep
// writes them should its writer's own label write be lost. Reschedule
// afterwards puts the debt into DueAt.
func (c *Conversation) OweLabels(before Conversation, now time.Time) {
	if !before.SameLabels(*c) {
		c.Flow.LabelsOwed = now.Add(LabelsGrace)
	}
}

// EncodeJSON is the stored form of a Workflow or a Flow: "{}" for the zero
// value.
func EncodeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	return string(b), nil
}

// DecodeJSON reads a value stored by EncodeJSON into v; "" leaves v zero.
func DecodeJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}
