-- Plans are revised, never overwritten: one row per plan, one per revision.
CREATE TABLE plans (
    id            INTEGER PRIMARY KEY,
    persona       TEXT NOT NULL,
    pillar        TEXT NOT NULL,
    idea          TEXT NOT NULL,
    proposer      TEXT NOT NULL,
    platform      TEXT NOT NULL,
    channel_id    TEXT NOT NULL,
    current_rev   INTEGER NOT NULL DEFAULT 1,
    created_at    REAL NOT NULL
);

CREATE TABLE plan_revisions (
    plan_id          INTEGER NOT NULL REFERENCES plans(id),
    rev              INTEGER NOT NULL,
    angle            TEXT NOT NULL,
    rationale        TEXT NOT NULL,
    special_message  TEXT NOT NULL,
    spec_json        TEXT NOT NULL,
    closest_post_id  INTEGER,
    note             TEXT,
    author           TEXT NOT NULL,
    created_at       REAL NOT NULL,
    PRIMARY KEY (plan_id, rev)
);

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    plan_id       INTEGER NOT NULL REFERENCES plans(id),
    plan_rev      INTEGER NOT NULL,
    status        TEXT NOT NULL,          -- queued, running, done, failed
    platform      TEXT NOT NULL,
    channel_id    TEXT NOT NULL,
    started_by    TEXT NOT NULL,
    reserved_usd  REAL NOT NULL DEFAULT 0,
    error         TEXT,
    created_at    REAL NOT NULL,
    finished_at   REAL
);
CREATE INDEX runs_status ON runs(status);

CREATE TABLE posts (
    id                 INTEGER PRIMARY KEY,
    run_id             INTEGER NOT NULL REFERENCES runs(id),
    plan_id            INTEGER NOT NULL REFERENCES plans(id),
    plan_rev           INTEGER NOT NULL,
    item_index         INTEGER NOT NULL,
    persona            TEXT NOT NULL,
    pillar             TEXT NOT NULL,
    content_format     TEXT NOT NULL,
    rev                INTEGER NOT NULL DEFAULT 1,
    status             TEXT NOT NULL,     -- drafting, awaiting_approval, approved, published, rejected, failed
    status_changed_at  REAL NOT NULL,
    headline           TEXT NOT NULL DEFAULT '',
    body               TEXT NOT NULL DEFAULT '',
    caption            TEXT NOT NULL DEFAULT '',
    video_script       TEXT NOT NULL DEFAULT '',
    error              TEXT,
    created_at         REAL NOT NULL,
    UNIQUE (run_id, item_index)
);
CREATE INDEX posts_persona_pillar ON posts(persona, pillar, created_at);
CREATE INDEX posts_status ON posts(status, created_at);

CREATE TABLE post_status_history (
    post_id  INTEGER NOT NULL REFERENCES posts(id),
    status   TEXT NOT NULL,
    at       REAL NOT NULL,
    by_user  TEXT
);
CREATE INDEX post_status_history_post ON post_status_history(post_id);

-- One row per pipeline step. Plan steps have plan_id and no post; item steps have post_id and
-- the post revision they belong to; run steps (none yet) would have only run_id.
CREATE TABLE steps (
    id           INTEGER PRIMARY KEY,
    plan_id      INTEGER,
    plan_rev     INTEGER,
    run_id       INTEGER,
    post_id      INTEGER,
    post_rev     INTEGER,
    position     INTEGER NOT NULL DEFAULT 0,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL,          -- queued, running, done, failed, skipped
    provider     TEXT,
    model        TEXT,
    artifact     TEXT,
    cost_usd     REAL,
    cost_known   INTEGER NOT NULL DEFAULT 1,
    latency_s    REAL,
    started_at   REAL,
    ended_at     REAL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    input_json   TEXT,                   -- what a redo was asked for (a regeneration note)
    handle_json  TEXT,                   -- a provider request in flight (fal request id and URLs)
    output_json  TEXT
);
CREATE INDEX steps_post ON steps(post_id, post_rev, position);
CREATE INDEX steps_run ON steps(run_id);
CREATE INDEX steps_day ON steps(ended_at);

-- Every chat message the bot knows: what it points at and which revision.
CREATE TABLE messages (
    platform    TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,            -- plan_card, draft, progress
    plan_id     INTEGER,
    post_id     INTEGER,
    run_id      INTEGER,
    rev         INTEGER,
    created_at  REAL NOT NULL,
    PRIMARY KEY (platform, channel_id, message_id)
);
CREATE INDEX messages_post ON messages(post_id, kind);
CREATE INDEX messages_plan ON messages(plan_id, kind);
CREATE INDEX messages_run ON messages(run_id, kind);

-- Messages the bot must post exactly once (draft cards, progress): the key is reserved first,
-- the platform id recorded after; a crash in between is settled by the adapter's lookup.
CREATE TABLE deliveries (
    key         TEXT PRIMARY KEY,
    platform    TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    message_id  TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    created_at  REAL NOT NULL
);

-- Reaction history: approval state is recomputed from it, so a repeated event changes nothing.
CREATE TABLE reactions (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER,
    plan_id     INTEGER,
    rev         INTEGER NOT NULL,
    user_id     TEXT NOT NULL,
    action      TEXT NOT NULL,            -- approve, reject, regenerate
    added       INTEGER NOT NULL,
    counted     INTEGER NOT NULL,         -- 0 when the user may not approve
    at          REAL NOT NULL
);
CREATE INDEX reactions_post ON reactions(post_id, rev);

CREATE TABLE processed_events (
    platform  TEXT NOT NULL,
    key       TEXT NOT NULL,
    at        REAL NOT NULL,
    PRIMARY KEY (platform, key)
);

-- Conversation turns (user and bot) and the posts bot turns referenced.
CREATE TABLE turns (
    id          INTEGER PRIMARY KEY,
    platform    TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    thread_id   TEXT,
    message_id  TEXT,
    role        TEXT NOT NULL,            -- user, bot
    author      TEXT NOT NULL,
    text        TEXT NOT NULL,
    plan_id     INTEGER,
    created_at  REAL NOT NULL
);

CREATE TABLE chat_references (
    turn_id  INTEGER NOT NULL REFERENCES turns(id),
    post_id  INTEGER NOT NULL,
    how      TEXT NOT NULL,               -- named, refined, answered, closest
    PRIMARY KEY (turn_id, post_id)
);
CREATE INDEX chat_references_post ON chat_references(post_id);

CREATE TABLE publications (
    post_id          INTEGER PRIMARY KEY,
    idempotency_key  TEXT NOT NULL,
    target           TEXT NOT NULL,
    location         TEXT,
    published_at     REAL
);

-- The console's own channel: its message ids survive a restart like a platform's would.
CREATE TABLE console_messages (
    id               INTEGER PRIMARY KEY,
    thread_id        TEXT,
    idempotency_key  TEXT UNIQUE,
    text             TEXT NOT NULL,
    created_at       REAL NOT NULL
);

CREATE VIRTUAL TABLE post_search USING fts5(
    body, caption, plan_text, tokenize='porter unicode61'
);
