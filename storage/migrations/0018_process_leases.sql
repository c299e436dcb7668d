-- Which process works on a row, and when each process last said it is alive. Many processes
-- may share one PostgreSQL database: what a process whose heartbeat stopped left running (a
-- run, a plan or answer call, a reserved call, a publishing try) is taken over by another.
CREATE TABLE processes (
    id            TEXT PRIMARY KEY,
    started_at    REAL NOT NULL,
    heartbeat_at  REAL NOT NULL
);
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE steps ADD COLUMN owner TEXT;
ALTER TABLE reservations ADD COLUMN owner TEXT;
ALTER TABLE publication_targets ADD COLUMN owner TEXT;
