package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/syncer"
)

// Paths of the sync endpoints.
const (
	PathPush          = "/gmail/push"
	PathRenewWatches  = "/tasks/renew-watches"
	PathSweep         = "/tasks/sync-sweep"
	PathReconcile     = "/tasks/reconcile-counts"
	maxPushBodyBytes  = 64 << 10
	renewWithin       = 24 * time.Hour
	sweepQuietFor     = 15 * time.Minute
	pushNotifyTimeout = 10 * time.Second
)

// SyncOptions enable the Gmail push endpoint and the scheduled tasks.
type SyncOptions struct {
	Syncer *syncer.Syncer
	// Tokens verifies the OIDC tokens Pub/Sub and Cloud Scheduler send.
	Tokens *addon.IDTokens
	// PushAudience is the audience configured on the push subscription
	// (by default Pub/Sub uses the endpoint URL).
	PushAudience string
	// PushServiceAccount is the push subscription's service account.
	PushServiceAccount string
	// SchedulerServiceAccount is the service account Cloud Scheduler's jobs
	// send OIDC tokens as; the audience is the task's URL.
	SchedulerServiceAccount string
	// Background bounds the syncs a push starts after it is acknowledged.
	Background context.Context
}

func (s *Server) syncRoutes(o SyncOptions) {
	if o.Background == nil {
		o.Background = context.Background()
	}
	push := s.requireOIDC(o.Tokens, func(echo.Context) string { return o.PushAudience }, o.PushServiceAccount, "push")
	s.echo.POST(PathPush, func(c echo.Context) error { return s.push(c, o) }, push)
	task := s.requireOIDC(o.Tokens, func(c echo.Context) string { return s.baseURL + c.Request().URL.RequestURI() }, o.SchedulerServiceAccount, "task")
	s.taskRoute(PathRenewWatches, task, func(ctx context.Context) (any, error) {
		res, err := o.Syncer.RenewWatches(ctx, renewWithin)
		if err != nil {
			return nil, err
		}
		failed := map[string]string{}
		for addr, err := range res.Failed {
			failed[addr] = err.Error()
			s.log.Warn("watch renewal failed", "mailbox", addr, "error", err)
		}
		return map[string]any{"renewed": res.Renewed, "failed": failed}, nil
	})
	s.taskRoute(PathSweep, task, func(ctx context.Context) (any, error) {
		n, err := o.Syncer.Sweep(ctx, sweepQuietFor)
		if err != nil {
			return nil, err
		}
		return map[string]any{"synced": n}, nil
	})
	s.slaRoutes(task)
	s.taskRoute(PathReconcile, task, func(ctx context.Context) (any, error) {
		res, err := o.Syncer.ReconcileCounts(ctx)
		if err != nil {
			return nil, err
		}
		repaired := map[string]any{}
		for key, r := range res.Repaired {
			repaired[key] = map[string]any{"kept": r.Kept, "counted": r.Counted}
		}
		failed := map[string]string{}
		for key, err := range res.Failed {
			failed[key] = err.Error()
			s.log.Warn("counts reconciliation failed", "inbox", key, "error", err)
		}
		return map[string]any{"inboxes": res.Inboxes, "repaired": repaired, "failed": failed}, nil
	})
}

// requireOIDC verifies the bearer token Google services attach for a
// service account: signature, exact audience, issuer, verified email.
func (s *Server) requireOIDC(tokens *addon.IDTokens, audience func(echo.Context) string, email, kind string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tok, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
			err := errors.New("no bearer token")
			if ok {
				err = tokens.VerifyServiceAccount(c.Request().Context(), strings.TrimSpace(tok), audience(c), email)
			}
			if err != nil {
				s.log.WarnContext(c.Request().Context(), "refused "+kind+" request", "path", c.Path(), "remote_ip", c.RealIP(), "reason", err.Error())
				return echo.NewHTTPError(http.StatusUnauthorized, "invalid or missing token")
			}
			return next(c)
		}
	}
}

// pushEnvelope is Pub/Sub's push request body.
type pushEnvelope struct {
	Message *struct {
		Data      string `json:"data"`
		MessageID string `json:"messageId"`
	} `json:"message"`
	Subscription string `json:"subscription"`
}

// gmailNotification is the data Gmail publishes.
type gmailNotification struct {
	EmailAddress string          `json:"emailAddress"`
	HistoryID    json.RawMessage `json:"historyId"` // a string in practice; a number is accepted
}

// parsePush decodes a push body into the mailbox and history id it announces.
func parsePush(body []byte) (string, uint64, error) {
	var env pushEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return "", 0, fmt.Errorf("push body: %w", err)
	}
	if env.Message == nil || env.Message.Data == "" {
		return "", 0, errors.New("push body: no message data")
	}
	var data []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if data, err = enc.DecodeString(env.Message.Data); err == nil {
			break
		}
	}
	if err != nil {
		return "", 0, fmt.Errorf("push data is not base64: %w", err)
	}
	var n gmailNotification
	if err := json.Unmarshal(data, &n); err != nil {
		return "", 0, fmt.Errorf("push data: %w", err)
	}
	hid, err := strconv.ParseUint(strings.Trim(string(n.HistoryID), `"`), 10, 64)
	if err != nil || hid == 0 {
		return "", 0, fmt.Errorf("push data: historyId %s is not a history id", n.HistoryID)
	}
	if !strings.Contains(n.EmailAddress, "@") {
		return "", 0, fmt.Errorf("push data: emailAddress %q", n.EmailAddress)
	}
	return strings.ToLower(strings.TrimSpace(n.EmailAddress)), hid, nil
}

// push answers a Gmail notification delivered by Pub/Sub. It acknowledges
// (204) as soon as the announced history is recorded, then syncs in the
// background; a mailbox that is not linked is acknowledged and dropped. A
// malformed body is refused with 400: Pub/Sub redelivers it until the
// subscription's dead-letter policy takes it (see README), which keeps poison
// messages visible without retrying them forever. Only a failure to record
// (the store is down) is a 503, so that Pub/Sub retries: one broken mailbox
// never makes Pub/Sub back off for every tenant.
func (s *Server) push(c echo.Context, o SyncOptions) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxPushBodyBytes+1))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "unreadable body")
	}
	if len(body) > maxPushBodyBytes {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "push body too large")
	}
	mailbox, hid, err := parsePush(body)
	if err != nil {
		s.log.WarnContext(c.Request().Context(), "malformed push", "error", err)
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), pushNotifyTimeout)
	defer cancel()
	err = o.Syncer.Notify(ctx, mailbox, hid)
	if errors.Is(err, syncer.ErrUnknownMailbox) {
		s.log.InfoContext(ctx, "push for a mailbox that is not linked", "mailbox", mailbox)
		return c.NoContent(http.StatusNoContent)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "push not recorded", "mailbox", mailbox, "error", err)
		return echo.NewHTTPError(http.StatusServiceUnavailable, "not recorded, retry")
	}
	o.Syncer.Kick(o.Background, mailbox)
	return c.NoContent(http.StatusNoContent)
}
