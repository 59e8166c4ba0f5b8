package chaos

import (
	"slices"
	"testing"
)

// good is a run whose end state agrees with its record: two mails of one
// thread in support, one in sales; two accepted actions and a refused one
// on the support conversation, which a customer's later mail reopened.
func good() (Record, Observed) {
	r := Record{
		Deliveries: []Delivery{
			{Inbox: "support", MessageID: "m1@x", Thread: "m1@x"},
			{Inbox: "support", MessageID: "m2@x", Thread: "m1@x"},
			{Inbox: "sales", MessageID: "m3@x", Thread: "m3@x"},
		},
		Actions: []Action{
			{Conversation: "c1", Actor: "bob@t", Op: OpAssign, Value: "bob@t", Accepted: true, Version: 2},
			{Conversation: "c1", Actor: "ann@t", Op: OpAssign, Value: "ann@t", Accepted: false},
			{Conversation: "c1", Actor: "ann@t", Op: OpStatus, Value: "closed", Accepted: true, Version: 3},
			{Conversation: "c1", Actor: "ann@t", Op: OpTag, Value: "vip", Accepted: true, Version: 4},
			{Conversation: "c1", Actor: "bob@t", Op: OpNote, Value: "call back", Accepted: true},
		},
	}
	o := Observed{
		Holding: map[string][]Ref{
			"m1@x": {{"support", "c1"}},
			"m2@x": {{"support", "c1"}},
			"m3@x": {{"sales", "c2"}},
		},
		Conversations: map[string]Conversation{
			"c1": {ID: "c1", Inbox: "support", Status: "open", Assignee: "bob@t", Tags: []string{"vip"},
				Activity: []Activity{
					{Version: 1, Kind: "created"},
					{Version: 2, Actor: "bob@t", Kind: KindAssigned, To: "bob@t"},
					{Version: 3, Actor: "ann@t", Kind: KindStatus, From: "open", To: "closed"},
					{Version: 4, Actor: "ann@t", Kind: KindTagged, To: "vip"},
					{Version: 5, Kind: KindReopened, From: "closed", To: "open"},
				},
				Notes: []string{"call back"}},
			"c2": {ID: "c2", Inbox: "sales", Status: "open", Activity: []Activity{{Version: 1, Kind: "created"}}},
		},
		Labels: []MessageLabels{
			{Mailbox: "bob@t", Message: "g1", Conversation: "c1", Got: []string{"P/Support/Mine", "P/Support/Open"}, Want: []string{"P/Support/Open", "P/Support/Mine"}},
			{Mailbox: "ann@t", Message: "g2", Conversation: "c1", Got: []string{"P/Support/Open"}, Want: []string{"P/Support/Open"}},
		},
		Counters: map[string]Counts{
			"support": {Open: 1, Assigned: map[string]int{"bob@t": 1}},
			"sales":   {Open: 1, Unassigned: 1},
		},
	}
	return r, o
}

func TestCheckAgrees(t *testing.T) {
	t.Parallel()
	r, o := good()
	if d := Check(r, o); len(d) != 0 {
		t.Fatalf("Check of an agreeing run: %v", d)
	}
	// An assignment whose answer was lost in a crash may have been saved:
	// then it is the last one.
	r.Actions = append(r.Actions, Action{Conversation: "c1", Actor: "ann@t", Op: OpAssign, Value: "ann@t", Unknown: true, Version: 6})
	c := o.Conversations["c1"]
	c.Activity = append(slices.Clone(c.Activity), Activity{Version: 6, Actor: "ann@t", Kind: KindAssigned, From: "bob@t", To: "ann@t"})
	c.Assignee = "ann@t"
	o.Conversations["c1"] = c
	o.Counters["support"] = Counts{Open: 1, Assigned: map[string]int{"ann@t": 1}}
	o.Labels = o.Labels[1:]
	if d := Check(r, o); len(d) != 0 {
		t.Fatalf("Check with a saved action whose answer was lost: %v", d)
	}
}

// TestCheckFinds breaks the agreeing run one way at a time: the oracle
// must name each.
func TestCheckFinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spoil func(*Record, *Observed)
		want  string
	}{
		{"lost message", func(_ *Record, o *Observed) { delete(o.Holding, "m2@x") }, DiffLost},
		{"message in another inbox only", func(_ *Record, o *Observed) { o.Holding["m3@x"] = []Ref{{"support", "c1"}} }, DiffLost},
		{"thread split", func(_ *Record, o *Observed) {
			o.Holding["m2@x"] = []Ref{{"support", "c3"}}
			o.Conversations["c3"] = Conversation{ID: "c3", Inbox: "support", Status: "open"}
			o.Counters["support"] = Counts{Open: 2, Unassigned: 1, Assigned: map[string]int{"bob@t": 1}}
		}, DiffMisfiled},
		{"duplicate conversation", func(_ *Record, o *Observed) {
			o.Holding["m3@x"] = []Ref{{"sales", "c2"}, {"sales", "c4"}}
			o.Conversations["c4"] = Conversation{ID: "c4", Inbox: "sales", Status: "open"}
			o.Counters["sales"] = Counts{Open: 2, Unassigned: 2}
		}, DiffDuplicate},
		{"empty duplicate conversation", func(_ *Record, o *Observed) {
			o.Conversations["c4"] = Conversation{ID: "c4", Inbox: "sales", Status: "open"}
			o.Counters["sales"] = Counts{Open: 2, Unassigned: 2}
		}, DiffDuplicate},
		{"dropped assignment", func(_ *Record, o *Observed) {
			c := o.Conversations["c1"]
			c.Activity = slices.DeleteFunc(slices.Clone(c.Activity), func(a Activity) bool { return a.Kind == KindAssigned })
			o.Conversations["c1"] = c
		}, DiffAction},
		{"dropped note", func(_ *Record, o *Observed) {
			c := o.Conversations["c1"]
			c.Notes = nil
			o.Conversations["c1"] = c
		}, DiffAction},
		{"dropped tag", func(_ *Record, o *Observed) {
			c := o.Conversations["c1"]
			c.Tags = nil
			o.Conversations["c1"] = c
		}, DiffState},
		{"refused tag written", func(r *Record, o *Observed) {
			r.Actions = append(r.Actions, Action{Conversation: "c1", Actor: "bob@t", Op: OpTag, Value: "spam", Version: 6})
			c := o.Conversations["c1"]
			c.Activity = append(slices.Clone(c.Activity), Activity{Version: 6, Actor: "bob@t", Kind: KindTagged, To: "spam"})
			o.Conversations["c1"] = c
		}, DiffAction},
		{"assignee not the last accepted", func(_ *Record, o *Observed) {
			c := o.Conversations["c1"]
			c.Assignee = "ann@t"
			o.Conversations["c1"] = c
			o.Counters["support"] = Counts{Open: 1, Assigned: map[string]int{"ann@t": 1}}
			o.Labels = o.Labels[1:]
		}, DiffState},
		{"status changed by nobody", func(_ *Record, o *Observed) {
			c := o.Conversations["c1"]
			c.Activity = append(slices.Clone(c.Activity), Activity{Version: 6, Actor: "", Kind: KindStatus, From: "open", To: "pending"})
			c.Status = "pending"
			o.Conversations["c1"] = c
			o.Counters["support"] = Counts{Pending: 1, Assigned: map[string]int{"bob@t": 1}}
			o.Labels = nil
		}, DiffState},
		{"reopened without a mail", func(_ *Record, o *Observed) {
			c := o.Conversations["c1"]
			c.Activity = c.Activity[:4]
			o.Conversations["c1"] = c
		}, DiffState},
		{"wrong label", func(_ *Record, o *Observed) {
			o.Labels[1].Got = []string{"P/Support/Closed"}
		}, DiffLabel},
		{"missing Mine", func(_ *Record, o *Observed) {
			o.Labels[0].Got = []string{"P/Support/Open"}
		}, DiffLabel},
		{"wrong counter", func(_ *Record, o *Observed) {
			o.Counters["support"] = Counts{Open: 1, Unassigned: 1}
		}, DiffCounter},
		{"counter of a missing owner", func(_ *Record, o *Observed) {
			o.Counters["sales"] = Counts{Open: 1, Unassigned: 1, Assigned: map[string]int{"ann@t": 1}}
		}, DiffCounter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, o := good()
			tc.spoil(&r, &o)
			diffs := Check(r, o)
			if !slices.ContainsFunc(diffs, func(d Diff) bool { return d.Kind == tc.want }) {
				t.Fatalf("Check found %v, want a %q", diffs, tc.want)
			}
		})
	}
}
