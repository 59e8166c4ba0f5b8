-- 0006: the language an inbox's Gmail labels are named in
-- (inbox.InboxSettings.Language); '' is English, as every inbox stored
-- before the setting existed was labelled.
ALTER TABLE inboxes ADD COLUMN language TEXT NOT NULL DEFAULT '';
