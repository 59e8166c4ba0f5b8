package sqlitedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/postfach/postfach/internal/inbox"
)

// presenceRow is the JSON form of an inbox.Presence in presence.data.
type presenceRow struct {
	Viewers   []inbox.Viewer  `json:"viewers,omitempty"`
	Claim     inbox.Claim     `json:"claim"`
	TakenOver inbox.TakeOver  `json:"takenOver"`
	LastReply inbox.TeamReply `json:"lastReply"`
	UpdatedAt int64           `json:"updatedAt"`
}

// readPresence reads a conversation's record; none is an empty one.
func readPresence(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, tenantID, conversationID string) (inbox.Presence, error) {
	p := inbox.Presence{TenantID: tenantID, ConversationID: conversationID}
	var data string
	err := q.QueryRowContext(ctx,
		`SELECT data FROM presence WHERE tenant_id = ? AND conversation_id = ?`, tenantID, conversationID).Scan(&data)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return p, nil
	case err != nil:
		return p, err
	}
	var r presenceRow
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return p, fmt.Errorf("decode: %w", err)
	}
	p.Viewers, p.Claim, p.TakenOver, p.LastReply, p.UpdatedAt = r.Viewers, r.Claim, r.TakenOver, r.LastReply, fromMillis(r.UpdatedAt)
	return p, nil
}

// GetPresence implements inbox.Store: one read by key.
func (s *Store) GetPresence(ctx context.Context, tenantID, conversationID string) (inbox.Presence, error) {
	if tenantID == "" || conversationID == "" {
		return inbox.Presence{}, fmt.Errorf("get presence: %w", invalid("a tenant and a conversation id are required"))
	}
	p, err := readPresence(ctx, s.reads, tenantID, conversationID)
	if err != nil {
		return inbox.Presence{}, fmt.Errorf("get presence of %s/%s: %w", tenantID, conversationID, err)
	}
	return p, nil
}

// UpdatePresence implements inbox.Store: read, fn and write in one
// immediate transaction, which also deletes the tenant's records that
// expired before the written one's UpdatedAt.
func (s *Store) UpdatePresence(ctx context.Context, tenantID, conversationID string, fn func(*inbox.Presence) error) (inbox.Presence, error) {
	if tenantID == "" || conversationID == "" {
		return inbox.Presence{}, fmt.Errorf("update presence: %w", invalid("a tenant and a conversation id are required"))
	}
	var out inbox.Presence
	err := inTx(ctx, s.writes, func(tx *stx) error {
		p, err := readPresence(ctx, tx, tenantID, conversationID)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if err := fn(&p); err != nil {
			return fnError{err}
		}
		p.TenantID, p.ConversationID = tenantID, conversationID
		data, err := json.Marshal(presenceRow{Viewers: p.Viewers, Claim: p.Claim, TakenOver: p.TakenOver, LastReply: p.LastReply, UpdatedAt: millis(p.UpdatedAt)})
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO presence (tenant_id, conversation_id, data, expires_at) VALUES (?, ?, ?, ?)
			 ON CONFLICT (tenant_id, conversation_id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
			tenantID, conversationID, string(data), millis(p.ExpiresAt())); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if !p.UpdatedAt.IsZero() {
			if _, err := tx.ExecContext(ctx, `DELETE FROM presence WHERE tenant_id = ? AND expires_at < ?`,
				tenantID, millis(p.UpdatedAt)); err != nil {
				return fmt.Errorf("prune: %w", err)
			}
		}
		out = p
		return nil
	})
	var fe fnError
	if errors.As(err, &fe) {
		return inbox.Presence{}, fe.err
	}
	if err != nil {
		return inbox.Presence{}, fmt.Errorf("update presence of %s/%s: %w", tenantID, conversationID, err)
	}
	return out, nil
}

// LogActivity implements inbox.Store.
func (s *Store) LogActivity(ctx context.Context, ev inbox.Activity) error {
	if err := ev.ValidateFor(ev.TenantID, ev.ConversationID); err != nil || ev.TenantID == "" || ev.ConversationID == "" {
		if err == nil {
			err = invalid("an activity entry needs a tenant and a conversation")
		}
		return fmt.Errorf("log activity: %w", err)
	}
	ev.Version = 0
	err := inTx(ctx, s.writes, func(tx *stx) error {
		var one int
		err := tx.QueryRowContext(ctx,
			`SELECT 1 FROM conversations WHERE tenant_id = ? AND id = ?`, ev.TenantID, ev.ConversationID).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return inbox.ErrNotFound
		case err != nil:
			return fmt.Errorf("look up conversation: %w", err)
		}
		return insertActivity(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("log activity on %s/%s: %w", ev.TenantID, ev.ConversationID, err)
	}
	return nil
}
