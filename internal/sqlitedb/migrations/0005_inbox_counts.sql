-- 0005: the kept counts of each inbox (inbox.Counts, read by InboxCounts),
-- one row per bucket: 'open', 'pending', 'closed', 'unassigned' (open or
-- pending, nobody owns it) and 'assigned:<owner>' (open or pending, per
-- owner). Every write that creates a conversation or changes its status or
-- assignee adds its delta in the same transaction. Rows are keyed by the
-- inbox id, not tied to the inbox row: a deleted inbox's conversations keep
-- counting under its id, as CountConversations counts them. The
-- conversations stored before this migration are counted here.
CREATE TABLE inbox_counts (
	tenant_id TEXT    NOT NULL,
	inbox_id  TEXT    NOT NULL,
	bucket    TEXT    NOT NULL,
	n         INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, inbox_id, bucket)
) STRICT, WITHOUT ROWID;

INSERT INTO inbox_counts (tenant_id, inbox_id, bucket, n)
	SELECT tenant_id, inbox_id, status, count(*) FROM conversations
	GROUP BY tenant_id, inbox_id, status;

INSERT INTO inbox_counts (tenant_id, inbox_id, bucket, n)
	SELECT tenant_id, inbox_id,
		CASE assignee WHEN '' THEN 'unassigned' ELSE 'assigned:' || assignee END AS bucket,
		count(*)
	FROM conversations WHERE status IN ('open', 'pending')
	GROUP BY tenant_id, inbox_id, bucket;
