package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// TaskBudgets is how long each scheduled task may work before it stops
// and answers with what it did; what it left is done by its next run (the
// sweeps look again at what is still due, the renewal at what still
// expires). A task's answer must reach Cloud Scheduler within the job's
// attempt deadline (manifests/scheduler.json) and Cloud Run's request
// timeout (the deploy step's --timeout), or the scheduler counts the run
// as failed and retries it on top of the one still working; the
// manifests tests hold every budget below both, with TaskAnswerSlack to
// spare. (The server's WriteTimeout, right for a person's request, would
// cut every task longer than a minute: a task's handler moves its own
// write deadline.)
var TaskBudgets = map[string]time.Duration{
	PathRenewWatches: 9 * time.Minute,
	PathSweep:        4*time.Minute + 30*time.Second,
	PathReconcile:    9 * time.Minute,
	PathSLASweep:     4*time.Minute + 30*time.Second,
}

// TaskAnswerSlack is the time a task keeps after its budget to finish the
// step in hand and write its answer.
const TaskAnswerSlack = 30 * time.Second

// taskRoute serves a scheduled task at path behind auth: work runs with a
// context that ends after the task's budget, and returns what the JSON
// answer reports (a JSON object). A task that ran out of budget answers 200 with
// "stopped": true, and a warning says so, so an operator whose tasks keep
// stopping sees it in the logs.
func (s *Server) taskRoute(path string, auth echo.MiddlewareFunc, work func(ctx context.Context) (any, error)) {
	budget, ok := TaskBudgets[path]
	if !ok {
		panic("httpapi: no TaskBudgets entry for " + path)
	}
	s.taskRouteWithin(path, budget, auth, work)
}

// taskRouteWithin is taskRoute with the budget given.
func (s *Server) taskRouteWithin(path string, budget time.Duration, auth echo.MiddlewareFunc, work func(ctx context.Context) (any, error)) {
	s.echo.POST(path, func(c echo.Context) error {
		rc := http.NewResponseController(c.Response())
		if err := rc.SetWriteDeadline(time.Now().Add(budget + TaskAnswerSlack)); err != nil {
			s.log.WarnContext(c.Request().Context(), "task keeps the server's write timeout", "path", path, "error", err)
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), budget)
		defer cancel()
		res, err := work(ctx)
		if err != nil {
			return err
		}
		if ctx.Err() == nil || c.Request().Context().Err() != nil {
			return c.JSON(http.StatusOK, res)
		}
		s.log.WarnContext(ctx, "task stopped at its time budget; its next run carries on", "path", path, "budget", budget.String())
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("encode the answer of %s: %w", path, err)
		}
		answer := map[string]json.RawMessage{}
		if err := json.Unmarshal(b, &answer); err != nil {
			return fmt.Errorf("answer of %s is no JSON object: %w", path, err)
		}
		answer["stopped"] = json.RawMessage("true")
		return c.JSON(http.StatusOK, answer)
	}, auth)
}
