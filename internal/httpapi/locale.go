package httpapi

import (
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/i18n"
)

// printerKey caches a request's Printer in its echo context.
const printerKey = "postfach.printer"

// printer words a request's answers: in the language the user chose in
// their settings, else of the locale Gmail sent (English without one), and
// in the user's time zone (UTC without one). Gmail sends both only when
// the deployment asks for them (addOns.common.useLocaleFromApp and the
// script.locale scope). The user's choice comes from desk.Language, which
// caches it: no store read per card in steady state.
func (s *Server) printer(c echo.Context) *i18n.Printer {
	if p, ok := c.Get(printerKey).(*i18n.Printer); ok {
		return p
	}
	lang, loc := i18n.English, time.UTC
	if ev := addon.EventFrom(c); ev != nil {
		lang = i18n.Match(ev.Common.UserLocale)
		if tz := ev.Common.TimeZone; tz != nil {
			loc = location(tz.ID, int64(tz.Offset))
		}
	}
	if u := user(c); u.Email != "" {
		chosen, err := s.desk.Language(c.Request().Context(), u)
		if err != nil {
			// The card still answers, in Gmail's language.
			s.log.WarnContext(c.Request().Context(), "language preference unavailable", "user", u.Email, "error", err)
		}
		if l := i18n.Lang(chosen); l.Valid() {
			lang = l
		}
	}
	p := i18n.NewPrinter(lang, loc)
	c.Set(printerKey, p)
	return p
}

// forgetPrinter drops a request's Printer, so that the next card is worded
// with the preferences it just saved.
func forgetPrinter(c echo.Context) { c.Set(printerKey, nil) }

// cardsFor is the card builder for a request, in its user's language.
func (s *Server) cardsFor(c echo.Context) cards.Builder {
	return s.cards.For(s.printer(c))
}

// t words a message id for a request's user.
func (s *Server) t(c echo.Context, id string, args ...any) string {
	return s.printer(c).T(id, args...)
}

var locations sync.Map // IANA name → *time.Location

// location is the time zone named id, or, when the name is unknown, a
// fixed zone of offsetMillis.
func location(id string, offsetMillis int64) *time.Location {
	if id != "" {
		if l, ok := locations.Load(id); ok {
			return l.(*time.Location)
		}
		if l, err := time.LoadLocation(id); err == nil && id != "Local" {
			locations.Store(id, l)
			return l
		}
	}
	const day = 24 * 60 * 60 * 1000
	if offsetMillis <= -day || offsetMillis >= day {
		return time.UTC
	}
	return time.FixedZone("", int(offsetMillis/1000))
}
