-- A sitting's open vote and when it closes, written with every append (service.APPEND_WITH_SESSION_ROW):
-- every node looks here once a second and closes a vote whose time is up, so a vote closes even when
-- the node that opened it died (service.Sessions.close_overdue_votes). Open votes of sittings appended
-- to before this migration are filled in at start-up from their logs.
ALTER TABLE sessions ADD COLUMN open_vote text, ADD COLUMN vote_closes_at timestamptz;
CREATE INDEX sessions_vote_deadline ON sessions (vote_closes_at) WHERE vote_closes_at IS NOT NULL;
