-- The library index carries each post's channel, so a search matches and ranks only the posts of
-- the channel it is asked in (bm25 scores every match: across a whole install that grows with it).
-- `place` is one token, platform and channel id run together (`slackc0123`): a term, not a phrase.
CREATE VIRTUAL TABLE post_search_by_place USING fts5(
    body, caption, plan_text, place, tokenize='porter unicode61'
);
INSERT INTO post_search_by_place (rowid, body, caption, plan_text, place)
    SELECT s.rowid, s.body, s.caption, s.plan_text, p.platform || lower(p.channel_id)
    FROM post_search s JOIN posts p ON p.id = s.rowid;
DROP TABLE post_search;
ALTER TABLE post_search_by_place RENAME TO post_search;
