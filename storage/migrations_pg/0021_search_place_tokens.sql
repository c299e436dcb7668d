-- SQLite's library index kept a slash in the place terms of posts of workspace-named Slack
-- channels (`T…/C…`); PostgreSQL's was always written with storage.fulltext.place_token, so
-- nothing changes here. The number keeps both schemas at one version (copy-to-postgres).
SELECT 1;
