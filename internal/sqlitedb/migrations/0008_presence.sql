-- 0008: presence and reply claims (inbox.Presence), one row per
-- conversation. data is the record as JSON (it is only ever read and
-- written whole, by key); expires_at is Presence.ExpiresAt in ms: rows
-- past it are ignored by readers and deleted by later writes of the tenant.
CREATE TABLE presence (
	tenant_id       TEXT    NOT NULL,
	conversation_id TEXT    NOT NULL,
	data            TEXT    NOT NULL,
	expires_at      INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, conversation_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX presence_by_expiry ON presence (tenant_id, expires_at);
