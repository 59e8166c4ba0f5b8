package gmailclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/api/googleapi"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

var _ desk.SendAsChecker = (*Dialer)(nil)

// SendAs implements desk.SendAsChecker with users.settings.sendAs.get of
// address in mailbox (1 quota unit), authorized like the sync: the
// server's own access to the mailbox (domain-wide delegation, the owner's
// stored consent, or the development trust root), whose scope
// gmail.modify is one of the four the method accepts (gmail.settings.basic,
// gmail.modify, gmail.readonly, mail.google.com). So the check asks users
// for no scope beyond those of the sidebar, and works only for mailboxes
// the server can reach.
//
// A 404 is Gmail's documented answer for an address that is not an alias
// (desk.SendAsNone). A mailbox the server has no access to (not linked,
// no credentials, or Gmail refusing them) gives an error wrapping
// desk.ErrNoServerAccess.
func (d *Dialer) SendAs(ctx context.Context, mailboxAddr, address string) (desk.SendAsStatus, error) {
	m, err := d.open(ctx, mailboxAddr)
	if err != nil {
		return desk.SendAsNone, fmt.Errorf("%w: %w", desk.ErrNoServerAccess, err)
	}
	var got *sendAsAnswer
	err = m.call(ctx, unitsSendAsGet, func() error {
		a, err := m.svc.Users.Settings.SendAs.Get("me", address).Context(ctx).Do()
		if err == nil {
			got = &sendAsAnswer{status: a.VerificationStatus, alias: a.TreatAsAlias, primary: a.IsPrimary}
		}
		return err
	})
	var merr *inbox.MailboxError
	switch {
	case notFound(err):
		return desk.SendAsNone, nil
	case errors.As(err, &merr), isStatus(err, http.StatusUnauthorized), isStatus(err, http.StatusForbidden):
		return desk.SendAsNone, fmt.Errorf("%w: settings.sendAs.get in %s: %w", desk.ErrNoServerAccess, mailboxAddr, err)
	case err != nil:
		return desk.SendAsNone, fmt.Errorf("settings.sendAs.get in %s: %w", mailboxAddr, err)
	}
	return got.decide(), nil
}

// sendAsAnswer is what Gmail said about one send-as address.
type sendAsAnswer struct {
	status  string
	alias   bool
	primary bool
}

// decide reads Gmail's answer: the primary address and an accepted alias
// may be used; verificationStatus "only applies to custom 'from' aliases",
// so an alias without one that Gmail treats as an alias (treatAsAlias,
// as for addresses of the same domain) may be used too.
func (a sendAsAnswer) decide() desk.SendAsStatus {
	switch {
	case a.primary, a.status == "accepted", a.status == "" && a.alias:
		return desk.SendAsAccepted
	case a.status == "pending":
		return desk.SendAsPending
	}
	return desk.SendAsNone
}

func isStatus(err error, code int) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == code
}
