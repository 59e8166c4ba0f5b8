// Package httpapi is Postfach's HTTP surface: the Google Workspace add-on
// endpoints (homepage, message open, card actions), the health check and, in
// development, the token and Gmail simulator routes. It wraps echo so that
// cmd/postfach never touches it. Handlers are thin: decode, call one desk
// method, render one card; errors are mapped to responses in one place.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/manifests"
)

// Options configure a Server.
type Options struct {
	// Verify authenticates add-on requests (the systemIdToken and the
	// userIdToken) and decodes the event; see package addon.
	Verify echo.MiddlewareFunc
	Desk   *desk.Service
	// BaseURL is the public base URL the deployment points at.
	BaseURL string
	Logger  *slog.Logger
	// Sync, if set, adds the Gmail push endpoint and the scheduled tasks.
	Sync *SyncOptions
	// Dev, if set, adds the development routes.
	Dev *DevOptions
	// OAuth, if set, adds the "Connect mailbox" consent pages.
	OAuth *OAuthOptions
}

// Server serves Postfach over HTTP.
type Server struct {
	echo    *echo.Echo
	desk    *desk.Service
	cards   cards.Builder
	baseURL string
	log     *slog.Logger
	// connector connects and disconnects users' own mailboxes; nil when
	// offline consent is not configured.
	connector *mailboxauth.Connector
	srv       *http.Server
}

// New builds a Server with every route registered.
func New(o Options) (*Server, error) {
	if o.Verify == nil || o.Desk == nil {
		return nil, errors.New("httpapi: Verify and Desk are required")
	}
	base, err := manifests.CheckBaseURL(o.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	s := &Server{
		echo:    e,
		desk:    o.Desk,
		cards:   cards.Builder{ActionURL: base + manifests.PathAction},
		baseURL: base,
		log:     log,
	}
	if o.OAuth != nil && o.OAuth.Connector != nil {
		s.connector = o.OAuth.Connector
		s.cards.Connect = func(email, tenant string) (string, error) {
			return s.connector.ConnectURL(base, email, tenant)
		}
	}
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.RequestID())
	e.Use(s.logRequests())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.ErrorContext(c.Request().Context(), "panic", "error", err, "path", c.Path(), "stack", string(stack))
			return err
		},
	}))
	s.routes(o)
	return s, nil
}

func (s *Server) routes(o Options) {
	s.echo.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	s.echo.GET(manifests.PathLogo, func(c echo.Context) error { return c.Blob(http.StatusOK, "image/png", logoPNG) })
	g := s.echo.Group("", o.Verify)
	g.POST(manifests.PathHomepage, s.homepage)
	g.POST(manifests.PathMessageOpen, s.messageOpen)
	g.POST(manifests.PathAction, s.action)
	g.POST(manifests.PathSettings, s.settings)
	if o.Sync != nil {
		s.syncRoutes(*o.Sync)
	}
	if o.Dev != nil {
		s.devRoutes(*o.Dev)
	}
	if o.OAuth != nil {
		s.oauthRoutes(*o.OAuth)
	}
}

// ServeHTTP lets tests drive the server without a listener.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Serve serves on l until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.srv = &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(shut); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// logRequests logs one line per request: method, path, status, latency. Never
// bodies, tokens or query strings (they may carry cursors and ids only, but
// stay out of logs on principle).
func (s *Server) logRequests() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus:    true,
		LogMethod:    true,
		LogURIPath:   true,
		LogLatency:   true,
		LogRequestID: true,
		LogRemoteIP:  true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			} else if v.Status >= 400 {
				level = slog.LevelWarn
			}
			s.log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method),
				slog.String("path", v.URIPath),
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency),
				slog.String("request_id", v.RequestID),
				slog.String("remote_ip", v.RemoteIP),
			)
			return nil
		},
	})
}
