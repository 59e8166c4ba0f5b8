package gmailsim

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"

	"google.golang.org/api/gmail/v1"
)

// Verification states of a send-as alias, as users.settings.sendAs spells
// them.
const (
	VerificationAccepted = "accepted"
	VerificationPending  = "pending"
)

// ErrInvalidSendAs: AddSendAs was given an alias without an address or with
// an unknown verification status.
var ErrInvalidSendAs = errors.New("gmailsim: invalid send-as alias")

// SendAs is a send-as identity of a mailbox: the primary address, or a
// custom "from" alias as a user adds under "Send mail as" (a Google Group's
// address, say). The fields are those of Gmail's SendAs resource that the
// simulator models; signature and smtpMsa are left out.
type SendAs struct {
	// SendAsEmail is the address in the From header of mail sent with the
	// alias.
	SendAsEmail string
	// DisplayName is the name Gmail shows for the alias. The simulator
	// reports it but does not write it into mail (see Send).
	DisplayName string
	// ReplyToAddress, when set, is the Reply-To Gmail adds to mail sent with
	// the alias.
	ReplyToAddress string
	// IsDefault marks the default From address; every mailbox has exactly
	// one. Adding a default alias makes it the only one.
	IsDefault bool
	// IsPrimary marks the mailbox's own address. It is read-only: AddSendAs
	// ignores it.
	IsPrimary bool
	// VerificationStatus is VerificationAccepted or VerificationPending
	// for a custom alias; AddSendAs treats "" as accepted. The primary
	// address has none: the reference says the field "only applies to
	// custom 'from' aliases".
	VerificationStatus string
	// TreatAsAlias is reported as given; the simulator gives it no meaning.
	TreatAsAlias bool
}

// AddSendAs configures a send-as alias of mailbox, as a user (or an admin
// for them) does under "Send mail as". An alias with an address the mailbox
// already has replaces it; the primary address itself can only get a
// display name, a Reply-To and the default mark this way. Errors:
// ErrUnknownMailbox, ErrInvalidSendAs.
func (s *Server) AddSendAs(mailbox string, alias SendAs) error {
	addr := normAddress(mailbox)
	email := normAddress(alias.SendAsEmail)
	if _, err := mail.ParseAddress(email); err != nil || email == "" {
		return fmt.Errorf("%w: address %q", ErrInvalidSendAs, alias.SendAsEmail)
	}
	switch alias.VerificationStatus {
	case "":
		alias.VerificationStatus = VerificationAccepted
	case VerificationAccepted, VerificationPending:
	default:
		return fmt.Errorf("%w: verification status %q", ErrInvalidSendAs, alias.VerificationStatus)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[addr]
	if mb == nil {
		return fmt.Errorf("%w: %s", ErrUnknownMailbox, addr)
	}
	alias.SendAsEmail = email
	alias.IsPrimary = false
	if email == addr {
		p := &mb.sendAs[0]
		p.DisplayName, p.ReplyToAddress = alias.DisplayName, alias.ReplyToAddress
		if alias.IsDefault {
			mb.setDefaultSendAs(0)
		}
		return nil
	}
	i := slices.IndexFunc(mb.sendAs, func(a SendAs) bool { return a.SendAsEmail == email })
	if i < 0 {
		mb.sendAs = append(mb.sendAs, SendAs{})
		i = len(mb.sendAs) - 1
	}
	wasDefault := mb.sendAs[i].IsDefault
	mb.sendAs[i] = alias
	switch {
	case alias.IsDefault:
		mb.setDefaultSendAs(i)
	case wasDefault:
		// There is always exactly one default; the primary takes over.
		mb.setDefaultSendAs(0)
	}
	return nil
}

// setDefaultSendAs makes identity i the only default.
func (mb *mailbox) setDefaultSendAs(i int) {
	for j := range mb.sendAs {
		mb.sendAs[j].IsDefault = j == i
	}
}

// identity returns the send-as identity with address addr, if any.
func (mb *mailbox) identity(addr string) (SendAs, bool) {
	i := slices.IndexFunc(mb.sendAs, func(a SendAs) bool { return a.SendAsEmail == addr })
	if i < 0 {
		return SendAs{}, false
	}
	a := mb.sendAs[i]
	a.IsPrimary = i == 0
	return a, true
}

// mayUse reports whether the mailbox may send with a From of addr: its
// primary address or an accepted alias.
func (a SendAs) mayUse() bool {
	return a.IsPrimary || a.VerificationStatus == VerificationAccepted
}

func (a SendAs) resource() *gmail.SendAs {
	out := &gmail.SendAs{
		SendAsEmail:    a.SendAsEmail,
		DisplayName:    a.DisplayName,
		ReplyToAddress: a.ReplyToAddress,
		IsDefault:      a.IsDefault,
		IsPrimary:      a.IsPrimary,
		TreatAsAlias:   a.TreatAsAlias,
	}
	if !a.IsPrimary {
		out.VerificationStatus = a.VerificationStatus
	}
	return out
}

// handleListSendAs serves users.settings.sendAs.list: the primary address,
// then the aliases in the order they were added.
func (s *Server) handleListSendAs(c *call) error {
	s.mu.RLock()
	mb := s.mailboxes[c.addr]
	resp := &gmail.ListSendAsResponse{}
	for i, a := range mb.sendAs {
		a.IsPrimary = i == 0
		resp.SendAs = append(resp.SendAs, a.resource())
	}
	s.mu.RUnlock()
	writeJSON(c.w, http.StatusOK, resp)
	return nil
}

// handleGetSendAs serves users.settings.sendAs.get: 404 for an address that
// is not in the collection, as documented. Addresses compare
// case-insensitively (an assumption).
func (s *Server) handleGetSendAs(c *call, email string) error {
	s.mu.RLock()
	a, ok := s.mailboxes[c.addr].identity(normAddress(email))
	s.mu.RUnlock()
	if !ok {
		return errNotFound()
	}
	writeJSON(c.w, http.StatusOK, a.resource())
	return nil
}

// fromRewrite decides what Gmail does to the From of mail that mailbox addr
// sends, from the raw From value (undecoded, unfolded; "" when absent).
// Gmail sends a From that is the primary address or an accepted alias as
// it is, adding the alias's Reply-To when the mail has none (the reference:
// replyToAddress "is included in a 'Reply-To:' header for mail sent using
// this alias"). Any other From address is replaced by the primary address;
// this is not in the reference but widely reported ("If the header is not
// a verified alias, Gmail silently rewrites it to the account's primary
// address"). Whether Gmail keeps the display name then is not documented;
// the simulator keeps it. A missing From becomes the bare primary address.
// It returns the From value to write ("" to keep the mail's own) and the
// Reply-To to add ("" for none). The caller holds s.mu.
func (mb *mailbox) fromRewrite(rawFrom string, hasReplyTo bool) (from, replyTo string) {
	if strings.TrimSpace(rawFrom) == "" {
		return mb.address, ""
	}
	p := mail.AddressParser{WordDecoder: wordDecoder}
	a, err := p.Parse(rawFrom)
	if err != nil {
		if list, lerr := p.ParseList(rawFrom); lerr == nil && len(list) > 0 {
			a, err = list[0], nil
		}
	}
	if err == nil {
		if id, ok := mb.identity(normAddress(a.Address)); ok && id.mayUse() {
			if !hasReplyTo && id.ReplyToAddress != "" {
				replyTo = id.ReplyToAddress
			}
			return "", replyTo
		}
	}
	name := ""
	if a != nil {
		name = a.Name
	}
	return (&mail.Address{Name: name, Address: mb.address}).String(), ""
}

// rawField returns the value of the first field called name in the header
// block of raw, unfolded but not decoded, and whether there is one.
func rawField(raw []byte, name string) (string, bool) {
	var val []byte
	found, in := false, false
	walkHeader(raw, func(fname, line []byte, cont bool) bool {
		switch {
		case cont && in:
			val = append(val, bytes.TrimRight(line, "\r\n")...)
		case cont:
		case found:
			return false
		default:
			in = strings.EqualFold(string(fname), name)
			if in {
				found = true
				_, v, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(":"))
				val = append(val, v...)
			}
		}
		return true
	})
	return strings.TrimSpace(string(val)), found
}

// withField returns raw with every field called name removed from its header
// block and "name: value" put first.
func withField(raw []byte, name, value string) []byte {
	out := []byte(name + ": " + value + "\r\n")
	drop := false
	n := walkHeader(raw, func(fname, line []byte, cont bool) bool {
		if !cont {
			drop = strings.EqualFold(string(fname), name)
		}
		if !drop {
			out = append(out, line...)
		}
		return true
	})
	return append(out, raw[n:]...)
}

// walkHeader calls fn for each line of the header block at the start of raw,
// with the field's name and whether the line continues the previous field,
// as splitHeader reads the block. It stops when fn returns false and returns
// how many bytes it consumed; the empty line ending the block is left
// unconsumed, so it stays in place for the caller.
func walkHeader(raw []byte, fn func(name, line []byte, cont bool) bool) int {
	rest, inField := raw, false
	var name []byte
	for len(rest) > 0 {
		line, next := cutLine(rest)
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			break
		}
		cont := trimmed[0] == ' ' || trimmed[0] == '\t'
		if cont && !inField {
			break
		}
		if !cont {
			n, _, ok := bytes.Cut(trimmed, []byte(":"))
			n = bytes.TrimRight(n, " \t")
			if !ok || !validFieldName(n) {
				break
			}
			name, inField = n, true
		}
		if !fn(name, line, cont) {
			break
		}
		rest = next
	}
	return len(raw) - len(rest)
}
