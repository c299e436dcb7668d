-- The console's "platform" is its own output: a message is stored, printed, then marked printed,
-- so one stored but never printed (a kill in between) is printed when it is looked for again.
ALTER TABLE console_messages ADD COLUMN shown TEXT;
ALTER TABLE console_messages ADD COLUMN printed INTEGER NOT NULL DEFAULT 1;
