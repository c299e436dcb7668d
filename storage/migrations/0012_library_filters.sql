-- The library's tabs count a channel's posts per status under a persona or pillar filter: these
-- indexes answer each count from the index alone (0011's indexes made every counted row a
-- table lookup).
CREATE INDEX posts_place_persona_status_id ON posts(platform, channel_id, persona, status, id);
CREATE INDEX posts_place_pillar_status_id ON posts(platform, channel_id, pillar, status, id);
DROP INDEX posts_place_persona_id;
DROP INDEX posts_place_pillar_id;
