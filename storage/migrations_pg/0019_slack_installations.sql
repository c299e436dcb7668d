-- Slack workspaces that installed draftroom through OAuth, one row each, and the OAuth states
-- handed out by /slack/install, each consumed once. Tokens are sealed (storage/sealing.py):
-- the *_sealed columns hold ciphertext. An org-wide install has team_id ''; a workspace
-- outside an Enterprise Grid has enterprise_id '', so the key is never NULL.
CREATE TABLE slack_installations (
    enterprise_id           TEXT NOT NULL DEFAULT '',
    team_id                 TEXT NOT NULL DEFAULT '',
    enterprise_name         TEXT,
    enterprise_url          TEXT,
    team_name               TEXT,
    app_id                  TEXT,
    bot_user_id             TEXT,
    bot_id                  TEXT,
    bot_scopes              TEXT NOT NULL DEFAULT '',
    bot_token_sealed        TEXT NOT NULL,
    bot_refresh_sealed      TEXT,
    bot_token_expires_at    BIGINT,
    installer_user_id       TEXT,
    installed_at            DOUBLE PRECISION NOT NULL,
    is_enterprise_install   BIGINT NOT NULL DEFAULT 0,
    token_type              TEXT,
    PRIMARY KEY (enterprise_id, team_id)
);
CREATE TABLE slack_oauth_states (
    state       TEXT PRIMARY KEY,
    expires_at  DOUBLE PRECISION NOT NULL
);
