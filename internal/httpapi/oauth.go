package httpapi

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
)

// OAuthOptions enable "Connect mailbox": the two pages of the consent round
// trip, mailboxauth.ConnectPath and mailboxauth.CallbackPath. They are
// opened in a browser tab, not by the add-on: they are authenticated by
// their signed state, and answer with small HTML pages.
type OAuthOptions struct {
	Connector *mailboxauth.Connector
}

func (s *Server) oauthRoutes(o OAuthOptions) {
	s.echo.GET(mailboxauth.ConnectPath, func(c echo.Context) error { return s.oauthConnect(c, o.Connector) })
	s.echo.GET(mailboxauth.CallbackPath, func(c echo.Context) error { return s.oauthCallback(c, o.Connector) })
}

// oauthConnect checks the state the sidebar signed and sends the browser to
// Google's consent: 302, or 400 for a missing or forged state and 401 for
// an expired one.
func (s *Server) oauthConnect(c echo.Context, conn *mailboxauth.Connector) error {
	consent, err := conn.ConsentURL(c.QueryParam("state"))
	if err != nil {
		return s.oauthStateError(c, "connect", err)
	}
	noStore(c)
	return c.Redirect(http.StatusFound, consent)
}

// oauthCallback finishes the consent; see mailboxauth.Connector.Complete.
// Answers: 200 connected (also when the first sync did not start: the
// mailbox is connected and the sync retries), 400 bad state or callback
// or a state used already (mailboxauth.ErrStateUsed), 401 expired state, 403 consent denied, another account or a scope left
// out, 404 no tenant, 409 the mailbox belongs to another tenant, 502
// Google failed, 500 otherwise. Codes and tokens are never logged.
func (s *Server) oauthCallback(c echo.Context, conn *mailboxauth.Connector) error {
	ctx := c.Request().Context()
	q := c.QueryParams()
	st, err := conn.VerifyState(q.Get("state"))
	if err != nil {
		return s.oauthStateError(c, "callback", err)
	}
	log := s.log.With("user", st.Email, "tenant", st.Tenant)
	if e := q.Get("error"); e != "" {
		e = oauthErrorCode(e)
		log.WarnContext(ctx, "mailbox consent not given", "error", e)
		if e == "access_denied" {
			return oauthPage(c, http.StatusForbidden, "oauth.not_connected", "oauth.denied", st.Email)
		}
		return oauthPage(c, http.StatusBadRequest, "oauth.not_connected", "oauth.consent_error", st.Email, "Code", e)
	}
	m, err := conn.Complete(ctx, q.Get("state"), q.Get("code"))
	switch {
	case err == nil:
		log.InfoContext(ctx, "mailbox connected", "mailbox", m.Address)
		return oauthPage(c, http.StatusOK, "oauth.connected", "oauth.connected_detail", m.Address)
	case errors.Is(err, mailboxauth.ErrNotStarted):
		log.WarnContext(ctx, "mailbox connected, sync not started", "mailbox", m.Address, "error", err)
		return oauthPage(c, http.StatusOK, "oauth.connected", "oauth.connected_not_synced", m.Address)
	case errors.Is(err, context.Canceled):
		return nil
	}
	status, title, msg := http.StatusInternalServerError, "oauth.not_connected", "oauth.store_failed"
	switch {
	case errors.Is(err, mailboxauth.ErrBadCallback):
		status, msg = http.StatusBadRequest, "oauth.bad_callback"
	case errors.Is(err, mailboxauth.ErrStateExpired):
		status, msg = http.StatusUnauthorized, "oauth.expired_detail"
	case errors.Is(err, mailboxauth.ErrStateUsed):
		status, title, msg = http.StatusBadRequest, "oauth.used", "oauth.used_detail"
	case errors.Is(err, mailboxauth.ErrExchange), errors.Is(err, mailboxauth.ErrProfile):
		status, msg = http.StatusBadGateway, "oauth.google_failed"
	case errors.Is(err, mailboxauth.ErrWrongAccount):
		status, msg = http.StatusForbidden, "oauth.wrong_account"
	case errors.Is(err, mailboxauth.ErrScopeNotGranted):
		status, msg = http.StatusForbidden, "oauth.scope_missing"
	case errors.Is(err, mailboxauth.ErrLinkedElsewhere):
		status, msg = http.StatusConflict, "oauth.linked_elsewhere"
	case errors.Is(err, inbox.ErrNotFound):
		status, msg = http.StatusNotFound, "oauth.not_installed"
	}
	if status >= 500 {
		log.ErrorContext(ctx, "mailbox connect failed", "error", err)
	} else {
		log.WarnContext(ctx, "mailbox connect refused", "error", err)
	}
	return oauthPage(c, status, title, msg, st.Email)
}

// oauthStateError answers a bad (400) or expired (401) state.
func (s *Server) oauthStateError(c echo.Context, step string, err error) error {
	ctx := c.Request().Context()
	switch {
	case errors.Is(err, mailboxauth.ErrStateExpired):
		s.log.WarnContext(ctx, "expired oauth state", "step", step)
		return oauthPage(c, http.StatusUnauthorized, "oauth.expired", "oauth.expired_detail", "")
	case errors.Is(err, mailboxauth.ErrBadState):
		s.log.WarnContext(ctx, "invalid oauth state", "step", step, "remote_ip", c.RealIP())
		return oauthPage(c, http.StatusBadRequest, "oauth.invalid", "oauth.invalid_detail", "")
	}
	s.log.ErrorContext(ctx, "oauth "+step+" failed", "error", err)
	return oauthPage(c, http.StatusInternalServerError, "error.generic_title", "oauth.start_failed", "")
}

// oauthErrorCode keeps an error code from the query printable and short:
// RFC 6749 codes are lower case letters and underscores.
func oauthErrorCode(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r == '_' {
			return r
		}
		return -1
	}, s)
	if len(s) > 40 {
		s = s[:40]
	}
	if s == "" {
		return "unknown_error"
	}
	return s
}

var oauthPageTemplate = template.Must(template.New("oauth").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Postfach</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#202124;line-height:1.5}h1{font-size:1.4rem}</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{if .Mailbox}}<p>{{.MailboxLabel}} <strong>{{.Mailbox}}</strong></p>{{end}}
</body>
</html>
`))

// oauthPage renders a small page in the browser's language
// (Accept-Language): title and message are message ids, args the
// message's name/value pairs. The callback's URL carries the code, so the
// page sends no referrer, loads nothing and is not cached or framed.
func oauthPage(c echo.Context, status int, titleID, messageID, mailbox string, args ...any) error {
	p := i18n.NewPrinter(i18n.MatchAccept(c.Request().Header.Get("Accept-Language")), nil)
	var b bytes.Buffer
	data := struct{ Lang, Title, Message, MailboxLabel, Mailbox string }{
		string(p.Lang()), p.T(titleID), p.T(messageID, args...), p.T("oauth.mailbox"), mailbox,
	}
	if err := oauthPageTemplate.Execute(&b, data); err != nil {
		return err
	}
	noStore(c)
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.HTMLBlob(status, b.Bytes())
}

func noStore(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}
