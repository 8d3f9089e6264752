"""The webhooks outbox: vote and decision events delivered to subscribers, signed per Standard Webhooks.

- The admin manages subscriptions (URL, event types); each gets a secret ``whsec_<base64>``.
- The ``webhooks`` consumer of the log writes one delivery per matching subscription and event into
  ``webhook_deliveries`` with a stable id (``msg_…`` from the subscription, stream and seq), so a
  re-read never duplicates one.
- The sender posts each due delivery with ``webhook-id``, ``webhook-timestamp`` and
  ``webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>``; a non-2xx answer or a
  network error is retried with exponential backoff (``KVORUM_WEBHOOK_BACKOFF_MS`` doubled per
  attempt), and after ``KVORUM_WEBHOOK_ATTEMPTS`` failures the delivery is parked; the admin can
  deliver a parked one again. Delivery is at least once: receivers ignore an id they have seen.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Sequence
from typing import Annotated, Any, Literal, get_args

import asyncpg
import httpx
import orjson
from pydantic import Field, StringConstraints
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from portal_bridge import egress
from portal_bridge.webhook_rows import Subscriptions
from session_server.domain.roles import Role
from session_server.extensions import Consumer, Core, core_of
from session_server.http.openapi import described, ref
from session_server.http.responses import ApiError, JSONResponse, Model, parse_model, principal, read_body
from session_server.ops.metrics import METRICS
from session_server.store.events import StoredEvent

LARGEST_ID = 2**63 - 1
"""The largest id a ``bigserial`` holds."""

log = logging.getLogger(__name__)

EventType = Literal[
    "vote.opened",
    "vote.closed",
    "vote.cancelled",
    "decision.adopted",
    "decision.rejected",
    "decision.signed",
    "decision.published",
]

EVENT_TYPES = frozenset(get_args(EventType))
"""What subscribers may ask for: the votes and the decisions."""


def new_secret() -> str:
    """A fresh Standard Webhooks secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64 HMAC-SHA256 over ``id.timestamp.body``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


class Outbox(Consumer):
    """Writes a delivery for every subscribed vote or decision event (idempotent by its id)."""

    name = "webhooks"
    wake_on = EVENT_TYPES
    kinds = ("session", "document")

    def __init__(self, core: Core, *, sender_wake: asyncio.Event) -> None:
        super().__init__(core)
        self.sender_wake = sender_wake

    async def handle(self, conn: asyncpg.Connection, stream: str, events: Sequence[StoredEvent]) -> None:
        wanted = [e for e in events if e.type in EVENT_TYPES]
        if not wanted:
            return
        subscriptions = await conn.fetch("SELECT id, event_types FROM webhook_subscriptions WHERE active")
        rows = []
        for event in wanted:
            body = orjson.dumps(
                {"type": event.type, "timestamp": event.at, "data": {**event.as_dict(), "payload": event.payload}}
            ).decode()
            for sub in subscriptions:
                if event.type in sub["event_types"]:
                    digest = hashlib.sha256(f"{sub['id']}:{event.stream}:{event.seq}".encode()).hexdigest()[:32]
                    rows.append((f"msg_{digest}", sub["id"], event.type, body))
        if rows:
            await conn.executemany(
                """INSERT INTO webhook_deliveries (id, subscription_id, event_type, body) VALUES ($1, $2, $3, $4)
                   ON CONFLICT (id) DO NOTHING""",
                rows,
            )
            self.sender_wake.set()


def sender_of(connection: HTTPConnection) -> Sender:
    """The app's webhook sender (in its lifespan state, ``PortalExtension.open``)."""
    sender: Sender = connection.state.webhook_sender
    return sender


class Sender:
    """Posts due deliveries; retries with backoff; parks after the last attempt."""

    def __init__(
        self,
        core: Core,
        *,
        attempts: int,
        backoff_ms: int,
        wake: asyncio.Event,
        allow: Sequence[egress.Network] = (),
    ) -> None:
        self.database = core.database
        self.allow = tuple(allow)
        """Networks inside that deliveries may reach all the same (``KVORUM_WEBHOOK_NETWORKS``)."""
        self.attempts = attempts
        self.backoff_ms = backoff_ms
        self.wake = wake
        self._task: asyncio.Task[None] | None = None
        self._client = httpx.AsyncClient(timeout=10, follow_redirects=False)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhooks sender")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.send_due()
            except Exception:
                log.exception("sending webhooks failed; retrying")
                sent = 0
            if sent:
                continue
            wait = await self._seconds_to_next()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self.wake.wait()
            self.wake.clear()

    async def _seconds_to_next(self) -> float:
        due = await self.database.fetchval(
            "SELECT extract(epoch FROM min(next_attempt_at) - now()) FROM webhook_deliveries WHERE status = 'pending'"
        )
        return 5.0 if due is None else min(5.0, max(0.01, float(due)))

    async def send_due(self, limit: int = 50) -> int:
        """Send the deliveries that are due; return how many were attempted."""
        async with self.database.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT d.id, d.body, d.attempts, s.url, s.secret FROM webhook_deliveries d
                   JOIN webhook_subscriptions s ON s.id = d.subscription_id
                   WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND s.active
                   ORDER BY d.next_attempt_at, d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED""",
                limit,
            )
            results = await asyncio.gather(*(self._post(r) for r in rows))
            outcomes: list[str] = []
            for row, error in zip(rows, results, strict=True):
                attempts = row["attempts"] + 1
                outcomes.append("delivered" if error is None else "parked" if attempts >= self.attempts else "failed")
                if error is None:
                    await conn.execute(
                        """UPDATE webhook_deliveries SET status = 'delivered', attempts = $2, delivered_at = now(),
                           last_error = NULL WHERE id = $1""",
                        row["id"],
                        attempts,
                    )
                else:
                    parked = attempts >= self.attempts
                    delay_ms = self.backoff_ms * 2 ** (attempts - 1)
                    await conn.execute(
                        """UPDATE webhook_deliveries SET attempts = $2, last_error = $3,
                               status = CASE WHEN $4 THEN 'parked' ELSE 'pending' END,
                               next_attempt_at = now() + make_interval(secs => $5::float8 / 1000)
                           WHERE id = $1""",
                        row["id"],
                        attempts,
                        error[:500],
                        parked,
                        float(delay_ms),
                    )
        for outcome in outcomes:  # counted once committed (a rolled-back batch is sent again)
            METRICS.webhooks.labels(outcome).inc()
        return len(rows)

    async def _post(self, row: Any) -> str | None:
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": row["id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(row["secret"], row["id"], timestamp, row["body"]),
        }
        try:
            target = await egress.check(row["url"], self.allow)  # again: a name may point elsewhere now
            response = await egress.post(self._client, target, row["body"].encode(), headers)
        except (egress.TargetRefused, httpx.HTTPError) as exc:
            log.info("webhook delivery %s failed: %r", row["id"], exc)  # the details for the operator's log only
            return egress.failure(exc)
        return None if 200 <= response.status_code < 300 else egress.failure(status=response.status_code)


# ---- the admin's API ---------------------------------------------------------------------------


_ADMIN_ONLY = {403: "Webhooks are managed by an administrator"}


async def _admin(request: Request) -> None:
    who = await principal(request)
    if who.role is not Role.ADMIN:
        raise ApiError(403, "forbidden", "webhooks are managed by an administrator")


class Subscribe(Model):
    """``POST /webhooks``: where to send which events."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=2000)]
    event_types: Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))]


@described(
    "Subscribe a URL to vote and decision events (admin); the secret is shown once",
    ok=(201, "Subscribed"),
    returns=ref("WebhookSubscription"),
    body=ref("WebhookSubscribe"),
    errors_=(400, 401, 403, 413),
    reasons={400: "Malformed JSON, a url that is not http(s), or unknown event types", **_ADMIN_ONLY},
    bearer=True,
)
async def subscribe(request: Request) -> Response:
    """``{"url", "event_types"}`` → 201 ``{"id", "url", "event_types", "secret"}`` (the secret is shown once)."""
    await _admin(request)
    body = parse_model(Subscribe, await read_body(request, core_of(request).settings.max_body_bytes))
    url, types = body.url, body.event_types
    try:
        await egress.check(url, sender_of(request).allow)  # what the sender may reach
    except egress.TargetRefused as exc:
        raise ApiError(400, "webhook_target_refused", f"url: {exc}", field="url") from None
    secret = new_secret()
    made_id = await _subscriptions(request).add(url, secret, sorted(set(types)))
    made = {"id": made_id, "url": url, "event_types": sorted(set(types)), "secret": secret}
    return JSONResponse(made, status_code=201)


@described(
    "Every subscription, without its secret (admin)",
    returns={
        "type": "object",
        "required": ["webhooks"],
        "properties": {"webhooks": {"type": "array", "items": ref("Webhook")}},
    },
    errors_=(401, 403),
    reasons=_ADMIN_ONLY,
    bearer=True,
)
async def subscriptions(request: Request) -> Response:
    """Every subscription (without its secret)."""
    await _admin(request)
    return JSONResponse({"webhooks": await _subscriptions(request).listed()})


def _subscriptions(request: Request) -> Subscriptions:
    return Subscriptions(core_of(request).database)


def _subscription(request: Request) -> int:
    """The subscription id in the path; an id no ``bigserial`` can hold is no subscription (404)."""
    value: int = request.path_params["subscription"]
    if not 1 <= value <= LARGEST_ID:
        raise ApiError(404, "not_found", "no such subscription")
    return value


@described(
    "Stop a subscription (admin); its deliveries stay for the record",
    ok=(204, "Stopped"),
    errors_=(401, 403, 404),
    reasons={**_ADMIN_ONLY, 404: "No such subscription"},
    bearer=True,
)
async def unsubscribe(request: Request) -> Response:
    """Stop a subscription: nothing more is written or sent for it (its deliveries stay for the record)."""
    await _admin(request)
    if not await _subscriptions(request).stop(_subscription(request)):
        raise ApiError(404, "not_found", "no such subscription")
    return Response(status_code=204)


@described(
    "A subscription's deliveries, newest first, at most 500 (admin); none for an unknown id",
    returns={
        "type": "object",
        "required": ["deliveries"],
        "properties": {"deliveries": {"type": "array", "items": ref("WebhookDelivery")}},
    },
    errors_=(401, 403, 404),
    reasons={**_ADMIN_ONLY, 404: "An id no subscription can have"},
    bearer=True,
)
async def deliveries(request: Request) -> Response:
    """A subscription's deliveries, newest first: id, event type, status, attempts, last error."""
    await _admin(request)
    return JSONResponse({"deliveries": await _subscriptions(request).deliveries(_subscription(request))})


@described(
    "Send a parked (or delivered) delivery again, with the same id and body (admin)",
    ok=(200, "Pending again"),
    returns={
        "type": "object",
        "required": ["id", "status"],
        "properties": {"id": {"type": "string"}, "status": {"const": "pending"}},
    },
    errors_=(401, 403, 404),
    reasons={**_ADMIN_ONLY, 404: "No such delivery"},
    bearer=True,
)
async def redeliver(request: Request) -> Response:
    """Deliver a parked (or delivered) delivery again, with the same id and body."""
    await _admin(request)
    delivery = request.path_params["delivery"]
    if not await _subscriptions(request).send_again(delivery):
        raise ApiError(404, "not_found", "no such delivery")
    sender_of(request).wake.set()
    return JSONResponse({"id": delivery, "status": "pending"})


def routes() -> list[BaseRoute]:
    """Webhook routes under ``/api/v1``."""
    return [
        Route("/webhooks", subscribe, methods=["POST"]),
        Route("/webhooks", subscriptions, methods=["GET"]),
        Route("/webhooks/{subscription:int}", unsubscribe, methods=["DELETE"]),
        Route("/webhooks/{subscription:int}/deliveries", deliveries),
        Route("/webhooks/deliveries/{delivery}/redeliver", redeliver, methods=["POST"]),
    ]
