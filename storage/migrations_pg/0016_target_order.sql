-- A persona's destinations are published and shown in the order its file lists them.
ALTER TABLE publication_targets ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
