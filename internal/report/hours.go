package report

import (
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// HoursOf returns how a report of ib measures time: its business hours and
// the time zone its days start in. An inbox without business hours counts
// wall-clock time in UTC.
//
// This is the one place that connects reports to the inbox's SLA policy:
// when the inbox has a policy, its business hours (holidays included) and
// their time zone; a policy without a weekly schedule counts around the
// clock, in its zone.
func HoursOf(ib inbox.Inbox) (Hours, *time.Location) {
	p := ib.Settings.Workflow.SLA
	if !p.Enabled() {
		return WallClock{}, time.UTC
	}
	loc, err := p.Hours.Location()
	if err != nil {
		// A stored policy validated its zone; a zone database without
		// it falls back to wall-clock time rather than failing.
		return WallClock{}, time.UTC
	}
	return businessHours{p.Hours}, loc
}

// businessHours measures an inbox's business time.
type businessHours struct{ h inbox.BusinessHours }

func (b businessHours) Elapsed(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	return b.h.Between(from, to)
}
