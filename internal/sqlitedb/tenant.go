package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/postfach/postfach/internal/inbox"
)

// CreateTenant implements inbox.Store.
func (s *Store) CreateTenant(ctx context.Context, t inbox.Tenant) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO tenants (domain, name, created_at) VALUES (?, ?, ?)`,
		t.Domain, t.Name, millis(t.CreatedAt))
	switch {
	case isKeyTaken(err):
		return fmt.Errorf("create tenant %s: %w", t.Domain, inbox.ErrAlreadyExists)
	case err != nil:
		return fmt.Errorf("create tenant %s: %w", t.Domain, err)
	}
	return nil
}

// GetTenant implements inbox.Store.
func (s *Store) GetTenant(ctx context.Context, domain string) (inbox.Tenant, error) {
	t := inbox.Tenant{Domain: domain}
	var created int64
	err := s.read.QueryRowContext(ctx,
		`SELECT name, created_at FROM tenants WHERE domain = ?`, domain).
		Scan(&t.Name, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return inbox.Tenant{}, fmt.Errorf("get tenant %s: %w", domain, inbox.ErrNotFound)
	case err != nil:
		return inbox.Tenant{}, fmt.Errorf("get tenant %s: %w", domain, err)
	}
	t.CreatedAt = fromMillis(created)
	return t, nil
}

// tenantExists reports whether a tenant is stored, inside a transaction.
func tenantExists(ctx context.Context, tx *sql.Tx, domain string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE domain = ?`, domain).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look up tenant: %w", err)
	}
	return true, nil
}
