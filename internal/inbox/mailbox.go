package inbox

import (
	"fmt"
	"time"
)

// MailboxKind says whose mailbox a link reads.
type MailboxKind string

// Mailbox kinds.
const (
	// MailboxShared is the shared mailbox of one inbox itself (its Address
	// is the inbox's address).
	MailboxShared MailboxKind = "shared"
	// MailboxMember is a member's own mailbox, which receives the group's
	// copies of every inbox the member works.
	MailboxMember MailboxKind = "member"
)

// Mailbox is a Gmail mailbox that Postfach may read and label without a user
// present: its watch, its history cursor and the lease that keeps two
// instances from syncing it at once. Its Address is globally unique (Gmail
// push notifications name nothing else).
type Mailbox struct {
	Address  string // lower case; the key
	TenantID string
	Kind     MailboxKind
	// HistoryID is the sync cursor: every change up to it is applied.
	// 0 means the mailbox was never synced (a full sync comes first).
	HistoryID uint64
	// NotifiedHistoryID is the highest historyId a push announced.
	NotifiedHistoryID uint64
	WatchExpiration   time.Time
	// Labels maps Postfach's label names to this mailbox's label ids.
	Labels map[string]string
	// Expected lists label changes Postfach itself made recently, so that
	// their echo in the history is not taken for a user's change.
	Expected []LabelExpectation

	LeaseHolder string
	LeaseUntil  time.Time

	LastSyncAt time.Time
	// LastError is the last sync failure, for the admin; "" when healthy.
	LastError  string
	ErrorCount int
	CreatedAt  time.Time
}

// LabelExpectation is one label change Postfach made on a thread.
type LabelExpectation struct {
	ThreadID string
	LabelID  string
	Add      bool
	Until    time.Time
}

// Validate checks the mailbox's fields.
func (m Mailbox) Validate() error {
	if NormalizeEmail(m.Address) != m.Address || m.Address == "" {
		return invalidf("mailbox address %q is not a lower-case e-mail address", m.Address)
	}
	if !validDomain(m.TenantID) {
		return invalidf("mailbox tenant %q is not a domain name", m.TenantID)
	}
	if m.Kind != MailboxShared && m.Kind != MailboxMember {
		return invalidf("mailbox kind %q is unknown", m.Kind)
	}
	return nil
}

// ErrLeaseHeld: another holder has the mailbox's lease.
var ErrLeaseHeld = fmt.Errorf("%w: lease held by another instance", ErrConflict)

// Acquire takes the mailbox's sync lease for holder until now+ttl. It fails
// with ErrLeaseHeld while another holder's lease runs; a holder may renew
// its own.
func (m *Mailbox) Acquire(holder string, now time.Time, ttl time.Duration) error {
	if m.LeaseHolder != "" && m.LeaseHolder != holder && now.Before(m.LeaseUntil) {
		return ErrLeaseHeld
	}
	m.LeaseHolder = holder
	m.LeaseUntil = now.Add(ttl)
	return nil
}

// Release gives the lease up if holder has it.
func (m *Mailbox) Release(holder string) {
	if m.LeaseHolder == holder {
		m.LeaseHolder = ""
		m.LeaseUntil = time.Time{}
	}
}

// Advance moves the cursor from `from` to `to` for the lease holder. It
// fails with ErrConflict if holder lost the lease or someone else moved the
// cursor: the state behind the cursor is then not what the caller synced.
func (m *Mailbox) Advance(holder string, from, to uint64, now time.Time) error {
	if m.LeaseHolder != holder || !now.Before(m.LeaseUntil) {
		return fmt.Errorf("%w: lease of %s lost", ErrConflict, m.Address)
	}
	if m.HistoryID != from {
		return fmt.Errorf("%w: cursor of %s is %d, not %d", ErrConflict, m.Address, m.HistoryID, from)
	}
	if to > m.HistoryID {
		m.HistoryID = to
	}
	return nil
}

// Behind reports whether a push announced history the cursor has not reached.
func (m Mailbox) Behind() bool { return m.NotifiedHistoryID > m.HistoryID || m.HistoryID == 0 }

// Expect records label changes Postfach is about to make, dropping expired
// ones; at most MaxExpectations are kept, newest last.
func (m *Mailbox) Expect(now time.Time, es ...LabelExpectation) {
	kept := m.Expected[:0:0]
	for _, e := range m.Expected {
		if now.Before(e.Until) {
			kept = append(kept, e)
		}
	}
	kept = append(kept, es...)
	if len(kept) > MaxExpectations {
		kept = kept[len(kept)-MaxExpectations:]
	}
	m.Expected = kept
}

// Expects reports whether a label change seen in the history is the echo of
// one Postfach made.
func (m Mailbox) Expects(threadID, labelID string, add bool, now time.Time) bool {
	for _, e := range m.Expected {
		if e.ThreadID == threadID && e.LabelID == labelID && e.Add == add && now.Before(e.Until) {
			return true
		}
	}
	return false
}

// MaxExpectations bounds Mailbox.Expected (the document stays small).
const MaxExpectations = 200

// ThreadLink places a conversation in one mailbox: the Gmail thread that
// holds its mail there. Labels are applied per link.
type ThreadLink struct {
	TenantID       string
	ConversationID string
	Mailbox        string
	ThreadID       string
}
