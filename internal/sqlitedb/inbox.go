package sqlitedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/postfach/postfach/internal/inbox"
)

// memberJSON is the stored form of an inbox.Member, an element of
// inboxes.members. Its tags, not the Go field names, are the schema.
type memberJSON struct {
	Email string     `json:"email"`
	Name  string     `json:"name,omitempty"`
	Role  inbox.Role `json:"role"`
}

func encodeMembers(ms []inbox.Member) (string, error) {
	out := make([]memberJSON, len(ms))
	for i, m := range ms {
		out[i] = memberJSON(m)
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func decodeMembers(s string) ([]inbox.Member, error) {
	var in []memberJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("decode members: %w", err)
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]inbox.Member, len(in))
	for i, m := range in {
		out[i] = inbox.Member(m)
	}
	return out, nil
}

// CreateInbox implements inbox.Store.
func (s *Store) CreateInbox(ctx context.Context, ib inbox.Inbox) error {
	if err := ib.Validate(); err != nil {
		return fmt.Errorf("create inbox: %w", err)
	}
	members, err := encodeMembers(ib.Members)
	if err != nil {
		return fmt.Errorf("create inbox %s/%s: %w", ib.TenantID, ib.ID, err)
	}
	workflow, err := inbox.EncodeJSON(ib.Settings.Workflow)
	if err != nil {
		return fmt.Errorf("create inbox %s/%s: %w", ib.TenantID, ib.ID, err)
	}
	err = inTx(ctx, s.writes, func(tx *stx) error {
		ok, err := tenantExists(ctx, tx, ib.TenantID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("tenant: %w", inbox.ErrNotFound)
		}
		// The transaction holds the write lock: checking first is race-free
		// and tells the two taken keys apart.
		taken, err := inboxExists(ctx, tx, ib.TenantID, ib.ID)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("id is taken: %w", inbox.ErrAlreadyExists)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO inboxes (`+inboxColumns+`)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ib.TenantID, ib.ID, ib.Address, ib.Name, members,
			string(ib.Settings.ReplyStatus), ib.Settings.LabelPrefix, millis(ib.CreatedAt), ib.Settings.Language, string(ib.Settings.ReplyFrom), workflow)
		if isKeyTaken(err) {
			return fmt.Errorf("address %s is taken: %w", ib.Address, inbox.ErrAlreadyExists)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create inbox %s/%s: %w", ib.TenantID, ib.ID, err)
	}
	return nil
}

const inboxColumns = `tenant_id, id, address, name, members, reply_status, label_prefix, created_at, language, reply_from, workflow`

func scanInbox(row scanner) (inbox.Inbox, error) {
	var ib inbox.Inbox
	var members, workflow string
	var created int64
	if err := row.Scan(&ib.TenantID, &ib.ID, &ib.Address, &ib.Name, &members,
		&ib.Settings.ReplyStatus, &ib.Settings.LabelPrefix, &created, &ib.Settings.Language, &ib.Settings.ReplyFrom, &workflow); err != nil {
		return inbox.Inbox{}, err
	}
	if err := inbox.DecodeJSON(workflow, &ib.Settings.Workflow); err != nil {
		return inbox.Inbox{}, err
	}
	ms, err := decodeMembers(members)
	if err != nil {
		return inbox.Inbox{}, err
	}
	ib.Members = ms
	ib.CreatedAt = fromMillis(created)
	return ib, nil
}

const getInboxQuery = `SELECT ` + inboxColumns + ` FROM inboxes WHERE tenant_id = ? AND id = ?`

// GetInbox implements inbox.Store.
func (s *Store) GetInbox(ctx context.Context, tenantID, inboxID string) (inbox.Inbox, error) {
	ib, err := scanInbox(s.reads.QueryRowContext(ctx, getInboxQuery, tenantID, inboxID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return inbox.Inbox{}, fmt.Errorf("get inbox %s/%s: %w", tenantID, inboxID, inbox.ErrNotFound)
	case err != nil:
		return inbox.Inbox{}, fmt.Errorf("get inbox %s/%s: %w", tenantID, inboxID, err)
	}
	return ib, nil
}

// ListInboxes implements inbox.Store. Names sort by their bytes (BINARY
// collation), which is also Go's string order.
func (s *Store) ListInboxes(ctx context.Context, tenantID string) ([]inbox.Inbox, error) {
	rows, err := s.reads.QueryContext(ctx,
		`SELECT `+inboxColumns+` FROM inboxes WHERE tenant_id = ? ORDER BY name, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list inboxes of %s: %w", tenantID, err)
	}
	defer rows.Close()
	var out []inbox.Inbox
	for rows.Next() {
		ib, err := scanInbox(rows)
		if err != nil {
			return nil, fmt.Errorf("list inboxes of %s: %w", tenantID, err)
		}
		out = append(out, ib)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list inboxes of %s: %w", tenantID, err)
	}
	return out, nil
}

// inboxExists reports whether an inbox is stored, inside a transaction.
func inboxExists(ctx context.Context, tx *stx, tenantID, inboxID string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx,
		`SELECT 1 FROM inboxes WHERE tenant_id = ? AND id = ?`, tenantID, inboxID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look up inbox: %w", err)
	}
	return true, nil
}

// UpdateInbox implements inbox.Store with readModifyWrite. Everything but
// the keys and the address is written (CreatedAt too).
func (s *Store) UpdateInbox(ctx context.Context, tenantID, inboxID string, fn func(*inbox.Inbox) error) (inbox.Inbox, error) {
	ib, err := readModifyWrite(ctx, s,
		func(tx *stx) (inbox.Inbox, error) {
			return scanInbox(tx.QueryRowContext(ctx, getInboxQuery, tenantID, inboxID))
		},
		fn, inbox.Inbox.ValidateUpdate,
		func(tx *stx, ib inbox.Inbox) error {
			members, err := encodeMembers(ib.Members)
			if err != nil {
				return err
			}
			workflow, err := inbox.EncodeJSON(ib.Settings.Workflow)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx,
				`UPDATE inboxes SET name = ?, members = ?, reply_status = ?, label_prefix = ?, created_at = ?, language = ?, reply_from = ?, workflow = ?
				 WHERE tenant_id = ? AND id = ?`,
				ib.Name, members, string(ib.Settings.ReplyStatus), ib.Settings.LabelPrefix, millis(ib.CreatedAt), ib.Settings.Language, string(ib.Settings.ReplyFrom), workflow,
				tenantID, inboxID)
			return err
		})
	if err != nil {
		return inbox.Inbox{}, fmt.Errorf("update inbox %s/%s: %w", tenantID, inboxID, err)
	}
	return ib, nil
}

// DeleteInbox implements inbox.Store: the row goes, and with it the claim
// on its address (the unique key). Its conversations, their notes, activity,
// Message-IDs and thread links stay; conversations have no foreign key to
// inboxes (0003).
func (s *Store) DeleteInbox(ctx context.Context, tenantID, inboxID string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM inboxes WHERE tenant_id = ? AND id = ?`, tenantID, inboxID)
	if err != nil {
		return fmt.Errorf("delete inbox %s/%s: %w", tenantID, inboxID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete inbox %s/%s: %w", tenantID, inboxID, err)
	}
	if n == 0 {
		return fmt.Errorf("delete inbox %s/%s: %w", tenantID, inboxID, inbox.ErrNotFound)
	}
	return nil
}
