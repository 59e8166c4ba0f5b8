package inbox_test

import (
	"testing"

	"github.com/postfach/postfach/internal/inbox"
)

func TestCountsDelta(t *testing.T) {
	t.Parallel()
	conv := func(st inbox.Status, assignee string) inbox.Conversation {
		return inbox.Conversation{Status: st, Assignee: assignee}
	}
	open, bobs, bobsPending, closedBobs := conv(inbox.StatusOpen, ""), conv(inbox.StatusOpen, "bob@x.example"),
		conv(inbox.StatusPending, "bob@x.example"), conv(inbox.StatusClosed, "bob@x.example")
	tests := []struct {
		name   string
		before *inbox.Conversation
		after  inbox.Conversation
		want   inbox.Counts
	}{
		{"create", nil, open, inbox.Counts{Open: 1, Unassigned: 1}},
		{"assign", &open, bobs, inbox.Counts{Unassigned: -1, Assigned: map[string]int{"bob@x.example": 1}}},
		{"pending keeps the owner", &bobs, bobsPending, inbox.Counts{Open: -1, Pending: 1}},
		{"close drops the owner", &bobsPending, closedBobs, inbox.Counts{Pending: -1, Closed: 1, Assigned: map[string]int{"bob@x.example": -1}}},
		{"no change", &bobs, bobs, inbox.Counts{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := inbox.CountsDelta(tc.before, tc.after)
			if !got.Equal(tc.want) {
				t.Errorf("CountsDelta = %+v, want %+v", got, tc.want)
			}
			if tc.before != nil {
				base := inbox.CountsOf(tc.before.Status, tc.before.Assignee)
				if sum := base.Add(got); !sum.Equal(inbox.CountsOf(tc.after.Status, tc.after.Assignee)) {
					t.Errorf("before + delta = %+v, want the after's counts", sum)
				}
			}
		})
	}
	if d := inbox.CountsDelta(&bobs, bobs); !d.IsZero() || d.Assigned != nil {
		t.Errorf("a zero delta = %+v, want zero with no owners", d)
	}
}
