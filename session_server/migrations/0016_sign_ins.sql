-- Every sign-in and every failed one, for the administrator (GET /api/v1/sign-ins) and the throttle:
-- failures per account and per address slow further attempts down (accounts.SignInThrottle).
CREATE TABLE sign_ins (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    username    text NOT NULL,  -- as typed (an unknown name too), at most 100 characters
    user_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    address     text NOT NULL,
    user_agent  text NOT NULL DEFAULT '',
    outcome     text NOT NULL CHECK (outcome IN ('ok', 'wrong_password', 'disabled', 'throttled', 'unlocked'))
);
CREATE INDEX sign_ins_by_username ON sign_ins (username, at DESC);
CREATE INDEX sign_ins_by_address ON sign_ins (address, at DESC);

-- Access tokens refused before they expire (tokens.Revocations): one token (a sign-out, `jti`), or
-- every token of a user issued before `before` (disabled, a new role, a new password).
CREATE TABLE token_revocations (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL,
    jti         text,
    before      double precision,
    expires_at  timestamptz NOT NULL,
    CHECK ((jti IS NULL) <> (before IS NULL))
);

-- Accounts with the demo's short password (`kvorum demo` only): listed as such.
ALTER TABLE users ADD COLUMN demo_password boolean NOT NULL DEFAULT false;
