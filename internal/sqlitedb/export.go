package sqlitedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/postfach/postfach/internal/inbox"
)

// ExportTenant implements inbox.Store: one read transaction, so the
// export is one snapshot of the tenant; one ordered query per table.
func (s *Store) ExportTenant(ctx context.Context, domain string, opts inbox.ExportOptions, fn func(inbox.Record) error) error {
	var fnErr error
	emit := func(r inbox.Record) error {
		if err := fn(r); err != nil {
			fnErr = err
			return err
		}
		return nil
	}
	err := s.readTx(ctx, func(tx *stx) error { return exportTenant(ctx, tx, domain, opts, emit) })
	if fnErr != nil && errors.Is(err, fnErr) {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("export tenant %s: %w", domain, err)
	}
	return nil
}

// eachRow runs query and calls scan for every row.
func eachRow(ctx context.Context, tx *stx, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func exportTenant(ctx context.Context, tx *stx, domain string, opts inbox.ExportOptions, emit func(inbox.Record) error) error {
	t, err := scanTenant(tx.QueryRowContext(ctx, getTenantQuery, domain), domain)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return inbox.ErrNotFound
	case err != nil:
		return fmt.Errorf("read tenant: %w", err)
	}
	if err := emit(inbox.Record{Kind: inbox.RecordTenant, Tenant: &t}); err != nil {
		return err
	}
	args := []any{domain}
	steps := []struct {
		what, query string
		scan        func(*sql.Rows) error
	}{
		{"inboxes", `SELECT ` + inboxColumns + ` FROM inboxes WHERE tenant_id = ? ORDER BY id`, func(rows *sql.Rows) error {
			ib, err := scanInbox(rows)
			if err != nil {
				return err
			}
			return emit(inbox.Record{Kind: inbox.RecordInbox, Inbox: &ib})
		}},
		{"templates", `SELECT ` + templateColumns + ` FROM templates WHERE tenant_id = ? ORDER BY inbox_id, id`, func(rows *sql.Rows) error {
			t, err := scanTemplate(rows)
			if err != nil {
				return err
			}
			return emit(inbox.Record{Kind: inbox.RecordTemplate, Template: &t})
		}},
		{"assignment state", `SELECT inbox_id, last, waiting FROM assign_state WHERE tenant_id = ? ORDER BY inbox_id`, func(rows *sql.Rows) error {
			a := inbox.AssignStateRecord{TenantID: domain}
			var waiting string
			if err := rows.Scan(&a.InboxID, &a.State.Last, &waiting); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(waiting), &a.State.Waiting); err != nil {
				return fmt.Errorf("decode assignment queue: %w", err)
			}
			if len(a.State.Waiting) == 0 {
				a.State.Waiting = nil
			}
			return emit(inbox.Record{Kind: inbox.RecordAssignState, AssignState: &a})
		}},
		{"preferences", `SELECT email, language, updated_at FROM user_prefs WHERE tenant_id = ? ORDER BY email`, func(rows *sql.Rows) error {
			p := inbox.UserPrefs{TenantID: domain}
			var updated int64
			if err := rows.Scan(&p.Email, &p.Language, &updated); err != nil {
				return err
			}
			p.UpdatedAt = fromMillis(updated)
			return emit(inbox.Record{Kind: inbox.RecordUserPrefs, UserPrefs: &p})
		}},
		{"mailboxes", `SELECT ` + mailboxColumns + ` FROM mailboxes WHERE tenant_id = ? ORDER BY address`, func(rows *sql.Rows) error {
			m, err := scanMailbox(rows)
			if err != nil {
				return err
			}
			m = inbox.PortableMailbox(m, opts)
			return emit(inbox.Record{Kind: inbox.RecordMailbox, Mailbox: &m})
		}},
	}
	for _, st := range steps {
		if err := eachRow(ctx, tx, st.query, args, st.scan); err != nil {
			return fmt.Errorf("export %s: %w", st.what, err)
		}
	}

	// The Message-ID index, by conversation: a few ids per conversation,
	// read whole before the conversations stream.
	mids := map[string][]string{}
	err = eachRow(ctx, tx, `SELECT conversation_id, message_id FROM message_ids WHERE tenant_id = ? ORDER BY conversation_id, message_id`, args,
		func(rows *sql.Rows) error {
			var conv, mid string
			if err := rows.Scan(&conv, &mid); err != nil {
				return err
			}
			mids[conv] = append(mids[conv], mid)
			return nil
		})
	if err != nil {
		return fmt.Errorf("export Message-IDs: %w", err)
	}
	steps = []struct {
		what, query string
		scan        func(*sql.Rows) error
	}{
		{"conversations", `SELECT ` + conversationColumns + ` FROM conversations WHERE tenant_id = ? ORDER BY id`, func(rows *sql.Rows) error {
			c, err := scanConversation(rows)
			if err != nil {
				return err
			}
			return emit(inbox.Record{Kind: inbox.RecordConversation, Conversation: &inbox.ConversationRecord{Conversation: c, MessageIDs: mids[c.ID]}})
		}},
		{"notes", `SELECT conversation_id, id, author, body, created_at, edited_at, mentions FROM notes WHERE tenant_id = ? ORDER BY conversation_id, id`, func(rows *sql.Rows) error {
			var conv string
			n, err := scanNote(prefixScanner{rows, &conv}, domain, "")
			if err != nil {
				return err
			}
			n.ConversationID = conv
			return emit(inbox.Record{Kind: inbox.RecordNote, Note: &n})
		}},
		{"activity", `SELECT conversation_id, id, version, actor, kind, from_value, to_value, at, via FROM activity WHERE tenant_id = ? ORDER BY conversation_id, id`, func(rows *sql.Rows) error {
			a := inbox.Activity{TenantID: domain}
			var at int64
			if err := rows.Scan(&a.ConversationID, &a.ID, &a.Version, &a.Actor, &a.Kind, &a.From, &a.To, &at, &a.Via); err != nil {
				return err
			}
			a.At = fromMillis(at)
			return emit(inbox.Record{Kind: inbox.RecordActivity, Activity: &a})
		}},
		{"thread links", `SELECT conversation_id, mailbox, thread_id FROM thread_links WHERE tenant_id = ? ORDER BY conversation_id, mailbox, thread_id`, func(rows *sql.Rows) error {
			l := inbox.ThreadLink{TenantID: domain}
			if err := rows.Scan(&l.ConversationID, &l.Mailbox, &l.ThreadID); err != nil {
				return err
			}
			return emit(inbox.Record{Kind: inbox.RecordThreadLink, ThreadLink: &l})
		}},
		{"mentions", `SELECT ` + mentionColumns + ` FROM mentions WHERE tenant_id = ? ORDER BY recipient, note_id`, func(rows *sql.Rows) error {
			m := inbox.Mention{TenantID: domain}
			var at, read int64
			if err := rows.Scan(&m.Recipient, &m.NoteID, &m.ConversationID, &m.InboxID, &m.Author, &m.Subject, &m.Excerpt, &at, &read); err != nil {
				return err
			}
			m.At, m.ReadAt = fromMillis(at), fromOptMillis(read)
			return emit(inbox.Record{Kind: inbox.RecordMention, Mention: &m})
		}},
	}
	for _, st := range steps {
		if err := eachRow(ctx, tx, st.query, args, st.scan); err != nil {
			return fmt.Errorf("export %s: %w", st.what, err)
		}
	}
	return nil
}

// upsert is an INSERT of columns into table that replaces the row with
// the same key (the columns of conflict) in place: no DELETE, so the
// rows that refer to it by foreign key stay valid.
func upsert(table, columns, conflict string) string {
	cols := strings.Split(columns, ",")
	keys := map[string]bool{}
	for _, k := range strings.Split(conflict, ",") {
		keys[strings.TrimSpace(k)] = true
	}
	var sets []string
	for _, c := range cols {
		c = strings.TrimSpace(c)
		if !keys[c] {
			sets = append(sets, c+" = excluded."+c)
		}
	}
	update := "DO NOTHING"
	if len(sets) > 0 {
		update = "DO UPDATE SET " + strings.Join(sets, ", ")
	}
	return `INSERT INTO ` + table + ` (` + columns + `) VALUES (` + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") +
		`) ON CONFLICT (` + conflict + `) ` + update
}

var (
	upsertTenant       = upsert("tenants", "domain, name, admins, created_at", "domain")
	upsertInbox        = upsert("inboxes", inboxColumns, "tenant_id, id")
	upsertTemplate     = upsert("templates", templateColumns, "tenant_id, inbox_id, id")
	upsertAssignState  = upsert("assign_state", "tenant_id, inbox_id, last, waiting", "tenant_id, inbox_id")
	upsertPrefs        = upsert("user_prefs", "tenant_id, email, language, updated_at", "tenant_id, email")
	upsertMailbox      = upsert("mailboxes", mailboxColumns, "address")
	upsertConversation = upsert("conversations", conversationColumns, "tenant_id, id")
	upsertMessageID    = upsert("message_ids", "tenant_id, message_id, inbox_id, conversation_id", "tenant_id, message_id, inbox_id")
	upsertNote         = upsert("notes", "tenant_id, conversation_id, id, author, body, created_at, edited_at, mentions", "tenant_id, conversation_id, id")
	upsertActivity     = upsert("activity", "tenant_id, conversation_id, id, version, actor, kind, from_value, to_value, at, via", "tenant_id, conversation_id, id")
	upsertThreadLink   = upsert("thread_links", "tenant_id, conversation_id, mailbox, thread_id", "tenant_id, conversation_id, mailbox, thread_id")
	upsertMention      = upsert("mentions", "tenant_id, recipient, note_id, "+mentionColumns[len("recipient, note_id, "):], "tenant_id, recipient, note_id")
)

// ImportRecords implements inbox.Store in one write transaction.
func (s *Store) ImportRecords(ctx context.Context, records []inbox.Record) error {
	if len(records) == 0 {
		return nil
	}
	tenant := records[0].TenantOf()
	for _, r := range records {
		if err := r.Validate(tenant); err != nil {
			return fmt.Errorf("import records of %s: %w", tenant, err)
		}
		if c := r.Conversation; c != nil && len(c.MessageIDKeys) > 0 {
			return fmt.Errorf("import conversation %s/%s: %w: its Message-ID index holds digests only (an export of Firestore); "+
				"SQLite keeps the Message-IDs themselves", tenant, c.ID, inbox.ErrInvalid)
		}
	}
	err := inTx(ctx, s.writes, func(tx *stx) error {
		for _, r := range records {
			if err := importRecord(ctx, tx, r); err != nil {
				return fmt.Errorf("%s record: %w", r.Kind, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import records of %s: %w", tenant, err)
	}
	return nil
}

func importRecord(ctx context.Context, tx *stx, r inbox.Record) error {
	exec := func(query string, args ...any) error {
		_, err := tx.ExecContext(ctx, query, args...)
		if isKeyTaken(err) {
			return fmt.Errorf("%w: %w", inbox.ErrAlreadyExists, err)
		}
		return err
	}
	switch r.Kind {
	case inbox.RecordTenant:
		t := r.Tenant
		admins, err := encodeAdmins(t.Admins)
		if err != nil {
			return err
		}
		return exec(upsertTenant, t.Domain, t.Name, admins, millis(t.CreatedAt))
	case inbox.RecordInbox:
		ib := r.Inbox
		members, err := encodeMembers(ib.Members)
		if err != nil {
			return err
		}
		workflow, err := inbox.EncodeJSON(ib.Settings.Workflow)
		if err != nil {
			return err
		}
		return exec(upsertInbox, ib.TenantID, ib.ID, ib.Address, ib.Name, members,
			string(ib.Settings.ReplyStatus), ib.Settings.LabelPrefix, millis(ib.CreatedAt), ib.Settings.Language, string(ib.Settings.ReplyFrom), workflow)
	case inbox.RecordTemplate:
		t := r.Template
		return exec(upsertTemplate, t.TenantID, t.InboxID, t.ID, t.Name, t.Body, boolInt(t.Locked), millis(t.CreatedAt), millis(t.UpdatedAt), t.UpdatedBy)
	case inbox.RecordAssignState:
		a := r.AssignState
		waiting := a.State.Waiting
		if waiting == nil {
			waiting = []string{}
		}
		b, err := json.Marshal(waiting)
		if err != nil {
			return err
		}
		return exec(upsertAssignState, a.TenantID, a.InboxID, a.State.Last, string(b))
	case inbox.RecordUserPrefs:
		p := r.UserPrefs
		return exec(upsertPrefs, p.TenantID, p.Email, p.Language, millis(p.UpdatedAt))
	case inbox.RecordMailbox:
		m := r.Mailbox
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT tenant_id FROM mailboxes WHERE address = ?`, m.Address).Scan(&owner)
		switch {
		case err == nil && owner != m.TenantID:
			return fmt.Errorf("mailbox %s is linked to another tenant: %w", m.Address, inbox.ErrAlreadyExists)
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		args, err := mailboxArgs(*m)
		if err != nil {
			return err
		}
		return exec(upsertMailbox, args...)
	case inbox.RecordConversation:
		c := r.Conversation.Conversation
		tags, flow, err := encodeRow(c)
		if err != nil {
			return err
		}
		if err := exec(upsertConversation, c.TenantID, c.ID, c.InboxID, c.RootMessageID, c.Subject, c.Customer,
			c.CustomerName, string(c.Status), c.Assignee, tags, millis(c.CreatedAt), millis(c.LastMessageAt), millis(c.FirstResponseAt),
			c.Version, millis(c.UpdatedAt), c.UpdatedBy, flow, optMillis(c.DueAt)); err != nil {
			return err
		}
		for _, mid := range r.Conversation.MessageIDs {
			if err := exec(upsertMessageID, c.TenantID, mid, c.InboxID, c.ID); err != nil {
				return fmt.Errorf("index Message-ID %s: %w", mid, err)
			}
		}
		return nil
	case inbox.RecordNote:
		n := r.Note
		return exec(upsertNote, n.TenantID, n.ConversationID, n.ID, n.Author, n.Body, millis(n.CreatedAt), optMillis(n.EditedAt), strings.Join(n.Mentions, " "))
	case inbox.RecordActivity:
		a := r.Activity
		return exec(upsertActivity, a.TenantID, a.ConversationID, a.ID, a.Version, a.Actor, string(a.Kind), a.From, a.To, millis(a.At), a.Via)
	case inbox.RecordThreadLink:
		l := r.ThreadLink
		return exec(upsertThreadLink, l.TenantID, l.ConversationID, l.Mailbox, l.ThreadID)
	case inbox.RecordMention:
		m := r.Mention
		return exec(upsertMention, m.TenantID, m.Recipient, m.NoteID, m.ConversationID, m.InboxID, m.Author, m.Subject, m.Excerpt, millis(m.At), optMillis(m.ReadAt))
	}
	return invalid("unknown record kind %q", r.Kind)
}

// tenantTables are the tables EraseTenant empties of a tenant, children
// before parents (foreign keys), with the column that names the tenant.
// TestEraseLeavesNoRow checks that it lists every table of the schema.
var tenantTables = []struct{ table, column string }{
	{"mentions", "tenant_id"},
	{"activity", "tenant_id"},
	{"notes", "tenant_id"},
	{"message_ids", "tenant_id"},
	{"thread_links", "tenant_id"},
	{"presence", "tenant_id"},
	{"templates", "tenant_id"},
	{"assign_state", "tenant_id"},
	{"inbox_counts", "tenant_id"},
	{"conversations", "tenant_id"},
	{"inboxes", "tenant_id"},
	{"user_prefs", "tenant_id"},
	{"mailboxes", "tenant_id"},
	{"tenants", "domain"},
}

// EraseTenant implements inbox.Store: one DELETE per table, in one write
// transaction.
func (s *Store) EraseTenant(ctx context.Context, domain string) error {
	err := inTx(ctx, s.writes, func(tx *stx) error {
		for _, t := range tenantTables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.table+` WHERE `+t.column+` = ?`, domain); err != nil {
				return fmt.Errorf("delete from %s: %w", t.table, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("erase tenant %s: %w", domain, err)
	}
	return nil
}
