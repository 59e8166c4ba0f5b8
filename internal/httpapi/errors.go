package httpapi

import (
	"context"
	"errors"
	"net/http"
	"unicode"
	"unicode/utf8"

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

// userMessage is what the user reads about a refused input: the reason of
// the *inbox.InvalidError in err, as a sentence, or a generic text for an
// error that carries none (its text is not for users).
func userMessage(err error) string {
	reason, ok := inbox.UserReason(err)
	if !ok {
		return "That did not work"
	}
	r, n := utf8.DecodeRuneInString(reason)
	return string(unicode.ToUpper(r)) + reason[n:]
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
		_ = reply(c, http.StatusOK, addon.PushCard(s.cards.NotInstalled(user(c).Domain)))
	case errors.As(err, new(errAdminOnly)):
		_ = reply(c, http.StatusForbidden, addon.PushCard(s.cards.Error(
			"Admins only", "Only an admin of your organisation's Postfach can change its settings.")))
	case errors.Is(err, inbox.ErrForbidden):
		// desk logged the refusal with its reason.
		_ = reply(c, http.StatusForbidden, addon.PushCard(s.cards.Error(
			"No access", "This conversation is not in any of your shared inboxes.")))
	case errors.Is(err, inbox.ErrInvalid):
		_ = c.JSON(http.StatusBadRequest, map[string]string{"error": userMessage(err)})
	case errors.Is(err, desk.ErrMessageUnavailable):
		s.log.WarnContext(ctx, "gmail refused the open message", "error", err)
		_ = reply(c, http.StatusOK, addon.PushCard(s.cards.Error(
			"Could not read this mail", "Gmail did not let Postfach read this message. Close and reopen it; if that does not help, reinstall the add-on.")))
	case errors.Is(err, inbox.ErrUnavailable):
		// The store could not commit in time (contention); nothing was
		// saved, and the same action may simply be tried again.
		s.log.WarnContext(ctx, "not saved: store unavailable", "error", err, "path", c.Path())
		const msg = "Not saved: too many changes at once — try again"
		if c.Path() == manifests.PathAction {
			_ = c.JSON(http.StatusOK, addon.Notify(msg))
		} else {
			_ = c.JSON(http.StatusOK, addon.PushCard(s.cards.Error("Not saved", msg)))
		}
	case errors.Is(err, context.Canceled):
		// The client went away; nothing to answer.
	default:
		s.log.ErrorContext(ctx, "internal error", "error", err, "path", c.Path())
		_ = reply(c, http.StatusInternalServerError, addon.PushCard(s.cards.Error(
			"Something went wrong", "Postfach could not do that. Try again in a moment.")))
	}
}
