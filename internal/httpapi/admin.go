package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
)

// settings answers the "Settings" universal action: the user's own
// preferences, and for admins the admin overview below them.
func (s *Server) settings(c echo.Context) error {
	st, err := s.desk.Settings(c.Request().Context(), user(c))
	if err != nil {
		return err
	}
	return push(c, s.cardsFor(c).Settings(st))
}

// savePrefs saves the caller's own preferences and answers with the
// settings screen and a notice, both already in the language saved.
func (s *Server) savePrefs(c echo.Context) error {
	lang := addon.EventFrom(c).Common.FormValue(cards.InputLanguage)
	switch {
	case lang == cards.LanguageGmail:
		lang = ""
	case !i18n.Lang(lang).Valid():
		return badRequest(fmt.Errorf("no language %q", lang))
	}
	r, err := s.desk.SetLanguage(c.Request().Context(), user(c), lang)
	if err != nil {
		return err
	}
	forgetPrinter(c)
	b := s.cardsFor(c)
	return update(c, b.Settings(r.Settings), b.Message(r.Notice, nil))
}

// adminScreen answers the navigation buttons of the settings screens.
func (s *Server) adminScreen(c echo.Context, op string) error {
	ctx := c.Request().Context()
	u := user(c)
	if op == cards.OpSettings {
		return s.settings(c)
	}
	ib, err := s.desk.InboxSettings(ctx, u, addon.EventFrom(c).Common.Param(cards.ParamInbox))
	if err != nil {
		return adminErr(err)
	}
	if op == cards.OpConfirmDelete {
		return push(c, s.cardsFor(c).ConfirmDelete(ib))
	}
	return push(c, s.cardsFor(c).InboxSettings(ib))
}

// adminAction performs an admin action and shows where it leads: the
// inbox's settings, or the overview after a create, delete or admin change.
func (s *Server) adminAction(c echo.Context, op desk.AdminOp) error {
	ev := addon.EventFrom(c)
	p, form := ev.Common.Param, ev.Common.FormValue
	a := desk.AdminAction{
		Op:          op,
		InboxID:     p(cards.ParamInbox),
		Name:        form(cards.InputName),
		Address:     form(cards.InputAddress),
		Emails:      form(cards.InputEmails),
		Role:        form(cards.InputRole),
		LabelPrefix: form(cards.InputLabelPrefix),
		ReplyStatus: form(cards.InputReplyStatus),
		ReplyFrom:   form(cards.InputReplyFrom),

		LabelLanguage: form(cards.InputLabelLanguage),
		Lang:          s.printer(c).Lang(),
	}
	if e := p(cards.ParamEmail); e != "" {
		a.Emails = e // a member's or admin's own button
	}
	if op == desk.AdminSetRole {
		a.Role = p(cards.ParamValue)
	}
	r, err := s.desk.Admin(c.Request().Context(), user(c), a)
	if errors.Is(err, inbox.ErrInvalid) {
		return reply(c, http.StatusOK, addon.Notify(s.userMessage(c, err)))
	}
	if err != nil {
		return adminErr(err)
	}
	switch {
	case op == desk.AdminDeleteInbox:
		// Back from the confirmation and the inbox's screen to the
		// overview, which is beneath them.
		return reply(c, http.StatusOK, addon.UpdateCard(s.cardsFor(c).Settings(r.Settings), s.cardsFor(c).Message(r.Notice, nil)))
	case r.Inbox.ID != "" && op == desk.AdminCreateInbox:
		return reply(c, http.StatusOK, addon.UpdateCard(s.cardsFor(c).InboxSettings(r.Inbox), s.cardsFor(c).Message(r.Notice, nil)))
	case r.Inbox.ID != "":
		return update(c, s.cardsFor(c).InboxSettings(r.Inbox), s.cardsFor(c).Message(r.Notice, nil))
	}
	return update(c, s.cardsFor(c).Settings(r.Settings), s.cardsFor(c).Message(r.Notice, nil))
}

// adminErr turns a refusal into the card non-admins see.
func adminErr(err error) error {
	if errors.Is(err, inbox.ErrForbidden) {
		return errAdminOnly{err}
	}
	return err
}

// errAdminOnly marks a settings request by someone who is not an admin.
type errAdminOnly struct{ error }

func (e errAdminOnly) Unwrap() error { return e.error }
