package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/postfach/postfach/internal/inbox"
)

// AddNote implements inbox.Store. The note must carry a tenant,
// conversation, id and non-blank body, and ev must belong to the same
// conversation (ErrInvalid otherwise); a note id used twice is
// ErrAlreadyExists.
func (s *Store) AddNote(ctx context.Context, n inbox.Note, ev inbox.Activity) error {
	switch {
	case n.TenantID == "" || n.ConversationID == "" || n.ID == "":
		return fmt.Errorf("add note: %w", invalid("a note needs a tenant, a conversation and an id"))
	case strings.TrimSpace(n.Body) == "":
		return fmt.Errorf("add note: %w", invalid("the note is empty"))
	}
	if err := ev.ValidateFor(n.TenantID, n.ConversationID); err != nil {
		return fmt.Errorf("add note to %s/%s: %w", n.TenantID, n.ConversationID, err)
	}
	err := inTx(ctx, s.writes, func(tx *stx) error {
		var one int
		err := tx.QueryRowContext(ctx,
			`SELECT 1 FROM conversations WHERE tenant_id = ? AND id = ?`, n.TenantID, n.ConversationID).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return inbox.ErrNotFound
		case err != nil:
			return fmt.Errorf("look up conversation: %w", err)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO notes (tenant_id, conversation_id, id, author, body, created_at)
			 VALUES (?, ?, ?, ?, ?, ?)`,
			n.TenantID, n.ConversationID, n.ID, n.Author, n.Body, millis(n.CreatedAt))
		switch {
		case isKeyTaken(err):
			return fmt.Errorf("note %s: %w", n.ID, inbox.ErrAlreadyExists)
		case err != nil:
			return fmt.Errorf("insert note: %w", err)
		}
		return insertActivity(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("add note to %s/%s: %w", n.TenantID, n.ConversationID, err)
	}
	return nil
}

// The listings of a conversation's history; each walks its index
// (notes_by_time, activity_by_time) in order and stops after limit rows.
const (
	listNotesQuery = `SELECT id, author, body, created_at FROM notes
		WHERE tenant_id = ? AND conversation_id = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`
	listActivityQuery = `SELECT id, version, actor, kind, from_value, to_value, at FROM activity
		WHERE tenant_id = ? AND conversation_id = ?
		ORDER BY at DESC, id DESC LIMIT ?`
)

// querier is a *sql.DB, a stmtCache or an stx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ListNotes implements inbox.Store; limit ≤ 0 reads 20 notes.
func (s *Store) ListNotes(ctx context.Context, tenantID, conversationID string, limit int) ([]inbox.Note, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	out, err := listNotes(ctx, s.read, tenantID, conversationID, limit)
	if err != nil {
		return nil, fmt.Errorf("list notes of %s/%s: %w", tenantID, conversationID, err)
	}
	return out, nil
}

func listNotes(ctx context.Context, q querier, tenantID, conversationID string, limit int) ([]inbox.Note, error) {
	rows, err := q.QueryContext(ctx, listNotesQuery, tenantID, conversationID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []inbox.Note
	for rows.Next() {
		n := inbox.Note{TenantID: tenantID, ConversationID: conversationID}
		var created int64
		if err := rows.Scan(&n.ID, &n.Author, &n.Body, &created); err != nil {
			return nil, err
		}
		n.CreatedAt = fromMillis(created)
		out = append(out, n)
	}
	return out, rows.Err()
}

// ListActivity implements inbox.Store; limit ≤ 0 reads 20 entries.
func (s *Store) ListActivity(ctx context.Context, tenantID, conversationID string, limit int) ([]inbox.Activity, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	out, err := listActivity(ctx, s.read, tenantID, conversationID, limit)
	if err != nil {
		return nil, fmt.Errorf("list activity of %s/%s: %w", tenantID, conversationID, err)
	}
	return out, nil
}

func listActivity(ctx context.Context, q querier, tenantID, conversationID string, limit int) ([]inbox.Activity, error) {
	rows, err := q.QueryContext(ctx, listActivityQuery, tenantID, conversationID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []inbox.Activity
	for rows.Next() {
		a := inbox.Activity{TenantID: tenantID, ConversationID: conversationID}
		var at int64
		if err := rows.Scan(&a.ID, &a.Version, &a.Actor, &a.Kind, &a.From, &a.To, &at); err != nil {
			return nil, err
		}
		a.At = fromMillis(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// RecentHistory implements inbox.Store with the queries of ListNotes and
// ListActivity (on SQLite two indexed queries cost less than keeping a
// copy), run in one read transaction so that both see the same snapshot: a
// note and its activity entry show together or not at all. A limit ≤ 0
// reads nothing of its kind.
func (s *Store) RecentHistory(ctx context.Context, tenantID, conversationID string, notes, activity int) ([]inbox.Note, []inbox.Activity, error) {
	notes, activity = min(notes, inbox.MaxRecentNotes), min(activity, inbox.MaxRecentActivity)
	if notes <= 0 && activity <= 0 {
		return nil, nil, nil
	}
	var ns []inbox.Note
	var as []inbox.Activity
	err := s.readTx(ctx, func(tx *stx) (err error) {
		ns, as, err = recentHistory(ctx, tx, tenantID, conversationID, notes, activity)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("recent history of %s/%s: %w", tenantID, conversationID, err)
	}
	return ns, as, nil
}

// GetConversationHistory implements inbox.Store: GetConversation and
// RecentHistory's queries in one read transaction, so that the history is
// that of the conversation returned.
func (s *Store) GetConversationHistory(ctx context.Context, tenantID, id string, notes, activity int) (inbox.Conversation, []inbox.Note, []inbox.Activity, error) {
	notes, activity = min(notes, inbox.MaxRecentNotes), min(activity, inbox.MaxRecentActivity)
	var c inbox.Conversation
	var ns []inbox.Note
	var as []inbox.Activity
	err := s.readTx(ctx, func(tx *stx) (err error) {
		c, err = scanConversation(tx.QueryRowContext(ctx, getConversationQuery, tenantID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.ErrNotFound
		}
		if err != nil {
			return err
		}
		ns, as, err = recentHistory(ctx, tx, tenantID, id, notes, activity)
		return err
	})
	if err != nil {
		return inbox.Conversation{}, nil, nil, fmt.Errorf("get conversation %s/%s with its history: %w", tenantID, id, err)
	}
	return c, ns, as, nil
}

// readTx runs f in a read transaction: one snapshot for all its queries,
// prepared through the readers' statement cache.
func (s *Store) readTx(ctx context.Context, f func(tx *stx) error) error {
	// A deferred BEGIN, even on ":memory:"; nothing to commit.
	return runTx(ctx, s.read, s.reads, &sql.TxOptions{ReadOnly: true}, f)
}

// recentHistory reads the newest notes and activity entries in q; a limit
// ≤ 0 reads nothing of its kind.
func recentHistory(ctx context.Context, q querier, tenantID, conversationID string, notes, activity int) (ns []inbox.Note, as []inbox.Activity, err error) {
	if notes > 0 {
		if ns, err = listNotes(ctx, q, tenantID, conversationID, notes); err != nil {
			return nil, nil, fmt.Errorf("notes: %w", err)
		}
	}
	if activity > 0 {
		if as, err = listActivity(ctx, q, tenantID, conversationID, activity); err != nil {
			return nil, nil, fmt.Errorf("activity: %w", err)
		}
	}
	return ns, as, nil
}
