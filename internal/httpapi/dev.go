package httpapi

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/internal/inbox"
)

// DevTokens are the tokens Google would put into an add-on request for one
// user and endpoint.
type DevTokens struct {
	SystemIDToken  string `json:"systemIdToken"`
	UserIDToken    string `json:"userIdToken"`
	UserOAuthToken string `json:"userOAuthToken"`
}

// TokenMinter mints DevTokens signed by the development trust root.
type TokenMinter interface {
	Mint(email, endpointURL string) (DevTokens, error)
}

// DevOptions enable the development routes. Never set them in production:
// /dev/tokens hands out valid tokens to anyone who asks.
type DevOptions struct {
	Tokens TokenMinter
	// Gmail serves the Gmail simulator's /gmail/v1/… and /upload/gmail/v1/…
	// paths on the same address.
	Gmail http.Handler
}

func (s *Server) devRoutes(o DevOptions) {
	if o.Tokens != nil {
		s.echo.GET("/dev/tokens", func(c echo.Context) error {
			email := inbox.NormalizeEmail(c.QueryParam("email"))
			if email == "" {
				return echo.NewHTTPError(http.StatusBadRequest, "email: want an e-mail address")
			}
			u, err := url.Parse(c.QueryParam("url"))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return echo.NewHTTPError(http.StatusBadRequest, "url: want the absolute endpoint URL the tokens are for")
			}
			t, err := o.Tokens.Mint(email, u.String())
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, t)
		})
	}
	if o.Gmail != nil {
		h := echo.WrapHandler(o.Gmail)
		s.echo.Any("/gmail/v1/*", h)
		s.echo.Any("/upload/gmail/v1/*", h)
	}
}
