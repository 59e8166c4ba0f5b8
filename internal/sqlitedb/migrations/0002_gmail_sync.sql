-- 0002: Gmail push sync. Inbox settings, the first response time, the
-- Message-ID index keyed per inbox, thread links and mailboxes.

-- Inbox settings. Inboxes of 0001 predate settings; they get the settings
-- of a new inbox (inbox.DefaultInboxSettings).
ALTER TABLE inboxes ADD COLUMN reply_status TEXT NOT NULL DEFAULT '';
ALTER TABLE inboxes ADD COLUMN label_prefix TEXT NOT NULL DEFAULT '';
UPDATE inboxes SET reply_status = 'pending', label_prefix = 'Postfach';

-- -62135596800000 is the zero time.Time in Unix milliseconds: none yet.
ALTER TABLE conversations ADD COLUMN first_response_at INTEGER NOT NULL DEFAULT -62135596800000;

-- The Message-ID index is per inbox: the same mail sent to two shared
-- addresses is a conversation in each. The key puts message_id before
-- inbox_id, so that one search of the key serves both the lookup across the
-- tenant's inboxes (in inbox order) and the lookup within one inbox.
CREATE TABLE message_ids_v2 (
	tenant_id       TEXT NOT NULL,
	message_id      TEXT NOT NULL,
	inbox_id        TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	PRIMARY KEY (tenant_id, message_id, inbox_id),
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
) STRICT, WITHOUT ROWID;

INSERT INTO message_ids_v2 (tenant_id, message_id, inbox_id, conversation_id)
SELECT m.tenant_id, m.message_id, c.inbox_id, m.conversation_id
FROM message_ids m
JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id;

DROP TABLE message_ids;
ALTER TABLE message_ids_v2 RENAME TO message_ids;

-- Mailboxes are keyed by address alone: a Gmail push names nothing else.
-- History ids are uint64 stored bit for bit in a signed INTEGER (values
-- from 2^63 read back negative in SQL; no query compares them). Labels is a
-- JSON object {name: label id}; expected a JSON array of
-- {"thread","label","add","until"} (until in Unix milliseconds), in order.
-- Zero times are stored as the zero time's milliseconds, which sort first.
CREATE TABLE mailboxes (
	address             TEXT    NOT NULL PRIMARY KEY,
	tenant_id           TEXT    NOT NULL REFERENCES tenants (domain),
	kind                TEXT    NOT NULL,
	history_id          INTEGER NOT NULL,
	notified_history_id INTEGER NOT NULL,
	watch_expiration    INTEGER NOT NULL,
	labels              TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),
	expected            TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(expected)),
	lease_holder        TEXT    NOT NULL,
	lease_until         INTEGER NOT NULL,
	last_sync_at        INTEGER NOT NULL,
	last_error          TEXT    NOT NULL,
	error_count         INTEGER NOT NULL,
	created_at          INTEGER NOT NULL
) STRICT;

-- ListMailboxes; ListMailboxesWatchExpiringBefore and
-- ListMailboxesSyncedBefore walk these in order and stop after limit rows.
CREATE INDEX mailboxes_by_tenant ON mailboxes (tenant_id, address);
CREATE INDEX mailboxes_by_watch ON mailboxes (watch_expiration, address);
CREATE INDEX mailboxes_by_sync ON mailboxes (last_sync_at, address);

-- A conversation's Gmail threads, one row per mailbox and thread. No foreign
-- keys: the contract lets a link name a mailbox or conversation the store
-- does not check; DeleteMailbox removes a mailbox's links.
CREATE TABLE thread_links (
	tenant_id       TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	mailbox         TEXT NOT NULL,
	thread_id       TEXT NOT NULL,
	PRIMARY KEY (tenant_id, conversation_id, mailbox, thread_id)
) STRICT, WITHOUT ROWID;

-- FindThreadLinks (in conversation order) and DeleteMailbox.
CREATE INDEX thread_links_by_thread
	ON thread_links (mailbox, thread_id, conversation_id, tenant_id);
