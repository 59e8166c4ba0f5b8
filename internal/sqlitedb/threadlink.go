package sqlitedb

import (
	"context"
	"fmt"

	"github.com/postfach/postfach/internal/inbox"
)

// PutThreadLink implements inbox.Store. It does not check that the
// conversation or the mailbox exists.
func (s *Store) PutThreadLink(ctx context.Context, l inbox.ThreadLink) error {
	if l.TenantID == "" || l.ConversationID == "" || l.Mailbox == "" || l.ThreadID == "" {
		return fmt.Errorf("put thread link: %w", invalid("a thread link needs a tenant, a conversation, a mailbox and a thread id"))
	}
	_, err := s.writes.ExecContext(ctx,
		`INSERT INTO thread_links (tenant_id, conversation_id, mailbox, thread_id) VALUES (?, ?, ?, ?)
		 ON CONFLICT DO NOTHING`,
		l.TenantID, l.ConversationID, l.Mailbox, l.ThreadID)
	if err != nil {
		return fmt.Errorf("put thread link %s/%s → %s/%s: %w", l.TenantID, l.ConversationID, l.Mailbox, l.ThreadID, err)
	}
	return nil
}

// listThreadLinksQuery reads a conversation's links in key order.
const listThreadLinksQuery = `SELECT mailbox, thread_id FROM thread_links
	WHERE tenant_id = ? AND conversation_id = ?
	ORDER BY mailbox, thread_id`

// ListThreadLinks implements inbox.Store.
func (s *Store) ListThreadLinks(ctx context.Context, tenantID, conversationID string) ([]inbox.ThreadLink, error) {
	rows, err := s.reads.QueryContext(ctx, listThreadLinksQuery, tenantID, conversationID)
	if err != nil {
		return nil, fmt.Errorf("list thread links of %s/%s: %w", tenantID, conversationID, err)
	}
	defer rows.Close()
	var out []inbox.ThreadLink
	for rows.Next() {
		l := inbox.ThreadLink{TenantID: tenantID, ConversationID: conversationID}
		if err := rows.Scan(&l.Mailbox, &l.ThreadID); err != nil {
			return nil, fmt.Errorf("list thread links of %s/%s: %w", tenantID, conversationID, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list thread links of %s/%s: %w", tenantID, conversationID, err)
	}
	return out, nil
}

// findThreadLinksQuery reads the links of one thread of a mailbox, walking
// thread_links_by_thread in order.
const findThreadLinksQuery = `SELECT tenant_id, conversation_id FROM thread_links
	WHERE mailbox = ? AND thread_id = ?
	ORDER BY conversation_id, tenant_id`

// FindThreadLinks implements inbox.Store. Links of two tenants with the same
// conversation id (which a mailbox of one tenant should never carry) are
// ordered by tenant.
func (s *Store) FindThreadLinks(ctx context.Context, mailbox, threadID string) ([]inbox.ThreadLink, error) {
	rows, err := s.reads.QueryContext(ctx, findThreadLinksQuery, mailbox, threadID)
	if err != nil {
		return nil, fmt.Errorf("find thread links of %s/%s: %w", mailbox, threadID, err)
	}
	defer rows.Close()
	var out []inbox.ThreadLink
	for rows.Next() {
		l := inbox.ThreadLink{Mailbox: mailbox, ThreadID: threadID}
		if err := rows.Scan(&l.TenantID, &l.ConversationID); err != nil {
			return nil, fmt.Errorf("find thread links of %s/%s: %w", mailbox, threadID, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find thread links of %s/%s: %w", mailbox, threadID, err)
	}
	return out, nil
}
