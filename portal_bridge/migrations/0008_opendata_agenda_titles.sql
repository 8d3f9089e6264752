-- replaces: core 0013_opendata_agenda_titles
-- Votes on including an item in an open sitting's agenda are titled from their proposal
-- («Про включення до порядку денного питання „…“», with its number and draft), not from an agenda item
-- that may not exist; `textUrl` is made when a motion is served (a draft's page once it is published).
-- The `opendata` consumer reads the log again and rewrites every motion (its upserts are idempotent).
DELETE FROM consumer_positions WHERE consumer = 'opendata';
