"""The durable consumers' tables: each consumer's position in each stream (``consumer_positions``) and
the events it failed on (``consumer_faults``), with the one advisory lock that lets one node at a time
run them (``session_server.application.consumers``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from session_server.store.ports import Database

__all__ = ["ConsumerRows", "Fault"]

LOCK = "kvorum consumers"
"""One advisory lock for every consumer: one node runs them, one pass at a time."""

_SAVE_POSITION = """INSERT INTO consumer_positions (consumer, stream, seq) VALUES ($1, $2, $3)
                    ON CONFLICT (consumer, stream) DO UPDATE SET seq = EXCLUDED.seq"""


@dataclass(frozen=True, slots=True)
class Fault:
    """An event a consumer failed on: waiting for its retry, or parked."""

    consumer: str
    stream: str
    seq: int
    type: str
    attempts: int
    error: str
    failed_at: datetime
    retry_at: datetime
    parked: bool


class ConsumerRows:
    """Queries of the consumers' positions and faults."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # --- the lock --------------------------------------------------------------------------------

    @staticmethod
    async def lock(conn: asyncpg.Connection) -> None:
        """Wait for the consumers' lock on ``conn`` (a session lock: ``unlock`` on the same one)."""
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", LOCK)

    @staticmethod
    async def try_lock(conn: asyncpg.Connection) -> bool:
        """Take the consumers' lock if no other node holds it; whether it was taken."""
        return bool(await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", LOCK))

    @staticmethod
    async def unlock(conn: asyncpg.Connection) -> None:
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", LOCK)

    # --- positions -------------------------------------------------------------------------------

    async def due(self, consumer: str, kinds: Sequence[str]) -> list[tuple[str, int]]:
        """``(stream, position)`` of every stream of ``kinds`` with events after the consumer's position,
        except those whose next event waits for its retry."""
        rows = await self.database.fetch(
            """SELECT s.id, coalesce(p.seq, 0) AS seq FROM streams s
               LEFT JOIN consumer_positions p ON p.consumer = $1 AND p.stream = s.id
               WHERE s.kind = ANY($2::text[]) AND s.head_seq > coalesce(p.seq, 0)
                 AND NOT EXISTS (SELECT 1 FROM consumer_faults f WHERE f.consumer = $1 AND f.stream = s.id
                                 AND NOT f.parked AND f.retry_at > now())
               ORDER BY s.id""",
            consumer,
            list(kinds),
        )
        return [(row["id"], row["seq"]) for row in rows]

    @staticmethod
    async def handled(conn: asyncpg.Connection, consumer: str, stream: str, seq: int) -> None:
        """In the effects' transaction: the consumer is at ``seq``, and what failed up to it is forgotten."""
        await conn.execute(_SAVE_POSITION, consumer, stream, seq)
        await conn.execute(
            "DELETE FROM consumer_faults WHERE consumer = $1 AND stream = $2 AND seq <= $3 AND NOT parked",
            consumer,
            stream,
            seq,
        )

    @staticmethod
    async def forget(conn: asyncpg.Connection, consumer: str) -> None:
        """The consumer starts over: no positions, no faults."""
        await conn.execute("DELETE FROM consumer_positions WHERE consumer = $1", consumer)
        await conn.execute("DELETE FROM consumer_faults WHERE consumer = $1", consumer)

    async def behind(self, kinds: dict[str, Sequence[str]]) -> dict[str, int]:
        """Events not yet handled, by consumer (``kinds``: each consumer's kinds of stream)."""
        pairs = [(name, kind) for name, its in kinds.items() for kind in its]
        if not pairs:
            return {}
        rows = await self.database.fetch(
            """SELECT c.consumer, sum(s.head_seq - coalesce(p.seq, 0))::bigint AS behind
               FROM unnest($1::text[], $2::text[]) AS c (consumer, kind)
               JOIN streams s ON s.kind = c.kind
               LEFT JOIN consumer_positions p ON p.consumer = c.consumer AND p.stream = s.id
               GROUP BY c.consumer""",
            *zip(*pairs, strict=True),
        )
        return {row["consumer"]: int(row["behind"] or 0) for row in rows}

    # --- faults ----------------------------------------------------------------------------------

    async def failed(
        self,
        consumer: str,
        stream: str,
        seq: int,
        type_: str,
        error: str,
        *,
        delay: Callable[[int], float],
        attempts: int,
    ) -> tuple[int, bool]:
        """Record a failure on an event: ``(its attempts so far, whether it is now parked)``. A parked
        event moves the position past it; ``attempts`` in all park it; after the n-th, the next waits
        ``delay(n)`` seconds."""
        async with self.database.acquire() as conn, conn.transaction():
            tried = 1 + (
                await conn.fetchval(
                    "SELECT attempts FROM consumer_faults WHERE consumer = $1 AND stream = $2 AND seq = $3",
                    consumer,
                    stream,
                    seq,
                )
                or 0
            )
            parked = tried >= attempts
            await conn.execute(
                """INSERT INTO consumer_faults (consumer, stream, seq, type, attempts, error, retry_at, parked)
                   VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $8)
                   ON CONFLICT (consumer, stream, seq) DO UPDATE SET attempts = EXCLUDED.attempts,
                       error = EXCLUDED.error, failed_at = now(), retry_at = EXCLUDED.retry_at,
                       parked = EXCLUDED.parked""",
                consumer,
                stream,
                seq,
                type_,
                tried,
                error,
                delay(tried),
                parked,
            )
            if parked:
                await conn.execute(_SAVE_POSITION, consumer, stream, seq)
        return tried, parked

    async def until_retry(self, at_most: float) -> float:
        """Seconds until the next failed event's retry is due, ``at_most`` when none is sooner."""
        due = await self.database.fetchval(
            "SELECT extract(epoch FROM min(retry_at) - now()) FROM consumer_faults WHERE NOT parked"
        )
        return at_most if due is None else min(at_most, max(0.05, float(due)))

    async def is_parked(self, consumer: str, stream: str, seq: int) -> bool:
        return bool(
            await self.database.fetchval(
                "SELECT parked FROM consumer_faults WHERE consumer = $1 AND stream = $2 AND seq = $3",
                consumer,
                stream,
                seq,
            )
        )

    @staticmethod
    async def unparked(conn: asyncpg.Connection, consumer: str, stream: str, seq: int) -> None:
        """In the effects' transaction: a parked event went through at last."""
        await conn.execute(
            "DELETE FROM consumer_faults WHERE consumer = $1 AND stream = $2 AND seq = $3", consumer, stream, seq
        )

    async def failed_again(self, consumer: str, stream: str, seq: int, error: str) -> None:
        """A parked event retried by hand failed again: its count and error, it stays parked."""
        await self.database.execute(
            """UPDATE consumer_faults SET attempts = attempts + 1, error = $4, failed_at = now()
               WHERE consumer = $1 AND stream = $2 AND seq = $3""",
            consumer,
            stream,
            seq,
            error,
        )

    async def faults(self, limit: int = 1000) -> list[Fault]:
        """The failing and parked events, the newest failure first."""
        rows: list[Any] = await self.database.fetch(
            """SELECT consumer, stream, seq, type, attempts, error, failed_at, retry_at, parked FROM consumer_faults
               ORDER BY failed_at DESC LIMIT $1""",
            limit,
        )
        return [Fault(**dict(row)) for row in rows]
