package mailboxauth_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/gmailclient"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/internal/mailboxauth/oauthsim"
	"github.com/postfach/postfach/internal/syncer"
)

// newSyncer syncs the harness's mailboxes through the production Gmail
// client with p's tokens.
func newSyncer(h *harness, p *mailboxauth.Provider) *syncer.Syncer {
	d := gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: h.GmailURL, Tokens: p, MaxAttempts: 2, BaseBackoff: time.Millisecond})
	return syncer.New(syncer.Options{Store: h.Store, Gmail: d, Topic: "projects/postfach-test/topics/gmail"})
}

// wantProblem checks the failure recorded on a mailbox: its kind, and
// that a failure has its words too.
func wantProblem(t *testing.T, h *harness, address string, want inbox.MailboxProblem) {
	t.Helper()
	m, err := h.Store.GetMailbox(context.Background(), address)
	if err != nil {
		t.Fatal(err)
	}
	if m.Problem != want || (want == "") != (m.LastError == "") {
		t.Fatalf("mailbox %s: problem %q, error %q; want problem %q", address, m.Problem, m.LastError, want)
	}
}

// TestSyncRecordsTheProblem runs syncs and watches through the Provider,
// the Gmail client and the syncer against the OAuth and Gmail simulators,
// and checks the kind of failure recorded on the mailbox, which the
// admin's fix is chosen by.
func TestSyncRecordsTheProblem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ConsentRevoked", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthsim.Options{})
		h.connect(t, alice)
		s := newSyncer(h, h.provider(t, mailboxauth.ProviderOptions{}))
		if err := s.Sync(ctx, alice); err != nil {
			t.Fatalf("sync of the connected mailbox: %v", err)
		}
		wantProblem(t, h, alice, "")

		// The owner revokes Postfach in the Google account: Gmail refuses
		// the cached access token (401) ...
		h.OAuth.RevokeAccount(alice)
		if err := s.Sync(ctx, alice); err == nil {
			t.Fatal("sync after the revocation succeeded")
		}
		wantProblem(t, h, alice, inbox.ProblemGmailUnauthorized)
		// ... which drops it, and the token endpoint then says the
		// refresh token is revoked (invalid_grant).
		if err := s.Sync(ctx, alice); err == nil {
			t.Fatal("second sync after the revocation succeeded")
		}
		wantProblem(t, h, alice, inbox.ProblemConsentRevoked)
		// A watch renewal meanwhile fails for the same reason, not as a
		// refused watch.
		if err := s.Watch(ctx, alice); err == nil {
			t.Fatal("watch after the revocation succeeded")
		}
		wantProblem(t, h, alice, inbox.ProblemConsentRevoked)

		// The owner connects again: the problem is gone.
		h.connect(t, alice)
		if err := s.Sync(ctx, alice); err != nil {
			t.Fatalf("sync after reconnecting: %v", err)
		}
		wantProblem(t, h, alice, "")
	})

	t.Run("GmailDenied", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthsim.Options{})
		h.connect(t, alice)
		s := newSyncer(h, h.provider(t, mailboxauth.ProviderOptions{}))
		h.Gmail.InjectFaults(alice, "*", gmailsim.Fault{Code: http.StatusForbidden, Reason: "forbidden", Message: "Delegation denied for " + alice})
		if err := s.Sync(ctx, alice); err == nil {
			t.Fatal("sync with Gmail answering 403 succeeded")
		}
		wantProblem(t, h, alice, inbox.ProblemGmailDenied)
		// Gmail's rate limit is a 403 too, but passes: retried, no problem.
		h.Gmail.InjectFaults(alice, "*", gmailsim.FaultUserRateLimited)
		if err := s.Sync(ctx, alice); err != nil {
			t.Fatalf("sync through a rate limit: %v", err)
		}
		wantProblem(t, h, alice, "")
	})

	t.Run("WatchRefused", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthsim.Options{})
		h.connect(t, alice)
		s := newSyncer(h, h.provider(t, mailboxauth.ProviderOptions{}))
		h.Gmail.InjectFaults(alice, "watch", gmailsim.Fault{Code: http.StatusForbidden, Reason: "forbidden",
			Message: "Error sending test message to Cloud PubSub projects/postfach-test/topics/gmail : User not authorized to perform this action."})
		if err := s.Watch(ctx, alice); err == nil {
			t.Fatal("watch refused by Gmail succeeded")
		}
		wantProblem(t, h, alice, inbox.ProblemWatchRefused)
	})

	t.Run("DelegationMissing", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthsim.Options{})
		key, err := h.OAuth.ServiceAccountKey(serviceAccount, "http://127.0.0.1:1/token")
		if err != nil {
			t.Fatal(err)
		}
		createMailbox(t, h, inbox.Mailbox{Address: alice, Access: inbox.AccessDelegation})
		s := newSyncer(h, h.provider(t, mailboxauth.ProviderOptions{
			Delegation: &mailboxauth.Delegation{KeyJSON: key, TokenURL: h.OAuthURL + oauthsim.PathToken},
		}))
		if err := s.Sync(ctx, alice); err == nil {
			t.Fatal("sync without delegation succeeded")
		}
		wantProblem(t, h, alice, inbox.ProblemDelegationMissing)
	})

	t.Run("NoAccess", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthsim.Options{})
		createMailbox(t, h, inbox.Mailbox{Address: bob, Access: inbox.AccessDelegation})
		s := newSyncer(h, h.provider(t, mailboxauth.ProviderOptions{}))
		if err := s.Sync(ctx, bob); err == nil {
			t.Fatal("sync without a delegation key succeeded")
		}
		wantProblem(t, h, bob, inbox.ProblemNoAccess)
	})
}
