-- A post's publish time (Unix seconds, UTC) and who set it: kept in the row, so a restart
-- loses no schedule, and checked by the conditional update that claims a post for publishing.
ALTER TABLE posts ADD COLUMN publish_at REAL;
ALTER TABLE posts ADD COLUMN scheduled_by TEXT;
-- `/posts scheduled` (a channel's, soonest first) and the next-free-slot look-up (a persona's
-- times near a slot).
CREATE INDEX posts_place_publish_at ON posts(platform, channel_id, publish_at)
    WHERE publish_at IS NOT NULL;
CREATE INDEX posts_persona_publish_at ON posts(persona, publish_at) WHERE publish_at IS NOT NULL;
-- The sweeper expires drafts waiting for approval since before a cut-off.
CREATE INDEX posts_status_changed ON posts(status, status_changed_at);

-- A draft that expired, and whether its card has been edited to say so: the sweeper edits the
-- cards of rows without `card_edited_at`, so a crash between the two still edits it once.
CREATE TABLE post_expiries (
    post_id         INTEGER NOT NULL REFERENCES posts(id),
    rev             INTEGER NOT NULL,
    expired_at      REAL NOT NULL,
    card_edited_at  REAL,
    PRIMARY KEY (post_id, rev)
);
CREATE INDEX post_expiries_unedited ON post_expiries(post_id) WHERE card_edited_at IS NULL;
