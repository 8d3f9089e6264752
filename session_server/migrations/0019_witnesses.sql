-- Witnesses' cosignatures of the checkpoints (docs/witness.md): each listed witness's cosignature line on a
-- checkpoint, the latest size of each ledger a witness holds, and what each witness last answered.
CREATE TABLE cosignatures (
    stream      text NOT NULL,
    size        bigint NOT NULL,
    witness     text NOT NULL,   -- its verifier key
    line        text NOT NULL,   -- the signed-note line, exactly as the witness answered it (verified)
    cosigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, size, witness),
    FOREIGN KEY (stream, size) REFERENCES checkpoints (stream, size)
);

CREATE TABLE witness_logs (
    witness text NOT NULL,
    stream  text NOT NULL,
    size    bigint NOT NULL CHECK (size >= 0),  -- the latest checkpoint of this ledger the witness holds
    PRIMARY KEY (witness, stream)
);

CREATE TABLE witness_health (
    witness     text PRIMARY KEY,
    answered_at timestamptz,  -- its last cosignature
    failed_at   timestamptz,  -- its last refusal or silence
    failure     text
);
