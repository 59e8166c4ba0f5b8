package report

import (
	"context"
	"fmt"

	"github.com/postfach/postfach/internal/inbox"
)

// Bounds of Read. A report reads at most MaxListed/listPage listing pages
// and MaxReceived activity listings of at most MaxActivity entries each.
const (
	// MaxListed bounds the conversations listed: those with mail since the
	// period's start (listing stops at the first one without).
	MaxListed = 5000
	// MaxReceived bounds the conversations whose activity is read: those
	// created in the period.
	MaxReceived = 2000
	// MaxActivity bounds the entries read per conversation, newest first;
	// a conversation with more loses its oldest ones.
	MaxActivity = 500
	listPage    = 100
)

// Reader is what Read needs of an inbox.Store.
type Reader interface {
	ListConversations(ctx context.Context, q inbox.ConversationQuery) (inbox.ConversationPage, error)
	ListActivity(ctx context.Context, tenantID, conversationID string, limit int) ([]inbox.Activity, error)
}

// Read gathers the input of Compute for ib and p: the inbox's
// conversations are listed newest LastMessageAt first until one has no
// mail since p.From (a conversation created in p has its last mail after
// that), and the activity of each one created in p is read. Its cost:
// one listing per 100 conversations with mail since p.From (Firestore: one
// document read per conversation listed), and one activity listing per
// conversation received in p (Firestore: one read per entry, at least
// one). It reports partial when it stopped at MaxListed or MaxReceived or
// a conversation had MaxActivity entries.
func Read(ctx context.Context, r Reader, ib inbox.Inbox, p Period) (logs []Log, partial bool, err error) {
	q := inbox.ConversationQuery{TenantID: ib.TenantID, InboxID: ib.ID, Limit: listPage}
	listed := 0
	for {
		page, err := r.ListConversations(ctx, q)
		if err != nil {
			return nil, false, fmt.Errorf("report %s: list conversations: %w", ib.ID, err)
		}
		for _, c := range page.Conversations {
			if c.LastMessageAt.Before(p.From) {
				return logs, partial, nil
			}
			if listed++; listed > MaxListed {
				return logs, true, nil
			}
			if !p.Contains(c.CreatedAt) {
				continue
			}
			if len(logs) == MaxReceived {
				return logs, true, nil
			}
			acts, err := r.ListActivity(ctx, c.TenantID, c.ID, MaxActivity)
			if err != nil {
				return nil, false, fmt.Errorf("report %s: activity of %s: %w", ib.ID, c.ID, err)
			}
			if len(acts) >= MaxActivity {
				partial = true
			}
			logs = append(logs, Log{Conversation: c, Activity: acts})
		}
		if page.NextCursor == "" {
			return logs, partial, nil
		}
		q.Cursor = page.NextCursor
	}
}

// Build reads and computes the report of ib for p.
func Build(ctx context.Context, r Reader, ib inbox.Inbox, p Period, hours Hours) (Report, error) {
	logs, partial, err := Read(ctx, r, ib, p)
	if err != nil {
		return Report{}, err
	}
	rep := Compute(ib, p, hours, logs)
	rep.Partial = partial
	return rep, nil
}
