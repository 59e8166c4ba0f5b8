package inbox

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"time"
)

// RecordKind names what one Record of a tenant's export holds.
type RecordKind string

// Record kinds, in the order Store.ExportTenant streams them: every record
// comes after the records it refers to (a conversation after the tenant,
// its notes, activity and thread links after it), so an import that
// writes them in stream order never writes a child before its parent.
const (
	RecordTenant       RecordKind = "tenant"
	RecordInbox        RecordKind = "inbox"
	RecordTemplate     RecordKind = "template"
	RecordAssignState  RecordKind = "assign_state"
	RecordUserPrefs    RecordKind = "user_prefs"
	RecordMailbox      RecordKind = "mailbox"
	RecordConversation RecordKind = "conversation"
	RecordNote         RecordKind = "note"
	RecordActivity     RecordKind = "activity"
	RecordThreadLink   RecordKind = "thread_link"
	RecordMention      RecordKind = "mention"
)

// RecordKinds lists every kind, in stream order.
var RecordKinds = []RecordKind{
	RecordTenant, RecordInbox, RecordTemplate, RecordAssignState, RecordUserPrefs, RecordMailbox,
	RecordConversation, RecordNote, RecordActivity, RecordThreadLink, RecordMention,
}

// Record is one stored record of a tenant, as Store.ExportTenant reads it
// and Store.ImportRecords writes it back: Kind says which one field is
// set. Records carry what the store keeps and nothing derived from it:
// an inbox's kept Counts are recounted after an import
// (Store.ReconcileCounts), a Firestore conversation's copy of its newest
// history is rebuilt from its notes and activity.
//
// What a tenant's export leaves out on purpose: presence (who viewed or
// claimed a conversation in the last minutes; it expires by itself), a
// mailbox's sync lease and its watch expiration (a lease belongs to the
// instance that took it; the watch to the Pub/Sub topic of the deployment
// that set it, so the importing one watches anew) and, unless asked for, a
// mailbox's sealed refresh token (see ExportOptions). A mailbox's spent
// consent state (ConsentStateExpires) comes along with its other link
// fields: restored into the same deployment within a state's lifetime, a
// link still refuses the state that connected it; anywhere else it refuses
// nothing new (states issued later expire later).
type Record struct {
	Kind         RecordKind          `json:"kind"`
	Tenant       *Tenant             `json:"tenant,omitempty"`
	Inbox        *Inbox              `json:"inbox,omitempty"`
	Template     *Template           `json:"template,omitempty"`
	AssignState  *AssignStateRecord  `json:"assignState,omitempty"`
	UserPrefs    *UserPrefs          `json:"userPrefs,omitempty"`
	Mailbox      *Mailbox            `json:"mailbox,omitempty"`
	Conversation *ConversationRecord `json:"conversation,omitempty"`
	Note         *Note               `json:"note,omitempty"`
	Activity     *Activity           `json:"activity,omitempty"`
	ThreadLink   *ThreadLink         `json:"threadLink,omitempty"`
	Mention      *Mention            `json:"mention,omitempty"`
}

// AssignStateRecord is an inbox's auto-assignment record with its keys.
type AssignStateRecord struct {
	TenantID string
	InboxID  string
	State    AssignState
}

// ConversationRecord is a conversation with its Message-ID index.
//
// A store keeps the index either as the Message-IDs themselves (SQLite)
// or as their MessageIDKey digests only (Firestore): MessageIDs lists the
// former, MessageIDKeys the latter, each sorted. A store that keeps
// digests imports MessageIDs by digesting them; a store that keeps the
// Message-IDs cannot import digests (ErrInvalid): a tenant moves from
// SQLite to Firestore, not back.
type ConversationRecord struct {
	Conversation
	MessageIDs    []string `json:",omitempty"`
	MessageIDKeys []string `json:",omitempty"`
}

// MessageIDKey is the digest under which a store that does not keep
// Message-IDs in clear indexes one (the Firestore adapter): base64url of
// the first 16 bytes of SHA-256 over the normalised Message-ID and a zero
// byte.
func MessageIDKey(messageID string) string {
	h := sha256.New()
	h.Write([]byte(messageID))
	h.Write([]byte{0})
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// ExportOptions says what Store.ExportTenant includes beyond the records
// every export has.
type ExportOptions struct {
	// SealedTokens includes each mailbox's refresh token in the sealed
	// form the store keeps (encrypted with the server's key; useless
	// without it). Without it, mailboxes are exported without a token and
	// the ones connected by offline consent (AccessOAuth) have to be
	// connected again after an import.
	SealedTokens bool
}

// TenantOf returns the tenant a record belongs to.
func (r Record) TenantOf() string {
	switch {
	case r.Tenant != nil:
		return r.Tenant.Domain
	case r.Inbox != nil:
		return r.Inbox.TenantID
	case r.Template != nil:
		return r.Template.TenantID
	case r.AssignState != nil:
		return r.AssignState.TenantID
	case r.UserPrefs != nil:
		return r.UserPrefs.TenantID
	case r.Mailbox != nil:
		return r.Mailbox.TenantID
	case r.Conversation != nil:
		return r.Conversation.TenantID
	case r.Note != nil:
		return r.Note.TenantID
	case r.Activity != nil:
		return r.Activity.TenantID
	case r.ThreadLink != nil:
		return r.ThreadLink.TenantID
	case r.Mention != nil:
		return r.Mention.TenantID
	}
	return ""
}

// Validate checks that the record holds exactly the field its Kind names,
// that it belongs to tenant and that the record itself validates, so that
// an import writes nothing a store would refuse to write itself.
func (r Record) Validate(tenant string) error {
	set := 0
	for _, p := range []bool{r.Tenant != nil, r.Inbox != nil, r.Template != nil, r.AssignState != nil,
		r.UserPrefs != nil, r.Mailbox != nil, r.Conversation != nil, r.Note != nil, r.Activity != nil,
		r.ThreadLink != nil, r.Mention != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return invalidf("record of kind %q holds %d records, want 1", r.Kind, set)
	}
	if got := r.TenantOf(); got != tenant {
		return invalidf("%s record of tenant %q in the export of %q", r.Kind, got, tenant)
	}
	var err error
	switch r.Kind {
	case RecordTenant:
		err = need(r.Tenant != nil, r.Kind, func() error { return r.Tenant.Validate() })
	case RecordInbox:
		err = need(r.Inbox != nil, r.Kind, func() error { return r.Inbox.Validate() })
	case RecordTemplate:
		err = need(r.Template != nil, r.Kind, func() error { return r.Template.Validate() })
	case RecordAssignState:
		err = need(r.AssignState != nil, r.Kind, func() error {
			if !validSlug(r.AssignState.InboxID) {
				return invalidf("assignment state of inbox %q", r.AssignState.InboxID)
			}
			return nil
		})
	case RecordUserPrefs:
		err = need(r.UserPrefs != nil, r.Kind, func() error { return r.UserPrefs.Validate() })
	case RecordMailbox:
		err = need(r.Mailbox != nil, r.Kind, func() error { return r.Mailbox.Validate() })
	case RecordConversation:
		err = need(r.Conversation != nil, r.Kind, func() error {
			if len(r.Conversation.MessageIDs) > 0 && len(r.Conversation.MessageIDKeys) > 0 {
				return invalidf("conversation %s has both Message-IDs and their keys", r.Conversation.ID)
			}
			for _, id := range r.Conversation.MessageIDs {
				if NormalizeMessageID(id) != id {
					return invalidf("conversation %s: %q is no normalised Message-ID", r.Conversation.ID, id)
				}
			}
			return r.Conversation.Validate()
		})
	case RecordNote:
		err = need(r.Note != nil, r.Kind, func() error {
			if r.Note.ConversationID == "" || r.Note.ID == "" || r.Note.CreatedAt.IsZero() {
				return invalidf("note without keys or time")
			}
			return nil
		})
	case RecordActivity:
		err = need(r.Activity != nil, r.Kind, func() error {
			if r.Activity.ConversationID == "" || r.Activity.ID == "" || r.Activity.Kind == "" {
				return invalidf("activity entry without keys or kind")
			}
			return nil
		})
	case RecordThreadLink:
		err = need(r.ThreadLink != nil, r.Kind, func() error {
			l := r.ThreadLink
			if l.ConversationID == "" || l.Mailbox == "" || l.ThreadID == "" {
				return invalidf("thread link with empty fields")
			}
			return nil
		})
	case RecordMention:
		err = need(r.Mention != nil, r.Kind, func() error {
			m := r.Mention
			if m.Recipient == "" || m.NoteID == "" || m.ConversationID == "" {
				return invalidf("mention with empty keys")
			}
			return nil
		})
	default:
		return invalidf("unknown record kind %q", r.Kind)
	}
	return err
}

func need(ok bool, kind RecordKind, check func() error) error {
	if !ok {
		return invalidf("record of kind %q does not hold one", kind)
	}
	if err := check(); err != nil {
		return fmt.Errorf("%s record: %w", kind, err)
	}
	return nil
}

// PortableMailbox returns m as an export carries it: without its lease,
// its watch expiration and a resync's progress (the importing server
// starts its own resync when the cursor needs one), and without its sealed
// token unless opts ask for it.
func PortableMailbox(m Mailbox, opts ExportOptions) Mailbox {
	m.LeaseHolder, m.LeaseUntil = "", time.Time{}
	m.WatchExpiration = time.Time{}
	m.Resync = Resync{}
	if !opts.SealedTokens {
		m.SealedToken = nil
	}
	if len(m.SealedToken) == 0 {
		m.SealedToken = nil
	}
	if len(m.Labels) == 0 {
		m.Labels = nil
	}
	return m
}

// SortedCopy returns a sorted copy of ids, nil for none.
func SortedCopy(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
