package desk

import (
	"context"
	"errors"
	"net/mail"
	"sync"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// SendAsStatus is whether a mailbox may send mail from an address.
type SendAsStatus int

// The answers of a SendAsChecker.
const (
	// SendAsNone: the address is not among the mailbox's send-as
	// addresses; Gmail would replace it with the mailbox's own.
	SendAsNone SendAsStatus = iota
	// SendAsPending: an alias whose verification is not done.
	SendAsPending
	// SendAsAccepted: the mailbox may send as the address.
	SendAsAccepted
)

// ErrNoServerAccess: the server cannot read the mailbox's settings (it is
// not linked, or its access is broken). Replies then come from the user's
// own address.
var ErrNoServerAccess = errors.New("no server access to the mailbox")

// SendAsChecker tells whether a user's mailbox may send as an address
// (Gmail's "Send mail as" aliases, users.settings.sendAs).
type SendAsChecker interface {
	// SendAs reports the status of address among mailbox's send-as
	// addresses. It returns an error wrapping ErrNoServerAccess when the
	// server cannot read the mailbox.
	SendAs(ctx context.Context, mailbox, address string) (SendAsStatus, error)
}

// How long an answer of the SendAsChecker is reused: aliases change
// rarely, and a Reply should not cost a Gmail call each time. An alias an
// admin just added is used at most this late.
const (
	sendAsTTL     = 5 * time.Minute
	sendAsTimeout = 5 * time.Second
	sendAsMax     = 10000 // entries before expired ones are swept
)

// sendAsCache keeps SendAsChecker answers per mailbox and address.
type sendAsCache struct {
	mu sync.Mutex
	m  map[[2]string]sendAsEntry
}

type sendAsEntry struct {
	status SendAsStatus
	at     time.Time
}

func (c *sendAsCache) get(key [2]string, now time.Time) (SendAsStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.Sub(e.at) >= sendAsTTL || now.Before(e.at) {
		return SendAsNone, false
	}
	return e.status, true
}

func (c *sendAsCache) put(key [2]string, st SendAsStatus, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[2]string]sendAsEntry{}
	}
	if len(c.m) >= sendAsMax {
		for k, e := range c.m {
			if now.Sub(e.at) >= sendAsTTL {
				delete(c.m, k)
			}
		}
	}
	c.m[key] = sendAsEntry{status: st, at: now}
}

// replyFrom is the From of the caller's reply draft: the inbox's address
// with the inbox's name when the inbox replies from it and the caller's
// Gmail may send as it, else own (the caller's address). The Message says
// why the draft is not from the shared address when it should have been;
// it is zero otherwise.
func (s *Service) replyFrom(ctx context.Context, ib inbox.Inbox, me inbox.Member, own string) (string, Message) {
	if !ib.Settings.ReplyFrom.Shared() || ib.Address == "" || ib.Address == me.Email {
		return own, Message{}
	}
	shared := (&mail.Address{Name: ib.Name, Address: ib.Address}).String()
	if s.sendAs == nil {
		return own, Msg("sendas.notice.no_access", "Address", ib.Address)
	}
	key, now := [2]string{me.Email, ib.Address}, s.now()
	st, ok := s.sendAsAnswers.get(key, now)
	if !ok {
		cctx, cancel := context.WithTimeout(ctx, sendAsTimeout)
		var err error
		st, err = s.sendAs.SendAs(cctx, me.Email, ib.Address)
		cancel()
		switch {
		case errors.Is(err, ErrNoServerAccess):
			s.log.InfoContext(ctx, "send-as not checked: no access to the mailbox", "mailbox", me.Email, "error", err)
			return own, Msg("sendas.notice.no_access", "Address", ib.Address)
		case err != nil:
			s.log.WarnContext(ctx, "send-as not checked", "mailbox", me.Email, "address", ib.Address, "error", err)
			return own, Msg("sendas.notice.unchecked", "Address", ib.Address)
		}
		s.sendAsAnswers.put(key, st, now)
	}
	switch st {
	case SendAsAccepted:
		return shared, Message{}
	case SendAsPending:
		return own, Msg("sendas.notice.pending", "Address", ib.Address)
	}
	return own, Msg("sendas.notice.not_alias", "Address", ib.Address)
}
