-- 0013: rules and auto-assignment (issue 13). An activity entry names the
-- rule or policy that made it (via, '' for members' changes); assign_state
-- is an inbox's auto-assignment record (inbox.AssignState), written in the
-- same transaction as every decision.
ALTER TABLE activity ADD COLUMN via TEXT NOT NULL DEFAULT '';

CREATE TABLE assign_state (
    tenant_id TEXT NOT NULL,
    inbox_id  TEXT NOT NULL,
    last      TEXT NOT NULL DEFAULT '',
    waiting   TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant_id, inbox_id)
) WITHOUT ROWID;
