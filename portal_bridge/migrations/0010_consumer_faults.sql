-- replaces: core 0014_consumer_faults
-- An event a durable consumer fails on: retried with backoff while `parked` is false, then parked
-- (kept with its error for the administrator, `GET /api/v1/consumers`) and the consumer goes on.
CREATE TABLE consumer_faults (
    consumer   text NOT NULL,
    stream     text NOT NULL REFERENCES streams (id),
    seq        bigint NOT NULL CHECK (seq >= 1),
    type       text NOT NULL,
    attempts   integer NOT NULL CHECK (attempts >= 1),
    error      text NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now(),
    retry_at   timestamptz NOT NULL DEFAULT now(),
    parked     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (consumer, stream, seq)
);

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
