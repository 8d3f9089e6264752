-- replaces: core 0009_webhooks
-- The webhooks outbox: subscriptions (managed by the admin) and one delivery per subscription and
-- event, with a stable id (at-least-once: a receiver may see an id again and should ignore it).
CREATE TABLE webhook_subscriptions (
    id           bigserial PRIMARY KEY,
    url          text NOT NULL CHECK (url ~ '^https?://'),
    secret       text NOT NULL,  -- whsec_<base64>, Standard Webhooks
    event_types  text[] NOT NULL,
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    id               text PRIMARY KEY,  -- the webhook-id header: msg_<hash of subscription, stream, seq>
    subscription_id  bigint NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_type       text NOT NULL,
    body             text NOT NULL,     -- the JSON sent, byte for byte the same on every attempt
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'parked')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
