-- 0004: the kind of a mailbox's last failure (inbox.MailboxProblem), next
-- to its text in last_error; '' when healthy. A failure recorded before
-- kinds existed is 'other' until the next sync records it again.
ALTER TABLE mailboxes ADD COLUMN problem TEXT NOT NULL DEFAULT '';
UPDATE mailboxes SET problem = 'other' WHERE last_error <> '';
