package httpapi

import (
	"errors"
	"fmt"
	"testing"

	"github.com/postfach/postfach/internal/inbox"
)

// TestUserMessage: the user reads the reason of the typed refusal however
// it is wrapped, and a generic text for anything else, never a piece of an
// error's text.
func TestUserMessage(t *testing.T) {
	t.Parallel()
	const generic = "That did not work"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"reason", inbox.Invalid("the note is empty"), "The note is empty"},
		{"wrapped", fmt.Errorf("act on c-1: add note: %w", inbox.Invalid("the note is empty")), "The note is empty"},
		{"odd prefix", fmt.Errorf("invalid: note by invalid: user: %w", inbox.Invalid("the note is empty")), "The note is empty"},
		{"reason names invalid", inbox.Invalid("tag %q is invalid: use letters", "invalid: <b>"), `Tag "invalid: <b>" is invalid: use letters`},
		{"non-ASCII start", inbox.Invalid("é is not a tag"), "É is not a tag"},
		{"joined", errors.Join(errors.New("store: invalid: cursor 7"), inbox.Invalid("name one member")), "Name one member"},
		{"bare ErrInvalid", fmt.Errorf("decode cursor: %w: bad base64", inbox.ErrInvalid), generic},
		{"unknown error", errors.New("invalid: sqlite: disk I/O error at /var/lib/postfach.db"), generic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !errors.Is(tc.err, inbox.ErrInvalid) && tc.want != generic {
				t.Fatalf("%v is not ErrInvalid", tc.err)
			}
			if got := userMessage(tc.err); got != tc.want {
				t.Errorf("userMessage(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}
