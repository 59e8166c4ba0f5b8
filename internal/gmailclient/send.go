package gmailclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"strings"

	gmail "google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

var _ desk.Mailer = (*Dialer)(nil)

// unitsSend is the quota cost of users.messages.send.
const unitsSend = 100

// SendMail implements desk.Mailer with users.messages.send in mailbox,
// authorized like the sync: the server's own access to the mailbox, whose
// scope gmail.modify is one of those the method accepts (it allows "read,
// compose, and send"), so sending asks users for no further scope. The
// mail is marked Auto-Submitted (RFC 3834) so that mail systems do not
// answer it. A mailbox the server has no access to gives an error wrapping
// desk.ErrNoServerAccess.
func (d *Dialer) SendMail(ctx context.Context, mailboxAddr string, m desk.OutgoingMail) error {
	raw, err := outgoingRaw(m)
	if err != nil {
		return fmt.Errorf("compose mail from %s: %w", mailboxAddr, err)
	}
	mb, err := d.open(ctx, mailboxAddr)
	if err != nil {
		return fmt.Errorf("%w: %w", desk.ErrNoServerAccess, err)
	}
	err = mb.call(ctx, unitsSend, func() error {
		_, err := mb.svc.Users.Messages.Send("me", &gmail.Message{Raw: base64.URLEncoding.EncodeToString(raw)}).Context(ctx).Do()
		return err
	})
	var merr *inbox.MailboxError
	switch {
	case errors.As(err, &merr), isStatus(err, http.StatusUnauthorized), isStatus(err, http.StatusForbidden):
		return fmt.Errorf("%w: messages.send in %s: %w", desk.ErrNoServerAccess, mailboxAddr, err)
	case err != nil:
		return fmt.Errorf("messages.send in %s: %w", mailboxAddr, err)
	}
	return nil
}

// outgoingRaw is the RFC 5322 text of m: a plain-text body in UTF-8,
// quoted-printable, and a subject in encoded words. Line breaks in header
// values are dropped, so no value can add a header.
func outgoingRaw(m desk.OutgoingMail) ([]byte, error) {
	clean := func(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
	var b bytes.Buffer
	h := func(name, v string) {
		if v = clean(v); v != "" {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	h("From", m.From)
	h("To", m.To)
	h("Subject", mime.QEncoding.Encode("utf-8", clean(m.Subject)))
	h("Auto-Submitted", "auto-generated")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=UTF-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	if _, err := w.Write([]byte(m.Text)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
