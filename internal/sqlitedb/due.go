package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// SetDue implements inbox.Store: one UPDATE guarded by the version.
func (s *Store) SetDue(ctx context.Context, tenantID, id string, version int64, due time.Time) error {
	err := inTx(ctx, s.writes, func(tx *stx) error {
		res, err := tx.ExecContext(ctx, `UPDATE conversations SET due_at = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			optMillis(due), tenantID, id, version)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		var stored int64
		err = tx.QueryRowContext(ctx, `SELECT version FROM conversations WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&stored)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return inbox.ErrNotFound
		case err != nil:
			return fmt.Errorf("read stored version: %w", err)
		}
		return fmt.Errorf("stored version is %d, not %d: %w", stored, version, inbox.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("set due time of %s/%s: %w", tenantID, id, err)
	}
	return nil
}
