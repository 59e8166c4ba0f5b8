package inbox

// Assignment is an inbox's auto-assignment policy (issue 13: off, round
// robin or least open conversations; capacity; reassignment after a
// time without reply; members who are away).
type Assignment struct{}

// Validate checks the policy.
func (a Assignment) Validate() error { return nil }
