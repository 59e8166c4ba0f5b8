package inbox

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Rule is one of an inbox's rules, evaluated in order on new conversations
// and new customer messages: when every condition holds (a rule without
// conditions always matches), its actions run in order. Each change a rule
// makes is an activity entry whose Via names the rule (ViaRule).
type Rule struct {
	// ID is the rule's stable key within the inbox (NewID), kept when it
	// is renamed or moved.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Disabled rules are kept but not evaluated.
	Disabled   bool        `json:"disabled,omitempty"`
	Conditions []Condition `json:"if,omitempty"`
	Actions    []Action    `json:"then"`
}

// Field is what a rule condition looks at.
type Field string

// The fields a condition can test.
const (
	// FieldFrom: the sender's address ("ceo@vip.example") or domain
	// ("vip.example", which also matches its subdomains).
	FieldFrom Field = "from"
	// FieldTo: an address the mail was sent to: To, Cc, Delivered-To,
	// X-Original-To or the Google Group of its List-Id (a group alias).
	FieldTo Field = "to"
	// FieldSubject: the subject contains the text (case-insensitive).
	FieldSubject Field = "subject"
	// FieldBody: the body's text contains the text (case-insensitive).
	// Reading it costs a messages.get of its own (see Mail.Content).
	FieldBody Field = "body"
	// FieldAttachment: the mail has an attachment; Value is unused. Also
	// read from the message content.
	FieldAttachment Field = "attachment"
)

// Fields lists the condition fields in the order the editor offers them.
var Fields = []Field{FieldFrom, FieldTo, FieldSubject, FieldBody, FieldAttachment}

// Condition is one test of a rule.
type Condition struct {
	Field Field  `json:"field"`
	Value string `json:"value,omitempty"`
}

// ActionKind is what a rule action does.
type ActionKind string

// The actions a rule can take.
const (
	ActionTag        ActionKind = "tag"         // add the tag Value
	ActionAssign     ActionKind = "assign"      // make the member Value the owner
	ActionAutoAssign ActionKind = "auto_assign" // hand it to auto-assignment
	ActionStatus     ActionKind = "status"      // set the status Value
	ActionStop       ActionKind = "stop"        // evaluate no later rule
)

// ActionKinds lists the actions in the order the editor offers them.
var ActionKinds = []ActionKind{ActionTag, ActionAssign, ActionAutoAssign, ActionStatus, ActionStop}

// Action is one thing a rule does.
type Action struct {
	Kind  ActionKind `json:"kind"`
	Value string     `json:"value,omitempty"`
}

// Bounds of an inbox's rules: each is evaluated on every customer message.
const (
	MaxRules          = 50
	MaxRuleConditions = 10
	MaxRuleActions    = 10
	maxRuleText       = 200
)

// Validate checks a rule on its own; Workflow.Validate checks the list
// and Inbox.Validate the members it names.
func (r Rule) Validate() error {
	if r.ID == "" || len(r.ID) > 40 {
		return invalidf("rule id %q", r.ID)
	}
	if strings.TrimSpace(r.Name) == "" || utf8.RuneCountInString(r.Name) > 80 {
		return Refusal("rules.refusal.rule_name")
	}
	if len(r.Conditions) > MaxRuleConditions {
		return Refusal("rules.refusal.rule_conditions", "Max", MaxRuleConditions)
	}
	if len(r.Actions) == 0 {
		return Refusal("rules.refusal.rule_no_action")
	}
	if len(r.Actions) > MaxRuleActions {
		return Refusal("rules.refusal.rule_actions", "Max", MaxRuleActions)
	}
	for _, c := range r.Conditions {
		if err := c.Validate(); err != nil {
			return err
		}
	}
	for _, a := range r.Actions {
		if err := a.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a condition's field and value.
func (c Condition) Validate() error {
	if !slices.Contains(Fields, c.Field) {
		return invalidf("rule condition field %q is unknown", c.Field)
	}
	if utf8.RuneCountInString(c.Value) > maxRuleText {
		return Refusal("rules.refusal.rule_value_long", "Max", maxRuleText)
	}
	switch c.Field {
	case FieldFrom, FieldTo:
		v := strings.TrimPrefix(c.Value, "@")
		if strings.Contains(v, "@") {
			if NormalizeEmail(v) != v {
				return Refusal("rules.refusal.rule_address", "Value", c.Value)
			}
		} else if c.Field == FieldTo || !validDomain(v) {
			return Refusal("rules.refusal.rule_address", "Value", c.Value)
		}
	case FieldSubject, FieldBody:
		if strings.TrimSpace(c.Value) == "" {
			return Refusal("rules.refusal.rule_text_empty")
		}
	}
	return nil
}

// Validate checks an action's kind and the shape of its value.
func (a Action) Validate() error {
	switch a.Kind {
	case ActionTag:
		_, err := NormalizeTag(a.Value)
		return err
	case ActionAssign:
		if NormalizeEmail(a.Value) != a.Value || a.Value == "" {
			return Refusal("rules.refusal.rule_address", "Value", a.Value)
		}
	case ActionStatus:
		if !slices.Contains(Statuses, Status(a.Value)) {
			return invalidf("rule status %q is unknown", a.Value)
		}
	case ActionAutoAssign, ActionStop:
	default:
		return invalidf("rule action %q is unknown", a.Kind)
	}
	return nil
}

// validateRuleList checks the list of rules: bounds and unique ids. The
// members assign actions name are checked when a rule is saved (an action
// naming a member who left later is skipped).
func validateRuleList(rules []Rule) error {
	if len(rules) > MaxRules {
		return Refusal("rules.refusal.too_many", "Max", MaxRules)
	}
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.ID] {
			return invalidf("rule id %s listed twice", r.ID)
		}
		seen[r.ID] = true
	}
	return nil
}

// NeedsContent reports whether a rule tests the body or attachments, so
// that a customer's mail must be read beyond its headers.
func (w Workflow) NeedsContent() bool {
	for _, r := range w.Rules {
		if r.Disabled {
			continue
		}
		for _, c := range r.Conditions {
			if c.Field == FieldBody || c.Field == FieldAttachment {
				return true
			}
		}
	}
	return false
}

// Content is what a mail says beyond its headers, read only for rules that
// need it (Workflow.NeedsContent).
type Content struct {
	// Text is the body's text (text/plain parts, or text/html stripped of
	// tags), cut to MaxContentText bytes.
	Text string
	// Attachment reports a part with a file name.
	Attachment bool
}

// MaxContentText is how much of a body rules look at.
const MaxContentText = 64 << 10

// matches reports whether the condition holds for the mail.
func (c Condition) matches(m Mail, content Content) bool {
	switch c.Field {
	case FieldFrom:
		v := strings.ToLower(strings.TrimPrefix(c.Value, "@"))
		from := m.From.Email
		if strings.Contains(v, "@") {
			return from == v
		}
		d := DomainOf(from)
		return d == v || strings.HasSuffix(d, "."+v)
	case FieldTo:
		return m.Recipients[strings.ToLower(c.Value)]
	case FieldSubject:
		return containsFold(m.Subject, c.Value)
	case FieldBody:
		return containsFold(content.Text, c.Value)
	case FieldAttachment:
		return content.Attachment
	}
	return false
}

func containsFold(s, sub string) bool {
	sub = strings.TrimSpace(sub)
	return sub != "" && strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// Via values name what made a change that no member made: a rule
// (ViaRule) or an auto-assignment policy (ViaPolicy). Activity.Via keeps
// them.
const (
	viaRulePrefix   = "rule:"
	viaPolicyPrefix = "policy:"
)

// ViaRule is the Via of a change rule r made: its id and, after a space,
// its name as it was then.
func ViaRule(r Rule) string { return viaRulePrefix + r.ID + " " + r.Name }

// ViaPolicy is the Via of a change an auto-assignment policy made.
func ViaPolicy(p AssignMode) string { return viaPolicyPrefix + string(p) }

// ViaReassign is the Via of a reassignment after the time without reply.
const ViaReassign = viaPolicyPrefix + "reassign"

// ParseVia splits a Via into its kind ("rule" or "policy"), the rule id
// or policy, and the rule's name ("" for policies). An empty or unknown
// Via gives kind "".
func ParseVia(v string) (kind, id, name string) {
	switch {
	case strings.HasPrefix(v, viaRulePrefix):
		id, name, _ = strings.Cut(strings.TrimPrefix(v, viaRulePrefix), " ")
		return "rule", id, name
	case strings.HasPrefix(v, viaPolicyPrefix):
		return "policy", strings.TrimPrefix(v, viaPolicyPrefix), ""
	}
	return "", "", ""
}

// RuleOutcome is what the inbox's rules did to a conversation for one
// mail.
type RuleOutcome struct {
	// Events are the changes, in order, each naming its rule in Via.
	Events []Activity
	// AutoAssign: a rule handed the conversation to auto-assignment.
	AutoAssign bool
	// Assigned: a rule chose the owner (auto-assignment leaves it alone).
	Assigned bool
}

// ApplyRules evaluates ib's rules in order for a customer's mail m that
// just created c (created) or was appended to it, and applies the actions
// of those that match to c. Rules assign only a conversation nobody owns:
// a later mail does not take it from its owner. The entries all carry
// c's version after the write: on creation (created) the version stays 1,
// as the rules' changes are part of the creating write; on an append the
// caller has already bumped it when the mail itself changed the state,
// and ApplyRules bumps it once (bumped reports whether it did) when the
// mail did not but a rule did.
//
// A change that would leave c as it is (a tag it has) is no entry; an
// action that cannot apply (a member who left, too many tags) is skipped.
func (ib Inbox) ApplyRules(c *Conversation, m Mail, content Content, created, bumped bool, now time.Time) RuleOutcome {
	var out RuleOutcome
	base := c.Version
	for _, r := range ib.Settings.Workflow.Rules {
		if r.Disabled || !r.matchesAll(m, content) {
			continue
		}
		stop := false
		for _, a := range r.Actions {
			var ev Activity
			var err error
			switch a.Kind {
			case ActionTag:
				ev, err = c.AddTag("", a.Value, now)
			case ActionAssign:
				if c.Assignee != "" {
					continue
				}
				ev, err = c.Assign(ib, "", a.Value, now)
				if err == nil {
					out.Assigned = true
				}
			case ActionAutoAssign:
				if c.Assignee == "" && !out.Assigned {
					out.AutoAssign = true
					c.Flow.AutoVia = ViaRule(r)
				}
				continue
			case ActionStatus:
				ev, err = c.SetStatus("", Status(a.Value), now)
			case ActionStop:
				stop = true
				continue
			}
			if err != nil {
				continue
			}
			ev.Via = ViaRule(r)
			out.Events = append(out.Events, ev)
		}
		if stop {
			break
		}
	}
	if out.Assigned {
		out.AutoAssign = false
		c.Flow.AutoVia = ""
	}
	// The rules' changes are one write: one version step at most.
	switch {
	case created:
		c.Version = 1
	case len(out.Events) > 0 && !bumped:
		c.Version = base + 1
	case len(out.Events) > 0:
		c.Version = base
	}
	for i := range out.Events {
		out.Events[i].Version = c.Version
	}
	return out
}

func (r Rule) matchesAll(m Mail, content Content) bool {
	for _, c := range r.Conditions {
		if !c.matches(m, content) {
			return false
		}
	}
	return true
}
