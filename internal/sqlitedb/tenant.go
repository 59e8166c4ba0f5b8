package sqlitedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/postfach/postfach/internal/inbox"
)

// encodeAdmins stores Tenant.Admins as a JSON array, in order.
func encodeAdmins(admins []string) (string, error) {
	if admins == nil {
		admins = []string{}
	}
	b, err := json.Marshal(admins)
	return string(b), err
}

func decodeAdmins(s string) ([]string, error) {
	var admins []string
	if err := json.Unmarshal([]byte(s), &admins); err != nil {
		return nil, fmt.Errorf("decode admins: %w", err)
	}
	if len(admins) == 0 {
		return nil, nil
	}
	return admins, nil
}

// CreateTenant implements inbox.Store.
func (s *Store) CreateTenant(ctx context.Context, t inbox.Tenant) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	admins, err := encodeAdmins(t.Admins)
	if err != nil {
		return fmt.Errorf("create tenant %s: %w", t.Domain, err)
	}
	_, err = s.write.ExecContext(ctx,
		`INSERT INTO tenants (domain, name, admins, created_at) VALUES (?, ?, ?, ?)`,
		t.Domain, t.Name, admins, millis(t.CreatedAt))
	switch {
	case isKeyTaken(err):
		return fmt.Errorf("create tenant %s: %w", t.Domain, inbox.ErrAlreadyExists)
	case err != nil:
		return fmt.Errorf("create tenant %s: %w", t.Domain, err)
	}
	return nil
}

const getTenantQuery = `SELECT name, admins, created_at FROM tenants WHERE domain = ?`

func scanTenant(row scanner, domain string) (inbox.Tenant, error) {
	t := inbox.Tenant{Domain: domain}
	var admins string
	var created int64
	if err := row.Scan(&t.Name, &admins, &created); err != nil {
		return inbox.Tenant{}, err
	}
	var err error
	if t.Admins, err = decodeAdmins(admins); err != nil {
		return inbox.Tenant{}, err
	}
	t.CreatedAt = fromMillis(created)
	return t, nil
}

// GetTenant implements inbox.Store.
func (s *Store) GetTenant(ctx context.Context, domain string) (inbox.Tenant, error) {
	t, err := scanTenant(s.reads.QueryRowContext(ctx, getTenantQuery, domain), domain)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return inbox.Tenant{}, fmt.Errorf("get tenant %s: %w", domain, inbox.ErrNotFound)
	case err != nil:
		return inbox.Tenant{}, fmt.Errorf("get tenant %s: %w", domain, err)
	}
	return t, nil
}

// ListTenants implements inbox.Store.
func (s *Store) ListTenants(ctx context.Context) ([]inbox.Tenant, error) {
	rows, err := s.reads.QueryContext(ctx, `SELECT domain, name, admins, created_at FROM tenants ORDER BY domain`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []inbox.Tenant
	for rows.Next() {
		var domain string
		t, err := scanTenant(prefixScanner{rows, &domain}, "")
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		t.Domain = domain
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

// prefixScanner scans a row's first column into first and hands the rest
// to a scan function written for a row without it.
type prefixScanner struct {
	row   scanner
	first any
}

func (p prefixScanner) Scan(dest ...any) error { return p.row.Scan(append([]any{p.first}, dest...)...) }

// UpdateTenant implements inbox.Store with readModifyWrite.
func (s *Store) UpdateTenant(ctx context.Context, domain string, fn func(*inbox.Tenant) error) (inbox.Tenant, error) {
	t, err := readModifyWrite(ctx, s,
		func(tx *stx) (inbox.Tenant, error) {
			return scanTenant(tx.QueryRowContext(ctx, getTenantQuery, domain), domain)
		},
		fn, inbox.Tenant.ValidateUpdate,
		func(tx *stx, t inbox.Tenant) error {
			admins, err := encodeAdmins(t.Admins)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE tenants SET name = ?, admins = ?, created_at = ? WHERE domain = ?`,
				t.Name, admins, millis(t.CreatedAt), domain)
			return err
		})
	if err != nil {
		return inbox.Tenant{}, fmt.Errorf("update tenant %s: %w", domain, err)
	}
	return t, nil
}

// tenantExists reports whether a tenant is stored, inside a transaction.
func tenantExists(ctx context.Context, tx *stx, domain string) (bool, error) {
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
