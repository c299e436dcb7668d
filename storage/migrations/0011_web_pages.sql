-- Every revision of a post's text, so its page can show what changed between revisions. The
-- posts row keeps the current one; set_content writes both.
CREATE TABLE post_revisions (
    post_id       INTEGER NOT NULL REFERENCES posts(id),
    rev           INTEGER NOT NULL,
    headline      TEXT NOT NULL,
    body          TEXT NOT NULL,
    caption       TEXT NOT NULL,
    video_script  TEXT NOT NULL,
    created_at    REAL NOT NULL,
    PRIMARY KEY (post_id, rev)
);
INSERT INTO post_revisions (post_id, rev, headline, body, caption, video_script, created_at)
    SELECT id, rev, headline, body, caption, video_script, status_changed_at
    FROM posts WHERE body != '';

-- A shared link is a row: the signed token in its URL names the row, the row says what it opens
-- (a post, plan or run, or a channel's library and costs), in which channel's scope, who made
-- it, until when, and whether it was revoked.
CREATE TABLE shares (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,          -- post, plan, run, library
    target      INTEGER,                -- the post, plan or run id; NULL for the library
    platform    TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    made_by     TEXT NOT NULL,
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,
    revoked_at  REAL,
    revoked_by  TEXT
);
CREATE INDEX shares_reuse ON shares(kind, target, platform, channel_id, expires_at);
CREATE INDEX shares_place ON shares(platform, channel_id, id);

-- Keys the process makes once and keeps (the link-signing key when WEB_SECRET_KEY is unset).
CREATE TABLE app_secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  REAL NOT NULL
);

-- Where a person opens a bot message in the platform's client (a permalink, a jump URL).
ALTER TABLE turns ADD COLUMN url TEXT;

-- The library's filters, newest first within a channel.
CREATE INDEX posts_place_persona_id ON posts(platform, channel_id, persona, id);
CREATE INDEX posts_place_pillar_id ON posts(platform, channel_id, pillar, id);
CREATE INDEX posts_place_created ON posts(platform, channel_id, created_at);
