package firestoredb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/postfach/postfach/internal/inbox"
)

// linkDoc is the stored form of an inbox.ThreadLink, in the top-level
// threadLinks collection under the id hashID(tenant, conversation,
// mailbox, thread).
type linkDoc struct {
	TenantID       string `firestore:"tenantId"`
	ConversationID string `firestore:"conversationId"`
	Mailbox        string `firestore:"mailbox"`
	ThreadID       string `firestore:"threadId"`
}

// Field paths that thread link queries use.
const (
	fieldConversationID = "conversationId"
	fieldMailbox        = "mailbox"
	fieldThreadID       = "threadId"
)

// PutThreadLink implements inbox.Store with one create-if-absent write: a
// link that exists already costs no write and is no error.
func (s *Store) PutThreadLink(ctx context.Context, l inbox.ThreadLink) error {
	if l.TenantID == "" || l.ConversationID == "" || l.Mailbox == "" || l.ThreadID == "" {
		return fmt.Errorf("put thread link: %w", invalid("a thread link needs a tenant, a conversation, a mailbox and a thread"))
	}
	ref := s.collection(collThreadLinks).Doc(hashID(l.TenantID, l.ConversationID, l.Mailbox, l.ThreadID))
	err := s.create(ctx, ref, linkDoc(l))
	if status.Code(err) == codes.AlreadyExists {
		return nil
	}
	return wrap(fmt.Sprintf("put thread link %s/%s → %s/%s", l.TenantID, l.ConversationID, l.Mailbox, l.ThreadID), err)
}

// ListThreadLinks implements inbox.Store.
func (s *Store) ListThreadLinks(ctx context.Context, tenantID, conversationID string) ([]inbox.ThreadLink, error) {
	out, err := s.links(ctx, querySpec{
		coll: s.collection(collThreadLinks),
		filters: []filter{
			{fieldTenantID, "==", tenantID},
			{fieldConversationID, "==", conversationID},
		},
	})
	if err != nil {
		return nil, wrap(fmt.Sprintf("list thread links of %s/%s", tenantID, conversationID), err)
	}
	slices.SortFunc(out, func(a, b inbox.ThreadLink) int {
		if c := strings.Compare(a.Mailbox, b.Mailbox); c != 0 {
			return c
		}
		return strings.Compare(a.ThreadID, b.ThreadID)
	})
	return out, nil
}

// FindThreadLinks implements inbox.Store.
func (s *Store) FindThreadLinks(ctx context.Context, mailbox, threadID string) ([]inbox.ThreadLink, error) {
	out, err := s.links(ctx, querySpec{
		coll: s.collection(collThreadLinks),
		filters: []filter{
			{fieldMailbox, "==", mailbox},
			{fieldThreadID, "==", threadID},
		},
	})
	if err != nil {
		return nil, wrap(fmt.Sprintf("find thread links of %s/%s", mailbox, threadID), err)
	}
	slices.SortFunc(out, func(a, b inbox.ThreadLink) int {
		if c := strings.Compare(a.ConversationID, b.ConversationID); c != 0 {
			return c
		}
		return strings.Compare(a.TenantID, b.TenantID)
	})
	return out, nil
}

func (s *Store) links(ctx context.Context, q querySpec) ([]inbox.ThreadLink, error) {
	snaps, err := s.query(ctx, nil, q)
	if err != nil {
		return nil, err
	}
	out := make([]inbox.ThreadLink, 0, len(snaps))
	for _, snap := range snaps {
		var d linkDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("decode thread link %s: %w", snap.Ref.ID, err)
		}
		out = append(out, inbox.ThreadLink(d))
	}
	return out, nil
}
