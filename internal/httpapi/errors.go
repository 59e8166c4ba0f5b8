package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/manifests"
)

// badRequest marks a request whose parameters make no sense (a forged or
// broken card): 400.
func badRequest(err error) error {
	return echo.NewHTTPError(http.StatusBadRequest, err.Error()).SetInternal(err)
}

// userMessage is what the user reads about a refused input: the sentence
// of the *inbox.InvalidError in err in the user's language, or a generic
// one for an error that carries none (its text is not for users).
func (s *Server) userMessage(c echo.Context, err error) string {
	ie, ok := inbox.RefusalOf(err)
	if !ok {
		return s.t(c, "error.refused")
	}
	return s.t(c, ie.ID, ie.Args...)
}

// handleError is echo's central error handler: it maps error kinds to
// responses and logs what needs a human. Add-on endpoints answer with a card
// where the sidebar can show one.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	ctx := c.Request().Context()
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		// From the verification middleware, echo itself (404, 405) or
		// badRequest. Refusals were logged where they happened.
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && m != "" {
			msg = m
		}
		if he.Code >= 500 {
			s.log.ErrorContext(ctx, "request failed", "error", err, "path", c.Path())
		}
		_ = c.JSON(he.Code, map[string]string{"error": msg})
	case errors.Is(err, desk.ErrNotInstalled):
		_ = reply(c, http.StatusOK, addon.PushCard(s.cardsFor(c).NotInstalled(user(c).Domain)))
	case errors.As(err, new(errAdminOnly)):
		_ = reply(c, http.StatusForbidden, addon.PushCard(s.cardsFor(c).ErrorCard("error.admins_only_title", "error.admins_only_detail")))
	case errors.Is(err, inbox.ErrForbidden):
		// desk logged the refusal with its reason.
		_ = reply(c, http.StatusForbidden, addon.PushCard(s.cardsFor(c).ErrorCard("error.no_access_title", "error.no_access_detail")))
	case errors.Is(err, inbox.ErrInvalid):
		_ = c.JSON(http.StatusBadRequest, map[string]string{"error": s.userMessage(c, err)})
	case errors.Is(err, desk.ErrMessageUnavailable):
		s.log.WarnContext(ctx, "gmail refused the open message", "error", err)
		_ = reply(c, http.StatusOK, addon.PushCard(s.cardsFor(c).ErrorCard("error.unreadable_title", "error.unreadable_detail")))
	case errors.Is(err, inbox.ErrUnavailable):
		// The store could not commit in time (contention); nothing was
		// saved, and the same action may simply be tried again.
		s.log.WarnContext(ctx, "not saved: store unavailable", "error", err, "path", c.Path())
		if c.Path() == manifests.PathAction {
			_ = c.JSON(http.StatusOK, addon.Notify(s.t(c, "error.not_saved_detail")))
		} else {
			_ = c.JSON(http.StatusOK, addon.PushCard(s.cardsFor(c).ErrorCard("error.not_saved_title", "error.not_saved_detail")))
		}
	case errors.Is(err, context.Canceled):
		// The client went away; nothing to answer.
	default:
		s.log.ErrorContext(ctx, "internal error", "error", err, "path", c.Path())
		_ = reply(c, http.StatusInternalServerError, addon.PushCard(s.cardsFor(c).ErrorCard("error.generic_title", "error.generic_detail")))
	}
}
