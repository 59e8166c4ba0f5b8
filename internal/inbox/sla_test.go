package inbox_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// slaInbox has a first-response target of 4 h and a resolution target of
// 16 h in Berlin office hours, with Good Friday and Easter Monday 2024 off
// (the clocks change to summer time on the Sunday between).
func slaInbox() inbox.Inbox {
	ib := inbox.Inbox{TenantID: "example.com", ID: "support", Address: "support@example.com", Name: "Support",
		Members: []inbox.Member{{Email: "bob@example.com", Role: inbox.RoleAgent}}, Settings: inbox.DefaultInboxSettings()}
	h := inbox.OfficeHours("Europe/Berlin")
	h.Holidays = []string{"2024-03-29", "2024-04-01"}
	ib.Settings.Workflow.SLA = inbox.SLAPolicy{FirstResponse: 4 * time.Hour, Resolution: 16 * time.Hour, Hours: h}
	return ib
}

// sweepAt runs the sweep's domain steps on c at now and returns the marks.
func sweepAt(t *testing.T, ib inbox.Inbox, c *inbox.Conversation, now time.Time) []string {
	t.Helper()
	var marks []string
	for range 10 {
		ev, th, err := c.NextSweepStep(ib, now)
		if errors.Is(err, inbox.ErrUnchanged) {
			return marks
		}
		if err != nil {
			t.Fatal(err)
		}
		if th != nil {
			marks = append(marks, fmt.Sprintf("%s %s", ev.Kind, ev.To))
		} else {
			marks = append(marks, string(ev.Kind)+" "+ev.From)
		}
	}
	t.Fatal("the sweep does not settle")
	return nil
}

func TestSLAClocksOverAHolidayWeekend(t *testing.T) {
	t.Parallel()
	loc := berlin(t)
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2024, m, d, h, min, 0, 0, loc) }
	customer := func(when time.Time) inbox.Mail {
		return inbox.Mail{Thread: inbox.ThreadHeaders{MessageID: fmt.Sprintf("<%d@customer.example>", when.Unix())}, Subject: "Help",
			From: inbox.Address{Email: "nora@customer.example"}, Date: when}
	}
	team := func(when time.Time) inbox.Mail {
		return inbox.Mail{Thread: inbox.ThreadHeaders{MessageID: fmt.Sprintf("<%d@example.com>", when.Unix())}, Subject: "Re: Help",
			From: inbox.Address{Email: "bob@example.com"}, ToCc: []inbox.Address{{Email: "nora@customer.example"}},
			Date: when, Mailbox: "bob@example.com", Sent: true}
	}
	type step struct {
		at    time.Time
		reply func(time.Time) inbox.Mail // a mail at `at`, or nil: a sweep at `at`
		late  bool                       // a sweep later than due
	}
	tests := []struct {
		name  string
		steps []step
		// want lists what each sweep marked, by the sweep's time, and
		// wantDue the moments the sweep was due after each step.
		want map[time.Time][]string
	}{
		{"no reply", []step{{at: at(3, 28, 15, 0)}, {at: at(4, 2, 10, 0)}, {at: at(4, 2, 11, 0)}, {at: at(4, 3, 11, 0)}, {at: at(4, 3, 15, 0)}},
			map[time.Time][]string{
				at(4, 2, 10, 0): {"sla_at_risk first_response"},
				at(4, 2, 11, 0): {"sla_breached first_response"},
				at(4, 3, 11, 0): {"sla_at_risk resolution"},
				at(4, 3, 15, 0): {"sla_breached resolution"},
			}},
		{"pending pauses the resolution clock", []step{
			{at: at(3, 28, 15, 0)}, {at: at(4, 2, 10, 0)}, {at: at(4, 2, 11, 0)},
			{at: at(4, 2, 11, 30), reply: team}, {at: at(4, 3, 9, 0), reply: customer}, {at: at(4, 3, 16, 30)}, {at: at(4, 4, 12, 30)}},
			map[time.Time][]string{
				at(4, 2, 10, 0):  {"sla_at_risk first_response"},
				at(4, 2, 11, 0):  {"sla_breached first_response"},
				at(4, 3, 16, 30): {"sla_at_risk resolution"},
				at(4, 4, 12, 30): {"sla_breached resolution"},
			}},
		{"a late sweep marks both thresholds at once", []step{{at: at(3, 28, 15, 0)}, {at: at(4, 2, 12, 0), late: true}},
			map[time.Time][]string{at(4, 2, 12, 0): {"sla_at_risk first_response", "sla_breached first_response"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ib := slaInbox()
			start := tc.steps[0].at
			c, _, err := inbox.StartConversation(ib, customer(start), start)
			if err != nil {
				t.Fatal(err)
			}
			got := map[time.Time][]string{}
			for i, s := range tc.steps[1:] {
				if s.reply != nil {
					c.Receive(ib, s.reply(s.at), s.at)
					continue
				}
				// The sweep is due exactly then: not a minute earlier.
				if due := c.DueAt; !due.Equal(s.at) && !s.late {
					t.Errorf("step %d: DueAt = %v, want %v", i+1, due.In(loc), s.at)
				}
				if !s.late {
					if early := sweepAt(t, ib, &c, s.at.Add(-time.Minute)); len(early) > 0 {
						t.Errorf("a minute before %v the sweep marked %v", s.at, early)
					}
				}
				if m := sweepAt(t, ib, &c, s.at); len(m) > 0 {
					got[s.at] = m
				}
			}
			for when, want := range tc.want {
				if !slices.Equal(got[when], want) {
					t.Errorf("at %v marked %v, want %v", when.In(loc), got[when], want)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("marked %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSnooze(t *testing.T) {
	t.Parallel()
	ib := slaInbox()
	t0 := time.Date(2024, 4, 2, 9, 0, 0, 0, time.UTC)
	mail := inbox.Mail{Thread: inbox.ThreadHeaders{MessageID: "<1@customer.example>"}, From: inbox.Address{Email: "nora@customer.example"}, Date: t0}
	start := func(t *testing.T) inbox.Conversation {
		c, _, err := inbox.StartConversation(ib, mail, t0)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	until := t0.Add(48 * time.Hour)
	t.Run("wakes at the time", func(t *testing.T) {
		t.Parallel()
		c := start(t)
		ev, err := c.Snooze(ib, "bob@example.com", until, t0)
		if err != nil || ev.Kind != inbox.ActSnoozed || c.Status != inbox.StatusPending || !c.DueAt.Equal(until) {
			t.Fatalf("Snooze = %+v, %v; status %s, due %v", ev, err, c.Status, c.DueAt)
		}
		if got := sweepAt(t, ib, &c, until); !slices.Equal(got, []string{"woke time"}) || c.Status != inbox.StatusOpen || c.Snoozed() {
			t.Errorf("sweep at the wake time = %v, status %s, snoozed %v", got, c.Status, c.Snoozed())
		}
	})
	t.Run("wakes when the customer writes", func(t *testing.T) {
		t.Parallel()
		c := start(t)
		if _, err := c.Snooze(ib, "bob@example.com", until, t0); err != nil {
			t.Fatal(err)
		}
		again := mail
		again.Thread.MessageID = "<2@customer.example>"
		ev := c.Receive(ib, again, t0.Add(time.Hour))
		if ev == nil || ev.Kind != inbox.ActWoke || ev.From != inbox.WokeReply || c.Status != inbox.StatusOpen || c.Snoozed() {
			t.Errorf("Receive = %+v; status %s, snoozed %v", ev, c.Status, c.Snoozed())
		}
	})
	t.Run("a status set by hand ends it", func(t *testing.T) {
		t.Parallel()
		c := start(t)
		if _, err := c.Snooze(ib, "bob@example.com", until, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SetStatus("bob@example.com", inbox.StatusClosed, t0.Add(time.Hour)); err != nil || c.Snoozed() {
			t.Errorf("SetStatus closed = %v; snoozed %v", err, c.Snoozed())
		}
	})
	t.Run("refused in the past and too far ahead", func(t *testing.T) {
		t.Parallel()
		c := start(t)
		for _, u := range []time.Time{t0, t0.Add(-time.Hour), t0.Add(inbox.MaxSnooze + time.Hour)} {
			if _, err := c.Snooze(ib, "bob@example.com", u, t0); !errors.Is(err, inbox.ErrInvalid) {
				t.Errorf("Snooze until %v = %v, want ErrInvalid", u, err)
			}
		}
	})
}
