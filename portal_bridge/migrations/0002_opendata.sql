-- replaces: core 0006_opendata
-- Open data read models (Cabinet of Ministers Resolution No. 835 sets): one row per closed vote and
-- one per deputy per closed vote, written by the `opendata` consumer, rebuildable from the log.
CREATE TABLE od_motions (
    uid       text PRIMARY KEY,     -- <session>-<vote>
    session   text NOT NULL,
    position  bigint NOT NULL,      -- the vote.closed event's seq, for the session's order
    data      jsonb NOT NULL
);
CREATE INDEX od_motions_by_session ON od_motions (session, position);

CREATE TABLE od_votings (
    motion_uid  text NOT NULL REFERENCES od_motions (uid) ON DELETE CASCADE,
    voter_id    text NOT NULL,
    ordinal     integer NOT NULL,   -- the roll call's order
    data        jsonb NOT NULL,
    PRIMARY KEY (motion_uid, voter_id)
);
