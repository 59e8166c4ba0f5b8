-- 0012: the workflow (issue 13). An inbox's rules, auto-assignment and
-- SLA policy (inbox.Workflow) and a conversation's workflow state
-- (inbox.Flow) are JSON values; due_at (Unix ms, 0 = never) is the next
-- moment the sweep must look at a conversation, found through the partial
-- index conversations_due.
ALTER TABLE inboxes ADD COLUMN workflow TEXT NOT NULL DEFAULT '{}';
ALTER TABLE conversations ADD COLUMN flow TEXT NOT NULL DEFAULT '{}';
ALTER TABLE conversations ADD COLUMN due_at INTEGER NOT NULL DEFAULT 0;

CREATE INDEX conversations_due ON conversations (due_at, tenant_id, id) WHERE due_at > 0;
