-- A webhook URL is a credential (a secret path, a ?token=), but earlier versions stored it whole
-- as where a post went and said it in the "published" reply, a turn the post card lists under
-- Chat References. Keep its host alone there, as publishing does now.
CREATE TEMP TABLE webhook_urls AS
SELECT DISTINCT location AS url, substr(location, instr(location, '://') + 3) AS rest
FROM publications
WHERE target = 'webhook' AND instr(location, '://') > 0;

-- rest → authority (up to the first / ? or #) → host (after any user:password@, before :port).
UPDATE webhook_urls SET rest = substr(rest, 1, instr(rest, '/') - 1) WHERE instr(rest, '/') > 0;
UPDATE webhook_urls SET rest = substr(rest, 1, instr(rest, '?') - 1) WHERE instr(rest, '?') > 0;
UPDATE webhook_urls SET rest = substr(rest, 1, instr(rest, '#') - 1) WHERE instr(rest, '#') > 0;
UPDATE webhook_urls SET rest = substr(rest, instr(rest, '@') + 1) WHERE instr(rest, '@') > 0;
UPDATE webhook_urls SET rest = substr(rest, 1, instr(rest, ':') - 1)
WHERE instr(rest, ':') > 0 AND rest NOT LIKE '[%';
UPDATE webhook_urls SET rest = lower(rest);

UPDATE turns
SET text = (SELECT replace(turns.text, url, rest) FROM webhook_urls
            WHERE instr(turns.text, url) > 0 ORDER BY length(url) DESC LIMIT 1)
WHERE EXISTS (SELECT 1 FROM webhook_urls WHERE instr(turns.text, url) > 0);

UPDATE console_messages
SET text = (SELECT replace(console_messages.text, url, rest) FROM webhook_urls
            WHERE instr(console_messages.text, url) > 0 ORDER BY length(url) DESC LIMIT 1)
WHERE EXISTS (SELECT 1 FROM webhook_urls WHERE instr(console_messages.text, url) > 0);

UPDATE publications
SET location = (SELECT rest FROM webhook_urls WHERE url = publications.location)
WHERE location IN (SELECT url FROM webhook_urls);

DROP TABLE webhook_urls;
