package sqlitedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/postfach/postfach/internal/inbox"
)

// AutoAssign implements inbox.Store in one write transaction: SQLite has
// one writer at a time, so concurrent decisions are serialised by the
// database and each reads what the one before it wrote.
func (s *Store) AutoAssign(ctx context.Context, tenantID, inboxID string, ids []string, fn func(*inbox.AssignRound) error) (inbox.AssignRound, error) {
	var out inbox.AssignRound
	err := inTx(ctx, s.writes, func(tx *stx) error {
		ib, err := scanInbox(tx.QueryRowContext(ctx, getInboxQuery, tenantID, inboxID))
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read inbox: %w", err)
		}
		r := inbox.AssignRound{Inbox: ib}
		if r.Counts, err = readCounts(ctx, tx, tenantID, inboxID); err != nil {
			return fmt.Errorf("read counts: %w", err)
		}
		if r.State, err = readAssignState(ctx, tx, tenantID, inboxID); err != nil {
			return err
		}
		for _, id := range inbox.RoundIDs(ids, r.State) {
			c, err := scanConversation(tx.QueryRowContext(ctx, getConversationQuery, tenantID, id))
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("read conversation %s: %w", id, err)
			}
			if c.InboxID == inboxID {
				r.Conversations = append(r.Conversations, c)
			}
		}
		if err := fn(&r); err != nil {
			return fnError{err}
		}
		if err := r.ValidateChanges(); err != nil {
			return err
		}
		for _, ch := range r.Changes {
			if err := writeChange(ctx, tx, ch); err != nil {
				return err
			}
		}
		waiting, err := json.Marshal(r.State.Waiting)
		if err != nil {
			return fmt.Errorf("encode queue: %w", err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO assign_state (tenant_id, inbox_id, last, waiting) VALUES (?, ?, ?, ?)
			 ON CONFLICT (tenant_id, inbox_id) DO UPDATE SET last = excluded.last, waiting = excluded.waiting`,
			tenantID, inboxID, r.State.Last, string(waiting)); err != nil {
			return fmt.Errorf("write assignment state: %w", err)
		}
		out = r
		return nil
	})
	var fe fnError
	if errors.As(err, &fe) {
		return inbox.AssignRound{}, fe.err
	}
	if err != nil {
		return inbox.AssignRound{}, fmt.Errorf("auto-assign in %s/%s: %w", tenantID, inboxID, err)
	}
	return out, nil
}

// readAssignState reads an inbox's auto-assignment record; none is an
// empty one.
func readAssignState(ctx context.Context, tx *stx, tenantID, inboxID string) (inbox.AssignState, error) {
	var st inbox.AssignState
	var waiting string
	err := tx.QueryRowContext(ctx, `SELECT last, waiting FROM assign_state WHERE tenant_id = ? AND inbox_id = ?`,
		tenantID, inboxID).Scan(&st.Last, &waiting)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read assignment state: %w", err)
	}
	if err := json.Unmarshal([]byte(waiting), &st.Waiting); err != nil {
		return st, fmt.Errorf("decode assignment queue: %w", err)
	}
	return st, nil
}

// writeChange writes one conversation of a round, read in the same
// transaction at its version - 1, with its counts and entries.
func writeChange(ctx context.Context, tx *stx, ch inbox.AssignChange) error {
	c := ch.Conversation
	tags, flow, err := encodeRow(c)
	if err != nil {
		return err
	}
	merged := c
	stored, err := mergeTimes(ctx, tx, &merged)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx,
		updateConversation+` WHERE tenant_id = ? AND id = ? AND inbox_id = ? AND version = ?`,
		append(updateArgs(merged, tags, flow), c.TenantID, c.ID, c.InboxID, c.Version-1)...)
	if err != nil {
		return fmt.Errorf("update %s: %w", c.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("update %s: %w", c.ID, errors.Join(err, whyNotUpdated(ctx, tx, c)))
	}
	if err := addCounts(ctx, tx, c.TenantID, c.InboxID, inbox.CountsDelta(stored, c)); err != nil {
		return err
	}
	for _, ev := range ch.Events {
		if err := insertActivity(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}
