-- Which emoji each reaction was: an approval is one per person per revision, whatever alias,
-- withdrawn only when none of that person's approving emoji remain.
ALTER TABLE reactions ADD COLUMN emoji TEXT NOT NULL DEFAULT '';

-- A post belongs to the channel its plan was proposed in; it is read, run and searched there only.
ALTER TABLE posts ADD COLUMN platform TEXT NOT NULL DEFAULT '';
ALTER TABLE posts ADD COLUMN channel_id TEXT NOT NULL DEFAULT '';
UPDATE posts SET
    platform = (SELECT platform FROM plans WHERE plans.id = posts.plan_id),
    channel_id = (SELECT channel_id FROM plans WHERE plans.id = posts.plan_id);
CREATE INDEX posts_place_id ON posts(platform, channel_id, id);
CREATE INDEX posts_place_status_id ON posts(platform, channel_id, status, id);
CREATE INDEX plans_place_id ON plans(platform, channel_id, id);

-- Reactions that arrived while their message was still being posted (before it was linked):
-- applied when the link is recorded, so an early ✅ is never lost.
CREATE TABLE early_reactions (
    id          INTEGER PRIMARY KEY,
    platform    TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    emoji       TEXT NOT NULL,
    action      TEXT NOT NULL,
    added       INTEGER NOT NULL,
    at          REAL NOT NULL
);
CREATE INDEX early_reactions_message ON early_reactions(platform, channel_id, message_id);

-- The revision a publication carries: what is recorded as published is what was sent.
ALTER TABLE publications ADD COLUMN rev INTEGER;
