-- A post's place in the library index is one term, the platform and channel id run together
-- with only letters and digits (storage.fulltext.place_token). Posts of a Slack channel named
-- with its workspace (`T…/C…`, OAuth mode) were indexed with the slash kept, which the
-- tokenizer splits into two terms, so no search found them: their terms are joined again.
UPDATE post_search SET place = replace(place, '/', '') WHERE place LIKE '%/%';
