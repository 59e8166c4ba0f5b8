package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/postfach/postfach/internal/inbox"
)

// GetUserPrefs implements inbox.Store.
func (s *Store) GetUserPrefs(ctx context.Context, tenantID, email string) (inbox.UserPrefs, error) {
	p := inbox.UserPrefs{TenantID: tenantID, Email: email}
	var updated int64
	err := s.reads.QueryRowContext(ctx,
		`SELECT language, updated_at FROM user_prefs WHERE tenant_id = ? AND email = ?`,
		tenantID, email).Scan(&p.Language, &updated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return inbox.UserPrefs{}, fmt.Errorf("get preferences of %s in %s: %w", email, tenantID, inbox.ErrNotFound)
	case err != nil:
		return inbox.UserPrefs{}, fmt.Errorf("get preferences of %s in %s: %w", email, tenantID, err)
	}
	p.UpdatedAt = fromMillis(updated)
	return p, nil
}

// PutUserPrefs implements inbox.Store.
func (s *Store) PutUserPrefs(ctx context.Context, p inbox.UserPrefs) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("put preferences: %w", err)
	}
	err := inTx(ctx, s.writes, func(tx *stx) error {
		ok, err := tenantExists(ctx, tx, p.TenantID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("tenant %s: %w", p.TenantID, inbox.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO user_prefs (tenant_id, email, language, updated_at) VALUES (?, ?, ?, ?)
			 ON CONFLICT (tenant_id, email) DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at`,
			p.TenantID, p.Email, p.Language, millis(p.UpdatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("put preferences of %s in %s: %w", p.Email, p.TenantID, err)
	}
	return nil
}
