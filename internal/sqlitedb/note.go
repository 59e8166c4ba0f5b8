package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// AddNote implements inbox.Store: the note, its entry and its mentions in
// one transaction.
func (s *Store) AddNote(ctx context.Context, n inbox.Note, ev inbox.Activity) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("add note: %w", err)
	}
	if err := ev.ValidateFor(n.TenantID, n.ConversationID); err != nil {
		return fmt.Errorf("add note to %s/%s: %w", n.TenantID, n.ConversationID, err)
	}
	err := inTx(ctx, s.writes, func(tx *stx) error {
		c, err := scanConversation(tx.QueryRowContext(ctx, getConversationQuery, n.TenantID, n.ConversationID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return inbox.ErrNotFound
		case err != nil:
			return fmt.Errorf("look up conversation: %w", err)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO notes (tenant_id, conversation_id, id, author, body, created_at, edited_at, mentions)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			n.TenantID, n.ConversationID, n.ID, n.Author, n.Body, millis(n.CreatedAt), optMillis(n.EditedAt), strings.Join(n.Mentions, " "))
		switch {
		case isKeyTaken(err):
			return fmt.Errorf("note %s: %w", n.ID, inbox.ErrAlreadyExists)
		case err != nil:
			return fmt.Errorf("insert note: %w", err)
		}
		if err := insertMentions(ctx, tx, c, n, n.Mentions); err != nil {
			return err
		}
		return insertActivity(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("add note to %s/%s: %w", n.TenantID, n.ConversationID, err)
	}
	return nil
}

const getNoteQuery = `SELECT id, author, body, created_at, edited_at, mentions FROM notes
	WHERE tenant_id = ? AND conversation_id = ? AND id = ?`

// GetNote implements inbox.Store.
func (s *Store) GetNote(ctx context.Context, tenantID, conversationID, noteID string) (inbox.Note, error) {
	n, err := getNote(ctx, s.reads, tenantID, conversationID, noteID)
	if err != nil {
		return inbox.Note{}, fmt.Errorf("get note %s of %s/%s: %w", noteID, tenantID, conversationID, err)
	}
	return n, nil
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getNote(ctx context.Context, q rowQuerier, tenantID, conversationID, noteID string) (inbox.Note, error) {
	n, err := scanNote(q.QueryRowContext(ctx, getNoteQuery, tenantID, conversationID, noteID), tenantID, conversationID)
	if errors.Is(err, sql.ErrNoRows) {
		return inbox.Note{}, inbox.ErrNotFound
	}
	return n, err
}

func scanNote(row scanner, tenantID, conversationID string) (inbox.Note, error) {
	n := inbox.Note{TenantID: tenantID, ConversationID: conversationID}
	var created, edited int64
	var mentions string
	if err := row.Scan(&n.ID, &n.Author, &n.Body, &created, &edited, &mentions); err != nil {
		return inbox.Note{}, err
	}
	n.CreatedAt, n.EditedAt = fromMillis(created), fromOptMillis(edited)
	n.Mentions = strings.Fields(mentions)
	return n, nil
}

// UpdateNote implements inbox.Store.
func (s *Store) UpdateNote(ctx context.Context, tenantID, conversationID, noteID string, fn func(*inbox.Note) (inbox.Activity, error)) (inbox.Note, error) {
	var out inbox.Note
	err := inTx(ctx, s.writes, func(tx *stx) error {
		old, err := getNote(ctx, tx, tenantID, conversationID, noteID)
		if err != nil {
			return err
		}
		n := old
		n.Mentions = slices.Clone(old.Mentions)
		ev, err := fn(&n)
		if err != nil {
			return err
		}
		added, err := checkNoteUpdate(old, n)
		if err != nil {
			return err
		}
		if err := ev.ValidateFor(tenantID, conversationID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE notes SET body = ?, edited_at = ?, mentions = ? WHERE tenant_id = ? AND conversation_id = ? AND id = ?`,
			n.Body, optMillis(n.EditedAt), strings.Join(n.Mentions, " "), tenantID, conversationID, noteID); err != nil {
			return fmt.Errorf("update note: %w", err)
		}
		if len(added) > 0 {
			c, err := scanConversation(tx.QueryRowContext(ctx, getConversationQuery, tenantID, conversationID))
			if err != nil {
				return fmt.Errorf("look up conversation: %w", err)
			}
			if err := insertMentions(ctx, tx, c, n, added); err != nil {
				return err
			}
		}
		out = n
		return insertActivity(ctx, tx, ev)
	})
	if err != nil {
		return inbox.Note{}, fmt.Errorf("update note %s of %s/%s: %w", noteID, tenantID, conversationID, err)
	}
	return out, nil
}

// checkNoteUpdate checks what an UpdateNote fn did to a note and returns
// the addresses it added to Mentions.
func checkNoteUpdate(old, n inbox.Note) ([]string, error) {
	if n.TenantID != old.TenantID || n.ConversationID != old.ConversationID || n.ID != old.ID ||
		n.Author != old.Author || !n.CreatedAt.Equal(old.CreatedAt) {
		return nil, invalid("a note's keys, author and creation time cannot change")
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	var added []string
	for _, m := range old.Mentions {
		if !slices.Contains(n.Mentions, m) {
			return nil, invalid("%s cannot be taken out of a note's mentions", m)
		}
	}
	for _, m := range n.Mentions {
		if !slices.Contains(old.Mentions, m) {
			added = append(added, m)
		}
	}
	return added, nil
}

// DeleteNote implements inbox.Store.
func (s *Store) DeleteNote(ctx context.Context, tenantID, conversationID, noteID string, fn func(inbox.Note) (inbox.Activity, error)) error {
	err := inTx(ctx, s.writes, func(tx *stx) error {
		n, err := getNote(ctx, tx, tenantID, conversationID, noteID)
		if err != nil {
			return err
		}
		ev, err := fn(n)
		if err != nil {
			return err
		}
		if err := ev.ValidateFor(tenantID, conversationID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM notes WHERE tenant_id = ? AND conversation_id = ? AND id = ?`, tenantID, conversationID, noteID); err != nil {
			return fmt.Errorf("delete note: %w", err)
		}
		for _, m := range n.Mentions {
			if _, err := tx.ExecContext(ctx,
				`DELETE FROM mentions WHERE tenant_id = ? AND recipient = ? AND note_id = ?`, tenantID, m, noteID); err != nil {
				return fmt.Errorf("delete mention: %w", err)
			}
		}
		return insertActivity(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("delete note %s of %s/%s: %w", noteID, tenantID, conversationID, err)
	}
	return nil
}

// insertMentions writes the mention of note n for each of recipients; one
// that exists (a note naming someone again) stays as it is.
func insertMentions(ctx context.Context, tx *stx, c inbox.Conversation, n inbox.Note, recipients []string) error {
	for _, r := range recipients {
		m := inbox.NewMention(c, n, r)
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO mentions (tenant_id, recipient, note_id, conversation_id, inbox_id, author, subject, excerpt, at, read_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING`,
			m.TenantID, m.Recipient, m.NoteID, m.ConversationID, m.InboxID, m.Author, m.Subject, m.Excerpt, millis(m.At)); err != nil {
			return fmt.Errorf("insert mention of %s: %w", r, err)
		}
	}
	return nil
}

// The mention listings walk mentions_by_time, or the partial index
// mentions_unread, in order and stop after limit rows.
const (
	mentionColumns     = `recipient, note_id, conversation_id, inbox_id, author, subject, excerpt, at, read_at`
	listMentionsQuery  = `SELECT ` + mentionColumns + ` FROM mentions WHERE tenant_id = ? AND recipient = ? ORDER BY at DESC, note_id DESC LIMIT ?`
	listUnreadQuery    = `SELECT ` + mentionColumns + ` FROM mentions WHERE tenant_id = ? AND recipient = ? AND read_at = 0 ORDER BY at DESC, note_id DESC LIMIT ?`
	maxMentionsPerList = 100
)

// ListMentions implements inbox.Store.
func (s *Store) ListMentions(ctx context.Context, tenantID, recipient string, unreadOnly bool, limit int) ([]inbox.Mention, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxMentionsPerList)
	q := listMentionsQuery
	if unreadOnly {
		q = listUnreadQuery
	}
	rows, err := s.reads.QueryContext(ctx, q, tenantID, recipient, limit)
	if err != nil {
		return nil, fmt.Errorf("list mentions of %s in %s: %w", recipient, tenantID, err)
	}
	defer rows.Close()
	var out []inbox.Mention
	for rows.Next() {
		m := inbox.Mention{TenantID: tenantID}
		var at, read int64
		if err := rows.Scan(&m.Recipient, &m.NoteID, &m.ConversationID, &m.InboxID, &m.Author, &m.Subject, &m.Excerpt, &at, &read); err != nil {
			return nil, fmt.Errorf("list mentions of %s in %s: %w", recipient, tenantID, err)
		}
		m.At, m.ReadAt = fromMillis(at), fromOptMillis(read)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list mentions of %s in %s: %w", recipient, tenantID, err)
	}
	return out, nil
}

// MarkMentionsRead implements inbox.Store.
func (s *Store) MarkMentionsRead(ctx context.Context, tenantID, recipient string, noteIDs []string, at time.Time) (int, error) {
	if len(noteIDs) > maxMentionsPerList {
		return 0, fmt.Errorf("mark mentions read: %w", invalid("%d ids, at most %d", len(noteIDs), maxMentionsPerList))
	}
	if len(noteIDs) == 0 {
		return 0, nil
	}
	n := 0
	err := inTx(ctx, s.writes, func(tx *stx) error {
		n = 0
		for _, id := range noteIDs {
			r, err := tx.ExecContext(ctx,
				`UPDATE mentions SET read_at = ? WHERE tenant_id = ? AND recipient = ? AND note_id = ? AND read_at = 0`,
				optMillis(at), tenantID, recipient, id)
			if err != nil {
				return err
			}
			k, err := r.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("mark mentions of %s in %s read: %w", recipient, tenantID, err)
	}
	return n, nil
}

// optMillis stores an optional time: 0 for the zero time.
func optMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return millis(t)
}

// fromOptMillis reads a time stored by optMillis.
func fromOptMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMillis(ms)
}

// The listings of a conversation's history; each walks its index
// (notes_by_time, activity_by_time) in order and stops after limit rows.
const (
	listNotesQuery = `SELECT id, author, body, created_at, edited_at, mentions FROM notes
		WHERE tenant_id = ? AND conversation_id = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`
	listActivityQuery = `SELECT id, version, actor, kind, from_value, to_value, at, via FROM activity
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
		n, err := scanNote(rows, tenantID, conversationID)
		if err != nil {
			return nil, err
		}
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
		if err := rows.Scan(&a.ID, &a.Version, &a.Actor, &a.Kind, &a.From, &a.To, &at, &a.Via); err != nil {
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
