package gmailsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// apiError is a failure reported to the client in Gmail's JSON error shape,
// which googleapi.CheckResponse turns into a *googleapi.Error with Code,
// Message and Errors[].Reason filled in.
type apiError struct {
	code    int
	reason  string // errors[0].reason: notFound, invalidArgument, authError…
	status  string // canonical status: NOT_FOUND, INVALID_ARGUMENT…
	message string
	// location and locationType point at the offending input, as Google does
	// for authentication errors ("Authorization", "header").
	location, locationType string
	// domain is errors[0].domain; "" means "global".
	domain string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("gmailsim: %d %s: %s", e.code, e.reason, e.message)
}

func errNotFound() *apiError {
	return &apiError{code: http.StatusNotFound, reason: "notFound", status: "NOT_FOUND",
		message: "Requested entity was not found."}
}

func errInvalid(format string, args ...any) *apiError {
	return &apiError{code: http.StatusBadRequest, reason: "invalidArgument", status: "INVALID_ARGUMENT",
		message: fmt.Sprintf(format, args...)}
}

func errBadRequest(msg string) *apiError {
	return &apiError{code: http.StatusBadRequest, reason: "badRequest", status: "INVALID_ARGUMENT", message: msg}
}

func errFailedPrecondition(msg string) *apiError {
	return &apiError{code: http.StatusBadRequest, reason: "failedPrecondition", status: "FAILED_PRECONDITION", message: msg}
}

func errUnauthenticated() *apiError {
	return &apiError{code: http.StatusUnauthorized, reason: "authError", status: "UNAUTHENTICATED",
		message:  "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
		location: "Authorization", locationType: "header"}
}

func errDelegationDenied(userID string) *apiError {
	return &apiError{code: http.StatusForbidden, reason: "forbidden", status: "PERMISSION_DENIED",
		message: "Delegation denied for " + userID}
}

func errTooLarge(limit int64) *apiError {
	return &apiError{code: http.StatusRequestEntityTooLarge, reason: "uploadTooLarge", status: "OUT_OF_RANGE",
		message: fmt.Sprintf("Request payload size exceeds the limit: %d bytes.", limit)}
}

// errLabelConflict is Gmail's answer to a label name that is already taken,
// compared case-insensitively. Observed answers carry reason "aborted"; the
// status is assumed to be the matching canonical code.
func errLabelConflict() *apiError {
	return &apiError{code: http.StatusConflict, reason: "aborted", status: "ABORTED",
		message: "Label name exists or conflicts"}
}

// errRateLimited is the per-user rate limit answer. retryAt is when enough
// quota units will have left the one-second window.
func errRateLimited(retryAt time.Time) *apiError {
	return &apiError{code: http.StatusTooManyRequests, reason: "rateLimitExceeded", status: "RESOURCE_EXHAUSTED",
		message: "User-rate limit exceeded.  Retry after " + retryAt.UTC().Format("2006-01-02T15:04:05.000Z")}
}

func errInternal() *apiError {
	return &apiError{code: http.StatusInternalServerError, reason: "backendError", status: "INTERNAL",
		message: "Internal error encountered."}
}

// labelError is ErrInvalidLabel for one label id.
type labelError struct{ id string }

func (e *labelError) Error() string        { return fmt.Sprintf("gmailsim: invalid label %q", e.id) }
func (e *labelError) Is(target error) bool { return target == ErrInvalidLabel }

// toAPIError maps an error from the store to what Gmail would answer, and
// reports whether it is an internal failure worth logging.
func (s *Server) toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	var le *labelError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae, false
	case errors.As(err, &le):
		return errInvalid("Invalid label: %s", le.id), false
	case errors.Is(err, ErrTooLarge), errors.As(err, &mbe):
		return errTooLarge(s.maxSize), false
	case errors.Is(err, ErrThreadNotFound), errors.Is(err, ErrMessageNotFound), errors.Is(err, ErrLabelNotFound),
		errors.Is(err, ErrDraftNotFound):
		return errNotFound(), false
	case errors.Is(err, ErrUnknownMailbox):
		return errFailedPrecondition("Mail service not enabled"), false
	}
	return errInternal(), true
}

// writeError sends e in Gmail's JSON error shape.
func writeError(w http.ResponseWriter, e *apiError) {
	type item struct {
		Message      string `json:"message"`
		Domain       string `json:"domain"`
		Reason       string `json:"reason"`
		Location     string `json:"location,omitempty"`
		LocationType string `json:"locationType,omitempty"`
	}
	var body struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Errors  []item `json:"errors"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	body.Error.Code = e.code
	body.Error.Message = e.message
	body.Error.Status = e.status
	domain := e.domain
	if domain == "" {
		domain = "global"
	}
	body.Error.Errors = []item{{Message: e.message, Domain: domain, Reason: e.reason,
		Location: e.location, LocationType: e.locationType}}
	if e.code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
	}
	writeJSON(w, e.code, &body)
}

// writeJSON sends v as the response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
