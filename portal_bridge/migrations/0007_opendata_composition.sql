-- replaces: core 0012_opendata_composition
-- The open data state the composition each vote was counted from (`composition`, art. 59 part 2):
-- the `opendata` consumer reads the log again and rewrites every motion (its upserts are idempotent).
DELETE FROM consumer_positions WHERE consumer = 'opendata';
