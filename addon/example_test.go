package addon_test

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/addon"
)

// The wiring from the package documentation.
func ExampleVerifier_Middleware() {
	ctx := context.Background()
	v, err := addon.NewVerifier(ctx, addon.VerifierConfig{
		ServiceAccountEmail: "service-123@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
		OAuthClientID:       "123-abc.apps.googleusercontent.com",
		PublicBaseURL:       "https://addon.example.com",
		Logger:              slog.Default(),
	})
	if err != nil {
		panic(err)
	}
	e := echo.New()
	g := e.Group("/addon", v.Middleware())
	g.POST("/homepage", func(c echo.Context) error {
		user := addon.UserFrom(c)
		card := &cardpb.Card{Header: &cardpb.Card_CardHeader{Title: "Hello " + user.Email}}
		return c.JSON(http.StatusOK, addon.PushCard(card))
	})
	g.POST("/action", func(c echo.Context) error {
		ev := addon.EventFrom(c)
		return c.JSON(http.StatusOK, addon.Notify("Saved "+ev.Common.Param("id")))
	})
}
