package i18n

import (
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Lang{
		"de-DE": German, "de-AT": German, "de-CH": German, "de": German, "de_DE": German, " DE-de ": German,
		"en-US": English, "en-GB": English, "fr-FR": English, "ja": English, "": English, "not a locale!": English,
	} {
		if got := Match(in); got != want {
			t.Errorf("Match(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestPlurals(t *testing.T) {
	t.Parallel()
	en, de := NewPrinter(English, nil), NewPrinter(German, nil)
	for _, tc := range []struct {
		p    *Printer
		n    int
		want string
	}{
		{en, 1, "1 minute ago"}, {en, 3, "3 minutes ago"},
		{de, 1, "vor 1 Minute"}, {de, 3, "vor 3 Minuten"},
	} {
		if got := tc.p.N("time.minutes_ago", tc.n); got != tc.want {
			t.Errorf("%s N(%d) = %q, want %q", tc.p.Lang(), tc.n, got, tc.want)
		}
	}
	if got := NewPrinter("fr", nil).T("time.just_now"); got != "just now" {
		t.Errorf("an unsupported language falls back to English: %q", got)
	}
	if got := en.T("no.such.id"); got != "no.such.id" {
		t.Errorf("a missing id = %q, want the id", got)
	}
}

// Times follow the user's time zone, across the date line: 23:30 UTC on
// 3 December is already the 4th in Auckland.
func TestTimesInTheUsersZone(t *testing.T) {
	t.Parallel()
	auckland, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Fatal(err)
	}
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)    // Auckland: 4 Dec 14:00; LA: 3 Dec 17:00
	mail := time.Date(2026, 12, 3, 23, 30, 0, 0, time.UTC) // Auckland: 4 Dec 12:30; LA: 3 Dec 15:30
	old := time.Date(2026, 3, 1, 9, 5, 0, 0, time.UTC)
	lastYear := time.Date(2025, 12, 3, 9, 12, 0, 0, time.UTC)
	for _, tc := range []struct {
		lang Lang
		loc  *time.Location
		t    time.Time
		want string
	}{
		{German, auckland, mail, "heute, 12:30"},
		{English, la, mail, "today, 3:30 PM"},
		{German, la, mail.Add(-24 * time.Hour), "gestern, 15:30"},
		{English, auckland, mail.Add(-24 * time.Hour), "yesterday, 12:30 PM"},
		{German, time.UTC, old, "1. März, 09:05"},
		{English, time.UTC, old, "Mar 1, 9:05 AM"},
		{German, time.UTC, lastYear, "3. Dez. 2025"},
		{English, time.UTC, lastYear, "Dec 3, 2025"},
	} {
		if got := NewPrinter(tc.lang, tc.loc).At(now, tc.t); got != tc.want {
			t.Errorf("%s in %s: At(%s) = %q, want %q", tc.lang, tc.loc, tc.t, got, tc.want)
		}
	}
	de := NewPrinter(German, auckland)
	for d, want := range map[time.Duration]string{
		10 * time.Second: "gerade eben", 5 * time.Minute: "vor 5 Minuten", time.Hour: "vor 1 Stunde", 50 * time.Hour: "vor 2 Tagen",
	} {
		if got := de.Ago(now, now.Add(-d)); got != want {
			t.Errorf("Ago(%s) = %q, want %q", d, got, want)
		}
	}
	if got := de.Ago(now, old); got != "1. März 2026" {
		t.Errorf("Ago of a date months back = %q", got)
	}
}
