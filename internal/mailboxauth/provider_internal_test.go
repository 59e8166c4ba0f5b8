package mailboxauth

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/postfach/postfach/internal/inbox"
)

func TestMapTokenError(t *testing.T) {
	t.Parallel()
	parsed := func(code, desc string) error {
		return &oauth2.RetrieveError{ErrorCode: code, ErrorDescription: desc}
	}
	// The JWT flow leaves the answer unparsed, in Body.
	body := func(code, desc string) error {
		return &oauth2.RetrieveError{Body: fmt.Appendf(nil, `{"error":%q,"error_description":%q}`, code, desc)}
	}
	for _, tc := range []struct {
		name   string
		access inbox.MailboxAccess
		err    error
		want   error // nil: not an AccessError
		text   string
	}{
		{"Revoked", inbox.AccessOAuth, parsed("invalid_grant", "Token has been expired or revoked."), ErrConsentRevoked, "consent revoked for a@example.com: its owner must connect it again (Token has been expired or revoked.)"},
		{"DelegationMissing", inbox.AccessDelegation, body("unauthorized_client", "Client is unauthorized to retrieve access tokens using this method."), ErrDelegationMissing, "delegation missing for a@example.com"},
		{"DelegationDenied", inbox.AccessDelegation, body("access_denied", "Requested client not authorized."), ErrDelegationMissing, "delegation missing"},
		{"DelegationUnknownUser", inbox.AccessDelegation, body("invalid_grant", "Invalid email or User ID"), ErrDelegationRefused, "delegation refused for a@example.com"},
		{"ClientMisconfigured", inbox.AccessOAuth, parsed("invalid_client", "Unauthorized"), nil, "token for a@example.com"},
		{"ServerError", inbox.AccessDelegation, &oauth2.RetrieveError{Body: []byte("<html>oops")}, nil, "token for a@example.com"},
		{"Network", inbox.AccessOAuth, errors.New("dial tcp: connection refused"), nil, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := mapTokenError("a@example.com", tc.access, tc.err)
			var ae *AccessError
			if isAccess := errors.As(err, &ae); isAccess != (tc.want != nil) {
				t.Fatalf("mapTokenError = %v (AccessError %v), want kind %v", err, isAccess, tc.want)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v is not %v", err, tc.want)
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v lost its cause", err)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error text %q, want it to contain %q", err, tc.text)
			}
			if tc.want == ErrDelegationMissing && strings.Contains(err.Error(), "revoked") {
				t.Fatalf("a delegation error reads like a revoked consent: %q", err)
			}
		})
	}
}
