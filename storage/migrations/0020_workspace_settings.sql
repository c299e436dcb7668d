-- A workspace (a Slack team, a Discord server) that set its own rules: who approves and edits,
-- how many approvals publish, whether authors may approve their own, its daily budget (NULL:
-- the install's DAILY_BUDGET_USD). Without a row the
-- install's .env applies. `workspace` is `slack:T…` or `discord:<guild id>`; a plan records
-- the workspace it was proposed in, so its drafts are judged by that workspace's rules.
CREATE TABLE workspace_settings (
    workspace            TEXT PRIMARY KEY,
    approvers            TEXT NOT NULL DEFAULT '',
    editors              TEXT NOT NULL DEFAULT '',
    approvals_required   INTEGER NOT NULL DEFAULT 1,
    allow_self_approval  INTEGER NOT NULL DEFAULT 0,
    daily_budget_usd     REAL,
    updated_by           TEXT NOT NULL,
    updated_at           REAL NOT NULL
);
ALTER TABLE plans ADD COLUMN workspace TEXT;
-- What each step spent, and each open reservation holds, is the workspace's: its budget and
-- its /costs count them (NULL: the install's own, as before workspaces).
ALTER TABLE steps ADD COLUMN workspace TEXT;
ALTER TABLE reservations ADD COLUMN workspace TEXT;
