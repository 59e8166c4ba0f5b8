package gmailclient_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/oauth2"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/gmailclient"
	"github.com/postfach/postfach/internal/gmailsim"
)

// failingTokens has no access to any mailbox, as mailboxauth.Provider for
// a mailbox that is not linked.
type failingTokens struct{}

func (failingTokens) TokenSource(context.Context, string) (oauth2.TokenSource, error) {
	return nil, errors.New("mailbox example: not found")
}

// refusedTokens gives tokens Gmail refuses.
type refusedTokens struct{}

func (refusedTokens) TokenSource(context.Context, string) (oauth2.TokenSource, error) {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "revoked"}), nil
}

// TestDialerSendAs reads send-as aliases through the simulator's
// users.settings.sendAs.get with the mailbox's server-side token.
func TestDialerSendAs(t *testing.T) {
	t.Parallel()
	sim, endpoint := simulator(t, gmailsim.Options{})
	const bob = "bob@example.com"
	for _, a := range []gmailsim.SendAs{
		{SendAsEmail: "support@example.com", DisplayName: "Support", VerificationStatus: gmailsim.VerificationAccepted},
		{SendAsEmail: "sales@example.com", VerificationStatus: gmailsim.VerificationPending},
	} {
		if err := sim.AddSendAs(bob, a); err != nil {
			t.Fatal(err)
		}
	}
	ok := gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: endpoint, Tokens: tokens{}})
	for _, tc := range []struct {
		name    string
		d       *gmailclient.Dialer
		address string
		want    desk.SendAsStatus
		wantErr error
	}{
		{"Accepted", ok, "support@example.com", desk.SendAsAccepted, nil},
		{"Pending", ok, "sales@example.com", desk.SendAsPending, nil},
		{"NotAnAlias", ok, "billing@example.com", desk.SendAsNone, nil},
		{"Primary", ok, bob, desk.SendAsAccepted, nil},
		{"NotLinked", gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: endpoint, Tokens: failingTokens{}}), "support@example.com", desk.SendAsNone, desk.ErrNoServerAccess},
		{"NoTokenSources", gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: endpoint}), "support@example.com", desk.SendAsNone, desk.ErrNoServerAccess},
		{"TokenRefused", gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: endpoint, Tokens: refusedTokens{}}), "support@example.com", desk.SendAsNone, desk.ErrNoServerAccess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.d.SendAs(context.Background(), bob, tc.address)
			if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("SendAs(%s) = %v, %v; want %v, %v", tc.address, got, err, tc.want, tc.wantErr)
			}
		})
	}
	if _, req := sim.Usage(bob); req["settings.sendAs.get"] != 4 {
		t.Errorf("settings.sendAs.get requests = %d, want 4 (one per check with access)", req["settings.sendAs.get"])
	}
}
