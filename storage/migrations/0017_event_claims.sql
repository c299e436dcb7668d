-- An inbound event is claimed by one process before it is handled and marked done after, so
-- replicas on one database handle each event once. Rows from before were recorded after their
-- work succeeded: they are done.
ALTER TABLE processed_events ADD COLUMN claimed_by TEXT;
ALTER TABLE processed_events ADD COLUMN done_at REAL;
UPDATE processed_events SET done_at = at;
