package i18n

import (
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// Printer says things in one language and one time zone: one per request.
type Printer struct {
	lang Lang
	loc  *time.Location
	l    *i18n.Localizer
}

// NewPrinter returns a Printer for lang (English if unsupported) and loc
// (UTC if nil).
func NewPrinter(lang Lang, loc *time.Location) *Printer {
	loadOnce.Do(load)
	if !lang.Valid() {
		lang = English
	}
	if loc == nil {
		loc = time.UTC
	}
	p := &Printer{lang: lang, loc: loc}
	if loadErr == nil {
		p.l = i18n.NewLocalizer(bundle, string(lang), string(English))
	}
	return p
}

// Lang is the Printer's language.
func (p *Printer) Lang() Lang { return p.lang }

// Location is the Printer's time zone.
func (p *Printer) Location() *time.Location { return p.loc }

// T returns message id; args are name/value pairs its template refers to
// as {{.Name}}. An id missing from the catalogs comes back as itself,
// which the catalog tests make impossible for every id the code uses.
func (p *Printer) T(id string, args ...any) string {
	return p.localize(id, nil, args)
}

// N returns the form of message id for the count n (one / other, as the
// language's plural rules say); its template sees n as {{.Count}}.
func (p *Printer) N(id string, n int, args ...any) string {
	return p.localize(id, n, args)
}

func (p *Printer) localize(id string, count any, args []any) string {
	if p.l == nil {
		return id
	}
	data := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok {
			data[k] = args[i+1]
		}
	}
	if count != nil {
		data["Count"] = count
	} else if n, ok := data["Count"].(int); ok {
		// A Count argument picks the plural form, however it came.
		count = n
	}
	s, err := p.l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if err != nil || s == "" {
		return id
	}
	return s
}

// Ago says how long before now t was: "just now", "5 minutes ago",
// "vor 3 Stunden"; beyond a month, the date.
func (p *Printer) Ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return p.T("time.just_now")
	case d < time.Hour:
		return p.N("time.minutes_ago", int(d.Minutes()))
	case d < 24*time.Hour:
		return p.N("time.hours_ago", int(d.Hours()))
	case d < 30*24*time.Hour:
		return p.N("time.days_ago", int(d.Hours()/24))
	}
	return p.Date(t)
}

// Span says a duration coarsely: "20 s", "3 min", "5 h", "2 d" (German:
// "5 Std.", "2 T.").
func (p *Printer) Span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return p.T("time.span_seconds", "N", int(d.Seconds()))
	case d < time.Hour:
		return p.T("time.span_minutes", "N", int(d.Minutes()))
	case d < 24*time.Hour:
		return p.T("time.span_hours", "N", int(d.Hours()))
	}
	return p.T("time.span_days", "N", int(d.Hours()/24))
}

// At says when t was, in the Printer's time zone, as a mail client does:
// "today, 14:05", "yesterday, 09:12", "3 Dec, 09:12" ("3. Dez., 09:12"),
// and with the year when it is not this year's.
func (p *Printer) At(now, t time.Time) string {
	t, now = t.In(p.loc), now.In(p.loc)
	clock := p.Clock(t)
	ty, tm, td := t.Date()
	ny, nm, nd := now.Date()
	yy, ym, yd := now.AddDate(0, 0, -1).Date()
	switch {
	case ty == ny && tm == nm && td == nd:
		return p.T("time.today_at", "Time", clock)
	case ty == yy && tm == ym && td == yd:
		return p.T("time.yesterday_at", "Time", clock)
	case ty == ny:
		return p.T("time.day_at", "Day", td, "Month", p.month(tm), "Time", clock)
	}
	return p.Date(t)
}

// Date says the calendar date of t in the Printer's time zone: "3 Dec
// 2025", "3. Dez. 2025".
func (p *Printer) Date(t time.Time) string {
	t = t.In(p.loc)
	return p.T("time.date", "Day", t.Day(), "Month", p.month(t.Month()), "Year", t.Year())
}

// Clock says the time of day of t in the Printer's time zone: "2:05 PM"
// in English, "14:05" in German (the layout is in the catalog).
func (p *Printer) Clock(t time.Time) string {
	return t.In(p.loc).Format(p.T("time.clock_layout"))
}

// monthIDs are the ids of the months' short names, January first.
var monthIDs = [...]string{"time.month_1", "time.month_2", "time.month_3", "time.month_4", "time.month_5", "time.month_6",
	"time.month_7", "time.month_8", "time.month_9", "time.month_10", "time.month_11", "time.month_12"}

func (p *Printer) month(m time.Month) string {
	if m < time.January || m > time.December {
		return ""
	}
	return p.T(monthIDs[m-1])
}
