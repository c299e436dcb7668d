-- `/posts` filters by status and/or persona and shows the newest first (by id).
CREATE INDEX posts_status_id ON posts(status, id);
CREATE INDEX posts_persona_status_id ON posts(persona, status, id);
DROP INDEX posts_status;
