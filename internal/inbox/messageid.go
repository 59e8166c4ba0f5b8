package inbox

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxMessageIDLength bounds one Message-ID; longer ones are ignored as junk.
const MaxMessageIDLength = 998

// NormalizeMessageID strips white space and the angle brackets of an RFC 5322
// msg-id ("<abc@host>" → "abc@host"). It returns "" for text that cannot be a
// Message-ID. Case is kept: the left part of a Message-ID is case-sensitive.
func NormalizeMessageID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxMessageIDLength || strings.ContainsAny(s, " \t\r\n<>\"") {
		return ""
	}
	return s
}

// ParseMessageIDs reads a header holding msg-ids (References, In-Reply-To)
// leniently: it keeps every "<…>" token and, when there is none, the
// white-space-separated words. Junk yields no ids, never an error; order is
// kept and duplicates are dropped.
func ParseMessageIDs(header string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if id := NormalizeMessageID(s); id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	rest := header
	found := false
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			break
		}
		found = true
		add(rest[i : i+j+1])
		rest = rest[i+j+1:]
	}
	if !found {
		for _, f := range strings.Fields(header) {
			add(f)
		}
	}
	return out
}

// ThreadHeaders are the headers of one mail that place it in a thread.
type ThreadHeaders struct {
	MessageID  string // Message-ID header, raw
	InReplyTo  string // In-Reply-To header, raw
	References string // References header, raw
}

// Root returns the Message-ID of the thread's first mail: the first entry of
// References, else In-Reply-To, else the mail's own Message-ID. It returns ""
// when the mail carries no usable id.
func (h ThreadHeaders) Root() string {
	if refs := ParseMessageIDs(h.References); len(refs) > 0 {
		return refs[0]
	}
	if irt := ParseMessageIDs(h.InReplyTo); len(irt) > 0 {
		return irt[0]
	}
	return NormalizeMessageID(h.MessageID)
}

// All returns every Message-ID the mail names: its own first, then
// In-Reply-To, then References from newest to oldest. A conversation is found
// by the first of them that the store knows.
func (h ThreadHeaders) All() []string {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	add(NormalizeMessageID(h.MessageID))
	for _, id := range ParseMessageIDs(h.InReplyTo) {
		add(id)
	}
	refs := ParseMessageIDs(h.References)
	for i := len(refs) - 1; i >= 0; i-- {
		add(refs[i])
	}
	return ids
}

// ConversationID derives a conversation's key from its inbox and its root
// Message-ID. The same mail reaching the same inbox through several mailboxes
// therefore always lands in the same conversation.
func ConversationID(inboxID, rootMessageID string) string {
	sum := sha256.Sum256([]byte(inboxID + "\x00" + rootMessageID))
	return "c" + hex.EncodeToString(sum[:16])
}
