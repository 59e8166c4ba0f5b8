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
	// Ready answers the readiness check (GET /readyz): nil when the
	// server can do its work (store reachable, start-up done). /healthz
	// stays a liveness check that only says the process serves HTTP.
	// Nil means always ready.
	Ready func(ctx context.Context) error
	// RequestLogLevel is the level of the log line of a request that
	// succeeded (status < 400); dev logs them at debug. Failed requests
	// are logged at WARN (4xx) and ERROR (5xx) whatever this says.
	RequestLogLevel slog.Level
	// ReportKey signs the links of report charts (at least MinReportKey
	// bytes); nil leaves the chart out of the report card.
	ReportKey []byte
	// Now is the clock of signed links and of the rate limit; time.Now
	// when nil.
	Now func() time.Time
	// RateLimit bounds each user's card actions (POST /addon/action);
	// the zero value is no limit. Push and task endpoints are never
	// limited per user: Pub/Sub and Cloud Scheduler need their retries.
	RateLimit RateLimit
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
	okLevel   slog.Level
	reportKey []byte
	now       func() time.Time
	// limiter bounds users' card actions; nil when off.
	limiter *userLimiter
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
		okLevel: o.RequestLogLevel,
		now:     o.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if o.RateLimit.On() {
		s.limiter = newUserLimiter(o.RateLimit, s.now)
	}
	if o.ReportKey != nil {
		if len(o.ReportKey) < MinReportKey {
			return nil, fmt.Errorf("httpapi: ReportKey: want at least %d bytes", MinReportKey)
		}
		s.reportKey = o.ReportKey
	}
	s.srv = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if o.OAuth != nil && o.OAuth.Connector != nil {
		s.connector = o.OAuth.Connector
		s.cards.Connect = func(email, tenant string) (string, error) {
			return s.connector.ConnectURL(base, email, tenant)
		}
	}
	e.HTTPErrorHandler = s.handleError
	e.Pre(hardened)
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

// Paths of the health checks.
const (
	PathHealth = "/healthz"
	PathReady  = "/readyz"
)

func (s *Server) routes(o Options) {
	s.echo.GET(PathHealth, func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	s.echo.GET(PathReady, func(c echo.Context) error {
		if o.Ready != nil {
			if err := o.Ready(c.Request().Context()); err != nil {
				s.log.WarnContext(c.Request().Context(), "not ready", "error", err)
				return c.String(http.StatusServiceUnavailable, "not ready\n")
			}
		}
		return c.String(http.StatusOK, "ready\n")
	})
	s.echo.GET(manifests.PathLogo, func(c echo.Context) error { return c.Blob(http.StatusOK, "image/png", logoPNG) })
	// The token check is middleware of each add-on route, not of a group:
	// an echo group with middleware answers every unmatched path through
	// it, which turned unknown paths into 401s instead of 404s.
	s.echo.POST(manifests.PathHomepage, s.homepage, o.Verify)
	s.echo.POST(manifests.PathMessageOpen, s.messageOpen, o.Verify)
	if s.limiter != nil {
		// After the token check: the bucket is the verified user's.
		s.echo.POST(manifests.PathAction, s.action, o.Verify, s.rateLimited)
	} else {
		s.echo.POST(manifests.PathAction, s.action, o.Verify)
	}
	s.echo.POST(manifests.PathCompose, s.compose, o.Verify)
	s.echo.POST(manifests.PathSettings, s.settings, o.Verify)
	if s.reportKey != nil {
		s.echo.GET(PathReportChart, s.reportChart)
	}
	if o.Sync != nil {
		s.syncRoutes(*o.Sync)
	}
	if o.Dev != nil {
		s.devRoutes(*o.Dev, o.Verify)
	}
	if o.OAuth != nil {
		s.oauthRoutes(*o.OAuth)
	}
}

// ServeHTTP lets tests drive the server without a listener.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Routes lists the routes the server answers (method and path), for tests
// that must cover every one.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }

// hardened sets, on every response (errors and unknown paths too), the
// headers that keep a browser from guessing a content type and any cache
// from keeping what Postfach answers: cards and pages hold mail subjects,
// names and notes.
func hardened(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// Serve serves on l until Shutdown; it then returns nil.
func (s *Server) Serve(l net.Listener) error {
	if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits, until ctx ends, for the
// requests in flight to finish.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
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
			level := s.okLevel
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
