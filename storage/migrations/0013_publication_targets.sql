-- One row per post revision and destination it is published to (bluesky, mastodon, x, webhook,
-- outbox): the row is the guard (a conditional update claims it), the idempotency key is fixed
-- when the row is made and sent on every retry, and the network's id and URL are kept once it
-- is live. `publications` stays the post's own record: published once every destination is
-- settled.
CREATE TABLE publication_targets (
    post_id          INTEGER NOT NULL REFERENCES posts(id),
    rev              INTEGER NOT NULL,
    destination      TEXT NOT NULL,          -- the kind: bluesky, mastodon, x, webhook, outbox
    name             TEXT NOT NULL,          -- shown: "bluesky @aiaaron.bsky.social"
    state            TEXT NOT NULL,          -- pending, publishing, published, failed
    idempotency_key  TEXT NOT NULL,
    remote_id        TEXT,
    url              TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    retry_at         REAL,
    updated_at       REAL NOT NULL,
    PRIMARY KEY (post_id, rev, destination)
);
CREATE INDEX publication_targets_due ON publication_targets(state, retry_at);
