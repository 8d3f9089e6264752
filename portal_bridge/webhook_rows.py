"""The webhook subscriptions and their deliveries as the administrator manages them (``webhook_subscriptions``,
``webhook_deliveries``): the queries behind ``/api/v1/webhooks``. The outbox and the sender that write and send
the deliveries are ``portal_bridge.webhooks``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from session_server.extensions import Database

__all__ = ["Subscriptions"]


class Subscriptions:
    """Subscriptions and their deliveries in the portal's database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def add(self, url: str, secret: str, event_types: Sequence[str]) -> int:
        """A new active subscription; its id."""
        row = await self.database.fetchrow(
            "INSERT INTO webhook_subscriptions (url, secret, event_types) VALUES ($1, $2, $3) RETURNING id",
            url,
            secret,
            list(event_types),
        )
        return int(row["id"])

    async def listed(self) -> list[dict[str, Any]]:
        """Every subscription without its secret: ``id, url, event_types, active``."""
        rows = await self.database.fetch("SELECT id, url, event_types, active FROM webhook_subscriptions ORDER BY id")
        return [dict(r) for r in rows]

    async def stop(self, subscription: int) -> bool:
        """Stop a subscription (its deliveries stay for the record); False when there is none."""
        done = await self.database.fetchval(
            "UPDATE webhook_subscriptions SET active = false WHERE id = $1 RETURNING id", subscription
        )
        return done is not None

    async def deliveries(self, subscription: int) -> list[dict[str, Any]]:
        """A subscription's deliveries, newest first, at most 500: ``id, event_type, status, attempts, last_error``."""
        rows = await self.database.fetch(
            """SELECT id, event_type, status, attempts, last_error FROM webhook_deliveries
               WHERE subscription_id = $1 ORDER BY created_at DESC, id LIMIT 500""",
            subscription,
        )
        return [dict(r) for r in rows]

    async def send_again(self, delivery: str) -> bool:
        """Make a parked (or delivered) delivery pending again, with the same id and body; False when unknown."""
        done = await self.database.fetchval(
            """UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now()
               WHERE id = $1 RETURNING id""",
            delivery,
        )
        return done is not None
