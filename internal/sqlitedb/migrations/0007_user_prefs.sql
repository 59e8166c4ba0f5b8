-- 0006: each user's own preferences in a tenant (inbox.UserPrefs), keyed by
-- tenant and address: the same address under another tenant is another
-- row. language is '' when the user follows Gmail's locale.
CREATE TABLE user_prefs (
	tenant_id  TEXT    NOT NULL REFERENCES tenants (domain),
	email      TEXT    NOT NULL,
	language   TEXT    NOT NULL DEFAULT '',
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, email)
) STRICT, WITHOUT ROWID;
