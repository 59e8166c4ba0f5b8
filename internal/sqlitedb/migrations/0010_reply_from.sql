-- 0010: the address an inbox's reply drafts come from
-- (inbox.InboxSettings.ReplyFrom: 'shared' or 'own'); '' is the member's
-- own address, as every inbox stored before the setting existed replied.
ALTER TABLE inboxes ADD COLUMN reply_from TEXT NOT NULL DEFAULT '';
