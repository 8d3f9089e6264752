-- The ledger: the council's Ed25519 checkpoint keys (all kept, so old checkpoints stay verifiable),
-- the signed checkpoints of each stream, and one-time device enrollment links.
CREATE TABLE ledger_keys (
    key_id      text PRIMARY KEY,  -- hex of the signed-note key id (4 bytes)
    name        text NOT NULL,
    private_key bytea NOT NULL,
    public_key  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    retired_at  timestamptz  -- signs no more; still published, so its checkpoints verify
);

CREATE TABLE checkpoints (
    stream     text NOT NULL REFERENCES streams (id),
    size       bigint NOT NULL CHECK (size >= 0),
    root       bytea NOT NULL,
    note       text NOT NULL,  -- the C2SP signed note, exactly as served
    key_id     text NOT NULL REFERENCES ledger_keys (key_id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, size)
);

CREATE TABLE enrollments (
    token_hash  bytea PRIMARY KEY,  -- SHA-256 of the one-time token; the token itself is never stored
    council     text NOT NULL,
    deputy      text NOT NULL,
    created_by  text NOT NULL,
    expires_at  timestamptz NOT NULL,
    challenge   bytea,  -- of the registration options last handed out for this link
    used_at     timestamptz,
    credential  text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
