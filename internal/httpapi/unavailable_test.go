package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/sqlitedb"
	"github.com/postfach/postfach/manifests"
)

// TestHandleErrorUnavailable: a write the store could not commit
// (inbox.ErrUnavailable) answers 200 with "Not saved … try again": a
// notification for a card action, an error card elsewhere; never the
// generic 500 card.
func TestHandleErrorUnavailable(t *testing.T) {
	t.Parallel()
	store, err := sqlitedb.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	s, err := New(Options{
		Verify:  func(next echo.HandlerFunc) echo.HandlerFunc { return next },
		Desk:    desk.New(desk.Options{Store: store}),
		BaseURL: "https://postfach.example",
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	err = fmt.Errorf("add note to acme.example/c1: %w", fmt.Errorf("%w: still aborted by contention", inbox.ErrUnavailable))
	for _, tc := range []struct {
		name, path string
		want       []string // in the JSON body
	}{
		{"action", manifests.PathAction, []string{`"notification"`, "Not saved: too many changes at once — try again"}},
		{"homepage", manifests.PathHomepage, []string{`"pushCard"`, "Not saved", "try again"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			c := s.echo.NewContext(httptest.NewRequestWithContext(context.Background(), http.MethodPost, tc.path, nil), rec)
			c.SetPath(tc.path)
			s.handleError(err, c)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != http.StatusOK {
				t.Errorf("status %d, want %d; body %s", rec.Code, http.StatusOK, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("body %s lacks %q", body, w)
				}
			}
		})
	}
}
