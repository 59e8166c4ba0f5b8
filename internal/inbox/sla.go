package inbox

// SLAPolicy is an inbox's service level policy (issue 13: first-response
// and resolution targets in business hours, holidays, the inbox's time
// zone, thresholds).
type SLAPolicy struct{}

// Validate checks the policy.
func (p SLAPolicy) Validate() error { return nil }

// SLAState is a conversation's SLA clocks (issue 13).
type SLAState struct{}
