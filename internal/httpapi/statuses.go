package httpapi

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// statusScreen answers the navigation buttons of an inbox's statuses
// (tenant admins only, checked by desk).
func (s *Server) statusScreen(c echo.Context, op string) error {
	p := addon.EventFrom(c).Common.Param
	ib, err := s.desk.InboxSettings(c.Request().Context(), user(c), p(cards.ParamInbox))
	if err != nil {
		return adminErr(err)
	}
	if op == cards.OpStatusRemoveConfirm {
		if _, ok := ib.StatusDef(p(cards.ParamStatus)); !ok {
			return reply(c, http.StatusOK, addon.Notify(s.t(c, "statuses.notice.gone")))
		}
		return push(c, s.cardsFor(c).StatusRemove(ib, p(cards.ParamStatus)))
	}
	return push(c, s.cardsFor(c).Statuses(ib))
}

// statusAction adds, renames or removes a status and shows the statuses
// screen with a notice; after a removal it replaces the confirmation.
func (s *Server) statusAction(c echo.Context, op desk.StatusOp) error {
	ev := addon.EventFrom(c)
	p, form := ev.Common.Param, ev.Common.FormValue
	a := desk.StatusAction{Op: op, InboxID: p(cards.ParamInbox), StatusID: p(cards.ParamStatus)}
	switch op {
	case desk.StatusAdd:
		a.Name, a.Category = form(cards.InputStatusName), form(cards.InputStatusCategory)
	case desk.StatusRename:
		a.Name = form(cards.StatusNameInput(a.StatusID))
	case desk.StatusRemove:
		a.Target = form(cards.InputStatusTarget)
	}
	r, err := s.desk.ChangeStatuses(c.Request().Context(), user(c), a)
	if errors.Is(err, inbox.ErrInvalid) {
		return reply(c, http.StatusOK, addon.Notify(s.userMessage(c, err)))
	}
	if err != nil {
		return adminErr(err)
	}
	b := s.cardsFor(c)
	resp := addon.UpdateCard(b.Statuses(r.Inbox), b.Message(r.Notice, nil))
	if op == desk.StatusRemove {
		// From the confirmation: back to the statuses screen beneath it.
		nav := &resp.RenderActions.Action.Navigations
		*nav = append([]addon.Navigation{{Pop: true}}, *nav...)
	}
	return reply(c, http.StatusOK, resp)
}
