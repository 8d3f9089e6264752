-- An event a durable consumer fails on: retried with backoff while `parked` is false, then parked
-- (kept with its error for the administrator, `GET /api/v1/consumers`) and the consumer goes on.
-- (A database from before extensions had their own schema recorded this version as 0014_consumer_faults,
-- which also made the portal's member tables: portal_bridge/migrations/0009_member_record replaces it.)
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
