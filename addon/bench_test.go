package addon_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
)

// BenchmarkMessageOpen is the add-on's own work for one message-open
// request: read the body, verify the system and user ID tokens, parse the
// event, and answer with a card encoded as handlers send it. Cold checks
// both RSA signatures on every request (the token cache off); Cached is
// the steady state of a card session, the same two tokens again.
func BenchmarkMessageOpen(b *testing.B) {
	const uri = "/addon/message-open"
	root, err := addontest.NewTrustRoot()
	if err != nil {
		b.Fatal(err)
	}
	sys, err := root.SystemIDToken(publicBase+uri, saEmail)
	if err != nil {
		b.Fatal(err)
	}
	user, err := root.UserIDToken(clientID, workspaceUser)
	if err != nil {
		b.Fatal(err)
	}
	tk := addontest.Tokens{System: sys, User: user, OAuth: "ya29.oauth"}
	body, err := addontest.MessageEvent(tk, "msg-f:1785412345678901234", "thread-f:1785412345678901234", "gmail-at").JSON()
	if err != nil {
		b.Fatal(err)
	}
	card := benchCard()
	for _, bc := range []struct {
		name      string
		cacheSize int
	}{{"Cold", -1}, {"Cached", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			v, err := addon.NewVerifier(context.Background(), addon.VerifierConfig{
				ServiceAccountEmail: saEmail, OAuthClientID: clientID, PublicBaseURL: publicBase,
				HTTPClient: root.HTTPClient(), TokenCacheSize: bc.cacheSize,
			})
			if err != nil {
				b.Fatal(err)
			}
			e := echo.New()
			e.POST(uri, func(c echo.Context) error {
				if addon.EventFrom(c).Gmail.MessageID == "" {
					return echo.ErrBadRequest
				}
				out, err := addon.PushCard(card).JSON()
				if err != nil {
					return err
				}
				return c.JSONBlob(http.StatusOK, out)
			}, v.Middleware())
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, uri, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+sys)
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// benchCard is a conversation-sized card: a header, a few sections of
// decorated text with actions, buttons and a form.
func benchCard() *cardpb.Card {
	action := func(op string) *cardpb.OnClick {
		return &cardpb.OnClick{Data: &cardpb.OnClick_Action{Action: &cardpb.Action{
			Function:   publicBase + "/addon/action",
			Parameters: []*cardpb.Action_ActionParameter{{Key: "op", Value: op}, {Key: "conv", Value: "c0123"}, {Key: "v", Value: "4"}},
		}}}
	}
	c := &cardpb.Card{Name: "conversation", Header: &cardpb.Card_CardHeader{Title: "Refund <b>request</b> & more", Subtitle: "Support · open · Bob"}}
	for s := range 4 {
		sec := &cardpb.Card_Section{Header: "Section", Collapsible: s > 1}
		for w := range 6 {
			sec.Widgets = append(sec.Widgets, &cardpb.Widget{Data: &cardpb.Widget_DecoratedText{DecoratedText: &cardpb.DecoratedText{
				TopLabel: "Activity", Text: "<b>bob@example.com</b> assigned it to <i>bob</i>, 20 s ago", WrapText: true,
				OnClick: action("detail"),
			}}})
			_ = w
		}
		sec.Widgets = append(sec.Widgets, &cardpb.Widget{Data: &cardpb.Widget_ButtonList{ButtonList: &cardpb.ButtonList{Buttons: []*cardpb.Button{
			{Text: "Assign to me", OnClick: action("assign")}, {Text: "Close", OnClick: action("close")}, {Text: "Snooze", OnClick: action("pending")},
		}}}})
		c.Sections = append(c.Sections, sec)
	}
	return c
}
