-- Runs are numbered within their plan's workspace too (as plans and posts are, 0023): a
-- workspace's first run is run 1 on its progress card and pages. A run written before keeps
-- its id as its number, and the '*' row makes every workspace number on past them.
ALTER TABLE runs ADD COLUMN number INTEGER;
UPDATE runs SET number = id;
INSERT INTO workspace_numbers (workspace, kind, last)
    SELECT '*', 'run', MAX(id) FROM runs HAVING COUNT(*) > 0;
