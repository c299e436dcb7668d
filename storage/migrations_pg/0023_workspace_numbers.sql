-- Plans and posts are numbered within their workspace: two workspaces each have a plan 1, and
-- `/run 1` in one never reaches the other's. `id` stays the row's key (links, pages, message
-- links); `number` is what people see and type, unique within the plan's workspace (NULL
-- workspace: the install's own, as the console's). A post takes its plan's workspace.
--
-- workspace_numbers holds each workspace's last number of each kind; the upsert that takes the
-- next one locks that row until its transaction ends, so two proposals at once never share a
-- number. Rows written before this migration keep their id as their number, and the '*' row
-- remembers the highest: every workspace numbers on from past it, so no old number is reused
-- in a channel that already had it. A new database has no '*' rows: its workspaces count
-- from 1.
ALTER TABLE plans ADD COLUMN number BIGINT;
ALTER TABLE posts ADD COLUMN number BIGINT;
UPDATE plans SET number = id;
UPDATE posts SET number = id;
CREATE TABLE workspace_numbers (
    workspace  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    last       BIGINT NOT NULL,
    PRIMARY KEY (workspace, kind)
);
INSERT INTO workspace_numbers (workspace, kind, last)
    SELECT '*', 'plan', MAX(id) FROM plans HAVING COUNT(*) > 0;
INSERT INTO workspace_numbers (workspace, kind, last)
    SELECT '*', 'post', MAX(id) FROM posts HAVING COUNT(*) > 0;
CREATE INDEX plans_place_number ON plans(platform, channel_id, number);
CREATE INDEX posts_place_number ON posts(platform, channel_id, number);
