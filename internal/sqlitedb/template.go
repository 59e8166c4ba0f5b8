package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/postfach/postfach/internal/inbox"
)

const (
	templateColumns     = `tenant_id, inbox_id, id, name, body, locked, created_at, updated_at, updated_by`
	getTemplateQuery    = `SELECT ` + templateColumns + ` FROM templates WHERE tenant_id = ? AND inbox_id = ? AND id = ?`
	listTemplatesQuery  = `SELECT ` + templateColumns + ` FROM templates WHERE tenant_id = ? AND inbox_id = ? ORDER BY name, id`
	insertTemplateQuery = `INSERT INTO templates (` + templateColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

func scanTemplate(row scanner) (inbox.Template, error) {
	var t inbox.Template
	var locked, created, updated int64
	if err := row.Scan(&t.TenantID, &t.InboxID, &t.ID, &t.Name, &t.Body, &locked, &created, &updated, &t.UpdatedBy); err != nil {
		return inbox.Template{}, err
	}
	t.Locked = locked != 0
	t.CreatedAt, t.UpdatedAt = fromMillis(created), fromMillis(updated)
	return t, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// CreateTemplate implements inbox.Store.
func (s *Store) CreateTemplate(ctx context.Context, t inbox.Template) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	err := inTx(ctx, s.writes, func(tx *stx) error {
		ok, err := inboxExists(ctx, tx, t.TenantID, t.InboxID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("inbox: %w", inbox.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, insertTemplateQuery,
			t.TenantID, t.InboxID, t.ID, t.Name, t.Body, boolInt(t.Locked), millis(t.CreatedAt), millis(t.UpdatedAt), t.UpdatedBy)
		if isKeyTaken(err) {
			return fmt.Errorf("id is taken: %w", inbox.ErrAlreadyExists)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create template %s/%s/%s: %w", t.TenantID, t.InboxID, t.ID, err)
	}
	return nil
}

// GetTemplate implements inbox.Store.
func (s *Store) GetTemplate(ctx context.Context, tenantID, inboxID, id string) (inbox.Template, error) {
	t, err := scanTemplate(s.reads.QueryRowContext(ctx, getTemplateQuery, tenantID, inboxID, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = inbox.ErrNotFound
	}
	if err != nil {
		return inbox.Template{}, fmt.Errorf("get template %s/%s/%s: %w", tenantID, inboxID, id, err)
	}
	return t, nil
}

// ListTemplates implements inbox.Store with one indexed query
// (templates_by_name).
func (s *Store) ListTemplates(ctx context.Context, tenantID, inboxID string) ([]inbox.Template, error) {
	out, err := func() ([]inbox.Template, error) {
		rows, err := s.reads.QueryContext(ctx, listTemplatesQuery, tenantID, inboxID)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []inbox.Template
		for rows.Next() {
			t, err := scanTemplate(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
		return out, rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("list templates of %s/%s: %w", tenantID, inboxID, err)
	}
	return out, nil
}

// UpdateTemplate implements inbox.Store: read, fn, check and write in one
// write transaction. Everything but the keys is written.
func (s *Store) UpdateTemplate(ctx context.Context, tenantID, inboxID, id string, fn func(*inbox.Template) error) (inbox.Template, error) {
	t, err := readModifyWrite(ctx, s,
		func(tx *stx) (inbox.Template, error) {
			return scanTemplate(tx.QueryRowContext(ctx, getTemplateQuery, tenantID, inboxID, id))
		},
		fn, inbox.Template.ValidateUpdate,
		func(tx *stx, t inbox.Template) error {
			_, err := tx.ExecContext(ctx,
				`UPDATE templates SET name = ?, body = ?, locked = ?, created_at = ?, updated_at = ?, updated_by = ?
				 WHERE tenant_id = ? AND inbox_id = ? AND id = ?`,
				t.Name, t.Body, boolInt(t.Locked), millis(t.CreatedAt), millis(t.UpdatedAt), t.UpdatedBy,
				tenantID, inboxID, id)
			return err
		})
	if err != nil {
		return inbox.Template{}, fmt.Errorf("update template %s/%s/%s: %w", tenantID, inboxID, id, err)
	}
	return t, nil
}

// DeleteTemplate implements inbox.Store.
func (s *Store) DeleteTemplate(ctx context.Context, tenantID, inboxID, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM templates WHERE tenant_id = ? AND inbox_id = ? AND id = ?`, tenantID, inboxID, id)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = inbox.ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("delete template %s/%s/%s: %w", tenantID, inboxID, id, err)
	}
	return nil
}
