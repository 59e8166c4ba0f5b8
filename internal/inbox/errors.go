package inbox

import (
	"errors"
	"fmt"
)

// Error kinds. Adapters and services wrap them with context; callers test
// them with errors.Is.
var (
	// ErrNotFound: the tenant, inbox, conversation or message does not exist
	// (or is not visible to the caller's tenant, which is the same thing).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the conversation changed since the version the caller saw.
	ErrConflict = errors.New("conflict")
	// ErrAlreadyExists: a create met an existing record with the same key.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalid: the input breaks a domain rule (empty subject, bad status…).
	ErrInvalid = errors.New("invalid")
	// ErrForbidden: the caller is known but may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: the store could not commit now; nothing was saved;
	// the caller may try again. Stores return it for writes that kept
	// losing to concurrent writes until their deadline (a contended
	// Firestore transaction, a busy SQLite database).
	ErrUnavailable = errors.New("unavailable")
)

// invalidf returns an ErrInvalid wrapped with a human-readable reason.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
