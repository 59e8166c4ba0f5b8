package inbox

import (
	"testing"
)

// TestInboxTextIsText keeps what FuzzFormInputs found: an admin renaming
// an inbox to "\x95" (invalid UTF-8) was accepted and stored; the SQLite
// store keeps it, Firestore refuses to write it (a server error instead
// of a refusal), and Gmail's label names are made from it. Every text an
// admin types into an inbox's settings is now refused unless it is valid
// UTF-8.
func TestInboxTextIsText(t *testing.T) {
	t.Parallel()
	base := func() Inbox {
		return Inbox{TenantID: "example.com", ID: "support", Address: "support@example.com", Name: "Support",
			Members: []Member{{Email: "alice@example.com", Name: "Alice", Role: RoleAdmin}}}
	}
	tests := []struct {
		name   string
		change func(*Inbox)
	}{
		{"name", func(ib *Inbox) { ib.Name = "\x95" }},
		{"label prefix", func(ib *Inbox) { ib.Settings.LabelPrefix = "Team\xff" }},
		{"member name", func(ib *Inbox) { ib.Members[0].Name = "\xed\xa0\x80" }},
		{"status name", func(ib *Inbox) {
			ib.Settings.Workflow.Statuses = []StatusDef{{ID: "open", Category: StatusOpen}, {ID: "pending", Category: StatusPending},
				{ID: "waiting", Name: "Wait\xc0", Category: StatusPending}, {ID: "closed", Category: StatusClosed}}
		}},
		{"rule name", func(ib *Inbox) {
			ib.Settings.Workflow.Rules = []Rule{{ID: "r1", Name: "\xff", Actions: []Action{{Kind: ActionStop}}}}
		}},
		{"rule subject", func(ib *Inbox) {
			ib.Settings.Workflow.Rules = []Rule{{ID: "r1", Name: "VIP", Conditions: []Condition{{Field: FieldSubject, Value: "urgent \xfe"}},
				Actions: []Action{{Kind: ActionStop}}}}
		}},
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("base inbox: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ib := base()
			tc.change(&ib)
			err := ib.Validate()
			r, ok := RefusalOf(err)
			if !ok || r.ID != "refusal.not_text" {
				t.Fatalf("Validate = %v, want the refusal refusal.not_text", err)
			}
		})
	}
}
