-- 0014: a full resync's progress (inbox.Resync), so that one interrupted
-- by a crash carries on where it stopped instead of starting over.
ALTER TABLE mailboxes ADD COLUMN resync_start INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN resync_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN resync_after TEXT NOT NULL DEFAULT '';
