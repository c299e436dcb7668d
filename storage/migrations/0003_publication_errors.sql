-- The last publishing error, so a retried failure is announced once, not on every retry.
ALTER TABLE publications ADD COLUMN error TEXT;
