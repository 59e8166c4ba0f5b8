-- 0015: the expiry of the last "Connect mailbox" state spent to connect a
-- mailbox (inbox.Mailbox.ConsentStateExpires), which makes a state
-- single-use. Unix microseconds, a state's precision (the other times are
-- milliseconds); 0 for none, as for every mailbox linked before.
ALTER TABLE mailboxes ADD COLUMN consent_state_expires INTEGER NOT NULL DEFAULT 0;
