-- 0003: tenant admins, how Postfach reaches a mailbox, and inboxes that can
-- be deleted while their conversations stay.

-- JSON array of lower-case addresses, in the order given.
ALTER TABLE tenants ADD COLUMN admins TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(admins));

-- The label changes Postfach expected to see echoed (0002) are gone: the
-- syncer reads a message's labels instead. access is '', 'delegation',
-- 'oauth' or 'dev'; sealed_token the encrypted refresh token of an 'oauth'
-- mailbox, opaque bytes ('' when none).
ALTER TABLE mailboxes DROP COLUMN expected;
ALTER TABLE mailboxes ADD COLUMN access       TEXT NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN sealed_token BLOB NOT NULL DEFAULT x'';
ALTER TABLE mailboxes ADD COLUMN connected_by TEXT NOT NULL DEFAULT '';

-- A deleted inbox's conversations stay stored, so conversations lose their
-- foreign key to inboxes. SQLite cannot drop a constraint: the table is
-- rebuilt. It is the parent of message_ids, notes and activity, whose
-- foreign keys name it: the rows are copied out, the table is dropped and
-- created again under its own name and the rows are copied back, which
-- leaves the children's constraints satisfied at commit (they are deferred
-- until then; foreign_keys cannot be turned off inside the migration's
-- transaction).
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE conversations_0003 AS SELECT * FROM main.conversations;
DROP TABLE main.conversations;

CREATE TABLE main.conversations (
	tenant_id         TEXT    NOT NULL,
	id                TEXT    NOT NULL,
	inbox_id          TEXT    NOT NULL, -- the inbox may have been deleted since
	root_message_id   TEXT    NOT NULL,
	subject           TEXT    NOT NULL,
	customer          TEXT    NOT NULL,
	customer_name     TEXT    NOT NULL,
	status            TEXT    NOT NULL,
	assignee          TEXT    NOT NULL, -- '' = unassigned
	-- JSON array of strings, in the order given.
	tags              TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
	created_at        INTEGER NOT NULL,
	last_message_at   INTEGER NOT NULL,
	-- -62135596800000 is the zero time.Time in Unix milliseconds: none yet.
	first_response_at INTEGER NOT NULL DEFAULT -62135596800000,
	version           INTEGER NOT NULL CHECK (version >= 1),
	updated_at        INTEGER NOT NULL,
	updated_by        TEXT    NOT NULL,
	PRIMARY KEY (tenant_id, id)
) STRICT;

INSERT INTO main.conversations (tenant_id, id, inbox_id, root_message_id, subject, customer,
	customer_name, status, assignee, tags, created_at, last_message_at, first_response_at,
	version, updated_at, updated_by)
SELECT tenant_id, id, inbox_id, root_message_id, subject, customer,
	customer_name, status, assignee, tags, created_at, last_message_at, first_response_at,
	version, updated_at, updated_by
FROM temp.conversations_0003;

DROP TABLE temp.conversations_0003;

-- The indexes of 0001, dropped with the table.
CREATE INDEX conversations_by_inbox
	ON conversations (tenant_id, inbox_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_by_status
	ON conversations (tenant_id, inbox_id, status, last_message_at DESC, id DESC);
CREATE INDEX conversations_by_assignee
	ON conversations (tenant_id, inbox_id, assignee, status, last_message_at DESC, id DESC);
