package firestoredb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// collPresence holds the presence and reply-claim records of a tenant's
// conversations, one document per conversation. Its documents carry
// fieldExpireAt, the field of the collection group's TTL policy (see the
// package doc): Firestore deletes a record some time after it has expired,
// and readers ignore expired entries meanwhile.
const (
	collPresence  = "presence"
	fieldExpireAt = "expireAt"
)

// presenceDoc is the stored form of an inbox.Presence; its tags are the
// schema.
type presenceDoc struct {
	Viewers   []viewerDoc `firestore:"viewers"`
	Claim     claimDoc    `firestore:"claim"`
	TakenOver takeOverDoc `firestore:"takenOver"`
	LastReply replyDoc    `firestore:"lastReply"`
	UpdatedAt time.Time   `firestore:"updatedAt"`
	ExpireAt  time.Time   `firestore:"expireAt"`
}

type viewerDoc struct {
	Email string    `firestore:"email"`
	Seen  time.Time `firestore:"seen"`
	Until time.Time `firestore:"until"`
}

type claimDoc struct {
	Holder        string    `firestore:"holder"`
	Since         time.Time `firestore:"since"`
	Until         time.Time `firestore:"until"`
	DraftID       string    `firestore:"draftId,omitempty"`
	DraftThreadID string    `firestore:"draftThreadId,omitempty"`
}

type takeOverDoc struct {
	From string    `firestore:"from"`
	By   string    `firestore:"by"`
	At   time.Time `firestore:"at"`
}

type replyDoc struct {
	By        string    `firestore:"by"`
	At        time.Time `firestore:"at"`
	InReplyTo string    `firestore:"inReplyTo"`
}

func (s *Store) presenceRef(tenantID, conversationID string) *firestore.DocumentRef {
	return s.tenantRef(tenantID).Collection(collPresence).Doc(docID(conversationID))
}

func encodePresence(p inbox.Presence) presenceDoc {
	d := presenceDoc{
		Claim:     claimDoc{Holder: p.Claim.Holder, Since: p.Claim.Since, Until: p.Claim.Until, DraftID: p.Claim.DraftID, DraftThreadID: p.Claim.DraftThreadID},
		TakenOver: takeOverDoc{From: p.TakenOver.From, By: p.TakenOver.By, At: p.TakenOver.At},
		LastReply: replyDoc{By: p.LastReply.By, At: p.LastReply.At, InReplyTo: p.LastReply.InReplyTo},
		UpdatedAt: p.UpdatedAt,
		ExpireAt:  p.ExpiresAt(),
	}
	for _, v := range p.Viewers {
		d.Viewers = append(d.Viewers, viewerDoc{Email: v.Email, Seen: v.Seen, Until: v.Until})
	}
	return d
}

func decodePresence(tenantID, conversationID string, snap *firestore.DocumentSnapshot) (inbox.Presence, error) {
	p := inbox.Presence{TenantID: tenantID, ConversationID: conversationID}
	if !snap.Exists() {
		return p, nil
	}
	var d presenceDoc
	if err := snap.DataTo(&d); err != nil {
		return p, fmt.Errorf("decode presence: %w", err)
	}
	for _, v := range d.Viewers {
		p.Viewers = append(p.Viewers, inbox.Viewer{Email: v.Email, Seen: utc(v.Seen), Until: utc(v.Until)})
	}
	p.Claim = inbox.Claim{Holder: d.Claim.Holder, Since: utc(d.Claim.Since), Until: utc(d.Claim.Until), DraftID: d.Claim.DraftID, DraftThreadID: d.Claim.DraftThreadID}
	p.TakenOver = inbox.TakeOver{From: d.TakenOver.From, By: d.TakenOver.By, At: utc(d.TakenOver.At)}
	p.LastReply = inbox.TeamReply{By: d.LastReply.By, At: utc(d.LastReply.At), InReplyTo: d.LastReply.InReplyTo}
	p.UpdatedAt = utc(d.UpdatedAt)
	return p, nil
}

// GetPresence implements inbox.Store: one document read.
func (s *Store) GetPresence(ctx context.Context, tenantID, conversationID string) (inbox.Presence, error) {
	if tenantID == "" || conversationID == "" {
		return inbox.Presence{}, fmt.Errorf("get presence: %w", invalid("a tenant and a conversation id are required"))
	}
	op := fmt.Sprintf("get presence of %s/%s", tenantID, conversationID)
	snaps, err := s.getAll(ctx, nil, s.presenceRef(tenantID, conversationID))
	if err != nil {
		return inbox.Presence{}, wrap(op, err)
	}
	p, err := decodePresence(tenantID, conversationID, snaps[0])
	if err != nil {
		return inbox.Presence{}, fmt.Errorf("%s: %w", op, err)
	}
	return p, nil
}

// UpdatePresence implements inbox.Store: one transaction that reads the
// record and sets it (one document read, one write). Expired records are
// left to the TTL policy.
func (s *Store) UpdatePresence(ctx context.Context, tenantID, conversationID string, fn func(*inbox.Presence) error) (inbox.Presence, error) {
	if tenantID == "" || conversationID == "" {
		return inbox.Presence{}, fmt.Errorf("update presence: %w", invalid("a tenant and a conversation id are required"))
	}
	op := fmt.Sprintf("update presence of %s/%s", tenantID, conversationID)
	ref := s.presenceRef(tenantID, conversationID)
	var out inbox.Presence
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		snaps, err := s.getAll(ctx, tx, ref)
		if err != nil {
			return err
		}
		p, err := decodePresence(tenantID, conversationID, snaps[0])
		if err != nil {
			return err
		}
		if err := fn(&p); err != nil {
			return fnError{err}
		}
		p.TenantID, p.ConversationID = tenantID, conversationID
		out = p
		return tx.set(ref, encodePresence(p))
	})
	var fe fnError
	if errors.As(err, &fe) {
		return inbox.Presence{}, fe.err
	}
	if err != nil {
		return inbox.Presence{}, wrapCommit(op, err)
	}
	return out, nil
}

// LogActivity implements inbox.Store like AddNote without the note: the
// entry is created in a transaction, then added to the conversation's
// recent copy; when that cannot commit, the entry is deleted again and
// ErrUnavailable returned.
func (s *Store) LogActivity(ctx context.Context, ev inbox.Activity) error {
	if ev.TenantID == "" || ev.ConversationID == "" {
		return fmt.Errorf("log activity: %w", invalid("an activity entry needs a tenant and a conversation"))
	}
	op := fmt.Sprintf("log activity on %s/%s", ev.TenantID, ev.ConversationID)
	if err := ev.ValidateFor(ev.TenantID, ev.ConversationID); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	ev.Version = 0
	conv := s.conversationRef(ev.TenantID, ev.ConversationID)
	if _, err := s.get(ctx, nil, conv); err != nil {
		return wrap(op+": look up conversation", err)
	}
	evRef := conv.Collection(collActivity).Doc(docID(ev.ID))
	if err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		return tx.create(evRef, encodeActivity(ev))
	}); err != nil {
		return wrapCommit(op, err)
	}
	if err := s.refreshRecent(ctx, conv, nil, ev); err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := s.runTx(dctx, func(ctx context.Context, tx *txn) error { return tx.delete(evRef) }); derr != nil {
			return fmt.Errorf("%s: the entry is saved but not in the recent history (%w), and taking it back failed: %w", op, err, derr)
		}
		return wrapCommit(op+": update the recent history", err)
	}
	return nil
}
