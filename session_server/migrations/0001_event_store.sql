-- The event store: one head row per stream (locked by every append) and its events.
CREATE TABLE streams (
    id          text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('council', 'session', 'document')),
    head_seq    bigint NOT NULL DEFAULT 0 CHECK (head_seq >= 0),
    head_hash   bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
    stream  text NOT NULL REFERENCES streams (id),
    seq     bigint NOT NULL CHECK (seq >= 1),
    type    text NOT NULL,
    actor   text NOT NULL,
    at      timestamptz NOT NULL,
    hash    bytea NOT NULL,
    leaf    bytea NOT NULL,  -- RFC 8785 canonical JSON of the whole event, hash included
    PRIMARY KEY (stream, seq)
);

-- Idempotency: a command id, once it has acted on a stream, maps to the events it appended.
CREATE TABLE commands (
    stream      text NOT NULL REFERENCES streams (id),
    id          text NOT NULL,
    actor       text NOT NULL,
    last_seq    bigint NOT NULL,
    event_count integer NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, id)
);

-- A read model of sessions for listing, written in the appending transaction; rebuildable from the log.
CREATE TABLE sessions (
    id          text PRIMARY KEY,  -- the session id; its stream is "session:" || id
    council     text NOT NULL,
    number      integer NOT NULL,
    convocation integer NOT NULL,
    date        date NOT NULL,
    title       text NOT NULL,
    status      text NOT NULL,
    seq         bigint NOT NULL
);
CREATE INDEX sessions_by_date ON sessions (date DESC, number DESC);
