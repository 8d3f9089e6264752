-- A standing committee's sittings are sittings too (issue 19): the read model says whose each one is
-- (NULL: the council's plenary), so the pages can tell them apart.
ALTER TABLE sessions ADD COLUMN committee text;
