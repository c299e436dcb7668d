-- What paid calls have reserved of the daily budget while they run. A call reserves its estimate
-- in the write transaction that checks it, and is settled in the one that records its cost on
-- its step (spent_usd: what it reported costing); start-up settles calls a crash left open.
CREATE TABLE reservations (
    id          INTEGER PRIMARY KEY,
    amount_usd  REAL NOT NULL,
    run_id      INTEGER,
    step_id     INTEGER,
    spent_usd   REAL,
    created_at  REAL NOT NULL,
    settled_at  REAL
);
CREATE INDEX reservations_open ON reservations(run_id) WHERE settled_at IS NULL;
CREATE INDEX reservations_step ON reservations(step_id);
