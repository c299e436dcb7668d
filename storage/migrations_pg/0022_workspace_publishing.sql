-- What a workspace publishes and where its drafts are approved, each set by a form of its own:
-- `personas`, handles of the install's personas file, comma-separated, the first its default
-- (NULL: every persona of the file, with the file's default); `approval_channel`, the channel
-- its drafts are posted in for approval, as the core names channels (NULL: where each plan was
-- proposed). Kept apart from workspace_settings (who approves, budget), whose row replaces the
-- install's rules whole: a workspace may choose personas and keep the install's approvers.
CREATE TABLE workspace_publishing (
    workspace         TEXT PRIMARY KEY,
    personas          TEXT,
    approval_channel  TEXT,
    updated_by        TEXT NOT NULL,
    updated_at        DOUBLE PRECISION NOT NULL
);
