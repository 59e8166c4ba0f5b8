package gmailsim

import (
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"

	gmail "google.golang.org/api/gmail/v1"
)

// Send simulates a mailbox sending raw, as users.messages.send does: the
// sender keeps a copy labelled SENT (only SENT: Gmail files a sent mail
// neither in INBOX nor as UNREAD), then every recipient in To, Cc and Bcc
// gets a copy through Deliver, each routed by Options.Route (by default an
// address reaches the simulated mailbox of that address, and any other
// address goes nowhere; so does any address routed to no simulated
// mailbox). The sender gets no second copy, even when a
// recipient (a group it belongs to) routes back to it: Gmail keeps the one
// message with that Message-ID, the SENT one. As Gmail does, Send adds a
// From of the sender and a Message-ID when raw has none, and a From address
// that is neither the sender's own nor one of its accepted send-as aliases
// (AddSendAs) is replaced by the sender's address, keeping the display
// name; mail sent as an alias with a Reply-To address gets that Reply-To
// unless it has one. threadID may name a thread of the sender's mailbox to
// join (see Insert).
func (s *Server) Send(from string, raw []byte, threadID string) (Message, []Delivered, error) {
	addr := normAddress(from)
	rawFrom, _ := rawField(raw, "From")
	_, hasReplyTo := rawField(raw, "Reply-To")
	s.mu.RLock()
	mb, ok := s.mailboxes[addr]
	var newFrom, replyTo string
	if ok {
		newFrom, replyTo = mb.fromRewrite(rawFrom, hasReplyTo)
	}
	s.mu.RUnlock()
	if !ok {
		return Message{}, nil, fmt.Errorf("%w: %s", ErrUnknownMailbox, addr)
	}
	h, _ := splitHeader(raw)
	if newFrom != "" {
		raw = withField(raw, "From", newFrom)
	}
	var prefix []byte
	if replyTo != "" {
		prefix = append(prefix, "Reply-To: "+replyTo+"\r\n"...)
	}
	if firstMsgID(h.get("Message-ID")) == "" {
		s.mu.Lock()
		id := s.newMessageID(s.now())
		s.mu.Unlock()
		prefix = append(prefix, "Message-ID: <"+id+"@mail.gmail.com>\r\n"...)
	}
	raw = append(prefix, raw...)
	m, err := s.insert(addr, insertRequest{raw: raw, labelIDs: []string{LabelSent}, threadID: threadID})
	if err != nil {
		return Message{}, nil, err
	}
	s.mu.RLock()
	sent := snapshot(addr, m)
	s.mu.RUnlock()

	var routed []string
	for _, rcpt := range recipients(h) {
		routed = append(routed, s.routeTo(rcpt)...)
	}
	var targets []string
	s.mu.RLock()
	for _, t := range routed {
		// Addresses outside the simulator go nowhere.
		if t = normAddress(t); t != addr && s.mailboxes[t] != nil && !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	s.mu.RUnlock()
	if len(targets) == 0 {
		return sent, nil, nil
	}
	got, err := s.Deliver(raw, targets...)
	if err != nil {
		return sent, nil, fmt.Errorf("gmailsim: send from %s: %w", addr, err)
	}
	return sent, got, nil
}

// routeTo maps one recipient address to the mailboxes that receive it.
func (s *Server) routeTo(rcpt string) []string {
	if s.router != nil {
		return s.router(rcpt)
	}
	return []string{rcpt}
}

// recipients returns the addresses in To, Cc and Bcc, lower case; an
// unparsable entry is skipped.
func recipients(h header) []string {
	var out []string
	for _, name := range []string{"To", "Cc", "Bcc"} {
		for _, f := range h {
			if !strings.EqualFold(f.name, name) {
				continue
			}
			for _, part := range strings.Split(f.value, ",") {
				if a, err := mail.ParseAddress(part); err == nil {
					out = append(out, normAddress(a.Address))
				}
			}
		}
	}
	return out
}

// handleSendJSON serves POST …/messages/send with {"raw": base64url,
// "threadId": …}.
func (s *Server) handleSendJSON(c *call) error {
	meta, err := s.readRawJSON(c)
	if err != nil {
		return err
	}
	if meta.ThreadID != "" && !validID(meta.ThreadID) {
		return errInvalid("Invalid thread_id value")
	}
	raw, ok := decodeBase64Any(meta.Raw)
	if !ok {
		return errInvalid("Invalid value for ByteString: %.40s", meta.Raw)
	}
	if h, _ := splitHeader(raw); len(recipients(h)) == 0 {
		return errBadRequest("Recipient address required")
	}
	m, _, err := s.Send(c.addr, raw, meta.ThreadID)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, &gmail.Message{Id: m.ID, ThreadId: m.ThreadID, LabelIds: m.LabelIDs})
	return nil
}
