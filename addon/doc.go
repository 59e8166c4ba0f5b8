// Package addon is a toolkit for serving Google Workspace add-ons over HTTP
// (the "HTTP runtime" / alternate runtime) with echo. It is product
// neutral: it knows the wire protocol, not what the add-on does.
//
// It provides three things:
//
//   - Event and ParseEvent: the request body (commonEventObject,
//     authorizationEventObject, gmail), decoded tolerantly.
//   - Verifier: authenticates each request. The system ID token (normally
//     the "Authorization: Bearer" header) must be signed by Google for the
//     add-on's service account with the exact endpoint URL as audience;
//     the user ID token identifies the user (User). Tokens that passed are
//     remembered until they expire (see IDTokens), so a card session pays
//     for the RSA checks once.
//   - Response types (RenderActions, SubmitFormResponse, Navigation,
//     HostAppAction, …) that embed google.apps.card.v1 cards encoded with
//     protojson, plus constructors such as PushCard, UpdateCard and Notify.
//     Their JSON method encodes a response in one pass; send it with
//     echo.Context.JSONBlob (c.JSON also works, at the cost of a second
//     encoding/json pass over the whole card).
//
// Package addontest provides a fake Google trust root, token minting and
// event builders for tests and local development.
//
// # Wiring
//
//	v, err := addon.NewVerifier(ctx, addon.VerifierConfig{
//		ServiceAccountEmail: "service-123@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
//		OAuthClientID:       "123-abc.apps.googleusercontent.com",
//		PublicBaseURL:       "https://addon.example.com",
//		Logger:              logger,
//	})
//	if err != nil {
//		return err
//	}
//	g := e.Group("/addon", v.Middleware())
//	g.POST("/homepage", func(c echo.Context) error {
//		user := addon.UserFrom(c)
//		card := &cardpb.Card{Header: &cardpb.Card_CardHeader{Title: "Hello " + user.Email}}
//		return c.JSON(http.StatusOK, addon.PushCard(card))
//	})
//	g.POST("/action", func(c echo.Context) error {
//		ev := addon.EventFrom(c)
//		return c.JSON(http.StatusOK, addon.Notify("Saved "+ev.Common.Param("id")))
//	})
//
// The deployment must point its triggers and card actions at
// PublicBaseURL + path (+ query): Google sets the system token's audience
// to the exact URL it calls, and the Verifier compares it with
// PublicBaseURL + the request URI. Host and X-Forwarded-* headers are not
// used, so the server works behind proxies as long as the path and query
// reach it unchanged (a path prefix the proxy strips can be part of
// PublicBaseURL).
package addon
