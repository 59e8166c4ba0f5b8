package httpapi

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/inbox"
)

// noteScreen answers the note card and the Mentions screens. Every id
// comes from the card and is checked by desk.
func (s *Server) noteScreen(c echo.Context, op string) error {
	ctx := c.Request().Context()
	u, param := user(c), addon.EventFrom(c).Common.Param
	b := s.cardsFor(c)
	switch op {
	case cards.OpNoteCard:
		v, err := s.desk.Note(ctx, u, param(cards.ParamConv), param(cards.ParamNote))
		if errors.Is(err, inbox.ErrInvalid) {
			// Deleted meanwhile: say so and keep the card.
			return reply(c, http.StatusOK, addon.Notify(s.userMessage(c, err)))
		}
		if err != nil {
			return err
		}
		return push(c, b.Note(v))
	case cards.OpOpenMention:
		v, err := s.desk.OpenMention(ctx, u, param(cards.ParamConv), param(cards.ParamNote))
		if err != nil {
			return err
		}
		return push(c, b.Conversation(v))
	case cards.OpMentionsRead:
		l, notice, err := s.desk.MarkMentionsRead(ctx, u)
		if err != nil {
			return err
		}
		return update(c, b.Mentions(l), b.Message(notice, nil))
	default: // cards.OpMentions
		l, err := s.desk.Mentions(ctx, u, false)
		if err != nil {
			return err
		}
		return push(c, b.Mentions(l))
	}
}
