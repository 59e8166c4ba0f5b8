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

// InvalidError is an input refused by a domain rule, with the reason
// meant for the person who gave it. errors.Is(err, ErrInvalid) holds for
// it, and errors.As finds it whatever context wraps it, so the reason
// never has to be cut out of an error's text.
type InvalidError struct {
	// Reason is for the user: lower case, no final period ("the note is
	// empty").
	Reason string
}

func (e *InvalidError) Error() string { return ErrInvalid.Error() + ": " + e.Reason }

// Unwrap makes the error ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// Invalid returns an *InvalidError with the formatted reason.
func Invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// UserReason returns the reason meant for the user of the first
// *InvalidError in err's tree, and whether there is one.
func UserReason(err error) (string, bool) {
	var ie *InvalidError
	if errors.As(err, &ie) && ie.Reason != "" {
		return ie.Reason, true
	}
	return "", false
}

// invalidf is Invalid, for this package's validation.
func invalidf(format string, args ...any) error { return Invalid(format, args...) }
