package inbox

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Template is a canned response of one inbox: a text its members insert
// into a reply, with placeholders filled for the conversation at hand.
// Members create and edit an inbox's templates; a Locked one only the
// inbox's admins (and the tenant's) may change or unlock.
//
// # Placeholders
//
// A placeholder is a name between double braces, spaces inside allowed:
// {{customer.name}}, {{ agent.name }}. The names are those of
// Placeholders; any other name, or "{{" without its "}}", is refused when
// the template is saved (Validate), so a saved template always renders.
// There is no escape: a template cannot show a literal "{{".
type Template struct {
	TenantID  string
	InboxID   string
	ID        string
	Name      string // what the lists show, 1..MaxTemplateNameLength characters
	Body      string // the text, with placeholders
	Locked    bool   // only admins may change it
	CreatedAt time.Time
	UpdatedAt time.Time
	UpdatedBy string // the address of the last editor
}

// Bounds of a template, in characters.
const (
	MaxTemplateNameLength = 80
	MaxTemplateLength     = 5000
)

// Placeholder names.
const (
	PlaceholderCustomerName    = "customer.name"    // the customer's name, else their address
	PlaceholderAgentName       = "agent.name"       // the member inserting the template
	PlaceholderInboxName       = "inbox.name"       // the inbox's name
	PlaceholderConversationRef = "conversation.ref" // the conversation's reference (ConversationRef)
)

// Placeholders are the names a template may use, in the order the
// sidebar lists them.
var Placeholders = []string{PlaceholderCustomerName, PlaceholderAgentName, PlaceholderInboxName, PlaceholderConversationRef}

// TemplateValues are what a template's placeholders are filled with. An
// unknown value is "" (a compose window without a conversation has no
// reference).
type TemplateValues struct {
	CustomerName    string
	AgentName       string
	InboxName       string
	ConversationRef string
}

func (v TemplateValues) value(name string) string {
	switch name {
	case PlaceholderCustomerName:
		return v.CustomerName
	case PlaceholderAgentName:
		return v.AgentName
	case PlaceholderInboxName:
		return v.InboxName
	case PlaceholderConversationRef:
		return v.ConversationRef
	}
	return ""
}

// ConversationRef is the short reference of a conversation that customers
// and colleagues can quote: "#" and the first 8 characters of its id after
// the "c", upper-cased ("#3F9A01BC"). It is derived, never stored.
func ConversationRef(c Conversation) string {
	id := strings.TrimPrefix(c.ID, "c")
	if len(id) > 8 {
		id = id[:8]
	}
	if id == "" {
		return ""
	}
	return "#" + strings.ToUpper(id)
}

// Validate checks the template's keys and fields; the refusals of what a
// member typed (name, body, placeholders) carry a message id.
func (t Template) Validate() error {
	switch {
	case !validDomain(t.TenantID):
		return invalidf("template tenant %q is not a domain name", t.TenantID)
	case !validSlug(t.InboxID):
		return invalidf("template inbox id %q is invalid", t.InboxID)
	case t.ID == "" || strings.ContainsAny(t.ID, "/\x00") || len(t.ID) > 64:
		return invalidf("template id %q is invalid", t.ID)
	}
	name := strings.TrimSpace(t.Name)
	if name == "" || name != t.Name || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxTemplateNameLength {
		return Refusal("refusal.template_name", "Max", MaxTemplateNameLength)
	}
	if strings.TrimSpace(t.Body) == "" {
		return Refusal("refusal.template_empty")
	}
	if !utf8.ValidString(t.Body) {
		return Refusal("refusal.template_not_text")
	}
	if n := utf8.RuneCountInString(t.Body); n > MaxTemplateLength {
		return Refusal("refusal.template_too_long", "N", n, "Max", MaxTemplateLength)
	}
	_, err := parseTemplate(t.Body)
	return err
}

// ValidateUpdate checks a template changed by Store.UpdateTemplate against
// the stored one: its keys and creation time stay.
func (t Template) ValidateUpdate(stored Template) error {
	if t.TenantID != stored.TenantID || t.InboxID != stored.InboxID || t.ID != stored.ID {
		return invalidf("template %s/%s/%s cannot move to %s/%s/%s", stored.TenantID, stored.InboxID, stored.ID, t.TenantID, t.InboxID, t.ID)
	}
	return t.Validate()
}

// templatePart is a literal text (name == "") or a placeholder.
type templatePart struct{ text, name string }

// parseTemplate splits a body into text and placeholders, refusing an
// unknown name or an unclosed "{{".
func parseTemplate(body string) ([]templatePart, error) {
	var parts []templatePart
	rest := body
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				parts = append(parts, templatePart{text: rest})
			}
			return parts, nil
		}
		if i > 0 {
			parts = append(parts, templatePart{text: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, Refusal("refusal.template_unclosed", "Known", placeholderList())
		}
		name := strings.TrimSpace(rest[i+2 : i+2+j])
		if !slices.Contains(Placeholders, name) {
			return nil, Refusal("refusal.template_placeholder", "Name", "{{"+name+"}}", "Known", placeholderList())
		}
		parts = append(parts, templatePart{name: name})
		rest = rest[i+2+j+2:]
	}
}

// placeholderList is Placeholders as a template writes them, for
// refusals.
func placeholderList() string {
	out := make([]string, len(Placeholders))
	for i, p := range Placeholders {
		out[i] = "{{" + p + "}}"
	}
	return strings.Join(out, ", ")
}

// Render returns the template's body with its placeholders filled from v.
// A body that does not parse (never the case for a stored template) is
// returned as it is.
func (t Template) Render(v TemplateValues) string {
	parts, err := parseTemplate(t.Body)
	if err != nil {
		return t.Body
	}
	var b strings.Builder
	for _, p := range parts {
		if p.name == "" {
			b.WriteString(p.text)
		} else {
			b.WriteString(v.value(p.name))
		}
	}
	return b.String()
}
