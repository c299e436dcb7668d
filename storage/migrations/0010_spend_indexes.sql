-- The budget sums what steps spent today and what each run spent: covering indexes make those
-- sums read the index alone, not every step row.
CREATE INDEX steps_day_cost ON steps(ended_at, cost_usd);
CREATE INDEX steps_run_cost ON steps(run_id, cost_usd);
DROP INDEX steps_day;
DROP INDEX steps_run;
