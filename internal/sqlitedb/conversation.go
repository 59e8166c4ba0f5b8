package sqlitedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

const conversationColumns = `tenant_id, id, inbox_id, root_message_id, subject, customer,
	customer_name, status, assignee, tags, created_at, last_message_at, first_response_at,
	version, updated_at, updated_by, flow, due_at`

func scanConversation(row scanner) (inbox.Conversation, error) {
	var c inbox.Conversation
	var tags, flow string
	var created, last, firstResponse, updated, due int64
	err := row.Scan(&c.TenantID, &c.ID, &c.InboxID, &c.RootMessageID, &c.Subject, &c.Customer,
		&c.CustomerName, &c.Status, &c.Assignee, &tags, &created, &last, &firstResponse,
		&c.Version, &updated, &c.UpdatedBy, &flow, &due)
	if err != nil {
		return inbox.Conversation{}, err
	}
	if err := inbox.DecodeJSON(flow, &c.Flow); err != nil {
		return inbox.Conversation{}, err
	}
	c.DueAt = fromOptMillis(due)
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return inbox.Conversation{}, fmt.Errorf("decode tags: %w", err)
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	c.CreatedAt = fromMillis(created)
	c.LastMessageAt = fromMillis(last)
	c.FirstResponseAt = fromMillis(firstResponse)
	c.UpdatedAt = fromMillis(updated)
	return c, nil
}

// encodeRow is the JSON of a conversation's tags and flow.
func encodeRow(c inbox.Conversation) (tags, flow string, err error) {
	if tags, err = encodeTags(c.Tags); err != nil {
		return "", "", err
	}
	flow, err = inbox.EncodeJSON(c.Flow)
	return tags, flow, err
}

func encodeTags(tags []string) (string, error) {
	if tags == nil {
		tags = []string{}
	}
	b, err := json.Marshal(tags)
	return string(b), err
}

func insertActivity(ctx context.Context, tx *stx, ev inbox.Activity) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO activity (tenant_id, conversation_id, id, version, actor, kind, from_value, to_value, at, via)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.TenantID, ev.ConversationID, ev.ID, ev.Version, ev.Actor, string(ev.Kind), ev.From, ev.To, millis(ev.At), ev.Via)
	if isKeyTaken(err) {
		return fmt.Errorf("activity %s: %w", ev.ID, inbox.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("append activity: %w", err)
	}
	return nil
}

// normalizeMessageIDs normalises Message-IDs with inbox.NormalizeMessageID;
// text that is no Message-ID is ErrInvalid.
func normalizeMessageIDs(raw []string) ([]string, error) {
	ids := make([]string, 0, len(raw))
	for _, r := range raw {
		id := inbox.NormalizeMessageID(r)
		if id == "" {
			return nil, invalid("%q is not a Message-ID", r)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// indexMessageIDs indexes ids to c within c's inbox. An id already indexed
// to a conversation of the inbox keeps it.
func indexMessageIDs(ctx context.Context, tx *stx, c inbox.Conversation, ids []string) error {
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO message_ids (tenant_id, message_id, inbox_id, conversation_id) VALUES (?, ?, ?, ?)
			 ON CONFLICT (tenant_id, message_id, inbox_id) DO NOTHING`,
			c.TenantID, id, c.InboxID, c.ID); err != nil {
			return fmt.Errorf("index Message-ID %s: %w", id, err)
		}
	}
	return nil
}

const messageIDIndexedQuery = `SELECT 1 FROM message_ids
	WHERE tenant_id = ? AND message_id = ? AND inbox_id = ?`

// messageIDIndexed reports whether a Message-ID is indexed in an inbox,
// inside a transaction.
func messageIDIndexed(ctx context.Context, tx *stx, tenantID, inboxID, messageID string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, messageIDIndexedQuery, tenantID, messageID, inboxID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look up Message-ID %s: %w", messageID, err)
	}
	return true, nil
}

// CreateConversation implements inbox.Store. Message-IDs are normalised with
// inbox.NormalizeMessageID; one that is not a Message-ID is ErrInvalid. A
// Message-ID already indexed to another conversation of the inbox stays
// with that conversation.
func (s *Store) CreateConversation(ctx context.Context, c inbox.Conversation, messageIDs []string, created inbox.Activity, more ...inbox.Activity) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("create conversation: %w", err)
	}
	if c.Version != 1 {
		return fmt.Errorf("create conversation %s/%s: %w", c.TenantID, c.ID, invalid("a new conversation has version 1, not %d", c.Version))
	}
	evs := append([]inbox.Activity{created}, more...)
	for _, ev := range evs {
		if err := ev.ValidateFor(c.TenantID, c.ID); err != nil {
			return fmt.Errorf("create conversation %s/%s: %w", c.TenantID, c.ID, err)
		}
	}
	ids, err := normalizeMessageIDs(messageIDs)
	if err != nil {
		return fmt.Errorf("create conversation %s/%s: %w", c.TenantID, c.ID, err)
	}
	tags, flow, err := encodeRow(c)
	if err != nil {
		return fmt.Errorf("create conversation %s/%s: %w", c.TenantID, c.ID, err)
	}

	err = inTx(ctx, s.writes, func(tx *stx) error {
		ok, err := inboxExists(ctx, tx, c.TenantID, c.InboxID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("inbox %s: %w", c.InboxID, inbox.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO conversations (`+conversationColumns+`)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.TenantID, c.ID, c.InboxID, c.RootMessageID, c.Subject, c.Customer,
			c.CustomerName, string(c.Status), c.Assignee, tags, millis(c.CreatedAt), millis(c.LastMessageAt),
			millis(c.FirstResponseAt), c.Version, millis(c.UpdatedAt), c.UpdatedBy, flow, optMillis(c.DueAt))
		if isKeyTaken(err) {
			return inbox.ErrAlreadyExists
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if err := indexMessageIDs(ctx, tx, c, ids); err != nil {
			return err
		}
		if err := addCounts(ctx, tx, c.TenantID, c.InboxID, inbox.CountsDelta(nil, c)); err != nil {
			return err
		}
		for _, ev := range evs {
			if err := insertActivity(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create conversation %s/%s: %w", c.TenantID, c.ID, err)
	}
	return nil
}

// AppendMessage implements inbox.Store, in one transaction that checks, in
// this order: the conversation exists (ErrNotFound) in c's inbox
// (ErrInvalid), messageIDs[0] is not indexed in that inbox yet
// (ErrAlreadyExists, so that a replay is recognised as one even after the
// conversation changed), and the stored version is the expected one
// (ErrConflict). Message-IDs are normalised as by CreateConversation, and
// later ones already indexed to another conversation of the inbox stay with
// it. ev, if any, and more must belong to c (ErrInvalid otherwise).
func (s *Store) AppendMessage(ctx context.Context, c inbox.Conversation, messageIDs []string, ev *inbox.Activity, more ...inbox.Activity) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("append message: %w", err)
	}
	if len(messageIDs) == 0 {
		return fmt.Errorf("append message to %s/%s: %w", c.TenantID, c.ID, invalid("the mail has no Message-ID"))
	}
	ids, err := normalizeMessageIDs(messageIDs)
	if err != nil {
		return fmt.Errorf("append message to %s/%s: %w", c.TenantID, c.ID, err)
	}
	want := c.Version // the stored version this write expects
	evs := more
	if ev != nil {
		evs = append([]inbox.Activity{*ev}, more...)
	}
	for _, e := range evs {
		if err := e.ValidateFor(c.TenantID, c.ID); err != nil {
			return fmt.Errorf("append message to %s/%s: %w", c.TenantID, c.ID, err)
		}
	}
	if len(evs) > 0 {
		want = c.Version - 1
	}
	tags, flow, err := encodeRow(c)
	if err != nil {
		return fmt.Errorf("append message to %s/%s: %w", c.TenantID, c.ID, err)
	}

	err = inTx(ctx, s.writes, func(tx *stx) error {
		var inboxID string
		var version int64
		var stored inbox.Conversation
		err := tx.QueryRowContext(ctx,
			`SELECT inbox_id, version, status, assignee FROM conversations WHERE tenant_id = ? AND id = ?`,
			c.TenantID, c.ID).Scan(&inboxID, &version, &stored.Status, &stored.Assignee)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return inbox.ErrNotFound
		case err != nil:
			return fmt.Errorf("read stored version: %w", err)
		case inboxID != c.InboxID:
			return invalid("the conversation belongs to inbox %s, not %s", inboxID, c.InboxID)
		}
		recorded, err := messageIDIndexed(ctx, tx, c.TenantID, c.InboxID, ids[0])
		if err != nil {
			return err
		}
		if recorded {
			return fmt.Errorf("the mail %s is recorded in inbox %s: %w", ids[0], c.InboxID, inbox.ErrAlreadyExists)
		}
		if version != want {
			return fmt.Errorf("stored version is %d, the change was computed from %d: %w", version, want, inbox.ErrConflict)
		}
		merged := c
		if _, err := mergeTimes(ctx, tx, &merged); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			updateConversation+` WHERE tenant_id = ? AND id = ?`,
			append(updateArgs(merged, tags, flow), c.TenantID, c.ID)...); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if err := indexMessageIDs(ctx, tx, c, ids); err != nil {
			return err
		}
		if err := addCounts(ctx, tx, c.TenantID, c.InboxID, inbox.CountsDelta(&stored, c)); err != nil {
			return err
		}
		for _, e := range evs {
			if err := insertActivity(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append message %s to %s/%s: %w", ids[0], c.TenantID, c.ID, err)
	}
	return nil
}

// GetConversation implements inbox.Store.
func (s *Store) GetConversation(ctx context.Context, tenantID, id string) (inbox.Conversation, error) {
	c, err := scanConversation(s.reads.QueryRowContext(ctx, getConversationQuery, tenantID, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return inbox.Conversation{}, fmt.Errorf("get conversation %s/%s: %w", tenantID, id, inbox.ErrNotFound)
	case err != nil:
		return inbox.Conversation{}, fmt.Errorf("get conversation %s/%s: %w", tenantID, id, err)
	}
	return c, nil
}

// getConversationQuery selects one conversation by its key.
var getConversationQuery = `SELECT ` + conversationColumns + ` FROM conversations WHERE tenant_id = ? AND id = ?`

// findByMessageIDQuery selects the conversations a Message-ID is indexed to
// in a tenant, in inbox order; it searches the key of message_ids.
var findByMessageIDQuery = `SELECT ` + prefixed("c.", conversationColumns) + `
	FROM message_ids m
	JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id
	WHERE m.tenant_id = ? AND m.message_id = ?
	ORDER BY m.inbox_id`

// FindConversationsByMessageID implements inbox.Store. The Message-ID is
// normalised first, so "<id@host>" finds "id@host"; text that is no
// Message-ID finds nothing.
func (s *Store) FindConversationsByMessageID(ctx context.Context, tenantID, messageID string) ([]inbox.Conversation, error) {
	id := inbox.NormalizeMessageID(messageID)
	if id == "" {
		return nil, nil
	}
	rows, err := s.reads.QueryContext(ctx, findByMessageIDQuery, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("find conversations of Message-ID %s in %s: %w", id, tenantID, err)
	}
	defer rows.Close()
	var out []inbox.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("find conversations of Message-ID %s in %s: %w", id, tenantID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find conversations of Message-ID %s in %s: %w", id, tenantID, err)
	}
	return out, nil
}

// prefixed qualifies every column of a column list with p ("c.").
func prefixed(p, columns string) string {
	fields := strings.Split(columns, ",")
	for i, f := range fields {
		fields[i] = p + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// updateConversation rewrites every field of a conversation but its keys;
// updateArgs gives its arguments. A WHERE clause follows.
const updateConversation = `UPDATE conversations SET
	root_message_id = ?, subject = ?, customer = ?, customer_name = ?,
	status = ?, assignee = ?, tags = ?, created_at = ?, last_message_at = ?,
	first_response_at = ?, version = ?, updated_at = ?, updated_by = ?, flow = ?, due_at = ?`

func updateArgs(c inbox.Conversation, tags, flow string) []any {
	return []any{
		c.RootMessageID, c.Subject, c.Customer, c.CustomerName,
		string(c.Status), c.Assignee, tags, millis(c.CreatedAt), millis(c.LastMessageAt),
		millis(c.FirstResponseAt), c.Version, millis(c.UpdatedAt), c.UpdatedBy, flow, optMillis(c.DueAt),
	}
}

// mergeTimes applies the contract's rule for the conversation times that
// are not versioned: a write keeps the latest LastMessageAt and the earliest
// non-zero FirstResponseAt of what is stored and what is written. It must
// run inside the write transaction. It returns the stored status and
// assignee (nil when the conversation does not exist), which the write's
// delta of the inbox's counts is computed from.
func mergeTimes(ctx context.Context, tx *stx, c *inbox.Conversation) (*inbox.Conversation, error) {
	var last, first int64
	var was inbox.Conversation
	err := tx.QueryRowContext(ctx,
		`SELECT last_message_at, first_response_at, status, assignee FROM conversations WHERE tenant_id = ? AND id = ?`,
		c.TenantID, c.ID).Scan(&last, &first, &was.Status, &was.Assignee)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read message times: %w", err)
	}
	if stored := fromMillis(last); stored.After(c.LastMessageAt) {
		c.LastMessageAt = stored
	}
	if stored := fromMillis(first); first != millis(time.Time{}) && (c.FirstResponseAt.IsZero() || stored.Before(c.FirstResponseAt)) {
		c.FirstResponseAt = stored
	}
	return &was, nil
}

// UpdateConversation implements inbox.Store: one transaction that writes c
// if the stored version is c.Version-1 and appends ev.
func (s *Store) UpdateConversation(ctx context.Context, c inbox.Conversation, ev inbox.Activity) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("update conversation: %w", err)
	}
	if err := ev.ValidateFor(c.TenantID, c.ID); err != nil {
		return fmt.Errorf("update conversation %s/%s: %w", c.TenantID, c.ID, err)
	}
	tags, flow, err := encodeRow(c)
	if err != nil {
		return fmt.Errorf("update conversation %s/%s: %w", c.TenantID, c.ID, err)
	}

	err = inTx(ctx, s.writes, func(tx *stx) error {
		merged := c
		stored, err := mergeTimes(ctx, tx, &merged)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			updateConversation+` WHERE tenant_id = ? AND id = ? AND inbox_id = ? AND version = ?`,
			append(updateArgs(merged, tags, flow), c.TenantID, c.ID, c.InboxID, c.Version-1)...)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if n == 0 {
			return whyNotUpdated(ctx, tx, c)
		}
		if err := addCounts(ctx, tx, c.TenantID, c.InboxID, inbox.CountsDelta(stored, c)); err != nil {
			return err
		}
		return insertActivity(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("update conversation %s/%s: %w", c.TenantID, c.ID, err)
	}
	return nil
}

// whyNotUpdated explains an UPDATE that matched no row: the conversation is
// missing, lives in another inbox, or has another version.
func whyNotUpdated(ctx context.Context, tx *stx, c inbox.Conversation) error {
	var inboxID string
	var version int64
	err := tx.QueryRowContext(ctx,
		`SELECT inbox_id, version FROM conversations WHERE tenant_id = ? AND id = ?`,
		c.TenantID, c.ID).Scan(&inboxID, &version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return inbox.ErrNotFound
	case err != nil:
		return fmt.Errorf("read stored version: %w", err)
	case inboxID != c.InboxID:
		return invalid("the conversation belongs to inbox %s, not %s", inboxID, c.InboxID)
	}
	return fmt.Errorf("stored version is %d, the change was computed from %d: %w", version, c.Version-1, inbox.ErrConflict)
}

// ListConversations implements inbox.Store.
func (s *Store) ListConversations(ctx context.Context, q inbox.ConversationQuery) (inbox.ConversationPage, error) {
	where, args, err := conversationFilter(q)
	if err != nil {
		return inbox.ConversationPage{}, fmt.Errorf("list conversations: %w", err)
	}
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = defaultLimit
	case limit > 100:
		limit = 100
	}
	if q.Cursor != "" {
		cur, err := decodeCursor(q.Cursor)
		if err != nil {
			return inbox.ConversationPage{}, fmt.Errorf("list conversations: %w", err)
		}
		where += ` AND (last_message_at < ? OR (last_message_at = ? AND id < ?))`
		args = append(args, cur.lastMessageAt, cur.lastMessageAt, cur.id)
	}
	// One more than the page tells whether there is a next page.
	args = append(args, limit+1)
	rows, err := s.reads.QueryContext(ctx,
		`SELECT `+conversationColumns+` FROM conversations WHERE `+where+`
		 ORDER BY last_message_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return inbox.ConversationPage{}, fmt.Errorf("list conversations of %s/%s: %w", q.TenantID, q.InboxID, err)
	}
	defer rows.Close()
	var page inbox.ConversationPage
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return inbox.ConversationPage{}, fmt.Errorf("list conversations of %s/%s: %w", q.TenantID, q.InboxID, err)
		}
		page.Conversations = append(page.Conversations, c)
	}
	if err := rows.Err(); err != nil {
		return inbox.ConversationPage{}, fmt.Errorf("list conversations of %s/%s: %w", q.TenantID, q.InboxID, err)
	}
	if len(page.Conversations) > limit {
		page.Conversations = page.Conversations[:limit]
		last := page.Conversations[limit-1]
		page.NextCursor = cursor{lastMessageAt: millis(last.LastMessageAt), id: last.ID}.encode()
	}
	return page, nil
}

// CountConversations implements inbox.Store.
func (s *Store) CountConversations(ctx context.Context, q inbox.ConversationQuery) (int, error) {
	where, args, err := conversationFilter(q)
	if err != nil {
		return 0, fmt.Errorf("count conversations: %w", err)
	}
	var n int
	if err := s.reads.QueryRowContext(ctx,
		`SELECT count(*) FROM conversations WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count conversations of %s/%s: %w", q.TenantID, q.InboxID, err)
	}
	return n, nil
}

// conversationFilter turns the filters of q (not Limit and Cursor) into a
// WHERE clause and its arguments.
func conversationFilter(q inbox.ConversationQuery) (string, []any, error) {
	if q.TenantID == "" || q.InboxID == "" {
		return "", nil, invalid("a conversation query needs a tenant and an inbox")
	}
	where := `tenant_id = ? AND inbox_id = ?`
	args := []any{q.TenantID, q.InboxID}

	var statuses []string
	for _, st := range q.Statuses {
		if !slices.Contains(inbox.Statuses, st) {
			return "", nil, invalid("unknown status %q", st)
		}
		if !slices.Contains(statuses, string(st)) {
			statuses = append(statuses, string(st))
		}
	}
	// Listing every status is no filter; leaving it out lets SQLite walk
	// the inbox index in order.
	if len(statuses) > 0 && len(statuses) < len(inbox.Statuses) {
		where += ` AND status IN (?` + strings.Repeat(`, ?`, len(statuses)-1) + `)`
		for _, st := range statuses {
			args = append(args, st)
		}
	}

	switch q.Assignee {
	case "":
	case inbox.Unassigned:
		where += ` AND assignee = ''`
	default:
		where += ` AND assignee = ?`
		args = append(args, q.Assignee)
	}
	return where, args, nil
}

// listDueQuery walks the partial index conversations_due in order.
const listDueQuery = `SELECT ` + conversationColumns + ` FROM conversations
	WHERE due_at > 0 AND due_at <= ? ORDER BY due_at, tenant_id, id LIMIT ?`

// ListDue implements inbox.Store; limit ≤ 0 reads 20 conversations.
func (s *Store) ListDue(ctx context.Context, t time.Time, limit int) ([]inbox.Conversation, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := s.reads.QueryContext(ctx, listDueQuery, millis(t), limit)
	if err != nil {
		return nil, fmt.Errorf("list conversations due by %v: %w", t, err)
	}
	defer rows.Close()
	var out []inbox.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("list conversations due by %v: %w", t, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list conversations due by %v: %w", t, err)
	}
	return out, nil
}
