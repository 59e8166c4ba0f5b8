package inbox

import (
	"fmt"
	"slices"
	"sync"
	"time"

	// The zone database is embedded so that business hours are computed
	// the same on every host, including containers without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Span is a stretch of one day's business hours, in minutes after the local
// midnight: [Start, End).
type Span struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// minutesPerDay bounds Span.End.
const minutesPerDay = 24 * 60

// BusinessHours is a weekly schedule in an IANA time zone with holidays.
// Week is indexed by time.Weekday (Sunday first); a day without spans is
// closed. A schedule without any span at all is open around the clock
// (holidays still close). Times are wall-clock times in Zone, so a span of
// 09:00–17:00 is eight hours on most days and still 09:00–17:00 on the day
// the clocks change.
type BusinessHours struct {
	Zone string `json:"zone,omitempty"` // IANA name; "" is UTC
	// Week holds each weekday's spans, sorted and not overlapping.
	Week [7][]Span `json:"week,omitzero"`
	// Holidays are closed dates ("2006-01-02") in Zone, sorted.
	Holidays []string `json:"holidays,omitempty"`
}

// OfficeHours is the schedule an SLA policy starts from: Monday to Friday,
// 09:00 to 17:00.
func OfficeHours(zone string) BusinessHours {
	h := BusinessHours{Zone: zone}
	for d := time.Monday; d <= time.Friday; d++ {
		h.Week[d] = []Span{{Start: 9 * 60, End: 17 * 60}}
	}
	return h
}

// maxHolidays bounds BusinessHours.Holidays.
const maxHolidays = 200

// Validate checks the zone, the spans and the holidays.
func (h BusinessHours) Validate() error {
	if _, err := h.Location(); err != nil {
		return Refusal("refusal.sla_zone", "Zone", h.Zone)
	}
	for d, spans := range h.Week {
		last := -1
		for _, s := range spans {
			if s.Start < 0 || s.End > minutesPerDay || s.Start >= s.End || s.Start < last {
				return Refusal(slaHoursRefusal[d])
			}
			last = s.End
		}
	}
	if len(h.Holidays) > maxHolidays {
		return Refusal("refusal.sla_holidays_many", "Max", maxHolidays)
	}
	for _, d := range h.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return Refusal("refusal.sla_holiday", "Date", d)
		}
	}
	return nil
}

var zones sync.Map // IANA name → *time.Location

// Location is the schedule's time zone. It returns an error for a name the
// zone database does not know.
func (h BusinessHours) Location() (*time.Location, error) {
	if h.Zone == "" || h.Zone == "UTC" {
		return time.UTC, nil
	}
	if l, ok := zones.Load(h.Zone); ok {
		return l.(*time.Location), nil
	}
	if h.Zone == "Local" {
		return nil, fmt.Errorf("time zone %q is not a zone name", h.Zone)
	}
	l, err := time.LoadLocation(h.Zone)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", h.Zone, err)
	}
	zones.Store(h.Zone, l)
	return l, nil
}

// around reports a schedule that is open around the clock.
func (h BusinessHours) around() bool {
	for _, spans := range h.Week {
		if len(spans) > 0 {
			return false
		}
	}
	return true
}

// maxScanDays bounds how far the business-time functions look ahead: a
// schedule that is open a few hours a year still ends within it, and a bad
// one (every day a holiday) cannot loop for ever.
const maxScanDays = 3 * 366

// openings calls fn with each business interval of the day of t (in loc),
// in order. It returns false when fn does.
func (h BusinessHours) openings(loc *time.Location, day time.Time, fn func(from, to time.Time) bool) bool {
	y, m, d := day.Date()
	if slices.Contains(h.Holidays, day.Format(time.DateOnly)) {
		return true
	}
	if h.around() {
		return fn(time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc))
	}
	for _, s := range h.Week[day.Weekday()] {
		// time.Date normalises a wall time the clock change skips, so a
		// span starting in the gap starts when the day resumes.
		from := time.Date(y, m, d, s.Start/60, s.Start%60, 0, 0, loc)
		to := time.Date(y, m, d, s.End/60, s.End%60, 0, 0, loc)
		if s.End == minutesPerDay {
			to = time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		}
		if !to.After(from) {
			continue
		}
		if !fn(from, to) {
			return false
		}
	}
	return true
}

// Add returns the instant at which d of business time has passed after t.
// A zero d returns t itself, even outside business hours. It returns the
// zero time when the schedule has no business time within maxScanDays.
func (h BusinessHours) Add(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	loc, err := h.Location()
	if err != nil {
		return time.Time{}
	}
	left := d
	var at time.Time
	day := t.In(loc)
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	for i := 0; i < maxScanDays && at.IsZero(); i++ {
		h.openings(loc, day, func(from, to time.Time) bool {
			if !to.After(t) {
				return true
			}
			if from.Before(t) {
				from = t
			}
			if span := to.Sub(from); span >= left {
				at = from.Add(left)
				return false
			} else {
				left -= span
			}
			return true
		})
		day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
	}
	return at
}

// Between returns the business time from a to b; zero when b is not after a.
func (h BusinessHours) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	loc, err := h.Location()
	if err != nil {
		return 0
	}
	var sum time.Duration
	day := a.In(loc)
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	for !day.After(b) {
		h.openings(loc, day, func(from, to time.Time) bool {
			if from.Before(a) {
				from = a
			}
			if to.After(b) {
				to = b
			}
			if to.After(from) {
				sum += to.Sub(from)
			}
			return true
		})
		day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
	}
	return sum
}

// slaHoursRefusal names, per weekday (time.Weekday), the refusal of that
// day's business hours: one sentence each, so that every language words
// the day itself.
var slaHoursRefusal = [7]string{"refusal.sla_hours_0", "refusal.sla_hours_1", "refusal.sla_hours_2", "refusal.sla_hours_3", "refusal.sla_hours_4", "refusal.sla_hours_5", "refusal.sla_hours_6"}

// SLAHoursRefusal is the refusal of weekday d's business hours.
func SLAHoursRefusal(d time.Weekday) error { return Refusal(slaHoursRefusal[d]) }
