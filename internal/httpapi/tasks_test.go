package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// TestTaskOutlastsWriteTimeout: a scheduled task works past the server's
// WriteTimeout (made 50 ms here, 60 s in production) and its answer still
// arrives; one that runs out of its budget stops, answers 200 with what it
// did and "stopped": true; one within budget does not say stopped. Before
// tasks moved their write deadline, a task longer than the WriteTimeout
// lost its answer (the scheduler saw a failed run and retried it).
func TestTaskOutlastsWriteTimeout(t *testing.T) {
	t.Parallel()
	s := &Server{echo: echo.New(), log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	open := func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	// Works until its budget ends, like a sweep with more due than time.
	s.taskRouteWithin("/tasks/long", 300*time.Millisecond, open, func(ctx context.Context) (any, error) {
		<-ctx.Done()
		return struct {
			Synced int `json:"synced"`
		}{7}, nil
	})
	// Done well within its budget, after the write timeout.
	s.taskRouteWithin("/tasks/short", time.Minute, open, func(ctx context.Context) (any, error) {
		time.Sleep(200 * time.Millisecond)
		return map[string]any{"synced": 2}, nil
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s.echo, WriteTimeout: 50 * time.Millisecond}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	for _, tc := range []struct {
		path string
		want map[string]any
	}{
		{"/tasks/long", map[string]any{"synced": 7.0, "stopped": true}},
		{"/tasks/short", map[string]any{"synced": 2.0}},
	} {
		resp, err := http.Post("http://"+l.Addr().String()+tc.path, "application/json", nil)
		if err != nil {
			t.Errorf("%s: %v (the answer was cut by the write timeout)", tc.path, err)
			continue
		}
		var got map[string]any
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d, %v", tc.path, resp.StatusCode, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s answered %v, want %v", tc.path, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s answered %v, want %v", tc.path, got, tc.want)
				break
			}
		}
	}
}
