-- The kinds of record are the application's registrations (session_server.application), not a fixed
-- list: a new kind (a committee sitting, an amendment, an election) needs no change to the core schema.
ALTER TABLE streams DROP CONSTRAINT IF EXISTS streams_kind_check;
ALTER TABLE streams ADD CONSTRAINT streams_kind_named CHECK (kind ~ '^[a-z][a-z_]{0,30}$');
