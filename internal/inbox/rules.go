package inbox

// Rule is one of an inbox's rules, evaluated in order on new conversations
// and new customer messages (issue 13: conditions on sender, recipient,
// subject, body and attachments; actions tag, assign, status, stop).
type Rule struct{}

// Validate checks a rule.
func (r Rule) Validate() error { return nil }
