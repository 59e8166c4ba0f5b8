package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// PathSLASweep is the scheduled task that wakes snoozed conversations and
// marks (and mails) SLA thresholds.
const PathSLASweep = "/tasks/sla-sweep"

// slaRoutes adds the SLA sweep behind the scheduler's OIDC check.
func (s *Server) slaRoutes(task echo.MiddlewareFunc) {
	s.taskRoute(PathSLASweep, task, func(ctx context.Context) (any, error) {
		return s.desk.SweepDue(ctx)
	})
}

// slaScreen shows an inbox's SLA screen (cards.OpSLA) or saves it
// (cards.OpSaveSLA). desk checks that the caller is an admin of the
// tenant or of the inbox.
func (s *Server) slaScreen(c echo.Context, op string) error {
	ctx := c.Request().Context()
	ev := addon.EventFrom(c)
	inboxID := ev.Common.Param(cards.ParamInbox)
	if op == cards.OpSLA {
		ib, err := s.desk.SLAPolicy(ctx, user(c), inboxID)
		if err != nil {
			return adminErr(err)
		}
		return push(c, s.cardsFor(c).SLAPolicy(ib))
	}
	form := ev.Common.FormValue
	f := desk.SLAForm{FirstResponse: form(cards.InputSLAFirst), Resolution: form(cards.InputSLAResolve),
		AtRisk: form(cards.InputSLAAtRisk), Zone: form(cards.InputSLAZone), Holidays: form(cards.InputSLAHolidays)}
	for d := range f.Days {
		f.Days[d] = form(cards.InputSLADay(time.Weekday(d)))
	}
	p, err := f.Policy()
	if err == nil {
		var ib inbox.Inbox
		if ib, err = s.desk.SetSLAPolicy(ctx, user(c), inboxID, p); err == nil {
			return update(c, s.cardsFor(c).SLAPolicy(ib), s.t(c, "sla.saved"))
		}
	}
	if errors.Is(err, inbox.ErrInvalid) {
		return reply(c, http.StatusOK, addon.Notify(s.userMessage(c, err)))
	}
	return adminErr(err)
}

// snoozePicked is the snooze time chosen in the card's date-time picker,
// as RFC 3339; "" when none was.
func snoozePicked(ev *addon.Event) string {
	in, ok := ev.Common.FormInputs[cards.InputSnoozeUntil]
	if !ok || in.DateTimeInput == nil {
		return ""
	}
	return in.DateTimeInput.Time().Format(time.RFC3339)
}
