-- The personas a workspace writes for: handles of the install's personas file, comma-separated,
-- the first its default. Without a row a workspace may use every persona of the file, with the
-- file's default. Kept apart from workspace_settings (who approves, budget) because each has a
-- form of its own and saving one leaves the other as it was.
CREATE TABLE workspace_personas (
    workspace   TEXT PRIMARY KEY,
    personas    TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL
);
