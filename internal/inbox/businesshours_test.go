package inbox_test

import (
	"errors"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestBusinessHoursAddAndBetween(t *testing.T) {
	t.Parallel()
	loc := berlin(t)
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, loc) }
	office := inbox.OfficeHours("Europe/Berlin")
	xmas := office
	xmas.Holidays = []string{"2024-12-25", "2024-12-26"}
	// Sundays 01:00–04:00 (the night the clocks change) and Mondays 09:00–17:00.
	night := inbox.BusinessHours{Zone: "Europe/Berlin"}
	night.Week[time.Sunday] = []inbox.Span{{Start: 60, End: 4 * 60}}
	night.Week[time.Monday] = []inbox.Span{{Start: 9 * 60, End: 17 * 60}}
	around := inbox.BusinessHours{Zone: "Europe/Berlin"}
	tests := []struct {
		name  string
		hours inbox.BusinessHours
		from  time.Time
		add   time.Duration
		want  time.Time
	}{
		{"within a day", office, at(2024, 3, 4, 10, 0), 3 * time.Hour, at(2024, 3, 4, 13, 0)},
		{"before opening", office, at(2024, 3, 4, 7, 0), time.Hour, at(2024, 3, 4, 10, 0)},
		{"over the weekend", office, at(2024, 3, 1, 16, 0), 2 * time.Hour, at(2024, 3, 4, 10, 0)},
		{"from a Saturday", office, at(2024, 3, 2, 12, 0), 30 * time.Minute, at(2024, 3, 4, 9, 30)},
		{"over Christmas", xmas, at(2024, 12, 24, 16, 0), 2 * time.Hour, at(2024, 12, 27, 10, 0)},
		{"exactly the day's end", office, at(2024, 3, 4, 9, 0), 8 * time.Hour, at(2024, 3, 4, 17, 0)},
		{"zero", office, at(2024, 3, 2, 12, 0), 0, at(2024, 3, 2, 12, 0)},
		{"spring forward: 01-04 is two hours", night, at(2024, 3, 31, 0, 0), 150 * time.Minute, at(2024, 4, 1, 9, 30)},
		{"fall back: 01-04 is four hours", night, at(2024, 10, 27, 0, 0), 4 * time.Hour, at(2024, 10, 27, 4, 0)},
		{"around the clock over the spring change", around, at(2024, 3, 30, 12, 0), 24 * time.Hour, at(2024, 3, 31, 13, 0)},
		{"around the clock skips a holiday", inbox.BusinessHours{Zone: "Europe/Berlin", Holidays: []string{"2024-05-01"}}, at(2024, 4, 30, 20, 0), 6 * time.Hour, at(2024, 5, 2, 2, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.hours.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got := tc.hours.Add(tc.from, tc.add)
			if !got.Equal(tc.want) {
				t.Errorf("Add(%v, %v) = %v, want %v", tc.from, tc.add, got.In(loc), tc.want)
			}
			if b := tc.hours.Between(tc.from, tc.want); b != tc.add {
				t.Errorf("Between(%v, %v) = %v, want %v", tc.from, tc.want, b, tc.add)
			}
		})
	}
}

func TestBusinessHoursValidate(t *testing.T) {
	t.Parallel()
	bad := func(f func(*inbox.BusinessHours)) inbox.BusinessHours {
		h := inbox.OfficeHours("Europe/Berlin")
		f(&h)
		return h
	}
	tests := []struct {
		name  string
		hours inbox.BusinessHours
	}{
		{"unknown zone", bad(func(h *inbox.BusinessHours) { h.Zone = "Mars/Olympus" })},
		{"Local", bad(func(h *inbox.BusinessHours) { h.Zone = "Local" })},
		{"span ends before it starts", bad(func(h *inbox.BusinessHours) { h.Week[1] = []inbox.Span{{Start: 600, End: 540}} })},
		{"span past midnight", bad(func(h *inbox.BusinessHours) { h.Week[1] = []inbox.Span{{Start: 600, End: 1441}} })},
		{"overlapping spans", bad(func(h *inbox.BusinessHours) { h.Week[1] = []inbox.Span{{Start: 540, End: 720}, {Start: 700, End: 800}} })},
		{"holiday not a date", bad(func(h *inbox.BusinessHours) { h.Holidays = []string{"25.12.2024"} })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.hours.Validate(); !errors.Is(err, inbox.ErrInvalid) {
				t.Errorf("Validate = %v, want ErrInvalid", err)
			}
		})
	}
}
