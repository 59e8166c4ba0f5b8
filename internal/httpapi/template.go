package httpapi

import (
	"errors"
	"html"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// compose answers the compose trigger: the templates of the inboxes the
// draft belongs to, by its thread when Gmail names one, else by its
// recipients (sent with draftAccess METADATA).
func (s *Server) compose(c echo.Context) error {
	ev := addon.EventFrom(c)
	var d desk.ComposeDraft
	if g := ev.Gmail; g != nil {
		d.ThreadID = g.ThreadID
		d.Recipients = slices.Concat(g.ToRecipients, g.CcRecipients, g.BccRecipients)
	}
	cp, err := s.desk.Compose(c.Request().Context(), user(c), d)
	if err != nil {
		return err
	}
	return push(c, s.cardsFor(c).Compose(cp))
}

// isTemplateOp reports whether op is one of the templates' actions.
func isTemplateOp(op string) bool {
	switch op {
	case cards.OpTemplates, cards.OpTemplateEdit, cards.OpTemplateSave, cards.OpTemplateDelete, cards.OpTemplateInsert:
		return true
	}
	return false
}

// templateAction answers the templates' buttons. Every id the card sends
// is authorized by desk.
func (s *Server) templateAction(c echo.Context, op string) error {
	ctx := c.Request().Context()
	ev := addon.EventFrom(c)
	u := user(c)
	param := ev.Common.Param
	inboxID, id := param(cards.ParamInbox), param(cards.ParamTemplate)
	b := s.cardsFor(c)
	switch op {
	case cards.OpTemplates:
		ts, err := s.desk.Templates(ctx, u, inboxID)
		if err != nil {
			return err
		}
		return push(c, b.Templates(ts))
	case cards.OpTemplateEdit:
		if id == "" {
			ts, err := s.desk.Templates(ctx, u, inboxID)
			if err != nil {
				return err
			}
			return push(c, b.TemplateEdit(ts, nil))
		}
		ts, tp, err := s.desk.Template(ctx, u, inboxID, id)
		if err != nil {
			return err
		}
		return push(c, b.TemplateEdit(ts, &tp))
	case cards.OpTemplateSave:
		in := desk.TemplateInput{
			InboxID: inboxID, ID: id,
			Name:   ev.Common.FormValue(cards.InputTemplateName),
			Body:   ev.Common.FormValue(cards.InputTemplateBody),
			Locked: slices.Contains(ev.Common.FormValues(cards.InputTemplateLocked), "locked"),
		}
		_, err := s.desk.SaveTemplate(ctx, u, in)
		if notice, ok := s.templateRefusal(c, err); ok {
			return reply(c, http.StatusOK, addon.Notify(notice))
		}
		if err != nil {
			return err
		}
		return s.templatesAfter(c, inboxID, "notice.template_saved")
	case cards.OpTemplateDelete:
		err := s.desk.DeleteTemplate(ctx, u, inboxID, id)
		if notice, ok := s.templateRefusal(c, err); ok {
			return reply(c, http.StatusOK, addon.Notify(notice))
		}
		if err != nil {
			return err
		}
		return s.templatesAfter(c, inboxID, "notice.template_deleted")
	case cards.OpTemplateInsert:
		text, err := s.desk.InsertTemplate(ctx, u, inboxID, id, param(cards.ParamConv), param(cards.ParamValue))
		if err != nil {
			return err
		}
		// MUTABLE_HTML keeps the template's line breaks in Gmail's
		// editor; the text is escaped, so a template cannot inject markup.
		content := strings.ReplaceAll(html.EscapeString(text), "\n", "<br>")
		return reply(c, http.StatusOK, addon.InsertDraftText(content, addon.ContentMutableHTML))
	}
	return badRequest(errors.New("unknown template op " + op))
}

// templateRefusal words what the user can act on: a template the domain
// refuses (an unknown placeholder, an empty text) or a locked one.
func (s *Server) templateRefusal(c echo.Context, err error) (string, bool) {
	switch {
	case err == nil:
		return "", false
	case errors.Is(err, desk.ErrTemplateLocked):
		return s.t(c, "notice.template_locked"), true
	case errors.Is(err, inbox.ErrInvalid):
		return s.userMessage(c, err), true
	}
	return "", false
}

// templatesAfter shows the inbox's templates in place of the edit screen,
// with a notice.
func (s *Server) templatesAfter(c echo.Context, inboxID, noticeID string) error {
	ts, err := s.desk.Templates(c.Request().Context(), user(c), inboxID)
	if err != nil {
		return err
	}
	return update(c, s.cardsFor(c).Templates(ts), s.t(c, noticeID))
}
