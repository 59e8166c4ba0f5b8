package inbox

import (
	"testing"
	"time"
)

// fuzzZones are zones with the awkward cases: clocks changing at night
// (Europe, America), on the half hour (Lord Howe), none (India, UTC).
var fuzzZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"}

// FuzzBusinessHours: for any valid schedule, instant and duration, adding
// d of business time to t and measuring the business time back gives d,
// and the instant reached is never before t.
func FuzzBusinessHours(f *testing.F) {
	f.Add(int64(1711638000), int64(4*60), uint8(1), []byte{9, 0, 17, 0, 9, 0, 17, 0, 9, 0, 17, 0, 9, 0, 17, 0, 9, 0, 17, 0})
	f.Add(int64(1711846800), int64(30), uint8(4), []byte{1, 30, 3, 0, 2, 0, 2, 30})
	f.Add(int64(0), int64(0), uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, start int64, minutes int64, zone uint8, spans []byte) {
		h := BusinessHours{Zone: fuzzZones[int(zone)%len(fuzzZones)]}
		// Two bytes per span end (hour, quarter), alternating start and
		// end, one span per weekday in turn.
		for i := 0; i+3 < len(spans) && i < 56; i += 4 {
			d := (i / 4) % 7
			from := int(spans[i]%24)*60 + int(spans[i+1]%4)*15
			to := int(spans[i+2]%25)*60 + int(spans[i+3]%4)*15
			if to > minutesPerDay {
				to = minutesPerDay
			}
			if n := len(h.Week[d]); from >= to || n > 0 && from < h.Week[d][n-1].End {
				continue
			}
			h.Week[d] = append(h.Week[d], Span{Start: from, End: to})
		}
		if err := h.Validate(); err != nil {
			return
		}
		t0 := time.Unix(start%(4<<30), 0).UTC() // 1970–2106
		d := time.Duration(minutes%(20*24*60)) * time.Minute
		if d < 0 {
			d = -d
		}
		at := h.Add(t0, d)
		if at.IsZero() {
			return // no business time within the scan
		}
		if at.Before(t0) {
			t.Fatalf("Add(%v, %v) = %v, before the start", t0, d, at)
		}
		if got := h.Between(t0, at); got != d {
			t.Fatalf("zone %s week %v: Between(%v, Add(%v)) = %v, want %v", h.Zone, h.Week, t0, d, got, d)
		}
	})
}
