package inbox

import (
	"errors"
	"fmt"
	"strings"
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

// InvalidError is an input refused by a domain rule. errors.Is(err,
// ErrInvalid) holds for it, and errors.As finds it whatever context wraps
// it, so the reason never has to be cut out of an error's text.
//
// A refusal the person who gave the input can act on (an empty note, a
// tag too long) carries ID, the message id of its sentence in the
// catalogs (package i18n), and Args, the name/value pairs the sentence
// refers to: the screens word it in the user's language. Other refusals
// (a forged parameter, a record that breaks an invariant) carry only
// Reason, for logs; users are told that it did not work.
type InvalidError struct {
	Reason string
	ID     string
	Args   []any
}

func (e *InvalidError) Error() string {
	if e.ID == "" {
		return ErrInvalid.Error() + ": " + e.Reason
	}
	var b strings.Builder
	b.WriteString(ErrInvalid.Error() + ": " + e.ID)
	for i := 0; i+1 < len(e.Args); i += 2 {
		fmt.Fprintf(&b, " %v=%q", e.Args[i], fmt.Sprint(e.Args[i+1]))
	}
	return b.String()
}

// Unwrap makes the error ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// Invalid returns an *InvalidError with the formatted reason, for logs.
func Invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// Refusal returns an *InvalidError the user is told about: id is the
// message id of its sentence in the catalogs, args its name/value pairs.
func Refusal(id string, args ...any) error {
	return &InvalidError{ID: id, Args: args}
}

// RefusalOf returns the first *InvalidError in err's tree that is meant
// for the user (it has an ID), and whether there is one.
func RefusalOf(err error) (*InvalidError, bool) {
	var ie *InvalidError
	if errors.As(err, &ie) && ie.ID != "" {
		return ie, true
	}
	return nil, false
}

// invalidf is Invalid, for this package's validation.
func invalidf(format string, args ...any) error { return Invalid(format, args...) }
