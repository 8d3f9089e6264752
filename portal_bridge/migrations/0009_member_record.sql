-- replaces: core 0014_consumer_faults
-- The portal's record of each member, kept by the `members` consumer: the deputy's page reads these
-- instead of converting every stored event to jsonb on every view.
CREATE TABLE member_attendance (
    member   text NOT NULL,
    session  text NOT NULL,
    PRIMARY KEY (member, session)
);
CREATE TABLE member_conflicts (
    session  text NOT NULL,
    seq      bigint NOT NULL,
    member   text NOT NULL,
    item     text NOT NULL,
    reason   text NOT NULL,
    at       text NOT NULL,
    PRIMARY KEY (session, seq)
);
CREATE INDEX member_conflicts_member ON member_conflicts (member, session, seq);
