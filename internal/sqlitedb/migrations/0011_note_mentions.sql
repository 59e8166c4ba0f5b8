-- 0011: notes can be edited (edited_at, 0 = never) and name members
-- (mentions: the addresses, space-separated, sorted); each named member
-- has a row in mentions, keyed by tenant, recipient and note, read newest
-- first by mentions_by_time and, unread only, by mentions_unread (a
-- partial index: its size is the unread mentions, not all of them).
ALTER TABLE notes ADD COLUMN edited_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notes ADD COLUMN mentions TEXT NOT NULL DEFAULT '';

CREATE TABLE mentions (
	tenant_id       TEXT    NOT NULL,
	recipient       TEXT    NOT NULL,
	note_id         TEXT    NOT NULL,
	conversation_id TEXT    NOT NULL,
	inbox_id        TEXT    NOT NULL,
	author          TEXT    NOT NULL,
	subject         TEXT    NOT NULL,
	excerpt         TEXT    NOT NULL,
	at              INTEGER NOT NULL,
	read_at         INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, recipient, note_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX mentions_by_time ON mentions (tenant_id, recipient, at DESC, note_id DESC);
CREATE INDEX mentions_unread ON mentions (tenant_id, recipient, at DESC, note_id DESC) WHERE read_at = 0;
