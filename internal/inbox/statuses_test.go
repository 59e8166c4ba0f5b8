package inbox

import (
	"errors"
	"strings"
	"testing"
)

// custom is an inbox with its own statuses: the built-in open, two kinds
// of pending (the built-in one renamed) and a closed one.
func custom() Inbox {
	c := ib
	c.Settings.Workflow.Statuses = []StatusDef{
		{ID: "closed", Name: "Done", Category: StatusClosed},
		{ID: "open", Category: StatusOpen},
		{ID: "pending", Name: "Waiting on customer", Category: StatusPending},
		{ID: "waiting-3rd", Name: "Waiting on supplier", Category: StatusPending},
	}
	return c
}

func TestValidateStatuses(t *testing.T) {
	t.Parallel()
	open := StatusDef{ID: "open", Category: StatusOpen}
	pending := StatusDef{ID: "pending", Category: StatusPending}
	closed := StatusDef{ID: "closed", Category: StatusClosed}
	many := []StatusDef{open, pending, closed}
	for i := len(many); i <= MaxStatuses; i++ {
		many = append(many, StatusDef{ID: "s" + string(rune('a'+i)), Name: "S" + string(rune('a'+i)), Category: StatusOpen})
	}
	tests := []struct {
		name    string
		defs    []StatusDef
		refusal string // "" for valid; "invalid" for an error without a message id
	}{
		{"empty is the built-in three", nil, ""},
		{"built-in three", []StatusDef{open, pending, closed}, ""},
		{"custom", custom().Settings.Workflow.Statuses, ""},
		{"no pending", []StatusDef{open, closed}, "statuses.refusal.pending_empty"},
		{"no open", []StatusDef{pending, closed, {ID: "x", Name: "X", Category: StatusClosed}}, "statuses.refusal.open_empty"},
		{"no closed", []StatusDef{open, pending}, "statuses.refusal.closed_empty"},
		{"name taken, other case", []StatusDef{open, pending, closed, {ID: "a", Name: "Waiting", Category: StatusPending}, {ID: "b", Name: "waiting", Category: StatusOpen}}, "statuses.refusal.name_taken"},
		{"slash", []StatusDef{open, pending, closed, {ID: "a", Name: "On/off", Category: StatusPending}}, "statuses.refusal.name_slash"},
		{"too long", []StatusDef{open, pending, closed, {ID: "a", Name: strings.Repeat("x", MaxStatusName+1), Category: StatusPending}}, "statuses.refusal.name_too_long"},
		{"too many", many, "statuses.refusal.too_many"},
		{"id twice", []StatusDef{open, pending, closed, {ID: "open", Name: "Again", Category: StatusOpen}}, "invalid"},
		{"bad id", []StatusDef{open, pending, closed, {ID: "Bad Id", Name: "Bad", Category: StatusOpen}}, "invalid"},
		{"unknown category", []StatusDef{open, pending, closed, {ID: "a", Name: "A", Category: "later"}}, "invalid"},
		{"unnamed custom", []StatusDef{open, pending, closed, {ID: "a", Category: StatusOpen}}, "invalid"},
		{"untrimmed name", []StatusDef{open, pending, closed, {ID: "a", Name: " A", Category: StatusOpen}}, "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := ib
			in.Settings.Workflow.Statuses = tc.defs
			err := in.Validate()
			switch {
			case tc.refusal == "" && err != nil:
				t.Fatalf("Validate: %v, want nil", err)
			case tc.refusal == "":
			case !errors.Is(err, ErrInvalid):
				t.Fatalf("Validate: %v, want ErrInvalid", err)
			case tc.refusal != "invalid":
				r, ok := RefusalOf(err)
				if !ok || r.ID != tc.refusal {
					t.Fatalf("Validate: %v, want refusal %s", err, tc.refusal)
				}
			}
		})
	}
}

func TestStatusDefs(t *testing.T) {
	t.Parallel()
	var ids []string
	for _, d := range custom().StatusDefs() {
		ids = append(ids, d.ID)
	}
	if got, want := strings.Join(ids, " "), "open pending waiting-3rd closed"; got != want {
		t.Errorf("StatusDefs = %s, want %s (by category, then as defined)", got, want)
	}
	ids = nil
	for _, d := range ib.StatusDefs() {
		ids = append(ids, d.ID+"/"+d.Name)
	}
	if got, want := strings.Join(ids, " "), "open/ pending/ closed/"; got != want {
		t.Errorf("built-in StatusDefs = %s, want %s", got, want)
	}
}

func TestSetStage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		ib         Inbox
		status     Status
		stage      string
		to         string
		wantStatus Status
		wantStage  string
		wantFrom   string
		wantTo     string
		wantErr    error
	}{
		{name: "built-in by category", ib: ib, status: StatusOpen, to: "pending",
			wantStatus: StatusPending, wantStage: "pending", wantFrom: "open", wantTo: "pending"},
		{name: "custom by id", ib: custom(), status: StatusOpen, to: "waiting-3rd",
			wantStatus: StatusPending, wantStage: "waiting-3rd", wantFrom: "open", wantTo: "pending:Waiting on supplier"},
		{name: "between statuses of one category", ib: custom(), status: StatusPending, stage: "waiting-3rd", to: "pending",
			wantStatus: StatusPending, wantStage: "pending", wantFrom: "pending:Waiting on supplier", wantTo: "pending:Waiting on customer"},
		{name: "a category names its first status", ib: custom(), status: StatusOpen, to: "closed",
			wantStatus: StatusClosed, wantStage: "closed", wantFrom: "open", wantTo: "closed:Done"},
		{name: "stage of another category is the first", ib: custom(), status: StatusOpen, stage: "waiting-3rd", to: "open", wantErr: ErrUnchanged},
		{name: "unchanged", ib: custom(), status: StatusPending, stage: "waiting-3rd", to: "waiting-3rd", wantErr: ErrUnchanged},
		{name: "unnamed stage is the first", ib: custom(), status: StatusPending, to: "pending", wantErr: ErrUnchanged},
		{name: "unknown", ib: custom(), status: StatusOpen, to: "later", wantErr: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := Conversation{TenantID: "example.com", ID: "c1", InboxID: "support", Status: tc.status, Version: 3, Flow: Flow{Stage: tc.stage}}
			ev, err := c.SetStage(tc.ib, "alice@example.com", tc.to, t0)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("SetStage: %v, want %v", err, tc.wantErr)
				}
				if c.Version != 3 {
					t.Errorf("version = %d after a refused change, want 3", c.Version)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetStage: %v", err)
			}
			if c.Status != tc.wantStatus || c.Flow.Stage != tc.wantStage || c.Version != 4 {
				t.Errorf("conversation = %s/%q v%d, want %s/%q v4", c.Status, c.Flow.Stage, c.Version, tc.wantStatus, tc.wantStage)
			}
			if ev.Kind != ActStatus || ev.From != tc.wantFrom || ev.To != tc.wantTo || ev.Version != 4 {
				t.Errorf("activity = %s %q→%q v%d, want status %q→%q v4", ev.Kind, ev.From, ev.To, ev.Version, tc.wantFrom, tc.wantTo)
			}
			if cat, _ := ev.StatusTo(); cat != tc.wantStatus {
				t.Errorf("StatusTo category = %s, want %s", cat, tc.wantStatus)
			}
		})
	}
}

func TestStatusTo(t *testing.T) {
	t.Parallel()
	a := Activity{Kind: ActStatus, From: "open", To: "pending:Waiting: on customer"}
	if cat, name := a.StatusTo(); cat != StatusPending || name != "Waiting: on customer" {
		t.Errorf("StatusTo = %s %q", cat, name)
	}
	if cat, name := a.StatusFrom(); cat != StatusOpen || name != "" {
		t.Errorf("StatusFrom = %s %q", cat, name)
	}
}

func TestReceiveResetsStage(t *testing.T) {
	t.Parallel()
	in := custom()
	c := Conversation{TenantID: "example.com", ID: "c1", InboxID: "support", Status: StatusPending, Version: 2, Flow: Flow{Stage: "waiting-3rd"}}
	ev := c.Receive(in, Mail{From: Address{Email: "customer@else.org"}, Date: t0}, t0)
	if ev == nil || ev.Kind != ActReopened || ev.From != "pending:Waiting on supplier" || ev.To != "open" {
		t.Fatalf("Receive = %+v, want reopened from pending:Waiting on supplier to open", ev)
	}
	if c.Status != StatusOpen || c.Flow.Stage != "" {
		t.Errorf("conversation = %s/%q, want open/\"\"", c.Status, c.Flow.Stage)
	}
}

func TestStatusSlug(t *testing.T) {
	t.Parallel()
	taken := map[string]bool{"waiting": true, "waiting-2": true}
	tests := []struct{ in, want string }{
		{"Waiting", "waiting-3"},
		{"Warte auf Rückmeldung", "warte-auf-r-ckmeldung"},
		{"???", "status"},
		{strings.Repeat("ab", 40), strings.Repeat("ab", 16)},
	}
	for _, tc := range tests {
		if got := StatusSlug(tc.in, func(s string) bool { return taken[s] }); got != tc.want {
			t.Errorf("StatusSlug(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLeaveStatus(t *testing.T) {
	t.Parallel()
	after := custom()
	removed := after.Settings.Workflow.Statuses[3] // Waiting on supplier
	after.Settings.Workflow.Statuses = after.Settings.Workflow.Statuses[:3]
	tests := []struct {
		name, stage, to string
		wantTo          string
	}{
		{"to another category", "waiting-3rd", "closed", "closed:Done"},
		// The removed status's conversations fall back to the first
		// pending one; moving them there is still a change to log.
		{"to the fallback", "waiting-3rd", "pending", "pending:Waiting on customer"},
	}
	for _, tc := range tests {
		c := Conversation{TenantID: "example.com", ID: "c1", InboxID: "support", Status: StatusPending, Version: 3, Flow: Flow{Stage: tc.stage}}
		ev, err := c.LeaveStatus(after, removed, "alice@example.com", tc.to, t0)
		if err != nil {
			t.Fatalf("%s: LeaveStatus: %v", tc.name, err)
		}
		if ev.From != "pending:Waiting on supplier" || ev.To != tc.wantTo || c.Flow.Stage != tc.to || c.Version != 4 {
			t.Errorf("%s: %q→%q, stage %q v%d", tc.name, ev.From, ev.To, c.Flow.Stage, c.Version)
		}
	}
}
