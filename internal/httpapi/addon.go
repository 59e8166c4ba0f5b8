package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// user is the verified caller of an add-on request.
func user(c echo.Context) desk.User {
	u := addon.UserFrom(c)
	return desk.User{Subject: u.Subject, Email: u.Email, Domain: u.Domain}
}

// homepage answers the homepage trigger.
func (s *Server) homepage(c echo.Context) error {
	h, err := s.desk.Home(c.Request().Context(), user(c))
	if err != nil {
		return err
	}
	return push(c, s.cardsFor(c).Home(h))
}

// messageOpen answers the Gmail contextual trigger: the conversation card of
// the open message. Both of the event's Gmail ids go to desk: the thread id
// finds ingested mail without a Gmail request.
func (s *Server) messageOpen(c echo.Context) error {
	ev := addon.EventFrom(c)
	if ev.Gmail == nil || ev.Gmail.MessageID == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "message-open event without gmail.messageId")
	}
	access := desk.GmailAccess{OAuthToken: ev.Auth.UserOAuthToken, MessageToken: ev.Gmail.AccessToken}
	ids := desk.OpenedIDs{MessageID: ev.Gmail.MessageID, ThreadID: ev.Gmail.ThreadID}
	o, err := s.desk.OpenMessage(c.Request().Context(), user(c), access, ids)
	if err != nil {
		return err
	}
	if o.View == nil {
		return push(c, s.cardsFor(c).NotInInbox(o.Subject))
	}
	return push(c, s.cardsFor(c).Conversation(*o.View))
}

// action answers every button of every card; the "op" parameter says which.
// All parameters are untrusted: desk authorizes every id they carry.
func (s *Server) action(c echo.Context) error {
	ctx := c.Request().Context()
	ev := addon.EventFrom(c)
	u := user(c)
	param := ev.Common.Param
	switch op := param(cards.ParamOp); op {
	case cards.OpHome, cards.OpInboxes:
		h, err := s.desk.Home(ctx, u)
		if err != nil {
			return err
		}
		if op == cards.OpInboxes {
			return push(c, s.cardsFor(c).Home(h))
		}
		return update(c, s.cardsFor(c).Home(h), "")
	case cards.OpList:
		f, err := desk.ParseFilter(param(cards.ParamFilter))
		if err != nil {
			return badRequest(err)
		}
		l, err := s.desk.List(ctx, u, param(cards.ParamInbox), f, param(cards.ParamCursor))
		if err != nil {
			return err
		}
		return push(c, s.cardsFor(c).List(l))
	case cards.OpDisconnect:
		if s.connector == nil {
			return badRequest(errors.New("mailbox connection is not configured"))
		}
		// Only ever the caller's own mailbox: the address comes from the
		// verified identity, not from the card.
		if err := s.connector.Disconnect(ctx, u.Email); err != nil && !errors.Is(err, inbox.ErrNotFound) {
			s.log.WarnContext(ctx, "disconnect failed", "mailbox", u.Email, "error", err)
			return reply(c, http.StatusOK, addon.Notify(s.t(c, "notice.disconnect_failed")))
		}
		h, err := s.desk.Home(ctx, u)
		if err != nil {
			return err
		}
		return update(c, s.cardsFor(c).Home(h), s.t(c, "notice.mailbox_disconnected"))
	case cards.OpSettings, cards.OpInboxSettings, cards.OpConfirmDelete:
		return s.adminScreen(c, op)
	case cards.OpStatuses, cards.OpStatusRemoveConfirm:
		return s.statusScreen(c, op)
	case cards.OpSavePrefs:
		return s.savePrefs(c)
	case cards.OpReply, cards.OpTakeOver:
		return s.reply(c, op == cards.OpTakeOver)
	case cards.OpNoteCard, cards.OpMentions, cards.OpOpenMention, cards.OpMentionsRead:
		return s.noteScreen(c, op)
	case cards.OpReport:
		return s.reportScreen(c)
	case cards.OpSLA, cards.OpSaveSLA:
		return s.slaScreen(c, op)
	case cards.OpDetail, cards.OpReload:
		v, err := s.desk.Conversation(ctx, u, param(cards.ParamConv))
		if err != nil {
			return err
		}
		if op == cards.OpDetail {
			return push(c, s.cardsFor(c).Conversation(v))
		}
		return update(c, s.cardsFor(c).Conversation(v), "")
	default:
		if isTemplateOp(op) {
			return s.templateAction(c, op)
		}
		if sop, ok := desk.ParseStatusOp(op); ok {
			return s.statusAction(c, sop)
		}
		if isRulesOp(op) {
			return s.rulesAction(c, op)
		}
		if aop, ok := desk.ParseAdminOp(op); ok {
			return s.adminAction(c, aop)
		}
		a, err := actionOf(ev)
		if err != nil {
			return badRequest(err)
		}
		r, err := s.desk.Act(ctx, u, a)
		if errors.Is(err, inbox.ErrInvalid) {
			// The user typed something we cannot take (an empty note, a
			// tag with odd characters): keep their card, say why.
			return reply(c, http.StatusOK, addon.Notify(s.userMessage(c, err)))
		}
		if err != nil {
			return err
		}
		b := s.cardsFor(c)
		resp := addon.UpdateCard(b.Conversation(r.View), b.Message(r.Notice, r.View.Inbox.DisplayName))
		if a.Op == desk.OpEditNote || a.Op == desk.OpDeleteNote {
			// From the note card: back to the conversation, updated.
			nav := &resp.RenderActions.Action.Navigations
			*nav = append([]addon.Navigation{{Pop: true}}, *nav...)
		}
		return reply(c, http.StatusOK, resp)
	}
}

// actionOf reads a conversation action from the event's parameters and form.
func actionOf(ev *addon.Event) (desk.Action, error) {
	p := ev.Common.Param
	op, err := desk.ParseOp(p(cards.ParamOp))
	if err != nil {
		return desk.Action{}, err
	}
	if p(cards.ParamConv) == "" {
		return desk.Action{}, fmt.Errorf("action %s without a conversation", op)
	}
	v, err := strconv.ParseInt(p(cards.ParamVer), 10, 64)
	if err != nil || v < 1 {
		return desk.Action{}, fmt.Errorf("action %s: bad version %q", op, p(cards.ParamVer))
	}
	a := desk.Action{ConversationID: p(cards.ParamConv), Version: v, Op: op, Value: p(cards.ParamValue)}
	switch op {
	case desk.OpAssign:
		a.Value = ev.Common.FormValue(cards.InputAssignee)
	case desk.OpTag:
		a.Value = ev.Common.FormValue(cards.InputTag)
	case desk.OpNote:
		a.Value = ev.Common.FormValue(cards.InputNote)
	case desk.OpSnooze:
		if a.Value == "" {
			a.Value = snoozePicked(ev)
		}
	case desk.OpEditNote, desk.OpDeleteNote:
		if a.NoteID = p(cards.ParamNote); a.NoteID == "" {
			return desk.Action{}, fmt.Errorf("action %s without a note", op)
		}
		if op == desk.OpEditNote {
			a.Value = ev.Common.FormValue(cards.InputNoteEdit)
		}
	}
	return a, nil
}

// reply writes an add-on response encoded once, as protojson wrote its
// cards (see addon.RenderActions.JSON), instead of letting echo's
// encoding/json walk and compact the whole document again.
func reply(c echo.Context, code int, r interface{ JSON() ([]byte, error) }) error {
	b, err := r.JSON()
	if err != nil {
		return err
	}
	return c.JSONBlob(code, b)
}

func push(c echo.Context, card *cardpb.Card) error {
	return reply(c, http.StatusOK, addon.PushCard(card))
}

func update(c echo.Context, card *cardpb.Card, notice string) error {
	return reply(c, http.StatusOK, addon.UpdateCard(card, notice))
}

// reply answers Reply and Take over: claim the reply, create the draft in
// the caller's mailbox and have Gmail open it; or, when someone else holds
// the reply, show the card that says who.
func (s *Server) reply(c echo.Context, takeOver bool) error {
	ev := addon.EventFrom(c)
	access := desk.GmailAccess{OAuthToken: ev.Auth.UserOAuthToken}
	open := ""
	if ev.Gmail != nil {
		access.MessageToken, open = ev.Gmail.AccessToken, ev.Gmail.MessageID
	}
	r, err := s.desk.Reply(c.Request().Context(), user(c), access, ev.Common.Param(cards.ParamConv), open, takeOver)
	if err != nil {
		return err
	}
	if r.Draft == nil {
		b := s.cardsFor(c)
		return update(c, b.Conversation(r.View), b.Message(r.Notice, r.View.Inbox.DisplayName))
	}
	draft := addon.OpenCreatedDraft(r.Draft.ID, r.Draft.ThreadID)
	if r.Notice.ID != "" {
		// The draft is from the caller's own address: the card says why
		// (Reply section) and a toast says it at once.
		b := s.cardsFor(c)
		upd := addon.UpdateCard(b.Conversation(r.View), b.Message(r.Notice, r.View.Inbox.DisplayName))
		draft.RenderActions.Action, draft.StateChanged = upd.RenderActions.Action, true
	}
	return reply(c, http.StatusOK, draft)
}
