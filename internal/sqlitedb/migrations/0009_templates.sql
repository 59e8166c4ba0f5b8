-- 0009: an inbox's templates (canned responses, inbox.Template), keyed by
-- tenant, inbox and id. No foreign key to inboxes: a deleted inbox's
-- templates stay, as its conversations do; CreateTemplate checks the
-- inbox exists. templates_by_name is ListTemplates' order.
CREATE TABLE templates (
	tenant_id  TEXT    NOT NULL,
	inbox_id   TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	locked     INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	updated_by TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (tenant_id, inbox_id, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX templates_by_name ON templates (tenant_id, inbox_id, name, id);
