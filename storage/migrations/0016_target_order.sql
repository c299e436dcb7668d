-- A persona's destinations are published and shown in the order its file lists them; the row
-- order SQLite kept them in is no column PostgreSQL has.
ALTER TABLE publication_targets ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
UPDATE publication_targets SET position = rowid;
