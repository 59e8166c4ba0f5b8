package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
)

// TestUserMessage: the user reads the sentence of the typed refusal in
// their language however it is wrapped, and a generic one for anything
// else, never a piece of an error's text.
func TestUserMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		en, de string
	}{
		{"refusal", inbox.Refusal("refusal.note_empty"), "The note is empty", "Die Notiz ist leer"},
		{"wrapped", fmt.Errorf("act on c-1: add note: %w", inbox.Refusal("refusal.note_empty")), "The note is empty", "Die Notiz ist leer"},
		{"with arguments", inbox.Refusal("refusal.tag_too_long", "Tag", "<b>x</b>"), "The tag “<b>x</b>” is longer than 32 characters", "Das Schlagwort „<b>x</b>“ ist länger als 32 Zeichen"},
		{"joined", errors.Join(errors.New("store: invalid: cursor 7"), inbox.Refusal("refusal.one_member")), "Name one member", "Nennen Sie ein Mitglied"},
		{"reason for logs only", inbox.Invalid("unknown action %q", "x"), "That did not work", "Das hat nicht geklappt"},
		{"bare ErrInvalid", fmt.Errorf("decode cursor: %w: bad base64", inbox.ErrInvalid), "That did not work", "Das hat nicht geklappt"},
		{"unknown error", errors.New("invalid: sqlite: disk I/O error at /var/lib/postfach.db"), "That did not work", "Das hat nicht geklappt"},
	}
	s := &Server{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for locale, want := range map[string]string{"en-US": tc.en, "de-AT": tc.de} {
				c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/", nil), httptest.NewRecorder())
				c.Set(printerKey, i18n.NewPrinter(i18n.Match(locale), nil))
				if got := s.userMessage(c, tc.err); got != want {
					t.Errorf("%s: userMessage(%v) = %q, want %q", locale, tc.err, got, want)
				}
			}
		})
	}
}
