package sqlitedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

func encodeLabels(labels map[string]string) (string, error) {
	if labels == nil {
		labels = map[string]string{}
	}
	b, err := json.Marshal(labels)
	return string(b), err
}

func decodeLabels(s string) (map[string]string, error) {
	var labels map[string]string
	if err := json.Unmarshal([]byte(s), &labels); err != nil {
		return nil, fmt.Errorf("decode labels: %w", err)
	}
	if len(labels) == 0 {
		return nil, nil
	}
	return labels, nil
}

// History ids are uint64; SQLite integers are signed 64-bit. They are
// stored bit for bit: values from 2^63 on read back negative in SQL, which
// no query compares.
func historyToDB(id uint64) int64  { return int64(id) }
func historyFromDB(v int64) uint64 { return uint64(v) }

const mailboxColumns = `address, tenant_id, kind, history_id, notified_history_id, watch_expiration,
	labels, access, sealed_token, connected_by, lease_holder, lease_until, last_sync_at, last_error,
	problem, error_count, created_at, resync_start, resync_since, resync_after,
	consent_state_expires`

// mailboxArgs returns m's values in the order of mailboxColumns.
func mailboxArgs(m inbox.Mailbox) ([]any, error) {
	labels, err := encodeLabels(m.Labels)
	if err != nil {
		return nil, err
	}
	token := m.SealedToken
	if token == nil {
		token = []byte{} // the column is NOT NULL; nil and empty are alike
	}
	return []any{
		m.Address, m.TenantID, string(m.Kind), historyToDB(m.HistoryID), historyToDB(m.NotifiedHistoryID),
		millis(m.WatchExpiration), labels, string(m.Access), token, m.ConnectedBy, m.LeaseHolder,
		millis(m.LeaseUntil), millis(m.LastSyncAt), m.LastError, string(m.Problem), m.ErrorCount, millis(m.CreatedAt),
		historyToDB(m.Resync.Start), millis(m.Resync.Since), m.Resync.After,
		micros(m.ConsentStateExpires),
	}, nil
}

func scanMailbox(row scanner) (inbox.Mailbox, error) {
	var m inbox.Mailbox
	var history, notified, watch, leaseUntil, lastSync, created, resyncStart, resyncSince, consentState int64
	var labels string
	var token []byte
	err := row.Scan(&m.Address, &m.TenantID, &m.Kind, &history, &notified, &watch,
		&labels, &m.Access, &token, &m.ConnectedBy, &m.LeaseHolder, &leaseUntil, &lastSync,
		&m.LastError, &m.Problem, &m.ErrorCount, &created, &resyncStart, &resyncSince, &m.Resync.After, &consentState)
	if err != nil {
		return inbox.Mailbox{}, err
	}
	if m.Labels, err = decodeLabels(labels); err != nil {
		return inbox.Mailbox{}, err
	}
	if len(token) > 0 {
		m.SealedToken = token // Scan copies into a fresh slice
	}
	m.HistoryID = historyFromDB(history)
	m.NotifiedHistoryID = historyFromDB(notified)
	m.WatchExpiration = fromMillis(watch)
	m.LeaseUntil = fromMillis(leaseUntil)
	m.LastSyncAt = fromMillis(lastSync)
	m.CreatedAt = fromMillis(created)
	m.Resync.Start, m.Resync.Since = historyFromDB(resyncStart), fromMillis(resyncSince)
	m.ConsentStateExpires = fromMicros(consentState)
	return m, nil
}

// micros stores a time as Unix microseconds, for the one mailbox time kept
// finer than millis (Mailbox.ConsentStateExpires); the zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros reads a time stored by micros, in UTC.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// CreateMailbox implements inbox.Store.
func (s *Store) CreateMailbox(ctx context.Context, m inbox.Mailbox) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("create mailbox: %w", err)
	}
	args, err := mailboxArgs(m)
	if err != nil {
		return fmt.Errorf("create mailbox %s: %w", m.Address, err)
	}
	err = inTx(ctx, s.writes, func(tx *stx) error {
		ok, err := tenantExists(ctx, tx, m.TenantID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("tenant %s: %w", m.TenantID, inbox.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO mailboxes (`+mailboxColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			args...)
		if isKeyTaken(err) {
			return fmt.Errorf("the address is linked: %w", inbox.ErrAlreadyExists)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create mailbox %s: %w", m.Address, err)
	}
	return nil
}

const getMailboxQuery = `SELECT ` + mailboxColumns + ` FROM mailboxes WHERE address = ?`

// GetMailbox implements inbox.Store.
func (s *Store) GetMailbox(ctx context.Context, address string) (inbox.Mailbox, error) {
	m, err := scanMailbox(s.reads.QueryRowContext(ctx, getMailboxQuery, address))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return inbox.Mailbox{}, fmt.Errorf("get mailbox %s: %w", address, inbox.ErrNotFound)
	case err != nil:
		return inbox.Mailbox{}, fmt.Errorf("get mailbox %s: %w", address, err)
	}
	return m, nil
}

// The listings of mailboxes; each walks an index in order.
const (
	listMailboxesQuery = `SELECT ` + mailboxColumns + ` FROM mailboxes
		WHERE tenant_id = ? ORDER BY address`
	watchExpiringQuery = `SELECT ` + mailboxColumns + ` FROM mailboxes
		WHERE watch_expiration < ? ORDER BY watch_expiration, address LIMIT ?`
	syncedBeforeQuery = `SELECT ` + mailboxColumns + ` FROM mailboxes
		WHERE last_sync_at < ? ORDER BY last_sync_at, address LIMIT ?`
)

// ListMailboxes implements inbox.Store.
func (s *Store) ListMailboxes(ctx context.Context, tenantID string) ([]inbox.Mailbox, error) {
	out, err := s.queryMailboxes(ctx, listMailboxesQuery, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list mailboxes of %s: %w", tenantID, err)
	}
	return out, nil
}

// ListMailboxesWatchExpiringBefore implements inbox.Store. A never-watched
// mailbox has the zero WatchExpiration, which sorts first; mailboxes that
// expire at the same millisecond are ordered by address. limit ≤ 0 reads
// 20.
func (s *Store) ListMailboxesWatchExpiringBefore(ctx context.Context, t time.Time, limit int) ([]inbox.Mailbox, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	out, err := s.queryMailboxes(ctx, watchExpiringQuery, millis(t), limit)
	if err != nil {
		return nil, fmt.Errorf("list mailboxes whose watch expires before %s: %w", t.Format(time.RFC3339), err)
	}
	return out, nil
}

// ListMailboxesSyncedBefore implements inbox.Store. A never-synced mailbox
// has the zero LastSyncAt, which sorts first; mailboxes synced at the same
// millisecond are ordered by address. limit ≤ 0 reads 20.
func (s *Store) ListMailboxesSyncedBefore(ctx context.Context, t time.Time, limit int) ([]inbox.Mailbox, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	out, err := s.queryMailboxes(ctx, syncedBeforeQuery, millis(t), limit)
	if err != nil {
		return nil, fmt.Errorf("list mailboxes synced before %s: %w", t.Format(time.RFC3339), err)
	}
	return out, nil
}

func (s *Store) queryMailboxes(ctx context.Context, query string, args ...any) ([]inbox.Mailbox, error) {
	rows, err := s.reads.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []inbox.Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// UpdateMailbox implements inbox.Store with readModifyWrite.
func (s *Store) UpdateMailbox(ctx context.Context, address string, fn func(*inbox.Mailbox) error) (inbox.Mailbox, error) {
	m, err := readModifyWrite(ctx, s,
		func(tx *stx) (inbox.Mailbox, error) {
			return scanMailbox(tx.QueryRowContext(ctx, getMailboxQuery, address))
		},
		fn, inbox.Mailbox.ValidateUpdate,
		func(tx *stx, m inbox.Mailbox) error {
			args, err := mailboxArgs(m)
			if err != nil {
				return err
			}
			// args[0] is the address: it closes the WHERE clause.
			_, err = tx.ExecContext(ctx,
				`UPDATE mailboxes SET tenant_id = ?, kind = ?, history_id = ?, notified_history_id = ?,
					watch_expiration = ?, labels = ?, access = ?, sealed_token = ?, connected_by = ?,
					lease_holder = ?, lease_until = ?, last_sync_at = ?, last_error = ?, problem = ?,
					error_count = ?, created_at = ?, resync_start = ?, resync_since = ?, resync_after = ?,
					consent_state_expires = ?
				 WHERE address = ?`,
				append(args[1:], args[0])...)
			return err
		})
	if err != nil {
		return inbox.Mailbox{}, fmt.Errorf("update mailbox %s: %w", address, err)
	}
	return m, nil
}

// DeleteMailbox implements inbox.Store: the mailbox and its thread links go
// in one transaction.
func (s *Store) DeleteMailbox(ctx context.Context, address string) error {
	err := inTx(ctx, s.writes, func(tx *stx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM mailboxes WHERE address = ?`, address)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if n == 0 {
			return inbox.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, deleteThreadLinksQuery, address); err != nil {
			return fmt.Errorf("delete thread links: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete mailbox %s: %w", address, err)
	}
	return nil
}

// deleteThreadLinksQuery removes a mailbox's thread links, found through
// thread_links_by_thread.
const deleteThreadLinksQuery = `DELETE FROM thread_links WHERE mailbox = ?`
