package inbox

import (
	"errors"
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
	// Resync is how far a full resync under way got; zero when none is.
	Resync          Resync
	WatchExpiration time.Time
	// Labels maps Postfach's label names to this mailbox's label ids.
	Labels map[string]string
	// Access says how Postfach reaches the mailbox without a user present.
	Access MailboxAccess
	// SealedToken is the refresh token of a mailbox connected by its
	// owner's offline consent (AccessOAuth), encrypted; never in clear.
	SealedToken []byte
	// ConnectedBy is who connected the mailbox.
	ConnectedBy string
	// ConsentStateExpires is the expiry of the last "Connect mailbox"
	// state spent to connect the mailbox (zero: none); see
	// ConsentStateSpent. Stores keep it to the microsecond, a state's
	// precision, not to the millisecond like the other times.
	ConsentStateExpires time.Time

	LeaseHolder string
	LeaseUntil  time.Time

	LastSyncAt time.Time
	// LastError is the last sync failure in words, for the admin; "" when
	// healthy.
	LastError string
	// Problem is the kind of that failure, which decides the fix the admin
	// is shown; "" when healthy.
	Problem    MailboxProblem
	ErrorCount int
	CreatedAt  time.Time
}

// MailboxProblem is the kind of failure that stops Postfach from syncing a
// mailbox, decided where the failure is classified (the token source, the
// Gmail client) and recorded with the mailbox.
type MailboxProblem string

// Mailbox problems.
const (
	// ProblemConsentRevoked: the owner's offline consent was revoked or
	// expired; the owner connects the mailbox again.
	ProblemConsentRevoked MailboxProblem = "consent_revoked"
	// ProblemDelegationMissing: the tenant's admin has not granted
	// Postfach's service account domain-wide delegation for its scopes.
	ProblemDelegationMissing MailboxProblem = "delegation_missing"
	// ProblemDelegationRefused: Google refused the delegated token for
	// another reason (unknown or suspended user, bad key).
	ProblemDelegationRefused MailboxProblem = "delegation_refused"
	// ProblemNoAccess: the mailbox has no way in that this server is
	// configured for.
	ProblemNoAccess MailboxProblem = "no_access"
	// ProblemGmailUnauthorized: Gmail refused the access token (401),
	// typically a grant revoked since the token was issued.
	ProblemGmailUnauthorized MailboxProblem = "gmail_unauthorized"
	// ProblemGmailDenied: Gmail denied access to the mailbox (403 that is
	// not a rate limit).
	ProblemGmailDenied MailboxProblem = "gmail_denied"
	// ProblemWatchRefused: Gmail refused the push watch (the Pub/Sub topic
	// or its publisher permission).
	ProblemWatchRefused MailboxProblem = "watch_refused"
	// ProblemOther: any other failure; Postfach retries.
	ProblemOther MailboxProblem = "other"
)

// valid reports whether p is one of the problems above or "".
func (p MailboxProblem) valid() bool {
	switch p {
	case "", ProblemConsentRevoked, ProblemDelegationMissing, ProblemDelegationRefused, ProblemNoAccess,
		ProblemGmailUnauthorized, ProblemGmailDenied, ProblemWatchRefused, ProblemOther:
		return true
	}
	return false
}

// ProblemOf classifies a failure to reach or sync a mailbox: the problem
// of the first error in err's tree that names one (a MailboxError, or an
// adapter's error with a MailboxProblem method), ProblemOther for any
// other error, "" for nil.
func ProblemOf(err error) MailboxProblem {
	if err == nil {
		return ""
	}
	var p interface{ MailboxProblem() MailboxProblem }
	if errors.As(err, &p) {
		if k := p.MailboxProblem(); k != "" {
			return k
		}
	}
	return ProblemOther
}

// MailboxError is a failure reaching a mailbox with its kind, for adapters
// that classify an error they do not own (a Gmail API error).
type MailboxError struct {
	Problem MailboxProblem
	Err     error
}

func (e *MailboxError) Error() string { return e.Err.Error() }

// Unwrap gives errors.Is and errors.As the cause.
func (e *MailboxError) Unwrap() error { return e.Err }

// MailboxProblem returns e.Problem (see ProblemOf).
func (e *MailboxError) MailboxProblem() MailboxProblem { return e.Problem }

// MailboxAccess is how Postfach reaches a mailbox without a user present.
type MailboxAccess string

// Mailbox access modes.
const (
	// AccessDelegation: the tenant's admin granted domain-wide delegation
	// to Postfach's service account, which impersonates the mailbox.
	AccessDelegation MailboxAccess = "delegation"
	// AccessOAuth: the mailbox's owner gave offline consent ("Connect
	// mailbox"); Postfach keeps the refresh token, sealed.
	AccessOAuth MailboxAccess = "oauth"
	// AccessDev: the development trust root (postfach dev and tests).
	AccessDev MailboxAccess = "dev"
)

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
	switch m.Access {
	case "", AccessDelegation, AccessDev:
		if len(m.SealedToken) > 0 {
			return invalidf("mailbox %s holds a token but its access is %q", m.Address, m.Access)
		}
	case AccessOAuth:
	default:
		return invalidf("mailbox access %q is unknown", m.Access)
	}
	if !m.Problem.valid() {
		return invalidf("mailbox problem %q is unknown", m.Problem)
	}
	return nil
}

// ConsentStateSpent reports whether a "Connect mailbox" state expiring at
// expires can no longer connect m: it is the state spent last (a state is
// single-use) or one issued before it (states expire a fixed time after
// they are issued, so an earlier expiry is an earlier state).
func (m Mailbox) ConsentStateSpent(expires time.Time) bool {
	return !m.ConsentStateExpires.IsZero() && !expires.After(m.ConsentStateExpires)
}

// ErrLeaseHeld: another holder has the mailbox's lease.
var ErrLeaseHeld = fmt.Errorf("%w: lease held by another instance", ErrConflict)

// ErrLeaseLost: the holder's lease ran out (or another holder took it)
// before its sync was done, so it may not move the cursor. It is no
// failure of the mailbox.
var ErrLeaseLost = fmt.Errorf("%w: lease lost", ErrConflict)

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
// fails with ErrLeaseLost (an ErrConflict) if holder lost the lease, and
// with ErrConflict if someone else moved the cursor: the state behind the
// cursor is then not what the caller synced.
func (m *Mailbox) Advance(holder string, from, to uint64, now time.Time) error {
	if m.LeaseHolder != holder || !now.Before(m.LeaseUntil) {
		return fmt.Errorf("%w: %s", ErrLeaseLost, m.Address)
	}
	if m.HistoryID != from {
		return fmt.Errorf("%w: cursor of %s is %d, not %d", ErrConflict, m.Address, m.HistoryID, from)
	}
	if to > m.HistoryID {
		m.HistoryID = to
	}
	return nil
}

// Resync is how far a full resync of a mailbox got (a first sync, or one
// after Gmail forgot the history after the cursor). It is stored as the
// resync commits, so that after a crash, a deploy or a lost lease the next
// sync carries on after the last message committed instead of reading the
// whole window of mail again.
type Resync struct {
	// Start is the mailbox's history id when the resync began: its cursor
	// once done, so that what changed meanwhile is replayed. 0: no resync
	// under way.
	Start uint64
	// Since is the start of the window of mail the resync reads.
	Since time.Time
	// After is the Gmail id of the last message committed, in the
	// resync's order (oldest first); "" before the first.
	After string
}

// ThreadLink places a conversation in one mailbox: the Gmail thread that
// holds its mail there. Labels are applied per link.
type ThreadLink struct {
	TenantID       string
	ConversationID string
	Mailbox        string
	ThreadID       string
}

// ValidateUpdate checks a mailbox changed by Store.UpdateMailbox against
// the stored one: address and tenant stay.
func (m Mailbox) ValidateUpdate(stored Mailbox) error {
	switch {
	case m.Address != stored.Address:
		return invalidf("the address of mailbox %s cannot change to %q", stored.Address, m.Address)
	case m.TenantID != stored.TenantID:
		return invalidf("the tenant of mailbox %s cannot change to %q", stored.Address, m.TenantID)
	}
	return m.Validate()
}
