package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"

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
	// Deliver delivers a raw RFC 822 mail to an envelope recipient as Gmail
	// would (a group fans out to its members) and returns the mailboxes
	// that got a copy.
	Deliver func(raw []byte, to string) ([]string, error)
	// Google serves a stand-in for Google's OAuth endpoints under
	// /dev/google/ (the mailbox connect flow in dev mode).
	Google http.Handler
	// Playground, if set, serves the browser playground at / and below
	// /playground/ (see package playground).
	Playground http.Handler
	// Baseline adds POST PathBaseline: a fixed card behind the same token
	// verification as the add-on endpoints, the yardstick of
	// `postfach loadtest` (what a card costs without Postfach's work).
	Baseline bool
}

// PathBaseline is the dev endpoint that answers a fixed card.
const PathBaseline = "/dev/baseline"

// maxDevMailBytes bounds a mail posted to /dev/deliver.
const maxDevMailBytes = 10 << 20

// checkMail refuses what Gmail would not accept as a mail: a header block
// that does not parse, or no From address.
func checkMail(raw string) error {
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return err
	}
	from := m.Header.Get("From")
	if from == "" {
		return errors.New("no From header")
	}
	if _, err := mail.ParseAddressList(from); err != nil {
		return fmt.Errorf("From: %w", err)
	}
	return nil
}

func (s *Server) devRoutes(o DevOptions, verify echo.MiddlewareFunc) {
	if o.Baseline {
		card := s.cards.Error("Baseline", "A fixed card, for load tests: the token checks and the response, nothing else.")
		s.echo.POST(PathBaseline, func(c echo.Context) error { return push(c, card) }, verify)
	}
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
	if o.Deliver != nil {
		s.echo.POST("/dev/deliver", func(c echo.Context) error {
			var req struct {
				Raw string `json:"raw"`
				To  string `json:"to"`
			}
			c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, maxDevMailBytes)
			if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, `want JSON {"raw": "<RFC 822 mail>", "to": "<envelope recipient>"}`)
			}
			to := inbox.NormalizeEmail(req.To)
			if to == "" || strings.TrimSpace(req.Raw) == "" {
				return echo.NewHTTPError(http.StatusBadRequest, "raw and to are required")
			}
			if err := checkMail(req.Raw); err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, "raw is not an RFC 5322 mail: "+err.Error())
			}
			got, err := o.Deliver([]byte(req.Raw), to)
			if err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, err.Error())
			}
			return c.JSON(http.StatusOK, map[string]any{"mailboxes": got})
		})
	}
	if o.Playground != nil {
		h := echo.WrapHandler(o.Playground)
		s.echo.GET("/", h)
		s.echo.GET("/playground/*", h)
	}
	if o.Google != nil {
		s.echo.Any("/dev/google/*", echo.WrapHandler(o.Google))
	}
	if o.Gmail != nil {
		h := echo.WrapHandler(o.Gmail)
		s.echo.Any("/gmail/v1/*", h)
		s.echo.Any("/upload/gmail/v1/*", h)
	}
}
