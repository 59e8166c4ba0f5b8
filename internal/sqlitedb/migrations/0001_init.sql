-- 0001: tenants, inboxes, conversations, the Message-ID index, notes and the
-- activity log. Every table below tenants is keyed by tenant_id first; times
-- are INTEGER Unix milliseconds (UTC); lists that are only ever read whole
-- with their parent (inbox members, conversation tags) are JSON arrays.

CREATE TABLE tenants (
	domain     TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE inboxes (
	tenant_id  TEXT    NOT NULL REFERENCES tenants (domain),
	id         TEXT    NOT NULL,
	address    TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	-- JSON array of {"email","name","role"}, in the order given.
	members    TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(members)),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, address)
) STRICT, WITHOUT ROWID;

CREATE TABLE conversations (
	tenant_id       TEXT    NOT NULL,
	id              TEXT    NOT NULL,
	inbox_id        TEXT    NOT NULL,
	root_message_id TEXT    NOT NULL,
	subject         TEXT    NOT NULL,
	customer        TEXT    NOT NULL,
	customer_name   TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	assignee        TEXT    NOT NULL, -- '' = unassigned
	-- JSON array of strings, in the order given.
	tags            TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
	created_at      INTEGER NOT NULL,
	last_message_at INTEGER NOT NULL,
	version         INTEGER NOT NULL CHECK (version >= 1),
	updated_at      INTEGER NOT NULL,
	updated_by      TEXT    NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, inbox_id) REFERENCES inboxes (tenant_id, id)
) STRICT;

-- ListConversations walks one of these in order and stops after a page;
-- CountConversations counts within them without touching the table.
CREATE INDEX conversations_by_inbox
	ON conversations (tenant_id, inbox_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_by_status
	ON conversations (tenant_id, inbox_id, status, last_message_at DESC, id DESC);
CREATE INDEX conversations_by_assignee
	ON conversations (tenant_id, inbox_id, assignee, status, last_message_at DESC, id DESC);

-- The Message-ID index: every RFC 5322 Message-ID seen in a conversation.
CREATE TABLE message_ids (
	tenant_id       TEXT NOT NULL,
	message_id      TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	PRIMARY KEY (tenant_id, message_id),
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE notes (
	tenant_id       TEXT    NOT NULL,
	conversation_id TEXT    NOT NULL,
	id              TEXT    NOT NULL,
	author          TEXT    NOT NULL,
	body            TEXT    NOT NULL,
	created_at      INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, conversation_id, id),
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
) STRICT;

CREATE INDEX notes_by_time ON notes (tenant_id, conversation_id, created_at DESC, id DESC);

CREATE TABLE activity (
	tenant_id       TEXT    NOT NULL,
	conversation_id TEXT    NOT NULL,
	id              TEXT    NOT NULL,
	version         INTEGER NOT NULL,
	actor           TEXT    NOT NULL,
	kind            TEXT    NOT NULL,
	from_value      TEXT    NOT NULL,
	to_value        TEXT    NOT NULL,
	at              INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, conversation_id, id),
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
) STRICT;

CREATE INDEX activity_by_time ON activity (tenant_id, conversation_id, at DESC, id DESC);
